using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Semantics.LayerCatalog;
using static NetDsl.Compiler.Ops.P;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// Activations beyond the slice's relu, sigmoid and tanh (docs/ops/activations.md). The element-wise ones fuse into
    /// loops and GEMM epilogues; their backward reads the output y where y determines the gradient (leaky_relu with a
    /// slope ≥ 0, elu with α ≥ 0, selu, hard_sigmoid), so that conv+activation stays one kernel in training, and the input x
    /// otherwise (gelu, silu, softplus), which keeps the conv output alive (the fuser then leaves the activation as its own
    /// loop). prelu (a learned slope, whose gradient is a reduction), softmax, log_softmax and maxout are library kernels.
    /// </summary>
    internal sealed class Activations : OpFamily
    {
        private const double SeluAlpha = 1.6732632423543772848170429916717;
        private const double SeluScale = 1.0507009873554804934193349852946;

        private static LayerDef Elementwise1(string layer, string op, ArgSpec[] extra, System.Action<LayerCall, OpNode>? attrs = null) =>
            new LayerDef(layer, new[] { T("x") }.Concat(extra).ToArray(),
                c => c.Simple(op, c.X("x"), ShapeResult.Ok(c.X("x").Shape), n => attrs?.Invoke(c, n)));

        public override IEnumerable<LayerDef> Layers => Plain.Select(p => Elementwise1(p.Layer, p.Op, new ArgSpec[0])).Concat(new[]
        {
            // leaky_relu(x, slope = 0.01): x if x > 0 else slope·x (PyTorch's negative_slope)
            new LayerDef("leaky_relu", new[] { T("x"), F("slope", 0.01) },
                c => c.Simple("leaky_relu", c.X("x"), ShapeResult.Ok(c.X("x").Shape), n => n.Attrs = new ElemAttrs(c.Float("slope", 0.01)))),
            Elementwise1("elu", "elu", new[] { F("alpha", 1.0) }, (c, n) => n.Attrs = new ElemAttrs(c.Float("alpha", 1.0))),
            new LayerDef("gelu", new[] { T("x"), S("approximate", "none") }, c =>
            {
                var approx = c.Str("approximate", "none");
                if (approx != "none" && approx != "tanh")
                {
                    c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("approximate"), $"gelu approximate must be \"none\" or \"tanh\" (PyTorch's), got \"{approx}\"");
                    return c.Error();
                }
                return c.Simple(approx == "tanh" ? "gelu_tanh" : "gelu", c.X("x"), ShapeResult.Ok(c.X("x").Shape));
            }),
            new LayerDef("softplus", new[] { T("x"), F("beta", 1.0), F("threshold", 20.0) }, c =>
            {
                double beta = c.Float("beta", 1.0);
                if (!(beta > 0)) { c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("beta"), $"softplus beta must be > 0, got {beta}"); return c.Error(); }
                return c.Simple("softplus", c.X("x"), ShapeResult.Ok(c.X("x").Shape), n => n.Attrs = new ElemAttrs(beta, c.Float("threshold", 20.0)));
            }),
            new LayerDef("prelu", new[] { T("x"), B("channels", false) }, c =>
            {
                var x = c.X("x"); bool channels = c.Bool("channels", false);
                var r = ShapeRules.PRelu(x.Shape, channels);
                if (c.Fail(r)) return c.Error();
                var name = c.Name();
                if (r.Shape.IsUnknown) return c.Error();
                var node = c.Node("prelu", name);
                node.Attrs = new PReluAttrs(channels);
                node.Inputs.Add(x);
                node.Inputs.Add(c.Param(name, "weight", Shape.Of(channels ? x.Shape[1].Value : 1), InitKind.PReluSlope, 1, 1));
                return c.Emit(node, r.Shape);
            }),
            SoftmaxLayer("softmax"),
            SoftmaxLayer("log_softmax"),
            new LayerDef("maxout", new[] { T("x"), I("pieces") }, c =>
            {
                var x = c.X("x"); int pieces = c.Int("pieces", 0);
                var r = ShapeRules.Maxout(x.Shape, pieces);
                if (c.Fail(r)) return c.Error();
                var name = c.Name();
                if (r.Shape.IsUnknown) return c.Error();
                var node = c.Node("maxout", name);
                node.Attrs = new MaxoutAttrs(pieces);
                node.Inputs.Add(x);
                var y = c.Emit(node, r.Shape);
                node.Outputs.Add(c.Output(node, name + ".argmax", r.Shape, ElemType.Int));
                return y;
            }),
        });

        private static LayerDef SoftmaxLayer(string op) => new LayerDef(op, new[] { T("x"), I("axis", -1) }, c =>
        {
            var x = c.X("x"); int axis = c.Int("axis", -1);
            var r = ShapeRules.Softmax(op, x.Shape, axis);
            return c.Simple(op, x, r, n => n.Attrs = new AxisAttrs(ShapeRules.NormalizeAxis(axis, x.Shape.Rank)));
        });

        public override IEnumerable<OpDef> Ops => new[]
        {
            OpDef.Of<PReluAttrs>("prelu", "x, weight"),
            OpDef.Grad<PReluAttrs>("prelu_bwd", "dy, x, weight"),
            new OpDef("softmax", typeof(AxisAttrs), "x", OpTraits.None) { Shape = n => ShapeRules.Softmax("softmax", n.Inputs[0].Shape, n.A<AxisAttrs>().Axis) },
            new OpDef("log_softmax", typeof(AxisAttrs), "x", OpTraits.None) { Shape = n => ShapeRules.Softmax("log_softmax", n.Inputs[0].Shape, n.A<AxisAttrs>().Axis) },
            OpDef.Grad<AxisAttrs>("softmax_bwd", "dy, y"),
            OpDef.Grad<AxisAttrs>("log_softmax_bwd", "dy, y"),
            OpDef.Of<MaxoutAttrs>("maxout", "x"),
            OpDef.Grad<MaxoutAttrs>("maxout_bwd", "dy, argmax"),
        };

        // ---- the element-wise activations: one expression each (Px.cs); code, FLOPs and derived gradients follow from it.
        private static ElemDef Fwd(string op, Px e, params string[] attrs) => new ElemDef(op, e, epilogue: true, attrs);
        private static readonly Px Dy = A(0), V = A(1);   // a gradient op's arguments: dy and x (or y)

        private static readonly ElemDef LeakyRelu = Fwd("leaky_relu", Select(Gt(X, 0), X, K(0) * X), "slope");
        private static readonly ElemDef Elu = Fwd("elu", Select(Gt(X, 0), X, K(0) * (Exp(Min(X, 0)) - 1)), "alpha");
        private static readonly ElemDef Selu = Fwd("selu", SeluScale * Select(Gt(X, 0), X, SeluAlpha * (Exp(Min(X, 0)) - 1)));
        private static readonly ElemDef Gelu = Fwd("gelu", X * Ncdf(X));
        private static readonly ElemDef GeluTanh = Fwd("gelu_tanh", 0.5 * X * (1 + Tanh(0.7978845608028654 * (X + 0.044715 * X * X * X))));
        private static readonly ElemDef Silu = Fwd("silu", X * Sigmoid(X));
        private static readonly Px SoftplusZ = K(0) * X;
        private static readonly ElemDef Softplus = Fwd("softplus", Select(Gt(SoftplusZ, K(1)), X, (Max(SoftplusZ, 0) + Log1p(Exp(-Abs(SoftplusZ)))) / K(0)), "beta", "threshold");
        private static readonly ElemDef HardSigmoid = Fwd("hard_sigmoid", P.Relu6(X + 3) / 6);
        private static readonly ElemDef Hardswish = Fwd("hardswish", X * P.Relu6(X + 3) / 6);
        private static readonly ElemDef Relu6 = Fwd("relu6", P.Relu6(X));
        private static readonly Px SoftplusZx = K(0) * V;

        /// <summary>Activations whose layer is just <c>x |&gt; name</c>: (layer name, op).</summary>
        private static readonly (string Layer, string Op)[] Plain =
        {
            ("selu", "selu"), ("silu", "silu"), ("swish", "silu"), ("hard_sigmoid", "hard_sigmoid"), ("hardsigmoid", "hard_sigmoid"),
            ("hardswish", "hardswish"), ("relu6", "relu6"),
        };

        public override IEnumerable<ElemDef> Elementwise => Defs;

        private static readonly ElemDef[] Defs =
        {
            LeakyRelu,
            // dx = dy if x > 0 else slope·dy; reads (dy, y), or (dy, x) for a negative slope
            ElemDef.Gradient("leaky_relu_bwd", LeakyRelu, Select(Gt(V, 0), Dy, K(0) * Dy), readsOutput: true),
            Elu,
            // from y (α ≥ 0): dy if y > 0 else dy·(y + α), since y + α = α·eˣ there
            ElemDef.Gradient("elu_bwd", Elu, Select(Gt(V, 0), Dy, Dy * (V + K(0))), readsOutput: true),
            // from x (α < 0, where y > 0 no longer means x > 0): dy if x > 0 else dy·α·eˣ
            ElemDef.Gradient("elu_bwd_x", Elu, Select(Gt(V, 0), Dy, Dy * K(0) * Exp(Min(V, 0)))),
            Selu,
            // from y: λ·dy if y > 0 else dy·(y + λα)
            ElemDef.Gradient("selu_bwd", Selu, Select(Gt(V, 0), SeluScale * Dy, Dy * (V + SeluScale * SeluAlpha)), readsOutput: true),
            Gelu, ElemDef.Gradient("gelu_bwd", Gelu),
            GeluTanh, ElemDef.Gradient("gelu_tanh_bwd", GeluTanh),
            Silu, ElemDef.Gradient("silu_bwd", Silu),
            Softplus,
            // dy where βx > threshold, else dy·σ(βx)
            ElemDef.Gradient("softplus_bwd", Softplus, Select(Gt(SoftplusZx, K(1)), Dy, Dy * Sigmoid(SoftplusZx))),
            HardSigmoid,
            // from y: dy/6 where 0 < y < 1 (−3 < x < 3), else 0 (PyTorch: 0 at ±3)
            ElemDef.Gradient("hard_sigmoid_bwd", HardSigmoid, Select(Gt(V, 0) & Lt(V, 1), Dy * (1.0 / 6), 0), readsOutput: true),
            Hardswish,
            // from x, PyTorch 1.13's hardswish_backward: 0 below −3, dy·(x/3 + ½) on [−3, 3) (−dy/2 at −3), dy from 3 on
            ElemDef.Gradient("hardswish_bwd", Hardswish, Select(Lt(V, -3), 0, Select(Lt(V, 3), Dy * (V / 3 + 0.5), Dy))),
            Relu6,
            // from y: dy where 0 < y < 6 (y = 0 or 6 exactly where x was clipped; PyTorch's gradient at the kinks is 0)
            ElemDef.Gradient("relu6_bwd", Relu6, Select(Gt(V, 0) & Lt(V, 6), Dy, 0), readsOutput: true),
        };

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            var x = n.Inputs[0]; var y = n.Outputs[0];
            switch (n.Op)
            {
                // with slope >= 0, y > 0 exactly when x > 0, so the gradient reads y and the activation can stay a GEMM epilogue
                case "leaky_relu": c.Unary(n, dy!, "leaky_relu_bwd", n.A<ElemAttrs>()[0] >= 0 ? y : x); return true;
                case "elu":
                    if (n.A<ElemAttrs>()[0] >= 0) c.Unary(n, dy!, "elu_bwd", y); else c.Unary(n, dy!, "elu_bwd_x", x);
                    return true;
                case "softmax":
                case "log_softmax":
                    c.Unary(n, dy!, n.Op + "_bwd", y); return true;
                case "maxout":
                    c.Unary(n, dy!, "maxout_bwd", n.Outputs[1]); return true;
                case "prelu":
                {
                    var w = n.Inputs[1];
                    var b = c.Node("prelu_bwd", n, dy!, x, w);
                    bool needX = c.Needs(x);
                    b.Grads = new GradMask(Dx: needX);
                    var dx = needX ? c.Out(b, x) : null;
                    var dw = c.Out(b, w);
                    if (dx != null) c.Accumulate(n, x, dx);
                    c.Accumulate(n, w, dw);
                    return true;
                }
            }
            // the other element-wise activations: op_bwd(dy, y or x), as its definition reads
            if (OpRegistry.Elementwise.TryGetValue(n.Op + "_bwd", out var g) && g.GradientOf == n.Op && Defs.Contains(g))
            {
                c.Unary(n, dy!, g.Op, g.ReadsOutput ? y : x);
                return true;
            }
            return false;
        }

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = c.Node;
            switch (n.Op)
            {
                case "prelu": return $"K.PReluForward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "prelu_bwd":
                    return n.Grads!.Dx ? $"K.PReluBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.Out[0]}, {c.Out[1]});"
                                        : $"K.PReluBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, null, {c.Out[0]});";
                case "softmax": return $"K.SoftmaxForward({c.In[0]}, {c.Out[0]}, {n.A<AxisAttrs>().Axis}, log: false);";
                case "log_softmax": return $"K.SoftmaxForward({c.In[0]}, {c.Out[0]}, {n.A<AxisAttrs>().Axis}, log: true);";
                case "softmax_bwd": return $"K.SoftmaxBackward({c.In[0]}, {c.In[1]}, {c.Out[0]}, {n.A<AxisAttrs>().Axis}, log: false);";
                case "log_softmax_bwd": return $"K.SoftmaxBackward({c.In[0]}, {c.In[1]}, {c.Out[0]}, {n.A<AxisAttrs>().Axis}, log: true);";
                case "maxout": return $"K.MaxoutForward({c.In[0]}, {c.Out[0]}, {c.Out[1]}, {n.A<MaxoutAttrs>().Pieces});";
                case "maxout_bwd": return $"K.MaxoutBackward({c.In[0]}, {c.In[1]}, {c.Out[0]}, {n.A<MaxoutAttrs>().Pieces});";
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            long Elements(TValue v) => v.Shape.Size.Factor;
            switch (n.Op)
            {
                case "prelu": return Elements(n.Inputs[0]) * 2;
                case "prelu_bwd": return Elements(n.Inputs[0]) * 4;
                case "softmax": case "log_softmax": return Elements(n.Inputs[0]) * 6;
                case "softmax_bwd": case "log_softmax_bwd": return Elements(n.Inputs[0]) * 4;
                case "maxout": return Elements(n.Inputs[0]);
                case "maxout_bwd": return Elements(n.Outputs[0]);
            }
            return null;
        }
    }
}
