using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    // Shape rules of Ops/Generative.cs (docs/ops/generative.md).
    public static partial class ShapeRules
    {
        /// <summary>sample_normal(mu, logvar): equal shapes → that shape.</summary>
        public static ShapeResult SampleNormal(Shape mu, Shape logvar)
        {
            if (mu.IsUnknown || logvar.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (!mu.Equals(logvar))
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"sample_normal expects logvar shaped like mu {mu.ToDisplay()}, got {logvar.ToDisplay()}");
            return ShapeResult.Ok(mu);
        }

        /// <summary>normal_noise(like, dim) / uniform_noise(like, dim): [N, dim] with N = dim 0 of like; dim = 0 → like's shape.</summary>
        public static ShapeResult Noise(string op, Shape like, int dim)
        {
            if (like.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (dim < 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} dim must be > 0 (or 0 for the shape of the tensor), got {dim}");
            if (dim == 0) return ShapeResult.Ok(like);
            if (like.Rank < 1) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} takes the batch size N from dim 0 of a tensor [N, ...], got {like.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(like[0], Dim.Of(dim)));
        }

        /// <summary>A pair loss over equal shapes (bce, bce_with_logits, kl_normal, distill, nt_xent) → [1]; <paramref name="rank2"/> demands [N, D].</summary>
        public static ShapeResult PairLoss(string op, string aName, Shape a, string bName, Shape b, bool rank2)
        {
            if (a.IsUnknown || b.IsUnknown) return ShapeResult.Ok(Shape.Of(1));
            if (rank2 && a.Rank != 2) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} expects {aName} [N, D], got {a.ToDisplay()} ({a.Rank}-D)");
            if (!a.Equals(b)) return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"{op} expects {bName} shaped like {aName} {a.ToDisplay()}, got {b.ToDisplay()}");
            if (rank2 && !a[1].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs a known feature size, got {a.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(1));
        }

        /// <summary>triplet_margin(anchor, positive, negative): three equal [N, D] → [1].</summary>
        public static ShapeResult Triplet(Shape a, Shape p, Shape n)
        {
            var r = PairLoss("triplet_margin", "anchor", a, "positive", p, rank2: true);
            if (r.IsError) return r;
            return PairLoss("triplet_margin", "anchor", a, "negative", n, rank2: true);
        }
    }
}
