using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Autodiff
{
    /// <summary>
    /// Reverse-mode differentiation at compile time: appends to the graph the backward nodes that compute
    /// the gradient of the loss with respect to every parameter. Values that fan out get their gradients
    /// summed by explicit add nodes. The generated code is straight-line; there is no runtime tape.
    /// </summary>
    internal static class Differentiator
    {
        /// <summary>Ops whose backward rule is not written yet (shape checking only; such a network gets NDSL0301 and no class). Empty today.</summary>
        public static readonly HashSet<string> NoBackward = new HashSet<string>();

        /// <summary>Appends the backward nodes; false (graph unchanged) when an op has no backward rule yet.</summary>
        public static bool Run(NetGraph g)
        {
            // a network without a loss is differentiated only from an output marked `grad` (its dY comes from the caller)
            if (g.Loss == null && g.GradOutput == null) return true;
            if (g.ForwardNodes.Any(n => NoBackward.Contains(n.Op))) return false;
            var needs = new HashSet<TValue>();
            foreach (var p in g.Params) needs.Add(p.Value);
            foreach (var x in g.GradInputs) needs.Add(x); // `input x grad`: its gradient is computed too
            foreach (var n in g.ForwardNodes.ToList())
                if (n.Inputs.Any(needs.Contains)) foreach (var o in n.Outputs) if (o.Type == ElemType.Float) needs.Add(o);

            var grads = new Dictionary<TValue, TValue>();
            var forward = g.ForwardNodes.ToList();
            // the loss is any scalar [1] expression: its gradient is seeded with a constant [1] of ones (op "ones", a
            // K.Fill), and every rule, losses included, reads its upstream gradient dy
            if (g.Loss != null)
                grads[g.Loss] = Out(g, Node(g, "ones", g.Loss.Producer!, new TValue[0]), "d" + g.Loss.Name, g.Loss);
            else
            {
                // `output y grad`: the seed is a caller-supplied tensor shaped like y (bound by the generated Backward(dY))
                var seed = g.NewValue("d" + g.GradOutput!.Name, g.GradOutput.Shape, ElemType.Float, ValueRole.Input);
                g.OutputGradSeed = seed;
                grads[g.GradOutput] = seed;
            }
            for (int k = forward.Count - 1; k >= 0; k--)
            {
                var n = forward[k];
                if (!grads.TryGetValue(n.Outputs[0], out var dy))
                {
                    // an LSTM whose loss reads only its final cell state c_n (a slice of its second output): the rule gets dy = null
                    if (!(Ops.OpRegistry.Is(n, Ops.OpTraits.BackwardFromLaterOutputs) && n.Outputs.Skip(1).Any(grads.ContainsKey))) continue;
                }
                Backward(g, n, dy, needs, grads);
            }
            foreach (var x in g.GradInputs)
                if (grads.TryGetValue(x, out var gx)) g.InputGrads[x] = gx;
            foreach (var p in g.Params)
            {
                if (grads.TryGetValue(p.Value, out var gv))
                {
                    p.Grad = gv;
                    gv.Role = ValueRole.ParameterGradient;
                }
            }
            return true;
        }

        /// <summary>The op's backward rule, from its definition (or its owning family): the registry asks only the owner.</summary>
        private static void Backward(NetGraph g, OpNode n, TValue? dy, HashSet<TValue> needs, Dictionary<TValue, TValue> grads) =>
            Ops.OpRegistry.Backward(new BackwardContext(g, needs, grads), n, dy);

        internal static OpNode Node(NetGraph g, string op, OpNode fwd, IEnumerable<TValue> inputs)
        {
            var b = new OpNode(op, fwd.Layer, fwd.Span) { IsBackward = true, Forward = fwd };
            // a gradient op shares its forward op's attribute record when it takes that type (conv2d_bwd_data reads the geometry);
            // one without attributes (relu_bwd, dropout_bwd, the seed `ones`) gets none
            b.Attrs = Ops.OpRegistry.Defs.TryGetValue(op, out var d) && d.AttrType.IsInstanceOfType(fwd.Attrs) ? fwd.Attrs : NoAttrs.Instance;
            b.Inputs.AddRange(inputs);
            return b;
        }

        internal static TValue Out(NetGraph g, OpNode b, string name, TValue like)
        {
            var v = g.NewValue(name, like.Shape, ElemType.Float, ValueRole.Gradient);
            b.Outputs.Add(v);
            if (b.Outputs.Count == 1) g.AddNode(b); else v.Producer = b;
            return v;
        }

        internal static void Accumulate(NetGraph g, OpNode fwd, TValue target, TValue grad, Dictionary<TValue, TValue> grads)
        {
            if (!grads.TryGetValue(target, out var existing)) { grads[target] = grad; return; }
            var sum = new OpNode("add", fwd.Layer, fwd.Span) { IsBackward = true, Forward = fwd };
            sum.Inputs.Add(existing); sum.Inputs.Add(grad);
            var v = g.NewValue("d" + target.Name, target.Shape, ElemType.Float, ValueRole.Gradient);
            sum.Outputs.Add(v);
            g.AddNode(sum);
            grads[target] = v;
        }
    }
}
