using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>Sizes and options of the ILGPU attention kernels: batches of [Tq, D] queries, [Tk, D] keys, [Tk, Dv] values.</summary>
internal struct AttnParams
{
    public int Tq, Tk, D, Dv, PerSample, Causal, HasLengths, Drop;
    public float Scale, Keep;
    public ulong Key, Threshold;
}

// Attention on ILGPU: one thread per softmax row (scores, mask, softmax, dropout; or the softmax backward of a row) and one
// thread per output element for the products (gathers: each thread sums its own dot product).
internal static partial class GpuKernels
{
    /// <summary>Row (b, i): probs[b, i, :] = softmax of scale·q[b, i]·k[b, j] over the visible keys (0 elsewhere), and the dropped copy.</summary>
    internal static void AttentionScores(Index1D row, ArrayView<float> q, ArrayView<float> k, ArrayView<int> lengths,
        ArrayView<float> probs, ArrayView<float> dropped, AttnParams a)
    {
        int b = row / a.Tq, i = row % a.Tq;
        int limit = a.Causal != 0 ? Math.Min(a.Tk, i + 1) : a.Tk;
        if (a.HasLengths != 0) limit = Math.Min(limit, Math.Max(0, lengths[b / a.PerSample]));
        int po = row * a.Tk, qo = row * a.D;
        float max = float.NegativeInfinity;
        for (int j = 0; j < limit; j++)
        {
            float s = 0f;
            int ko = (b * a.Tk + j) * a.D;
            for (int c = 0; c < a.D; c++) s += q[qo + c] * k[ko + c];
            s *= a.Scale;
            probs[po + j] = s;
            if (s > max) max = s;
        }
        float sum = 0f;
        for (int j = 0; j < limit; j++) { float e = MathF.Exp(probs[po + j] - max); probs[po + j] = e; sum += e; }
        for (int j = 0; j < a.Tk; j++)
        {
            float p = j < limit ? probs[po + j] / sum : 0f;
            probs[po + j] = p;
            if (a.Drop != 0)
            {
                ulong z = a.Key + (ulong)(po + j) * 0x9E3779B97F4A7C15UL;
                z += 0x9E3779B97F4A7C15UL;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                z ^= z >> 31;
                dropped[po + j] = (z >> 11) < a.Threshold ? 0f : p * a.Keep;
            }
        }
    }

    /// <summary>y[b, i, c] = Σ_j p[b, i, j]·v[b, j, c].</summary>
    internal static void AttentionValues(Index1D idx, ArrayView<float> p, ArrayView<float> v, ArrayView<float> y, AttnParams a)
    {
        int b = idx / (a.Tq * a.Dv), i = idx / a.Dv % a.Tq, c = idx % a.Dv;
        float s = 0f;
        for (int j = 0; j < a.Tk; j++) s += p[(b * a.Tq + i) * a.Tk + j] * v[(b * a.Tk + j) * a.Dv + c];
        y[idx] = s;
    }

    /// <summary>dv[b, j, c] = Σ_i p̃[b, i, j]·dy[b, i, c].</summary>
    internal static void AttentionDv(Index1D idx, ArrayView<float> p, ArrayView<float> dy, ArrayView<float> dv, AttnParams a)
    {
        int b = idx / (a.Tk * a.Dv), j = idx / a.Dv % a.Tk, c = idx % a.Dv;
        float s = 0f;
        for (int i = 0; i < a.Tq; i++) s += p[(b * a.Tq + i) * a.Tk + j] * dy[(b * a.Tq + i) * a.Dv + c];
        dv[idx] = s;
    }

    /// <summary>Row (b, i): ds = scale·p∘(dp − Σ dp∘p) with dp[j] = dy[b, i]·v[b, j] (times the dropout mask).</summary>
    internal static void AttentionDs(Index1D row, ArrayView<float> dy, ArrayView<float> v, ArrayView<float> probs,
        ArrayView<float> dropped, ArrayView<float> ds, AttnParams a)
    {
        int b = row / a.Tq, po = row * a.Tk, yo = row * a.Dv;
        float dot = 0f;
        for (int j = 0; j < a.Tk; j++)
        {
            float dp = 0f;
            int vo = (b * a.Tk + j) * a.Dv;
            for (int c = 0; c < a.Dv; c++) dp += dy[yo + c] * v[vo + c];
            if (a.Drop != 0) dp = dropped[po + j] != 0f ? dp * a.Keep : 0f;
            ds[po + j] = dp;
            dot += dp * probs[po + j];
        }
        for (int j = 0; j < a.Tk; j++) ds[po + j] = a.Scale * probs[po + j] * (ds[po + j] - dot);
    }

    /// <summary>dq[b, i, c] = Σ_j ds[b, i, j]·k[b, j, c].</summary>
    internal static void AttentionDq(Index1D idx, ArrayView<float> ds, ArrayView<float> k, ArrayView<float> dq, AttnParams a)
    {
        int b = idx / (a.Tq * a.D), i = idx / a.D % a.Tq, c = idx % a.D;
        float s = 0f;
        for (int j = 0; j < a.Tk; j++) s += ds[(b * a.Tq + i) * a.Tk + j] * k[(b * a.Tk + j) * a.D + c];
        dq[idx] = s;
    }

    /// <summary>dk[b, j, c] = Σ_i ds[b, i, j]·q[b, i, c].</summary>
    internal static void AttentionDk(Index1D idx, ArrayView<float> ds, ArrayView<float> q, ArrayView<float> dk, AttnParams a)
    {
        int b = idx / (a.Tk * a.D), j = idx / a.D % a.Tk, c = idx % a.D;
        float s = 0f;
        for (int i = 0; i < a.Tq; i++) s += ds[(b * a.Tq + i) * a.Tk + j] * q[(b * a.Tq + i) * a.D + c];
        dk[idx] = s;
    }

    /// <summary>y[n, t, c] = x[n, t, c] + PE[t, c] (sin for even c, cos for odd c; ω = base^(−2⌊c/2⌋/D)).</summary>
    internal static void PositionalEncoding(Index1D idx, ArrayView<float> x, ArrayView<float> y, int t, int d, float logBase)
    {
        int pos = idx / d % t, c = idx % d;
        float w = MathF.Exp(-(c - c % 2) * logBase / d);
        y[idx] = x[idx] + (c % 2 == 0 ? MathF.Sin(pos * w) : MathF.Cos(pos * w));
    }

    /// <summary>y[n, r, c] = token[c] for r = 0, x[n, r − 1, c] otherwise.</summary>
    internal static void ClassToken(Index1D idx, ArrayView<float> x, ArrayView<float> token, ArrayView<float> y, int t, int d)
    {
        int n = idx / ((t + 1) * d), r = idx / d % (t + 1), c = idx % d;
        y[idx] = r == 0 ? token[c] : x[(n * t + r - 1) * d + c];
    }

    /// <summary>dx[n, r, c] = dy[n, r + 1, c].</summary>
    internal static void ClassTokenDx(Index1D idx, ArrayView<float> dy, ArrayView<float> dx, int t, int d)
    {
        int n = idx / (t * d), r = idx / d % t, c = idx % d;
        dx[idx] = dy[(n * (t + 1) + r + 1) * d + c];
    }

    /// <summary>dtoken[c] = Σ_n dy[n, 0, c].</summary>
    internal static void ClassTokenDtoken(Index1D c, ArrayView<float> dy, ArrayView<float> dtoken, int n, int t, int d)
    {
        float s = 0f;
        for (int i = 0; i < n; i++) s += dy[i * (t + 1) * d + c];
        dtoken[c] = s;
    }
}
