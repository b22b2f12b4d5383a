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
    /// Convolutions (docs/ops/convpool.md): conv (2-D, rectangular kernels, strides, dilation, groups, asymmetric padding),
    /// conv1d (lowered to conv2d on [N, C, 1, L] views) and conv_transpose (PyTorch's ConvTranspose2d, the adjoint of conv).
    /// Graph ops: conv2d (+ conv2d_bwd_data, conv2d_bwd_filter), conv_transpose2d (+ _bwd_data, _bwd_filter), and the
    /// reshape views of conv1d. Attributes: kh kw sh sw pt pb pl pr dh dw groups (+ oph opw for the transpose).
    /// </summary>
    internal sealed class Conv : OpFamily
    {
        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("conv", new[] { T("x"), I("out"), Is("kernel"), Is("stride", 1), Is("pad", 0), Is("dilation", 1), I("groups", 1), B("bias", true) }, Conv2d),
            new LayerDef("conv1d", new[] { T("x"), I("out"), Is("kernel"), Is("stride", 1), Is("pad", 0), Is("dilation", 1), I("groups", 1), B("bias", true) }, Conv1d, prefix: "conv"),
            new LayerDef("conv_transpose", new[] { T("x"), I("out"), Is("kernel"), Is("stride", 1), Is("pad", 0), Is("output_pad", 0), I("groups", 1), Is("dilation", 1), B("bias", true) },
                ConvTranspose, prefix: "deconv"),
            new LayerDef("conv_transpose1d", new[] { T("x"), I("out"), Is("kernel"), Is("stride", 1), Is("pad", 0), Is("output_pad", 0), I("groups", 1), Is("dilation", 1), B("bias", true) },
                ConvTranspose1d, prefix: "deconv"),
        };

        private static ShapeResult Conv2dShape(OpNode n)
        {
            var a = n.A<ConvAttrs>();
            return ShapeRules.Conv(n.Inputs[0].Shape, n.Inputs[1].Shape[0].Value, new[] { a.Kh, a.Kw }, new[] { a.Sh, a.Sw }, new[] { a.Pt, a.Pb, a.Pl, a.Pr }, new[] { a.Dh, a.Dw }, a.Groups);
        }

        /// <summary>A transposed convolution's weight is [in, out/groups, kh, kw].</summary>
        private static ShapeResult ConvTransposeShape(OpNode n)
        {
            var a = n.A<ConvAttrs>();
            return ShapeRules.ConvTranspose(n.Inputs[0].Shape, n.Inputs[1].Shape[1].Value * a.Groups, new[] { a.Kh, a.Kw }, new[] { a.Sh, a.Sw }, new[] { a.Pt, a.Pl },
                new[] { a.OutPadH, a.OutPadW }, new[] { a.Dh, a.Dw }, a.Groups);
        }

        /// <summary>pad as (top, bottom, left, right) from 1, 2 (h, w) or 4 ints; for 1-D, 1 or 2 (left, right) ints. Null after a diagnostic.</summary>
        private static int[]? Pads(LayerCall c, bool oneD)
        {
            var p = c.IntsAny("pad", 0);
            if (oneD)
            {
                if (p.Length == 1) return new[] { 0, 0, p[0], p[0] };
                if (p.Length == 2) return new[] { 0, 0, p[0], p[1] };
                c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("pad"), $"{c.Layer} argument 'pad' needs 1 int or 2 (left, right), got {p.Length}");
                return null;
            }
            if (p.Length == 1) return new[] { p[0], p[0], p[0], p[0] };
            if (p.Length == 2) return new[] { p[0], p[0], p[1], p[1] };
            if (p.Length == 4) return p;
            c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("pad"), $"{c.Layer} argument 'pad' needs 1 int, 2 (h, w) or 4 (top, bottom, left, right), got {p.Length}");
            return null;
        }

        private const OpTraits Conv2dTraits = OpTraits.TakesEpilogue | OpTraits.FoldsBatchNorm | OpTraits.ChoosesInit | OpTraits.Penalized | OpTraits.PacksWeight;

        public override IEnumerable<OpDef> Ops => new[]
        {
            new OpDef("conv2d", typeof(ConvAttrs), "x, weight, bias?", Conv2dTraits) { Shape = Conv2dShape },
            OpDef.Grad<ConvAttrs>("conv2d_bwd_data", "dy, weight"),
            OpDef.Grad<ConvAttrs>("conv2d_bwd_filter", "dy, x"),
            new OpDef("conv_transpose2d", typeof(ConvAttrs), "x, weight, bias?", OpTraits.Penalized) { Shape = ConvTransposeShape },
            OpDef.Grad<ConvAttrs>("conv_transpose2d_bwd_data", "dy, weight"),
            OpDef.Grad<ConvAttrs>("conv_transpose2d_bwd_filter", "dy, x"),
        };

        private static CValue Conv2d(LayerCall c)
        {
            var x = c.X("x");
            int outC = c.Int("out"), groups = c.Int("groups", 1);
            var k = c.Ints("kernel", 2); var s = c.Ints("stride", 2, 1); var d = c.Ints("dilation", 2, 1); var p = Pads(c, false);
            if (k == null || s == null || d == null || p == null) return c.Error();
            var r = ShapeRules.Conv(x.Shape, outC, k, s, p, d, groups);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int cg = x.Shape[1].Value / groups, rf = k[0] * k[1];
            var node = c.Node("conv2d", name);
            node.Attrs = ConvAttrs.Of(k, s, p, d, groups);
            node.Inputs.Add(x);
            node.Inputs.Add(c.Param(name, "weight", Shape.Of(outC, cg, k[0], k[1]), InitKind.He, cg * rf, outC * rf));
            if (c.Bool("bias", true)) node.Inputs.Add(c.Param(name, "bias", Shape.Of(outC), InitKind.Zeros, cg * rf, outC));
            long macs = (long)outC * r.Shape[2].Value * r.Shape[3].Value * cg * rf;
            return c.Emit(node, r.Shape, macs);
        }

        /// <summary>conv1d on [N, C, L]: a view [N, C, 1, L], conv2d with a 1×k kernel, a view back to [N, out, L'] (one summary row).</summary>
        private static CValue Conv1d(LayerCall c)
        {
            var x = c.X("x");
            int outC = c.Int("out"), groups = c.Int("groups", 1);
            var k1 = c.Ints("kernel", 1); var s1 = c.Ints("stride", 1, 1); var d1 = c.Ints("dilation", 1, 1); var p = Pads(c, true);
            if (k1 == null || s1 == null || d1 == null || p == null) return c.Error();
            int[] k = { 1, k1[0] }, s = { 1, s1[0] }, d = { 1, d1[0] };
            var r = ShapeRules.Conv(x.Shape, outC, k, s, p, d, groups, oneD: true);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int cg = x.Shape[1].Value / groups, ol = r.Shape[2].Value;
            var x4 = View(c, name + ".in2d", x, Shape.Of(x.Shape[0], x.Shape[1], Dim.Of(1), x.Shape[2]));
            var node = c.Node("conv2d", name);
            node.Attrs = ConvAttrs.Of(k, s, p, d, groups);
            node.Inputs.Add(x4);
            node.Inputs.Add(c.Param(name, "weight", Shape.Of(outC, cg, 1, k[1]), InitKind.He, cg * k[1], outC * k[1]));
            if (c.Bool("bias", true)) node.Inputs.Add(c.Param(name, "bias", Shape.Of(outC), InitKind.Zeros, cg * k[1], outC));
            return Finish1d(c, name, "conv1d", node, r.Shape, (long)outC * ol * cg * k[1]);
        }

        /// <summary>
        /// The end of a 1-D lowering: the 2-D <paramref name="node"/> writes [N, out, 1, L'], which is viewed back as
        /// <paramref name="shape"/> [N, out, L']; one summary row named <paramref name="op"/> (conv1d, conv_transpose1d).
        /// </summary>
        private static CValue Finish1d(LayerCall c, string name, string op, OpNode node, Shape shape, long macs)
        {
            var y4 = c.Graph.NewValue(name + ".out2d", Shape.Of(shape[0], shape[1], Dim.Of(1), shape[2]));
            node.Outputs.Add(y4);
            c.Graph.AddNode(node);
            var y = View(c, name, y4, shape);
            long parameters = node.Inputs.Where(i => i.Role == ValueRole.Parameter).Sum(i => i.Shape.KnownElements);
            c.Graph.Layers.Add(new LayerInfo(name, op, shape, parameters, macs, c.Span.Line));
            return new TensorValue(y);
        }

        /// <summary>A reshape node (no code: the fuser makes it an alias) giving <paramref name="x"/> another shape.</summary>
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

        /// <summary>
        /// PyTorch's ConvTranspose1d on [N, C, L]: like conv1d, a view [N, C, 1, L], the 2-D op with a 1×k kernel, and a view
        /// back to [N, out, L'] (one summary row). Weight [C, out/groups, 1, k] (PyTorch's [C, out/groups, k] with the same
        /// element order).
        /// </summary>
        private static CValue ConvTranspose1d(LayerCall c)
        {
            var x = c.X("x");
            if (!x.Shape.IsUnknown && x.Shape.Rank != 3)
            {
                c.Error(DiagnosticIds.RankMismatch, $"conv_transpose1d expects [N, C, L], got {x.Shape.ToDisplay()} ({x.Shape.Rank}-D)");
                return c.Error();
            }
            int outC = c.Int("out"), groups = c.Int("groups", 1);
            var k1 = c.Ints("kernel", 1); var s1 = c.Ints("stride", 1, 1); var p1 = c.Ints("pad", 1, 0); var op1 = c.Ints("output_pad", 1, 0); var d1 = c.Ints("dilation", 1, 1);
            if (k1 == null || s1 == null || p1 == null || op1 == null || d1 == null || x.Shape.IsUnknown) { c.Name(); return c.Error(); }
            int[] k = { 1, k1[0] }, s = { 1, s1[0] }, d = { 1, d1[0] }, op = { 0, op1[0] };
            var x4Shape = Shape.Of(x.Shape[0], x.Shape[1], Dim.Of(1), x.Shape[2]);
            var r = ShapeRules.ConvTranspose(x4Shape, outC, k, s, new[] { 0, p1[0] }, op, d, groups, "conv_transpose1d");
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int inC = x.Shape[1].Value, og = outC / groups, ol = r.Shape[3].Value;
            var x4 = View(c, name + ".in2d", x, x4Shape);
            var node = c.Node("conv_transpose2d", name);
            node.Attrs = ConvAttrs.Of(k, s, new[] { 0, 0, p1[0], p1[0] }, d, groups) with { OutPadW = op[1] };
            node.Inputs.Add(x4);
            node.Inputs.Add(c.Param(name, "weight", Shape.Of(inC, og, 1, k[1]), InitKind.Xavier, og * k[1], inC * k[1]));
            if (c.Bool("bias", true)) node.Inputs.Add(c.Param(name, "bias", Shape.Of(outC), InitKind.Zeros, og * k[1], outC));
            return Finish1d(c, name, "conv_transpose1d", node, Shape.Of(x.Shape[0], Dim.Of(outC), Dim.Of(ol)), (long)inC * og * k[1] * x.Shape[2].Value);
        }

        private static CValue ConvTranspose(LayerCall c)
        {
            var x = c.X("x");
            int outC = c.Int("out"), groups = c.Int("groups", 1);
            var k = c.Ints("kernel", 2); var s = c.Ints("stride", 2, 1); var p = c.Ints("pad", 2, 0); var op = c.Ints("output_pad", 2, 0); var d = c.Ints("dilation", 2, 1);
            if (k == null || s == null || p == null || op == null || d == null) return c.Error();
            var r = ShapeRules.ConvTranspose(x.Shape, outC, k, s, p, op, d, groups);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int inC = x.Shape[1].Value, og = outC / groups, rf = k[0] * k[1];
            var node = c.Node("conv_transpose2d", name);
            node.Attrs = ConvAttrs.Of(k, s, new[] { p[0], p[0], p[1], p[1] }, d, groups) with { OutPadH = op[0], OutPadW = op[1] };
            node.Inputs.Add(x);
            // PyTorch's layout [in, out/groups, kh, kw]; its fan-in is size(1)·kh·kw
            node.Inputs.Add(c.Param(name, "weight", Shape.Of(inC, og, k[0], k[1]), InitKind.Xavier, og * rf, inC * rf));
            if (c.Bool("bias", true)) node.Inputs.Add(c.Param(name, "bias", Shape.Of(outC), InitKind.Zeros, og * rf, outC));
            long macs = (long)inC * og * rf * x.Shape[2].Value * x.Shape[3].Value;
            return c.Emit(node, r.Shape, macs);
        }

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "conv2d":
                case "conv_transpose2d":
                {
                    var x = n.Inputs[0]; var w = n.Inputs[1];
                    var bias = n.Inputs.Count > 2 ? n.Inputs[2] : null;
                    if (c.Needs(x)) c.Accumulate(n, x, c.Out(c.Node(n.Op + "_bwd_data", n, dy!, w), x));
                    var bf = c.Node(n.Op + "_bwd_filter", n, dy!, x);
                    c.Accumulate(n, w, c.Out(bf, w));
                    if (bias != null) c.Accumulate(n, bias, c.Out(bf, bias));
                    return true;
                }
            }
            return false;
        }

        /// <summary>The ConvGeometry literal of a conv node: ConvGeometry.Of(s, p) in the square symmetric case (the slice's form).</summary>
        internal static string Geometry(OpNode n)
        {
            var a = n.A<ConvAttrs>();
            int sh = a.Sh, sw = a.Sw, pt = a.Pt, pb = a.Pb, pl = a.Pl, pr = a.Pr, dh = a.Dh, dw = a.Dw, groups = a.Groups;
            // a convolution's extra padding is bottom/right beyond top/left; a transposed one's is minus its output padding
            bool transposed = (n.Forward ?? n).Op == "conv_transpose2d";
            int exh = transposed ? -a.OutPadH : pb - pt, exw = transposed ? -a.OutPadW : pr - pl;
            if (sh == sw && pt == pl && exh == 0 && exw == 0 && dh == 1 && dw == 1 && groups == 1) return $"ConvGeometry.Of({sh}, {pt})";
            var g = $"new ConvGeometry({sh}, {sw}, {pt}, {pl}, {dh}, {dw}, {groups})";
            return exh == 0 && exw == 0 ? g : g + $" {{ ExtraPadH = {exh}, ExtraPadW = {exw} }}";
        }

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = k.Node;
            switch (n.Op)
            {
                case "conv2d": return $"K.Conv2dForward({c.Operand("x")}, {c.Operand("weight")}, {c.Operand("bias")}, {c.Out[0]}, {Geometry(n)}, {c.Epilogue}{c.Pack});";
                case "conv2d_bwd_data": return $"K.Conv2dBackwardData({c.In[0]}, {c.In[1]}, {c.Out[0]}, {Geometry(n)});";
                case "conv2d_bwd_filter": return $"K.Conv2dBackwardFilter({c.In[0]}, {c.In[1]}, {c.Out[0]}, {c.OutOrNull(1)}, {Geometry(n)});";
                case "conv_transpose2d": return $"K.ConvTranspose2dForward({c.Operand("x")}, {c.Operand("weight")}, {c.Operand("bias")}, {c.Out[0]}, {Geometry(n)});";
                case "conv_transpose2d_bwd_data": return $"K.ConvTranspose2dBackwardData({c.In[0]}, {c.In[1]}, {c.Out[0]}, {Geometry(n)});";
                case "conv_transpose2d_bwd_filter": return $"K.ConvTranspose2dBackwardFilter({c.In[0]}, {c.In[1]}, {c.Out[0]}, {c.OutOrNull(1)}, {Geometry(n)});";
            }
            return null;
        }

        /// <summary>2 FLOPs per MAC: every weight meets every output pixel (conv) or every input pixel (transpose); the same for both gradients.</summary>
        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            var fwd = n.Forward ?? n;
            if (fwd.Op != "conv2d" && fwd.Op != "conv_transpose2d") return null;
            if (n.Op == "reshape") return null;
            var w = fwd.Inputs[1].Shape;
            var pixels = fwd.Op == "conv2d" ? fwd.Outputs[0].Shape : fwd.Inputs[0].Shape;
            return 2L * w[0].Value * w[1].Value * w[2].Value * w[3].Value * pixels[2].Value * pixels[3].Value;
        }
    }
}
