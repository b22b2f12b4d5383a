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
    /// Normalizing flows, GLOW (Kingma &amp; Dhariwal 2018; docs/ops/flows.md). Each flow layer returns a tuple (y, logdet)
    /// with logdet [N] the log-determinant of its Jacobian per sample (`y, ld = x |> coupling(64)`); with `inverse: true`
    /// it returns only the inverse map's result (same parameter names, so an inverse network loads the forward network's
    /// checkpoint). Graph ops, each with one output (the differentiator follows output 0 only, so a logdet is its own node):
    /// actnorm (+ flow_logdet over the scale, mode log|s|), invconv_weight (W = P·L·(U + diag(exp log_s)) or its inverse,
    /// as [C, C, 1, 1]) feeding the existing conv2d (+ flow_logdet, mode Σ log_s), coupling and coupling_logdet (after a
    /// conv 3×3 → relu → conv 1×1 → relu → zero conv 3×3 network of existing conv2d/relu nodes), gaussian_log_prob;
    /// squeeze/unsqueeze are views and one permute of the tensor family.
    /// </summary>
    internal sealed class Flow : OpFamily
    {
        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("actnorm", new[] { T("x"), B("inverse", false) }, ActNorm),
            new LayerDef("invconv", new[] { T("x"), B("inverse", false) }, InvConv),
            new LayerDef("coupling", new[] { T("x"), I("hidden"), B("inverse", false) }, Coupling),
            new LayerDef("squeeze", new[] { T("x") }, c => Fold(c, false)),
            new LayerDef("unsqueeze", new[] { T("x") }, c => Fold(c, true), prefix: "squeeze"),
            new LayerDef("gaussian_log_prob", new[] { T("z") }, c => c.Simple("gaussian_log_prob", c.X("z"), ShapeRules.GaussianLogProb(c.X("z").Shape)), prefix: "prior"),
        };

        /// <summary>A [N] log-determinant node over a per-channel parameter: positions·Σ log|p| (logAbs) or positions·Σ p.</summary>
        private static TValue LogDet(LayerCall c, string name, TValue p, Dim n, int positions, bool logAbs)
        {
            var node = c.Node("flow_logdet", name + ".logdet");
            node.Attrs = new FlowAttrs(Positions: positions, LogAbs: logAbs);
            node.Inputs.Add(p);
            var v = c.Graph.NewValue(name + ".logdet", Shape.Of(n));
            node.Outputs.Add(v);
            c.Graph.AddNode(node);
            return v;
        }

        private static CValue Pair(CValue y, TValue ld) => new TupleValue(new List<CValue> { y, new TensorValue(ld) });

        private static CValue ActNorm(LayerCall c)
        {
            var x = c.X("x"); bool inverse = c.Bool("inverse");
            var r = ShapeRules.FlowInput("actnorm", x.Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int ch = x.Shape[1].Value, hw = x.Shape[2].Value * x.Shape[3].Value;
            var node = c.Node("actnorm", name);
            node.Attrs = new FlowAttrs(Inverse: inverse);
            node.Inputs.Add(x);
            var s = c.Param(name, "weight", Shape.Of(ch), InitKind.Ones, 1, 1);
            node.Inputs.Add(s);
            node.Inputs.Add(c.Param(name, "bias", Shape.Of(ch), InitKind.Zeros, 1, 1));
            var y = c.Emit(node, r.Shape);
            return inverse ? y : Pair(y, LogDet(c, name, s, x.Shape[0], hw, true));
        }

        /// <summary>The fixed permutation P of an invconv: channel order reversed (row i of W is row π(i) = C−1−i of L·(U + diag s)).</summary>
        internal static int[] Permutation(int channels) => Enumerable.Range(0, channels).Select(i => channels - 1 - i).ToArray();

        private static CValue InvConv(LayerCall c)
        {
            var x = c.X("x"); bool inverse = c.Bool("inverse");
            var r = ShapeRules.FlowInput("invconv", x.Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int ch = x.Shape[1].Value, hw = x.Shape[2].Value * x.Shape[3].Value;
            var lower = c.Param(name, "lower", Shape.Of(ch, ch), InitKind.Zeros, ch, ch);
            var upper = c.Param(name, "upper", Shape.Of(ch, ch), InitKind.Zeros, ch, ch);
            var logs = c.Param(name, "log_s", Shape.Of(ch), InitKind.Zeros, 1, 1);
            var wn = c.Node("invconv_weight", name);
            wn.Attrs = new FlowAttrs(Inverse: inverse, Perm: Permutation(ch));
            wn.Inputs.Add(lower); wn.Inputs.Add(upper); wn.Inputs.Add(logs);
            var w = ((TensorValue)c.Emit(wn, Shape.Of(ch, ch, 1, 1))).Value; // a summary row with the parameters
            var conv = c.Node("conv2d", name);
            conv.Attrs = ConvAttrs.Square(1, 1, 0);
            conv.Inputs.Add(x); conv.Inputs.Add(w);
            var y = c.Emit(conv, r.Shape, (long)ch * ch * hw);
            return inverse ? y : Pair(y, LogDet(c, name, logs, x.Shape[0], hw, false));
        }

        private static TValue ConvNode(LayerCall c, string layer, TValue x, int outC, int k, InitKind init)
        {
            int cin = x.Shape[1].Value, p = k / 2;
            var conv = c.Node("conv2d", layer);
            conv.Attrs = ConvAttrs.Square(k, 1, p);
            conv.Inputs.Add(x);
            conv.Inputs.Add(c.Param(layer, "weight", Shape.Of(outC, cin, k, k), init, cin * k * k, outC * k * k));
            conv.Inputs.Add(c.Param(layer, "bias", Shape.Of(outC), InitKind.Zeros, cin * k * k, outC));
            var shape = Shape.Of(x.Shape[0], Dim.Of(outC), x.Shape[2], x.Shape[3]);
            return ((TensorValue)c.Emit(conv, shape, (long)outC * cin * k * k * x.Shape[2].Value * x.Shape[3].Value)).Value;
        }

        private static TValue Relu(LayerCall c, string layer, TValue x)
        {
            var n = c.Node("relu", layer);
            n.Inputs.Add(x);
            return ((TensorValue)c.Emit(n, x.Shape)).Value;
        }

        private static CValue Coupling(LayerCall c)
        {
            var x = c.X("x"); bool inverse = c.Bool("inverse"); int hidden = c.Int("hidden");
            var r = ShapeRules.Coupling(x.Shape, hidden);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int ch = x.Shape[1].Value, half = ch / 2;
            // x_a = x[:, :C/2] (a strided copy of the tensor family), the input of the coupling network
            var sl = c.Node("slice", name + ".xa");
            sl.Attrs = new SliceAttrs(1, 0, 1);
            sl.Inputs.Add(x);
            var xa = ((TensorValue)c.Emit(sl, x.Shape.With(1, Dim.Of(half)))).Value;
            // GLOW's NN: conv 3×3 → relu → conv 1×1 → relu → zero-initialized conv 3×3 to C channels (log s, t), named as nn.Sequential
            var h = ConvNode(c, name + ".net.0", xa, hidden, 3, InitKind.He);
            h = Relu(c, name + ".net.1", h);
            h = ConvNode(c, name + ".net.2", h, hidden, 1, InitKind.He);
            h = Relu(c, name + ".net.3", h);
            h = ConvNode(c, name + ".net.4", h, ch, 3, InitKind.Zeros);
            var node = c.Node("coupling", name);
            node.Attrs = new FlowAttrs(Inverse: inverse);
            node.Inputs.Add(x); node.Inputs.Add(h);
            var y = c.Emit(node, r.Shape);
            if (inverse) return y;
            var ln = c.Node("coupling_logdet", name + ".logdet");
            ln.Inputs.Add(h);
            var ld = c.Graph.NewValue(name + ".logdet", Shape.Of(x.Shape[0]));
            ln.Outputs.Add(ld);
            c.Graph.AddNode(ln);
            return Pair(y, ld);
        }

        /// <summary>squeeze (and unsqueeze, its inverse) as reshape views around one permute of the tensor family.</summary>
        private static CValue Fold(LayerCall c, bool unfold)
        {
            var x = c.X("x");
            var r = unfold ? ShapeRules.Unsqueeze(x.Shape) : ShapeRules.Squeeze(x.Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var n = x.Shape[0];
            int ch = x.Shape[1].Value, hh = x.Shape[2].Value, ww = x.Shape[3].Value;
            Shape six, permuted; int[] perm;
            if (!unfold)
            {   // [N, C, H/2, 2, W/2, 2] → (0, 1, 3, 5, 2, 4) → [N, C, 2, 2, H/2, W/2] → [N, 4C, H/2, W/2]
                six = Shape.Of(n, Dim.Of(ch), Dim.Of(hh / 2), Dim.Of(2), Dim.Of(ww / 2), Dim.Of(2));
                perm = new[] { 0, 1, 3, 5, 2, 4 };
                permuted = Shape.Of(n, Dim.Of(ch), Dim.Of(2), Dim.Of(2), Dim.Of(hh / 2), Dim.Of(ww / 2));
            }
            else
            {   // [N, C/4, 2, 2, H, W] → (0, 1, 4, 2, 5, 3) → [N, C/4, H, 2, W, 2] → [N, C/4, 2H, 2W]
                six = Shape.Of(n, Dim.Of(ch / 4), Dim.Of(2), Dim.Of(2), Dim.Of(hh), Dim.Of(ww));
                perm = new[] { 0, 1, 4, 2, 5, 3 };
                permuted = Shape.Of(n, Dim.Of(ch / 4), Dim.Of(hh), Dim.Of(2), Dim.Of(ww), Dim.Of(2));
            }
            var v6 = View(c, name + ".in6", x, six);
            var pn = c.Node("permute", name);
            pn.Attrs = new PermuteAttrs(perm);
            pn.Inputs.Add(v6);
            var p = ((TensorValue)c.Emit(pn, permuted)).Value;
            return new TensorValue(View(c, name + ".out", p, r.Shape));
        }

        private static TValue View(LayerCall c, string name, TValue x, Shape shape)
        {
            var node = c.Node("reshape", name);
            node.Inputs.Add(x);
            var v = c.Graph.NewValue(name, shape);
            v.AliasOf = x;
            node.Outputs.Add(v);
            c.Graph.AddNode(node);
            return v;
        }

        public override IEnumerable<OpDef> Ops => new[]
        {
            OpDef.Of<FlowAttrs>("actnorm", "x, weight, bias"),
            OpDef.Grad<FlowAttrs>("actnorm_bwd", "dy, x, weight, bias"),
            OpDef.Of<FlowAttrs>("flow_logdet", "p"),
            OpDef.Grad<FlowAttrs>("flow_logdet_bwd", "dy, p"),
            OpDef.Of<FlowAttrs>("invconv_weight", "lower, upper, log_s"),
            OpDef.Grad<FlowAttrs>("invconv_weight_bwd", "dy, lower, upper, log_s, w"),
            OpDef.Of<FlowAttrs>("coupling", "x, h"),
            OpDef.Grad<FlowAttrs>("coupling_bwd", "dy, x, h"),
            OpDef.Of("coupling_logdet", "h"),
            OpDef.Grad("coupling_logdet_bwd", "dy, h"),
            OpDef.Of("gaussian_log_prob", "z"),
            OpDef.Grad("gaussian_log_prob_bwd", "dy, z"),
        };

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "actnorm":
                {
                    var x = n.Inputs[0];
                    var b = c.Node("actnorm_bwd", n, dy!, x, n.Inputs[1], n.Inputs[2]);
                    bool needX = c.Needs(x);
                    b.Grads = new GradMask(Dx: needX);
                    var dx = needX ? c.Out(b, x) : null;
                    var ds = c.Out(b, n.Inputs[1]);
                    var db = c.Out(b, n.Inputs[2]);
                    if (dx != null) c.Accumulate(n, x, dx);
                    c.Accumulate(n, n.Inputs[1], ds);
                    c.Accumulate(n, n.Inputs[2], db);
                    return true;
                }
                case "flow_logdet":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], c.Out(c.Node("flow_logdet_bwd", n, dy!, n.Inputs[0]), n.Inputs[0]));
                    return true;
                case "invconv_weight":
                {
                    var b = c.Node("invconv_weight_bwd", n, dy!, n.Inputs[0], n.Inputs[1], n.Inputs[2], n.Outputs[0]);
                    var dl = c.Out(b, n.Inputs[0]);
                    var du = c.Out(b, n.Inputs[1]);
                    var dls = c.Out(b, n.Inputs[2]);
                    c.Out(b, n.Inputs[0], n.Layer + ".work"); // scratch G [C, C]
                    c.Accumulate(n, n.Inputs[0], dl);
                    c.Accumulate(n, n.Inputs[1], du);
                    c.Accumulate(n, n.Inputs[2], dls);
                    return true;
                }
                case "coupling":
                {
                    var x = n.Inputs[0]; var h = n.Inputs[1];
                    var b = c.Node("coupling_bwd", n, dy!, x, h);
                    bool needX = c.Needs(x), needH = c.Needs(h);
                    if (!needX && !needH) return true;
                    b.Grads = new GradMask(Dx: needX);
                    var dx = needX ? c.Out(b, x) : null;
                    var dh = c.Out(b, h);
                    if (dx != null) c.Accumulate(n, x, dx);
                    if (needH) c.Accumulate(n, h, dh);
                    return true;
                }
                case "coupling_logdet":
                    c.Unary(n, dy!, "coupling_logdet_bwd", n.Inputs[0]);
                    return true;
                case "gaussian_log_prob":
                    c.Unary(n, dy!, "gaussian_log_prob_bwd", n.Inputs[0]);
                    return true;
            }
            return false;
        }

        private static string Perm(OpNode n) => "[" + string.Join(", ", n.A<FlowAttrs>().Perm!) + "]";

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = c.Node;
            string inv = CallContext.Bool(n.Attrs is FlowAttrs { Inverse: true });
            switch (n.Op)
            {
                case "actnorm": return $"K.ActNormForward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.Out[0]}, inverse: {inv});";
                case "actnorm_bwd":
                    return n.Grads!.Dx ? $"K.ActNormBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.In[3]}, {c.Out[0]}, {c.Out[1]}, {c.Out[2]}, inverse: {inv});"
                                        : $"K.ActNormBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.In[3]}, null, {c.Out[0]}, {c.Out[1]}, inverse: {inv});";
                case "flow_logdet": return $"K.FlowLogDetForward({c.In[0]}, {c.Out[0]}, {n.A<FlowAttrs>().Positions}, logAbs: {CallContext.Bool(n.A<FlowAttrs>().LogAbs)});";
                case "flow_logdet_bwd": return $"K.FlowLogDetBackward({c.In[0]}, {c.In[1]}, {c.Out[0]}, {n.A<FlowAttrs>().Positions}, logAbs: {CallContext.Bool(n.A<FlowAttrs>().LogAbs)});";
                case "invconv_weight": return $"K.InvConvWeightForward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.Out[0]}, {Perm(n)}, inverse: {inv});";
                case "invconv_weight_bwd":
                    return $"K.InvConvWeightBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.In[3]}, {c.In[4]}, {c.Out[3]}, {c.Out[0]}, {c.Out[1]}, {c.Out[2]}, {Perm(n)}, inverse: {inv});";
                case "coupling": return $"K.CouplingForward({c.In[0]}, {c.In[1]}, {c.Out[0]}, inverse: {inv});";
                case "coupling_bwd":
                    return n.Grads!.Dx ? $"K.CouplingBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.Out[0]}, {c.Out[1]}, inverse: {inv});"
                                        : $"K.CouplingBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, null, {c.Out[0]}, inverse: {inv});";
                case "coupling_logdet": return $"K.CouplingLogDetForward({c.In[0]}, {c.Out[0]});";
                case "coupling_logdet_bwd": return $"K.CouplingLogDetBackward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "gaussian_log_prob": return $"K.GaussianLogProbForward({c.In[0]}, {c.Out[0]});";
                case "gaussian_log_prob_bwd": return $"K.GaussianLogProbBackward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            long E(TValue v) => v.Shape.Size.Factor;
            switch (n.Op)
            {
                case "actnorm": return 2 * E(n.Inputs[0]);
                case "actnorm_bwd": return 5 * E(n.Inputs[1]);
                case "flow_logdet": case "flow_logdet_bwd": return 0; // per batch, O(C)
                case "invconv_weight": case "invconv_weight_bwd": return 0; // per batch, O(C³)
                case "coupling": return 6 * E(n.Inputs[0]);
                case "coupling_bwd": return 10 * E(n.Inputs[0]);
                case "coupling_logdet": return 8 * E(n.Inputs[0]) / 2;
                case "coupling_logdet_bwd": return 6 * E(n.Inputs[0]);
                case "gaussian_log_prob": return 2 * E(n.Inputs[0]);
                case "gaussian_log_prob_bwd": return E(n.Inputs[0]);
            }
            return null;
        }
    }
}
