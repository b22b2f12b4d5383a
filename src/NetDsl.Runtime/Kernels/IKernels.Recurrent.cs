using System.Numerics;

namespace NetDsl.Runtime;

/// <summary>The cell of a recurrent layer (docs/ops/recurrent.md), with PyTorch's equations and gate orders.</summary>
public enum RnnCell
{
    /// <summary>h = tanh(W_ih x + b_ih + W_hh h + b_hh) (nn.RNN, nonlinearity='tanh').</summary>
    RnnTanh,
    /// <summary>h = relu(W_ih x + b_ih + W_hh h + b_hh) (nn.RNN, nonlinearity='relu').</summary>
    RnnRelu,
    /// <summary>nn.LSTM: gates i, f, g, o (in that order in W_ih, W_hh and the biases); c = f·c + i·g, h = o·tanh(c).</summary>
    Lstm,
    /// <summary>nn.GRU: gates r, z, n; n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h = (1 − z)·n + z·h.</summary>
    Gru,
}

/// <summary>Sizes of the recurrent kernels' tensors per cell: G gates, the saved width S and the backward work width W (per direction, in units of H).</summary>
public static class RnnLayout
{
    /// <summary>Gates per cell (rows of W_ih are Gates·H): 1, 4 (i, f, g, o) or 3 (r, z, n).</summary>
    public static int Gates(RnnCell cell) => cell switch { RnnCell.Lstm => 4, RnnCell.Gru => 3, _ => 1 };
    /// <summary>
    /// Values the forward saves per step and direction, in units of H: LSTM 5 (i, f, g, o after their activations, then c),
    /// GRU 4 (r, z, n, then W_hn·h + b_hn), RNN 0 (the backward reads h from the output).
    /// </summary>
    public static int Saved(RnnCell cell) => cell switch { RnnCell.Lstm => 5, RnnCell.Gru => 4, _ => 0 };
    /// <summary>
    /// Backward work per step and direction, in units of H: the gradients of the input-side pre-activations (G), of the
    /// hidden-side ones (GRU only: 3 more), dh (1) and, for the LSTM, dc (1): RNN 2, LSTM 6, GRU 7.
    /// </summary>
    public static int Work(RnnCell cell) => cell switch { RnnCell.Lstm => 6, RnnCell.Gru => 7, _ => 2 };
    /// <summary>Column (units of H) of the hidden-side pre-activation gradients in a work row: GRU 3, else 0 (the same as the input side).</summary>
    public static int HiddenGradOffset(RnnCell cell) => cell == RnnCell.Gru ? 3 : 0;
    /// <summary>Column (units of H) of dh in a work row.</summary>
    public static int DhOffset(RnnCell cell) => cell switch { RnnCell.Lstm => 4, RnnCell.Gru => 6, _ => 1 };
}

// Recurrent layers and embeddings (docs/ops/recurrent.md). One kernel call runs one direction of one layer over the whole
// sequence (batch first: x [N, T, D]); the two directions of a bidirectional layer write their halves of y [N, T, 2H]
// (direction 0 columns 0..H, direction 1 — the reverse one, running from t = T−1 down to 0 — columns H..2H). The initial
// states are zero unless h0 (and, for the LSTM, c0) [layers·dirs, N, H] are given: slot = layer·dirs + dir selects the
// [N, H] block of this layer and direction (PyTorch's h_0 / c_0 layout).
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// y[:, :, dir·H..] = the hidden states of one direction of a recurrent layer over x [N, T, D], with w_ih [G·H, D],
    /// w_hh [G·H, H], b_ih and b_hh [G·H] (G = <see cref="RnnLayout.Gates"/>). <paramref name="saved"/> [N, T, dirs·S·H]
    /// (S = <see cref="RnnLayout.Saved"/>; null for the plain RNN) receives what the backward pass needs.
    /// </summary>
    void RnnForward(RnnCell cell, Tensor<T> x, Tensor<T> wih, Tensor<T> whh, Tensor<T> bih, Tensor<T> bhh, Tensor<T> y, Tensor<T>? saved, int dir,
        Tensor<T>? h0 = null, Tensor<T>? c0 = null, int slot = 0);

    /// <summary>
    /// Back-propagation through time of one direction: from dy [N, T, dirs·H] (and x, y, saved of the forward pass) the
    /// gradients dx [N, T, D] (written, or added to when <paramref name="accumulateDx"/>; null if not needed), dw_ih,
    /// dw_hh, db_ih, db_hh (written). <paramref name="work"/> [N, T, dirs·W·H] (W = <see cref="RnnLayout.Work"/>) is scratch.
    /// h0, c0 and slot as in the forward pass. <paramref name="dsaved"/> (LSTM, shaped like saved; null if none) is a gradient
    /// flowing into the saved cell states c_t themselves (only its c columns are read: a loss using c_n). dh0 / dc0
    /// [layers·dirs, N, H] (null if not needed) receive the initial states' gradients in block <paramref name="slot"/>; the
    /// call with dir 0 first clears the whole tensor (the other layers' blocks stay zero, and the two directions of a layer
    /// fill their blocks).
    /// </summary>
    void RnnBackward(RnnCell cell, Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T>? saved, Tensor<T> wih, Tensor<T> whh, Tensor<T> work,
        Tensor<T>? dx, Tensor<T> dwih, Tensor<T> dwhh, Tensor<T> dbih, Tensor<T> dbhh, int dir, bool accumulateDx,
        Tensor<T>? h0 = null, Tensor<T>? c0 = null, int slot = 0, Tensor<T>? dsaved = null, Tensor<T>? dh0 = null, Tensor<T>? dc0 = null);

    /// <summary>y[..., :] = w[ids[...], :]: ids of any shape, w [vocab, dim], y [ids…, dim]; an id outside 0..vocab−1 throws naming it and the vocab.</summary>
    void EmbeddingForward(Tensor<int> ids, Tensor<T> w, Tensor<T> y);

    /// <summary>dw = 0, then dw[ids[...], :] += dy[..., :] (a scatter-add: repeated ids sum).</summary>
    void EmbeddingBackward(Tensor<T> dy, Tensor<int> ids, Tensor<T> dw);
}

/// <summary>The sizes of one recurrent kernel call, checked (every kernel family calls <see cref="RnnChecks"/>).</summary>
internal readonly record struct RnnDims(int N, int T, int D, int H, int G, int Dirs, int S, int W)
{
    public int GH => G * H;
    /// <summary>Row strides (elements per (n, t) row) of y, saved and work.</summary>
    public int LdY => Dirs * H;
    public int LdS => Dirs * S * H;
    public int LdW => Dirs * W * H;
}

internal static class RnnChecks
{
    // Checks run every step: the message (an interpolated string) is built only when a check fails.
    private static void Throw(string name, string expected, int[] actual) =>
        throw new ArgumentException($"{name}: expected shape {expected}, got {Tensor<int>.Format(actual)}", name);

    /// <summary>Checks the forward tensors of one direction and returns the sizes; ArgumentException names the tensor, the expected and the actual shape.</summary>
    public static RnnDims Forward<T>(RnnCell cell, Tensor<T> x, Tensor<T> wih, Tensor<T> whh, Tensor<T>? bih, Tensor<T>? bhh, Tensor<T> y, Tensor<T>? saved, int dir) where T : unmanaged
    {
        if (!(x.Rank == 3)) Throw("x", "[N, T, D]", x.Shape);
        int n = x.Shape[0], t = x.Shape[1], d = x.Shape[2], g = RnnLayout.Gates(cell);
        if (!(whh.Rank == 2 && whh.Shape[1] > 0 && whh.Shape[0] == g * whh.Shape[1])) Throw("whh", $"[{g}·H, H] for {cell}", whh.Shape);
        int h = whh.Shape[1];
        if (!(wih.Rank == 2 && wih.Shape[0] == g * h && wih.Shape[1] == d)) Throw("wih", $"[{g * h}, {d}]", wih.Shape);
        if (bih is not null) { if (!(bih.Rank == 1 && bih.Shape[0] == g * h)) Throw("bih", $"[{g * h}]", bih.Shape); }
        if (bhh is not null) { if (!(bhh.Rank == 1 && bhh.Shape[0] == g * h)) Throw("bhh", $"[{g * h}]", bhh.Shape); }
        if (!(y.Rank == 3 && y.Shape[0] == n && y.Shape[1] == t && (y.Shape[2] == h || y.Shape[2] == 2 * h))) Throw("y", $"[{n}, {t}, {h}] or [{n}, {t}, {2 * h}]", y.Shape);
        int dirs = y.Shape[2] / h;
        if (dir < 0 || dir >= dirs) throw new ArgumentOutOfRangeException(nameof(dir), $"direction {dir} of a layer with {dirs} direction(s) (y {Tensor<int>.Format(y.Shape)}, H = {h})");
        int s = RnnLayout.Saved(cell);
        if (s > 0)
        {
            if (saved is null) throw new ArgumentNullException(nameof(saved), $"{cell} needs a saved tensor [{n}, {t}, {dirs * s * h}]");
            if (!(saved.Rank == 3 && saved.Shape[0] == n && saved.Shape[1] == t && saved.Shape[2] == dirs * s * h)) Throw("saved", $"[{n}, {t}, {dirs * s * h}]", saved.Shape);
        }
        return new RnnDims(n, t, d, h, g, dirs, s, RnnLayout.Work(cell));
    }

    /// <summary>Checks the backward tensors of one direction as well.</summary>
    public static RnnDims Backward<T>(RnnCell cell, Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T>? saved, Tensor<T> wih, Tensor<T> whh, Tensor<T> work,
        Tensor<T>? dx, Tensor<T> dwih, Tensor<T> dwhh, Tensor<T> dbih, Tensor<T> dbhh, int dir) where T : unmanaged
    {
        var r = Forward(cell, x, wih, whh, null, null, y, saved, dir);
        dy.CheckShape("dy", y.Shape);
        work.CheckShape("work", [r.N, r.T, r.LdW]);
        dx?.CheckShape("dx", x.Shape);
        dwih.CheckShape("dwih", wih.Shape);
        dwhh.CheckShape("dwhh", whh.Shape);
        dbih.CheckShape("dbih", [r.GH]);
        dbhh.CheckShape("dbhh", [r.GH]);
        return r;
    }

    /// <summary>Checks the initial states: h0 and c0 [slots, N, H] with slot in range; c0 only for the LSTM.</summary>
    public static void State<T>(RnnDims r, RnnCell cell, Tensor<T>? h0, Tensor<T>? c0, int slot) where T : unmanaged
    {
        if (h0 is not null) { if (!(h0.Rank == 3 && h0.Shape[1] == r.N && h0.Shape[2] == r.H && slot >= 0 && slot < h0.Shape[0])) Throw("h0", $"[layers·dirs > {slot}, {r.N}, {r.H}]", h0.Shape); }
        if (c0 is not null)
        {
            if (cell != RnnCell.Lstm) throw new ArgumentException($"c0: only the LSTM has a cell state, got one for {cell}", nameof(c0));
            if (!(c0.Rank == 3 && c0.Shape[1] == r.N && c0.Shape[2] == r.H && slot >= 0 && slot < c0.Shape[0])) Throw("c0", $"[layers·dirs > {slot}, {r.N}, {r.H}]", c0.Shape);
        }
    }

    /// <summary>Checks the state gradients: dsaved like saved (LSTM), dh0 like h0, dc0 like c0 (LSTM), each needing its state.</summary>
    public static void StateGrads<T>(RnnDims r, RnnCell cell, Tensor<T>? saved, Tensor<T>? dsaved, Tensor<T>? h0, Tensor<T>? c0, Tensor<T>? dh0, Tensor<T>? dc0) where T : unmanaged
    {
        if (dsaved is not null)
        {
            if (cell != RnnCell.Lstm) throw new ArgumentException($"dsaved: only the LSTM's cell states take a gradient, got one for {cell}", nameof(dsaved));
            dsaved.CheckShape("dsaved", saved!.Shape);
        }
        if (dh0 is not null)
        {
            if (h0 is null) throw new ArgumentException("dh0 needs h0 (the gradient of an initial state that was given)", nameof(dh0));
            dh0.CheckShape("dh0", h0.Shape);
        }
        if (dc0 is not null)
        {
            if (c0 is null) throw new ArgumentException("dc0 needs c0 (the gradient of an initial state that was given)", nameof(dc0));
            dc0.CheckShape("dc0", c0.Shape);
        }
    }

    /// <summary>Checks an embedding's shapes: y = ids.Shape + [dim], w [vocab, dim].</summary>
    public static (int Count, int Vocab, int Dim) Embedding<T>(Tensor<int> ids, Tensor<T> w, Tensor<T> y, string yName) where T : unmanaged
    {
        if (!(w.Rank == 2)) Throw("w", "[vocab, dim]", w.Shape);
        int vocab = w.Shape[0], dim = w.Shape[1];
        if (y.Rank != ids.Rank + 1 || y.Shape[^1] != dim || !y.Shape.AsSpan(0, ids.Rank).SequenceEqual(ids.Shape))
            y.CheckShape(yName, ids.Shape.Append(dim).ToArray()); // throws naming both shapes
        return (ids.Length, vocab, dim);
    }

    /// <summary>The exception for an id outside the vocabulary: names the id, its position and the vocab.</summary>
    public static ArgumentOutOfRangeException BadId(int id, int index, int vocab) =>
        new("ids", $"embedding id {id} at index {index} is out of range for a vocab of {vocab} (ids must be 0..{vocab - 1})");
}
