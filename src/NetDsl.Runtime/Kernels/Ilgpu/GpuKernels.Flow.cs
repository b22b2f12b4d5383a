using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

// ILGPU kernels of the normalizing-flow family (float; docs/ops/flows.md): one thread per output element, gathers.
internal static partial class GpuKernels
{
    private static float FlowSigmoid2(float z) => 1f / (1f + MathF.Exp(-(z + 2f)));

    /// <summary>One thread per element: y = a·x + b with (a, b) = (s, b) or (1/s, −b/s).</summary>
    public static void ActNormForward(Index1D index, ArrayView<float> x, ArrayView<float> s, ArrayView<float> b, ArrayView<float> y, int c, int plane, int inverse)
    {
        int i = index, ch = i / plane % c;
        y[i] = inverse != 0 ? (x[i] - b[ch]) / s[ch] : x[i] * s[ch] + b[ch];
    }

    /// <summary>One thread per element of dx.</summary>
    public static void ActNormBackwardData(Index1D index, ArrayView<float> dy, ArrayView<float> s, ArrayView<float> dx, int c, int plane, int inverse)
    {
        int i = index, ch = i / plane % c;
        dx[i] = inverse != 0 ? dy[i] / s[ch] : dy[i] * s[ch];
    }

    /// <summary>One thread per channel: ds and db summed over the batch and the plane.</summary>
    public static void ActNormBackwardParams(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> s, ArrayView<float> b,
        ArrayView<float> ds, ArrayView<float> db, int n, int c, int plane, int inverse)
    {
        int ch = index;
        float sum = 0f, dot = 0f;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < plane; k++) { int o = (i * c + ch) * plane + k; sum += dy[o]; dot += dy[o] * x[o]; }
        if (inverse != 0)
        {
            float inv = 1f / s[ch];
            ds[ch] = -(dot - b[ch] * sum) * inv * inv;
            db[ch] = -sum * inv;
        }
        else { ds[ch] = dot; db[ch] = sum; }
    }

    /// <summary>One thread per sample: positions·Σ log|p| or positions·Σ p.</summary>
    public static void FlowLogDetForward(Index1D index, ArrayView<float> p, ArrayView<float> ld, int c, int positions, int logAbs)
    {
        float sum = 0f;
        for (int k = 0; k < c; k++) sum += logAbs != 0 ? MathF.Log(MathF.Abs(p[k])) : p[k];
        ld[index] = positions * sum;
    }

    /// <summary>One thread per channel: positions·Σ_n dy_n·(1/p or 1).</summary>
    public static void FlowLogDetBackward(Index1D index, ArrayView<float> dy, ArrayView<float> p, ArrayView<float> dp, int n, int positions, int logAbs)
    {
        int k = index;
        float g = 0f;
        for (int i = 0; i < n; i++) g += dy[i];
        g *= positions;
        dp[k] = logAbs != 0 ? g / p[k] : g;
    }

    /// <summary>One thread per (i, j): W[i, j] = Σ_{k ≤ min(π(i), j)} L[π(i), k]·M[k, j].</summary>
    public static void InvConvWeight(Index1D index, ArrayView<float> lower, ArrayView<float> upper, ArrayView<float> logs, ArrayView<int> perm, ArrayView<float> w, int c)
    {
        int i = index / c, j = index % c, r = perm[i];
        int kmax = r < j ? r : j;
        float sum = 0f;
        for (int k = 0; k <= kmax; k++)
        {
            float l = k == r ? 1f : lower[r * c + k];
            float m = k == j ? MathF.Exp(logs[k]) : upper[k * c + j];
            sum += l * m;
        }
        w[index] = sum;
    }

    /// <summary>One thread per column j of W⁻¹ = M⁻¹·L⁻¹·Pᵀ: the column of Pᵀ, forward then back substitution in place.</summary>
    public static void InvConvWeightInverse(Index1D index, ArrayView<float> lower, ArrayView<float> upper, ArrayView<float> logs, ArrayView<int> perm, ArrayView<float> w, int c)
    {
        int j = index;
        for (int r = 0; r < c; r++) w[r * c + j] = 0f;
        w[perm[j] * c + j] = 1f;
        for (int r = 1; r < c; r++)
        {
            float v = w[r * c + j];
            for (int k = 0; k < r; k++) v -= lower[r * c + k] * w[k * c + j];
            w[r * c + j] = v;
        }
        for (int r = c - 1; r >= 0; r--)
        {
            float v = w[r * c + j];
            for (int k = r + 1; k < c; k++) v -= upper[r * c + k] * w[k * c + j];
            w[r * c + j] = v / MathF.Exp(logs[r]);
        }
    }

    /// <summary>One thread per (i, j): G[π(i), j] = dW[i, j].</summary>
    public static void InvConvPermuteGrad(Index1D index, ArrayView<float> dw, ArrayView<int> perm, ArrayView<float> g, int c)
    {
        int i = index / c, j = index % c;
        g[perm[i] * c + j] = dw[index];
    }

    /// <summary>One thread per (a, j): T1[a, j] = Σ_b dB[a, b]·B[j, b].</summary>
    public static void InvConvInverseGrad1(Index1D index, ArrayView<float> db, ArrayView<float> b, ArrayView<float> t1, int c)
    {
        int a = index / c, j = index % c;
        float sum = 0f;
        for (int k = 0; k < c; k++) sum += db[a * c + k] * b[j * c + k];
        t1[index] = sum;
    }

    /// <summary>One thread per (i, j): G[π(i), j] = −Σ_a B[a, i]·T1[a, j].</summary>
    public static void InvConvInverseGrad2(Index1D index, ArrayView<float> b, ArrayView<float> t1, ArrayView<int> perm, ArrayView<float> g, int c)
    {
        int i = index / c, j = index % c;
        float sum = 0f;
        for (int a = 0; a < c; a++) sum += b[a * c + i] * t1[a * c + j];
        g[perm[i] * c + j] = -sum;
    }

    /// <summary>One thread per (r, k): dL[r, k] = Σ_j G[r, j]·M[k, j] for k &lt; r, else 0.</summary>
    public static void InvConvLowerGrad(Index1D index, ArrayView<float> g, ArrayView<float> upper, ArrayView<float> logs, ArrayView<float> dl, int c)
    {
        int r = index / c, k = index % c;
        if (k >= r) { dl[index] = 0f; return; }
        float sum = g[r * c + k] * MathF.Exp(logs[k]);
        for (int j = k + 1; j < c; j++) sum += g[r * c + j] * upper[k * c + j];
        dl[index] = sum;
    }

    /// <summary>One thread per (k, j): dM[k, j] = G[k, j] + Σ_{r &gt; k} L[r, k]·G[r, j]; dU off the diagonal, dlog_s on it.</summary>
    public static void InvConvUpperGrad(Index1D index, ArrayView<float> g, ArrayView<float> lower, ArrayView<float> logs, ArrayView<float> du, ArrayView<float> dls, int c)
    {
        int k = index / c, j = index % c;
        if (j < k) { du[index] = 0f; return; }
        float sum = g[k * c + j];
        for (int r = k + 1; r < c; r++) sum += lower[r * c + k] * g[r * c + j];
        if (j == k) { dls[k] = sum * MathF.Exp(logs[k]); du[index] = 0f; }
        else du[index] = sum;
    }

    /// <summary>One thread per element of y.</summary>
    public static void CouplingForward(Index1D index, ArrayView<float> x, ArrayView<float> h, ArrayView<float> y, int c, int plane, int inverse)
    {
        int i = index, ch = i / plane % c, half = c / 2;
        if (ch < half) { y[i] = x[i]; return; }
        int lsIndex = i - half * plane;
        float sg = FlowSigmoid2(h[lsIndex]);
        y[i] = inverse != 0 ? x[i] / sg - h[i] : (x[i] + h[i]) * sg;
    }

    /// <summary>One thread per element of the second half (n, c &gt;= C/2, position): writes dx of both halves' pair and dh of (log s, t).</summary>
    public static void CouplingBackward(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> h, ArrayView<float> dx, ArrayView<float> dh,
        int c, int plane, int inverse, int hasDx)
    {
        int halfPlane = c / 2 * plane;
        int n = index / halfPlane, k = index % halfPlane;
        int a = n * c * plane + k, b = a + halfPlane;
        float g = dy[b], xb = x[b], t = h[b], sg = FlowSigmoid2(h[a]);
        if (inverse != 0)
        {
            dh[a] = -g * xb * (1f - sg) / sg;
            dh[b] = -g;
            if (hasDx != 0) { dx[a] = dy[a]; dx[b] = g / sg; }
        }
        else
        {
            dh[a] = g * (xb + t) * sg * (1f - sg);
            dh[b] = g * sg;
            if (hasDx != 0) { dx[a] = dy[a]; dx[b] = g * sg; }
        }
    }

    /// <summary>One thread per sample: Σ log sigmoid(h + 2) over the log-s half.</summary>
    public static void CouplingLogDetForward(Index1D index, ArrayView<float> h, ArrayView<float> ld, int c, int plane)
    {
        int n = index, halfPlane = c / 2 * plane;
        float sum = 0f;
        for (int k = 0; k < halfPlane; k++)
        {
            float z = h[n * c * plane + k] + 2f;
            sum -= MathF.Max(-z, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(z)));
        }
        ld[n] = sum;
    }

    /// <summary>One thread per element of dh.</summary>
    public static void CouplingLogDetBackward(Index1D index, ArrayView<float> dy, ArrayView<float> h, ArrayView<float> dh, int c, int plane)
    {
        int i = index, per = c * plane, n = i / per;
        dh[i] = i % per < c / 2 * plane ? dy[n] * (1f - FlowSigmoid2(h[i])) : 0f;
    }

    /// <summary>One thread per sample: −½·Σ z² − ½·D·ln 2π.</summary>
    public static void GaussianLogProbForward(Index1D index, ArrayView<float> z, ArrayView<float> lp, int d)
    {
        int n = index;
        float sq = 0f;
        for (int k = 0; k < d; k++) { float v = z[n * d + k]; sq += v * v; }
        lp[n] = -0.5f * sq - 0.5f * d * 1.8378770664093453f;
    }

    public static void GaussianLogProbBackward(Index1D index, ArrayView<float> dy, ArrayView<float> z, ArrayView<float> dz, int d)
    {
        int i = index;
        dz[i] = -dy[i / d] * z[i];
    }
}
