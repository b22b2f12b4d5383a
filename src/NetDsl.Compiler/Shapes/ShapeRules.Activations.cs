namespace NetDsl.Compiler.Shapes
{
    // Shape rules of Ops/Activations.cs and Ops/Regularization.cs (pure functions; errors name both sides).
    public static partial class ShapeRules
    {
        /// <summary>An axis in [−rank, rank) as a non-negative index, or −1 if out of range.</summary>
        public static int NormalizeAxis(int axis, int rank) => axis >= -rank && axis < rank ? (axis < 0 ? axis + rank : axis) : -1;

        /// <summary>softmax/log_softmax: same shape; the axis must exist and be a known size.</summary>
        public static ShapeResult Softmax(string op, Shape x, int axis)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            int a = NormalizeAxis(axis, x.Rank);
            if (a < 0) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} axis {axis} is out of range for {x.ToDisplay()} ({x.Rank}-D; axes -{x.Rank}..{x.Rank - 1})");
            if (!x[a].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} over axis {axis} needs a known size, got {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>maxout(pieces): [N, C·k, …] → [N, C, …]; channels must be a known multiple of k.</summary>
        public static ShapeResult Maxout(Shape x, int pieces)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank < 2) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"maxout expects [N, C, ...] (2-D or more), got {x.ToDisplay()} ({x.Rank}-D)");
            if (pieces < 1) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"maxout needs pieces >= 1, got {pieces}");
            if (!x[1].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"maxout needs known channels, got {x.ToDisplay()}");
            if (x[1].Value % pieces != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"maxout({pieces}) needs channels divisible by {pieces}, got {x[1].Value} channels in {x.ToDisplay()}");
            return ShapeResult.Ok(x.With(1, Dim.Of(x[1].Value / pieces)));
        }

        /// <summary>prelu: same shape; with one slope per channel, x needs a known dim 1 (the slope is [C], else [1]).</summary>
        public static ShapeResult PRelu(Shape x, bool channels)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (channels && (x.Rank < 2 || !x[1].IsKnown))
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"prelu(channels: true) needs [N, C, ...] with known C, got {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>dropout2d: [N, C, H, W] → same (whole (n, c) planes are dropped).</summary>
        public static ShapeResult Dropout2d(Shape x)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            return RequireRank("dropout2d", x, 4, "[N, C, H, W]");
        }

        /// <summary>stochastic_depth: [N, …] (2-D or more) → same (whole samples are dropped).</summary>
        public static ShapeResult StochasticDepth(Shape x)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank < 2) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"stochastic_depth expects [N, ...] (2-D or more), got {x.ToDisplay()} ({x.Rank}-D)");
            return ShapeResult.Ok(x);
        }

        /// <summary>A drop probability p in [0, 1) (dropout-like ops), or an error naming the op and p.</summary>
        public static ShapeResult DropProbability(string op, double p) => p >= 0 && p < 1 ? ShapeResult.Ok(Shape.Of(1))
            : ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} p is the drop probability and must be in [0, 1), got {p.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }
}
