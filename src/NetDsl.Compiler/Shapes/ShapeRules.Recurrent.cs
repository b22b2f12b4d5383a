using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    // Shape rules of the recurrent family (docs/ops/recurrent.md).
    public static partial class ShapeRules
    {
        /// <summary>embedding: int ids [d1, …, dk] (k ≤ 5) → [d1, …, dk, dim]; vocab and dim positive.</summary>
        public static ShapeResult Embedding(Shape ids, int vocab, int dim)
        {
            if (vocab <= 0 || dim <= 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"embedding needs vocab > 0 and dim > 0, got vocab {vocab}, dim {dim}");
            if (Unknown(ids)) return ShapeResult.Ok(Shape.Unknown);
            if (ids.Rank < 1 || ids.Rank > MaxTensorRank - 1)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"embedding expects int ids of 1 to {MaxTensorRank - 1} dims such as [N, T], got {ids.ToDisplay()} ({ids.Rank}-D)");
            return ShapeResult.Ok(new Shape(ids.Dims.Concat(new[] { Dim.Of(dim) })));
        }

        /// <summary>rnn / lstm / gru (batch first): x [N, T, D] with D known → [N, T, hidden·(2 if bidirectional else 1)]; T may be symbolic.</summary>
        public static ShapeResult Recurrent(string op, Shape x, int hidden, int layers, bool bidirectional)
        {
            if (hidden <= 0) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} needs hidden > 0, got {hidden}");
            if (layers < 1) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} needs layers >= 1, got {layers}");
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank != 3)
            {
                string hint = x.Rank == 2 ? "; a sequence needs a time axis (reshape [N, D] to [N, 1, D] for one step)"
                    : x.Rank == 4 ? "; flatten the feature dims first (e.g. reshape to [N, T, C·W])" : "";
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"{op} expects a 3-D input [N, T, features] (batch first), got {x.ToDisplay()} ({x.Rank}-D){hint}");
            }
            if (!x[2].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs a known feature count (dim 2), got {x.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(x[0], x[1], Dim.Of(hidden * (bidirectional ? 2 : 1))));
        }
            /// <summary>
        /// An initial state of a recurrent layer (PyTorch's h_0 / c_0): [layers·dirs, N, hidden], N as the input's batch dim
        /// (a symbol matches the same symbol).
        /// </summary>
        public static ShapeResult RecurrentState(string op, string arg, Shape x, Shape state, int hidden, int layers, int dirs)
        {
            if (Unknown(x) || Unknown(state)) return ShapeResult.Ok(state);
            var expected = Shape.Of(Dim.Of(layers * dirs), x[0], Dim.Of(hidden));
            bool ok = state.Rank == 3 && state[0].Equals(expected[0]) && state[1].Equals(x[0]) && state[2].Equals(expected[2]);
            if (!ok)
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch,
                    $"{op} {arg} must be [layers·dirs, N, hidden] = {expected.ToDisplay()} for the input {x.ToDisplay()} ({layers} layer(s), {dirs} direction(s), hidden {hidden}), got {state.ToDisplay()}");
            return ShapeResult.Ok(state);
        }
    }
}
