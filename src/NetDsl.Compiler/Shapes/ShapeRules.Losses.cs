using System.Linq;
using System.Globalization;

namespace NetDsl.Compiler.Shapes
{
    // Shape rules of Ops/Losses.cs: every loss is a scalar [1].
    public static partial class ShapeRules
    {
        /// <summary>
        /// A classification loss: scores [N, C] and int labels [N] → [1]; or per position, scores [N, …, C] (classes on the
        /// last axis: a linear layer's output on a sequence [N, T, V], or a permuted [N, H, W, C] segmentation map) with labels
        /// int[N, …]; the mean runs over every position.
        /// </summary>
        public static ShapeResult ClassLoss(string op, Shape scores, Shape labels)
        {
            if (scores.IsUnknown || labels.IsUnknown) return ShapeResult.Ok(Shape.Of(1));
            if (scores.Rank < 2) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} expects scores [N, classes] or [N, …, classes], got {scores.ToDisplay()} ({scores.Rank}-D)");
            var lead = new Shape(scores.Dims.Take(scores.Rank - 1));
            if (!labels.Equals(lead))
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"{op} expects labels int{lead.ToDisplay()} for scores {scores.ToDisplay()} (classes on the last axis), got {labels.ToDisplay()}");
            if (!scores[scores.Rank - 1].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs a known number of classes on the last axis, got {scores.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(1));
        }

        /// <summary>Class weights: one non-negative weight per class.</summary>
        public static ShapeResult ClassWeights(string op, Shape scores, double[] weights)
        {
            if (scores.IsUnknown || scores.Rank < 2 || !scores[scores.Rank - 1].IsKnown) return ShapeResult.Ok(Shape.Of(1));
            if (weights.Length != scores[scores.Rank - 1].Value)
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"{op} weights has {weights.Length} entries but scores {scores.ToDisplay()} have {scores[scores.Rank - 1].Value} classes");
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
