using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Fusion
{
    /// <summary>
    /// A convolution (or a linear layer with a 2-D output) and the batchnorm it feeds, run as one kernel at inference: the
    /// batchnorm's running statistics are folded into the weights (w·s with s = γ/√(σ² + ε)) and bias ((b − μ)·s + β), and the
    /// batchnorm's epilogue becomes the GEMM's. Only in the eval program (<see cref="EvalProgram"/>); training keeps the pair.
    /// Inputs: the convolution's inputs (x, w[, b]) then the batchnorm's γ, β, running mean, running variance; one output.
    /// </summary>
    public sealed class FoldedKernel : Kernel
    {
        /// <summary>The convolution or linear kernel (its node, geometry and inputs).</summary>
        public LibraryKernel Conv { get; }
        /// <summary>The batchnorm kernel folded into it (its parameters, buffers and epilogue).</summary>
        public LibraryKernel BatchNorm { get; }
        /// <summary>The batchnorm's ε.</summary>
        public double Eps { get; }
        public ElemExpr? Epilogue => BatchNorm.Epilogue;

        internal FoldedKernel(LibraryKernel conv, LibraryKernel bn, double eps)
        {
            Conv = conv; BatchNorm = bn; Eps = eps;
            Ops.AddRange(conv.Ops); Ops.AddRange(bn.Ops);
            Inputs.AddRange(conv.Node.Inputs); Inputs.AddRange(bn.Node.Inputs.Skip(1));
            Outputs.Add(bn.Outputs[0]);
        }
    }

    /// <summary>
    /// The eval-only kernel program: the forward graph fused on its own (values only the backward pass reads do not stop
    /// fusion), reduced to the kernels the outputs need, with each conv/linear + batchnorm pair folded into one kernel
    /// (<see cref="FoldedKernel"/>). It gets its own memory plan, so eval-mode Forward touches only the inference arenas and
    /// a network used only for inference never allocates the training arenas.
    /// </summary>
    internal static class EvalProgram
    {
        /// <param name="firstId">The first kernel id (after the training program's, so every kernel id of a class is unique).</param>
        public static KernelProgram Run(NetGraph g, int firstId)
        {
            var fused = Fuser.Run(g, training: false);
            var prog = new KernelProgram { IsEval = true };
            // the kernels the outputs need, walking back from them
            var need = new HashSet<TValue>(g.Outputs.Select(o => o.Value));
            var needStorage = new HashSet<TValue>(need.Select(n => n.Storage));
            var keep = new List<Kernel>();
            for (int i = fused.Kernels.Count - 1; i >= 0; i--)
            {
                var k = fused.Kernels[i];
                if (!k.Outputs.Any(o => need.Contains(o) || needStorage.Contains(o))) continue;
                keep.Add(k);
                foreach (var v in k.Inputs) { need.Add(v); needStorage.Add(v.Storage); }
            }
            keep.Reverse();
            prog.Kernels.AddRange(keep);
            FoldBatchNorm(g, prog);
            DropArgmax(g, prog);
            for (int i = 0; i < prog.Kernels.Count; i++) prog.Kernels[i].Id = firstId + i;
            return prog;
        }

        // which kernels fold (traits FoldsBatchNorm/Foldable): batchnorm normalizes dim 1, so it must be the op's output
        // channel (a convolution's 4-D weight, or a linear layer with a 2-D output)
        private static bool Foldable(LibraryKernel conv) => Ops.OpRegistry.Is(conv.Node, Ops.OpTraits.FoldsBatchNorm)
            && (conv.Node.Inputs[1].Shape.Rank == 4 || conv.Outputs[0].Shape.Rank == 2);
        private static bool IsBatchNorm(LibraryKernel bn) => Ops.OpRegistry.Is(bn.Node, Ops.OpTraits.Foldable) && bn.Node.Inputs.Count == 5 && bn.Outputs.Count == 3;
        private static double Eps(OpNode bn) => bn.A<BatchNormAttrs>().Eps;

        /// <summary>
        /// An op whose last output only its backward reads (trait InferenceDropsLastOutput: a max pool's argmax) computes
        /// the rest alone at inference: the kernel's outputs lose it, so the eval plan has no buffer for it and the op's call
        /// is its one-output inference form (MaxPool2dInference), unless an eval kernel or a network output reads it.
        /// </summary>
        private static void DropArgmax(NetGraph g, KernelProgram prog)
        {
            var outputs = new HashSet<TValue>(g.Outputs.SelectMany(o => new[] { o.Value, o.Value.Storage }));
            foreach (var k in prog.Kernels)
            {
                if (!(k is LibraryKernel pool) || !Ops.OpRegistry.Is(pool.Node, Ops.OpTraits.InferenceDropsLastOutput)) continue;
                if (pool.Epilogue != null || pool.Outputs.Count != 2 || pool.Node.Outputs.Count != 2) continue;
                var argmax = pool.Outputs[1];
                if (outputs.Contains(argmax) || outputs.Contains(argmax.Storage)) continue;
                if (prog.Kernels.Any(r => r.Inputs.Any(v => v == argmax || v.Storage == argmax || v == argmax.Storage))) continue;
                pool.Outputs.RemoveAt(1);
            }
        }

        /// <summary>Replaces each foldable convolution by a <see cref="FoldedKernel"/> and drops the batchnorm it feeds.</summary>
        private static void FoldBatchNorm(NetGraph g, KernelProgram prog)
        {
            var outputs = new HashSet<TValue>(g.Outputs.SelectMany(o => new[] { o.Value, o.Value.Storage }));
            for (int i = 0; i < prog.Kernels.Count; i++)
            {
                if (!(prog.Kernels[i] is LibraryKernel conv) || conv.Epilogue != null || conv.Prologue != null || !Foldable(conv)) continue;
                var y = conv.Outputs[0];
                if (conv.Outputs.Count != 1 || outputs.Contains(y) || conv.Node.Inputs[1].Role != ValueRole.Parameter) continue;
                // the convolution's output is read by the batchnorm alone (no other kernel, no view)
                var readers = prog.Kernels.Where(k => k.Inputs.Contains(y)).ToList();
                if (readers.Count != 1 || !(readers[0] is LibraryKernel bn) || !IsBatchNorm(bn) || bn.Node.Inputs[0] != y) continue;
                if (bn.Node.Inputs[1].Role != ValueRole.Parameter || bn.Node.Inputs[2].Role != ValueRole.Parameter) continue;
                prog.Kernels[i] = new FoldedKernel(conv, bn, Eps(bn.Node));
                prog.Kernels.Remove(bn);
            }
        }
    }
}
