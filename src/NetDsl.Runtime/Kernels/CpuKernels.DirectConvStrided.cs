using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Runtime;

// Strided convolutions (stride sh × sw, dilation 1, groups 1) on the direct stride-1 kernels, forward and backward filter.
// The padded input is split into its stride phases: phase (a, b) of channel c is X'[c,a,b][i][j] = x[c][sh·i + a − padT][sw·j + b − padL]
// (zero outside x), so y[k][oh][ow] = Σ_{c,r,s} W[k][c][r][s] · X'[c, r mod sh, s mod sw][oh + r div sh][ow + s div sw]:
// a stride-1, unpadded convolution of the phase planes with a ⌈KH/sh⌉ × ⌈KW/sw⌉ kernel. The direct kernels take their taps
// from an offset list, so only the C·KH·KW taps of the original kernel are listed (no zero taps), in the original (c, r, s)
// order: the forward packs W as it is, and the weight gradient comes out in W's layout. Backward data keeps the im2col path.
public sealed partial class CpuKernels<T>
{
    /// <summary>
    /// The original image of a strided convolution run on its phases: C×H×W, kernel KH×KW, stride SH×SW, top/left padding;
    /// PA × PB phases are kept (min(stride, kernel): a 1×1 stride-2 convolution needs only phase (0, 0)). SH = 0: not strided.
    /// </summary>
    internal readonly record struct PhaseSrc(int C, int H, int W, int KH, int KW, int SH, int SW, int PadT, int PadL, int PA, int PB);

    /// <summary>Strided convolutions with a kernel larger than 1×1 (a strided 1×1 convolution is a plain GEMM on the subsampled
    /// image and keeps im2col + the blocked GEMM: measured no faster on the phases). The forward runs every weight panel over each
    /// block of tiles, so it needs weights that stay cache-resident (K·C·KH·KW ≤ 64 Ki elements): above that (ResNet-50's
    /// 128-channel 3×3) the blocked GEMM was faster (DirectConvAB); the weight gradient gains at those sizes too.</summary>
    private static bool UseDirectStrided(ConvDims d, ConvGeometry g, bool forward) =>
        DirectConvEnabled && !t_forceIm2col && (Use512 || Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported) && g.Groups == 1
        && (g.StrideH > 1 || g.StrideW > 1) && g.DilationH == 1 && g.DilationW == 1
        && g.PadH >= 0 && g.PadW >= 0 && g.PadBottom >= 0 && g.PadRight >= 0 && d.OH > 0 && d.OW > 0
        && (forward ? d.CRS <= DirectMaxCrs && (long)d.K * d.CRS <= 1 << 16 : d.CRS <= DirectMaxCrs || d.N > 1) && d.KH * d.KW > 1
        && (long)(d.C * Math.Min(g.StrideH, d.KH) * Math.Min(g.StrideW, d.KW) + d.K) * (d.OH + d.KH) * (d.OW + d.KW) < int.MaxValue / 4;

    /// <summary>
    /// The weight gradient takes the direct kernels wherever the forward would, and also past the forward's tap limit
    /// (DirectMaxCrs): its register blocks reduce over pixels, not taps, so long reductions cost it nothing. ResNet-50's
    /// 512-channel 3×3 (C·9 = 4608 taps) at batch 8: 2.5× the im2col + GEMM path, strided 2.7× (DirectConvAB, load 12).
    /// A single image keeps im2col past the limit (one strip is one worker; not faster there).
    /// </summary>
    private static bool UseDirectFilter(ConvDims d, ConvGeometry g) =>
        UseDirect(d, g) || UseDirectStrided(d, g, forward: false)
        || DirectConvEnabled && !t_forceIm2col && (Use512 || Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported) && g.Groups == 1
           && g.StrideH == 1 && g.StrideW == 1 && g.PadBottom >= 0 && g.PadRight >= 0 && !d.Is1x1Direct(g) && d.N > 1
           && (long)d.C * (d.H + g.PadH + g.PadBottom + d.KH * g.DilationH) * (d.W + g.PadW + g.PadRight + d.KW * g.DilationW) < int.MaxValue / 4
           && (long)d.K * d.CRS < int.MaxValue / 4;

    /// <summary>Whether a convolution's weight gradient runs on the direct kernels (for tests).</summary>
    internal static bool DirectFilterApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseDirectFilter(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g);
    }

    /// <summary>Whether a strided convolution of x by w with g runs on the direct kernels (for tests).</summary>
    internal static bool DirectStridedApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseDirectStrided(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g, forward: true);
    }

    /// <summary>The stride-1 geometry of the phase planes: C·PA·PB channels of (OH + ⌈KH/sh⌉ − 1) × (OW + ⌈KW/sw⌉ − 1), no padding.</summary>
    private static DirectGeom PhaseGeom(ConvDims d, ConvGeometry g)
    {
        int sh = g.StrideH, sw = g.StrideW, pa = Math.Min(sh, d.KH), pb = Math.Min(sw, d.KW);
        int kh = (d.KH + sh - 1) / sh, kw = (d.KW + sw - 1) / sw;
        return DirectGeom.Make(d.N, d.C * pa * pb, d.OH + kh - 1, d.OW + kw - 1, d.K, kh, kw, 1, 1, 0, 0, 0, 0)
            with { Src = new PhaseSrc(d.C, d.H, d.W, d.KH, d.KW, sh, sw, g.PadH, g.PadW, pa, pb) };
    }

    /// <summary>Tap (c, r, s) of the original kernel reads phase channel (c, r mod sh, s mod sw) at row r div sh, column s div sw.</summary>
    private static void PhaseOffsets(DirectGeom q, int[] offs)
    {
        var p = q.Src;
        int i = 0;
        for (int c = 0; c < p.C; c++)
            for (int r = 0; r < p.KH; r++)
                for (int s = 0; s < p.KW; s++)
                    offs[i++] = ((c * p.PA + r % p.SH) * p.PB + s % p.SW) * q.Plane + r / p.SH * q.Wp + s / p.SW;
    }

    private static readonly Vector512<int> EvenOddIdx = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);

    /// <summary>Rows [r0, r1) of every phase plane of xp ← the phase planes of images n0..n0+gn, image g at column g·Ws of each
    /// plane, zeros elsewhere (each row zeroed, then filled, in one pass; the caller clears the tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PhaseStrip(ReadOnlySpan<T> x, int n0, int gn, Span<T> xp, DirectGeom q, int r0, int r1)
    {
        var p = q.Src;
        int inSize = p.C * p.H * p.W, wq = q.W;   // phase plane: q.H × q.W
        if ((long)(n0 + gn) * inSize > x.Length) throw new ArgumentException("input too short");
        // stride-2 columns with both column phases kept: 16 inputs → 8 even + 8 odd with one permute
        bool vec = typeof(T) == typeof(float) && Use512 && Avx512F.IsSupported && p.SW == 2 && p.PB == 2;
        Span<int> jlo = stackalloc int[p.PB], jhi = stackalloc int[p.PB];
        for (int b = 0; b < p.PB; b++)
        {
            jlo[b] = Math.Max(0, CeilDiv(p.PadL - b, p.SW));
            jhi[b] = Math.Min(wq, FloorDiv(p.W - 1 + p.PadL - b, p.SW) + 1);
        }
        int be = p.PadL & 1, bo = be ^ 1;
        // the vector loop's last start: both phases' 8 outputs stay inside their valid columns
        int vecEnd = 0;
        if (vec)
            while (vecEnd + 16 <= p.W && ((vecEnd + p.PadL - be) >> 1) + 8 <= jhi[be] && ((vecEnd + 1 + p.PadL - bo) >> 1) + 8 <= jhi[bo]) vecEnd += 16;
        ref T xp0 = ref MemoryMarshal.GetReference(xp);
        ref T x0 = ref MemoryMarshal.GetReference(x);
        for (int c = 0; c < p.C; c++)
            for (int a = 0; a < p.PA; a++)
                for (int i = r0; i < r1; i++)
                {
                    // destination rows of phases (c, a, b): plane (c·PA + a)·PB + b, row i
                    ref T row0 = ref Unsafe.Add(ref xp0, (c * p.PA + a) * p.PB * q.Plane + i * q.Wp);
                    for (int b = 0; b < p.PB; b++) ZeroRun(ref Unsafe.Add(ref row0, b * q.Plane), q.Wp);
                    int ih = p.SH * i + a - p.PadT;
                    if ((uint)ih >= (uint)p.H) continue;
                    for (int g = 0; g < gn; g++)
                    {
                        ref T src = ref Unsafe.Add(ref x0, (n0 + g) * inSize + (c * p.H + ih) * p.W);
                        ref T rowg = ref Unsafe.Add(ref row0, g * q.Ws);
                        int iwv = 0;
                        if (vec)
                        {
                            // evens (iw even) go to phase be = padL mod 2 at j = (iw + padL − be) / 2, odds to the other
                            ref float rowE = ref Unsafe.As<T, float>(ref Unsafe.Add(ref rowg, be * q.Plane));
                            ref float rowO = ref Unsafe.As<T, float>(ref Unsafe.Add(ref rowg, bo * q.Plane));
                            ref float sf = ref Unsafe.As<T, float>(ref src);
                            for (; iwv < vecEnd; iwv += 16)
                            {
                                int je = (iwv + p.PadL - be) >> 1, jo = (iwv + 1 + p.PadL - bo) >> 1;
                                var e = Avx512F.PermuteVar16x32(Vector512.LoadUnsafe(ref sf, (nuint)iwv), EvenOddIdx);
                                e.GetLower().StoreUnsafe(ref rowE, (nuint)je);
                                e.GetUpper().StoreUnsafe(ref rowO, (nuint)jo);
                            }
                        }
                        for (int b = 0; b < p.PB; b++)
                        {
                            ref T dst = ref Unsafe.Add(ref rowg, b * q.Plane);
                            int j0 = Math.Max(jlo[b], CeilDiv(iwv + p.PadL - b, p.SW)), j1 = jhi[b];
                            for (int j = j0, iw = p.SW * j0 + b - p.PadL; j < j1; j++, iw += p.SW)
                                Unsafe.Add(ref dst, j) = Unsafe.Add(ref src, iw);
                        }
                    }
                }
    }

    /// <summary>Pack the weights with 8×8 transposes (off only for A/B measurements of the scalar packing).</summary>
    internal static bool DirectPackFast = true;

    /// <summary>
    /// Full 8-row panels of the forward's packed weights, panels[p][i][lane] = W[8p + lane][i], by 8×8 transposes of
    /// float vectors (a per-call scatter of K·CRS scalars cost about as much as the whole convolution of a batch-1 image
    /// with 64 channels). Returns the first output channel left to the caller's scalar loop (a partial panel), 0 when
    /// not float / AVX, or when the rows are not 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int PackPanels8(ReadOnlySpan<T> ws, T[] panels, int k, int crs, int mr)
    {
        if (typeof(T) != typeof(float) || mr != 8 || !Avx.IsSupported) return 0;
        int full = k / 8 * 8, i8 = crs / 8 * 8;
        ref float w0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(ws));
        ref float p0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetArrayDataReference(panels));
        for (int k0 = 0; k0 < full; k0 += 8)
        {
            ref float src = ref Unsafe.Add(ref w0, k0 * crs);
            ref float dst = ref Unsafe.Add(ref p0, k0 * crs);
            nuint c = (nuint)crs;
            for (int i = 0; i < i8; i += 8)
            {
                nuint o = (nuint)i;
                var r0 = Vector256.LoadUnsafe(ref src, o); var r1 = Vector256.LoadUnsafe(ref src, o + c);
                var r2 = Vector256.LoadUnsafe(ref src, o + 2 * c); var r3 = Vector256.LoadUnsafe(ref src, o + 3 * c);
                var r4 = Vector256.LoadUnsafe(ref src, o + 4 * c); var r5 = Vector256.LoadUnsafe(ref src, o + 5 * c);
                var r6 = Vector256.LoadUnsafe(ref src, o + 6 * c); var r7 = Vector256.LoadUnsafe(ref src, o + 7 * c);
                var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1); var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
                var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5); var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
                var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE); var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
                var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE); var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
                ref float d = ref Unsafe.Add(ref dst, i * 8);
                Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref d);
                Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref d, 8);
                Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref d, 16);
                Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref d, 24);
                Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref d, 32);
                Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref d, 40);
                Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref d, 48);
                Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref d, 56);
            }
            for (int i = i8; i < crs; i++)
                for (int lane = 0; lane < 8; lane++) Unsafe.Add(ref dst, i * 8 + lane) = Unsafe.Add(ref src, lane * crs + i);
        }
        return full;
    }
}
