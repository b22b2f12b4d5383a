using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Convolution by im2col + packed GEMM, one image at a time, images split across cores.
//   forward:         y[n] (K×P)      = W (K×CRS) · col(x[n]) (CRS×P) + b, epilogue fused in the GEMM write
//   backward data:   dcol (CRS×P)    = Wᵀ · dy[n], then col2im adds dcol into dx[n]
//   backward filter: dW (K×CRS)     += dy[n] · col(x[n])ᵀ, one partial dW per core, summed at the end
// A 1×1, stride-1, unpadded convolution uses x[n] / dx[n] directly as the column matrix.
// Other stride-1 convolutions (groups 1) go to the direct kernels of CpuKernels.DirectConv.cs (AVX-512 or AVX2).
public sealed partial class CpuKernels<T>
{
    // Scratch is sized for the whole batch's group (ColumnGroup(d, d.N)), not for the chunk a thread got: a thread's scratch then
    // depends only on the layers it runs, not on how a loop was split (parallel, or inline when the runner is busy), so it
    // stops growing after the first training step.
    [ThreadStatic] private static T[]? t_col;
    // per calling thread, so independent trainers on different threads never share partial sums
    [ThreadStatic] private static T[][]? t_dwPartials;

    /// <summary>Minimum multiply-adds before a kernel splits work across cores.</summary>
    internal const long ParallelThreshold = 1L << 18;

    internal static int Workers(long work, int items) =>
        work < ParallelThreshold ? 1 : Math.Max(1, Math.Min(Environment.ProcessorCount, items));

    public void Conv2dForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        var d = KernelContract.Conv2d(x, w, b, y, g, "x", "y");
        if (g.Groups > 1) { GroupedForward(x, w, b, y, g, d, epilogue); return; }
        if (UseFewChannels(d, g)) { FewChannelsForward(x, w, b, y, g, d, epilogue); return; }
        if (UseKVecForward(d, g)) { KVecForward(x, w, b, y, d, epilogue); return; }
        if (UseDirect(d, g) || UseDirectStrided(d, g, forward: true)) { DirectConvForward(x, w, b, y, g, d, epilogue); return; }
        long work = (long)d.N * d.K * d.CRS * d.P;
        int workers = Workers(work, d.N);
        if (SplitWithinImages && d.N < Environment.ProcessorCount && Workers(work, Environment.ProcessorCount) > workers)
        {
            // fewer images than cores (batch-1 inference): split each image's GEMM across the cores instead
            ConvForwardWithinImages(x, w, b, y, g, d, epilogue);
            return;
        }
        Chunks(d.N, workers, (x, w, b, y, g, d, epilogue), static (s, lo, hi) => ConvForwardRange(s.x, s.w, s.b, s.y, s.g, s.d, lo, hi, s.epilogue));
    }

    /// <summary>Whether convolutions with fewer images than cores split each image's GEMM (off only for A/B benchmarks).</summary>
    internal static bool SplitWithinImages = true;

    /// <summary>
    /// One image at a time: im2col (skipped for a 1×1, stride-1, unpadded convolution, whose column matrix is the image
    /// itself), then y[n] = W · col split across cores by output-channel rows or by pixel columns (<see cref="Blocks"/>).
    /// </summary>
    private static void ConvForwardWithinImages<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, ConvDims d, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        bool direct = d.Is1x1Direct(g);
        int inSize = d.C * d.H * d.W, outSize = d.K * d.P;
        var col = direct ? null : Scratch(ref t_col, d.CRS * d.P);
        var bk = b is null ? BiasKind.None : BiasKind.Row;
        for (int n = 0; n < d.N; n++)
        {
            if (!direct)
                Chunks(d.CRS, Workers((long)d.CRS * d.P, d.CRS), (x, col, d, g, n, inSize), static (s, lo, hi) =>
                    Im2ColRows(s.x.AsSpan().Slice(s.n * s.inSize, s.inSize), s.col!, s.d, s.g, lo, hi));
            Blocks(d.K, d.P, (long)d.K * d.P * d.CRS, (x, w, b, y, col, d, bk, epi, n, inSize, outSize), static (s, r0, r1, c0, c1) =>
            {
                ReadOnlySpan<T> bm = s.col is null ? s.x.AsSpan().Slice(s.n * s.inSize, s.inSize) : s.col;
                Gemm(r1 - r0, c1 - c0, s.d.CRS, s.w.AsSpan().Slice(r0 * s.d.CRS), s.d.CRS, 1, bm.Slice(c0), s.d.P, 1,
                    s.y.AsSpan().Slice(s.n * s.outSize + r0 * s.d.P + c0), s.d.P, false, s.bk, s.b is null ? default : s.b.AsSpan().Slice(r0), s.epi);
            });
        }
    }

    // the second scratch of a thread: a group's output (forward, backward data) or the padded dy (backward filter), never both at once
    [ThreadStatic] private static T[]? t_aux;
    /// <summary>Images with fewer output pixels than this share one GEMM (columns side by side), so tiles are mostly full.</summary>
    private const int GroupBelowPixels = 512;
    private const int GroupElements = 1 << 18;

    /// <summary>Images per group: the group's column matrix and its output (both scratch) fit the budget together.</summary>
    private static int ColumnGroup(ConvDims d, int images, int budget = GroupElements) =>
        d.P >= GroupBelowPixels ? 1 : Math.Clamp(budget / Math.Max(1, (d.CRS + d.K) * d.P), 1, images);
    /// <summary>Backward data keeps its group's column matrix cache-resident for col2im: a much smaller budget.</summary>
    internal static int BackwardDataGroupElements = 1 << 17;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void ConvForwardRange<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, ConvDims d, int lo, int hi, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        var xs = x.AsSpan(); var ws = w.AsSpan(); var ys = y.AsSpan();
        ReadOnlySpan<T> bs = b is null ? default : b.AsSpan();
        var bk = b is null ? BiasKind.None : BiasKind.Row;
        int inSize = d.C * d.H * d.W, outSize = d.K * d.P;
        int group = ColumnGroup(d, hi - lo), scratchGroup = ColumnGroup(d, d.N);
        if (group > 1)
        {
            // y for a group of images as one GEMM: W (K×CRS) · [col₀ col₁ …] (CRS × G·P), then scattered to NCHW
            var col = Scratch(ref t_col, d.CRS * scratchGroup * d.P);
            var outG = Scratch(ref t_aux, d.K * scratchGroup * d.P);
            for (int n0 = lo; n0 < hi; n0 += group)
            {
                int gn = Math.Min(group, hi - n0), ld = gn * d.P;
                for (int i = 0; i < gn; i++) Im2Col(xs.Slice((n0 + i) * inSize, inSize), col.AsSpan(i * d.P), d, g, ld, false);
                Gemm(d.K, ld, d.CRS, ws, d.CRS, 1, col, ld, 1, outG, ld, false, bk, bs, epi);
                for (int i = 0; i < gn; i++)
                    for (int k = 0; k < d.K; k++)
                        CopySmall(outG.AsSpan(k * ld + i * d.P, d.P), ys.Slice((n0 + i) * outSize + k * d.P, d.P));
            }
            return;
        }
        bool direct = d.Is1x1Direct(g);
        var col1 = direct ? null : Scratch(ref t_col, d.CRS * scratchGroup * d.P);
        for (int n = lo; n < hi; n++)
        {
            var xn = xs.Slice(n * inSize, inSize);
            ReadOnlySpan<T> bm = xn;
            if (!direct) { Im2Col(xn, col1!, d, g); bm = col1; }
            Gemm(d.K, d.P, d.CRS, ws, d.CRS, 1, bm, d.P, 1, ys.Slice(n * outSize, outSize), d.P, false, bk, bs, epi);
        }
    }

    public void Conv2dBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g)
    {
        var d = KernelContract.Conv2d(dx, w, null, dy, g, "dx", "dy");
        if (g.Groups > 1) { GroupedBackwardData(dy, w, dx, g, d); return; }
        if (UseSmallBackwardData(d, g)) { SmallBackwardData(dy, w, dx, d); return; }
        if (UseDirect(d, g)) { DirectConvBackwardData(dy, w, dx, g, d); return; }
        int workers = Workers((long)d.N * d.K * d.CRS * d.P, d.N);
        Chunks(d.N, workers, (dy, w, dx, g, d), static (s, lo, hi) => ConvBackwardDataRange(s.dy, s.w, s.dx, s.g, s.d, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void ConvBackwardDataRange(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g, ConvDims d, int lo, int hi)
    {
        var dys = dy.AsSpan(); var ws = w.AsSpan(); var dxs = dx.AsSpan();
        int inSize = d.C * d.H * d.W, outSize = d.K * d.P;
        int group = ColumnGroup(d, hi - lo, BackwardDataGroupElements), scratchGroup = ColumnGroup(d, d.N, BackwardDataGroupElements);
        if (group > 1)
        {
            // [dcol₀ dcol₁ …] (CRS × G·P) = Wᵀ · [dy₀ dy₁ …] (K × G·P), then col2im per image
            var col = Scratch(ref t_col, d.CRS * scratchGroup * d.P);
            var dyG = Scratch(ref t_aux, d.K * scratchGroup * d.P);
            for (int n0 = lo; n0 < hi; n0 += group)
            {
                int gn = Math.Min(group, hi - n0), ld = gn * d.P;
                for (int i = 0; i < gn; i++)
                    for (int k = 0; k < d.K; k++)
                        CopySmall(dys.Slice((n0 + i) * outSize + k * d.P, d.P), dyG.AsSpan(k * ld + i * d.P, d.P));
                Gemm(d.CRS, ld, d.K, ws, 1, d.CRS, dyG, ld, 1, col, ld, false, BiasKind.None, default, default(Identity<T>));
                for (int i = 0; i < gn; i++) Col2Im(col.AsSpan(i * d.P), dxs.Slice((n0 + i) * inSize, inSize), d, g, ld);
            }
            return;
        }
        bool direct = d.Is1x1Direct(g);
        var col1 = direct ? null : Scratch(ref t_col, d.CRS * scratchGroup * d.P);
        for (int n = lo; n < hi; n++)
        {
            var dxn = dxs.Slice(n * inSize, inSize);
            var dyn = dys.Slice(n * outSize, outSize);
            if (direct)
                Gemm(d.CRS, d.P, d.K, ws, 1, d.CRS, dyn, d.P, 1, dxn, d.P, false, BiasKind.None, default, default(Identity<T>));
            else
            {
                Gemm(d.CRS, d.P, d.K, ws, 1, d.CRS, dyn, d.P, 1, col1, d.P, false, BiasKind.None, default, default(Identity<T>));
                Col2Im(col1!, dxn, d, g, d.P);
            }
        }
    }

    public void Conv2dBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db, ConvGeometry g)
    {
        var d = KernelContract.Conv2d(x, dw, db, dy, g, "x", "dy", "dw", "db");
        int workers = Workers((long)d.N * d.K * d.CRS * d.P, d.N);
        if (g.Groups > 1) GroupedBackwardFilter(dy, x, dw, g, d);
        else if (UseFewChannels(d, g)) FewChannelsBackwardFilter(dy, x, dw, d, g);
        else if (UseKVecFilter(d, g)) KVecBackwardFilter(dy, x, dw, d);        // 5x5, unpadded, stride 1, K <= 16 (LeNet's conv2)
        else if (UseFilterKV(d, g)) FilterKV(dy, x, dw, g, d);                // 3x3, stride 1 or 2, K >= 16 (ResNets)
        else if (UseDirectFilter(d, g)) DirectConvBackwardFilter(dy, x, dw, g, d);
        else if (workers == 1) ConvBackwardFilterRange(dy, x, dw.AsSpan(), g, d, 0, d.N);
        else ConvBackwardFilterParallel(dy, x, dw, g, d, workers);
        if (db is not null)
        {
            var dbs = db.AsSpan(); var dys = dy.AsSpan();
            for (int k = 0; k < d.K; k++)
            {
                T s = T.Zero;
                for (int n = 0; n < d.N; n++) s += Sum(dys.Slice((n * d.K + k) * d.P, d.P));
                dbs[k] = s;
            }
        }
    }

    /// <summary>Column elements of a backward-filter group (a thread's t_col: 1 MB of floats); NETDSL_CONV_FILTER_GROUP overrides it.</summary>
    private static readonly int FilterGroupElements = Env("NETDSL_CONV_FILTER_GROUP", 1 << 18);

    private static void ConvBackwardFilterParallel(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, ConvGeometry g, ConvDims d, int workers)
    {
        int size = d.K * d.CRS;
        var partials = t_dwPartials ??= [];
        if (partials.Length < workers) { Array.Resize(ref partials, workers); t_dwPartials = partials; }
        for (int p = 1; p < workers; p++)
            if (partials[p] is null || partials[p].Length < size) partials[p] = new T[size];
        ParallelRunner.For(workers, new FilterBody(dy, x, dw, partials, size, g, d, workers));
        var dws = dw.AsSpan();
        for (int p = 1; p < workers; p++) AddInto(partials[p].AsSpan(0, size), dws);
    }

    /// <summary>Chunk p of the images: p = 0 accumulates into dw itself, the others into their partial sums.</summary>
    private readonly struct FilterBody(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, T[][] partials, int size, ConvGeometry g, ConvDims d, int workers)
        : IParallelBody
    {
        public void Run(int p)
        {
            var (lo, hi) = Chunk(d.N, workers, p);
            ConvBackwardFilterRange(dy, x, p == 0 ? dw.AsSpan() : partials[p].AsSpan(0, size), g, d, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void ConvBackwardFilterRange(Tensor<T> dy, Tensor<T> x, Span<T> dw, ConvGeometry g, ConvDims d, int lo, int hi)
    {
        if (lo == hi) { dw.Clear(); return; }
        var dys = dy.AsSpan(); var xs = x.AsSpan();
        int inSize = d.C * d.H * d.W, outSize = d.K * d.P;
        bool direct = d.Is1x1Direct(g);
        // dW (K×CRS) += Σ_n dy[n] (K×P) · col[n] (CRS×P)ᵀ in the dot form: both operands are contiguous along P. Rows are
        // padded to a multiple of the vector width (zeros), and a group of images is summed inside each register block.
        int vw = Use512 ? Vector512<T>.Count : Vector256<T>.Count;
        int pp = (d.P + vw - 1) / vw * vw;
        bool padded = pp != d.P;
        int group = Math.Clamp(FilterGroupElements / Math.Max(1, d.CRS * pp), 1, hi - lo);
        int scratchGroup = Math.Clamp(FilterGroupElements / Math.Max(1, d.CRS * pp), 1, d.N);
        var col = direct && !padded ? null : Scratch(ref t_col, scratchGroup * d.CRS * pp);
        var dyPad = padded ? Scratch(ref t_aux, scratchGroup * d.K * pp) : null;
        for (int n0 = lo; n0 < hi; n0 += group)
        {
            int gn = Math.Min(group, hi - n0);
            ReadOnlySpan<T> a, b;
            int batchA, batchB;
            if (padded)
            {
                for (int i = 0; i < gn; i++)
                {
                    var dyn = dys.Slice((n0 + i) * outSize, outSize);
                    var dst = dyPad.AsSpan(i * d.K * pp, d.K * pp);
                    for (int k = 0; k < d.K; k++)
                    {
                        CopySmall(dyn.Slice(k * d.P, d.P), dst.Slice(k * pp, d.P));
                        dst.Slice(k * pp + d.P, pp - d.P).Clear();
                    }
                }
                a = dyPad; batchA = d.K * pp;
            }
            else { a = dys.Slice(n0 * outSize); batchA = outSize; }
            if (direct && !padded) { b = xs.Slice(n0 * inSize); batchB = inSize; }
            else
            {
                for (int i = 0; i < gn; i++)
                {
                    var xn = xs.Slice((n0 + i) * inSize, inSize);
                    var dst = col.AsSpan(i * d.CRS * pp, d.CRS * pp);
                    if (direct)
                        for (int c = 0; c < d.C; c++)
                        {
                            CopySmall(xn.Slice(c * d.P, d.P), dst.Slice(c * pp, d.P));
                            dst.Slice(c * pp + d.P, pp - d.P).Clear();
                        }
                    else Im2Col(xn, dst, d, g, pp, true);
                }
                b = col; batchB = d.CRS * pp;
            }
            GemmNT(d.K, d.CRS, pp, gn, a, pp, batchA, b, pp, batchB, dw, d.CRS, n0 > lo);
        }
    }

    internal static (int lo, int hi) Chunk(int n, int parts, int p)
    {
        int q = n / parts, r = n % parts;
        int lo = p * q + Math.Min(p, r);
        return (lo, lo + q + (p < r ? 1 : 0));
    }

    /// <summary>col[(c*KH+kh)*KW+kw, oh*OW+ow] = x[c, oh*sh−ph+kh*dh, ow*sw−pw+kw*dw] (0 outside).</summary>
    private static void Im2Col(ReadOnlySpan<T> x, Span<T> col, ConvDims d, ConvGeometry g) => Im2Col(x, col, d, g, d.P, false);

    /// <summary>Im2Col with rows <paramref name="ld"/> apart (col may be a column block of a wider matrix); with
    /// <paramref name="zeroTail"/>, entries P..ld of each row are zeroed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Im2Col(ReadOnlySpan<T> x, Span<T> col, ConvDims d, ConvGeometry g, int ld, bool zeroTail)
    {
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, dh = g.DilationH, dwl = g.DilationW;
        int row = 0;
        for (int c = 0; c < d.C; c++)
            for (int kh = 0; kh < d.KH; kh++)
                for (int kw = 0; kw < d.KW; kw++, row++)
                {
                    if (zeroTail && ld > d.P) col.Slice(row * ld + d.P, ld - d.P).Clear();
                    var dst = col.Slice(row * ld, d.P);
                    // valid ow: 0 <= ow*sw - pw + kw < W
                    int owLo = Math.Max(0, CeilDiv(pw - kw * dwl, sw));
                    int owHi = Math.Min(d.OW, FloorDiv(d.W - 1 + pw - kw * dwl, sw) + 1);
                    for (int oh = 0; oh < d.OH; oh++)
                    {
                        var drow = dst.Slice(oh * d.OW, d.OW);
                        int ih = oh * sh - ph + kh * dh;
                        if ((uint)ih >= (uint)d.H || owHi <= owLo) { drow.Clear(); continue; }
                        var src = x.Slice((c * d.H + ih) * d.W, d.W);
                        if (owLo > 0) drow[..owLo].Clear();
                        if (owHi < d.OW) drow[owHi..].Clear();
                        int iw0 = owLo * sw - pw + kw * dwl;
                        if (sw == 1) CopySmall(src.Slice(iw0, owHi - owLo), drow[owLo..owHi]);
                        else GatherStrided(src, iw0, sw, drow[owLo..owHi]);
                    }
                }
    }

    /// <summary>Rows [lo, hi) of <see cref="Im2Col(ReadOnlySpan{T}, Span{T}, ConvDims, ConvGeometry)"/> (row = (c, kh, kw)), so cores can share one image.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Im2ColRows(ReadOnlySpan<T> x, Span<T> col, ConvDims d, ConvGeometry g, int lo, int hi)
    {
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, dh = g.DilationH, dwl = g.DilationW, khw = d.KH * d.KW;
        for (int row = lo; row < hi; row++)
        {
            int c = row / khw, kh = row % khw / d.KW, kw = row % d.KW;
            var dst = col.Slice(row * d.P, d.P);
            int owLo = Math.Max(0, CeilDiv(pw - kw * dwl, sw));
            int owHi = Math.Min(d.OW, FloorDiv(d.W - 1 + pw - kw * dwl, sw) + 1);
            for (int oh = 0; oh < d.OH; oh++)
            {
                var drow = dst.Slice(oh * d.OW, d.OW);
                int ih = oh * sh - ph + kh * dh;
                if ((uint)ih >= (uint)d.H || owHi <= owLo) { drow.Clear(); continue; }
                var src = x.Slice((c * d.H + ih) * d.W, d.W);
                if (owLo > 0) drow[..owLo].Clear();
                if (owHi < d.OW) drow[owHi..].Clear();
                int iw0 = owLo * sw - pw + kw * dwl;
                if (sw == 1) CopySmall(src.Slice(iw0, owHi - owLo), drow[owLo..owHi]);
                else GatherStrided(src, iw0, sw, drow[owLo..owHi]);
            }
        }
    }

    /// <summary>dx = 0, then dx[c, ih, iw] += col[(c,kh,kw), (oh,ow)] for every valid tap (the adjoint of Im2Col).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Col2Im(ReadOnlySpan<T> col, Span<T> dx, ConvDims d, ConvGeometry g, int ld)
    {
        dx.Clear();
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, dh = g.DilationH, dwl = g.DilationW;
        int row = 0;
        for (int c = 0; c < d.C; c++)
            for (int kh = 0; kh < d.KH; kh++)
                for (int kw = 0; kw < d.KW; kw++, row++)
                {
                    var src = col.Slice(row * ld, d.P);
                    int owLo = Math.Max(0, CeilDiv(pw - kw * dwl, sw));
                    int owHi = Math.Min(d.OW, FloorDiv(d.W - 1 + pw - kw * dwl, sw) + 1);
                    if (owHi <= owLo) continue;
                    for (int oh = 0; oh < d.OH; oh++)
                    {
                        int ih = oh * sh - ph + kh * dh;
                        if ((uint)ih >= (uint)d.H) continue;
                        var drow = dx.Slice((c * d.H + ih) * d.W, d.W);
                        var srow = src.Slice(oh * d.OW, d.OW);
                        int iw0 = owLo * sw - pw + kw * dwl;
                        if (sw == 1) AddInto(srow[owLo..owHi], drow.Slice(iw0, owHi - owLo));
                        else AddStrided(srow, owLo, owHi, dx, (c * d.H + ih) * d.W + iw0 - sw * owLo, sw);
                    }
                }
    }

    /// <summary>An inlined copy for the short rows of im2col (a Memmove call per row costs more than the copy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopySmall(ReadOnlySpan<T> src, Span<T> dst)
    {
        int n = src.Length, w = Vector256<T>.Count, i = 0;
        if ((uint)dst.Length < (uint)n) throw new ArgumentException("destination too short");
        ref T s = ref MemoryMarshal.GetReference(src);
        ref T d = ref MemoryMarshal.GetReference(dst);
        for (; i <= n - w; i += w) Vector256.LoadUnsafe(ref s, (nuint)i).StoreUnsafe(ref d, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i);
    }

    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -((-a) / b);
    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
