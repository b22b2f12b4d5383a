using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Max pooling at inference: the same maxima as MaxPool2dForward (NaN-propagating), no argmax written, so the eval plan
// needs no index buffer (LeNet-5's eval plan: 1,176 ints per sample less).
public sealed partial class CpuKernels<T>
{
    public void MaxPool2dInference(Tensor<T> x, Tensor<T> y, PoolGeometry g)
    {
        var (n, c, h, w, oh, ow) = KernelContract.Pool2d(x, y, g, "x", "y");
        MaxPoolPlanesChunks(n * c, (long)n * c * oh * ow * g.KernelH * g.KernelW, (x, y, h, w, oh, ow, g),
            static (s, lo, hi) => MaxPoolInferencePlanes(s.x.AsSpan(), s.y.AsSpan(), lo, hi, s.h, s.w, s.oh, s.ow, s.g));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPoolInferencePlanes(ReadOnlySpan<T> xs, Span<T> ys, int lo, int hi, int h, int w, int oh, int ow, PoolGeometry g)
    {
        bool twoByTwo = g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0 && 2 * oh <= h && 2 * ow <= w;
        for (int pl = lo; pl < hi; pl++)
        {
            var xp = xs.Slice(pl * h * w, h * w);
            var yp = ys.Slice(pl * oh * ow, oh * ow);
            for (int i = 0; i < oh; i++)
            {
                var yr = yp.Slice(i * ow, ow);
                if (twoByTwo)
                {
                    // the common 2×2/2 window, every window inside the plane: T.Max propagates NaN as the argmax kernel does
                    var r0 = xp.Slice(2 * i * w, w); var r1 = xp.Slice((2 * i + 1) * w, w);
                    int j = MaxPool2x2InferenceVector(r0, r1, yr);
                    for (; j < yr.Length; j++)
                        yr[j] = T.Max(T.Max(r0[2 * j], r0[2 * j + 1]), T.Max(r1[2 * j], r1[2 * j + 1]));
                    continue;
                }
                int h0 = i * g.StrideH - g.PadH;
                int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelH, h);
                for (int j = 0; j < ow; j++)
                {
                    int w0 = j * g.StrideW - g.PadW;
                    int ws = Math.Max(w0, 0), we = Math.Min(w0 + g.KernelW, w);
                    T best = T.NegativeInfinity;   // padding is -inf: never chosen over a real input
                    for (int a = hs; a < he; a++)
                        for (int b = ws; b < we; b++) best = T.Max(best, xp[a * w + b]);
                    yr[j] = best;
                }
            }
        }
    }

    /// <summary>2×2/2 maxima of two rows, Vector256 at a time while no NaN is seen; returns how many outputs it wrote.</summary>
    private static int MaxPool2x2InferenceVector(ReadOnlySpan<T> r0, ReadOnlySpan<T> r1, Span<T> yr)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) return 0;
        int vw = Vector256<T>.Count, n = yr.Length, j = 0;
        ref T p0 = ref MemoryMarshal.GetReference(r0);
        ref T p1 = ref MemoryMarshal.GetReference(r1);
        ref T py = ref MemoryMarshal.GetReference(yr);
        for (; j + vw <= n; j += vw)
        {
            Deinterleave(Vector256.LoadUnsafe(ref p0, (nuint)(2 * j)), Vector256.LoadUnsafe(ref p0, (nuint)(2 * j + vw)), out var e0, out var o0);
            Deinterleave(Vector256.LoadUnsafe(ref p1, (nuint)(2 * j)), Vector256.LoadUnsafe(ref p1, (nuint)(2 * j + vw)), out var e1, out var o1);
            var ordered = Vector256.Equals(e0, e0) & Vector256.Equals(o0, o0) & Vector256.Equals(e1, e1) & Vector256.Equals(o1, o1);
            if (ordered.ExtractMostSignificantBits() != (1u << vw) - 1) break;   // a NaN somewhere: the scalar path propagates it
            Vector256.Max(Vector256.Max(e0, o0), Vector256.Max(e1, o1)).StoreUnsafe(ref py, (nuint)j);
        }
        return j;
    }
}
