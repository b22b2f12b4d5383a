using System;
using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    /// <summary>Result of a shape rule: the output shape, or a diagnostic id and message naming both sides.</summary>
    public readonly struct ShapeResult
    {
        public Shape Shape { get; }
        public string? ErrorId { get; }
        public string? Error { get; }
        private ShapeResult(Shape shape, string? id, string? error) { Shape = shape; ErrorId = id; Error = error; }
        public static ShapeResult Ok(Shape s) => new ShapeResult(s, null, null);
        public static ShapeResult Fail(string id, string message) => new ShapeResult(Shape.Unknown, id, message);
        public bool IsError => Error != null;
    }

    /// <summary>
    /// One shape rule per operator (in the spirit of NNEF): pure functions from input shapes and
    /// attributes to the output shape. An <see cref="Shape.Unknown"/> input yields an unknown output
    /// without a second diagnostic.
    /// </summary>
    public static partial class ShapeRules
    {
        private static ShapeResult RequireRank(string op, Shape x, int rank, string layout, string hint = "")
        {
            if (x.Rank == rank) return ShapeResult.Ok(x);
            return ShapeResult.Fail(DiagnosticIds.RankMismatch,
                $"{op} expects a {rank}-D input {layout}, got {x.ToDisplay()} ({x.Rank}-D){hint}");
        }

        private static bool Unknown(params Shape[] xs) => xs.Any(s => s.IsUnknown);

        public static int ConvOut(int size, int kernel, int stride, int pad, int dilation = 1) =>
            (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;

        /// <summary>linear: [N,F] → [N,out]; on a sequence [N,T,F] → [N,T,out] (applied to every position, as PyTorch's nn.Linear).</summary>
        public static ShapeResult Linear(Shape x, int outFeatures)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (outFeatures <= 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"linear needs out features > 0, got {outFeatures}");
            if (x.Rank == 3) return x[2].IsKnown ? ShapeResult.Ok(x.With(2, Dim.Of(outFeatures)))
                : ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"linear needs a known feature count, got {x.ToDisplay()}");
            var r = RequireRank("linear", x, 2, "[N, features]", x.Rank > 3 ? "; insert flatten before linear" : "");
            if (r.IsError) return r;
            if (!x[1].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"linear needs a known feature count, got {x.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(x[0], Dim.Of(outFeatures)));
        }

        /// <summary>flatten: [N, d1, d2, ...] → [N, d1·d2·…].</summary>
        public static ShapeResult Flatten(Shape x)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank < 1) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"flatten needs at least a 1-D input, got {x.ToDisplay()}");
            long f = 1;
            for (int i = 1; i < x.Rank; i++)
            {
                if (!x[i].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"flatten needs known dims after the first, got {x.ToDisplay()}");
                f *= x[i].Value;
            }
            return ShapeResult.Ok(Shape.Of(x[0], Dim.Of((int)f)));
        }

        /// <summary>add: both shapes equal (broadcasting comes with issue 3).</summary>
        public static ShapeResult Add(Shape a, Shape b)
        {
            if (Unknown(a, b)) return ShapeResult.Ok(Shape.Unknown);
            if (a.Equals(b)) return ShapeResult.Ok(a);
            string where;
            if (a.Rank != b.Rank) where = $"ranks differ ({a.Rank} vs {b.Rank})";
            else
            {
                var diff = Enumerable.Range(0, a.Rank).Where(i => a[i] != b[i]).ToList();
                where = diff.Count == 1 ? $"shapes differ in dim {diff[0]}" : $"shapes differ in dims {string.Join(", ", diff)}";
                if (a.Rank == 4 && diff.Contains(1)) where += " (does the shortcut need a 1x1 projection to match channels?)";
                else if (a.Rank == 4 && (diff.Contains(2) || diff.Contains(3))) where += " (does the shortcut need a stride-2 projection?)";
            }
            return ShapeResult.Fail(DiagnosticIds.AddShapeMismatch, $"cannot add {a.ToDisplay()} and {b.ToDisplay()}: {where}");
        }

        /// <summary>concat on an axis: all other dims equal; the axis dims add up.</summary>
        public static ShapeResult Concat(IReadOnlyList<Shape> xs, int axis)
        {
            if (xs.Count == 0) return ShapeResult.Fail(DiagnosticIds.MissingArgument, "concat needs at least one tensor");
            if (xs.Any(s => s.IsUnknown)) return ShapeResult.Ok(Shape.Unknown);
            var first = xs[0];
            if (axis < 0 || axis >= first.Rank) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"concat axis {axis} is out of range for {first.ToDisplay()}");
            int total = 0;
            for (int k = 0; k < xs.Count; k++)
            {
                var s = xs[k];
                if (s.Rank != first.Rank || Enumerable.Range(0, s.Rank).Any(i => i != axis && s[i] != first[i]))
                    return ShapeResult.Fail(DiagnosticIds.ConcatMismatch, $"cannot concat {first.ToDisplay()} and {s.ToDisplay()} (input {k + 1}) on axis {axis}: the other dims must match");
                if (!s[axis].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"concat needs a known size on axis {axis}, got {s.ToDisplay()}");
                total += s[axis].Value;
            }
            return ShapeResult.Ok(first.With(axis, Dim.Of(total)));
        }

        /// <summary>batchnorm: [N,C,...] → same.</summary>
        public static ShapeResult BatchNorm(Shape x)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank != 2 && x.Rank != 4) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"batchnorm expects [N, C] or [N, C, H, W], got {x.ToDisplay()} ({x.Rank}-D)");
            if (!x[1].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"batchnorm needs a known channel count, got {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>cross_entropy(logits [N,C], labels int[N]) → scalar.</summary>
        public static ShapeResult CrossEntropy(Shape logits, Shape labels)
        {
            if (Unknown(logits, labels)) return ShapeResult.Ok(Shape.Of(1));
            if (logits.Rank != 2) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"cross_entropy expects logits [N, classes], got {logits.ToDisplay()} ({logits.Rank}-D)");
            if (labels.Rank != 1 || labels[0] != logits[0])
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"cross_entropy expects labels int[{logits[0]}] for logits {logits.ToDisplay()}, got {labels.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(1));
        }
    }
}
