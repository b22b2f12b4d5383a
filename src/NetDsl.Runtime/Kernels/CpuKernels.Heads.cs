namespace NetDsl.Runtime;

public sealed partial class CpuKernels<T>
{
    public void SplitHeads(Tensor<T> x, Tensor<T> a, Tensor<T> b, Tensor<T>? c)
    {
        var (n, t, h, d) = CheckHeads(x, a, b, c, "x", "a", "b", "c");
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
        var (n, t, h, d) = CheckHeads(dx, da, db, dc, "dx", "da", "db", "dc");
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

    /// <summary>x [N, T, P, H, D] with P = 2 (c null) or 3; each part [N, H, T, D]. Returns (N, T, H, D).</summary>
    internal static (int N, int T, int H, int D) CheckHeads(Tensor<T> x, Tensor<T> a, Tensor<T> b, Tensor<T>? c, string xName, string aName, string bName, string cName)
    {
        int parts = c is null ? 2 : 3;
        if (x.Rank != 5 || x.Shape[2] != parts)
            throw new ArgumentException($"{xName}: expected shape [N, T, {parts}, H, D] (a packed projection of {parts} parts), got {Tensor<T>.Format(x.Shape)}", xName);
        int n = x.Shape[0], t = x.Shape[1], h = x.Shape[3], d = x.Shape[4];
        a.CheckShape(aName, [n, h, t, d]);
        b.CheckShape(bName, [n, h, t, d]);
        c?.CheckShape(cName, [n, h, t, d]);
        return (n, t, h, d);
    }
}
