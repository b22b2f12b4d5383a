using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Linear forward for narrow outputs (fewer features than the packed GEMM's NR-column panel, e.g. a 10-class head) with
// AVX-512, without packing: y[i, j] = epi(x[i, :] · w[j, :] + b[j]) as dot products over the rows of x and w [O, K], which
// are both contiguous along k. A register tile of 2 rows of x × 8 rows of w keeps 16 vector accumulators (10 loads per 16
// FMAs), summed horizontally at the end. The packed GEMM would pad the 10 columns to a 32-wide panel (69 % of its FMAs
// wasted) and pack x and w on every call. The cores split the rows of x. (For wide layers this kernel is slower than the
// packed GEMM: 0.73× at 64×1024×1024, one thread, 2026-12-07, so it is not used there.)
public sealed partial class CpuKernels<T>
{
    /// <summary>LinearForward uses the dot-product kernel (AVX-512 only) for fewer output features than this.</summary>
    internal static int DotMaxCols = NR;

    private static bool UseLinearDot(int o, int k) => Use512 && o < DotMaxCols && k >= Vector512<T>.Count;

    private static void LinearDot<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, int m, int k, int o, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int pairs = (m + 1) / 2;
        Chunks(pairs, Workers((long)m * o * k, pairs), (x, w, b, y, m, k, o, epi), static (s, lo, hi) =>
        {
            int r0 = 2 * lo, r1 = Math.Min(s.m, 2 * hi);
            if (r1 > r0)
                LinearDotRange(s.x.AsSpan().Slice(r0 * s.k), s.w.AsSpan(), s.b is null ? default : s.b.AsSpan(), s.b is not null,
                    s.y.AsSpan().Slice(r0 * s.o), r1 - r0, s.k, s.o, 0, s.o, s.epi);
        });
    }

    /// <summary>Output columns [j0, j1) of y for all m rows: 8 rows of w at a time, then GemvRange for the last ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LinearDotRange<TEpi>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, bool hasBias, Span<T> y, int m, int k, int o,
        int j0, int j1, TEpi epi) where TEpi : struct, IMap1<T>
    {
        Span<T> r = stackalloc T[16];
        int j = j0;
        for (; j + 8 <= j1; j += 8)
        {
            for (int i = 0; i < m; i += 2)
            {
                int i1 = Math.Min(i + 1, m - 1);   // an odd last row pairs with itself; its second result is dropped
                Dot2x8(ref Unsafe.Add(ref MemoryMarshal.GetReference(x), (nint)i * k), ref Unsafe.Add(ref MemoryMarshal.GetReference(x), (nint)i1 * k),
                    ref Unsafe.Add(ref MemoryMarshal.GetReference(w), (nint)j * k), k, r);
                for (int ii = 0; ii < 2 && i + ii < m; ii++)
                {
                    var yi = y.Slice((i + ii) * o + j, 8);
                    for (int jj = 0; jj < 8; jj++)
                    {
                        T v = r[ii * 8 + jj];
                        if (hasBias) v += b[j + jj];
                        yi[jj] = epi.Apply(v);
                    }
                }
            }
        }
        if (j < j1) GemvRange(x, w, b, hasBias, y, m, k, o, j, j1, epi);
    }

    /// <summary>r[ii*8 + jj] = x_ii · w_jj for two rows of x and eight consecutive rows of w (k apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot2x8(ref T x0, ref T x1, ref T w, int k, Span<T> r)
    {
        ref T w0 = ref w;
        ref T w1 = ref Unsafe.Add(ref w0, k);
        ref T w2 = ref Unsafe.Add(ref w1, k);
        ref T w3 = ref Unsafe.Add(ref w2, k);
        ref T w4 = ref Unsafe.Add(ref w3, k);
        ref T w5 = ref Unsafe.Add(ref w4, k);
        ref T w6 = ref Unsafe.Add(ref w5, k);
        ref T w7 = ref Unsafe.Add(ref w6, k);
        Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default, s04 = default, s05 = default, s06 = default, s07 = default,
                     s10 = default, s11 = default, s12 = default, s13 = default, s14 = default, s15 = default, s16 = default, s17 = default;
        int vc = Vector512<T>.Count;
        nuint p = 0, kv = (nuint)(k - k % vc);
        for (; p < kv; p += (nuint)vc)
        {
            var a = Vector512.LoadUnsafe(ref x0, p);
            var c = Vector512.LoadUnsafe(ref x1, p);
            var v = Vector512.LoadUnsafe(ref w0, p); s00 = Fma(a, v, s00); s10 = Fma(c, v, s10);
            v = Vector512.LoadUnsafe(ref w1, p); s01 = Fma(a, v, s01); s11 = Fma(c, v, s11);
            v = Vector512.LoadUnsafe(ref w2, p); s02 = Fma(a, v, s02); s12 = Fma(c, v, s12);
            v = Vector512.LoadUnsafe(ref w3, p); s03 = Fma(a, v, s03); s13 = Fma(c, v, s13);
            v = Vector512.LoadUnsafe(ref w4, p); s04 = Fma(a, v, s04); s14 = Fma(c, v, s14);
            v = Vector512.LoadUnsafe(ref w5, p); s05 = Fma(a, v, s05); s15 = Fma(c, v, s15);
            v = Vector512.LoadUnsafe(ref w6, p); s06 = Fma(a, v, s06); s16 = Fma(c, v, s16);
            v = Vector512.LoadUnsafe(ref w7, p); s07 = Fma(a, v, s07); s17 = Fma(c, v, s17);
        }
        r[0] = Vector512.Sum(s00); r[1] = Vector512.Sum(s01); r[2] = Vector512.Sum(s02); r[3] = Vector512.Sum(s03);
        r[4] = Vector512.Sum(s04); r[5] = Vector512.Sum(s05); r[6] = Vector512.Sum(s06); r[7] = Vector512.Sum(s07);
        r[8] = Vector512.Sum(s10); r[9] = Vector512.Sum(s11); r[10] = Vector512.Sum(s12); r[11] = Vector512.Sum(s13);
        r[12] = Vector512.Sum(s14); r[13] = Vector512.Sum(s15); r[14] = Vector512.Sum(s16); r[15] = Vector512.Sum(s17);
        for (int q = (int)kv; q < k; q++)
        {
            T a = Unsafe.Add(ref x0, q), c = Unsafe.Add(ref x1, q);
            for (int jj = 0; jj < 8; jj++)
            {
                T v = Unsafe.Add(ref w0, jj * k + q);
                r[jj] += a * v;
                r[8 + jj] += c * v;
            }
        }
    }
}
