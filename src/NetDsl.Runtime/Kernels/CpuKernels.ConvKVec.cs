using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Runtime;

// Forward pass and weight gradient of a small unpadded stride-1 5×5 convolution whose output channels fit one vector
// (LeNet-5's conv2: 6 → 16 channels, 14×14 → 10×10), AVX-512. The direct kernels vectorize along an output row, and a
// 10-wide row fills 10 of 16 lanes. Here the K output channels lie along the vector instead ("channel vectors"; lanes
// K..V−1 stay zero), so every lane is useful whatever the image width:
//   weight gradient: dW[k, c, r, s] = Σ_n Σ_(oh, ow) dy[n, k, oh, ow] · x[n, c, oh + r, ow + s]. Image n's dy is transposed to
//                    dyT[pixel][V]; then for each input channel c, 25 vector accumulators (one per tap r, s) run over the
//                    image's pixels: each pixel loads one dy vector and broadcasts 25 inputs, 25 FMAs. The accumulators add
//                    into a per-worker partial [C][25][V]; dW[k][c·25 + tap] is lane k of the partials' sum (no horizontal sums).
//   forward:         see KVecForward (2 × 5 output tiles, the result transposed back to [k][pixel] with the epilogue).
// The input gradient keeps the clipped-row kernel (CpuKernels.ConvBackwardDataSmall.cs): a channel-vector version needs a
// horizontal sum per output and variable tap ranges per pixel pair, and measured 0.81× of it (2026-12-08, 1 thread).
public sealed partial class CpuKernels<T>
{
    /// <summary>Use the channel-vector kernels for small 5×5 convolutions where they apply (NETDSL_KVEC_CONV=0 turns them off).</summary>
    internal static bool KVecConvEnabled = Environment.GetEnvironmentVariable("NETDSL_KVEC_CONV") != "0";
    /// <summary>Per calling thread: skip the channel-vector kernels (tests and A/B harnesses compare both paths in one process).</summary>
    [ThreadStatic] internal static bool t_forceNoKVec;

    [ThreadStatic] private static T[]? t_kvDyT;         // per worker: one image's dy transposed [pixels][V]
    [ThreadStatic] private static T[][]? t_kvPartials;  // per caller: each worker's partial of dW [C][25][V]

    /// <summary>Whether the weight gradient of a convolution of x by w with g runs on the channel-vector kernel (for tests).</summary>
    internal static bool KVecFilterApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseKVecFilter(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g);
    }

    // 5×5 only, K in (V/2, V] so at least half the lanes are useful, small images (ResNets' 3×3 and 1×1 keep the other paths).
    private static bool UseKVecFilter(ConvDims d, ConvGeometry g) =>
        KVecConvEnabled && !t_forceNoKVec && !t_forceIm2col && Use512 && g.Groups == 1
        && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
        && g.PadH == 0 && g.PadW == 0 && g.PadBottom == 0 && g.PadRight == 0
        && d.KH == 5 && d.KW == 5 && 2 * d.K > Vector512<T>.Count && d.K <= Vector512<T>.Count
        && d.OH >= 1 && d.OW >= 1 && d.H <= 64 && d.W <= 64 && d.C <= 256;

    private static void KVecBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, ConvDims d)
    {
        int v = Vector512<T>.Count, size = d.C * 25 * v;
        long work = (long)d.N * d.K * d.CRS * d.P;
        int workers = Workers(work, d.N);
        var partials = t_kvPartials ??= [];
        if (partials.Length < workers) { Array.Resize(ref partials, workers); t_kvPartials = partials; }
        for (int p = 0; p < workers; p++)
            if (partials[p] is null || partials[p].Length < size) partials[p] = new T[size];
        if (workers <= 1) KVecFilterRange(dy, x, partials[0], d, 0, d.N);
        else ParallelRunner.For(workers, new KVecFilterBody(dy, x, partials, d, workers));
        // dW[k][c·25 + t] = Σ_workers partial[c·25 + t][k]
        var dws = dw.AsSpan();
        int taps = d.C * 25;
        for (int t = 0; t < taps; t++)
        {
            var sum = Vector512.LoadUnsafe(ref partials[0][0], (nuint)(t * v));
            for (int p = 1; p < workers; p++) sum += Vector512.LoadUnsafe(ref partials[p][0], (nuint)(t * v));
            for (int k = 0; k < d.K; k++) dws[k * taps + t] = sum.GetElement(k);
        }
    }

    /// <summary>Chunk p of the images, summed into worker p's partial.</summary>
    private readonly struct KVecFilterBody(Tensor<T> dy, Tensor<T> x, T[][] partials, ConvDims d, int workers) : IParallelBody
    {
        public void Run(int p)
        {
            var (lo, hi) = Chunk(d.N, workers, p);
            KVecFilterRange(dy, x, partials[p], d, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KVecFilterRange(Tensor<T> dy, Tensor<T> x, T[] partial, ConvDims d, int lo, int hi)
    {
        int v = Vector512<T>.Count, p = d.P;
        partial.AsSpan(0, d.C * 25 * v).Clear();
        if (lo >= hi) return;
        var dyT = Scratch(ref t_kvDyT, p * v);
        dyT.AsSpan(0, p * v).Clear();   // lanes K..V−1 stay zero
        var dys = dy.AsSpan(); var xs = x.AsSpan();
        int outSize = d.K * p, inSize = d.C * d.H * d.W, plane = d.H * d.W;
        ref T dyT0 = ref MemoryMarshal.GetArrayDataReference(dyT);
        ref T part0 = ref MemoryMarshal.GetArrayDataReference(partial);
        for (int n = lo; n < hi; n++)
        {
            KVecTranspose(ref Unsafe.Add(ref MemoryMarshal.GetReference(dys), n * outSize), ref dyT0, d.K, p, p);
            ref T xn = ref Unsafe.Add(ref MemoryMarshal.GetReference(xs), n * inSize);
            for (int c = 0; c < d.C; c++)
                KVecFilterChannel(ref dyT0, ref Unsafe.Add(ref xn, c * plane), d.W, d.OH, d.OW, ref Unsafe.Add(ref part0, c * 25 * v));
        }
    }

    /// <summary>dyT[i][k] = dy[k·kStride + i] for k &lt; K and i &lt; P (lanes K..V−1 of dyT are left as they are: zero). Float: two
    /// 8-lane gathers per pixel.</summary>
    private static unsafe void KVecTranspose(ref T dy, ref T dyT, int kk, int p, int kStride)
    {
        int v = Vector512<T>.Count;
        if (typeof(T) == typeof(float) && Avx2.IsSupported && kk == v)
        {
            var idx = Vector256<int>.Indices * kStride;   // lanes 0..7; lanes 8..15 start 8 channels further
            fixed (T* src = &dy)
            {
                float* s0 = (float*)src, s8 = s0 + 8 * kStride;
                for (int i = 0; i < p; i++)
                    Vector512.Create(Avx2.GatherVector256(s0 + i, idx, 4), Avx2.GatherVector256(s8 + i, idx, 4)).As<float, T>()
                        .StoreUnsafe(ref dyT, (nuint)(i * v));
            }
            return;
        }
        for (int k = 0; k < kk; k++)
            for (int i = 0; i < p; i++) Unsafe.Add(ref dyT, i * v + k) = Unsafe.Add(ref dy, k * kStride + i);
    }

    /// <summary>y[k][i] = epilogue(yT[i][k] + b[k]) for k &lt; K and i &lt; P. Float with P ≥ 16: two 8-lane gathers per
    /// 16 pixels of a channel (the last vector overlapping the one before it).</summary>
    private static unsafe void KVecUntranspose<TEpi>(ref T yT, ref T y, ReadOnlySpan<T> b, int kk, int p, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int v = Vector512<T>.Count;
        if (typeof(T) == typeof(float) && Avx2.IsSupported && p >= v)
        {
            var idx = Vector256<int>.Indices * v;   // lanes 0..7; lanes 8..15 start 8 pixels further
            fixed (T* src = &yT)
            {
                float* s0 = (float*)src;
                for (int k = 0; k < kk; k++)
                {
                    var bk = Vector512.Create(b.IsEmpty ? T.Zero : b[k]);
                    ref T row = ref Unsafe.Add(ref y, k * p);
                    for (int i0 = 0; i0 < p; i0 += v)
                    {
                        int i = Math.Min(i0, p - v);
                        float* q = s0 + i * v + k;
                        var g = Vector512.Create(Avx2.GatherVector256(q, idx, 4), Avx2.GatherVector256(q + 8 * v, idx, 4));
                        epi.Apply(g.As<float, T>() + bk).StoreUnsafe(ref row, (nuint)i);
                    }
                }
            }
            return;
        }
        for (int k = 0; k < kk; k++)
        {
            T bk = b.IsEmpty ? T.Zero : b[k];
            for (int i = 0; i < p; i++) Unsafe.Add(ref y, k * p + i) = epi.Apply(Unsafe.Add(ref yT, i * v + k) + bk);
        }
    }

    /// <summary>acc[r·5 + s] += Σ_(oh, ow) dyT[oh·OW + ow] · x[oh + r, ow + s] for one input channel's plane x (row length w).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KVecFilterChannel(ref T dyT, ref T x, int w, int oh, int ow, ref T acc)
    {
        int v = Vector512<T>.Count;
        Vector512<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default, a16 = default, a17 = default, a18 = default, a19 = default, a20 = default, a21 = default, a22 = default, a23 = default, a24 = default;
        for (int i = 0; i < oh; i++)
        {
            ref T x0 = ref Unsafe.Add(ref x, i * w);
            ref T x1 = ref Unsafe.Add(ref x0, w);
            ref T x2 = ref Unsafe.Add(ref x1, w);
            ref T x3 = ref Unsafe.Add(ref x2, w);
            ref T x4 = ref Unsafe.Add(ref x3, w);
            ref T dr = ref Unsafe.Add(ref dyT, i * ow * v);
            for (int j = 0; j < ow; j++)
            {
                var dv = Vector512.LoadUnsafe(ref dr);
                a0 = Fma(dv, Vector512.Create(Unsafe.Add(ref x0, 0)), a0);
                a1 = Fma(dv, Vector512.Create(Unsafe.Add(ref x0, 1)), a1);
                a2 = Fma(dv, Vector512.Create(Unsafe.Add(ref x0, 2)), a2);
                a3 = Fma(dv, Vector512.Create(Unsafe.Add(ref x0, 3)), a3);
                a4 = Fma(dv, Vector512.Create(Unsafe.Add(ref x0, 4)), a4);
                a5 = Fma(dv, Vector512.Create(Unsafe.Add(ref x1, 0)), a5);
                a6 = Fma(dv, Vector512.Create(Unsafe.Add(ref x1, 1)), a6);
                a7 = Fma(dv, Vector512.Create(Unsafe.Add(ref x1, 2)), a7);
                a8 = Fma(dv, Vector512.Create(Unsafe.Add(ref x1, 3)), a8);
                a9 = Fma(dv, Vector512.Create(Unsafe.Add(ref x1, 4)), a9);
                a10 = Fma(dv, Vector512.Create(Unsafe.Add(ref x2, 0)), a10);
                a11 = Fma(dv, Vector512.Create(Unsafe.Add(ref x2, 1)), a11);
                a12 = Fma(dv, Vector512.Create(Unsafe.Add(ref x2, 2)), a12);
                a13 = Fma(dv, Vector512.Create(Unsafe.Add(ref x2, 3)), a13);
                a14 = Fma(dv, Vector512.Create(Unsafe.Add(ref x2, 4)), a14);
                a15 = Fma(dv, Vector512.Create(Unsafe.Add(ref x3, 0)), a15);
                a16 = Fma(dv, Vector512.Create(Unsafe.Add(ref x3, 1)), a16);
                a17 = Fma(dv, Vector512.Create(Unsafe.Add(ref x3, 2)), a17);
                a18 = Fma(dv, Vector512.Create(Unsafe.Add(ref x3, 3)), a18);
                a19 = Fma(dv, Vector512.Create(Unsafe.Add(ref x3, 4)), a19);
                a20 = Fma(dv, Vector512.Create(Unsafe.Add(ref x4, 0)), a20);
                a21 = Fma(dv, Vector512.Create(Unsafe.Add(ref x4, 1)), a21);
                a22 = Fma(dv, Vector512.Create(Unsafe.Add(ref x4, 2)), a22);
                a23 = Fma(dv, Vector512.Create(Unsafe.Add(ref x4, 3)), a23);
                a24 = Fma(dv, Vector512.Create(Unsafe.Add(ref x4, 4)), a24);
                dr = ref Unsafe.Add(ref dr, v);
                x0 = ref Unsafe.Add(ref x0, 1); x1 = ref Unsafe.Add(ref x1, 1); x2 = ref Unsafe.Add(ref x2, 1);
                x3 = ref Unsafe.Add(ref x3, 1); x4 = ref Unsafe.Add(ref x4, 1);
            }
        }
        (Vector512.LoadUnsafe(ref acc, (nuint)(0 * v)) + a0).StoreUnsafe(ref acc, (nuint)(0 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(1 * v)) + a1).StoreUnsafe(ref acc, (nuint)(1 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(2 * v)) + a2).StoreUnsafe(ref acc, (nuint)(2 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(3 * v)) + a3).StoreUnsafe(ref acc, (nuint)(3 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(4 * v)) + a4).StoreUnsafe(ref acc, (nuint)(4 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(5 * v)) + a5).StoreUnsafe(ref acc, (nuint)(5 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(6 * v)) + a6).StoreUnsafe(ref acc, (nuint)(6 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(7 * v)) + a7).StoreUnsafe(ref acc, (nuint)(7 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(8 * v)) + a8).StoreUnsafe(ref acc, (nuint)(8 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(9 * v)) + a9).StoreUnsafe(ref acc, (nuint)(9 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(10 * v)) + a10).StoreUnsafe(ref acc, (nuint)(10 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(11 * v)) + a11).StoreUnsafe(ref acc, (nuint)(11 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(12 * v)) + a12).StoreUnsafe(ref acc, (nuint)(12 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(13 * v)) + a13).StoreUnsafe(ref acc, (nuint)(13 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(14 * v)) + a14).StoreUnsafe(ref acc, (nuint)(14 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(15 * v)) + a15).StoreUnsafe(ref acc, (nuint)(15 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(16 * v)) + a16).StoreUnsafe(ref acc, (nuint)(16 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(17 * v)) + a17).StoreUnsafe(ref acc, (nuint)(17 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(18 * v)) + a18).StoreUnsafe(ref acc, (nuint)(18 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(19 * v)) + a19).StoreUnsafe(ref acc, (nuint)(19 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(20 * v)) + a20).StoreUnsafe(ref acc, (nuint)(20 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(21 * v)) + a21).StoreUnsafe(ref acc, (nuint)(21 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(22 * v)) + a22).StoreUnsafe(ref acc, (nuint)(22 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(23 * v)) + a23).StoreUnsafe(ref acc, (nuint)(23 * v));
        (Vector512.LoadUnsafe(ref acc, (nuint)(24 * v)) + a24).StoreUnsafe(ref acc, (nuint)(24 * v));
    }
    [ThreadStatic] private static T[]? t_kvW;    // per caller: weights packed [C·25][V] (lane k = w[k, c, tap])
    [ThreadStatic] private static T[]? t_kvYT;   // per worker: one image's output transposed [pixels][V]

    /// <summary>Whether the forward pass of a convolution of x by w with g runs on the channel-vector kernel (for tests).</summary>
    internal static bool KVecForwardApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseKVecForward(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g);
    }

    // The forward tile is 2 output rows × 5 columns (an odd last row and the last 8 columns overlap the tile before them).
    private static bool UseKVecForward(ConvDims d, ConvGeometry g) => UseKVecFilter(d, g) && d.OW >= KvTW;
    private const int KvTW = 5;   // forward tile columns

    // Forward: y[k, oh, ow] = b[k] + Σ_(c, r, s) w[k, c, r, s] · x[c, oh + r, ow + s] with k along the vector: a tile of 2 rows ×
    // 5 columns of outputs holds 10 vector accumulators; each tap loads one weight vector and broadcasts 10 inputs (10 FMAs,
    // every lane useful). The tile is stored to yT[pixel][V], and the image's y[k][pixel] = epilogue(yT[pixel][k] + b[k]).
    private static void KVecForward<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvDims d, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int v = Vector512<T>.Count, taps = d.C * 25;
        var wp = Scratch(ref t_kvW, taps * v);
        var ws = w.AsSpan();
        wp.AsSpan(0, taps * v).Clear();
        for (int k = 0; k < d.K; k++)
            for (int t = 0; t < taps; t++) wp[t * v + k] = ws[k * taps + t];
        long work = (long)d.N * d.K * d.CRS * d.P;
        Chunks(d.N, Workers(work, d.N), (x, wp, b, y, d, epi), static (s, lo, hi) => KVecForwardRange(s.x, s.wp, s.b, s.y, s.d, s.epi, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KVecForwardRange<TEpi>(Tensor<T> x, T[] wp, Tensor<T>? b, Tensor<T> y, ConvDims d, TEpi epi, int lo, int hi)
        where TEpi : struct, IMap1<T>
    {
        if (lo >= hi) return;
        int v = Vector512<T>.Count, p = d.P;
        var yT = Scratch(ref t_kvYT, p * v);
        var xs = x.AsSpan(); var ys = y.AsSpan();
        var bs = b is null ? default : b.AsSpan();
        int outSize = d.K * p, inSize = d.C * d.H * d.W;
        ref T yT0 = ref MemoryMarshal.GetArrayDataReference(yT);
        ref T wp0 = ref MemoryMarshal.GetArrayDataReference(wp);
        int dr = Math.Min(1, d.OH - 1);   // OH = 1: both tile rows are row 0
        for (int n = lo; n < hi; n++)
        {
            ref T xn = ref Unsafe.Add(ref MemoryMarshal.GetReference(xs), n * inSize);
            for (int oh0 = 0; oh0 < d.OH; oh0 += 2)
            {
                int r0 = Math.Min(oh0, d.OH - 1 - dr);
                for (int ow0 = 0; ow0 < d.OW; ow0 += KvTW)
                {
                    int c0 = Math.Min(ow0, d.OW - KvTW);
                    KVecForwardTile(ref Unsafe.Add(ref xn, r0 * d.W + c0), ref wp0, d.C, d.H * d.W, d.W, dr * d.W,
                        ref Unsafe.Add(ref yT0, (r0 * d.OW + c0) * v), ref Unsafe.Add(ref yT0, ((r0 + dr) * d.OW + c0) * v));
                }
            }
            KVecUntranspose(ref yT0, ref Unsafe.Add(ref MemoryMarshal.GetReference(ys), n * outSize), bs, d.K, p, epi);
        }
    }

    /// <summary>10 outputs (rows 0 and drw/w of x's tile origin, 5 columns) over all input channels and taps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KVecForwardTile(ref T x, ref T wp, int c, int plane, int w, int drw, ref T ya, ref T yb)
    {
        int v = Vector512<T>.Count;
        Vector512<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, b0 = default, b1 = default, b2 = default, b3 = default, b4 = default;
        Vector512<T> wv;
        for (int ci = 0; ci < c; ci++)
        {
            ref T xc = ref Unsafe.Add(ref x, ci * plane);
            for (int r = 0; r < 5; r++)
            {
                ref T xa = ref Unsafe.Add(ref xc, r * w);
                ref T xb = ref Unsafe.Add(ref xa, drw);
                ref T wr = ref Unsafe.Add(ref wp, (ci * 25 + r * 5) * v);
                    wv = Vector512.LoadUnsafe(ref wr, (nuint)(0 * v));
                    a0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 0)), a0); b0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 0)), b0);
                    a1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 1)), a1); b1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 1)), b1);
                    a2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 2)), a2); b2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 2)), b2);
                    a3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 3)), a3); b3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 3)), b3);
                    a4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 4)), a4); b4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 4)), b4);
                    wv = Vector512.LoadUnsafe(ref wr, (nuint)(1 * v));
                    a0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 1)), a0); b0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 1)), b0);
                    a1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 2)), a1); b1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 2)), b1);
                    a2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 3)), a2); b2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 3)), b2);
                    a3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 4)), a3); b3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 4)), b3);
                    a4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 5)), a4); b4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 5)), b4);
                    wv = Vector512.LoadUnsafe(ref wr, (nuint)(2 * v));
                    a0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 2)), a0); b0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 2)), b0);
                    a1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 3)), a1); b1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 3)), b1);
                    a2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 4)), a2); b2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 4)), b2);
                    a3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 5)), a3); b3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 5)), b3);
                    a4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 6)), a4); b4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 6)), b4);
                    wv = Vector512.LoadUnsafe(ref wr, (nuint)(3 * v));
                    a0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 3)), a0); b0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 3)), b0);
                    a1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 4)), a1); b1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 4)), b1);
                    a2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 5)), a2); b2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 5)), b2);
                    a3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 6)), a3); b3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 6)), b3);
                    a4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 7)), a4); b4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 7)), b4);
                    wv = Vector512.LoadUnsafe(ref wr, (nuint)(4 * v));
                    a0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 4)), a0); b0 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 4)), b0);
                    a1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 5)), a1); b1 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 5)), b1);
                    a2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 6)), a2); b2 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 6)), b2);
                    a3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 7)), a3); b3 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 7)), b3);
                    a4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xa, 8)), a4); b4 = Fma(wv, Vector512.Create(Unsafe.Add(ref xb, 8)), b4);
            }
        }
        a0.StoreUnsafe(ref ya, (nuint)(0 * v)); b0.StoreUnsafe(ref yb, (nuint)(0 * v));
        a1.StoreUnsafe(ref ya, (nuint)(1 * v)); b1.StoreUnsafe(ref yb, (nuint)(1 * v));
        a2.StoreUnsafe(ref ya, (nuint)(2 * v)); b2.StoreUnsafe(ref yb, (nuint)(2 * v));
        a3.StoreUnsafe(ref ya, (nuint)(3 * v)); b3.StoreUnsafe(ref yb, (nuint)(3 * v));
        a4.StoreUnsafe(ref ya, (nuint)(4 * v)); b4.StoreUnsafe(ref yb, (nuint)(4 * v));
    }
}
