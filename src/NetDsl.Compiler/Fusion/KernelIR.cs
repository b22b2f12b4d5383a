using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Fusion
{
    /// <summary>An element-wise expression over a kernel's inputs: the body of a fused loop.</summary>
    public abstract record ElemExpr;
    /// <summary>The kernel's input number <see cref="Index"/> (a, b, c).</summary>
    public sealed record ElemInput(int Index) : ElemExpr;
    /// <summary>
    /// An element-wise op applied to sub-expressions: relu, sigmoid, tanh, add, relu_bwd(dy, y)… and the registered
    /// element-wise ops (<see cref="Ops.ElemDef"/>); <see cref="Consts"/> are compile-time attributes (a leaky relu's slope).
    /// </summary>
    public sealed record ElemOp(string Op, IReadOnlyList<ElemExpr> Args, IReadOnlyList<double>? Consts = null) : ElemExpr;

    /// <summary>
    /// One kernel of the fused-kernel IR. Both emitters (CPU C# and ILGPU) walk the same list:
    /// a library call (GEMM, convolution, pooling, loss) with an optional fused element-wise epilogue,
    /// an element-wise kernel (a fused expression tree), or a no-op alias (reshape).
    /// </summary>
    public abstract class Kernel
    {
        public int Id { get; internal set; }
        /// <summary>The graph ops this kernel computes, in order (the first is the primary op).</summary>
        public List<OpNode> Ops { get; } = new List<OpNode>();
        public List<TValue> Inputs { get; } = new List<TValue>();
        public List<TValue> Outputs { get; } = new List<TValue>();
        public bool IsBackward => Ops[0].IsBackward;
        /// <summary>
        /// Set on a kernel the rematerialization pass added to the backward pass: the forward value it recomputes (into a
        /// short-lived buffer) instead of keeping it alive from the forward pass (see <see cref="Memory.Rematerializer"/>).
        /// </summary>
        public TValue? Recomputes { get; internal set; }
        /// <summary>.net source lines this kernel covers.</summary>
        public IEnumerable<int> Lines => Ops.Select(o => o.Span.Line).Distinct().OrderBy(l => l);
        /// <summary>The .net line of the kernel's primary op (where `#line` maps its call in debug mode).</summary>
        public int PrimaryLine => (this is LibraryKernel l ? l.Node : Ops[Ops.Count - 1]).Span.Line;
        /// <summary>What this kernel costs per sample (set by <see cref="KernelCost.Annotate"/>; printed in its comment and used by the profiler).</summary>
        public KernelCost Cost { get; internal set; } = KernelCost.None;
        /// <summary>
        /// How a backward kernel that writes parameter gradients adds into them when gradients accumulate (set by
        /// <see cref="AccumulateModes.Run"/>); <see cref="Accumulation.None"/> for every other kernel.
        /// </summary>
        public Accumulation Accumulate { get; internal set; }
    }

    /// <summary>How a kernel writing parameter gradients honours accumulate mode (AccumulateGradients, optimizers with their state in the gradients).</summary>
    public enum Accumulation
    {
        /// <summary>The kernel writes no parameter gradient.</summary>
        None,
        /// <summary>The kernel has an accumulating form that adds into the gradients itself (linear_bwd_filter's GEMM).</summary>
        InKernel,
        /// <summary>The kernel overwrites: when accumulating it writes into scratch views that are then added into the gradients.</summary>
        ViaScratch,
    }

    /// <summary>A call into a runtime kernel (conv, linear, pooling, loss…) with an optional fused epilogue (a unary ElemExpr over input 0).</summary>
    public sealed class LibraryKernel : Kernel
    {
        private OpNode? _primary;
        /// <summary>The kernel's op (a fused prologue's ops come before it in <see cref="Kernel.Ops"/>).</summary>
        public OpNode Node { get => _primary ?? Ops[0]; internal set => _primary = value; }
        public ElemExpr? Epilogue { get; internal set; }
        /// <summary>The op of the epilogue (relu, sigmoid, tanh) for comments, or null.</summary>
        public OpNode? EpilogueNode { get; internal set; }
        /// <summary>
        /// A fused element-wise prologue (batchnorm_bwd only): the kernel's dy, input 0 of its node, is not read from memory
        /// but computed as it is read from <see cref="PrologueInputs"/> (2 or 3 values, e.g. relu_bwd(dy, y) or
        /// relu_bwd(add(g1, g2), y)). The kernel's Inputs are PrologueInputs followed by the node's other inputs.
        /// </summary>
        public ElemExpr? Prologue { get; internal set; }
        public List<TValue> PrologueInputs { get; } = new List<TValue>();
        /// <summary>The prologue's value when other kernels read it too: the kernel also writes it (its last output); else null.</summary>
        public TValue? PrologueOutput { get; internal set; }
    }

    /// <summary>A fused element-wise loop: Output[i] = Expr(Inputs[0][i], Inputs[1][i], …), at most three inputs.</summary>
    public sealed class ElementwiseKernel : Kernel
    {
        public ElemExpr Expr { get; internal set; } = null!;
        public TValue Output => Outputs[0];
    }

    /// <summary>A reshape: the output is a view of the input's storage; no code runs.</summary>
    public sealed class AliasKernel : Kernel { }

    /// <summary>The fused program: forward kernels then backward kernels.</summary>
    public sealed class KernelProgram
    {
        public List<Kernel> Kernels { get; } = new List<Kernel>();
        /// <summary>
        /// True for the eval-only program (<see cref="EvalProgram"/>): forward kernels the outputs need, batchnorm folded, planned
        /// on its own; false for the training program (forward then backward).
        /// </summary>
        public bool IsEval { get; internal set; }
        public IEnumerable<Kernel> Forward => Kernels.Where(k => !k.IsBackward);
        public IEnumerable<Kernel> Backward => Kernels.Where(k => k.IsBackward);
    }
}
