using System.Collections.Generic;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Semantics.LayerCatalog;

namespace NetDsl.Compiler.Ops
{
    /// <summary>relu6(x) = min(max(x, 0), 6) (MobileNet v2); fuses into loops and GEMM epilogues, its gradient reads y.</summary>
    internal sealed class Relu6 : OpFamily
    {
        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("relu6", new[] { T("x") }, c => c.Simple("relu6", c.X("x"), ShapeResult.Ok(c.X("x").Shape))),
        };

        public override IEnumerable<ElemDef> Elementwise => new[]
        {
            new ElemDef("relu6", 1, a => a.Gpu ? $"{a[0]} < 0f ? 0f : ({a[0]} > 6f ? 6f : {a[0]})"
                : a.Scalar ? $"T.Min(T.Max({a[0]}, T.Zero), {a.Lit(6)})"
                : $"Vector256.Min(Vector256.Max({a[0]}, Vector256<T>.Zero), {a.Lit(6)})", flops: 2, epilogue: true),
            // dx = dy where 0 < y < 6 (y = 0 or 6 exactly where x was clipped; PyTorch's gradient at the kinks is 0)
            new ElemDef("relu6_bwd", 2, a => a.Gpu ? $"({a[1]} > 0f && {a[1]} < 6f) ? {a[0]} : 0f"
                : a.Scalar ? $"({a[1]} > T.Zero && {a[1]} < {a.Lit(6)}) ? {a[0]} : T.Zero"
                : $"Vector256.ConditionalSelect(Vector256.GreaterThan({a[1]}, Vector256<T>.Zero) & Vector256.LessThan({a[1]}, {a.Lit(6)}), {a[0]}, Vector256<T>.Zero)", flops: 2),
        };

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            if (n.Op != "relu6") return false;
            c.Unary(n, dy!, "relu6_bwd", n.Outputs[0]);
            return true;
        }
    }
}
