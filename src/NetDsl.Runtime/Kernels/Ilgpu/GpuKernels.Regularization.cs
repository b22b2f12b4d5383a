using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

// ILGPU kernels of the regularization family: block dropout (same counter-based stream as CpuKernels, hashed per block) and
// the weight penalties.
internal static partial class GpuKernels
{
    /// <summary>One thread per element: block b = i / block is dropped iff (splitmix64(key + b·φ) &gt;&gt; 11) &lt; threshold.</summary>
    public static void BlockDropout(Index1D index, ArrayView<float> x, ArrayView<float> mask, ArrayView<float> y, int block, ulong key, ulong threshold, float scale)
    {
        int i = index;
        ulong z = key + (ulong)(i / block) * 0x9E3779B97F4A7C15UL;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        float m = (z >> 11) < threshold ? 0f : scale;
        mask[i] = m;
        y[i] = x[i] * m;
    }

    /// <summary>One thread: loss[0] (+)= l1·Σ|w| + l2·Σw² over one weight tensor (accumulate ≠ 0 adds to what is there).</summary>
    public static void PenaltySum(Index1D index, ArrayView<float> w, ArrayView<float> loss, int length, float l1, float l2, int accumulate)
    {
        float s1 = 0f, s2 = 0f;
        for (int i = 0; i < length; i++) { float v = w[i]; s1 += MathF.Abs(v); s2 += v * v; }
        float t = l1 * s1 + l2 * s2;
        loss[0] = accumulate != 0 ? loss[0] + t : t;
    }

    public static void PenaltyBackward(Index1D index, ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dw, float l1, float l2)
    {
        int i = index;
        float v = w[i], sign = v > 0f ? 1f : v < 0f ? -1f : 0f;
        dw[i] = dy[0] * (l1 * sign + 2f * l2 * v);
    }
}
