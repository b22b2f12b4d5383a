using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

// ILGPU kernels of the generative family: the same counter-based noise as CpuKernels (Box–Muller in float here), element-wise
// loss terms, and per-row kernels for triplet margin, NT-Xent and distillation (one thread per row or per output element).
internal static partial class GpuKernels
{
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static float GenNormal(ulong key, long i)
    {
        ulong h1 = Mix(key + (ulong)(2 * i) * 0x9E3779B97F4A7C15UL), h2 = Mix(key + (ulong)(2 * i + 1) * 0x9E3779B97F4A7C15UL);
        float u1 = (float)(((h1 >> 11) + 1) * (1.0 / 9007199254740992.0)), u2 = (float)((h2 >> 11) * (1.0 / 9007199254740992.0));
        if (u1 <= 0f) u1 = 1.1754944e-38f;
        return MathF.Sqrt(-2f * MathF.Log(u1)) * MathF.Cos(6.2831853071795865f * u2);
    }

    public static void RandomFillK(Index1D index, ArrayView<float> y, int kind, float a, float b, ulong key)
    {
        int i = index;
        if (kind == 0) y[i] = a + b * GenNormal(key, i);
        else y[i] = a + (b - a) * (float)((Mix(key + (ulong)(2L * i) * 0x9E3779B97F4A7C15UL) >> 11) * (1.0 / 9007199254740992.0));
    }

    public static void SampleNormalK(Index1D index, ArrayView<float> mu, ArrayView<float> logvar, ArrayView<float> noise, ArrayView<float> z, ulong key)
    {
        int i = index;
        float e = MathF.Exp(0.5f * logvar[i]) * GenNormal(key, i);
        noise[i] = e;
        z[i] = mu[i] + e;
    }

    private static float GSoftplus(float x) => MathF.Max(x, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(x)));
    private static float GSigmoid(float x) => x >= 0f ? 1f / (1f + MathF.Exp(-x)) : MathF.Exp(x) / (1f + MathF.Exp(x));
    private static float GClampLog(float x) => MathF.Max(MathF.Log(x), -100f);

    public static void PointwiseTermsK(Index1D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> rows, int kind)
    {
        int i = index;
        float x = a[i], t = b[i], r;
        if (kind == 0) r = -(t * GClampLog(x) + (1f - t) * GClampLog(1f - x));
        else if (kind == 1) r = MathF.Max(x, 0f) - x * t + MathF.Log(1f + MathF.Exp(-MathF.Abs(x)));
        else if (kind == 2) r = 0.5f * (MathF.Exp(t) + x * x - 1f - t);
        else if (kind == 3) r = GSoftplus(-x);
        else if (kind == 4) r = GSoftplus(x);
        else r = -GSoftplus(x);
        rows[i] = r;
    }

    public static void PointwiseBackwardK(Index1D index, ArrayView<float> dy, ArrayView<float> a, ArrayView<float> b, ArrayView<float> da, ArrayView<float> db, int kind, float divisor, int withDb)
    {
        int i = index;
        float x = a[i], t = b[i], ga, gb = 0f;
        if (kind == 0) { ga = (x - t) / MathF.Max((1f - x) * x, 1e-12f); gb = GClampLog(1f - x) - GClampLog(x); }
        else if (kind == 1) { ga = GSigmoid(x) - t; gb = -x; }
        else if (kind == 2) { ga = x; gb = 0.5f * (MathF.Exp(t) - 1f); }
        else if (kind == 3) ga = GSigmoid(x) - 1f;
        else if (kind == 4) ga = GSigmoid(x);
        else ga = -GSigmoid(x);
        float g = dy[0] / divisor;
        da[i] = g * ga;
        if (withDb != 0) db[i] = g * gb;
    }

    private static float PairDist(ArrayView<float> x, ArrayView<float> y, int o, int d)
    {
        float s = 0f;
        for (int j = 0; j < d; j++) { float v = x[o + j] - y[o + j] + 1e-6f; s += v * v; }
        return MathF.Sqrt(s);
    }

    public static void TripletRowsK(Index1D index, ArrayView<float> a, ArrayView<float> p, ArrayView<float> n, ArrayView<float> rows, int d, float margin)
    {
        int i = index;
        rows[i] = MathF.Max(PairDist(a, p, i * d, d) - PairDist(a, n, i * d, d) + margin, 0f);
    }

    public static void TripletBackwardK(Index1D index, ArrayView<float> dy, ArrayView<float> a, ArrayView<float> p, ArrayView<float> n, ArrayView<float> da, ArrayView<float> dp, ArrayView<float> dn, int d, float margin, float divisor)
    {
        int e = index, i = e / d, o = i * d;
        float dap = PairDist(a, p, o, d), dan = PairDist(a, n, o, d), g = dy[0] / divisor;
        bool active = dap - dan + margin > 0f;
        float gp = active && dap > 0f ? (a[e] - p[e] + 1e-6f) * g / dap : 0f;
        float gn = active && dan > 0f ? (a[e] - n[e] + 1e-6f) * g / dan : 0f;
        da[e] = gp - gn; dp[e] = -gp; dn[e] = gn;
    }

    /// <summary>One thread per row k of [z1; z2]: norm[k] = max(‖z_k‖, 1e-12), u_k = z_k / norm[k] (scratch layout: u [m·d], norm [m], lse [m], du [m·d]).</summary>
    public static void NtXentNormK(Index1D index, ArrayView<float> z1, ArrayView<float> z2, ArrayView<float> s, int n, int d)
    {
        int k = index, m = 2 * n;
        float sum = 0f;
        for (int e = 0; e < d; e++) { float v = k < n ? z1[k * d + e] : z2[(k - n) * d + e]; sum += v * v; }
        float nk = MathF.Max(MathF.Sqrt(sum), 1e-12f);
        s[m * d + k] = nk;
        for (int e = 0; e < d; e++) s[k * d + e] = (k < n ? z1[k * d + e] : z2[(k - n) * d + e]) / nk;
    }

    private static float UDot(ArrayView<float> s, int k, int j, int d)
    {
        float r = 0f;
        for (int e = 0; e < d; e++) r += s[k * d + e] * s[j * d + e];
        return r;
    }

    /// <summary>One thread per row: lse[k] over j ≠ k of u_k·u_j/τ; rows[k] = lse[k] − u_k·u_pos/τ.</summary>
    public static void NtXentLseK(Index1D index, ArrayView<float> s, ArrayView<float> rows, int n, int d, float tau)
    {
        int k = index, m = 2 * n;
        float max = float.NegativeInfinity;
        for (int j = 0; j < m; j++) if (j != k) max = MathF.Max(max, UDot(s, k, j, d) / tau);
        float sum = 0f;
        for (int j = 0; j < m; j++) if (j != k) sum += MathF.Exp(UDot(s, k, j, d) / tau - max);
        float lse = max + MathF.Log(sum);
        s[m * d + m + k] = lse;
        rows[k] = lse - UDot(s, k, (k + n) % m, d) / tau;
    }

    /// <summary>One thread per row k: du_k = (1/τ)Σ_j (G_kj + G_jk)u_j, then dz_k = (du_k − u_k(u_k·du_k))/norm_k.</summary>
    public static void NtXentBackwardK(Index1D index, ArrayView<float> dy, ArrayView<float> s, ArrayView<float> dz1, ArrayView<float> dz2, int n, int d, float tau, float divisor)
    {
        int k = index, m = 2 * n, du = m * d + 2 * m;
        float g = dy[0] / divisor;
        for (int e = 0; e < d; e++) s[du + k * d + e] = 0f;
        for (int j = 0; j < m; j++)
        {
            if (j == k) continue;
            float sim = UDot(s, k, j, d) / tau;
            float gkj = g * (MathF.Exp(sim - s[m * d + m + k]) - (j == (k + n) % m ? 1f : 0f));
            float gjk = g * (MathF.Exp(sim - s[m * d + m + j]) - (k == (j + n) % m ? 1f : 0f));
            float c = (gkj + gjk) / tau;
            for (int e = 0; e < d; e++) s[du + k * d + e] += c * s[j * d + e];
        }
        float ud = 0f;
        for (int e = 0; e < d; e++) ud += s[k * d + e] * s[du + k * d + e];
        float nk = s[m * d + k];
        bool clamped = nk <= 1e-12f;
        for (int e = 0; e < d; e++)
        {
            float v = (clamped ? s[du + k * d + e] : s[du + k * d + e] - s[k * d + e] * ud) / nk;
            if (k < n) dz1[k * d + e] = v; else dz2[(k - n) * d + e] = v;
        }
    }

    private static float RowLse(ArrayView<float> x, int o, int c, float tau)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < c; j++) max = MathF.Max(max, x[o + j] / tau);
        float sum = 0f;
        for (int j = 0; j < c; j++) sum += MathF.Exp(x[o + j] / tau - max);
        return max + MathF.Log(sum);
    }

    public static void DistillRowsK(Index1D index, ArrayView<float> s, ArrayView<float> t, ArrayView<float> rows, int c, float tau)
    {
        int i = index, o = i * c;
        float ls = RowLse(s, o, c, tau), lt = RowLse(t, o, c, tau), r = 0f;
        for (int j = 0; j < c; j++)
        {
            float logp = t[o + j] / tau - lt, p = MathF.Exp(logp);
            if (p > 0f) r += p * (logp - (s[o + j] / tau - ls));
        }
        rows[i] = r * tau * tau;
    }

    public static void DistillBackwardK(Index1D index, ArrayView<float> dy, ArrayView<float> s, ArrayView<float> t, ArrayView<float> ds, int c, float tau, float divisor)
    {
        int e = index, o = e / c * c;
        float ls = RowLse(s, o, c, tau), lt = RowLse(t, o, c, tau);
        ds[e] = dy[0] * tau / divisor * (MathF.Exp(s[e] / tau - ls) - MathF.Exp(t[e] / tau - lt));
    }
}
