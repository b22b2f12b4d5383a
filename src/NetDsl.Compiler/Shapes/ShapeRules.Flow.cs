using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    // Shape rules of the normalizing-flow family (docs/ops/flows.md).
    public static partial class ShapeRules
    {
        /// <summary>A flow layer's input: [N, C, H, W] with C, H, W known (the log-determinant counts H·W positions).</summary>
        public static ShapeResult FlowInput(string op, Shape x)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank != 4)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} expects a 4-D input [N, C, H, W], got {x.ToDisplay()} ({x.Rank}-D)");
            if (!x[1].IsKnown || !x[2].IsKnown || !x[3].IsKnown)
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs known channels and spatial size (its log-determinant counts H·W), got {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>coupling: [N, C, H, W] with C even → same; hidden &gt; 0.</summary>
        public static ShapeResult Coupling(Shape x, int hidden)
        {
            if (hidden <= 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"coupling needs hidden > 0 channels in its network, got {hidden}");
            var r = FlowInput("coupling", x);
            if (r.IsError || r.Shape.IsUnknown) return r;
            if (x[1].Value % 2 != 0 || x[1].Value < 2)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"coupling splits the channels in two halves and needs an even channel count, got {x[1].Value} channels in {x.ToDisplay()} (squeeze first, or use a conv to change channels)");
            return ShapeResult.Ok(x);
        }

        /// <summary>squeeze: [N, C, H, W] → [N, 4C, H/2, W/2] with H and W even.</summary>
        public static ShapeResult Squeeze(Shape x)
        {
            var r = FlowInput("squeeze", x);
            if (r.IsError || r.Shape.IsUnknown) return r;
            if (x[2].Value % 2 != 0 || x[3].Value % 2 != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"squeeze folds 2×2 pixel blocks into channels and needs an even height and width, got {x[2].Value}×{x[3].Value} in {x.ToDisplay()} (pad the input)");
            return ShapeResult.Ok(Shape.Of(x[0], Dim.Of(x[1].Value * 4), Dim.Of(x[2].Value / 2), Dim.Of(x[3].Value / 2)));
        }

        /// <summary>unsqueeze (squeeze's inverse): [N, C, H, W] with C divisible by 4 → [N, C/4, 2H, 2W].</summary>
        public static ShapeResult Unsqueeze(Shape x)
        {
            var r = FlowInput("unsqueeze", x);
            if (r.IsError || r.Shape.IsUnknown) return r;
            if (x[1].Value % 4 != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"unsqueeze unfolds 4 channels into a 2×2 pixel block and needs channels divisible by 4, got {x[1].Value} in {x.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(x[0], Dim.Of(x[1].Value / 4), Dim.Of(x[2].Value * 2), Dim.Of(x[3].Value * 2)));
        }

        /// <summary>gaussian_log_prob: [N, …] (2-D or more, the non-batch dims known) → [N].</summary>
        public static ShapeResult GaussianLogProb(Shape z)
        {
            if (Unknown(z)) return ShapeResult.Ok(Shape.Unknown);
            if (z.Rank < 2 || z.Rank > MaxTensorRank)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"gaussian_log_prob expects [N, …] (2 to {MaxTensorRank} dims: a batch of latents), got {z.ToDisplay()} ({z.Rank}-D)");
            if (z.Dims.Skip(1).Any(d => !d.IsKnown))
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"gaussian_log_prob needs known dims after the batch dim, got {z.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(z[0]));
        }
    }
}
