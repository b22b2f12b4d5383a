namespace NetDsl.Runtime;

public sealed partial class CpuKernels<T>
{
    public void SplitHeads(Tensor<T> x, Tensor<T> a, Tensor<T> b, Tensor<T>? c)
    {
        var (n, t, h, d) = KernelContract.SplitHeads(x, a, b, c);
        Chunks(n * t, Workers((long)x.Length * 16, n * t), (x, a, b, c, t, h, d), static (s, lo, hi) =>
        {
            var xs = s.x.AsSpan();
            int parts = s.c is null ? 2 : 3, hd = s.h * s.d;
            for (int row = lo; row < hi; row++)
            {
                int ni = row / s.t, ti = row % s.t;
                for (int p = 0; p < parts; p++)
                {
                    var dst = (p == 0 ? s.a : p == 1 ? s.b : s.c!).AsSpan();
                    var src = xs.Slice((row * parts + p) * hd, hd);
                    for (int hi2 = 0; hi2 < s.h; hi2++)
                        src.Slice(hi2 * s.d, s.d).CopyTo(dst.Slice(((ni * s.h + hi2) * s.t + ti) * s.d, s.d));
                }
            }
        });
    }

    public void SplitHeadsBackward(Tensor<T> da, Tensor<T> db, Tensor<T>? dc, Tensor<T> dx)
    {
        var (n, t, h, d) = KernelContract.SplitHeadsBackward(da, db, dc, dx);
        Chunks(n * t, Workers((long)dx.Length * 16, n * t), (dx, da, db, dc, t, h, d), static (s, lo, hi) =>
        {
            var xs = s.dx.AsSpan();
            int parts = s.dc is null ? 2 : 3, hd = s.h * s.d;
            for (int row = lo; row < hi; row++)
            {
                int ni = row / s.t, ti = row % s.t;
                for (int p = 0; p < parts; p++)
                {
                    var src = (p == 0 ? s.da : p == 1 ? s.db : s.dc!).AsSpan();
                    var dst = xs.Slice((row * parts + p) * hd, hd);
                    for (int hi2 = 0; hi2 < s.h; hi2++)
                        src.Slice(((ni * s.h + hi2) * s.t + ti) * s.d, s.d).CopyTo(dst.Slice(hi2 * s.d, s.d));
                }
            }
        });
    }
}
