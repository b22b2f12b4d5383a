using System.Collections.Generic;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Semantics.LayerCatalog;

namespace NetDsl.Compiler.Ops
{
    /// <summary>Element-wise activations beyond the slice's relu, sigmoid and tanh. Each fuses into loops and GEMM epilogues.</summary>
    internal sealed class Activations : OpFamily
    {
        public override IEnumerable<LayerDef> Layers => new[]
        {
            // leaky_relu(x, slope = 0.01): x if x > 0 else slope·x (PyTorch's negative_slope)
            new LayerDef("leaky_relu", new[] { T("x"), F("slope", 0.01) },
                c => c.Simple("leaky_relu", c.X("x"), ShapeResult.Ok(c.X("x").Shape), n => n.Attrs["slope"] = c.Float("slope", 0.01))),
        };

        public override IEnumerable<ElemDef> Elementwise => new[]
        {
            new ElemDef("leaky_relu", 1, a => a.Gpu ? $"{a[0]} > 0f ? {a[0]} : {a.K(0)} * {a[0]}"
                : a.Scalar ? $"{a[0]} > T.Zero ? {a[0]} : {a.K(0)} * {a[0]}"
                : $"Vector256.ConditionalSelect(Vector256.GreaterThan({a[0]}, Vector256<T>.Zero), {a[0]}, {a.K(0)} * {a[0]})",
                flops: 1, epilogue: true, "slope"),
            // dx = dy if x > 0 else slope·dy; reads (dy, y), or (dy, x) for a negative slope
            new ElemDef("leaky_relu_bwd", 2, a => a.Gpu ? $"{a[1]} > 0f ? {a[0]} : {a.K(0)} * {a[0]}"
                : a.Scalar ? $"{a[1]} > T.Zero ? {a[0]} : {a.K(0)} * {a[0]}"
                : $"Vector256.ConditionalSelect(Vector256.GreaterThan({a[1]}, Vector256<T>.Zero), {a[0]}, {a.K(0)} * {a[0]})",
                flops: 1, epilogue: false, "slope"),
        };

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                // with slope >= 0, y > 0 exactly when x > 0, so the gradient reads y and the activation can stay a GEMM epilogue
                case "leaky_relu": c.Unary(n, dy!, "leaky_relu_bwd", n.Float("slope") >= 0 ? n.Outputs[0] : n.Inputs[0]); return true;
            }
            return false;
        }
    }
}
