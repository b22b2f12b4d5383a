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

        public override IEnumerable<LayerDef> Layers => new[]
        {
            // leaky_relu(x, slope = 0.01): x if x > 0 else slope·x (PyTorch's negative_slope)
            new LayerDef("leaky_relu", new[] { T("x"), F("slope", 0.01) },
                c => c.Simple("leaky_relu", c.X("x"), ShapeResult.Ok(c.X("x").Shape), n => n.Attrs = new ElemAttrs(c.Float("slope", 0.01)))),
            Elementwise1("elu", "elu", new[] { F("alpha", 1.0) }, (c, n) => n.Attrs = new ElemAttrs(c.Float("alpha", 1.0))),
            Elementwise1("selu", "selu", new ArgSpec[0]),
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
            Elementwise1("silu", "silu", new ArgSpec[0]),
            Elementwise1("swish", "silu", new ArgSpec[0]),
            new LayerDef("softplus", new[] { T("x"), F("beta", 1.0), F("threshold", 20.0) }, c =>
            {
                double beta = c.Float("beta", 1.0);
                if (!(beta > 0)) { c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("beta"), $"softplus beta must be > 0, got {beta}"); return c.Error(); }
                return c.Simple("softplus", c.X("x"), ShapeResult.Ok(c.X("x").Shape), n => n.Attrs = new ElemAttrs(beta, c.Float("threshold", 20.0)));
            }),
            Elementwise1("hard_sigmoid", "hard_sigmoid", new ArgSpec[0]),
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
        };

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

        /// <summary>An element-wise op computed by a VMath helper (…Gpu for ILGPU), constants appended to the arguments.</summary>
        private static ElemDef Math(string op, int arity, string fn, int flops, bool epilogue, params string[] attrs) =>
            new ElemDef(op, arity, a =>
            {
                var args = string.Join(", ", a.A.Concat(Enumerable.Range(0, attrs.Length).Select(a.K)));
                return a.Gpu ? $"VMath.{fn}Gpu({args})" : $"VMath.{fn}({args})";
            }, flops, epilogue, attrs);

        /// <summary>cond(v) ? t : f in each flavor, with cond "gt0" (v &gt; 0).</summary>
        private static string SelectGt0(ElemCodeArgs a, string v, string t, string f) =>
            a.Gpu ? $"{v} > 0f ? {t} : {f}"
            : a.Scalar ? $"{v} > T.Zero ? {t} : {f}"
            : $"Vector256.ConditionalSelect(Vector256.GreaterThan({v}, Vector256<T>.Zero), {t}, {f})";

        public override IEnumerable<ElemDef> Elementwise => new[]
        {
            new ElemDef("leaky_relu", 1, a => SelectGt0(a, a[0], a[0], $"{a.K(0)} * {a[0]}"), flops: 1, epilogue: true, "slope"),
            // dx = dy if x > 0 else slope·dy; reads (dy, y), or (dy, x) for a negative slope
            new ElemDef("leaky_relu_bwd", 2, a => SelectGt0(a, a[1], a[0], $"{a.K(0)} * {a[0]}"), flops: 1, epilogue: false, "slope"),

            Math("elu", 1, "Elu", 4, true, "alpha"),
            // from y (α ≥ 0): dy if y > 0 else dy·(y + α), since y + α = α·eˣ there
            new ElemDef("elu_bwd", 2, a => SelectGt0(a, a[1], a[0], $"{a[0]} * ({a[1]} + {a.K(0)})"), flops: 2, epilogue: false, "alpha"),
            // from x (α < 0, where y > 0 no longer means x > 0): dy if x > 0 else dy·α·eˣ
            new ElemDef("elu_bwd_x", 2, a => SelectGt0(a, a[1], a[0],
                a.Gpu ? $"{a[0]} * {a.K(0)} * MathF.Exp({a[1]})" : a.Scalar ? $"{a[0]} * {a.K(0)} * T.Exp({a[1]})" : $"{a[0]} * {a.K(0)} * VMath.Exp(Vector256.Min({a[1]}, Vector256<T>.Zero))"),
                flops: 4, epilogue: false, "alpha"),

            new ElemDef("selu", 1, a => $"{a.Lit(SeluScale)} * " + (a.Gpu ? $"VMath.EluGpu({a[0]}, {a.Lit(SeluAlpha)})" : $"VMath.Elu({a[0]}, {a.Lit(SeluAlpha)})"), flops: 5, epilogue: true),
            // from y: λ·dy if y > 0 else dy·(y + λα)
            new ElemDef("selu_bwd", 2, a => SelectGt0(a, a[1], $"{a.Lit(SeluScale)} * {a[0]}", $"{a[0]} * ({a[1]} + {a.Lit(SeluScale * SeluAlpha)})"), flops: 2, epilogue: false),

            Math("gelu", 1, "Gelu", 40, true),
            Math("gelu_bwd", 2, "GeluGrad", 48, false),
            Math("gelu_tanh", 1, "GeluTanh", 12, true),
            Math("gelu_tanh_bwd", 2, "GeluTanhGrad", 18, false),
            Math("silu", 1, "Silu", 5, true),
            Math("silu_bwd", 2, "SiluGrad", 8, false),
            Math("softplus", 1, "Softplus", 8, true, "beta", "threshold"),
            Math("softplus_bwd", 2, "SoftplusGrad", 6, false, "beta", "threshold"),
            Math("hard_sigmoid", 1, "HardSigmoid", 3, true),
            Math("hard_sigmoid_bwd", 2, "HardSigmoidGrad", 2, false),
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
                case "selu": c.Unary(n, dy!, "selu_bwd", y); return true;
                case "hard_sigmoid": c.Unary(n, dy!, "hard_sigmoid_bwd", y); return true;
                case "gelu":
                case "gelu_tanh":
                case "silu":
                case "softplus":
                    c.Unary(n, dy!, n.Op + "_bwd", x); return true;
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
