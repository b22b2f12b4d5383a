using System.Collections.Generic;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Semantics.LayerCatalog;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// Pooling and resampling (docs/ops/convpool.md): maxpool and avgpool (rectangular windows, ceil mode, count_pad),
    /// globalavgpool, adaptive_avgpool, max_unpool (reuses a max pool's argmax) and upsample (nearest, bilinear).
    /// Graph ops: maxpool2d (outputs y, argmax), avgpool2d, globalavgpool, adaptive_avgpool2d, max_unpool2d (inputs x, argmax),
    /// upsample_nearest2d, upsample_bilinear2d, each with an _bwd op.
    /// </summary>
    internal sealed class Pooling : OpFamily
    {
        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("maxpool", new[] { T("x"), Is("kernel"), IsOpt("stride", "kernel"), Is("pad", 0), B("ceil", false) }, c => Pool(c, "maxpool")),
            new LayerDef("avgpool", new[] { T("x"), Is("kernel"), IsOpt("stride", "kernel"), Is("pad", 0), B("ceil", false), B("count_pad", true) }, c => Pool(c, "avgpool")),
            new LayerDef("globalavgpool", new[] { T("x") }, c => c.Simple("globalavgpool", c.X("x"), ShapeRules.GlobalAvgPool(c.X("x").Shape))),
            new LayerDef("adaptive_avgpool", new[] { T("x"), Is("out") }, c =>
            {
                var o = c.Ints("out", 2);
                return o == null ? c.Error() : c.Simple("adaptive_avgpool2d", c.X("x"), ShapeRules.AdaptiveAvgPool(c.X("x").Shape, o));
            }),
            new LayerDef("max_unpool", new[] { T("x"), T("pooled") }, MaxUnpool),
            new LayerDef("upsample", new[] { T("x"), Is("scale", 2), S("mode", "nearest"), B("align_corners", false) }, c =>
            {
                var s = c.Ints("scale", 2, 2);
                if (s == null) return c.Error();
                string mode = c.Str("mode", "nearest");
                bool ac = c.Bool("align_corners", false);
                return c.Simple(mode == "bilinear" ? "upsample_bilinear2d" : "upsample_nearest2d", c.X("x"), ShapeRules.Upsample(c.X("x").Shape, s, mode, ac),
                    n => n.Attrs = new UpsampleAttrs(ac));
            }),
        };

        private static CValue Pool(LayerCall c, string layer)
        {
            var x = c.X("x");
            var k = c.Ints("kernel", 2);
            var s = c.Has("stride") ? c.Ints("stride", 2) : k;
            var p = c.Ints("pad", 2, 0);
            if (k == null || s == null || p == null) return c.Error();
            bool ceil = c.Bool("ceil", false);
            var r = ShapeRules.Pool(layer, x.Shape, k, s, p, ceil);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node(layer + "2d", name);
            node.Attrs = new PoolAttrs(k[0], k[1], s[0], s[1], p[0], p[1], ceil, layer != "avgpool" || c.Bool("count_pad", true));
            node.Inputs.Add(x);
            var result = c.Emit(node, r.Shape);
            if (layer == "maxpool") node.Outputs.Add(c.Output(node, name + ".argmax", r.Shape, ElemType.Int));
            return result;
        }

        private static CValue MaxUnpool(LayerCall c)
        {
            var x = c.X("x"); var pooled = c.X("pooled");
            var pool = pooled.Producer;
            if (pool == null || pool.Op != "maxpool2d" || pool.Outputs[0] != pooled)
            {
                string what = pool == null ? (pooled.Role == ValueRole.Input ? "a network input" : "a value no op produced") : $"the output of {pool.Op} {pool.Layer}";
                c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("pooled"), $"max_unpool needs 'pooled' to be the output of a maxpool (it scatters to that pool's argmax positions), got {what} {pooled.Shape.ToDisplay()}");
                return c.Error();
            }
            var r = ShapeRules.MaxUnpool(x.Shape, pooled.Shape, pool.Inputs[0].Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("max_unpool2d", name);
            node.Inputs.Add(x);
            node.Inputs.Add(pool.Outputs[1]);
            return c.Emit(node, r.Shape);
        }

        public override IEnumerable<OpDef> Ops => new[]
        {
            new OpDef("maxpool2d", typeof(PoolAttrs), "x", OpTraits.MaxOverWindows | OpTraits.InferenceDropsLastOutput) { Shape = n => PoolShape(n, "maxpool") },
            OpDef.Grad<PoolAttrs>("maxpool2d_bwd", "dy, argmax"),
            new OpDef("avgpool2d", typeof(PoolAttrs), "x", OpTraits.None) { Shape = n => PoolShape(n, "avgpool") },
            OpDef.Grad<PoolAttrs>("avgpool2d_bwd", "dy"),
            new OpDef("globalavgpool", typeof(NoAttrs), "x", OpTraits.None) { Shape = n => ShapeRules.GlobalAvgPool(n.Inputs[0].Shape) },
            OpDef.Grad("globalavgpool_bwd", "dy"),
            OpDef.Of("adaptive_avgpool2d", "x"),
            OpDef.Grad("adaptive_avgpool2d_bwd", "dy"),
            OpDef.Of("max_unpool2d", "x, argmax"),
            OpDef.Grad("max_unpool2d_bwd", "dy, argmax"),
            OpDef.Of<UpsampleAttrs>("upsample_nearest2d", "x"),
            OpDef.Grad<UpsampleAttrs>("upsample_nearest2d_bwd", "dy"),
            OpDef.Of<UpsampleAttrs>("upsample_bilinear2d", "x"),
            OpDef.Grad<UpsampleAttrs>("upsample_bilinear2d_bwd", "dy"),
        };

        private static ShapeResult PoolShape(OpNode n, string layer)
        {
            var a = n.A<PoolAttrs>();
            return ShapeRules.Pool(layer, n.Inputs[0].Shape, new[] { a.Kh, a.Kw }, new[] { a.Sh, a.Sw }, new[] { a.Ph, a.Pw }, a.Ceil);
        }

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "maxpool2d": c.Unary(n, dy!, "maxpool2d_bwd", n.Outputs[1]); return true;
                case "max_unpool2d": c.Unary(n, dy!, "max_unpool2d_bwd", n.Inputs[1]); return true;
                case "avgpool2d":
                case "globalavgpool":
                case "adaptive_avgpool2d":
                case "upsample_nearest2d":
                case "upsample_bilinear2d":
                    c.Unary(n, dy!, n.Op + "_bwd"); return true;
            }
            return false;
        }

        /// <summary>The PoolGeometry literal: PoolGeometry.Of(k, s, p) in the slice's square floor-mode case.</summary>
        internal static string Geometry(OpNode n)
        {
            var a = n.A<PoolAttrs>();
            int kh = a.Kh, kw = a.Kw, sh = a.Sh, sw = a.Sw, ph = a.Ph, pw = a.Pw;
            bool ceil = a.Ceil, exclude = !a.CountPad;
            if (kh == kw && sh == sw && ph == pw && !ceil && !exclude) return $"PoolGeometry.Of({kh}, {sh}, {ph})";
            var init = new List<string>();
            if (ceil) init.Add("Ceil = true");
            if (exclude) init.Add("ExcludePad = true");
            return $"new PoolGeometry({kh}, {kw}, {sh}, {sw}, {ph}, {pw})" + (init.Count > 0 ? " { " + string.Join(", ", init) + " }" : "");
        }

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = k.Node;
            string ac = CallContext.Bool(n.Attrs is UpsampleAttrs { AlignCorners: true });
            switch (n.Op)
            {
                case "maxpool2d": return c.Out.Count == 1 ? $"K.MaxPool2dInference({c.In[0]}, {c.Out[0]}, {Geometry(n)});" : $"K.MaxPool2dForward({c.In[0]}, {c.Out[0]}, {c.Out[1]}, {Geometry(n)});";
                case "maxpool2d_bwd": return $"K.MaxPool2dBackward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "avgpool2d": return $"K.AvgPool2dForward({c.In[0]}, {c.Out[0]}, {Geometry(n)});";
                case "avgpool2d_bwd": return $"K.AvgPool2dBackward({c.In[0]}, {c.Out[0]}, {Geometry(n)});";
                case "globalavgpool": return $"K.GlobalAvgPoolForward({c.In[0]}, {c.Out[0]});";
                case "globalavgpool_bwd": return $"K.GlobalAvgPoolBackward({c.In[0]}, {c.Out[0]});";
                case "adaptive_avgpool2d": return $"K.AdaptiveAvgPool2dForward({c.In[0]}, {c.Out[0]});";
                case "adaptive_avgpool2d_bwd": return $"K.AdaptiveAvgPool2dBackward({c.In[0]}, {c.Out[0]});";
                case "max_unpool2d": return $"K.MaxUnpool2dForward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "max_unpool2d_bwd": return $"K.MaxUnpool2dBackward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "upsample_nearest2d": return $"K.UpsampleNearest2dForward({c.In[0]}, {c.Out[0]});";
                case "upsample_nearest2d_bwd": return $"K.UpsampleNearest2dBackward({c.In[0]}, {c.Out[0]});";
                case "upsample_bilinear2d": return $"K.UpsampleBilinear2dForward({c.In[0]}, {c.Out[0]}, {ac});";
                case "upsample_bilinear2d_bwd": return $"K.UpsampleBilinear2dBackward({c.In[0]}, {c.Out[0]}, {ac});";
            }
            return null;
        }

        /// <summary>A window's worth of compares or adds per output for the pools (the slice's count); the rest use the per-element estimate.</summary>
        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            if (n.Op == "maxpool2d" || n.Op == "avgpool2d") return n.Outputs[0].Shape.Size.Factor * n.A<PoolAttrs>().Kh * n.A<PoolAttrs>().Kw;
            return null;
        }
    }
}
