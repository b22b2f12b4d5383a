using System.Globalization;

namespace NetDsl.Compiler.Shapes
{
    // Shape rules of Ops/Losses.cs: every loss is a scalar [1].
    public static partial class ShapeRules
    {
        /// <summary>A classification loss: scores [N, C] and int labels [N] → [1] (cross_entropy keeps its own rule, <see cref="CrossEntropy"/>).</summary>
        public static ShapeResult ClassLoss(string op, Shape scores, Shape labels)
        {
            if (scores.IsUnknown || labels.IsUnknown) return ShapeResult.Ok(Shape.Of(1));
            if (scores.Rank != 2) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} expects scores [N, classes], got {scores.ToDisplay()} ({scores.Rank}-D)");
            if (labels.Rank != 1 || labels[0] != scores[0])
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"{op} expects labels int[{scores[0]}] for scores {scores.ToDisplay()}, got {labels.ToDisplay()}");
            if (!scores[1].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs a known number of classes, got {scores.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(1));
        }

        /// <summary>Class weights: one non-negative weight per class.</summary>
        public static ShapeResult ClassWeights(string op, Shape scores, double[] weights)
        {
            if (scores.IsUnknown || scores.Rank != 2 || !scores[1].IsKnown) return ShapeResult.Ok(Shape.Of(1));
            if (weights.Length != scores[1].Value)
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"{op} weights has {weights.Length} entries but scores {scores.ToDisplay()} have {scores[1].Value} classes");
            foreach (var w in weights)
                if (!(w >= 0)) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} class weights must be >= 0, got {w.ToString(CultureInfo.InvariantCulture)}");
            return ShapeResult.Ok(Shape.Of(1));
        }

        /// <summary>A regression loss: prediction and target of the same shape → [1].</summary>
        public static ShapeResult Regression(string op, Shape y, Shape target)
        {
            if (y.IsUnknown || target.IsUnknown) return ShapeResult.Ok(Shape.Of(1));
            if (!y.Equals(target))
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"{op} expects a target shaped like the prediction {y.ToDisplay()}, got {target.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(1));
        }
    }
}
