using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    // Shape rules of the attention family (Ops/Attention.cs, docs/ops/attention.md).
    public static partial class ShapeRules
    {
        private static string Batch(Shape s) => "[" + string.Join(", ", s.Dims.Take(s.Rank - 2)) + "]";

        /// <summary>
        /// attention(q [B…, Tq, D], k [B…, Tk, D], v [B…, Tk, Dv]) → [B…, Tq, Dv] with B… = N or N, H (3-D or 4-D, the same
        /// batch dims everywhere). The error names the two shapes that disagree and the dims that differ.
        /// </summary>
        public static ShapeResult Attention(Shape q, Shape k, Shape v, string mask)
        {
            if (mask != "none" && mask != "causal")
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"attention mask must be \"none\" or \"causal\", got \"{mask}\"");
            if (Unknown(q, k, v)) return ShapeResult.Ok(Shape.Unknown);
            if (q.Rank != 3 && q.Rank != 4)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"attention expects q [N, T, D] or [N, heads, T, D], got {q.ToDisplay()} ({q.Rank}-D)");
            foreach (var (name, s) in new[] { ("k", k), ("v", v) })
            {
                if (s.Rank != q.Rank)
                    return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"attention expects {name} with the rank of q {q.ToDisplay()} ({q.Rank}-D), got {s.ToDisplay()} ({s.Rank}-D)");
                if (Batch(s) != Batch(q))
                    return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"attention: {name} {s.ToDisplay()} and q {q.ToDisplay()} differ in the batch dims ({Batch(s)} vs {Batch(q)})");
            }
            if (k[k.Rank - 1] != q[q.Rank - 1])
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"attention needs q and k of the same feature size: q {q.ToDisplay()} has {q[q.Rank - 1]}, k {k.ToDisplay()} has {k[k.Rank - 1]}");
            if (v[v.Rank - 2] != k[k.Rank - 2])
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"attention needs a value per key: k {k.ToDisplay()} has {k[k.Rank - 2]} keys, v {v.ToDisplay()} has {v[v.Rank - 2]}");
            if (!q[q.Rank - 1].IsKnown)
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"attention needs a known feature size (it sets the scale 1/sqrt(d)), got q {q.ToDisplay()}");
            return ShapeResult.Ok(q.With(q.Rank - 1, v[v.Rank - 1]));
        }

        /// <summary>The scores/probabilities of attention: [B…, Tq, Tk].</summary>
        public static Shape AttentionProbs(Shape q, Shape k) => q.With(q.Rank - 1, k[k.Rank - 2]);

        /// <summary>key lengths: int [N] for q [N, …].</summary>
        public static ShapeResult KeyLengths(Shape lengths, bool isInt, Shape q)
        {
            if (Unknown(lengths, q)) return ShapeResult.Ok(lengths);
            if (!isInt) return ShapeResult.Fail(DiagnosticIds.TypeMismatch, $"attention lengths are the valid key count per sample, an int tensor [{q[0]}] (declare `input lengths: int[{q[0]}]`), got a float tensor {lengths.ToDisplay()}");
            if (lengths.Rank != 1 || lengths[0] != q[0])
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"attention lengths must be int[{q[0]}] (one per sample of {q.ToDisplay()}), got {lengths.ToDisplay()}");
            return ShapeResult.Ok(lengths);
        }

        /// <summary>multihead_attention(x [N, T, D], heads, kv [N, S, D]?) → [N, T, D]; D divisible by heads.</summary>
        public static ShapeResult MultiheadAttention(Shape x, Shape? kv, int heads)
        {
            if (Unknown(x) || (kv != null && kv.IsUnknown)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank != 3) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"multi-head attention expects a sequence [N, T, D], got {x.ToDisplay()} ({x.Rank}-D)");
            if (!x[2].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"multi-head attention needs a known model size D, got {x.ToDisplay()}");
            int d = x[2].Value;
            if (heads <= 0 || d % heads != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"multi-head attention needs D divisible by heads: D = {d} ({x.ToDisplay()}), heads = {heads}");
            if (kv != null)
            {
                if (kv.Rank != 3 || kv[0] != x[0] || kv[2] != x[2])
                    return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"cross-attention needs kv [{x[0]}, S, {d}] for x {x.ToDisplay()}, got {kv.ToDisplay()}");
            }
            return ShapeResult.Ok(x);
        }

        /// <summary>positional_encoding / learned_positions / class_token: a sequence [N, T, D] with known T and D.</summary>
        public static ShapeResult Sequence(string op, Shape x)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank != 3) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} expects a sequence [N, T, D], got {x.ToDisplay()} ({x.Rank}-D)");
            if (!x[1].IsKnown || !x[2].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs a known length and model size, got {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>learned_positions(x [N, T, D], max_len): T ≤ max_len.</summary>
        public static ShapeResult LearnedPositions(Shape x, int maxLen)
        {
            var r = Sequence("learned_positions", x);
            if (r.IsError || x.IsUnknown) return r;
            if (maxLen < x[1].Value)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"learned_positions has {maxLen} positions (max_len) but the sequence {x.ToDisplay()} has {x[1]}");
            return ShapeResult.Ok(x);
        }

        /// <summary>patch_embed(x [N, C, H, W], patch, dim) → [N, (H/p)·(W/p), dim]; H and W divisible by the patch.</summary>
        public static ShapeResult PatchEmbed(Shape x, int patch, int dim)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank != 4) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"patch_embed expects images [N, C, H, W], got {x.ToDisplay()} ({x.Rank}-D)");
            if (!x[1].IsKnown || !x[2].IsKnown || !x[3].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"patch_embed needs known C, H, W, got {x.ToDisplay()}");
            if (patch <= 0 || dim <= 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"patch_embed needs patch > 0 and dim > 0, got patch {patch}, dim {dim}");
            if (x[2].Value % patch != 0 || x[3].Value % patch != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"patch_embed needs H and W divisible by the patch: {x.ToDisplay()} and patch {patch}");
            return ShapeResult.Ok(Shape.Of(x[0], Dim.Of(x[2].Value / patch * (x[3].Value / patch)), Dim.Of(dim)));
        }

        /// <summary>additive_attention(query [N, Dq], keys [N, T, Dk], units) → [N, Dk].</summary>
        public static ShapeResult AdditiveAttention(Shape query, Shape keys, int units)
        {
            if (Unknown(query, keys)) return ShapeResult.Ok(Shape.Unknown);
            if (units <= 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"additive_attention needs units > 0, got {units}");
            if (query.Rank != 2) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"additive_attention expects a query [N, Dq], got {query.ToDisplay()} ({query.Rank}-D)");
            if (keys.Rank != 3) return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"additive_attention expects keys [N, T, Dk], got {keys.ToDisplay()} ({keys.Rank}-D)");
            if (keys[0] != query[0]) return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"additive_attention: query {query.ToDisplay()} and keys {keys.ToDisplay()} differ in the batch dim");
            if (!query[1].IsKnown || !keys[1].IsKnown || !keys[2].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"additive_attention needs known sizes, got query {query.ToDisplay()}, keys {keys.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(query[0], keys[2]));
        }
    }
}
