using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// What the generic passes need to know about an op, so that they read traits instead of testing op names
    /// (TVM's op attributes such as TOpPattern). A new op states its traits in its <see cref="OpDef"/> and every pass
    /// treats it accordingly.
    /// </summary>
    [Flags]
    internal enum OpTraits
    {
        None = 0,
        /// <summary>Computed element by element (an <see cref="ElemDef"/> gives its code): fused into loops with its neighbours.</summary>
        Elementwise = 1 << 0,
        /// <summary>A library kernel that can apply a unary element-wise op as it writes its output (conv2d, linear, batchnorm).</summary>
        TakesEpilogue = 1 << 1,
        /// <summary>A library kernel that can compute its first input (dy) from an element-wise loop as it reads it (batchnorm_bwd).</summary>
        TakesPrologue = 1 << 2,
        /// <summary>Its output is a view of its input's storage (flatten, reshape): no kernel runs.</summary>
        View = 1 << 3,
        /// <summary>A following batchnorm can be folded into its weights and bias for inference (conv2d, linear).</summary>
        FoldsBatchNorm = 1 << 4,
        /// <summary>Is folded into a preceding <see cref="FoldsBatchNorm"/> op for inference (batchnorm).</summary>
        Foldable = 1 << 5,
        /// <summary>
        /// A library op the rematerializer may recompute in the backward pass from its x, γ, β and its saved statistics
        /// (outputs 1 and 2): batchnorm's apply step. (Element-wise loops are always recomputable.)
        /// </summary>
        Recomputable = 1 << 6,
        /// <summary>Monotone non-decreasing and unary: commutes with a max pooling (relu), so it can run on the pooled, smaller tensor.</summary>
        CommutesWithMaxPool = 1 << 7,
        /// <summary>A rectifier: a weight feeding it (directly or through a <see cref="PassesInitHint"/> op) gets He initialization.</summary>
        HeInit = 1 << 8,
        /// <summary>Lets the initialization hint through: a conv followed by this op and then a rectifier gets He initialization (batchnorm).</summary>
        PassesInitHint = 1 << 9,
        /// <summary>Its backward rule also runs when only a later output (not output 0) has a gradient (an LSTM read only through c_n).</summary>
        BackwardFromLaterOutputs = 1 << 10,
        /// <summary>A backward op (it never appears in the forward graph).</summary>
        Gradient = 1 << 11,
        /// <summary>An element-wise unary op a <see cref="TakesEpilogue"/> kernel can apply as it writes its output (relu, sigmoid, gelu…).</summary>
        Epilogue = 1 << 12,
        /// <summary>Its weight (input 1) is initialized for the activation after it: He before a <see cref="HeInit"/> op, Xavier otherwise (conv2d, linear).</summary>
        ChoosesInit = 1 << 13,
        /// <summary>Its `weight` parameter is covered by the weight penalties (l2_penalty, l1_penalty, elastic_net): convolutions and linear layers.</summary>
        Penalized = 1 << 14,
        /// <summary>Takes the maximum over windows of one input (maxpool2d): a <see cref="CommutesWithMaxPool"/> op before it can move after it.</summary>
        MaxOverWindows = 1 << 15,
        /// <summary>Its last output is saved for its backward only (maxpool2d's argmax): the eval program drops it when no eval kernel reads it, and the op's call has a one-output inference form.</summary>
        InferenceDropsLastOutput = 1 << 16,
        /// <summary>
        /// Its forward kernel takes a weight-pack slot at inference (<c>CallContext.Pack</c>: <c>, _packN, packKey</c>), used when
        /// operand 1 ("weight") is a parameter or a folded weight: the kernel keeps it packed between eval calls.
        /// </summary>
        PacksWeight = 1 << 17,
    }

    /// <summary>
    /// One graph op, defined once: its name, its attribute record type, its named operands, its traits, and (optionally)
    /// its rules; a rule left null is answered by the owning <see cref="OpFamily"/> (its <c>Backward</c>/<c>Call</c>/<c>Flops</c>),
    /// and only by it: the registry dispatches by owner, never by asking every family.
    /// Operands are written like a signature: <c>"x, weight, bias?"</c> (<c>?</c> optional, at the end) or <c>"xs*"</c>
    /// (one or more); the graph verifier checks every node against it.
    /// </summary>
    internal sealed class OpDef
    {
        public string Name { get; }
        public Type AttrType { get; }
        public IReadOnlyList<string> Operands { get; }
        public OpTraits Traits { get; }
        public OpFamily Owner { get; internal set; } = null!;
        /// <summary>For a <see cref="OpTraits.Recomputable"/> op: the gradient op that recomputes its output from (x, weight, bias, saved outputs 1 and 2).</summary>
        public string? RecomputeOp { get; init; }
        /// <summary>The op appears in the forward pass and as a backward node (add sums fanned-out gradients; reshape views them).</summary>
        public bool InBothPasses { get; init; }
        /// <summary>Appends the backward nodes of a forward node (null: the owner's <see cref="OpFamily.Backward"/>).</summary>
        public Action<BackwardContext, OpNode, TValue?>? Backward { get; init; }
        /// <summary>The C# statement that runs the op's library kernel (null: the owner's <see cref="OpFamily.Call"/>).</summary>
        public Func<CallContext, LibraryKernel, string>? Call { get; init; }
        /// <summary>
        /// The kernel call that adds into its gradient outputs instead of overwriting them (for accumulated gradients), when
        /// the kernel has such a form; null: the emitter writes into scratch and adds (<see cref="Fusion.AccumulateModes"/>).
        /// </summary>
        public Func<CallContext, LibraryKernel, string>? AccumulatingCall { get; init; }
        /// <summary>FLOPs of the op's library kernel (null: the owner's <see cref="OpFamily.Flops"/>, then a per-element estimate).</summary>
        public Func<LibraryKernel, long>? Flops { get; init; }
        /// <summary>
        /// The op's shape rule over a node: the shape of output 0 from the input shapes and the attributes (the same
        /// <see cref="ShapeRules"/> functions the elaboration applies to the arguments). The graph verifier checks every
        /// node with a rule against it. Null: not stated for this op.
        /// </summary>
        public Func<OpNode, ShapeResult>? Shape { get; init; }

        public OpDef(string name, Type attrType, string operands, OpTraits traits)
        {
            Name = name; AttrType = attrType; Traits = traits;
            Operands = operands.Length == 0 ? Array.Empty<string>() : operands.Split(',').Select(s => s.Trim()).ToArray();
        }

        public bool Has(OpTraits t) => (Traits & t) == t;
        private static string Bare(string operand) => operand.TrimEnd('?', '*');
        /// <summary>The fewest and most inputs a node of this op takes (int.MaxValue with a variadic operand).</summary>
        public (int Min, int Max) Arity =>
            (Operands.Count(o => !o.EndsWith("?", StringComparison.Ordinal) && !o.EndsWith("*", StringComparison.Ordinal)) + Operands.Count(o => o.EndsWith("*", StringComparison.Ordinal)),
             Operands.Any(o => o.EndsWith("*", StringComparison.Ordinal)) ? int.MaxValue : Operands.Count);
        /// <summary>The input position of operand <paramref name="name"/>; an internal error if the op has no such operand.</summary>
        public int IndexOf(string name)
        {
            for (int i = 0; i < Operands.Count; i++) if (Bare(Operands[i]) == name) return i;
            throw new InvalidOperationException($"op {Name} has no operand '{name}' (its operands: {string.Join(", ", Operands)})");
        }
        /// <summary>Operand <paramref name="name"/> of node <paramref name="n"/>, or null when an optional operand is absent.</summary>
        public TValue? Operand(OpNode n, string name) { int i = IndexOf(name); return i < n.Inputs.Count ? n.Inputs[i] : null; }

        /// <summary>Null if <paramref name="n"/> fits this definition, else what is wrong (for the graph verifier's internal error).</summary>
        public string? Check(OpNode n)
        {
            if (!AttrType.IsInstanceOfType(n.Attrs)) return $"op {Name} takes {AttrType.Name} attributes, the node has {n.Attrs.GetType().Name}";
            var (min, max) = Arity;
            if (n.Inputs.Count < min || n.Inputs.Count > max)
                return $"op {Name} takes operands ({string.Join(", ", Operands)}), the node has {n.Inputs.Count} inputs";
            if (!InBothPasses && Has(OpTraits.Gradient) != n.IsBackward)
                return Has(OpTraits.Gradient) ? $"gradient op {Name} appears in the forward pass" : $"forward op {Name} appears as a backward node without being a gradient op";
            if (Shape != null && n.Outputs.Count > 0 && !n.Outputs[0].Shape.IsUnknown && n.Inputs.All(i => !i.Shape.IsUnknown))
            {
                var r = Shape(n);
                if (r.IsError) return $"op {Name}'s shape rule rejects the node: {r.Error}";
                if (!r.Shape.Equals(n.Outputs[0].Shape)) return $"op {Name}'s shape rule gives {r.Shape.ToDisplay()}, the node's output is {n.Outputs[0].Shape.ToDisplay()}";
            }
            return null;
        }

        /// <summary>The shape rule of element-wise ops and of ops that keep their input's shape: output 0 is shaped like input 0.</summary>
        public static ShapeResult SameShape(OpNode n) => ShapeResult.Ok(n.Inputs[0].Shape);

        /// <summary>A definition of op <paramref name="name"/> with attributes <typeparamref name="TA"/>.</summary>
        public static OpDef Of<TA>(string name, string operands, OpTraits traits = OpTraits.None) where TA : OpAttrs => new OpDef(name, typeof(TA), operands, traits);
        /// <summary>A definition of op <paramref name="name"/> without attributes.</summary>
        public static OpDef Of(string name, string operands, OpTraits traits = OpTraits.None) => new OpDef(name, typeof(NoAttrs), operands, traits);
        /// <summary>A gradient op (the <see cref="OpTraits.Gradient"/> trait) sharing its forward op's attribute type.</summary>
        public static OpDef Grad<TA>(string name, string operands, OpTraits traits = OpTraits.None) where TA : OpAttrs => new OpDef(name, typeof(TA), operands, traits | OpTraits.Gradient);
        public static OpDef Grad(string name, string operands, OpTraits traits = OpTraits.None) => new OpDef(name, typeof(NoAttrs), operands, traits | OpTraits.Gradient);
        /// <summary>An op that appears both in the forward pass and as a backward node (add sums gradients; scale negates them; reshape views them).</summary>
        public static OpDef Both<TA>(string name, string operands, OpTraits traits = OpTraits.None) where TA : OpAttrs =>
            new OpDef(name, typeof(TA), operands, traits) { InBothPasses = true };
        public static OpDef Both(string name, string operands, OpTraits traits = OpTraits.None) =>
            new OpDef(name, typeof(NoAttrs), operands, traits) { InBothPasses = true };
    }
}
