using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Fusion
{
    /// <summary>
    /// The cost model of one kernel, per sample: FLOPs (2 per MAC for conv and linear, per element otherwise) and the bytes it
    /// reads and writes (fp32, each tensor once; a lower bound on its memory traffic), split into the part that scales with N
    /// (activations, gradients) and the fixed part (parameters, buffers). A pass over the kernel IR sets it
    /// (<see cref="Annotate"/>); the emitter prints it in each kernel's comment and the profiler divides time by it.
    /// </summary>
    public sealed record KernelCost(long Flops, long BytesPerSample, long FixedBytes)
    {
        public static readonly KernelCost None = new KernelCost(0, 0, 0);

        /// <summary>Sets <see cref="Kernel.Cost"/> on every kernel of <paramref name="prog"/>.</summary>
        public static void Annotate(KernelProgram prog)
        {
            foreach (var k in prog.Kernels) k.Cost = Of(k);
        }

        public static KernelCost Of(Kernel k)
        {
            long perSample = 0, fixedBytes = 0;
            foreach (var v in k.Inputs.Concat(k.Outputs).Distinct())
            {
                var (factor, symbols) = v.Shape.IsUnknown ? (0L, "") : v.Shape.Size;
                long bytes = factor * 4;
                if (symbols.Length == 0) fixedBytes += bytes; else perSample += bytes;
            }
            return new KernelCost(FlopsOf(k), perSample, fixedBytes);
        }

        /// <summary>FLOPs per sample of a kernel (2 per MAC for conv and linear, per element otherwise).</summary>
        public static long FlopsOf(Kernel k)
        {
            long PerSample(TValue v) => v.Shape.Size.Factor;
            switch (k)
            {
                case ElementwiseKernel e: return PerSample(e.Output) * Emit.ElemCode.FlopsPerElement(e.Expr);
                case FoldedKernel f: return FlopsOf(f.Conv) + PerSample(f.Outputs[0]) * (f.Epilogue != null ? Emit.ElemCode.FlopsPerElement(f.Epilogue) : 0);
                case LibraryKernel l:
                {
                    var n = l.Node;
                    long epi = l.Epilogue != null ? PerSample(l.Outputs[0]) * Emit.ElemCode.FlopsPerElement(l.Epilogue) : 0;
                    if (l.Prologue != null) epi += PerSample(n.Inputs[0]) * Emit.ElemCode.FlopsPerElement(l.Prologue);
                    // the op's FLOPs from its definition (or family), else the largest tensor's element count
                    if (Ops.OpRegistry.Flops(l) is long f) return f + epi;
                    return k.Inputs.Concat(k.Outputs).Where(v => v.Role != ValueRole.Parameter && v.Role != ValueRole.Buffer).Select(PerSample).DefaultIfEmpty(0).Max();
                }
            }
            return 0;
        }
    }
}
