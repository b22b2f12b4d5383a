using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>Group reductions: one group per reduced channel / row / column, Group.DimX a power of two ≤ <see cref="Max"/>.</summary>
internal static class ReduceGroup
{
    public const int Max = 256;
}

// Reductions that ran one thread per channel or row: one group per output instead, each thread striding over the reduced
// elements, then a shared-memory tree. Batchnorm statistics and parameter gradients, groupnorm/layernorm row statistics,
// the convolution and linear bias gradients, the loss mean.
internal static partial class GpuKernels
{
    /// <summary>The sum of <paramref name="v"/> over the group (every thread gets it); leaves scratch reusable.</summary>
    private static float GroupSum(ArrayView<float> scratch, float v)
    {
        int t = Group.IdxX;
        scratch[t] = v;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s /= 2)
        {
            if (t < s) scratch[t] += scratch[t + s];
            Group.Barrier();
        }
        float r = scratch[0];
        Group.Barrier();
        return r;
    }

    /// <summary>Batchnorm statistics of channel Grid.IdxX (training: mean, biased variance, running updates; eval: running).</summary>
    public static void BatchNormStatsGroup(ArrayView<float> x, ArrayView<float> rm, ArrayView<float> rv, ArrayView<float> mean, ArrayView<float> invStd,
        NormParams p)
    {
        var scratch = SharedMemory.Allocate<float>(ReduceGroup.Max);
        int ch = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        int count = p.N * p.Inner;
        float mu, var;
        if (p.Training != 0)
        {
            float s = 0f;
            for (int e = t; e < count; e += step)
            {
                int n = e / p.Inner;
                s += x[(n * p.C + ch) * p.Inner + (e - n * p.Inner)];
            }
            mu = GroupSum(scratch, s) / count;
            float ss = 0f;
            for (int e = t; e < count; e += step)
            {
                int n = e / p.Inner;
                float d = x[(n * p.C + ch) * p.Inner + (e - n * p.Inner)] - mu;
                ss += d * d;
            }
            ss = GroupSum(scratch, ss);
            var = ss / count;
            if (t == 0)
            {
                rm[ch] = (1f - p.Momentum) * rm[ch] + p.Momentum * mu;
                rv[ch] = (1f - p.Momentum) * rv[ch] + p.Momentum * (ss / (count - 1f));
            }
        }
        else { mu = rm[ch]; var = rv[ch]; }
        if (t == 0)
        {
            mean[ch] = mu;
            invStd[ch] = 1f / MathF.Sqrt(var + p.Eps);
        }
    }

    /// <summary>dbias[c] = Σ dy, dweight[c] = Σ dy·x̂ for channel Grid.IdxX (statistics per channel, or per (n, group) row).</summary>
    public static void NormChannelGradsGroup(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> dweight, ArrayView<float> dbias, NormParams p)
    {
        var scratch = SharedMemory.Allocate<float>(ReduceGroup.Max);
        int ch = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        int count = p.N * p.Inner;
        float sdy = 0f, sdyx = 0f;
        for (int e = t; e < count; e += step)
        {
            int n = e / p.Inner;
            int s = p.RowLen > 0 ? n * p.Groups + ch / p.Cg : ch;
            int i = (n * p.C + ch) * p.Inner + (e - n * p.Inner);
            float g = dy[i];
            sdy += g;
            sdyx += g * (x[i] - mean[s]) * invStd[s];
        }
        sdy = GroupSum(scratch, sdy);
        sdyx = GroupSum(scratch, sdyx);
        if (t == 0)
        {
            dbias[ch] = sdy;
            dweight[ch] = sdyx;
        }
    }

    /// <summary>Mean and 1/std of row Grid.IdxX of RowLen contiguous values (layernorm, groupnorm).</summary>
    public static void RowStatsGroup(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, NormParams p)
    {
        var scratch = SharedMemory.Allocate<float>(ReduceGroup.Max);
        int r = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        int o = r * p.RowLen;
        float s = 0f;
        for (int j = t; j < p.RowLen; j += step) s += x[o + j];
        float mu = GroupSum(scratch, s) / p.RowLen, ss = 0f;
        for (int j = t; j < p.RowLen; j += step) { float d = x[o + j] - mu; ss += d * d; }
        ss = GroupSum(scratch, ss);
        if (t == 0)
        {
            mean[r] = mu;
            invStd[r] = 1f / MathF.Sqrt(ss / p.RowLen + p.Eps);
        }
    }

    /// <summary>db[k] = Σ over n and the plane of dy[n, k], k = Grid.IdxX.</summary>
    public static void ChannelSumsGroup(ArrayView<float> dy, ArrayView<float> db, int n, int channels, int plane)
    {
        var scratch = SharedMemory.Allocate<float>(ReduceGroup.Max);
        int k = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        float s = 0f;
        for (int e = t; e < n * plane; e += step)
        {
            int j = e / plane;
            s += dy[(j * channels + k) * plane + (e - j * plane)];
        }
        s = GroupSum(scratch, s);
        if (t == 0) db[k] = s;
    }

    /// <summary>db[j] = Σ over the m rows of dy [M, O], j = Grid.IdxX.</summary>
    public static void ColumnSumsGroup(ArrayView<float> dy, ArrayView<float> db, int m, int o)
    {
        var scratch = SharedMemory.Allocate<float>(ReduceGroup.Max);
        int j = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        float s = 0f;
        for (int r = t; r < m; r += step) s += dy[r * o + j];
        s = GroupSum(scratch, s);
        if (t == 0) db[j] = s;
    }

    /// <summary>
    /// loss[0] = Σ rows[0..count) / divisor, the divisor d[0] when <paramref name="useDivisorView"/> else count (the mean);
    /// 0 when count is 0. One group.
    /// </summary>
    public static void LossSumGroup(ArrayView<float> rows, ArrayView<float> d, ArrayView<float> loss, int count, int useDivisorView)
    {
        var scratch = SharedMemory.Allocate<float>(ReduceGroup.Max);
        int t = Group.IdxX, step = Group.DimX;
        float s = 0f;
        for (int i = t; i < count; i += step) s += rows[i];
        s = GroupSum(scratch, s);
        if (t == 0) loss[0] = count == 0 ? 0f : s / (useDivisorView != 0 ? d[0] : count);
    }
}
