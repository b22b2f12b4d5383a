using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

internal static partial class GpuKernels
{
    /// <summary>One thread per element of part <paramref name="p"/> [N, H, T, D]: out[n, h, t, i] = x[n, t, p, h, i] (gather).</summary>
    public static void SplitHeadsPart(Index1D i, ArrayView<float> x, ArrayView<float> part, int p, int parts, int t, int h, int d)
    {
        int di = i % d; int r = i / d;
        int ti = r % t; r /= t;
        int hi = r % h; int ni = r / h;
        part[i] = x[(((ni * t + ti) * parts + p) * h + hi) * d + di];
    }

    /// <summary>One thread per element of dx [N, T, P, H, D]: dx[n, t, p, h, i] = d_p[n, h, t, i] (gather).</summary>
    public static void SplitHeadsBackward(Index1D i, ArrayView<float> da, ArrayView<float> db, ArrayView<float> dc, ArrayView<float> dx, int parts, int t, int h, int d)
    {
        int di = i % d; int r = i / d;
        int hi = r % h; r /= h;
        int p = r % parts; r /= parts;
        int ti = r % t; int ni = r / t;
        int src = ((ni * h + hi) * t + ti) * d + di;
        dx[i] = p == 0 ? da[src] : p == 1 ? db[src] : dc[src];
    }
}
