using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

// ILGPU kernels of the activations family: one thread per output element (or per softmax row / PReLU channel), gathering.
internal static partial class GpuKernels
{
    /// <summary>y = x if x &gt; 0 else a[c]·x, c = (i / inner) % channels (channels 1: one shared slope).</summary>
    public static void PReluForward(Index1D index, ArrayView<float> x, ArrayView<float> slope, ArrayView<float> y, int channels, int inner)
    {
        int i = index;
        float v = x[i];
        y[i] = v > 0f ? v : slope[(i / inner) % channels] * v;
    }

    public static void PReluBackwardData(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> slope, ArrayView<float> dx, int channels, int inner)
    {
        int i = index;
        dx[i] = x[i] > 0f ? dy[i] : slope[(i / inner) % channels] * dy[i];
    }

    /// <summary>One thread per slope: dslope[c] = Σ over the planes of channel c (all, when shared) of dy·x where x ≤ 0.</summary>
    public static void PReluBackwardSlope(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dslope, int channels, int inner, int planes)
    {
        int c = index;
        float s = 0f;
        for (int p = c; p < planes; p += channels)
            for (int k = 0; k < inner; k++)
            {
                int i = p * inner + k;
                float v = x[i];
                if (v <= 0f) s += dy[i] * v;
            }
        dslope[c] = s;
    }

    /// <summary>One thread per row r = (outer o, inner i): softmax or log-softmax over <paramref name="size"/> elements of stride <paramref name="inner"/>.</summary>
    public static void Softmax(Index1D index, ArrayView<float> x, ArrayView<float> y, int size, int inner, int log)
    {
        int r = index;
        int b = (r / inner) * size * inner + r % inner;
        float max = float.NegativeInfinity;
        for (int j = 0; j < size; j++) { float v = x[b + j * inner]; if (v > max) max = v; }
        float sum = 0f;
        for (int j = 0; j < size; j++) sum += MathF.Exp(x[b + j * inner] - max);
        if (log != 0)
        {
            float shift = max + MathF.Log(sum);
            for (int j = 0; j < size; j++) y[b + j * inner] = x[b + j * inner] - shift;
        }
        else
        {
            float inv = 1f / sum;
            for (int j = 0; j < size; j++) y[b + j * inner] = MathF.Exp(x[b + j * inner] - max) * inv;
        }
    }

    public static void SoftmaxBackward(Index1D index, ArrayView<float> dy, ArrayView<float> y, ArrayView<float> dx, int size, int inner, int log)
    {
        int r = index;
        int b = (r / inner) * size * inner + r % inner;
        float acc = 0f;
        if (log != 0)
        {
            for (int j = 0; j < size; j++) acc += dy[b + j * inner];
            for (int j = 0; j < size; j++) dx[b + j * inner] = dy[b + j * inner] - MathF.Exp(y[b + j * inner]) * acc;
        }
        else
        {
            for (int j = 0; j < size; j++) acc += dy[b + j * inner] * y[b + j * inner];
            for (int j = 0; j < size; j++) dx[b + j * inner] = y[b + j * inner] * (dy[b + j * inner] - acc);
        }
    }

    /// <summary>One thread per output y[n, c, s]: the max over x[n, c·k + j, s], j &lt; k (first on ties).</summary>
    public static void MaxoutForward(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, int channels, int pieces, int inner)
    {
        int i = index;
        int p = i / inner, s = i % inner, n = p / channels, c = p % channels;
        int b = (n * channels * pieces + c * pieces) * inner + s;
        float best = x[b]; int arg = 0;
        for (int j = 1; j < pieces; j++) { float v = x[b + j * inner]; if (v > best) { best = v; arg = j; } }
        y[i] = best;
        argmax[i] = arg;
    }

    /// <summary>One thread per dx[n, c·k + j, s]: dy[n, c, s] if argmax chose j, else 0.</summary>
    public static void MaxoutBackward(Index1D index, ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, int channels, int pieces, int inner)
    {
        int i = index;
        int s = i % inner, q = i / inner, ck = channels * pieces, n = q / ck, cj = q % ck, c = cj / pieces, j = cj % pieces;
        int o = (n * channels + c) * inner + s;
        dx[i] = argmax[o] == j ? dy[o] : 0f;
    }
}
