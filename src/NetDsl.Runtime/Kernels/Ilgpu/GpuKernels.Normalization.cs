using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>Sizes of a normalization launch: x viewed as [N, C, Inner]; rows of RowLen values for layer/group norm.</summary>
internal struct NormParams
{
    public int N, C, Inner, RowLen, Cg, Groups, HasAffine, Training;
    public float Eps, Momentum;
}

// Normalization: statistics (batchnorm per channel, layer/group norm per row) and the channel parameter gradients are group
// reductions (GpuKernels.Reductions.cs; two passes per statistic: the mean, then the squared deviations); one thread per
// element for the normalized output and batchnorm's dx; one thread per row for the layer/group norm dx and per column for
// layernorm's weight gradient.
internal static partial class GpuKernels
{
    // ---------------------------------------------------------------- batchnorm
    /// <summary>y = (x − mean)·invstd·w + b, statistics per channel (RowLen = 0) or per row of RowLen values; affine per channel.</summary>
    public static void NormApplyChannels(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> w, ArrayView<float> b, NormParams p)
    {
        int i = index;
        int ch = (i / p.Inner) % p.C;
        int s = p.RowLen > 0 ? i / p.RowLen : ch;
        float v = (x[i] - mean[s]) * invStd[s];
        y[i] = p.HasAffine != 0 ? v * w[ch] + b[ch] : v;
    }

    /// <summary>batchnorm dx from the channel sums (dweight = Σ dy·x̂, dbias = Σ dy).</summary>
    public static void BatchNormBackwardData(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> w, ArrayView<float> mean,
        ArrayView<float> invStd, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> dx, NormParams p)
    {
        int i = index;
        int ch = (i / p.Inner) % p.C;
        float inv = invStd[ch], a = w[ch] * inv;
        if (p.Training == 0) { dx[i] = a * dy[i]; return; }
        float count = (float)p.N * p.Inner;
        float xhat = (x[i] - mean[ch]) * inv;
        dx[i] = a * (dy[i] - dbias[ch] / count - xhat * dweight[ch] / count);
    }

    // ---------------------------------------------------------------- layernorm and groupnorm: rows of RowLen contiguous values
    /// <summary>layernorm output: the weight and bias run along the row.</summary>
    public static void LayerNormApply(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> w, ArrayView<float> b, NormParams p)
    {
        int i = index;
        int r = i / p.RowLen, j = i % p.RowLen;
        float v = (x[i] - mean[r]) * invStd[r];
        y[i] = p.HasAffine != 0 ? v * w[j] + b[j] : v;
    }

    /// <summary>
    /// dx of one row (layernorm: weight index j; groupnorm: weight index = channel): g = dy·w, dx = invstd·(g − mean(g) − x̂·mean(g·x̂)).
    /// Cg = 0 marks layernorm.
    /// </summary>
    public static void RowNormBackward(Index1D r, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> w, ArrayView<float> mean,
        ArrayView<float> invStd, ArrayView<float> dx, NormParams p)
    {
        int o = r * p.RowLen;
        float mu = mean[r], inv = invStd[r], s1 = 0f, s2 = 0f;
        for (int j = 0; j < p.RowLen; j++)
        {
            float wj = p.HasAffine == 0 ? 1f : p.Cg == 0 ? w[j] : w[(r * p.RowLen + j) / p.Inner % p.C];
            float g = dy[o + j] * wj;
            s1 += g; s2 += g * (x[o + j] - mu) * inv;
        }
        for (int j = 0; j < p.RowLen; j++)
        {
            float wj = p.HasAffine == 0 ? 1f : p.Cg == 0 ? w[j] : w[(r * p.RowLen + j) / p.Inner % p.C];
            float xhat = (x[o + j] - mu) * inv;
            dx[o + j] = inv * (dy[o + j] * wj - s1 / p.RowLen - xhat * s2 / p.RowLen);
        }
    }

    /// <summary>layernorm dweight[j] = Σ_rows dy·x̂, dbias[j] = Σ_rows dy (N holds the row count).</summary>
    public static void LayerNormWeightGrad(Index1D j, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> dweight, ArrayView<float> dbias, NormParams p)
    {
        float sdy = 0f, sdyx = 0f;
        for (int r = 0; r < p.N; r++)
        {
            int i = r * p.RowLen + j;
            float g = dy[i];
            sdy += g; sdyx += g * (x[i] - mean[r]) * invStd[r];
        }
        dbias[j] = sdy;
        dweight[j] = sdyx;
    }

    // ---------------------------------------------------------------- local response normalization
    public static void LrnForward(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, NormParams p, int size, float alpha, float beta, float k)
    {
        int i = index;
        int q = i % p.Inner, ch = (i / p.Inner) % p.C, n = i / (p.Inner * p.C);
        int c0 = ch - size / 2, c1 = ch + (size - 1) / 2;
        if (c0 < 0) c0 = 0;
        if (c1 > p.C - 1) c1 = p.C - 1;
        float s = 0f;
        for (int c = c0; c <= c1; c++) { float v = x[(n * p.C + c) * p.Inner + q]; s += v * v; }
        float d = k + alpha / size * s;
        scale[i] = d;
        y[i] = x[i] * MathF.Exp(-beta * MathF.Log(d));
    }

    public static void LrnBackward(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, ArrayView<float> dx,
        NormParams p, int size, float alpha, float beta)
    {
        int i = index;
        int q = i % p.Inner, j = (i / p.Inner) % p.C, n = i / (p.Inner * p.C);
        int c0 = j - (size - 1) / 2, c1 = j + size / 2;
        if (c0 < 0) c0 = 0;
        if (c1 > p.C - 1) c1 = p.C - 1;
        float s = 0f;
        for (int c = c0; c <= c1; c++) { int o = (n * p.C + c) * p.Inner + q; s += dy[o] * y[o] / scale[o]; }
        dx[i] = dy[i] * MathF.Exp(-beta * MathF.Log(scale[i])) - 2f * alpha * beta / size * x[i] * s;
    }
}
