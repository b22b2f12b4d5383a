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
                    if (!(n.Op == "lstm" && n.Outputs.Count > 1 && grads.ContainsKey(n.Outputs[1]))) continue;
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

        private static void Backward(NetGraph g, OpNode n, TValue? dy, HashSet<TValue> needs, Dictionary<TValue, TValue> grads)
        {
            var x = n.Inputs.Count > 0 ? n.Inputs[0] : null;
            var y = n.Outputs[0];
            switch (n.Op)
            {
                case "linear":
                {
                    var w = n.Inputs[1];
                    var bias = n.Inputs.Count > 2 ? n.Inputs[2] : null;
                    const string kind = "linear";
                    if (needs.Contains(x!))
                    {
                        var bd = Node(g, kind + "_bwd_data", n, new[] { dy!, w });
                        Accumulate(g, n, x!, Out(g, bd, "d" + x!.Name, x!), grads);
                    }
                    var bf = Node(g, kind + "_bwd_filter", n, new[] { dy!, x! });
                    Accumulate(g, n, w, Out(g, bf, "d" + w.Name, w), grads);
                    if (bias != null) Accumulate(g, n, bias, Out(g, bf, "d" + bias.Name, bias), grads);
                    return;
                }
                case "flatten":
                {
                    if (!needs.Contains(x!)) return;
                    var b = Node(g, "reshape", n, new[] { dy! });
                    var dx = Out(g, b, "d" + x!.Name, x!);
                    dx.AliasOf = dy;
                    Accumulate(g, n, x!, dx, grads);
                    return;
                }
                case "relu":
                case "sigmoid":
                case "tanh":
                    if (needs.Contains(x!)) Accumulate(g, n, x!, Out(g, Node(g, n.Op + "_bwd", n, new[] { dy!, y }), "d" + x!.Name, x!), grads);
                    return;
                case "dropout":
                    if (needs.Contains(x!)) Accumulate(g, n, x!, Out(g, Node(g, "dropout_bwd", n, new[] { dy!, n.Outputs[1] }), "d" + x!.Name, x!), grads);
                    return;
                case "add":
                    foreach (var i in n.Inputs) if (needs.Contains(i)) Accumulate(g, n, i, dy!, grads);
                    return;
                case "concat":
                {
                    var b = Node(g, "concat_bwd", n, new[] { dy! });
                    foreach (var i in n.Inputs)
                    {
                        var d = Out(g, b, "d" + i.Name, i);
                        if (needs.Contains(i)) Accumulate(g, n, i, d, grads);
                    }
                    return;
                }
            }
            if (Ops.OpRegistry.Backward(new BackwardContext(g, needs, grads), n, dy)) return;
            throw new System.InvalidOperationException($"no backward rule for {n.Op}");
        }

        internal static OpNode Node(NetGraph g, string op, OpNode fwd, IEnumerable<TValue> inputs)
        {
            var b = new OpNode(op, fwd.Layer, fwd.Span) { IsBackward = true, Forward = fwd };
            foreach (var kv in fwd.Attrs) b.Attrs[kv.Key] = kv.Value;
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
