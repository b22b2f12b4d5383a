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
        private static readonly string[] Ops = { "rnn", "lstm", "gru" };

        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("embedding", new[] { T("ids"), I("vocab"), I("dim") }, Embedding),
            new LayerDef("rnn", new[] { T("x"), I("hidden"), I("layers", 1), B("bidirectional", false), S("nonlinearity", "tanh") }, c => Rnn(c, "rnn")),
            new LayerDef("lstm", new[] { T("x"), I("hidden"), I("layers", 1), B("bidirectional", false) }, c => Rnn(c, "lstm")),
            new LayerDef("gru", new[] { T("x"), I("hidden"), I("layers", 1), B("bidirectional", false) }, c => Rnn(c, "gru")),
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
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var g = c.Graph;
            int dirs = bi ? 2 : 1, gates = Gates(cell), saved = Saved(cell), gh = gates * hidden;
            long steps = x.Shape[1].IsKnown ? x.Shape[1].Value : 1;
            long macs = 0, parameters = 0;
            TValue input = x, y = x;
            for (int l = 0; l < layers; l++)
            {
                int din = l == 0 ? x.Shape[2].Value : hidden * dirs;
                var node = c.Node(op, name);
                node.Attrs["cell"] = cell; node.Attrs["hidden"] = hidden; node.Attrs["dirs"] = dirs; node.Attrs["layer"] = l;
                node.Inputs.Add(input);
                for (int d = 0; d < dirs; d++)
                {
                    string sfx = $"_l{l}" + (d == 1 ? "_reverse" : "");
                    // PyTorch: every weight and bias U(−1/√hidden, 1/√hidden)
                    node.Inputs.Add(c.Param(name, "weight_ih" + sfx, Shape.Of(gh, din), InitKind.PyTorchDefault, hidden, gh));
                    node.Inputs.Add(c.Param(name, "weight_hh" + sfx, Shape.Of(gh, hidden), InitKind.PyTorchDefault, hidden, gh));
                    node.Inputs.Add(c.Param(name, "bias_ih" + sfx, Shape.Of(gh), InitKind.PyTorchDefault, hidden, gh));
                    node.Inputs.Add(c.Param(name, "bias_hh" + sfx, Shape.Of(gh), InitKind.PyTorchDefault, hidden, gh));
                    parameters += (long)gh * (din + hidden + 2);
                    macs += (long)gh * (din + hidden) * steps;
                }
                y = g.NewValue(l == layers - 1 ? name : $"{name}.l{l}", r.Shape);
                node.Outputs.Add(y);
                if (saved > 0) node.Outputs.Add(g.NewValue($"{name}.saved_l{l}", Shape.Of(x.Shape[0], x.Shape[1], Dim.Of(dirs * saved * hidden))));
                g.AddNode(node);
                input = y;
            }
            g.Layers.Add(new LayerInfo(name, op, r.Shape, parameters, macs, c.Span.Line));
            return new TensorValue(y);
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
            if (!Ops.Contains(n.Op)) return false;
            var x = n.Inputs[0];
            var cell = (string)n.Attrs["cell"];
            int dirs = n.Int("dirs"), hidden = n.Int("hidden");
            var inputs = new List<TValue> { dy!, x, n.Outputs[0] };
            if (n.Outputs.Count > 1) inputs.Add(n.Outputs[1]);
            for (int d = 0; d < dirs; d++) { inputs.Add(n.Inputs[1 + 4 * d]); inputs.Add(n.Inputs[2 + 4 * d]); }
            var b = c.Node(n.Op + "_bwd", n, inputs.ToArray());
            bool needDx = c.Needs(x);
            b.Attrs["dx"] = needDx;
            var grads = new List<(TValue Target, TValue Grad)>();
            if (needDx) grads.Add((x, c.Out(b, x)));
            for (int d = 0; d < dirs; d++)
                for (int k = 1; k <= 4; k++)
                {
                    var p = n.Inputs[k + 4 * d];
                    grads.Add((p, c.Out(b, p)));
                }
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
            bool bwd = n.Op.EndsWith("_bwd", System.StringComparison.Ordinal);
            var op = bwd ? n.Op.Substring(0, n.Op.Length - 4) : n.Op;
            if (!Ops.Contains(op)) return null;
            var cell = "RnnCell." + (string)n.Attrs["cell"];
            int dirs = n.Int("dirs");
            bool hasSaved = Saved((string)n.Attrs["cell"]) > 0;
            var calls = new List<string>();
            if (!bwd)
            {
                var saved = hasSaved ? c.Out[1] : "null";
                for (int d = 0; d < dirs; d++)
                    calls.Add($"K.RnnForward({cell}, {c.In[0]}, {c.In[1 + 4 * d]}, {c.In[2 + 4 * d]}, {c.In[3 + 4 * d]}, {c.In[4 + 4 * d]}, {c.Out[0]}, {saved}, {d});");
            }
            else
            {
                string dy = c.In[0], x = c.In[1], y = c.In[2], saved = hasSaved ? c.In[3] : "null";
                int w0 = hasSaved ? 4 : 3, o = 0;
                var dx = n.Bool("dx") ? c.Out[o++] : "null";
                var work = c.Out[c.Out.Count - 1];
                for (int d = 0; d < dirs; d++, o += 4)
                    calls.Add($"K.RnnBackward({cell}, {dy}, {x}, {y}, {saved}, {c.In[w0 + 2 * d]}, {c.In[w0 + 2 * d + 1]}, {work}, {dx}, " +
                              $"{c.Out[o]}, {c.Out[o + 1]}, {c.Out[o + 2]}, {c.Out[o + 3]}, {d}, {CallContext.Bool(d > 0)});");
            }
            return string.Join(" ", calls);
        }

        /// <summary>2 FLOPs per MAC of the input and hidden projections per step (per time step when T is symbolic); the backward pass twice that.</summary>
        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            var fwd = n.Forward ?? n;
            if (!Ops.Contains(fwd.Op) || n.Op == "add") return null;
            var x = fwd.Inputs[0].Shape;
            int dirs = fwd.Int("dirs"), hidden = fwd.Int("hidden"), gh = Gates((string)fwd.Attrs["cell"]) * hidden;
            long steps = x[1].IsKnown ? x[1].Value : 1;
            long f = 2L * dirs * gh * (x[2].Value + hidden) * steps;
            return n.IsBackward ? 2 * f : f;
        }
    }
}
