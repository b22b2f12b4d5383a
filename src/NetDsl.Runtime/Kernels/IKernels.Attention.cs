using System.Numerics;

namespace NetDsl.Runtime;

// Attention (docs/ops/attention.md): scaled dot-product attention softmax(scale·Q·Kᵀ + mask)·V on row-major tensors whose
// leading dims (N, or N and heads) are batch dims, sinusoidal positional encodings and the class token of a ViT.
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// y [B…, Tq, Dv] = P·V with P = softmax_rows(scale·Q·Kᵀ) over the keys a query may see: key j is masked for query i
    /// when <paramref name="causal"/> and j &gt; i, or when j ≥ lengths[n] (n = the sample: the first batch dim). A query
    /// that sees no key gets P = 0 and y = 0. q [B…, Tq, D], k [B…, Tk, D], v [B…, Tk, Dv]; probs [B…, Tq, Tk] keeps P
    /// for the backward pass. With <paramref name="dropped"/> and p &gt; 0 (training), y = dropout(P)·V (inverted dropout,
    /// counter-based mask from <paramref name="seed"/>) and dropout(P) is kept in <paramref name="dropped"/>.
    /// </summary>
    void AttentionForward(Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<int>? lengths, Tensor<T> y, Tensor<T> probs,
        Tensor<T>? dropped, T scale, bool causal, T p, ulong seed);

    /// <summary>
    /// dq, dk, dv of <see cref="AttentionForward"/> from dy and the saved probs (and dropped probs when p &gt; 0):
    /// dV = P̃ᵀ·dY, dP = dY·Vᵀ (masked by the dropout), dS = scale·P∘(dP − rowsum(dP∘P)), dQ = dS·K, dK = dSᵀ·Q.
    /// <paramref name="ds"/> [B…, Tq, Tk] is scratch (overwritten with dS).
    /// </summary>
    void AttentionBackward(Tensor<T> dy, Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<T> probs, Tensor<T>? dropped,
        Tensor<T> dq, Tensor<T> dk, Tensor<T> dv, Tensor<T> ds, T scale, T p);

    /// <summary>y [N, T, D] = x + PE with PE[t, 2i] = sin(t / base^(2i/D)), PE[t, 2i+1] = cos(t / base^(2i/D)) (base 10000).</summary>
    void AddPositionalEncoding(Tensor<T> x, Tensor<T> y, double @base);

    /// <summary>y [N, T+1, D]: row 0 of every sample is the token [1, 1, D] (or [D]), rows 1.. are x [N, T, D].</summary>
    void ClassTokenForward(Tensor<T> x, Tensor<T> token, Tensor<T> y);
    /// <summary>dx = dy[:, 1:, :]; dtoken = Σ_n dy[n, 0, :].</summary>
    void ClassTokenBackward(Tensor<T> dy, Tensor<T> dx, Tensor<T> dtoken);
}

/// <summary>Shape checks shared by the CPU and ILGPU attention kernels.</summary>
internal static class AttentionLayout
{
    private static string F(int[] s) => Tensor<float>.Format(s);

    /// <summary>(batch, Tq, Tk, D, Dv, per-sample batches) of q, k, v, y, probs; throws naming the expected and actual shapes.</summary>
    public static (int B, int Tq, int Tk, int D, int Dv, int PerSample) Check(int[] q, int[] k, int[] v, int[] y, int[] probs, int[]? dropped, int[]? lengths)
    {
        if (q.Length < 3 || q.Length > 4) throw new ArgumentException($"q: expected shape [N, T, D] or [N, H, T, D], got {F(q)}", nameof(q));
        int r = q.Length, tq = q[^2], d = q[^1];
        ReadOnlySpan<int> batch = q.AsSpan(0, r - 2);
        if (k.Length != r || !k.AsSpan(0, r - 2).SequenceEqual(batch) || k[^1] != d)
            throw new ArgumentException($"k: expected shape [{string.Join(", ", batch.ToArray())}, Tk, {d}] to match q {F(q)}, got {F(k)}", nameof(k));
        int tk = k[^2];
        if (v.Length != r || !v.AsSpan(0, r - 2).SequenceEqual(batch) || v[^2] != tk)
            throw new ArgumentException($"v: expected shape [{string.Join(", ", batch.ToArray())}, {tk}, Dv] to match k {F(k)}, got {F(v)}", nameof(v));
        int dv = v[^1];
        // no arrays on the normal path (this runs every step): compare batch dims and the last two separately
        static bool Like(int[] s, ReadOnlySpan<int> batch, int a, int b) => s.Length == batch.Length + 2 && s.AsSpan(0, batch.Length).SequenceEqual(batch) && s[^2] == a && s[^1] == b;
        if (!Like(y, batch, tq, dv)) throw new ArgumentException($"y: expected shape {F([.. batch, tq, dv])}, got {F(y)}", nameof(y));
        if (!Like(probs, batch, tq, tk)) throw new ArgumentException($"probs: expected shape {F([.. batch, tq, tk])}, got {F(probs)}", nameof(probs));
        if (dropped is not null && !Like(dropped, batch, tq, tk)) throw new ArgumentException($"dropped: expected shape {F([.. batch, tq, tk])}, got {F(dropped)}", nameof(dropped));
        int b = 1;
        foreach (var x in batch) b *= x;
        if (lengths is not null && (lengths.Length != 1 || lengths[0] != q[0]))
            throw new ArgumentException($"lengths: expected shape [{q[0]}] (one length per sample of q {F(q)}), got {F(lengths)}", nameof(lengths));
        return (b, tq, tk, d, dv, q[0] == 0 ? 1 : b / q[0]);
    }

    /// <summary>Keys [0, limit) are visible to query i of batch b.</summary>
    public static int Limit(int i, int tk, bool causal, int length) => Math.Min(causal ? Math.Min(tk, i + 1) : tk, Math.Max(0, length));

    public static void CheckSequence(int[] x, string name)
    {
        if (x.Length != 3) throw new ArgumentException($"{name}: expected shape [N, T, D], got {F(x)}", name);
    }

    public static void CheckClassToken(int[] x, int[] token, int[] y, string yName)
    {
        CheckSequence(x, "x");
        int d = x[2];
        int tl = 1; foreach (var t in token) tl *= t;
        if (tl != d || token[^1] != d) throw new ArgumentException($"token: expected shape [1, 1, {d}], got {F(token)}", nameof(token));
        int[] e = [x[0], x[1] + 1, d];
        if (!y.AsSpan().SequenceEqual(e)) throw new ArgumentException($"{yName}: expected shape {F(e)} for x {F(x)}, got {F(y)}", yName);
    }
}
