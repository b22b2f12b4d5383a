using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Row-aligned convolution for few input channels (LeNet-5's conv1: C = 1, 5×5, 25 taps), stride 1, AVX-512.
// With so few taps the direct kernel's register tile does about as much work writing back (through a stack tile, dropping
// its padded-width garbage columns) as it does arithmetic. Here outputs are vectors along an output row: "units"
// u = (oh, ow0), ow0 = 0, V, 2V, … with the last one at OW − V (overlapping the one before it when V does not divide OW),
// so every vector is a run of valid outputs, read from and written to its row directly. Image n is copied into a
// zero-padded scratch xpad[C][Hp][Wp]; the input of tap (c, r, s) for unit u is xpad[c·Hp·Wp + (oh + r)·Wp + ow0 + s ..+V].
//   forward:         6 output channels × 4 units of vector accumulators over all taps (4 loads and 6 broadcasts feed 24
//                    FMAs), then bias, the epilogue and 4 × 6 plain vector stores.
//   backward filter: dW[k][tap] = Σ_n Σ_u dy_u[k] · xpad[off(tap) + base(u)] with dy_u the unit's dy vector (the lanes an
//                    overlapping last unit shares with the one before it are zeroed): 6 k × 4 taps of vector accumulators over
//                    the image's units, added to a per-worker vector partial; lanes are summed once at the end.
// Backward data does not apply (a first layer has no input gradient) and keeps the direct kernel.
public sealed partial class CpuKernels<T>
{
    /// <summary>Use the few-channel kernels where they apply (NETDSL_FEW_CHANNEL_CONV=0 turns them off).</summary>
    internal static bool FewChannelConvEnabled = Environment.GetEnvironmentVariable("NETDSL_FEW_CHANNEL_CONV") != "0";
    /// <summary>Per calling thread: skip the few-channel kernels (tests and A/B harnesses compare both paths in one process).</summary>
    [ThreadStatic] internal static bool t_forceNoFewChannels;
    /// <summary>Taps (C·KH·KW) up to which a convolution counts as "few channels" (LeNet conv1: 25; RGB 5×5: 75). Only
    /// 1–3 input channels and kernels of 5×5 or more take this path: 3×3 stems (ResNet-20's) and 1×1 layers keep the direct and
    /// GEMM kernels, where this kernel was not measured.</summary>
    internal const int FewChannelMaxTaps = 75;
    private const int FcKB = 6;   // output channels per register tile
    private const int FcUB = 4;   // units (output vectors) per forward tile; taps per backward-filter tile

    [ThreadStatic] private static T[]? t_fcPad;     // per worker: one padded image
    [ThreadStatic] private static T[]? t_fcW;       // per caller: weights packed [K/6][taps][6]
    [ThreadStatic] private static int[]? t_fcOffs;  // per caller: tap offsets into xpad
    [ThreadStatic] private static T[]? t_fcDy;      // per worker: an image's dy per unit [units][Kp][V]
    [ThreadStatic] private static T[][]? t_fcPartials;  // per caller: each worker's vector partial of dW [taps][Kp][V]
    [ThreadStatic] private static int[]? t_fcUnits;     // per worker: each unit's offset into xpad

    /// <summary>Whether a convolution of x by w with g runs on the few-channel kernels (for tests).</summary>
    internal static bool FewChannelsApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseFewChannels(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g);
    }

    private static bool UseFewChannels(ConvDims d, ConvGeometry g) =>
        FewChannelConvEnabled && !t_forceNoFewChannels && !t_forceIm2col && Use512 && g.Groups == 1
        && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
        && g.PadH >= 0 && g.PadW >= 0 && g.PadBottom >= 0 && g.PadRight >= 0
        && d.C <= 3 && d.KH >= 5 && d.KW >= 5 && d.CRS <= FewChannelMaxTaps && d.OW >= Vector512<T>.Count && d.OH >= 1
        && (long)d.C * (d.H + g.PadH + g.PadBottom) * (d.W + g.PadW + g.PadRight) < 1 << 22;

    private readonly record struct FewGeom(int N, int C, int H, int W, int K, int KH, int KW, int PadT, int PadL, int Hp, int Wp, int OH, int OW)
    {
        public int Plane => Hp * Wp;
        public int Taps => C * KH * KW;
        /// <summary>Output vectors per row: ⌈OW / V⌉ (the last one starts at OW − V).</summary>
        public int PerRow => (OW + Vector512<T>.Count - 1) / Vector512<T>.Count;
        public int Units => OH * PerRow;
        public int Kp => (K + FcKB - 1) / FcKB * FcKB;
        /// <summary>ow0 of the j-th vector of a row.</summary>
        public int Ow0(int j) => Math.Min(j * Vector512<T>.Count, OW - Vector512<T>.Count);
        public static FewGeom Of(ConvDims d, ConvGeometry g) =>
            new(d.N, d.C, d.H, d.W, d.K, d.KH, d.KW, g.PadH, g.PadW, d.H + g.PadH + g.PadBottom, d.W + g.PadW + g.PadRight, d.OH, d.OW);
    }

    private static int[] FewOffsets(FewGeom q)
    {
        var offs = t_fcOffs is { } o && o.Length >= q.Taps + FcUB ? o : (t_fcOffs = new int[Math.Max(q.Taps + FcUB, 128)]);
        int i = 0;
        for (int c = 0; c < q.C; c++)
            for (int r = 0; r < q.KH; r++)
                for (int s = 0; s < q.KW; s++) offs[i++] = c * q.Plane + r * q.Wp + s;
        // taps past the last one (a partial block of the backward filter) repeat it; their sums are dropped
        for (int j = 0; j < FcUB; j++) offs[i + j] = offs[i - 1];
        return offs;
    }

    /// <summary>xp = image n zero-padded: xp[c·Hp·Wp + (ih + PadT)·Wp + PadL + iw] = x[n, c, ih, iw].</summary>
    private static void FewPad(ReadOnlySpan<T> x, int n, Span<T> xp, FewGeom q)
    {
        int inSize = q.C * q.H * q.W;
        var img = x.Slice(n * inSize, inSize);
        xp[..(q.C * q.Plane)].Clear();
        for (int c = 0; c < q.C; c++)
            for (int ih = 0; ih < q.H; ih++)
                CopySmall(img.Slice((c * q.H + ih) * q.W, q.W), xp.Slice(c * q.Plane + (ih + q.PadT) * q.Wp + q.PadL));
    }

    /// <summary>How many chunks each image's units are cut into so that every core gets work when there are few images.</summary>
    private static int FewSplit(FewGeom q, int groups)
    {
        int cores = Environment.ProcessorCount;
        return q.N >= 2 * cores ? 1 : Math.Max(1, Math.Min(groups, (2 * cores + q.N - 1) / q.N));
    }

    // ---------------------------------------------------------------- forward

    private static void FewChannelsForward<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, ConvDims d, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        var q = FewGeom.Of(d, g);
        int taps = q.Taps, kp = q.Kp;
        var wpk = Scratch(ref t_fcW, kp * taps);
        var ws = w.AsSpan();
        for (int k = 0; k < kp; k++)
        {
            int panel = k / FcKB * taps * FcKB, lane = k % FcKB;
            for (int t = 0; t < taps; t++) wpk[panel + t * FcKB + lane] = k < q.K ? ws[k * taps + t] : T.Zero;
        }
        var offs = FewOffsets(q);
        int groups = (q.Units + FcUB - 1) / FcUB, split = FewSplit(q, groups);
        long work = (long)q.N * q.K * taps * q.OH * q.OW;
        Chunks(q.N * split, Workers(work, q.N * split), (x, y, b, wpk, offs, q, epi, split, groups), static (s, lo, hi) =>
            FewForwardRange(s.x, s.y, s.b, s.wpk, s.offs, s.q, s.epi, s.split, s.groups, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewForwardRange<TEpi>(Tensor<T> x, Tensor<T> y, Tensor<T>? b, T[] wpk, int[] offs, FewGeom q, TEpi epi,
        int split, int groups, int lo, int hi) where TEpi : struct, IMap1<T>
    {
        if (lo >= hi) return;
        var xp = Scratch(ref t_fcPad, q.C * q.Plane);
        var xs = x.AsSpan(); var ys = y.AsSpan();
        int taps = q.Taps, outSize = q.K * q.OH * q.OW, per = q.PerRow, units = q.Units;
        bool hasBias = b is not null;
        ref T bias0 = ref hasBias ? ref MemoryMarshal.GetReference(b!.AsSpan()) : ref Unsafe.NullRef<T>();
        ref T xp0 = ref MemoryMarshal.GetArrayDataReference(xp);
        ref T w0 = ref MemoryMarshal.GetArrayDataReference(wpk);
        ref int off0 = ref MemoryMarshal.GetArrayDataReference(offs);
        Span<int> xo = stackalloc int[FcUB], yo = stackalloc int[FcUB];
        int cur = -1;
        for (int it = lo; it < hi; it++)
        {
            int n = it / split;
            if (n != cur) { FewPad(xs, n, xp, q); cur = n; }
            var (g0, g1) = Chunk(groups, split, it % split);
            ref T yn = ref MemoryMarshal.GetReference(ys.Slice(n * outSize, outSize));
            for (int gi = g0; gi < g1; gi++)
            {
                for (int j = 0; j < FcUB; j++)
                {
                    // a partial last group repeats its last unit (same values stored twice)
                    int u = Math.Min(gi * FcUB + j, units - 1), oh = u / per, ow0 = q.Ow0(u % per);
                    xo[j] = oh * q.Wp + ow0; yo[j] = oh * q.OW + ow0;
                }
                for (int k0 = 0; k0 < q.K; k0 += FcKB)
                    FewTile(ref xp0, xo, ref Unsafe.Add(ref w0, k0 * taps), ref off0, taps, ref yn, yo, q.OH * q.OW, k0, Math.Min(FcKB, q.K - k0),
                        hasBias, ref hasBias ? ref Unsafe.Add(ref bias0, k0) : ref bias0, epi);
            }
        }
    }

    /// <summary>Output channels k0..k0+mr (≤ 6) of 4 output vectors (input offsets xo, output offsets yo): 24 accumulators over
    /// all taps, then bias, epilogue and plain stores (plane = OH·OW apart per channel).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewTile<TEpi>(ref T xp, ReadOnlySpan<int> xo, ref T wp, ref int off, int taps, ref T y, ReadOnlySpan<int> yo, int plane,
        int k0, int mr, bool hasBias, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        ref T x0 = ref Unsafe.Add(ref xp, xo[0]); ref T x1 = ref Unsafe.Add(ref xp, xo[1]);
        ref T x2 = ref Unsafe.Add(ref xp, xo[2]); ref T x3 = ref Unsafe.Add(ref xp, xo[3]);
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default,
                     c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default,
                     c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        for (int t = 0; t < taps; t++)
        {
            nint o = Unsafe.Add(ref off, t);
            var b0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref x0, o));
            var b1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref x1, o));
            var b2 = Vector512.LoadUnsafe(ref Unsafe.Add(ref x2, o));
            var b3 = Vector512.LoadUnsafe(ref Unsafe.Add(ref x3, o));
            var a = Vector512.Create(wp); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01); c02 = Fma(a, b2, c02); c03 = Fma(a, b3, c03);
            a = Vector512.Create(Unsafe.Add(ref wp, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11); c12 = Fma(a, b2, c12); c13 = Fma(a, b3, c13);
            a = Vector512.Create(Unsafe.Add(ref wp, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21); c22 = Fma(a, b2, c22); c23 = Fma(a, b3, c23);
            a = Vector512.Create(Unsafe.Add(ref wp, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31); c32 = Fma(a, b2, c32); c33 = Fma(a, b3, c33);
            a = Vector512.Create(Unsafe.Add(ref wp, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41); c42 = Fma(a, b2, c42); c43 = Fma(a, b3, c43);
            a = Vector512.Create(Unsafe.Add(ref wp, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51); c52 = Fma(a, b2, c52); c53 = Fma(a, b3, c53);
            wp = ref Unsafe.Add(ref wp, FcKB);
        }
        FewStore(ref y, yo, k0 * plane, c00, c01, c02, c03, hasBias, ref bias, 0, epi);
        if (mr > 1) FewStore(ref y, yo, (k0 + 1) * plane, c10, c11, c12, c13, hasBias, ref bias, 1, epi);
        if (mr > 2) FewStore(ref y, yo, (k0 + 2) * plane, c20, c21, c22, c23, hasBias, ref bias, 2, epi);
        if (mr > 3) FewStore(ref y, yo, (k0 + 3) * plane, c30, c31, c32, c33, hasBias, ref bias, 3, epi);
        if (mr > 4) FewStore(ref y, yo, (k0 + 4) * plane, c40, c41, c42, c43, hasBias, ref bias, 4, epi);
        if (mr > 5) FewStore(ref y, yo, (k0 + 5) * plane, c50, c51, c52, c53, hasBias, ref bias, 5, epi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FewStore<TEpi>(ref T y, ReadOnlySpan<int> yo, int kOff, Vector512<T> v0, Vector512<T> v1, Vector512<T> v2, Vector512<T> v3,
        bool hasBias, ref T bias, int row, TEpi epi) where TEpi : struct, IMap1<T>
    {
        if (hasBias) { var bv = Vector512.Create(Unsafe.Add(ref bias, row)); v0 += bv; v1 += bv; v2 += bv; v3 += bv; }
        if (typeof(TEpi) != typeof(Identity<T>)) { v0 = epi.Apply(v0); v1 = epi.Apply(v1); v2 = epi.Apply(v2); v3 = epi.Apply(v3); }
        ref T yk = ref Unsafe.Add(ref y, kOff);
        // in this order: a repeated unit (the partial last group) stores the same values again
        v0.StoreUnsafe(ref Unsafe.Add(ref yk, yo[0])); v1.StoreUnsafe(ref Unsafe.Add(ref yk, yo[1]));
        v2.StoreUnsafe(ref Unsafe.Add(ref yk, yo[2])); v3.StoreUnsafe(ref Unsafe.Add(ref yk, yo[3]));
    }

    // ---------------------------------------------------------------- backward filter

    private static void FewChannelsBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, ConvDims d, ConvGeometry g)
    {
        var q = FewGeom.Of(d, g);
        int taps = q.Taps, kp = q.Kp, v = Vector512<T>.Count, size = taps * kp * v;
        var offs = FewOffsets(q);
        long work = (long)q.N * q.K * taps * q.OH * q.OW;
        int workers = Workers(work, q.N);
        var partials = t_fcPartials ??= [];
        if (partials.Length < workers) { Array.Resize(ref partials, workers); t_fcPartials = partials; }
        for (int p = 0; p < workers; p++)
            if (partials[p] is null || partials[p].Length < size) partials[p] = new T[size];
        if (workers <= 1) FewFilterRange(dy, x, partials[0], offs, q, 0, q.N);
        else ParallelRunner.For(workers, new FewFilterBody(dy, x, partials, offs, q, workers));
        // dW[k][tap] = Σ_workers Σ_lanes partial[tap][k][lane]
        var dws = dw.AsSpan();
        for (int t = 0; t < taps; t++)
            for (int k = 0; k < q.K; k++)
            {
                var sum = Vector512<T>.Zero;
                for (int p = 0; p < workers; p++) sum += Vector512.LoadUnsafe(ref partials[p][0], (nuint)((t * kp + k) * v));
                dws[k * taps + t] = Vector512.Sum(sum);
            }
    }

    /// <summary>Chunk p of the images, summed into worker p's vector partial.</summary>
    private readonly struct FewFilterBody(Tensor<T> dy, Tensor<T> x, T[][] partials, int[] offs, FewGeom q, int workers) : IParallelBody
    {
        public void Run(int p)
        {
            var (lo, hi) = Chunk(q.N, workers, p);
            FewFilterRange(dy, x, partials[p], offs, q, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewFilterRange(Tensor<T> dy, Tensor<T> x, T[] partial, int[] offs, FewGeom q, int lo, int hi)
    {
        int taps = q.Taps, kp = q.Kp, v = Vector512<T>.Count, per = q.PerRow, units = q.Units, plane = q.OH * q.OW;
        partial.AsSpan(0, taps * kp * v).Clear();
        if (lo >= hi) return;
        var xp = Scratch(ref t_fcPad, q.C * q.Plane);
        var dyu = Scratch(ref t_fcDy, units * kp * v);
        var xs = x.AsSpan(); var dys = dy.AsSpan();
        int outSize = q.K * plane;
        // the lanes of an overlapping last vector that the vector before it already covers are zeroed in its dy
        int overlap = per * v - q.OW;
        var tailMask = Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(overlap)));
        ref T xp0 = ref MemoryMarshal.GetArrayDataReference(xp);
        ref T du0 = ref MemoryMarshal.GetArrayDataReference(dyu);
        ref T pt0 = ref MemoryMarshal.GetArrayDataReference(partial);
        ref int off0 = ref MemoryMarshal.GetArrayDataReference(offs);
        var xo = t_fcUnits is { } a && a.Length >= units ? a : (t_fcUnits = new int[Math.Max(units, 64)]);
        for (int u = 0; u < units; u++) xo[u] = u / per * q.Wp + q.Ow0(u % per);
        ref int xo0 = ref MemoryMarshal.GetArrayDataReference(xo);
        for (int n = lo; n < hi; n++)
        {
            FewPad(xs, n, xp, q);
            // dyu[u][k] = dy[n, k, oh, ow0 ..+V] (masked for an overlapping last vector), channels K..Kp zero
            var dyn = dys.Slice(n * outSize, outSize);
            ref T dy0 = ref MemoryMarshal.GetReference(dyn);
            for (int u = 0; u < units; u++)
            {
                int j = u % per, src = u / per * q.OW + q.Ow0(j);
                bool last = overlap > 0 && j == per - 1;
                ref T dst = ref Unsafe.Add(ref du0, u * kp * v);
                for (int k = 0; k < kp; k++)
                {
                    var e = k < q.K ? Vector512.LoadUnsafe(ref dy0, (nuint)(k * plane + src)) : Vector512<T>.Zero;
                    if (last) e &= tailMask;
                    e.StoreUnsafe(ref dst, (nuint)(k * v));
                }
            }
            for (int t0 = 0; t0 < taps; t0 += FcUB)
                for (int k0 = 0; k0 < q.K; k0 += FcKB)
                    FewFilterTile(ref xp0, ref xo0, ref Unsafe.Add(ref du0, k0 * v), kp * v, ref Unsafe.Add(ref off0, t0), units,
                        ref Unsafe.Add(ref pt0, (t0 * kp + k0) * v), kp * v, Math.Min(FcUB, taps - t0));
        }
    }

    /// <summary>partial[t0 + i][k0 + j] += Σ_u dyu[u][k0 + j] · xpad[off(t0 + i) + xo[u]] for 6 channels × 4 taps (24 accumulators);
    /// taps past <paramref name="nt"/> are computed on repeated offsets and not added.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewFilterTile(ref T xp, ref int xo, ref T du, int duStride, ref int off, int units, ref T pt, int ptStride, int nt)
    {
        int v = Vector512<T>.Count;
        nint o0 = off, o1 = Unsafe.Add(ref off, 1), o2 = Unsafe.Add(ref off, 2), o3 = Unsafe.Add(ref off, 3);
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default,
                     c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default,
                     c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        for (int u = 0; u < units; u++)
        {
            ref T xu = ref Unsafe.Add(ref xp, Unsafe.Add(ref xo, u));
            var b0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref xu, o0));
            var b1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref xu, o1));
            var b2 = Vector512.LoadUnsafe(ref Unsafe.Add(ref xu, o2));
            var b3 = Vector512.LoadUnsafe(ref Unsafe.Add(ref xu, o3));
            ref T dk = ref Unsafe.Add(ref du, u * duStride);
            var a = Vector512.LoadUnsafe(ref dk); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01); c02 = Fma(a, b2, c02); c03 = Fma(a, b3, c03);
            a = Vector512.LoadUnsafe(ref dk, (nuint)v); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11); c12 = Fma(a, b2, c12); c13 = Fma(a, b3, c13);
            a = Vector512.LoadUnsafe(ref dk, (nuint)(2 * v)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21); c22 = Fma(a, b2, c22); c23 = Fma(a, b3, c23);
            a = Vector512.LoadUnsafe(ref dk, (nuint)(3 * v)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31); c32 = Fma(a, b2, c32); c33 = Fma(a, b3, c33);
            a = Vector512.LoadUnsafe(ref dk, (nuint)(4 * v)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41); c42 = Fma(a, b2, c42); c43 = Fma(a, b3, c43);
            a = Vector512.LoadUnsafe(ref dk, (nuint)(5 * v)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51); c52 = Fma(a, b2, c52); c53 = Fma(a, b3, c53);
        }
        // partial[(t0 + i)·ptStride + j·V] += c_ji (channels past K have zero dy: their sums are zero and never read)
        FewAdd(ref pt, v, c00, c10, c20, c30, c40, c50);
        if (nt > 1) FewAdd(ref Unsafe.Add(ref pt, ptStride), v, c01, c11, c21, c31, c41, c51);
        if (nt > 2) FewAdd(ref Unsafe.Add(ref pt, 2 * ptStride), v, c02, c12, c22, c32, c42, c52);
        if (nt > 3) FewAdd(ref Unsafe.Add(ref pt, 3 * ptStride), v, c03, c13, c23, c33, c43, c53);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FewAdd(ref T p, int v, Vector512<T> a0, Vector512<T> a1, Vector512<T> a2, Vector512<T> a3, Vector512<T> a4, Vector512<T> a5)
    {
        (Vector512.LoadUnsafe(ref p) + a0).StoreUnsafe(ref p);
        (Vector512.LoadUnsafe(ref p, (nuint)v) + a1).StoreUnsafe(ref p, (nuint)v);
        (Vector512.LoadUnsafe(ref p, (nuint)(2 * v)) + a2).StoreUnsafe(ref p, (nuint)(2 * v));
        (Vector512.LoadUnsafe(ref p, (nuint)(3 * v)) + a3).StoreUnsafe(ref p, (nuint)(3 * v));
        (Vector512.LoadUnsafe(ref p, (nuint)(4 * v)) + a4).StoreUnsafe(ref p, (nuint)(4 * v));
        (Vector512.LoadUnsafe(ref p, (nuint)(5 * v)) + a5).StoreUnsafe(ref p, (nuint)(5 * v));
    }
}
