using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Semantics.LayerCatalog;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// Recurrent layers and embeddings (docs/ops/recurrent.md): embedding, rnn, lstm and gru with PyTorch's equations, gate
    /// orders, parameter names and counts (two biases per layer and direction). Graph ops: embedding (+ embedding_bwd) and one
    /// rnn / lstm / gru node per layer (outputs y and, for lstm and gru, the saved gates), each with an _bwd node (back-propagation
    /// through time) that also outputs its scratch `work`. The time loop runs inside the kernel, so T may be symbolic.
    /// Attributes: cell (RnnTanh, RnnRelu, Lstm, Gru), hidden, dirs, layer, dx (backward: whether dx is an output).
    /// </summary>
    internal sealed class Recurrent : OpFamily
    {
        private static readonly string[] Cells = { "rnn", "lstm", "gru" };

        public override IEnumerable<OpDef> Ops => new[]
        {
            OpDef.Of("embedding", "ids, weight"),
            OpDef.Grad("embedding_bwd", "dy, ids"),
            // per direction d: weight_ih, weight_hh, bias_ih, bias_hh (inputs WeightIh(d)…), then h0 and c0 when given
            OpDef.Of<RnnAttrs>("rnn", "x, params*"),
            OpDef.Of<RnnAttrs>("gru", "x, params*"),
            // an LSTM read only through its final cell state c_n (a slice of output 1) is still differentiated
            OpDef.Of<RnnAttrs>("lstm", "x, params*", OpTraits.BackwardFromLaterOutputs),
            OpDef.Grad<RnnAttrs>("rnn_bwd", "dy, x, y, params*"),
            OpDef.Grad<RnnAttrs>("gru_bwd", "dy, x, y, saved, params*"),
            OpDef.Grad<RnnAttrs>("lstm_bwd", "dy, x, y, saved, params*"),
            OpDef.Grad<RnnAttrs>("rnn_zero", ""),
            // the zero biases of bias: false; the gradient the recurrent kernel writes for them goes nowhere
            new OpDef("zeros", typeof(NoAttrs), "", OpTraits.None)
            { Backward = (c, n, dy) => { }, Call = (c, k) => $"K.Fill({c.Out[0]}, T.Zero); // a zero bias (bias: false)", Flops = k => 0 },
        };

        /// <summary>The input positions of direction <paramref name="d"/>'s parameters in a recurrent node, and of h0 and c0 after them.</summary>
        private static int WeightIh(int d) => 1 + 4 * d;
        private static int WeightHh(int d) => 2 + 4 * d;
        private static int BiasIh(int d) => 3 + 4 * d;
        private static int BiasHh(int d) => 4 + 4 * d;
        private static int H0(int dirs) => 1 + 4 * dirs;
        private static int C0(int dirs) => 2 + 4 * dirs;

        /// <summary>An optional tensor argument (absent when not given).</summary>
        private static ArgSpec TOpt(string n) => new ArgSpec(n, ArgType.Tensor, false, null, "none");

        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("embedding", new[] { T("ids"), I("vocab"), I("dim") }, Embedding),
            new LayerDef("rnn", new[] { T("x"), I("hidden"), I("layers", 1), B("bidirectional", false), S("nonlinearity", "tanh"), TOpt("h0"), B("state", false), B("bias", true) }, c => Rnn(c, "rnn")),
            new LayerDef("lstm", new[] { T("x"), I("hidden"), I("layers", 1), B("bidirectional", false), TOpt("h0"), TOpt("c0"), B("state", false), B("bias", true) }, c => Rnn(c, "lstm")),
            new LayerDef("gru", new[] { T("x"), I("hidden"), I("layers", 1), B("bidirectional", false), TOpt("h0"), B("state", false), B("bias", true) }, c => Rnn(c, "gru")),
        };

        /// <summary>Gates per cell (rows of W_ih in units of H), values saved per step (units of H) and backward work per step (units of H): as the runtime's RnnLayout.</summary>
        private static int Gates(string cell) => cell == "Lstm" ? 4 : cell == "Gru" ? 3 : 1;
        private static int Saved(string cell) => cell == "Lstm" ? 5 : cell == "Gru" ? 4 : 0;
        private static int Work(string cell) => cell == "Lstm" ? 6 : cell == "Gru" ? 7 : 2;

        private static CValue Embedding(LayerCall c)
        {
            var ids = c.X("ids");
            int vocab = c.Int("vocab"), dim = c.Int("dim");
            if (ids.Type != ElemType.Int && !ids.Shape.IsUnknown)
            {
                c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("ids"), $"embedding needs int ids (declare `input ids: int[N, T]`), got a float tensor {ids.Shape.ToDisplay()}");
                return c.Error();
            }
            var r = ShapeRules.Embedding(ids.Shape, vocab, dim);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("embedding", name);
            node.Inputs.Add(ids);
            node.Inputs.Add(c.Param(name, "weight", Shape.Of(vocab, dim), InitKind.Normal, dim, vocab));
            return c.Emit(node, r.Shape);
        }

        private static CValue Rnn(LayerCall c, string op)
        {
            var x = c.X("x");
            int hidden = c.Int("hidden"), layers = c.Int("layers", 1);
            bool bi = c.Bool("bidirectional", false);
            string cell = op == "lstm" ? "Lstm" : op == "gru" ? "Gru" : "RnnTanh";
            if (op == "rnn")
            {
                var nl = c.Str("nonlinearity", "tanh");
                if (nl != "tanh" && nl != "relu")
                {
                    c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("nonlinearity"), $"rnn nonlinearity must be \"tanh\" or \"relu\" (as nn.RNN), got \"{nl}\"");
                    return c.Error();
                }
                if (nl == "relu") cell = "RnnRelu";
            }
            if (x.Type == ElemType.Int && !x.Shape.IsUnknown)
            {
                c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("x"), $"{op} needs a float sequence [N, T, features], got int ids {x.Shape.ToDisplay()} (embed them first: ids |> embedding(vocab, dim))");
                return c.Error();
            }
            var r = ShapeRules.Recurrent(op, x.Shape, hidden, layers, bi);
            if (c.Fail(r)) return c.Error();
            int dirs = bi ? 2 : 1;
            // initial states (PyTorch's h_0 / c_0 [layers·dirs, N, hidden]) and the final ones as extra outputs (state: true)
            TValue? h0 = c.Has("h0") ? c.X("h0") : null, c0 = c.Has("c0") ? c.X("c0") : null;
            bool state = c.Bool("state", false);
            foreach (var (arg, st) in new[] { ("h0", h0), ("c0", c0) })
            {
                if (st is null) continue;
                if (st.Type == ElemType.Int && !st.Shape.IsUnknown)
                {
                    c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan(arg), $"{op} {arg} must be a float tensor [layers·dirs, N, hidden], got int {st.Shape.ToDisplay()}");
                    return c.Error();
                }
                var rs = ShapeRules.RecurrentState(op, arg, x.Shape, st.Shape, hidden, layers, dirs);
                if (rs.IsError) { c.Error(rs.ErrorId!, c.ArgSpan(arg), rs.Error!); return c.Error(); }
            }
            if (op == "lstm" && (h0 is null) != (c0 is null))
            {
                c.Error(DiagnosticIds.MissingArgument, c.ArgSpan(h0 is null ? "c0" : "h0"), $"lstm needs both initial states or neither (as nn.LSTM(x, (h0, c0))): {(h0 is null ? "c0 given without h0" : "h0 given without c0")}");
                return c.Error();
            }
            if (state && !r.Shape.IsUnknown && !x.Shape[1].IsKnown)
            {
                c.Error(DiagnosticIds.SymbolicDimNotAllowed, c.ArgSpan("state"), $"{op}(…, state: true) needs a known sequence length to take the final states, got the input {x.Shape.ToDisplay()} (declare the chunk length, e.g. [N, 16, features])");
                return c.Error();
            }
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var g = c.Graph;
            int gates = Gates(cell), saved = Saved(cell), gh = gates * hidden;
            var ys = new List<TValue>(); var savedVals = new List<TValue>();
            long steps = x.Shape[1].IsKnown ? x.Shape[1].Value : 1;
            long macs = 0, parameters = 0;
            bool bias = c.Bool("bias", true);
            TValue input = x, y = x;
            for (int l = 0; l < layers; l++)
            {
                int din = l == 0 ? x.Shape[2].Value : hidden * dirs;
                // bias: false (nn.LSTM(bias=False)): no bias parameters; the kernels add a zero vector instead (GH floats, filled
                // by a `zeros` op; its gradient is computed and dropped)
                var zeroBias = bias ? null : Zeros(c, $"{name}.zero_bias_l{l}", Shape.Of(gh));
                var node = c.Node(op, name);
                node.Attrs = new RnnAttrs(cell, hidden, dirs, l, h0 is not null, c0 is not null);
                node.Inputs.Add(input);
                for (int d = 0; d < dirs; d++)
                {
                    string sfx = $"_l{l}" + (d == 1 ? "_reverse" : "");
                    // PyTorch: every weight and bias U(−1/√hidden, 1/√hidden)
                    node.Inputs.Add(c.Param(name, "weight_ih" + sfx, Shape.Of(gh, din), InitKind.PyTorchDefault, hidden, gh));
                    node.Inputs.Add(c.Param(name, "weight_hh" + sfx, Shape.Of(gh, hidden), InitKind.PyTorchDefault, hidden, gh));
                    node.Inputs.Add(zeroBias ?? c.Param(name, "bias_ih" + sfx, Shape.Of(gh), InitKind.PyTorchDefault, hidden, gh));
                    node.Inputs.Add(zeroBias ?? c.Param(name, "bias_hh" + sfx, Shape.Of(gh), InitKind.PyTorchDefault, hidden, gh));
                    parameters += (long)gh * (din + hidden + (bias ? 2 : 0));
                    macs += (long)gh * (din + hidden) * steps;
                }
                if (h0 is not null) node.Inputs.Add(h0);
                if (c0 is not null) node.Inputs.Add(c0);
                y = g.NewValue(l == layers - 1 ? name : $"{name}.l{l}", r.Shape);
                node.Outputs.Add(y);
                if (saved > 0) node.Outputs.Add(g.NewValue($"{name}.saved_l{l}", Shape.Of(x.Shape[0], x.Shape[1], Dim.Of(dirs * saved * hidden))));
                g.AddNode(node);
                ys.Add(y);
                if (saved > 0) savedVals.Add(node.Outputs[1]);
                input = y;
            }
            // with T symbolic the MACs are per time step (the summary says so); with T known, per sample
            g.Layers.Add(new LayerInfo(name, op, r.Shape, parameters, macs, c.Span.Line) { MacsPerStepOf = x.Shape[1].IsKnown ? null : x.Shape[1].Symbol });
            if (!state) return new TensorValue(y);
            // the final states: h_n from every layer's output (direction 0 at t = T−1, the reverse one at t = 0), c_n from
            // the saved cell states, as slices (their backward scatters dh_n / dc_n into the last step) stacked to [layers·dirs, N, H]
            int T = x.Shape[1].Value;
            var items = new List<CValue> { new TensorValue(y), new TensorValue(FinalState(c, name + ".hn", ys, x.Shape[0], T, hidden, dirs, 1, 0)) };
            if (op == "lstm") items.Add(new TensorValue(FinalState(c, name + ".cn", savedVals, x.Shape[0], T, hidden, dirs, saved, 4)));
            return new TupleValue(items);
        }

        /// <summary>
        /// [layers·dirs, N, H] from per-layer tensors [N, T, dirs·width·H]: block (l, d) = src_l[:, t_last(d), (d·width + col)·H ..+H]
        /// with t_last = T−1 for direction 0 and 0 for the reverse one (slice, slice, view, then concat on axis 0).
        /// </summary>
        private static TValue FinalState(LayerCall c, string name, List<TValue> srcs, Dim n, int T, int hidden, int dirs, int width, int col)
        {
            var g = c.Graph;
            var pieces = new List<TValue>();
            foreach (var src in srcs)
                for (int d = 0; d < dirs; d++)
                {
                    var step = Slice(c, name, src, 1, d == 0 ? T - 1 : 0, Shape.Of(n, Dim.Of(1), src.Shape[2]));
                    var part = Slice(c, name, step, 2, (d * width + col) * hidden, Shape.Of(n, Dim.Of(1), Dim.Of(hidden)));
                    var view = c.Node("reshape", name);
                    view.Inputs.Add(part);
                    var v = g.NewValue(name, Shape.Of(Dim.Of(1), n, Dim.Of(hidden)));
                    view.Outputs.Add(v);
                    g.AddNode(view);
                    v.AliasOf = part;
                    pieces.Add(v);
                }
            if (pieces.Count == 1) return pieces[0];
            var cat = c.Node("concat", name);
            cat.Attrs = new AxisAttrs(0);
            cat.Inputs.AddRange(pieces);
            var o = g.NewValue(name, Shape.Of(Dim.Of(pieces.Count), n, Dim.Of(hidden)));
            cat.Outputs.Add(o);
            g.AddNode(cat);
            return o;
        }

        /// <summary>A constant zero tensor (a `zeros` node: no inputs, no gradient of its own).</summary>
        private static TValue Zeros(LayerCall c, string name, Shape shape)
        {
            var node = c.Node("zeros", name);
            var v = c.Graph.NewValue(name, shape);
            node.Outputs.Add(v);
            c.Graph.AddNode(node);
            return v;
        }

        private static TValue Slice(LayerCall c, string name, TValue x, int axis, int start, Shape shape)
        {
            var node = c.Node("slice", name);
            node.Attrs = new SliceAttrs(axis, start, 1);
            node.Inputs.Add(x);
            var v = c.Graph.NewValue(name, shape);
            node.Outputs.Add(v);
            c.Graph.AddNode(node);
            return v;
        }

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            if (n.IsBackward) return false;
            if (n.Op == "embedding")
            {
                var w = n.Inputs[1];
                c.Accumulate(n, w, c.Out(c.Node("embedding_bwd", n, dy!, n.Inputs[0]), w));
                return true;
            }
            if (!Cells.Contains(n.Op)) return false;
            var x = n.Inputs[0];
            var a = n.A<RnnAttrs>();
            var cell = a.Cell;
            int dirs = a.Dirs, hidden = a.Hidden;
            TValue? h0 = a.HasH0 ? n.Inputs[H0(dirs)] : null, c0 = a.HasC0 ? n.Inputs[C0(dirs)] : null;
            // a gradient only into the saved cell states (a loss using c_n but neither y nor h_n): dy is zero
            if (dy is null) dy = c.Out(c.Node("rnn_zero", n), n.Outputs[0]);
            var dsaved = cell == "Lstm" && n.Outputs.Count > 1 ? c.GradOf(n.Outputs[1]) : null;
            var inputs = new List<TValue> { dy, x, n.Outputs[0] };
            if (n.Outputs.Count > 1) inputs.Add(n.Outputs[1]);
            for (int d = 0; d < dirs; d++) { inputs.Add(n.Inputs[WeightIh(d)]); inputs.Add(n.Inputs[WeightHh(d)]); }
            if (h0 is not null) inputs.Add(h0);
            if (c0 is not null) inputs.Add(c0);
            if (dsaved is not null) inputs.Add(dsaved);
            var b = c.Node(n.Op + "_bwd", n, inputs.ToArray());
            bool needDx = c.Needs(x);

            var grads = new List<(TValue Target, TValue Grad)>();
            if (needDx) grads.Add((x, c.Out(b, x)));
            for (int d = 0; d < dirs; d++)
                foreach (var p in new[] { n.Inputs[WeightIh(d)], n.Inputs[WeightHh(d)], n.Inputs[BiasIh(d)], n.Inputs[BiasHh(d)] })
                    grads.Add((p, c.Out(b, p)));
            // the initial states' gradients (an `input h0 grad`, or h0 computed from parameters): this layer's blocks
            bool needH0 = h0 is not null && c.Needs(h0), needC0 = c0 is not null && c.Needs(c0);
            b.Grads = new GradMask(Dx: needDx, Saved: dsaved is not null, H0: needH0, C0: needC0);
            if (needH0) grads.Add((h0!, c.Out(b, h0!, $"d{h0!.Name}.{n.Layer}.l{a.Layer}")));
            if (needC0) grads.Add((c0!, c.Out(b, c0!, $"d{c0!.Name}.{n.Layer}.l{a.Layer}")));
            var work = c.Graph.NewValue(n.Layer + ".work", Shape.Of(x.Shape[0], x.Shape[1], Dim.Of(dirs * Work(cell) * hidden)), ElemType.Float, ValueRole.Gradient);
            b.Outputs.Add(work);
            work.Producer = b;
            foreach (var (target, grad) in grads) c.Accumulate(n, target, grad);
            return true;
        }


        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = k.Node;
            switch (n.Op)
            {
                case "embedding": return $"K.EmbeddingForward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "embedding_bwd": return $"K.EmbeddingBackward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
            }
            if (n.Op == "rnn_zero") return $"K.Fill({c.Out[0]}, T.Zero); // no gradient into y, only into c_n";
            bool bwd = n.Op.EndsWith("_bwd", System.StringComparison.Ordinal);
            var op = bwd ? n.Op.Substring(0, n.Op.Length - 4) : n.Op;
            if (!Cells.Contains(op)) return null;
            var a = n.A<RnnAttrs>();
            var cell = "RnnCell." + a.Cell;
            int dirs = a.Dirs, layer = a.Layer;
            bool hasSaved = Saved(a.Cell) > 0, hasH0 = a.HasH0, hasC0 = a.HasC0;
            var calls = new List<string>();
            if (!bwd)
            {
                var saved = hasSaved ? c.Out[1] : "null";
                string st = hasH0 ? $", {c.In[H0(dirs)]}, {(hasC0 ? c.In[C0(dirs)] : "null")}" : "";
                for (int d = 0; d < dirs; d++)
                    calls.Add($"K.RnnForward({cell}, {c.In[0]}, {c.In[WeightIh(d)]}, {c.In[WeightHh(d)]}, {c.In[BiasIh(d)]}, {c.In[BiasHh(d)]}, {c.Out[0]}, {saved}, {d}" +
                              (hasH0 ? $"{st}, {layer * dirs + d});" : ");"));
            }
            else
            {
                string dy = c.In[0], x = c.In[1], y = c.In[2], saved = hasSaved ? c.In[3] : "null";
                int w0 = hasSaved ? 4 : 3, o = 0, si = w0 + 2 * dirs;
                string h0 = hasH0 ? c.In[si++] : "null", c0 = hasC0 ? c.In[si++] : "null", dsaved = n.Grads!.Saved ? c.In[si++] : "null";
                var dx = n.Grads.Dx ? c.Out[o++] : "null";
                int so = o + 4 * dirs;
                string dh0 = n.Grads.H0 ? c.Out[so++] : "null", dc0 = n.Grads.C0 ? c.Out[so++] : "null";
                bool extra = hasH0 || dsaved != "null";
                var work = c.Out[c.Out.Count - 1];
                for (int d = 0; d < dirs; d++, o += 4)
                    calls.Add($"K.RnnBackward({cell}, {dy}, {x}, {y}, {saved}, {c.In[w0 + 2 * d]}, {c.In[w0 + 2 * d + 1]}, {work}, {dx}, " +
                              $"{c.Out[o]}, {c.Out[o + 1]}, {c.Out[o + 2]}, {c.Out[o + 3]}, {d}, {CallContext.Bool(d > 0)}" +
                              (extra ? $", {h0}, {c0}, {layer * dirs + d}, {dsaved}, {dh0}, {dc0});" : ");"));
            }
            return string.Join(" ", calls);
        }

        /// <summary>2 FLOPs per MAC of the input and hidden projections per step (per time step when T is symbolic); the backward pass twice that.</summary>
        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            var fwd = n.Forward ?? n;
            if (!Cells.Contains(fwd.Op) || n.Op == "add" || n.Op == "rnn_zero") return null;
            var x = fwd.Inputs[0].Shape;
            var a = fwd.A<RnnAttrs>();
            int dirs = a.Dirs, hidden = a.Hidden, gh = Gates(a.Cell) * hidden;
            long steps = x[1].IsKnown ? x[1].Value : 1;
            long f = 2L * dirs * gh * (x[2].Value + hidden) * steps;
            return n.IsBackward ? 2 * f : f;
        }
    }
}
