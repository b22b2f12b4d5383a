using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>Plane sizes of the resampling kernels (adaptive pooling, unpooling, upsampling): input H×W, output OH×OW.</summary>
internal struct PlaneParams
{
    public int H, W, OH, OW, AlignCorners;
}

/// <summary>The two taps of a linear interpolation and the weight of the second.</summary>
internal struct LinearTap
{
    public int I0, I1;
    public float L1;
}

// The conv/pool family's ILGPU kernels: one thread per output element, gathering (max unpooling's forward is the one
// scatter: each input writes its own argmax position of a zeroed output).
internal static partial class GpuKernels
{
    // ---------------------------------------------------------------- adaptive average pooling
    private static int AdaptiveStart(int i, int input, int output) => i * input / output;
    private static int AdaptiveEnd(int i, int input, int output) => ((i + 1) * input + output - 1) / output;

    public static void AdaptiveAvgPoolForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PlaneParams p)
    {
        int i = index;
        int ow = i % p.OW; int t = i / p.OW;
        int oh = t % p.OH; int plane = t / p.OH;
        int hs = AdaptiveStart(oh, p.H, p.OH), he = AdaptiveEnd(oh, p.H, p.OH);
        int ws = AdaptiveStart(ow, p.W, p.OW), we = AdaptiveEnd(ow, p.W, p.OW);
        int xo = plane * p.H * p.W;
        float s = 0f;
        for (int a = hs; a < he; a++)
            for (int c = ws; c < we; c++) s += x[xo + a * p.W + c];
        y[i] = s / ((he - hs) * (we - ws));
    }

    /// <summary>dx[h, w] gathers dy of every adaptive window covering (h, w) (a superset of candidates, tested exactly).</summary>
    public static void AdaptiveAvgPoolBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, PlaneParams p)
    {
        int i = index;
        int w = i % p.W; int t = i / p.W;
        int h = t % p.H; int plane = t / p.H;
        int oh0 = h * p.OH / p.H - 1, oh1 = (h + 1) * p.OH / p.H + 1;
        int ow0 = w * p.OW / p.W - 1, ow1 = (w + 1) * p.OW / p.W + 1;
        if (oh0 < 0) oh0 = 0;
        if (ow0 < 0) ow0 = 0;
        if (oh1 > p.OH - 1) oh1 = p.OH - 1;
        if (ow1 > p.OW - 1) ow1 = p.OW - 1;
        float s = 0f;
        for (int oh = oh0; oh <= oh1; oh++)
        {
            int hs = AdaptiveStart(oh, p.H, p.OH), he = AdaptiveEnd(oh, p.H, p.OH);
            if (h < hs || h >= he) continue;
            for (int ow = ow0; ow <= ow1; ow++)
            {
                int ws = AdaptiveStart(ow, p.W, p.OW), we = AdaptiveEnd(ow, p.W, p.OW);
                if (w < ws || w >= we) continue;
                s += dy[(plane * p.OH + oh) * p.OW + ow] / ((he - hs) * (we - ws));
            }
        }
        dx[i] = s;
    }

    // ---------------------------------------------------------------- max unpooling
    /// <summary>y (zeroed before)[plane, argmax[i]] = x[i]; p.H·p.W is the output plane, p.OH·p.OW the pooled plane.</summary>
    public static void MaxUnpoolForward(Index1D index, ArrayView<float> x, ArrayView<int> argmax, ArrayView<float> y, PlaneParams p)
    {
        int i = index;
        int a = argmax[i];
        int inPlane = p.H * p.W;
        if (a >= 0 && a < inPlane) y[(i / (p.OH * p.OW)) * inPlane + a] = x[i];
    }

    public static void MaxUnpoolBackward(Index1D index, ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, PlaneParams p)
    {
        int i = index;
        int a = argmax[i];
        int inPlane = p.H * p.W;
        dx[i] = a >= 0 && a < inPlane ? dy[(i / (p.OH * p.OW)) * inPlane + a] : 0f;
    }

    // ---------------------------------------------------------------- upsampling (here H×W is the small input, OH×OW the output)
    private static int NearestIndex(int dst, int input, int output)
    {
        int s = dst * input / output;
        return s < input - 1 ? s : input - 1;
    }

    public static void UpsampleNearestForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PlaneParams p)
    {
        int i = index;
        int ow = i % p.OW; int t = i / p.OW;
        int oh = t % p.OH; int plane = t / p.OH;
        y[i] = x[(plane * p.H + NearestIndex(oh, p.H, p.OH)) * p.W + NearestIndex(ow, p.W, p.OW)];
    }

    public static void UpsampleNearestBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, PlaneParams p)
    {
        int i = index;
        int w = i % p.W; int t = i / p.W;
        int h = t % p.H; int plane = t / p.H;
        int oh0 = h * p.OH / p.H, oh1 = ((h + 1) * p.OH + p.H - 1) / p.H;
        int ow0 = w * p.OW / p.W, ow1 = ((w + 1) * p.OW + p.W - 1) / p.W;
        if (oh1 > p.OH - 1) oh1 = p.OH - 1;
        if (ow1 > p.OW - 1) ow1 = p.OW - 1;
        float s = 0f;
        for (int oh = oh0; oh <= oh1; oh++)
        {
            if (NearestIndex(oh, p.H, p.OH) != h) continue;
            for (int ow = ow0; ow <= ow1; ow++)
                if (NearestIndex(ow, p.W, p.OW) == w) s += dy[(plane * p.OH + oh) * p.OW + ow];
        }
        dx[i] = s;
    }

    private static float LinearRatio(int input, int output, int alignCorners) =>
        alignCorners != 0 ? (output > 1 ? (float)(input - 1) / (output - 1) : 0f) : (float)((double)input / output);

    private static LinearTap Taps(int dst, int input, int output, int alignCorners)
    {
        float r = LinearRatio(input, output, alignCorners);
        float src = alignCorners != 0 ? r * dst : r * (dst + 0.5f) - 0.5f;
        if (src < 0f) src = 0f;
        int i0 = (int)MathF.Floor(src);
        if (i0 > input - 1) i0 = input - 1;
        var tap = new LinearTap { I0 = i0, I1 = i0 < input - 1 ? i0 + 1 : i0 };
        float l = src - i0;
        tap.L1 = l < 0f ? 0f : (l > 1f ? 1f : l);
        return tap;
    }

    /// <summary>The weight output <paramref name="dst"/> gives input <paramref name="src"/> (0 if it is neither tap).</summary>
    private static float TapWeight(int dst, int src, int input, int output, int alignCorners)
    {
        var t = Taps(dst, input, output, alignCorners);
        float wgt = 0f;
        if (t.I0 == src) wgt += 1f - t.L1;
        if (t.I1 == src) wgt += t.L1;
        return wgt;
    }

    public static void UpsampleBilinearForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PlaneParams p)
    {
        int i = index;
        int ow = i % p.OW; int t = i / p.OW;
        int oh = t % p.OH; int plane = t / p.OH;
        var th = Taps(oh, p.H, p.OH, p.AlignCorners);
        var tw = Taps(ow, p.W, p.OW, p.AlignCorners);
        int xo = plane * p.H * p.W;
        float lh0 = 1f - th.L1, lw0 = 1f - tw.L1;
        y[i] = lh0 * (lw0 * x[xo + th.I0 * p.W + tw.I0] + tw.L1 * x[xo + th.I0 * p.W + tw.I1])
             + th.L1 * (lw0 * x[xo + th.I1 * p.W + tw.I0] + tw.L1 * x[xo + th.I1 * p.W + tw.I1]);
    }

    /// <summary>dx[h, w] = Σ dy[oh, ow]·wH(oh, h)·wW(ow, w) over the outputs near (h, w) (the weights are separable).</summary>
    public static void UpsampleBilinearBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, PlaneParams p)
    {
        int i = index;
        int w = i % p.W; int t = i / p.W;
        int h = t % p.H; int plane = t / p.H;
        float rh = LinearRatio(p.H, p.OH, p.AlignCorners), rw = LinearRatio(p.W, p.OW, p.AlignCorners);
        int oh0 = 0, oh1 = p.OH - 1, ow0 = 0, ow1 = p.OW - 1;
        if (rh > 0f) { oh0 = (int)((h - 2) / rh) - 2; oh1 = (int)((h + 2) / rh) + 2; }
        if (rw > 0f) { ow0 = (int)((w - 2) / rw) - 2; ow1 = (int)((w + 2) / rw) + 2; }
        if (oh0 < 0) oh0 = 0;
        if (ow0 < 0) ow0 = 0;
        if (oh1 > p.OH - 1) oh1 = p.OH - 1;
        if (ow1 > p.OW - 1) ow1 = p.OW - 1;
        float s = 0f;
        for (int oh = oh0; oh <= oh1; oh++)
        {
            float wh = TapWeight(oh, h, p.H, p.OH, p.AlignCorners);
            if (wh == 0f) continue;
            for (int ow = ow0; ow <= ow1; ow++)
            {
                float ww = TapWeight(ow, w, p.W, p.OW, p.AlignCorners);
                if (ww != 0f) s += dy[(plane * p.OH + oh) * p.OW + ow] * wh * ww;
            }
        }
        dx[i] = s;
    }
}
