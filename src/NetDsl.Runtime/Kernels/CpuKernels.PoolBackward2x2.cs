using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Runtime;

// Max-pool backward for non-overlapping 2×2 windows (the 2×2/2 pooling of LeNet-5 and most CNNs). MaxPool2dBackward gets no
// pool geometry, only argmax, so the geometry is read from the indices: when output (i, j)'s argmax lies in the window
// rows 2i..2i+1 × columns 2j..2j+1 for every output of a plane, the windows are disjoint and dx is written in one pass
// (each input element gets its window's dy or 0), instead of clearing the plane and scattering into it. A plane whose
// indices fall outside those windows (other geometries) takes the general clear-and-scatter loop. 8 outputs at a time
// (float, AVX-512): the window's 4 masked copies of dy are interleaved into 16 columns of the two input rows.
public sealed partial class CpuKernels<T>
{
    /// <summary>The one-pass 2×2 path (NETDSL_POOL2X2_BWD=0 turns it off; tests and A/B harnesses flip it).</summary>
    internal static bool MaxPool2x2BackwardOn = Environment.GetEnvironmentVariable("NETDSL_POOL2X2_BWD") != "0";

    /// <summary>dx of planes [lo, hi): the one-pass 2×2 path where every argmax is in its own 2×2 window, else clear and scatter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPoolBackwardPlanes(ReadOnlySpan<T> dys, ReadOnlySpan<int> am, Span<T> dxs, int lo, int hi, int h, int w, int oh, int ow)
    {
        int hw = h * w, ohw = oh * ow;
        // rows of at least 8 outputs, float, AVX-512: narrower rows (LeNet's second pool, 5 per row) measured slower than the
        // scatter on the Intel Xeon (stores of a window's 4 elements against one add per output), and keep it
        bool try2x2 = MaxPool2x2BackwardOn && typeof(T) == typeof(float) && Avx512F.IsSupported && Vector512.IsHardwareAccelerated
            && 2 * oh <= h && 2 * ow <= w && ow >= 8 && oh > 0;
        for (int pl = lo; pl < hi; pl++)
        {
            var dxp = dxs.Slice(pl * hw, hw);
            var dyp = dys.Slice(pl * ohw, ohw); var ap = am.Slice(pl * ohw, ohw);
            if (try2x2 && MaxPool2x2BackwardPlane(dyp, ap, dxp, h, w, oh, ow)) continue;
            dxp.Clear();
            ref T pd = ref MemoryMarshal.GetReference(dxp);
            for (int i = 0; i < dyp.Length; i++)
            {
                int idx = ap[i];
                if ((uint)idx >= (uint)hw) ThrowArgmax(idx, hw);
                Unsafe.Add(ref pd, idx) += dyp[i];
            }
        }
    }

    /// <summary>Writes the whole plane dx (h × w) from dy (oh × ow) when every argmax is in its 2×2 window; false as soon as one
    /// is not (dx partly written then: the caller rewrites the plane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool MaxPool2x2BackwardPlane(ReadOnlySpan<T> dy, ReadOnlySpan<int> am, Span<T> dx, int h, int w, int oh, int ow)
    {
        ref T d0 = ref MemoryMarshal.GetReference(dy);
        ref int a0 = ref MemoryMarshal.GetReference(am);
        ref T x0 = ref MemoryMarshal.GetReference(dx);
        var lane2 = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var interleave = Vector512.Create(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        var vw = Vector256.Create(w); var vw1 = Vector256.Create(w + 1);
        for (int i = 0; i < oh; i++)
        {
            int rowBase = 2 * i * w;
            ref T top = ref Unsafe.Add(ref x0, rowBase);
            ref T bottom = ref Unsafe.Add(ref x0, rowBase + w);
            // 8 outputs → 16 columns of both rows; the last 8 may overlap the ones before (the same values written again)
            for (int jj = 0; ; jj += 8)
            {
                int j = Math.Min(jj, ow - 8);
                var a = Vector256.LoadUnsafe(ref a0, (nuint)(i * ow + j));
                var v = Vector256.LoadUnsafe(ref Unsafe.As<T, float>(ref d0), (nuint)(i * ow + j));
                var d = a - (Vector256.Create(rowBase + 2 * j) + lane2);
                var m0 = Vector256.Equals(d, Vector256<int>.Zero); var m1 = Vector256.Equals(d, Vector256<int>.One);
                var m2 = Vector256.Equals(d, vw); var m3 = Vector256.Equals(d, vw1);
                if (((m0 | m1) | (m2 | m3)) != Vector256<int>.AllBitsSet) return false;
                var t = Avx512F.PermuteVar16x32(Vector512.Create(v & m0.AsSingle(), v & m1.AsSingle()), interleave);
                var b = Avx512F.PermuteVar16x32(Vector512.Create(v & m2.AsSingle(), v & m3.AsSingle()), interleave);
                t.StoreUnsafe(ref Unsafe.As<T, float>(ref top), (nuint)(2 * j));
                b.StoreUnsafe(ref Unsafe.As<T, float>(ref bottom), (nuint)(2 * j));
                if (jj + 8 >= ow) break;
            }
            // a dropped last column (odd w) is zero; plain loops, no calls (a call would spill the vector registers above)
            for (int c = 2 * ow; c < w; c++) { Unsafe.Add(ref top, c) = T.Zero; Unsafe.Add(ref bottom, c) = T.Zero; }
        }
        for (int e = 2 * oh * w, end = h * w; e < end; e++) Unsafe.Add(ref x0, e) = T.Zero;   // a dropped last row
        return true;
    }
}
