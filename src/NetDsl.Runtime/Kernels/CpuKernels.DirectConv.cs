using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Direct (implicit-GEMM) convolution for stride 1, groups 1: no im2col, no col2im.
// Image n is copied into a zero-padded scratch xpad[C][Hp][Wp] (+ a zero tail), and outputs are computed in padded-width
// coordinates q = oh·Wp + ow, ow ∈ [0, Wp) (columns ow ≥ OW are garbage, dropped on write). For every tap (c, r, s) the
// inputs needed by a run of q are xpad_flat[off(c,r,s) + q], off = c·Hp·Wp + r·dilH·Wp + s·dilW: contiguous in q, so the
// GEMM's B operand is a set of shifted views of xpad and is never packed.
//   forward:         y[k][q]  = Σ_crs W[k][crs] · xpad[off(crs) + q]   (W packed into MR-row panels; register tile 8 × 3
//                    (or 8 × 2) or 6 × 4 zmm vectors of q with AVX-512, 6 × 2 ymm with AVX2)
//   backward data:   the same kernel on dy padded by dil·(KH−1) − pad with flipped, transposed weights w'[c][k][KH−1−r][KW−1−s]
//   backward filter: dW[k][crs] = Σ_n Σ_q dy_pw[k][q] · xpad[off(crs) + q], dy_pw = dy in padded-width layout with zeros in the
//                    garbage columns: dot form, 4 k × 6 taps (or 6 × 4; AVX2 4 × 3) of vector accumulators, a group of
//                    strips summed in registers.
// Small images are laid side by side in a strip (their pad columns shared), so fewer padded-width columns are garbage.
public sealed partial class CpuKernels<T>
{
    /// <summary>Use the direct kernels where they apply (NETDSL_DIRECT_CONV=0 turns them off; tests and A/B measurements flip it).</summary>
    internal static bool DirectConvEnabled = Environment.GetEnvironmentVariable("NETDSL_DIRECT_CONV") != "0";
    /// <summary>Per calling thread: force the im2col path (tests and A/B harnesses compare both in one process).</summary>
    [ThreadStatic] internal static bool t_forceIm2col;
    /// <summary>Taps (C·KH·KW) above this go to im2col + the blocked GEMM (the direct kernel keeps the whole reduction in one pass).</summary>
    internal const int DirectMaxCrs = 2304;

    [ThreadStatic] private static T[]? t_dcPad;      // per worker: padded image(s)
    [ThreadStatic] private static T[]? t_dcDy;       // per worker: dy in padded-width layout (backward filter)
    [ThreadStatic] private static T[]? t_dcPanels;   // per caller: packed weights
    [ThreadStatic] private static int[]? t_dcOffs;   // per caller: tap offsets into xpad

    private const int DcMR = 8;
    /// <summary>Input elements (C × columns) a block of tiles spans while every weight panel runs over it.</summary>
    internal static int DirectBlockElements = 4096;
    /// <summary>Rows of the register tile: 8 output channels × 2 vectors of q, or 6 × 4 vectors when there are few outputs
    /// (LeNet's K = 6 would leave a quarter of an 8-row tile empty).</summary>
    private static int DirectRows(int k) => !Use512 ? 6 : k <= 6 ? 6 : DcMR;
    /// <summary>Columns (q) of the register tile: 3 (or 2) vectors with 8 rows, 4 with 6 rows (AVX-512); AVX2: 6 rows × 2 vectors.</summary>
    private static int DirectCols(int rows) => Use512 ? (rows == DcMR ? (DirectTile3 ? 3 : 2) : 4) * Vector512<T>.Count : 2 * Vector256<T>.Count;
    /// <summary>8-row tiles of 3 vectors (24 accumulators; 3 loads and 8 broadcasts feed 24 FMAs) instead of 2: 1.03–1.18× on the
    /// ResNet-20/50 shapes (DirectConvAB tile3, Intel Xeon AVX-512), neutral at batch 1. NETDSL_DIRECT_TILE3=0 (or A/B) turns it off.</summary>
    internal static bool DirectTile3 = Environment.GetEnvironmentVariable("NETDSL_DIRECT_TILE3") != "0";

    /// <summary>
    /// Geometry of the direct kernel: G images of C×H×W side by side in a strip of Hp×Wp per channel, image g at row PadT,
    /// column PadL + g·Ws (negative pads crop, G = 1 then), K outputs of OH×OW per image. Small images share a strip so
    /// fewer of the padded-width columns are garbage: the pad columns between two images serve both.
    /// </summary>
    private readonly record struct DirectGeom(int N, int C, int H, int W, int K, int KH, int KW, int DilH, int DilW, int PadT, int PadL,
        int Hp, int Wp, int G, int Ws, int OW)
    {
        public int OH => Hp - DilH * (KH - 1);
        public int Plane => Hp * Wp;
        public int Q => OH * Wp;
        /// <summary>Taps of the reduction: C·KH·KW, or for a strided convolution (<see cref="Src"/>) the original C·KH·KW
        /// (the phase channels' taps that fall outside the original kernel are left out).</summary>
        public int CRS => Src.SH > 0 ? Src.C * Src.KH * Src.KW : C * KH * KW;
        /// <summary>Set for a strided convolution run on its stride phases (CpuKernels.DirectConvStrided.cs); default otherwise.</summary>
        public PhaseSrc Src { get; init; }
        public int Strips => (N + G - 1) / G;
        /// <summary>Padded strip plus a zero tail covering the over-read of the last (rounded-up) tile.</summary>
        public int PadSize => C * Hp * Wp + Wp + 128;

        public static DirectGeom Make(int n, int c, int h, int w, int k, int kh, int kw, int dilH, int dilW, int pt, int pb, int pl, int pr)
        {
            int ow = w + pl + pr - dilW * (kw - 1), sep = Math.Max(pl, pr), g = 1;
            // images side by side while the strip stays short (≤ 80 columns); each image's outputs must stay in its own Ws columns
            if (pl >= 0 && pr >= 0 && ow <= w + sep)
                while (2 * g <= n && 2 * g * (w + sep) <= 80) g *= 2;
            int wp = g == 1 ? w + pl + pr : pl + g * w + (g - 1) * sep + pr;
            return new DirectGeom(n, c, h, w, k, kh, kw, dilH, dilW, pt, pl, h + pt + pb, wp, g, g == 1 ? wp : w + sep, ow);
        }
    }

    /// <summary>Whether a convolution of x by w with g runs on the direct kernels (for tests).</summary>
    internal static bool DirectConvApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseDirect(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g);
    }

    private static bool UseDirect(ConvDims d, ConvGeometry g) =>
        DirectConvEnabled && !t_forceIm2col && (Use512 || Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported) && g.Groups == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadBottom >= 0 && g.PadRight >= 0
        && !d.Is1x1Direct(g) && d.CRS <= DirectMaxCrs && d.K * d.KH * d.KW <= DirectMaxCrs
        && (long)(d.C + d.K) * (d.H + g.PadH + g.PadBottom + d.KH * g.DilationH) * (d.W + g.PadW + g.PadRight + d.KW * g.DilationW) < int.MaxValue / 4;

    private static DirectGeom ForwardGeom(ConvDims d, ConvGeometry g) =>
        DirectGeom.Make(d.N, d.C, d.H, d.W, d.K, d.KH, d.KW, g.DilationH, g.DilationW, g.PadH, g.PadBottom, g.PadW, g.PadRight);

    /// <summary>dx = conv(dy padded by dil·(k−1) − pad, flipped weights): C ← K, K ← C, output H×W.</summary>
    private static DirectGeom BackwardDataGeom(ConvDims d, ConvGeometry g)
    {
        int eh = g.DilationH * (d.KH - 1), ew = g.DilationW * (d.KW - 1);
        return DirectGeom.Make(d.N, d.K, d.OH, d.OW, d.C, d.KH, d.KW, g.DilationH, g.DilationW, eh - g.PadH, eh - g.PadBottom, ew - g.PadW, ew - g.PadRight);
    }

    private static int[] DirectOffsets(DirectGeom q)
    {
        var offs = t_dcOffs is { } o && o.Length >= q.CRS ? o : (t_dcOffs = new int[Math.Max(q.CRS, 64)]);
        if (q.Src.SH > 0) { PhaseOffsets(q, offs); return offs; }
        int i = 0;
        for (int c = 0; c < q.C; c++)
            for (int r = 0; r < q.KH; r++)
                for (int s = 0; s < q.KW; s++) offs[i++] = c * q.Plane + r * q.DilH * q.Wp + s * q.DilW;
        return offs;
    }

    /// <summary>
    /// Rows [r0, r1) of every Hp×Wp plane of xp = images n0..n0+gn placed at (PadT, PadL + g·Ws), zeros elsewhere; with the
    /// whole window (r0 = 0, r1 = Hp, the default) also the zero tail, i.e. all of xp[0, PadSize). Each row is zeroed and filled
    /// while it is in L1, in one pass (clearing the whole strip first, then copying, wrote it twice: a quarter to a third of a
    /// batch-1 convolution). A forward worker that computes only some tiles pads only the rows they read (<see cref="PadRows"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadStrip(ReadOnlySpan<T> x, int n0, int gn, Span<T> xp, DirectGeom q, int r0 = 0, int r1 = int.MaxValue)
    {
        r1 = Math.Min(r1, q.Hp);
        int planes = q.C * q.Plane;
        if (xp.Length < q.PadSize || r0 < 0) throw new ArgumentException("padded scratch too short");
        if (r1 == q.Hp) xp[planes..q.PadSize].Clear();
        if (q.Src.SH > 0) { PhaseStrip(x, n0, gn, xp, q, r0, r1); return; }
        int iw0 = Math.Max(0, -q.PadL), iw1 = Math.Min(q.W, q.Wp - q.PadL), len = iw1 - iw0;
        int inSize = q.C * q.H * q.W;
        if ((long)(n0 + gn) * inSize > x.Length) throw new ArgumentException("input too short");
        ref T xp0 = ref MemoryMarshal.GetReference(xp);
        ref T x0 = ref MemoryMarshal.GetReference(x);
        for (int c = 0; c < q.C; c++)
            for (int r = r0; r < r1; r++)
            {
                ref T row = ref Unsafe.Add(ref xp0, c * q.Plane + r * q.Wp);
                ZeroRun(ref row, q.Wp);
                int ih = r - q.PadT;
                if ((uint)ih >= (uint)q.H || len <= 0) continue;
                for (int g = 0; g < gn; g++)
                    CopyRow(ref Unsafe.Add(ref x0, (n0 + g) * inSize + (c * q.H + ih) * q.W + iw0), ref Unsafe.Add(ref row, q.PadL + g * q.Ws + iw0), len);
            }
    }

    /// <summary>The rows of each padded plane that the outputs q ∈ [qa, qb) read: [qa / Wp, (qb − 1) / Wp + DilH·(KH − 1) + 1) ∩ [0, Hp).
    /// Outputs outside [qa, qb) of a tile read other rows only in their garbage columns (dropped on write).</summary>
    private static (int r0, int r1) PadRows(DirectGeom q, int qa, int qb) =>
        qb <= qa ? (0, 0) : (qa / q.Wp, Math.Min(q.Hp, (qb - 1) / q.Wp + q.DilH * (q.KH - 1) + 1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ZeroRun(ref T d, int n)
    {
        int w = Vector256<T>.Count, i = 0;
        for (; i <= n - w; i += w) Vector256<T>.Zero.StoreUnsafe(ref d, (nuint)i);
        if (i < n)
        {
            if (n >= w) Vector256<T>.Zero.StoreUnsafe(ref d, (nuint)(n - w));   // overlapping last vector
            else for (; i < n; i++) Unsafe.Add(ref d, i) = T.Zero;
        }
    }

    /// <summary>A short copy between distinct buffers: vectors, the last one overlapping the previous (no scalar tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(ref T s, ref T d, int n)
    {
        int w = Vector256<T>.Count, i = 0;
        for (; i <= n - w; i += w) Vector256.LoadUnsafe(ref s, (nuint)i).StoreUnsafe(ref d, (nuint)i);
        if (i < n)
        {
            if (n >= w) Vector256.LoadUnsafe(ref s, (nuint)(n - w)).StoreUnsafe(ref d, (nuint)(n - w));
            else for (; i < n; i++) Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i);
        }
    }

    // ---------------------------------------------------------------- forward (and backward data)

    /// <param name="packed">Inference (CpuKernels.ConvPacked.cs): the panels are kept there and reused while <paramref name="key"/> stays.</param>
    private static void DirectConvForward<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, ConvDims d, TEpi epi,
        PackedWeights<T>? packed = null, long key = 0)
        where TEpi : struct, IMap1<T>
    {
        var q = g.StrideH == 1 && g.StrideW == 1 ? ForwardGeom(d, g) : PhaseGeom(d, g);
        // panels [K/MR][CRS][MR] of W (K×CRS), zero rows past K
        int crs = q.CRS, mr = DirectRows(q.K), kp = (q.K + mr - 1) / mr * mr;
        if (packed is not null && packed.Holds(w, kp, crs, key))
        {
            RunDirect(x, y, b, packed.Data!, DirectOffsets(q), q, epi);
            return;
        }
        var panels = packed is not null ? packed.Buffer(kp * crs) : Scratch(ref t_dcPanels, kp * crs);
        var ws = w.AsSpan();
        int k0 = DirectPackFast ? PackPanels8(ws, panels, q.K, crs, mr) : 0;
        for (int k = k0; k < kp; k++)
        {
            int panel = k / mr * crs * mr, lane = k % mr;
            if (k < q.K) for (int i = 0; i < crs; i++) panels[panel + i * mr + lane] = ws[k * crs + i];
            else for (int i = 0; i < crs; i++) panels[panel + i * mr + lane] = T.Zero;
        }
        packed?.Packed(w, kp, crs, key);
        RunDirect(x, y, b, panels, DirectOffsets(q), q, epi);
    }

    private static void DirectConvBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g, ConvDims d)
    {
        var q = BackwardDataGeom(d, g);
        // w'[c][k][r][s] = w[k][c][KH−1−r][KW−1−s], packed into panels of MR input channels
        int crs = q.CRS, mr = DirectRows(d.C), cp = (d.C + mr - 1) / mr * mr, khw = d.KH * d.KW;
        var panels = Scratch(ref t_dcPanels, cp * crs);
        var ws = w.AsSpan();
        for (int c = 0; c < cp; c++)
        {
            int panel = c / mr * crs * mr, lane = c % mr;
            for (int k = 0; k < d.K; k++)
                for (int r = 0; r < d.KH; r++)
                    for (int s = 0; s < d.KW; s++)
                    {
                        int i = (k * d.KH + r) * d.KW + s;
                        panels[panel + i * mr + lane] = c < d.C ? ws[(k * d.C + c) * khw + (d.KH - 1 - r) * d.KW + (d.KW - 1 - s)] : T.Zero;
                    }
        }
        RunDirect(dy, dx, null, panels, DirectOffsets(q), q, default(Identity<T>));
    }

    private static void RunDirect<TEpi>(Tensor<T> src, Tensor<T> dst, Tensor<T>? b, T[] panels, int[] offs, DirectGeom q, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int nq = DirectCols(DirectRows(q.K));
        int tiles = (q.Q + nq - 1) / nq;
        long work = (long)q.N * q.K * q.CRS * q.OH * q.OW;
        int cores = Environment.ProcessorCount;
        // few strips: split each strip's tiles too, so every core gets work
        int strips = q.Strips;
        int split = strips >= 2 * cores ? 1 : Math.Min(tiles, (2 * cores + strips - 1) / strips);
        int units = strips * split;
        int workers = Workers(work, units);
        ConvChunks(units, workers, (src, dst, b, panels, offs, q, epi, split, tiles), static (s, lo, hi) =>
            DirectRange(s.src, s.dst, s.b, s.panels, s.offs, s.q, s.epi, s.split, s.tiles, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectRange<TEpi>(Tensor<T> src, Tensor<T> dst, Tensor<T>? b, T[] panels, int[] offs, DirectGeom q, TEpi epi,
        int split, int tiles, int lo, int hi) where TEpi : struct, IMap1<T>
    {
        if (lo >= hi) return;
        int rows = DirectRows(q.K), nq = DirectCols(rows);
        var xp = Scratch(ref t_dcPad, q.PadSize);
        var ss = src.AsSpan(); var ds = dst.AsSpan();
        int inSize = q.C * q.H * q.W, outSize = q.K * q.OH * q.OW, crs = q.CRS;
        bool hasBias = b is not null;
        ref T bias0 = ref hasBias ? ref MemoryMarshal.GetReference(b!.AsSpan()) : ref Unsafe.NullRef<T>();
        ref T xp0 = ref MemoryMarshal.GetArrayDataReference(xp);
        ref T pa0 = ref MemoryMarshal.GetArrayDataReference(panels);
        ref int off0 = ref MemoryMarshal.GetArrayDataReference(offs);
        // a block of tiles whose input window stays in L1 while every weight panel runs over it
        int tb = Math.Max(1, DirectBlockElements / Math.Max(1, q.C) / nq);
        int cur = -1;
        for (int u = lo; u < hi; u++)
        {
            int si = u / split, n0 = si * q.G, gn = Math.Min(q.G, q.N - n0);
            if (si != cur)
            {
                // pad only the rows read by the tiles this call computes of strip si (units u .. uEnd−1): a batch-1 image split
                // between workers is padded half by each, not whole by both
                int uEnd = Math.Min(hi, (si + 1) * split);
                int ta = Chunk(tiles, split, u % split).lo, te = Chunk(tiles, split, (uEnd - 1) % split).hi;
                var (r0, r1) = PadRows(q, ta * nq, Math.Min(te * nq, q.Q));
                PadStrip(ss, n0, gn, xp, q, r0, r1);
                cur = si;
            }
            var (t0, t1) = Chunk(tiles, split, u % split);
            ref T y0 = ref MemoryMarshal.GetReference(ds.Slice(n0 * outSize));
            var wr = new TileDst(outSize, gn);
            for (int tb0 = t0; tb0 < t1; tb0 += tb)
            {
                int tb1 = Math.Min(t1, tb0 + tb);
                for (int k0 = 0; k0 < q.K; k0 += rows)
                {
                    ref T pa = ref Unsafe.Add(ref pa0, k0 * crs);
                    int mr = Math.Min(rows, q.K - k0);
                    ref T bk = ref hasBias ? ref Unsafe.Add(ref bias0, k0) : ref bias0;
                    for (int t = tb0; t < tb1; t++)
                        if (!Use512) DirectTile256(ref Unsafe.Add(ref xp0, t * nq), ref pa, ref off0, crs, ref y0, wr, q, k0, mr, t * nq, hasBias, ref bk, epi);
                        else if (rows == DcMR && DirectTile3) DirectTile512x3(ref Unsafe.Add(ref xp0, t * nq), ref pa, ref off0, crs, ref y0, wr, q, k0, mr, t * nq, hasBias, ref bk, epi);
                        else if (rows == DcMR) DirectTile512(ref Unsafe.Add(ref xp0, t * nq), ref pa, ref off0, crs, ref y0, wr, q, k0, mr, t * nq, hasBias, ref bk, epi);
                        else DirectTile512x6(ref Unsafe.Add(ref xp0, t * nq), ref pa, ref off0, crs, ref y0, wr, q, k0, mr, t * nq, hasBias, ref bk, epi);
                }
            }
        }
    }

    /// <summary>Output rows k0..k0+mr, padded-width columns q0..q0+2w: MR × 2 vector accumulators over all taps, then bias,
    /// epilogue and the valid columns written to y.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectTile512<TEpi>(ref T xq, ref T ap, ref int off, int crs, ref T y, TileDst wr, DirectGeom q, int k0, int mr, int q0,
        bool hasBias, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                     c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
                     c60 = default, c61 = default, c70 = default, c71 = default;
        for (int i = 0; i < crs; i++)
        {
            ref T bp = ref Unsafe.Add(ref xq, Unsafe.Add(ref off, i));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            var a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            ap = ref Unsafe.Add(ref ap, DcMR);
        }
        int nq = 2 * w;
        Span<T> tile = stackalloc T[DcMR * 2 * Vector512<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        TileRow(ref t, 0, c00, c01, hasBias, ref bias, epi);
        if (mr > 1) TileRow(ref t, 1, c10, c11, hasBias, ref bias, epi);
        if (mr > 2) TileRow(ref t, 2, c20, c21, hasBias, ref bias, epi);
        if (mr > 3) TileRow(ref t, 3, c30, c31, hasBias, ref bias, epi);
        if (mr > 4) TileRow(ref t, 4, c40, c41, hasBias, ref bias, epi);
        if (mr > 5) TileRow(ref t, 5, c50, c51, hasBias, ref bias, epi);
        if (mr > 6) TileRow(ref t, 6, c60, c61, hasBias, ref bias, epi);
        if (mr > 7) TileRow(ref t, 7, c70, c71, hasBias, ref bias, epi);
        WriteTile(ref t, nq, ref y, wr, q, k0, mr, q0);
    }

    /// <summary>Output rows k0..k0+mr, columns q0..q0+3w: MR × 3 vector accumulators.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectTile512x3<TEpi>(ref T xq, ref T ap, ref int off, int crs, ref T y, TileDst wr, DirectGeom q, int k0, int mr, int q0,
        bool hasBias, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default,
                     c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default,
                     c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default,
                     c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        for (int i = 0; i < crs; i++)
        {
            ref T bp = ref Unsafe.Add(ref xq, Unsafe.Add(ref off, i));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            var b2 = Vector512.LoadUnsafe(ref bp, (nuint)(2 * w));
            var a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01); c02 = Fma(a, b2, c02);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11); c12 = Fma(a, b2, c12);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21); c22 = Fma(a, b2, c22);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31); c32 = Fma(a, b2, c32);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41); c42 = Fma(a, b2, c42);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51); c52 = Fma(a, b2, c52);
            a = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61); c62 = Fma(a, b2, c62);
            a = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71); c72 = Fma(a, b2, c72);
            ap = ref Unsafe.Add(ref ap, DcMR);
        }
        int nq = 3 * w;
        Span<T> tile = stackalloc T[DcMR * 3 * Vector512<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        TileRow3(ref t, 0, c00, c01, c02, hasBias, ref bias, epi);
        if (mr > 1) TileRow3(ref t, 1, c10, c11, c12, hasBias, ref bias, epi);
        if (mr > 2) TileRow3(ref t, 2, c20, c21, c22, hasBias, ref bias, epi);
        if (mr > 3) TileRow3(ref t, 3, c30, c31, c32, hasBias, ref bias, epi);
        if (mr > 4) TileRow3(ref t, 4, c40, c41, c42, hasBias, ref bias, epi);
        if (mr > 5) TileRow3(ref t, 5, c50, c51, c52, hasBias, ref bias, epi);
        if (mr > 6) TileRow3(ref t, 6, c60, c61, c62, hasBias, ref bias, epi);
        if (mr > 7) TileRow3(ref t, 7, c70, c71, c72, hasBias, ref bias, epi);
        WriteTile(ref t, nq, ref y, wr, q, k0, mr, q0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileRow3<TEpi>(ref T t, int row, Vector512<T> v0, Vector512<T> v1, Vector512<T> v2, bool hasBias, ref T bias, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int w = Vector512<T>.Count;
        if (hasBias) { var bv = Vector512.Create(Unsafe.Add(ref bias, row)); v0 += bv; v1 += bv; v2 += bv; }
        if (typeof(TEpi) != typeof(Identity<T>)) { v0 = epi.Apply(v0); v1 = epi.Apply(v1); v2 = epi.Apply(v2); }
        ref T r = ref Unsafe.Add(ref t, row * 3 * w);
        v0.StoreUnsafe(ref r); v1.StoreUnsafe(ref r, (nuint)w); v2.StoreUnsafe(ref r, (nuint)(2 * w));
    }

    /// <summary>Where a strip's outputs go: image g of the strip at y + g·OutSize; Images = images in this strip.</summary>
    private readonly record struct TileDst(int OutSize, int Images);

    /// <summary>Writes the valid runs of a tile (rows of <paramref name="nq"/> columns at q0): q ∈ [q0, q0+nq) ∩ [0, Q), q = oh·Wp + col,
    /// col = g·Ws + ow with g &lt; images and ow &lt; OW, to y[g][k0+i][oh][ow].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteTile(ref T t, int nq, ref T y, TileDst wr, DirectGeom q, int k0, int mr, int q0)
    {
        int plane = q.OH * q.OW, qEnd = Math.Min(q0 + nq, q.Q);
        for (int qq = q0; qq < qEnd;)
        {
            int oh = qq / q.Wp, col = qq - oh * q.Wp, g = col / q.Ws, ow = col - g * q.Ws;
            if (g >= wr.Images) { qq += q.Wp - col; continue; }          // past the strip's last image: the rest of the row
            if (ow >= q.OW) { qq += q.Ws - ow; continue; }               // the pad columns after image g
            int len = Math.Min(q.OW - ow, qEnd - qq);
            ref T yd = ref Unsafe.Add(ref y, g * wr.OutSize + k0 * plane + oh * q.OW + ow);
            ref T ts = ref Unsafe.Add(ref t, qq - q0);
            for (int i = 0; i < mr; i++)
                CopyRun(ref Unsafe.Add(ref ts, i * nq), ref Unsafe.Add(ref yd, i * plane), len);
            qq += len;
        }
    }

    /// <summary>Output rows k0..k0+mr (mr ≤ 6), columns q0..q0+4w: 6 × 4 vector accumulators.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectTile512x6<TEpi>(ref T xq, ref T ap, ref int off, int crs, ref T y, TileDst wr, DirectGeom q, int k0, int mr, int q0,
        bool hasBias, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default,
                     c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default,
                     c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        for (int i = 0; i < crs; i++)
        {
            ref T bp = ref Unsafe.Add(ref xq, Unsafe.Add(ref off, i));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            var b2 = Vector512.LoadUnsafe(ref bp, (nuint)(2 * w));
            var b3 = Vector512.LoadUnsafe(ref bp, (nuint)(3 * w));
            var a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01); c02 = Fma(a, b2, c02); c03 = Fma(a, b3, c03);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11); c12 = Fma(a, b2, c12); c13 = Fma(a, b3, c13);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21); c22 = Fma(a, b2, c22); c23 = Fma(a, b3, c23);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31); c32 = Fma(a, b2, c32); c33 = Fma(a, b3, c33);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41); c42 = Fma(a, b2, c42); c43 = Fma(a, b3, c43);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51); c52 = Fma(a, b2, c52); c53 = Fma(a, b3, c53);
            ap = ref Unsafe.Add(ref ap, 6);
        }
        int nq = 4 * w;
        Span<T> tile = stackalloc T[6 * 4 * Vector512<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        TileRow4(ref t, 0, c00, c01, c02, c03, hasBias, ref bias, epi);
        if (mr > 1) TileRow4(ref t, 1, c10, c11, c12, c13, hasBias, ref bias, epi);
        if (mr > 2) TileRow4(ref t, 2, c20, c21, c22, c23, hasBias, ref bias, epi);
        if (mr > 3) TileRow4(ref t, 3, c30, c31, c32, c33, hasBias, ref bias, epi);
        if (mr > 4) TileRow4(ref t, 4, c40, c41, c42, c43, hasBias, ref bias, epi);
        if (mr > 5) TileRow4(ref t, 5, c50, c51, c52, c53, hasBias, ref bias, epi);
        WriteTile(ref t, nq, ref y, wr, q, k0, mr, q0);
    }

    /// <summary>AVX2: output rows k0..k0+mr (mr ≤ 6), columns q0..q0+2w: 6 × 2 vector accumulators.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectTile256<TEpi>(ref T xq, ref T ap, ref int off, int crs, ref T y, TileDst wr, DirectGeom q, int k0, int mr, int q0,
        bool hasBias, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                     c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int i = 0; i < crs; i++)
        {
            ref T bp = ref Unsafe.Add(ref xq, Unsafe.Add(ref off, i));
            var b0 = Vector256.LoadUnsafe(ref bp);
            var b1 = Vector256.LoadUnsafe(ref bp, (nuint)w);
            var a = Vector256.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector256.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector256.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector256.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector256.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector256.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            ap = ref Unsafe.Add(ref ap, 6);
        }
        int nq = 2 * w;
        Span<T> tile = stackalloc T[6 * 2 * Vector256<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        TileRow256(ref t, 0, c00, c01, hasBias, ref bias, epi);
        if (mr > 1) TileRow256(ref t, 1, c10, c11, hasBias, ref bias, epi);
        if (mr > 2) TileRow256(ref t, 2, c20, c21, hasBias, ref bias, epi);
        if (mr > 3) TileRow256(ref t, 3, c30, c31, hasBias, ref bias, epi);
        if (mr > 4) TileRow256(ref t, 4, c40, c41, hasBias, ref bias, epi);
        if (mr > 5) TileRow256(ref t, 5, c50, c51, hasBias, ref bias, epi);
        WriteTile(ref t, nq, ref y, wr, q, k0, mr, q0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileRow256<TEpi>(ref T t, int row, Vector256<T> v0, Vector256<T> v1, bool hasBias, ref T bias, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int w = Vector256<T>.Count;
        if (hasBias) { var bv = Vector256.Create(Unsafe.Add(ref bias, row)); v0 += bv; v1 += bv; }
        if (typeof(TEpi) != typeof(Identity<T>)) { v0 = epi.Apply(v0); v1 = epi.Apply(v1); }
        v0.StoreUnsafe(ref t, (nuint)(row * 2 * w));
        v1.StoreUnsafe(ref t, (nuint)(row * 2 * w + w));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileRow4<TEpi>(ref T t, int row, Vector512<T> v0, Vector512<T> v1, Vector512<T> v2, Vector512<T> v3, bool hasBias, ref T bias, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int w = Vector512<T>.Count;
        if (hasBias) { var bv = Vector512.Create(Unsafe.Add(ref bias, row)); v0 += bv; v1 += bv; v2 += bv; v3 += bv; }
        if (typeof(TEpi) != typeof(Identity<T>)) { v0 = epi.Apply(v0); v1 = epi.Apply(v1); v2 = epi.Apply(v2); v3 = epi.Apply(v3); }
        ref T r = ref Unsafe.Add(ref t, row * 4 * w);
        v0.StoreUnsafe(ref r); v1.StoreUnsafe(ref r, (nuint)w); v2.StoreUnsafe(ref r, (nuint)(2 * w)); v3.StoreUnsafe(ref r, (nuint)(3 * w));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileRow<TEpi>(ref T t, int row, Vector512<T> v0, Vector512<T> v1, bool hasBias, ref T bias, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int w = Vector512<T>.Count;
        if (hasBias) { var bv = Vector512.Create(Unsafe.Add(ref bias, row)); v0 += bv; v1 += bv; }
        if (typeof(TEpi) != typeof(Identity<T>)) { v0 = epi.Apply(v0); v1 = epi.Apply(v1); }
        v0.StoreUnsafe(ref t, (nuint)(row * 2 * w));
        v1.StoreUnsafe(ref t, (nuint)(row * 2 * w + w));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(ref T s, ref T d, int n)
    {
        int w = Vector256<T>.Count, i = 0;
        for (; i <= n - w; i += w) Vector256.LoadUnsafe(ref s, (nuint)i).StoreUnsafe(ref d, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i);
    }

    // ---------------------------------------------------------------- backward filter

    private const int DfM = 4, DfN = 6;
    /// <summary>Elements of padded images + padded-width dy a worker's image group may hold.</summary>
    private const int DirectFilterGroupElements = 1 << 18;

    /// <summary>Strips summed inside one register block.</summary>
    private static int DirectFilterGroup(DirectGeom q, int qv, int strips)
    {
        int per = q.PadSize + q.K * qv;
        int want = Math.Max(1, (2048 + qv - 1) / qv);   // long enough a run per register block to amortize the horizontal sums
        return Math.Clamp(Math.Min(want, DirectFilterGroupElements / per), 1, Math.Max(1, strips));
    }

    private static void DirectConvBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, ConvGeometry g, ConvDims d)
    {
        var q = g.StrideH == 1 && g.StrideW == 1 ? ForwardGeom(d, g) : PhaseGeom(d, g);
        var offs = DirectOffsets(q);
        int workers = Workers((long)d.N * d.K * d.CRS * d.P, q.Strips);
        if (workers == 1) { DirectFilterRange(dy, x, dw.AsSpan(), offs, q, 0, q.Strips); return; }
        int size = d.K * d.CRS;
        var partials = t_dwPartials ??= [];
        if (partials.Length < workers) { Array.Resize(ref partials, workers); t_dwPartials = partials; }
        for (int p = 1; p < workers; p++)
            if (partials[p] is null || partials[p].Length < size) partials[p] = new T[size];
        ParallelRunner.For(workers, new DirectFilterBody(dy, x, dw, partials, offs, size, q, workers));
        var dws = dw.AsSpan();
        for (int p = 1; p < workers; p++) AddInto(partials[p].AsSpan(0, size), dws);
    }

    private readonly struct DirectFilterBody(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, T[][] partials, int[] offs, int size, DirectGeom q, int workers)
        : IParallelBody
    {
        public void Run(int p)
        {
            var (lo, hi) = Chunk(q.Strips, workers, p);
            DirectFilterRange(dy, x, p == 0 ? dw.AsSpan() : partials[p].AsSpan(0, size), offs, q, lo, hi);
        }
    }

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectFilterRange(Tensor<T> dy, Tensor<T> x, Span<T> dw, int[] offs, DirectGeom q, int lo, int hi)
    {
        // lo, hi: strips
        if (lo >= hi) { dw.Clear(); return; }
        int w = Use512 ? Vector512<T>.Count : Vector256<T>.Count;
        int qv = (q.Q + w - 1) / w * w;
        int group = DirectFilterGroup(q, qv, hi - lo), scratchGroup = DirectFilterGroup(q, qv, q.Strips);
        int padSize = q.PadSize, dySize = q.K * qv;
        var xp = Scratch(ref t_dcPad, scratchGroup * padSize);
        var dyp = Scratch(ref t_dcDy, scratchGroup * dySize);
        var xs = x.AsSpan(); var dys = dy.AsSpan();
        int plane = q.OH * q.OW, outSize = q.K * plane, crs = q.CRS;
        ref T xp0 = ref MemoryMarshal.GetArrayDataReference(xp);
        ref T dy0 = ref MemoryMarshal.GetArrayDataReference(dyp);
        Span<T> r = stackalloc T[DfM * DfN];
        for (int n0 = lo; n0 < hi; n0 += group)
        {
            int gn = Math.Min(group, hi - n0);
            for (int i = 0; i < gn; i++)
            {
                int first = (n0 + i) * q.G, images = Math.Min(q.G, q.N - first);
                PadStrip(xs, first, images, xp.AsSpan(i * padSize, padSize), q);
                // dy in padded-width rows, zeros in the garbage columns and past Q: each row zeroed and filled in one pass
                var dst = dyp.AsSpan(i * dySize, dySize);
                if ((long)(first + images) * outSize > dys.Length || q.OH * q.Wp > qv || (images - 1) * q.Ws + q.OW > q.Wp)
                    throw new ArgumentException("dy too short");
                ref T dd0 = ref MemoryMarshal.GetReference(dst);
                ref T ds0 = ref MemoryMarshal.GetReference(dys);
                for (int k = 0; k < q.K; k++)
                {
                    ref T dk = ref Unsafe.Add(ref dd0, k * qv);
                    for (int oh = 0; oh < q.OH; oh++)
                    {
                        ref T row = ref Unsafe.Add(ref dk, oh * q.Wp);
                        ZeroRun(ref row, q.Wp);
                        for (int g = 0; g < images; g++)
                            CopyRow(ref Unsafe.Add(ref ds0, (first + g) * outSize + k * plane + oh * q.OW), ref Unsafe.Add(ref row, g * q.Ws), q.OW);
                    }
                    if (qv > q.Q) ZeroRun(ref Unsafe.Add(ref dk, q.Q), qv - q.Q);
                }
            }
            bool acc = n0 > lo;
            // 4 filters × 6 taps per register block, or 6 × 4 when K is 6 (LeNet) or a multiple of 6 but not of 4
            bool six = Use512 && (q.K <= 6 || (q.K % 4 != 0 && q.K % 6 == 0));
            int fm = six ? 6 : DfM, fn = six ? 4 : Use512 ? DfN : 3;   // AVX2: 4 × 3
            for (int k0 = 0; k0 < q.K; k0 += fm)
            {
                int mr = Math.Min(fm, q.K - k0);
                // missing rows / taps alias the last valid one: computed and discarded
                ref T d0 = ref Unsafe.Add(ref dy0, k0 * qv);
                ref T d1 = ref Unsafe.Add(ref dy0, (k0 + Math.Min(1, mr - 1)) * qv);
                ref T d2 = ref Unsafe.Add(ref dy0, (k0 + Math.Min(2, mr - 1)) * qv);
                ref T d3 = ref Unsafe.Add(ref dy0, (k0 + Math.Min(3, mr - 1)) * qv);
                ref T d4 = ref Unsafe.Add(ref dy0, (k0 + Math.Min(4, mr - 1)) * qv);
                ref T d5 = ref Unsafe.Add(ref dy0, (k0 + Math.Min(5, mr - 1)) * qv);
                for (int j0 = 0; j0 < crs; j0 += fn)
                {
                    int nr = Math.Min(fn, crs - j0);
                    int o0 = offs[j0], o1 = offs[j0 + Math.Min(1, nr - 1)], o2 = offs[j0 + Math.Min(2, nr - 1)], o3 = offs[j0 + Math.Min(3, nr - 1)];
                    if (!Use512) FilterDot4x3_256(ref d0, ref d1, ref d2, ref d3, ref xp0, o0, o1, o2, qv, gn, dySize, padSize, r);
                    else if (six) FilterDot6x4_512(ref d0, ref d1, ref d2, ref d3, ref d4, ref d5, ref xp0, o0, o1, o2, o3, qv, gn, dySize, padSize, r);
                    else
                    {
                        int o4 = offs[j0 + Math.Min(4, nr - 1)], o5 = offs[j0 + Math.Min(5, nr - 1)];
                        FilterDot4x6_512(ref d0, ref d1, ref d2, ref d3, ref xp0, o0, o1, o2, o3, o4, o5, qv, gn, dySize, padSize, r);
                    }
                    for (int ii = 0; ii < mr; ii++)
                    {
                        var row = dw.Slice((k0 + ii) * crs + j0, nr);
                        for (int jj = 0; jj < nr; jj++) row[jj] = acc ? row[jj] + r[ii * fn + jj] : r[ii * fn + jj];
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FilterDot4x3_256(ref T d0, ref T d1, ref T d2, ref T d3, ref T xp, int o0, int o1, int o2,
        int qv, int batch, int batchDy, int batchX, Span<T> r)
    {
        int w = Vector256<T>.Count;
        Vector256<T> s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default,
                     s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        for (int bt = 0; bt < batch; bt++)
        {
            ref T x0 = ref Unsafe.Add(ref xp, bt * batchX + o0);
            ref T x1 = ref Unsafe.Add(ref xp, bt * batchX + o1);
            ref T x2 = ref Unsafe.Add(ref xp, bt * batchX + o2);
            ref T e0 = ref Unsafe.Add(ref d0, bt * batchDy);
            ref T e1 = ref Unsafe.Add(ref d1, bt * batchDy);
            ref T e2 = ref Unsafe.Add(ref d2, bt * batchDy);
            ref T e3 = ref Unsafe.Add(ref d3, bt * batchDy);
            for (int k = 0; k < qv; k += w)
            {
                nuint o = (nuint)k;
                var a0 = Vector256.LoadUnsafe(ref x0, o); var a1 = Vector256.LoadUnsafe(ref x1, o); var a2 = Vector256.LoadUnsafe(ref x2, o);
                var e = Vector256.LoadUnsafe(ref e0, o); s00 = Fma(e, a0, s00); s01 = Fma(e, a1, s01); s02 = Fma(e, a2, s02);
                e = Vector256.LoadUnsafe(ref e1, o); s10 = Fma(e, a0, s10); s11 = Fma(e, a1, s11); s12 = Fma(e, a2, s12);
                e = Vector256.LoadUnsafe(ref e2, o); s20 = Fma(e, a0, s20); s21 = Fma(e, a1, s21); s22 = Fma(e, a2, s22);
                e = Vector256.LoadUnsafe(ref e3, o); s30 = Fma(e, a0, s30); s31 = Fma(e, a1, s31); s32 = Fma(e, a2, s32);
            }
        }
        r[0] = Vector256.Sum(s00); r[1] = Vector256.Sum(s01); r[2] = Vector256.Sum(s02);
        r[3] = Vector256.Sum(s10); r[4] = Vector256.Sum(s11); r[5] = Vector256.Sum(s12);
        r[6] = Vector256.Sum(s20); r[7] = Vector256.Sum(s21); r[8] = Vector256.Sum(s22);
        r[9] = Vector256.Sum(s30); r[10] = Vector256.Sum(s31); r[11] = Vector256.Sum(s32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FilterDot6x4_512(ref T d0, ref T d1, ref T d2, ref T d3, ref T d4, ref T d5, ref T xp, int o0, int o1, int o2, int o3,
        int qv, int batch, int batchDy, int batchX, Span<T> r)
    {
        int w = Vector512<T>.Count;
        Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default,
                     s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default,
                     s40 = default, s41 = default, s42 = default, s43 = default, s50 = default, s51 = default, s52 = default, s53 = default;
        for (int bt = 0; bt < batch; bt++)
        {
            ref T x0 = ref Unsafe.Add(ref xp, bt * batchX + o0);
            ref T x1 = ref Unsafe.Add(ref xp, bt * batchX + o1);
            ref T x2 = ref Unsafe.Add(ref xp, bt * batchX + o2);
            ref T x3 = ref Unsafe.Add(ref xp, bt * batchX + o3);
            ref T e0 = ref Unsafe.Add(ref d0, bt * batchDy);
            ref T e1 = ref Unsafe.Add(ref d1, bt * batchDy);
            ref T e2 = ref Unsafe.Add(ref d2, bt * batchDy);
            ref T e3 = ref Unsafe.Add(ref d3, bt * batchDy);
            ref T e4 = ref Unsafe.Add(ref d4, bt * batchDy);
            ref T e5 = ref Unsafe.Add(ref d5, bt * batchDy);
            for (int k = 0; k < qv; k += w)
            {
                nuint o = (nuint)k;
                var a0 = Vector512.LoadUnsafe(ref x0, o); var a1 = Vector512.LoadUnsafe(ref x1, o);
                var a2 = Vector512.LoadUnsafe(ref x2, o); var a3 = Vector512.LoadUnsafe(ref x3, o);
                var e = Vector512.LoadUnsafe(ref e0, o); s00 = Fma(e, a0, s00); s01 = Fma(e, a1, s01); s02 = Fma(e, a2, s02); s03 = Fma(e, a3, s03);
                e = Vector512.LoadUnsafe(ref e1, o); s10 = Fma(e, a0, s10); s11 = Fma(e, a1, s11); s12 = Fma(e, a2, s12); s13 = Fma(e, a3, s13);
                e = Vector512.LoadUnsafe(ref e2, o); s20 = Fma(e, a0, s20); s21 = Fma(e, a1, s21); s22 = Fma(e, a2, s22); s23 = Fma(e, a3, s23);
                e = Vector512.LoadUnsafe(ref e3, o); s30 = Fma(e, a0, s30); s31 = Fma(e, a1, s31); s32 = Fma(e, a2, s32); s33 = Fma(e, a3, s33);
                e = Vector512.LoadUnsafe(ref e4, o); s40 = Fma(e, a0, s40); s41 = Fma(e, a1, s41); s42 = Fma(e, a2, s42); s43 = Fma(e, a3, s43);
                e = Vector512.LoadUnsafe(ref e5, o); s50 = Fma(e, a0, s50); s51 = Fma(e, a1, s51); s52 = Fma(e, a2, s52); s53 = Fma(e, a3, s53);
            }
        }
        r[0] = Vector512.Sum(s00); r[1] = Vector512.Sum(s01); r[2] = Vector512.Sum(s02); r[3] = Vector512.Sum(s03);
        r[4] = Vector512.Sum(s10); r[5] = Vector512.Sum(s11); r[6] = Vector512.Sum(s12); r[7] = Vector512.Sum(s13);
        r[8] = Vector512.Sum(s20); r[9] = Vector512.Sum(s21); r[10] = Vector512.Sum(s22); r[11] = Vector512.Sum(s23);
        r[12] = Vector512.Sum(s30); r[13] = Vector512.Sum(s31); r[14] = Vector512.Sum(s32); r[15] = Vector512.Sum(s33);
        r[16] = Vector512.Sum(s40); r[17] = Vector512.Sum(s41); r[18] = Vector512.Sum(s42); r[19] = Vector512.Sum(s43);
        r[20] = Vector512.Sum(s50); r[21] = Vector512.Sum(s51); r[22] = Vector512.Sum(s52); r[23] = Vector512.Sum(s53);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FilterDot4x6_512(ref T d0, ref T d1, ref T d2, ref T d3, ref T xp, int o0, int o1, int o2, int o3, int o4, int o5,
        int qv, int batch, int batchDy, int batchX, Span<T> r)
    {
        int w = Vector512<T>.Count;
        Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default, s04 = default, s05 = default,
                     s10 = default, s11 = default, s12 = default, s13 = default, s14 = default, s15 = default,
                     s20 = default, s21 = default, s22 = default, s23 = default, s24 = default, s25 = default,
                     s30 = default, s31 = default, s32 = default, s33 = default, s34 = default, s35 = default;
        for (int bt = 0; bt < batch; bt++)
        {
            ref T x0 = ref Unsafe.Add(ref xp, bt * batchX + o0);
            ref T x1 = ref Unsafe.Add(ref xp, bt * batchX + o1);
            ref T x2 = ref Unsafe.Add(ref xp, bt * batchX + o2);
            ref T x3 = ref Unsafe.Add(ref xp, bt * batchX + o3);
            ref T x4 = ref Unsafe.Add(ref xp, bt * batchX + o4);
            ref T x5 = ref Unsafe.Add(ref xp, bt * batchX + o5);
            ref T e0 = ref Unsafe.Add(ref d0, bt * batchDy);
            ref T e1 = ref Unsafe.Add(ref d1, bt * batchDy);
            ref T e2 = ref Unsafe.Add(ref d2, bt * batchDy);
            ref T e3 = ref Unsafe.Add(ref d3, bt * batchDy);
            for (int k = 0; k < qv; k += w)
            {
                nuint o = (nuint)k;
                var a0 = Vector512.LoadUnsafe(ref x0, o); var a1 = Vector512.LoadUnsafe(ref x1, o); var a2 = Vector512.LoadUnsafe(ref x2, o);
                var a3 = Vector512.LoadUnsafe(ref x3, o); var a4 = Vector512.LoadUnsafe(ref x4, o); var a5 = Vector512.LoadUnsafe(ref x5, o);
                var e = Vector512.LoadUnsafe(ref e0, o);
                s00 = Fma(e, a0, s00); s01 = Fma(e, a1, s01); s02 = Fma(e, a2, s02); s03 = Fma(e, a3, s03); s04 = Fma(e, a4, s04); s05 = Fma(e, a5, s05);
                e = Vector512.LoadUnsafe(ref e1, o);
                s10 = Fma(e, a0, s10); s11 = Fma(e, a1, s11); s12 = Fma(e, a2, s12); s13 = Fma(e, a3, s13); s14 = Fma(e, a4, s14); s15 = Fma(e, a5, s15);
                e = Vector512.LoadUnsafe(ref e2, o);
                s20 = Fma(e, a0, s20); s21 = Fma(e, a1, s21); s22 = Fma(e, a2, s22); s23 = Fma(e, a3, s23); s24 = Fma(e, a4, s24); s25 = Fma(e, a5, s25);
                e = Vector512.LoadUnsafe(ref e3, o);
                s30 = Fma(e, a0, s30); s31 = Fma(e, a1, s31); s32 = Fma(e, a2, s32); s33 = Fma(e, a3, s33); s34 = Fma(e, a4, s34); s35 = Fma(e, a5, s35);
            }
        }
        r[0] = Vector512.Sum(s00); r[1] = Vector512.Sum(s01); r[2] = Vector512.Sum(s02); r[3] = Vector512.Sum(s03); r[4] = Vector512.Sum(s04); r[5] = Vector512.Sum(s05);
        r[6] = Vector512.Sum(s10); r[7] = Vector512.Sum(s11); r[8] = Vector512.Sum(s12); r[9] = Vector512.Sum(s13); r[10] = Vector512.Sum(s14); r[11] = Vector512.Sum(s15);
        r[12] = Vector512.Sum(s20); r[13] = Vector512.Sum(s21); r[14] = Vector512.Sum(s22); r[15] = Vector512.Sum(s23); r[16] = Vector512.Sum(s24); r[17] = Vector512.Sum(s25);
        r[18] = Vector512.Sum(s30); r[19] = Vector512.Sum(s31); r[20] = Vector512.Sum(s32); r[21] = Vector512.Sum(s33); r[22] = Vector512.Sum(s34); r[23] = Vector512.Sum(s35);
    }
}
