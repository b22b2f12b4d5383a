using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>Convolution sizes passed to the ILGPU kernels (one struct instead of many scalar arguments).</summary>
internal struct ConvParams
{
    public int N, C, H, W, K, Cg, Kg, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW;
}

/// <summary>Pooling sizes for the ILGPU kernels.</summary>
internal struct PoolParams
{
    public int H, W, OH, OW, KH, KW, SH, SW, PH, PW;
    /// <summary>1: average pooling divides by the real inputs of the window (count_include_pad=False).</summary>
    public int ExcludePad;
}

internal struct AdamParams
{
    public float Lr, Beta1, Beta2, Eps, WeightDecay, BiasCorrection1, BiasCorrection2;
}

/// <summary>
/// The ILGPU kernels: plain static methods, mostly one thread per output element, gathering their inputs (so no atomics
/// except max-pool backward, whose signature carries no window geometry); the GEMMs (linear, convolution) are
/// shared-memory tiled (<see cref="TiledGemm"/>) and the long reductions are group reductions. Generic kernels take the
/// fused functor as a struct argument (<see cref="IGpuMap1"/> …), which ILGPU specializes per functor type.
/// </summary>
internal static partial class GpuKernels
{
    // convolution and linear: the products are TiledGemm (GpuKernels.Gemm.cs), the bias gradients group reductions
    // (GpuKernels.Reductions.cs)

    // ---------------------------------------------------------------- pooling
    public static void MaxPoolForward(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, PoolParams p)
    {
        int i = index;
        int ow = i % p.OW; int t = i / p.OW;
        int oh = t % p.OH; int plane = t / p.OH;
        int h0 = oh * p.SH - p.PH, w0 = ow * p.SW - p.PW;
        int hs = h0 < 0 ? 0 : h0, he = h0 + p.KH < p.H ? h0 + p.KH : p.H;
        int ws = w0 < 0 ? 0 : w0, we = w0 + p.KW < p.W ? w0 + p.KW : p.W;
        int xo = plane * p.H * p.W;
        float best = float.NegativeInfinity;
        int bi = -1;
        bool nan = false;
        for (int a = hs; a < he && !nan; a++)
            for (int c = ws; c < we && !nan; c++)
            {
                float v = x[xo + a * p.W + c];
                bool isNan = float.IsNaN(v);
                if (v > best || isNan || bi < 0) { best = v; bi = a * p.W + c; nan = isNan; }
            }
        if (bi < 0) // window entirely in padding
        {
            int hc = hs < 0 ? 0 : (hs > p.H - 1 ? p.H - 1 : hs);
            int wc = ws < 0 ? 0 : (ws > p.W - 1 ? p.W - 1 : ws);
            bi = hc * p.W + wc;
        }
        y[i] = best;
        argmax[i] = bi;
    }

    /// <summary>dx (zeroed before) += dy at the argmax positions (atomic: overlapping windows may share an input).</summary>
    public static void MaxPoolBackward(Index1D index, ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, int outPlane, int inPlane)
    {
        int i = index;
        int a = argmax[i];
        if (a >= 0 && a < inPlane) Atomic.Add(ref dx[(i / outPlane) * inPlane + a], dy[i]);
    }

    public static void AvgPoolForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PoolParams p)
    {
        int i = index;
        int ow = i % p.OW; int t = i / p.OW;
        int oh = t % p.OH; int plane = t / p.OH;
        int h0 = oh * p.SH - p.PH, w0 = ow * p.SW - p.PW;
        int xo = plane * p.H * p.W;
        float s = 0f;
        for (int a = h0; a < h0 + p.KH; a++)
        {
            if (a < 0 || a >= p.H) continue;
            for (int c = w0; c < w0 + p.KW; c++)
                if (c >= 0 && c < p.W) s += x[xo + a * p.W + c];
        }
        y[i] = s / AvgPoolDivisor(h0, w0, p);
    }

    /// <summary>The window clipped to the padded input (ceil mode can run past it), or to the input with ExcludePad.</summary>
    private static int AvgPoolDivisor(int h0, int w0, PoolParams p)
    {
        int lo = p.ExcludePad != 0 ? 0 : -p.PH, hiH = p.ExcludePad != 0 ? p.H : p.H + p.PH;
        int loW = p.ExcludePad != 0 ? 0 : -p.PW, hiW = p.ExcludePad != 0 ? p.W : p.W + p.PW;
        int hs = h0 < lo ? lo : h0, he = h0 + p.KH < hiH ? h0 + p.KH : hiH;
        int ws = w0 < loW ? loW : w0, we = w0 + p.KW < hiW ? w0 + p.KW : hiW;
        return (he - hs) * (we - ws);
    }

    /// <summary>dx[h, w] gathers dy of every window covering (h, w), divided by the window size (padding counted).</summary>
    public static void AvgPoolBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, PoolParams p)
    {
        int i = index;
        int w = i % p.W; int t = i / p.W;
        int h = t % p.H; int plane = t / p.H;
        // window oh covers h iff oh·SH − PH ≤ h ≤ oh·SH − PH + KH − 1
        int loH = h + p.PH - p.KH + 1, loW = w + p.PW - p.KW + 1;
        int ohStart = loH <= 0 ? 0 : (loH + p.SH - 1) / p.SH;
        int owStart = loW <= 0 ? 0 : (loW + p.SW - 1) / p.SW;
        int ohEnd = (h + p.PH) / p.SH, owEnd = (w + p.PW) / p.SW;
        if (ohEnd > p.OH - 1) ohEnd = p.OH - 1;
        if (owEnd > p.OW - 1) owEnd = p.OW - 1;
        int yo = plane * p.OH * p.OW;
        float s = 0f;
        for (int oh = ohStart; oh <= ohEnd; oh++)
            for (int ow = owStart; ow <= owEnd; ow++)
                s += dy[yo + oh * p.OW + ow] / AvgPoolDivisor(oh * p.SH - p.PH, ow * p.SW - p.PW, p);
        dx[i] = s;
    }

    public static void GlobalAvgPoolForward(Index1D plane, ArrayView<float> x, ArrayView<float> y, int hw)
    {
        float s = 0f;
        int o = plane * hw;
        for (int q = 0; q < hw; q++) s += x[o + q];
        y[plane] = s / hw;
    }

    public static void GlobalAvgPoolBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, int hw)
    {
        int i = index;
        dx[i] = dy[i / hw] / hw;
    }

    // ---------------------------------------------------------------- dropout (same counter-based stream as CpuKernels)
    public static void Dropout(Index1D index, ArrayView<float> x, ArrayView<float> mask, ArrayView<float> y, ulong key, ulong threshold, float scale)
    {
        int i = index;
        ulong z = key + (ulong)i * 0x9E3779B97F4A7C15UL;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        float m = (z >> 11) < threshold ? 0f : scale;
        mask[i] = m;
        y[i] = x[i] * m;
    }

    // ---------------------------------------------------------------- concat along dim 1
    /// <summary>y[n, off + r] = part[n, r] for rows of <paramref name="rowLen"/> elements in y rows of <paramref name="yRow"/>.</summary>
    public static void ConcatForward(Index1D index, ArrayView<float> part, ArrayView<float> y, int rowLen, int yRow, int off)
    {
        int i = index;
        y[(i / rowLen) * yRow + off + i % rowLen] = part[i];
    }

    public static void ConcatBackward(Index1D index, ArrayView<float> dy, ArrayView<float> part, int rowLen, int yRow, int off)
    {
        int i = index;
        part[i] = dy[(i / rowLen) * yRow + off + i % rowLen];
    }

    // ---------------------------------------------------------------- element-wise
    public static void Map1<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> y, TOp op) where TOp : struct, IGpuMap1 =>
        y[i] = op.Apply(a[i]);

    public static void Map2<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, TOp op) where TOp : struct, IGpuMap2 =>
        y[i] = op.Apply(a[i], b[i]);

    public static void Map3<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> y, TOp op) where TOp : struct, IGpuMap3 =>
        y[i] = op.Apply(a[i], b[i], c[i]);

    public static void Fill(Index1D i, ArrayView<float> y, float value) => y[i] = value;

    public static void Accumulate(Index1D i, ArrayView<float> src, ArrayView<float> dst) => dst[i] += src[i];

    // ---------------------------------------------------------------- optimizers
    public static void SgdStep(Index1D i, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> velocity,
        float lr, float momentum, float weightDecay, int nesterov)
    {
        float g = grad[i] + weightDecay * param[i];
        float v = momentum * velocity[i] + g;
        velocity[i] = v;
        param[i] -= lr * (nesterov != 0 ? g + momentum * v : v);
    }

    public static void AdamStep(Index1D i, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> m, ArrayView<float> v, AdamParams p)
    {
        float g = grad[i] + p.WeightDecay * param[i];
        float mi = p.Beta1 * m[i] + (1f - p.Beta1) * g;
        float vi = p.Beta2 * v[i] + (1f - p.Beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] -= p.Lr * (mi / p.BiasCorrection1) / (MathF.Sqrt(vi / p.BiasCorrection2) + p.Eps);
    }
}
