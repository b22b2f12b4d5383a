using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Linear layers with few rows (batch-1 inference, a few samples): y[i, o] = epi(x[i, :] · w[o, :] + b[o]) as dot products
// over the contiguous rows of w [O, K], four weight rows at a time with vector accumulators. No packing: the packed GEMM
// would copy all of w into panels on every call and run an 8-row micro-kernel with one useful row. Split across cores by
// blocks of output features, so each core streams its own part of w once.
public sealed partial class CpuKernels<T>
{
    /// <summary>Rows of x up to which LinearForward uses the matrix-vector kernel instead of the packed GEMM.</summary>
    internal static int GemvMaxRows = 4;

    private static void LinearSmallM<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, int m, int k, int o, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int workers = Workers((long)m * o * k, (o + 3) / 4);
        Chunks((o + 3) / 4, workers, (x, w, b, y, m, k, o, epi), static (s, lo, hi) =>
            GemvRange(s.x.AsSpan(), s.w.AsSpan(), s.b is null ? default : s.b.AsSpan(), s.b is not null, s.y.AsSpan(), s.m, s.k, s.o, 4 * lo, Math.Min(s.o, 4 * hi), s.epi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GemvRange<TEpi>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, bool hasBias, Span<T> y, int m, int k, int o, int o0, int o1, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T w0 = ref MemoryMarshal.GetReference(w);
        int j = o0;
        for (; j + 4 <= o1; j += 4)
        {
            ref T r0 = ref Unsafe.Add(ref w0, (nint)j * k);
            ref T r1 = ref Unsafe.Add(ref r0, k);
            ref T r2 = ref Unsafe.Add(ref r1, k);
            ref T r3 = ref Unsafe.Add(ref r2, k);
            for (int i = 0; i < m; i++)
            {
                ref T xi = ref Unsafe.Add(ref x0, (nint)i * k);
                T d0, d1, d2, d3;
                int p = 0;
                if (Use512)
                {
                    Vector512<T> a0 = Vector512<T>.Zero, a1 = a0, a2 = a0, a3 = a0;
                    int vc = Vector512<T>.Count;
                    for (; p + vc <= k; p += vc)
                    {
                        var xv = Vector512.LoadUnsafe(ref xi, (nuint)p);
                        a0 = Fma(xv, Vector512.LoadUnsafe(ref r0, (nuint)p), a0);
                        a1 = Fma(xv, Vector512.LoadUnsafe(ref r1, (nuint)p), a1);
                        a2 = Fma(xv, Vector512.LoadUnsafe(ref r2, (nuint)p), a2);
                        a3 = Fma(xv, Vector512.LoadUnsafe(ref r3, (nuint)p), a3);
                    }
                    d0 = Vector512.Sum(a0); d1 = Vector512.Sum(a1); d2 = Vector512.Sum(a2); d3 = Vector512.Sum(a3);
                }
                else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
                {
                    Vector256<T> a0 = Vector256<T>.Zero, a1 = a0, a2 = a0, a3 = a0;
                    int vc = Vector256<T>.Count;
                    for (; p + vc <= k; p += vc)
                    {
                        var xv = Vector256.LoadUnsafe(ref xi, (nuint)p);
                        a0 = Fma(xv, Vector256.LoadUnsafe(ref r0, (nuint)p), a0);
                        a1 = Fma(xv, Vector256.LoadUnsafe(ref r1, (nuint)p), a1);
                        a2 = Fma(xv, Vector256.LoadUnsafe(ref r2, (nuint)p), a2);
                        a3 = Fma(xv, Vector256.LoadUnsafe(ref r3, (nuint)p), a3);
                    }
                    d0 = Vector256.Sum(a0); d1 = Vector256.Sum(a1); d2 = Vector256.Sum(a2); d3 = Vector256.Sum(a3);
                }
                else { d0 = d1 = d2 = d3 = T.Zero; }
                for (; p < k; p++)
                {
                    T xs = Unsafe.Add(ref xi, p);
                    d0 += xs * Unsafe.Add(ref r0, p); d1 += xs * Unsafe.Add(ref r1, p);
                    d2 += xs * Unsafe.Add(ref r2, p); d3 += xs * Unsafe.Add(ref r3, p);
                }
                var yi = y.Slice(i * o + j, 4);
                if (hasBias) { d0 += b[j]; d1 += b[j + 1]; d2 += b[j + 2]; d3 += b[j + 3]; }
                yi[0] = epi.Apply(d0); yi[1] = epi.Apply(d1); yi[2] = epi.Apply(d2); yi[3] = epi.Apply(d3);
            }
        }
        for (; j < o1; j++)
        {
            ref T r = ref Unsafe.Add(ref w0, (nint)j * k);
            for (int i = 0; i < m; i++)
            {
                ref T xi = ref Unsafe.Add(ref x0, (nint)i * k);
                T d = T.Zero;
                int p = 0;
                if (Use512)
                {
                    var a = Vector512<T>.Zero;
                    for (; p + Vector512<T>.Count <= k; p += Vector512<T>.Count)
                        a = Fma(Vector512.LoadUnsafe(ref xi, (nuint)p), Vector512.LoadUnsafe(ref r, (nuint)p), a);
                    d = Vector512.Sum(a);
                }
                for (; p < k; p++) d += Unsafe.Add(ref xi, p) * Unsafe.Add(ref r, p);
                if (hasBias) d += b[j];
                y[i * o + j] = epi.Apply(d);
            }
        }
    }
}
