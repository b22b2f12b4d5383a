using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Input gradient of a small unpadded stride-1 convolution with a large kernel (LeNet-5's conv2: 6 → 16 channels, 5×5,
// 14×14 → 10×10), AVX-512. The direct kernel runs it as a full correlation of dy padded by KH−1 rows and KW−1 columns on
// each side, so about half of its taps multiply zeros. Here
//   dx[c, ih, iw] = Σ_k Σ_r Σ_s w[k, c, r, s] · dy[k, ih − r, iw − s]
// runs over the taps r whose dy row ih − r exists (clipped per pair of dx rows), vectorized along a dx row (a vector at iw0,
// the last one at W − V overlapping the one before it; a row narrower than V uses its first W lanes). Image n's dy is copied
// into a zero-bordered scratch (KH−1 rows, KW−1 columns each side), so the column taps need no clipping and the pair's
// union of row taps reads zeros where one of its rows has none. Tile: 6 input channels × 2 dx rows (12 accumulators); each
// tap (k, r, s) loads 2 dy vectors and broadcasts 6 weights; a 5-wide kernel runs its column taps unrolled.
public sealed partial class CpuKernels<T>
{
    /// <summary>Use the clipped small-image backward-data kernel where it applies (NETDSL_SMALL_CONV_BWD=0 turns it off).</summary>
    internal static bool SmallBackwardDataEnabled = Environment.GetEnvironmentVariable("NETDSL_SMALL_CONV_BWD") != "0";
    /// <summary>Per calling thread: skip this kernel (tests compare both paths in one process).</summary>
    [ThreadStatic] internal static bool t_forceNoSmallBwd;
    private const int SbCB = 6;   // input channels per tile
    /// <summary>5×5 kernels run their 5 column taps unrolled (off only for A/B runs).</summary>
    internal static bool SmallUnroll5 = true;

    [ThreadStatic] private static T[]? t_sbPad;   // per worker: one image's zero-bordered dy
    [ThreadStatic] private static T[]? t_sbW;     // per caller: weights packed [C/6][K][KH][KW][6]
    [ThreadStatic] private static T[]? t_sbTile;  // per worker: one tile's 12 vectors

    /// <summary>Whether the input gradient of a convolution of x by w with g runs on this kernel (for tests).</summary>
    internal static bool SmallBackwardDataApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseSmallBackwardData(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g);
    }

    // 5×5 and larger kernels on small images only (ResNets' 3×3 and 1×1 layers keep the direct and GEMM kernels).
    private static bool UseSmallBackwardData(ConvDims d, ConvGeometry g) =>
        SmallBackwardDataEnabled && !t_forceNoSmallBwd && !t_forceIm2col && Use512 && g.Groups == 1
        && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
        && g.PadH == 0 && g.PadW == 0 && g.PadBottom == 0 && g.PadRight == 0
        && d.KH >= 5 && d.KW >= 5 && d.H >= 2 && d.OH >= 1 && d.OW >= 1 && d.H <= 64 && d.W <= 64 && d.C <= 64 && d.K <= 256;

    private readonly record struct SmallGeom(int N, int C, int H, int W, int K, int KH, int KW, int OH, int OW)
    {
        public int PadT => KH - 1;
        public int PadL => KW - 1;
        /// <summary>Scratch row: KW−1 zeros, OW values, zeros up to the widest over-read (a vector at W − V or 0, tap s = 0).</summary>
        public int Wq => Math.Max(OW + 2 * (KW - 1), KW - 1 + Math.Max(W, Vector512<T>.Count)) + 1;
        public int Hq => OH + 2 * (KH - 1) + 1;
        public int Plane => Hq * Wq;
        public int PerRow => W >= Vector512<T>.Count ? (W + Vector512<T>.Count - 1) / Vector512<T>.Count : 1;
        public int Cp => (C + SbCB - 1) / SbCB * SbCB;
        public int Iw0(int j) => W >= Vector512<T>.Count ? Math.Min(j * Vector512<T>.Count, W - Vector512<T>.Count) : 0;
    }

    private static void SmallBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvDims d)
    {
        var q = new SmallGeom(d.N, d.C, d.H, d.W, d.K, d.KH, d.KW, d.OH, d.OW);
        int khw = d.KH * d.KW, cp = q.Cp, panel = d.K * khw * SbCB;
        var wp = Scratch(ref t_sbW, cp / SbCB * panel);
        var ws = w.AsSpan();
        for (int c = 0; c < cp; c++)
        {
            int p0 = c / SbCB * panel, lane = c % SbCB;
            for (int k = 0; k < d.K; k++)
                for (int t = 0; t < khw; t++)
                    wp[p0 + (k * khw + t) * SbCB + lane] = c < d.C ? ws[(k * d.C + c) * khw + t] : T.Zero;
        }
        long work = (long)d.N * d.K * d.C * khw * d.OH * d.OW;
        Chunks(d.N, Workers(work, d.N), (dy, dx, wp, q), static (s, lo, hi) => SmallBackwardDataRange(s.dy, s.dx, s.wp, s.q, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallBackwardDataRange(Tensor<T> dy, Tensor<T> dx, T[] wp, SmallGeom q, int lo, int hi)
    {
        if (lo >= hi) return;
        var pad = Scratch(ref t_sbPad, q.K * q.Plane);
        var dys = dy.AsSpan(); var dxs = dx.AsSpan();
        int outSize = q.K * q.OH * q.OW, inSize = q.C * q.H * q.W, khw = q.KH * q.KW, panel = q.K * khw * SbCB;
        int wq = q.Wq, plane = q.Plane, v = Vector512<T>.Count;
        ref T pad0 = ref MemoryMarshal.GetArrayDataReference(pad);
        ref T wp0 = ref MemoryMarshal.GetArrayDataReference(wp);
        var tile = Scratch(ref t_sbTile, 2 * SbCB * v);
        ref T tile0 = ref MemoryMarshal.GetArrayDataReference(tile);
        pad.AsSpan(0, q.K * plane).Clear();   // borders stay zero: only the interior is rewritten per image
        for (int n = lo; n < hi; n++)
        {
            var dyn = dys.Slice(n * outSize, outSize);
            for (int k = 0; k < q.K; k++)
                for (int oh = 0; oh < q.OH; oh++)
                    CopySmall(dyn.Slice((k * q.OH + oh) * q.OW, q.OW), pad.AsSpan(k * plane + (oh + q.PadT) * wq + q.PadL, q.OW));
            for (int ih0 = 0; ih0 < q.H; ih0 += 2)
            {
                int i0 = Math.Min(ih0, q.H - 2);   // an odd last row pairs with the row before it (same values stored twice)
                // taps r with a dy row for dx row i0 or i0 + 1: 0 ≤ i0 + 1 − r and i0 − r ≤ OH − 1
                int rlo = Math.Max(0, i0 - q.OH + 1), rhi = Math.Min(q.KH - 1, i0 + 1);
                for (int j = 0; j < q.PerRow; j++)
                {
                    int iw0 = q.Iw0(j);
                    // dy row i0 − r, column iw0 − s: scratch (i0 − r + PadT)·Wq + iw0 − s + PadL
                    ref T src = ref Unsafe.Add(ref pad0, (i0 + q.PadT) * wq + iw0 + q.PadL);
                    int len = Math.Min(v, q.W);
                    for (int c0 = 0; c0 < q.C; c0 += SbCB)
                    {
                        SmallTile(ref src, ref Unsafe.Add(ref wp0, c0 / SbCB * panel), q, rlo, rhi, plane, wq, ref tile0);
                        for (int c = 0; c < Math.Min(SbCB, q.C - c0); c++)
                            for (int rr = 0; rr < 2; rr++)
                                CopySmall(tile.AsSpan((2 * c + rr) * v, len), dxs.Slice(n * inSize + ((c0 + c) * q.H + i0 + rr) * q.W + iw0, len));
                    }
                }
            }
        }
    }

    /// <summary>dx rows i0, i0 + 1 of input channels c0..c0+5 at one vector of columns: 12 accumulators over the taps
    /// (k, r ∈ [rlo, rhi], s), stored to tile[channel][row][V].</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallTile(ref T src, ref T wp, SmallGeom q, int rlo, int rhi, int plane, int wq, ref T tile)
    {
        Vector512<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default,
                     b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
        int kw = q.KW, khw = q.KH * kw;
        bool unroll5 = kw == 5 && SmallUnroll5;
        for (int k = 0; k < q.K; k++)
        {
            ref T sk = ref Unsafe.Add(ref src, k * plane);
            ref T wk = ref Unsafe.Add(ref wp, k * khw * SbCB);
            for (int r = rlo; r <= rhi; r++)
            {
                ref T row = ref Unsafe.Subtract(ref sk, r * wq);
                ref T wr = ref Unsafe.Add(ref wk, r * kw * SbCB);
                if (unroll5)
                {
                    // LeNet's 5 column taps written out (the JIT does not unroll the loop)
                    {
                        ref T p = ref row;
                        var x0 = Vector512.LoadUnsafe(ref p);
                        var x1 = Vector512.LoadUnsafe(ref p, (nuint)wq);
                        var c = Vector512.Create(Unsafe.Add(ref wr, 0)); a0 = Fma(c, x0, a0); b0 = Fma(c, x1, b0);
                        c = Vector512.Create(Unsafe.Add(ref wr, 1)); a1 = Fma(c, x0, a1); b1 = Fma(c, x1, b1);
                        c = Vector512.Create(Unsafe.Add(ref wr, 2)); a2 = Fma(c, x0, a2); b2 = Fma(c, x1, b2);
                        c = Vector512.Create(Unsafe.Add(ref wr, 3)); a3 = Fma(c, x0, a3); b3 = Fma(c, x1, b3);
                        c = Vector512.Create(Unsafe.Add(ref wr, 4)); a4 = Fma(c, x0, a4); b4 = Fma(c, x1, b4);
                        c = Vector512.Create(Unsafe.Add(ref wr, 5)); a5 = Fma(c, x0, a5); b5 = Fma(c, x1, b5);
                    }
                    {
                        ref T p = ref Unsafe.Subtract(ref row, 1);
                        var x0 = Vector512.LoadUnsafe(ref p);
                        var x1 = Vector512.LoadUnsafe(ref p, (nuint)wq);
                        var c = Vector512.Create(Unsafe.Add(ref wr, 6)); a0 = Fma(c, x0, a0); b0 = Fma(c, x1, b0);
                        c = Vector512.Create(Unsafe.Add(ref wr, 7)); a1 = Fma(c, x0, a1); b1 = Fma(c, x1, b1);
                        c = Vector512.Create(Unsafe.Add(ref wr, 8)); a2 = Fma(c, x0, a2); b2 = Fma(c, x1, b2);
                        c = Vector512.Create(Unsafe.Add(ref wr, 9)); a3 = Fma(c, x0, a3); b3 = Fma(c, x1, b3);
                        c = Vector512.Create(Unsafe.Add(ref wr, 10)); a4 = Fma(c, x0, a4); b4 = Fma(c, x1, b4);
                        c = Vector512.Create(Unsafe.Add(ref wr, 11)); a5 = Fma(c, x0, a5); b5 = Fma(c, x1, b5);
                    }
                    {
                        ref T p = ref Unsafe.Subtract(ref row, 2);
                        var x0 = Vector512.LoadUnsafe(ref p);
                        var x1 = Vector512.LoadUnsafe(ref p, (nuint)wq);
                        var c = Vector512.Create(Unsafe.Add(ref wr, 12)); a0 = Fma(c, x0, a0); b0 = Fma(c, x1, b0);
                        c = Vector512.Create(Unsafe.Add(ref wr, 13)); a1 = Fma(c, x0, a1); b1 = Fma(c, x1, b1);
                        c = Vector512.Create(Unsafe.Add(ref wr, 14)); a2 = Fma(c, x0, a2); b2 = Fma(c, x1, b2);
                        c = Vector512.Create(Unsafe.Add(ref wr, 15)); a3 = Fma(c, x0, a3); b3 = Fma(c, x1, b3);
                        c = Vector512.Create(Unsafe.Add(ref wr, 16)); a4 = Fma(c, x0, a4); b4 = Fma(c, x1, b4);
                        c = Vector512.Create(Unsafe.Add(ref wr, 17)); a5 = Fma(c, x0, a5); b5 = Fma(c, x1, b5);
                    }
                    {
                        ref T p = ref Unsafe.Subtract(ref row, 3);
                        var x0 = Vector512.LoadUnsafe(ref p);
                        var x1 = Vector512.LoadUnsafe(ref p, (nuint)wq);
                        var c = Vector512.Create(Unsafe.Add(ref wr, 18)); a0 = Fma(c, x0, a0); b0 = Fma(c, x1, b0);
                        c = Vector512.Create(Unsafe.Add(ref wr, 19)); a1 = Fma(c, x0, a1); b1 = Fma(c, x1, b1);
                        c = Vector512.Create(Unsafe.Add(ref wr, 20)); a2 = Fma(c, x0, a2); b2 = Fma(c, x1, b2);
                        c = Vector512.Create(Unsafe.Add(ref wr, 21)); a3 = Fma(c, x0, a3); b3 = Fma(c, x1, b3);
                        c = Vector512.Create(Unsafe.Add(ref wr, 22)); a4 = Fma(c, x0, a4); b4 = Fma(c, x1, b4);
                        c = Vector512.Create(Unsafe.Add(ref wr, 23)); a5 = Fma(c, x0, a5); b5 = Fma(c, x1, b5);
                    }
                    {
                        ref T p = ref Unsafe.Subtract(ref row, 4);
                        var x0 = Vector512.LoadUnsafe(ref p);
                        var x1 = Vector512.LoadUnsafe(ref p, (nuint)wq);
                        var c = Vector512.Create(Unsafe.Add(ref wr, 24)); a0 = Fma(c, x0, a0); b0 = Fma(c, x1, b0);
                        c = Vector512.Create(Unsafe.Add(ref wr, 25)); a1 = Fma(c, x0, a1); b1 = Fma(c, x1, b1);
                        c = Vector512.Create(Unsafe.Add(ref wr, 26)); a2 = Fma(c, x0, a2); b2 = Fma(c, x1, b2);
                        c = Vector512.Create(Unsafe.Add(ref wr, 27)); a3 = Fma(c, x0, a3); b3 = Fma(c, x1, b3);
                        c = Vector512.Create(Unsafe.Add(ref wr, 28)); a4 = Fma(c, x0, a4); b4 = Fma(c, x1, b4);
                        c = Vector512.Create(Unsafe.Add(ref wr, 29)); a5 = Fma(c, x0, a5); b5 = Fma(c, x1, b5);
                    }
                    continue;
                }
                for (int s = 0; s < kw; s++)
                {
                    ref T p = ref Unsafe.Subtract(ref row, s);
                    var x0 = Vector512.LoadUnsafe(ref p);
                    var x1 = Vector512.LoadUnsafe(ref p, (nuint)wq);
                    var c = Vector512.Create(wr); a0 = Fma(c, x0, a0); b0 = Fma(c, x1, b0);
                    c = Vector512.Create(Unsafe.Add(ref wr, 1)); a1 = Fma(c, x0, a1); b1 = Fma(c, x1, b1);
                    c = Vector512.Create(Unsafe.Add(ref wr, 2)); a2 = Fma(c, x0, a2); b2 = Fma(c, x1, b2);
                    c = Vector512.Create(Unsafe.Add(ref wr, 3)); a3 = Fma(c, x0, a3); b3 = Fma(c, x1, b3);
                    c = Vector512.Create(Unsafe.Add(ref wr, 4)); a4 = Fma(c, x0, a4); b4 = Fma(c, x1, b4);
                    c = Vector512.Create(Unsafe.Add(ref wr, 5)); a5 = Fma(c, x0, a5); b5 = Fma(c, x1, b5);
                    wr = ref Unsafe.Add(ref wr, SbCB);
                }
            }
        }
        // a call here (or a stackalloc) would make the JIT spill the accumulators inside the loop: plain stores to the tile
        int v = Vector512<T>.Count;
        a0.StoreUnsafe(ref tile); b0.StoreUnsafe(ref tile, (nuint)v);
        a1.StoreUnsafe(ref tile, (nuint)(2 * v)); b1.StoreUnsafe(ref tile, (nuint)(3 * v));
        a2.StoreUnsafe(ref tile, (nuint)(4 * v)); b2.StoreUnsafe(ref tile, (nuint)(5 * v));
        a3.StoreUnsafe(ref tile, (nuint)(6 * v)); b3.StoreUnsafe(ref tile, (nuint)(7 * v));
        a4.StoreUnsafe(ref tile, (nuint)(8 * v)); b4.StoreUnsafe(ref tile, (nuint)(9 * v));
        a5.StoreUnsafe(ref tile, (nuint)(10 * v)); b5.StoreUnsafe(ref tile, (nuint)(11 * v));
    }
}
