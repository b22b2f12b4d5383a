using System.Collections.Generic;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Autodiff
{
    /// <summary>
    /// What a backward rule of an op family (<see cref="Ops.OpFamily.Backward"/>) works with: which values need a
    /// gradient, and how to add backward nodes and accumulate gradients (fan-out is summed by add nodes).
    /// The pattern: <c>if (c.Needs(x)) c.Accumulate(n, x, c.Out(c.Node("relu_bwd", n, dy, y), x));</c>
    /// </summary>
    internal sealed class BackwardContext
    {
        private readonly NetGraph _g;
        private readonly HashSet<TValue> _needs;
        private readonly Dictionary<TValue, TValue> _grads;
        internal BackwardContext(NetGraph g, HashSet<TValue> needs, Dictionary<TValue, TValue> grads) { _g = g; _needs = needs; _grads = grads; }

        public NetGraph Graph => _g;
        /// <summary>True if the loss depends on <paramref name="v"/> through a parameter (its gradient is needed).</summary>
        public bool Needs(TValue v) => _needs.Contains(v);
        /// <summary>The gradient accumulated so far for <paramref name="v"/> (null if none), e.g. for a second output of a node.</summary>
        public TValue? GradOf(TValue v) => _grads.TryGetValue(v, out var g) ? g : null;
        /// <summary>A backward node of <paramref name="fwd"/> (attributes copied) reading <paramref name="inputs"/>; add outputs with <see cref="Out"/>.</summary>
        public OpNode Node(string op, OpNode fwd, params TValue[] inputs) => Differentiator.Node(_g, op, fwd, inputs);
        /// <summary>A gradient output of backward node <paramref name="b"/>, shaped like <paramref name="like"/> (the first output adds the node).</summary>
        public TValue Out(OpNode b, TValue like, string? name = null) => Differentiator.Out(_g, b, name ?? "d" + like.Name, like);
        /// <summary>Adds <paramref name="grad"/> to the gradient of <paramref name="target"/> (summing when it fans out).</summary>
        public void Accumulate(OpNode fwd, TValue target, TValue grad) => Differentiator.Accumulate(_g, fwd, target, grad, _grads);
        /// <summary>The usual unary rule: dx = op_bwd(dy, saved) for an element-wise or library op with one input.</summary>
        public void Unary(OpNode n, TValue dy, string bwdOp, params TValue[] saved)
        {
            var x = n.Inputs[0];
            if (!Needs(x)) return;
            var inputs = new List<TValue> { dy };
            inputs.AddRange(saved);
            Accumulate(n, x, Out(Node(bwdOp, n, inputs.ToArray()), x));
        }
    }
}
