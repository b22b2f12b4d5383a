using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>Loss sizes and options for the ILGPU loss kernels. Mode: 0 sum, 1 mean over N (or elements), 2 mean over Σ w[y].</summary>
internal struct LossParams
{
    public int N, C, HasWeights, Mode, Squared, Kind;
    public float Eps, Margin, Gamma, Alpha, Beta;
}

// ILGPU loss kernels: one thread per sample for the forward terms (then a one-thread reduction: N is a batch size), one thread
// per element of the gradient; the upstream gradient dy[0] and the divisor d[0] are read on the device.
internal static partial class GpuKernels
{
    private static float W(ArrayView<float> w, int hasW, int c) => hasW != 0 ? w[c] : 1f;

    /// <summary>d[0] = 1 (sum), N (mean), or Σ w[y_i] (weighted mean).</summary>
    public static void LossDivisor(Index1D index, ArrayView<int> labels, ArrayView<float> weights, ArrayView<float> d, LossParams p)
    {
        if (p.Mode == 0) { d[0] = 1f; return; }
        if (p.Mode == 1) { d[0] = p.N; return; }
        float s = 0f;
        for (int i = 0; i < p.N; i++) { int y = labels[i]; if (y >= 0 && y < p.C) s += weights[y]; }
        d[0] = s;
    }

    /// <summary>Softmax of row n into probs; returns log Σ exp.</summary>
    private static float SoftmaxRow(ArrayView<float> x, ArrayView<float> probs, int o, int c)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < c; j++) { float v = x[o + j]; if (v > max) max = v; }
        float sum = 0f;
        for (int j = 0; j < c; j++) { float e = MathF.Exp(x[o + j] - max); probs[o + j] = e; sum += e; }
        float inv = 1f / sum;
        for (int j = 0; j < c; j++) probs[o + j] *= inv;
        return max + MathF.Log(sum);
    }

    public static void CrossEntropyRows(Index1D index, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> weights, ArrayView<float> probs,
        ArrayView<float> rows, ArrayView<int> error, LossParams p)
    {
        int n = index, o = n * p.C;
        float lse = SoftmaxRow(logits, probs, o, p.C);
        int y = labels[n];
        if (y < 0 || y >= p.C) { error[0] = 1; rows[n] = 0f; return; }
        float term = (1f - p.Eps) * W(weights, p.HasWeights, y) * (lse - logits[o + y]);
        if (p.Eps != 0f)
        {
            float s = 0f;
            for (int j = 0; j < p.C; j++) s += W(weights, p.HasWeights, j) * (lse - logits[o + j]);
            term += p.Eps / p.C * s;
        }
        rows[n] = term;
    }

    public static void CrossEntropyBackward(Index1D index, ArrayView<float> dy, ArrayView<float> probs, ArrayView<int> labels, ArrayView<float> weights,
        ArrayView<float> d, ArrayView<float> dlogits, LossParams p)
    {
        int i = index, n = i / p.C, j = i % p.C, y = labels[n];
        float scale = dy[0] / d[0], epsC = p.Eps / p.C, wsum = 0f;
        if (p.Eps != 0f) for (int k = 0; k < p.C; k++) wsum += W(weights, p.HasWeights, k);
        float wy = y >= 0 && y < p.C ? W(weights, p.HasWeights, y) : 0f;
        float s = (1f - p.Eps) * wy + epsC * wsum;
        float q = epsC * W(weights, p.HasWeights, j) + (j == y ? (1f - p.Eps) * wy : 0f);
        dlogits[i] = (s * probs[i] - q) * scale;
    }

    public static void NllRows(Index1D index, ArrayView<float> logp, ArrayView<int> labels, ArrayView<float> weights, ArrayView<float> rows, ArrayView<int> error, LossParams p)
    {
        int n = index, y = labels[n];
        if (y < 0 || y >= p.C) { error[0] = 1; rows[n] = 0f; return; }
        rows[n] = -W(weights, p.HasWeights, y) * logp[n * p.C + y];
    }

    public static void NllBackward(Index1D index, ArrayView<float> dy, ArrayView<int> labels, ArrayView<float> weights, ArrayView<float> d, ArrayView<float> dlogp, LossParams p)
    {
        int i = index, n = i / p.C, j = i % p.C, y = labels[n];
        dlogp[i] = j == y ? -W(weights, p.HasWeights, y) * dy[0] / d[0] : 0f;
    }

    public static void MultiMarginRows(Index1D index, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> rows, ArrayView<int> error, LossParams p)
    {
        int n = index, o = n * p.C, y = labels[n];
        if (y < 0 || y >= p.C) { error[0] = 1; rows[n] = 0f; return; }
        float s = 0f, xy = x[o + y];
        for (int j = 0; j < p.C; j++)
        {
            if (j == y) continue;
            float u = p.Margin - xy + x[o + j];
            if (u > 0f) s += p.Squared != 0 ? u * u : u;
        }
        rows[n] = s / p.C;
    }

    /// <summary>Gradient element (n, j): for j ≠ y its hinge term's slope; for j = y minus the sum of the others (gathered).</summary>
    public static void MultiMarginBackward(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> d, ArrayView<float> dx, LossParams p)
    {
        int i = index, n = i / p.C, j = i % p.C, o = n * p.C, y = labels[n];
        float scale = dy[0] / d[0] / p.C, xy = x[o + y];
        if (j != y)
        {
            float u = p.Margin - xy + x[i];
            dx[i] = u > 0f ? (p.Squared != 0 ? 2f * u : 1f) * scale : 0f;
            return;
        }
        float g = 0f;
        for (int k = 0; k < p.C; k++)
        {
            if (k == y) continue;
            float u = p.Margin - xy + x[o + k];
            if (u > 0f) g -= (p.Squared != 0 ? 2f * u : 1f) * scale;
        }
        dx[i] = g;
    }

    public static void FocalRows(Index1D index, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> probs, ArrayView<float> rows, ArrayView<int> error, LossParams p)
    {
        int n = index, o = n * p.C;
        float lse = SoftmaxRow(logits, probs, o, p.C);
        int y = labels[n];
        if (y < 0 || y >= p.C) { error[0] = 1; rows[n] = 0f; return; }
        float logp = logits[o + y] - lse, pt = MathF.Exp(logp);
        rows[n] = -p.Alpha * MathF.Pow(1f - pt, p.Gamma) * logp;
    }

    public static void FocalBackward(Index1D index, ArrayView<float> dy, ArrayView<float> probs, ArrayView<int> labels, ArrayView<float> d, ArrayView<float> dlogits, LossParams p)
    {
        int i = index, n = i / p.C, j = i % p.C, y = labels[n];
        float pt = probs[n * p.C + y], q = 1f - pt, logp = MathF.Log(pt);
        float first = q > 0f && p.Gamma != 0f ? p.Gamma * MathF.Pow(q, p.Gamma - 1f) * pt * logp : 0f;
        float g = p.Alpha * (first - MathF.Pow(q, p.Gamma)) * dy[0] / d[0];
        dlogits[i] = g * ((j == y ? 1f : 0f) - probs[i]);
    }

    private static float RegressionTerm(int kind, float d, float beta)
    {
        float a = MathF.Abs(d);
        if (kind == 0) return d * d;
        if (kind == 1) return a;
        return a < beta ? 0.5f * d * d / beta : a - 0.5f * beta;
    }

    public static void RegressionTerms(Index1D index, ArrayView<float> y, ArrayView<float> t, ArrayView<float> rows, LossParams p)
    {
        int i = index;
        rows[i] = RegressionTerm(p.Kind, y[i] - t[i], p.Beta);
    }

    public static void RegressionBackward(Index1D index, ArrayView<float> dy, ArrayView<float> y, ArrayView<float> t, ArrayView<float> d, ArrayView<float> dpred, LossParams p)
    {
        int i = index;
        float diff = y[i] - t[i], sign = diff > 0f ? 1f : diff < 0f ? -1f : 0f, g;
        if (p.Kind == 0) g = 2f * diff;
        else if (p.Kind == 1) g = sign;
        else g = MathF.Abs(diff) < p.Beta ? diff / p.Beta : sign;
        dpred[i] = g * dy[0] / d[0];
    }

    /// <summary>d[0] = a constant divisor (1, N or an element count).</summary>
    public static void SetScalar(Index1D index, ArrayView<float> d, float value) => d[0] = value;
}
