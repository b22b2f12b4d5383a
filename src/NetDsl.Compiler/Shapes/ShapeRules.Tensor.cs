using System;
using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    // Shape rules of the tensor-op family (Ops/TensorOps.cs): broadcasting, matmul, views, permutations, slices, reductions.
    public static partial class ShapeRules
    {
        /// <summary>The most dims a tensor op handles (the runtime's strided kernels are written for up to 6).</summary>
        public const int MaxTensorRank = 6;

        private static ShapeResult TooManyDims(string op, Shape x) =>
            ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} supports tensors of up to {MaxTensorRank} dims, got {x.ToDisplay()} ({x.Rank}-D)");

        /// <summary>Normalizes an axis (negative counts from the end); -1 if out of range.</summary>
        public static int Axis(int axis, int rank) => axis < -rank || axis >= rank ? -1 : (axis < 0 ? axis + rank : axis);

        private static string Verb(string op) => op switch { "add" => "add", "sub" => "subtract", "mul" => "multiply", _ => op };

        /// <summary>
        /// PyTorch broadcasting of two shapes (a + b, a - b, a * b): right-aligned, a dim of size 1 stretches, a symbolic dim
        /// (N) matches only itself or 1. The error names both shapes and every failing dim.
        /// </summary>
        public static ShapeResult Broadcast(string op, Shape a, Shape b)
        {
            if (Unknown(a, b)) return ShapeResult.Ok(Shape.Unknown);
            if (a.Equals(b)) return ShapeResult.Ok(a);
            int r = Math.Max(a.Rank, b.Rank);
            if (r > MaxTensorRank) return TooManyDims(op, a.Rank >= b.Rank ? a : b);
            var dims = new Dim[r];
            var failing = new List<(int Dim, Dim A, Dim B)>();
            for (int i = 0; i < r; i++)
            {
                int ia = i - (r - a.Rank), ib = i - (r - b.Rank);
                if (ia < 0) { dims[i] = b[ib]; continue; }
                if (ib < 0) { dims[i] = a[ia]; continue; }
                Dim da = a[ia], db = b[ib];
                if (da == db) dims[i] = da;
                else if (da.IsKnown && da.Value == 1) dims[i] = db;
                else if (db.IsKnown && db.Value == 1) dims[i] = da;
                else failing.Add((i, da, db));
            }
            if (failing.Count == 0) return ShapeResult.Ok(new Shape(dims));
            string where;
            var list = string.Join(", ", failing.Select(f => f.Dim));
            var sizes = string.Join("; ", failing.Select(f => $"{f.A} vs {f.B}"));
            bool symbolic = failing.Any(f => !f.A.IsKnown || !f.B.IsKnown);
            string why = symbolic ? "a symbolic dim matches only itself or 1" : "neither is 1, so they do not broadcast";
            if (a.Rank == b.Rank)
            {
                where = failing.Count == 1 ? $"shapes differ in dim {list}" : $"shapes differ in dims {list}";
                var idx = failing.Select(f => f.Dim).ToList();
                if (op == "add" && a.Rank == 4 && idx.Contains(1)) where += " (does the shortcut need a 1x1 projection to match channels?)";
                else if (op == "add" && a.Rank == 4 && (idx.Contains(2) || idx.Contains(3))) where += " (does the shortcut need a stride-2 projection?)";
                else where += $" ({sizes}: {why})";
            }
            else
                where = $"aligned from the right, {(failing.Count == 1 ? "dim" : "dims")} {list} of the result differ ({sizes}: {why})";
            return ShapeResult.Fail(DiagnosticIds.AddShapeMismatch, $"cannot {Verb(op)} {a.ToDisplay()} and {b.ToDisplay()}: {where}");
        }

        /// <summary>matmul: [..., M, K] × [..., K, N] → [..., M, N]; the batch dims (all but the last two) broadcast.</summary>
        public static ShapeResult MatMul(Shape a, Shape b)
        {
            if (Unknown(a, b)) return ShapeResult.Ok(Shape.Unknown);
            if (a.Rank < 2 || b.Rank < 2)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"matmul needs operands of at least 2 dims ([M, K] and [K, N]), got {a.ToDisplay()} and {b.ToDisplay()} (reshape a vector to [1, K] or [K, 1])");
            if (a.Rank > MaxTensorRank || b.Rank > MaxTensorRank) return TooManyDims("matmul", a.Rank > b.Rank ? a : b);
            Dim k1 = a[a.Rank - 1], k2 = b[b.Rank - 2];
            if (k1 != k2)
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"cannot matmul {a.ToDisplay()} and {b.ToDisplay()}: the inner dims differ (dim {a.Rank - 1} of the first is {k1}, dim {b.Rank - 2} of the second is {k2})");
            if (!k1.IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"matmul needs a known contraction size, got {a.ToDisplay()} and {b.ToDisplay()}");
            var ba = new Shape(a.Dims.Take(a.Rank - 2)); var bb = new Shape(b.Dims.Take(b.Rank - 2));
            var batch = Broadcast("matmul", ba, bb);
            if (batch.IsError)
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"cannot matmul {a.ToDisplay()} and {b.ToDisplay()}: the batch dims {ba.ToDisplay()} and {bb.ToDisplay()} do not broadcast");
            return ShapeResult.Ok(new Shape(batch.Shape.Dims.Concat(new[] { a[a.Rank - 2], b[b.Rank - 1] })));
        }

        /// <summary>
        /// reshape: the target lists known sizes, symbols (N) and at most one -1 (inferred). The element counts must agree and
        /// every symbol of the input must stay a dim of the result (a -1 cannot absorb N).
        /// </summary>
        public static ShapeResult Reshape(Shape x, IReadOnlyList<Dim?> target)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            string T() => "[" + string.Join(", ", target.Select(d => d?.ToString() ?? "-1")) + "]";
            if (target.Count == 0) return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"reshape of {x.ToDisplay()} needs at least one dim");
            if (target.Count > MaxTensorRank) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"reshape to {T()}: tensor ops support up to {MaxTensorRank} dims");
            if (target.Count(d => d == null) > 1) return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"reshape of {x.ToDisplay()} to {T()}: at most one dim can be -1");
            if (target.Any(d => d != null && d.Value.IsKnown && d.Value.Value <= 0))
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"reshape of {x.ToDisplay()} to {T()}: sizes must be positive (or -1)");
            var xs = x.Size;
            var tsyms = target.Where(d => d != null && !d.Value.IsKnown).Select(d => d!.Value.Symbol!).OrderBy(s => s, StringComparer.Ordinal);
            if (string.Join("*", tsyms) != xs.Symbols)
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"cannot reshape {x.ToDisplay()} to {T()}: the symbolic dims must stay dims of their own ({(xs.Symbols.Length == 0 ? "none" : xs.Symbols)} vs {(tsyms.Any() ? string.Join("*", tsyms) : "none")})");
            long known = target.Where(d => d != null && d.Value.IsKnown).Aggregate(1L, (p, d) => p * d!.Value.Value);
            var dims = new Dim[target.Count];
            for (int i = 0; i < dims.Length; i++)
            {
                if (target[i] != null) { dims[i] = target[i]!.Value; continue; }
                if (xs.Factor % known != 0)
                    return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"cannot reshape {x.ToDisplay()} ({xs.Factor} elements per {(xs.Symbols.Length == 0 ? "tensor" : xs.Symbols)}) to {T()}: {xs.Factor} is not a multiple of {known}");
                dims[i] = Dim.Of((int)(xs.Factor / known));
                known *= dims[i].Value;
            }
            if (known != xs.Factor)
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"cannot reshape {x.ToDisplay()} ({xs.Factor} elements{(xs.Symbols.Length == 0 ? "" : " per " + xs.Symbols)}) to {T()} ({known})");
            return ShapeResult.Ok(new Shape(dims));
        }

        /// <summary>flatten(x, start): dims start.. merged into one; [N, d1, d2] → [N, d1·d2] for start = 1.</summary>
        public static ShapeResult Flatten(Shape x, int start)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            int s = Axis(start, x.Rank);
            if (s < 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"flatten start {start} is out of range for {x.ToDisplay()} ({x.Rank}-D)");
            if (s == x.Rank - 1) return ShapeResult.Ok(x);
            long f = 1;
            for (int i = s; i < x.Rank; i++)
            {
                if (!x[i].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"flatten from dim {s} needs known dims {s}.., got {x.ToDisplay()}");
                f *= x[i].Value;
            }
            return ShapeResult.Ok(new Shape(x.Dims.Take(s).Concat(new[] { Dim.Of((int)f) })));
        }

        /// <summary>permute: output dim i is input dim perm[i]; perm must list every dim once (negative dims count from the end).</summary>
        public static ShapeResult Permute(Shape x, IReadOnlyList<int> perm, out int[] normalized)
        {
            normalized = Array.Empty<int>();
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank > MaxTensorRank) return TooManyDims("permute", x);
            var p = perm.Select(d => Axis(d, x.Rank)).ToArray();
            if (p.Length != x.Rank || p.Any(d => d < 0) || p.Distinct().Count() != p.Length)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"permute of {x.ToDisplay()} needs an order of all {x.Rank} dims (each of 0..{x.Rank - 1} once), got ({string.Join(", ", perm)})");
            normalized = p;
            return ShapeResult.Ok(new Shape(p.Select(d => x[d])));
        }

        /// <summary>slice(x, axis, start, end, step): Python semantics (negative start/end count from the end, clamped); the axis must be known.</summary>
        public static ShapeResult Slice(Shape x, int axis, int start, int? end, int step, out int normStart)
        {
            normStart = 0;
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank > MaxTensorRank) return TooManyDims("slice", x);
            int a = Axis(axis, x.Rank);
            if (a < 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"slice axis {axis} is out of range for {x.ToDisplay()} ({x.Rank}-D)");
            if (!x[a].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"slice needs a known size on axis {a}, got {x.ToDisplay()}");
            if (step <= 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"slice step must be >= 1, got {step}");
            int n = x[a].Value;
            int s = start < 0 ? start + n : start, e = end ?? n;
            if (e < 0) e += n;
            s = Math.Max(0, Math.Min(n, s)); e = Math.Max(0, Math.Min(n, e));
            int len = e > s ? (e - s + step - 1) / step : 0;
            if (len == 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"slice {start}:{(end?.ToString() ?? "")}:{step} of axis {a} (size {n}) of {x.ToDisplay()} is empty");
            normStart = s;
            return ShapeResult.Ok(x.With(a, Dim.Of(len)));
        }

        /// <summary>split sizes: one int is a chunk size (the last chunk may be smaller, as torch.split); a list must add up to the axis size.</summary>
        public static ShapeResult SplitSizes(Shape x, int axis, IReadOnlyList<int> sizes, bool chunk, out int[] parts)
        {
            parts = Array.Empty<int>();
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            int a = Axis(axis, x.Rank);
            if (a < 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"split axis {axis} is out of range for {x.ToDisplay()} ({x.Rank}-D)");
            if (!x[a].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"split needs a known size on axis {a}, got {x.ToDisplay()}");
            int n = x[a].Value;
            if (sizes.Any(s => s <= 0)) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"split sizes must be positive, got ({string.Join(", ", sizes)})");
            if (chunk)
            {
                var l = new List<int>();
                for (int o = 0; o < n; o += sizes[0]) l.Add(Math.Min(sizes[0], n - o));
                parts = l.ToArray();
            }
            else
            {
                if (sizes.Sum() != n)
                    return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"split sizes ({string.Join(", ", sizes)}) add up to {sizes.Sum()}, but axis {a} of {x.ToDisplay()} has {n}");
                parts = sizes.ToArray();
            }
            return ShapeResult.Ok(x);
        }

        /// <summary>sum/mean over axes: the keepdim shape (reduced dims become 1) and the result (reduced dims dropped unless keepdim).</summary>
        public static ShapeResult Reduce(string op, Shape x, IReadOnlyList<int> axes, bool keepdim, out Shape keep, out int[] normalized)
        {
            keep = Shape.Unknown; normalized = Array.Empty<int>();
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank > MaxTensorRank) return TooManyDims(op, x);
            var n = axes.Select(d => Axis(d, x.Rank)).ToArray();
            if (n.Length == 0 || n.Any(d => d < 0) || n.Distinct().Count() != n.Length)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} axes ({string.Join(", ", axes)}) must be distinct dims of {x.ToDisplay()} ({x.Rank}-D; negative axes count from the end)");
            normalized = n.OrderBy(d => d).ToArray();
            var set = new HashSet<int>(n);
            keep = new Shape(x.Dims.Select((d, i) => set.Contains(i) ? Dim.Of(1) : d));
            if (keepdim) return ShapeResult.Ok(keep);
            if (set.Count == x.Rank)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} over every dim of {x.ToDisplay()} leaves no dims; pass keepdim: true");
            return ShapeResult.Ok(new Shape(x.Dims.Where((d, i) => !set.Contains(i))));
        }

        /// <summary>scale_channels: x [N, C, H, W] times s [N, C] per channel.</summary>
        public static ShapeResult ScaleChannels(Shape x, Shape s)
        {
            if (Unknown(x, s)) return ShapeResult.Ok(Shape.Unknown);
            var r = RequireRank("scale_channels", x, 4, "[N, C, H, W]");
            if (r.IsError) return r;
            if (s.Rank != 2 || s[0] != x[0] || s[1] != x[1])
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"scale_channels of x {x.ToDisplay()} needs scales [{x[0]}, {x[1]}], got {s.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>gram: [N, C, H, W] → [N, C, C].</summary>
        public static ShapeResult Gram(Shape x)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            var r = RequireRank("gram", x, 4, "[N, C, H, W]");
            if (r.IsError) return r;
            if (!x[1].IsKnown || !x[2].IsKnown || !x[3].IsKnown)
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"gram needs known channels, height and width, got {x.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(x[0], x[1], x[1]));
        }
    }
}
