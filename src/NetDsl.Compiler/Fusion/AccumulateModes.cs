using System.Linq;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Fusion
{
    /// <summary>
    /// Decides, for each backward kernel that writes parameter gradients, how it adds into them when gradients accumulate
    /// (AccumulateGradients, optimizers that keep their state in the gradients): a kernel with an accumulating form adds in
    /// its own output write (<see cref="Accumulation.InKernel"/>), any other writes into scratch that is then added
    /// (<see cref="Accumulation.ViaScratch"/>). The emitter prints the decision (<see cref="Kernel.Accumulate"/>).
    /// </summary>
    internal static class AccumulateModes
    {
        /// <summary>Ops whose kernel has an accumulating form (<see cref="Ops.OpDef.AccumulatingCall"/>).</summary>
        private static bool HasAccumulatingForm(LibraryKernel k) => Ops.OpRegistry.Def(k.Node.Op).AccumulatingCall != null;

        public static void Run(KernelProgram prog)
        {
            foreach (var k in prog.Kernels)
            {
                if (!k.IsBackward || !k.Outputs.Any(o => o.Storage.Role == ValueRole.ParameterGradient)) { k.Accumulate = Accumulation.None; continue; }
                bool allGrads = k.Outputs.All(o => o.Storage.Role == ValueRole.ParameterGradient);
                k.Accumulate = k is LibraryKernel l && HasAccumulatingForm(l) && allGrads ? Accumulation.InKernel : Accumulation.ViaScratch;
            }
        }
    }
}
