using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// The conv/pool family beyond the slice: grouped convolution (im2col + GEMM per group), transposed convolution (the adjoint of
// convolution: its forward is convolution's backward-data, its input gradient is convolution's forward), adaptive average
// pooling, max unpooling and nearest/bilinear upsampling. Planes or images are split across cores when the work is large.
public sealed partial class CpuKernels<T>
{
    // ------------------------------------------------------------------ grouped convolution
    // Group q reads input channels [q·C/G, (q+1)·C/G), weights rows [q·K/G, (q+1)·K/G) and writes those output channels: the
    // slices are contiguous within an image, so each (image, group) is one im2col and one GEMM of the per-group sizes.

    private static void GroupedForward<TEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, ConvDims d, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        int workers = Workers((long)d.N * d.K * (d.CRS / g.Groups) * d.P, d.N);
        Chunks(d.N, workers, (x, w, b, y, g, d, epi), static (s, lo, hi) =>
        {
            var (x, w, b, y, g, d, epi) = s;
            var dg = d.Group(g.Groups);
            var xs = x.AsSpan(); var ws = w.AsSpan(); var ys = y.AsSpan();
            ReadOnlySpan<T> bs = b is null ? default : b.AsSpan();
            var bk = b is null ? BiasKind.None : BiasKind.Row;
            bool direct = dg.Is1x1Direct(g);
            var col = direct ? null : Scratch(ref t_col, dg.CRS * dg.P);
            int inG = dg.C * d.H * d.W, outG = dg.K * d.P, wG = dg.K * dg.CRS;
            for (int n = lo; n < hi; n++)
                for (int q = 0; q < g.Groups; q++)
                {
                    var xg = xs.Slice((n * g.Groups + q) * inG, inG);
                    ReadOnlySpan<T> bm = xg;
                    if (!direct) { Im2Col(xg, col!, dg, g); bm = col; }
                    Gemm(dg.K, dg.P, dg.CRS, ws.Slice(q * wG, wG), dg.CRS, 1, bm, dg.P, 1, ys.Slice((n * g.Groups + q) * outG, outG), dg.P,
                        false, bk, b is null ? default : bs.Slice(q * dg.K, dg.K), epi);
                }
        });
    }

    private static void GroupedBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g, ConvDims d)
    {
        int workers = Workers((long)d.N * d.K * (d.CRS / g.Groups) * d.P, d.N);
        Chunks(d.N, workers, (dy, w, dx, g, d), static (s, lo, hi) =>
        {
            var (dy, w, dx, g, d) = s;
            var dg = d.Group(g.Groups);
            var dys = dy.AsSpan(); var ws = w.AsSpan(); var dxs = dx.AsSpan();
            bool direct = dg.Is1x1Direct(g);
            var col = direct ? null : Scratch(ref t_col, dg.CRS * dg.P);
            int inG = dg.C * d.H * d.W, outG = dg.K * d.P, wG = dg.K * dg.CRS;
            for (int n = lo; n < hi; n++)
                for (int q = 0; q < g.Groups; q++)
                {
                    var dxg = dxs.Slice((n * g.Groups + q) * inG, inG);
                    var dyg = dys.Slice((n * g.Groups + q) * outG, outG);
                    // dcol (CRSg×P) = Wgᵀ (CRSg×Kg) · dy_g (Kg×P)
                    if (direct) Gemm(dg.CRS, dg.P, dg.K, ws.Slice(q * wG, wG), 1, dg.CRS, dyg, dg.P, 1, dxg, dg.P, false, BiasKind.None, default, default(Identity<T>));
                    else
                    {
                        Gemm(dg.CRS, dg.P, dg.K, ws.Slice(q * wG, wG), 1, dg.CRS, dyg, dg.P, 1, col, dg.P, false, BiasKind.None, default, default(Identity<T>));
                        Col2Im(col!, dxg, dg, g, dg.P);
                    }
                }
        });
    }

    /// <summary>dW of each group (its own rows of dW, so groups run in parallel without partial sums) = Σ_n dy_g · col_gᵀ.</summary>
    private static void GroupedBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, ConvGeometry g, ConvDims d)
    {
        int workers = Workers((long)d.N * d.K * (d.CRS / g.Groups) * d.P, g.Groups);
        Chunks(g.Groups, workers, (dy, x, dw, g, d), static (s, lo, hi) =>
        {
            var (dy, x, dw, g, d) = s;
            var dg = d.Group(g.Groups);
            var dys = dy.AsSpan(); var xs = x.AsSpan(); var dws = dw.AsSpan();
            int vw = Use512 ? Vector512<T>.Count : Vector256<T>.Count;
            int pp = (dg.P + vw - 1) / vw * vw;   // rows padded with zeros to the vector width (GemmNT's dot form)
            var col = Scratch(ref t_col, dg.CRS * pp);
            var dyPad = Scratch(ref t_aux, dg.K * pp);
            int inG = dg.C * d.H * d.W, outG = dg.K * d.P, wG = dg.K * dg.CRS;
            for (int q = lo; q < hi; q++)
            {
                var dwg = dws.Slice(q * wG, wG);
                for (int n = 0; n < d.N; n++)
                {
                    var dyg = dys.Slice((n * g.Groups + q) * outG, outG);
                    for (int k = 0; k < dg.K; k++)
                    {
                        CopySmall(dyg.Slice(k * d.P, d.P), dyPad.AsSpan(k * pp, d.P));
                        dyPad.AsSpan(k * pp + d.P, pp - d.P).Clear();
                    }
                    Im2Col(xs.Slice((n * g.Groups + q) * inG, inG), col, dg, g, pp, true);
                    GemmNT(dg.K, dg.CRS, pp, dyPad, pp, col, pp, dwg, dg.CRS, n > 0);
                }
                if (d.N == 0) dwg.Clear();
            }
        });
    }

    // ------------------------------------------------------------------ transposed convolution
    public void ConvTranspose2dForward(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g)
    {
        KernelContract.ConvTranspose2d(x, w, b, y, g, "x", "y");
        Conv2dBackwardData(x, w, y, g);
        if (b is not null) AddChannelBias(y, b);
    }

    public void ConvTranspose2dBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g)
    {
        KernelContract.ConvTranspose2d(dx, w, null, dy, g, "dx", "dy");
        Conv2dForward(dy, w, null, dx, g, default(Identity<T>), default(Identity<T>));
    }

    public void ConvTranspose2dBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db, ConvGeometry g)
    {
        KernelContract.ConvTranspose2d(x, dw, db, dy, g, "x", "dy", "db");
        Conv2dBackwardFilter(x, dy, dw, null, g);
        if (db is not null) ChannelSums(dy, db);
    }

    private static void AddChannelBias(Tensor<T> y, Tensor<T> b)
    {
        int n = y.Shape[0], c = y.Shape[1], plane = y.Shape[2] * y.Shape[3];
        var ys = y.AsSpan(); var bs = b.AsSpan();
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++)
            {
                var row = ys.Slice((i * c + k) * plane, plane);
                T v = bs[k];
                int j = 0;
                var vv = Vector256.Create(v);
                for (; j <= plane - Vector256<T>.Count; j += Vector256<T>.Count)
                    (Vector256.Create((ReadOnlySpan<T>)row.Slice(j, Vector256<T>.Count)) + vv).CopyTo(row.Slice(j, Vector256<T>.Count));
                for (; j < plane; j++) row[j] += v;
            }
    }

    private static void ChannelSums(Tensor<T> dy, Tensor<T> db)
    {
        int n = dy.Shape[0], c = dy.Shape[1], plane = dy.Shape[2] * dy.Shape[3];
        var dys = dy.AsSpan(); var dbs = db.AsSpan();
        for (int k = 0; k < c; k++)
        {
            T s = T.Zero;
            for (int i = 0; i < n; i++) s += Sum(dys.Slice((i * c + k) * plane, plane));
            dbs[k] = s;
        }
    }

    // ------------------------------------------------------------------ adaptive average pooling
    /// <summary>PyTorch's adaptive window of output i: [⌊i·in/out⌋, ⌈(i+1)·in/out⌉).</summary>
    internal static (int Start, int End) AdaptiveWindow(int i, int input, int output) =>
        ((int)((long)i * input / output), (int)(((long)(i + 1) * input + output - 1) / output));

    public void AdaptiveAvgPool2dForward(Tensor<T> x, Tensor<T> y)
    {
        KernelContract.AdaptiveAvgPool2dForward(x, y);
        int planes = x.Shape[0] * x.Shape[1], h = x.Shape[2], w = x.Shape[3], oh = y.Shape[2], ow = y.Shape[3];
        Planes(planes, (long)planes * h * w, (x, y, h, w, oh, ow), static (s, lo, hi) =>
        {
            var (x, y, h, w, oh, ow) = s;
            var xs = x.AsSpan(); var ys = y.AsSpan();
            for (int pl = lo; pl < hi; pl++)
            {
                var xp = xs.Slice(pl * h * w, h * w);
                for (int i = 0; i < oh; i++)
                {
                    var (hs, he) = AdaptiveWindow(i, h, oh);
                    for (int j = 0; j < ow; j++)
                    {
                        var (ws, we) = AdaptiveWindow(j, w, ow);
                        T sum = T.Zero;
                        for (int a = hs; a < he; a++) sum += Sum(xp.Slice(a * w + ws, we - ws));
                        ys[(pl * oh + i) * ow + j] = sum / T.CreateChecked((he - hs) * (we - ws));
                    }
                }
            }
        });
    }

    public void AdaptiveAvgPool2dBackward(Tensor<T> dy, Tensor<T> dx)
    {
        KernelContract.AdaptiveAvgPool2dBackward(dy, dx);
        int planes = dx.Shape[0] * dx.Shape[1], h = dx.Shape[2], w = dx.Shape[3], oh = dy.Shape[2], ow = dy.Shape[3];
        Planes(planes, (long)planes * h * w, (dx, dy, h, w, oh, ow), static (s, lo, hi) =>
        {
            var (dx, dy, h, w, oh, ow) = s;
            var dxs = dx.AsSpan(); var dys = dy.AsSpan();
            for (int pl = lo; pl < hi; pl++)
            {
                var dxp = dxs.Slice(pl * h * w, h * w);
                dxp.Clear();
                for (int i = 0; i < oh; i++)
                {
                    var (hs, he) = AdaptiveWindow(i, h, oh);
                    for (int j = 0; j < ow; j++)
                    {
                        var (ws, we) = AdaptiveWindow(j, w, ow);
                        T v = dys[(pl * oh + i) * ow + j] / T.CreateChecked((he - hs) * (we - ws));
                        for (int a = hs; a < he; a++)
                            for (int b = ws; b < we; b++) dxp[a * w + b] += v;
                    }
                }
            }
        });
    }

    // ------------------------------------------------------------------ max unpooling
    public void MaxUnpool2dForward(Tensor<T> x, Tensor<int> argmax, Tensor<T> y)
    {
        KernelContract.MaxUnpool2d(x, argmax, y, "x", "y");
        int planes = x.Shape[0] * x.Shape[1], hw = y.Shape[2] * y.Shape[3], ohw = x.Shape[2] * x.Shape[3];
        var xs = x.AsSpan(); var am = argmax.AsSpan(); var ys = y.AsSpan();
        ys.Clear();
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < ohw; i++)
            {
                int idx = am[pl * ohw + i];
                if ((uint)idx >= (uint)hw) throw new ArgumentException($"argmax: index {idx} out of range for an output plane of {hw} elements", nameof(argmax));
                ys[pl * hw + idx] = xs[pl * ohw + i];
            }
    }

    public void MaxUnpool2dBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx)
    {
        KernelContract.MaxUnpool2d(dx, argmax, dy, "dx", "dy");
        int planes = dx.Shape[0] * dx.Shape[1], hw = dy.Shape[2] * dy.Shape[3], ohw = dx.Shape[2] * dx.Shape[3];
        var dxs = dx.AsSpan(); var am = argmax.AsSpan(); var dys = dy.AsSpan();
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < ohw; i++)
            {
                int idx = am[pl * ohw + i];
                if ((uint)idx >= (uint)hw) throw new ArgumentException($"argmax: index {idx} out of range for an output plane of {hw} elements", nameof(argmax));
                dxs[pl * ohw + i] = dys[pl * hw + idx];
            }
    }

    // ------------------------------------------------------------------ upsampling (F.interpolate semantics)
    /// <summary>Nearest: source index ⌊dst·in/out⌋ (exact in integers; PyTorch's float form agrees for integer scales).</summary>
    public void UpsampleNearest2dForward(Tensor<T> x, Tensor<T> y)
    {
        KernelContract.Upsample2d(x, y, "x", "y");
        int planes = x.Shape[0] * x.Shape[1], h = x.Shape[2], w = x.Shape[3], oh = y.Shape[2], ow = y.Shape[3];
        Planes(planes, (long)planes * oh * ow, (x, y, h, w, oh, ow), static (s, lo, hi) =>
        {
            var (x, y, h, w, oh, ow) = s;
            var xs = x.AsSpan(); var ys = y.AsSpan();
            for (int pl = lo; pl < hi; pl++)
                for (int i = 0; i < oh; i++)
                {
                    var src = xs.Slice((pl * h + NearestIndex(i, h, oh)) * w, w);
                    var dst = ys.Slice((pl * oh + i) * ow, ow);
                    for (int j = 0; j < ow; j++) dst[j] = src[NearestIndex(j, w, ow)];
                }
        });
    }

    public void UpsampleNearest2dBackward(Tensor<T> dy, Tensor<T> dx)
    {
        KernelContract.Upsample2d(dx, dy, "dx", "dy");
        int planes = dx.Shape[0] * dx.Shape[1], h = dx.Shape[2], w = dx.Shape[3], oh = dy.Shape[2], ow = dy.Shape[3];
        Planes(planes, (long)planes * oh * ow, (dx, dy, h, w, oh, ow), static (s, lo, hi) =>
        {
            var (dx, dy, h, w, oh, ow) = s;
            var dxs = dx.AsSpan(); var dys = dy.AsSpan();
            for (int pl = lo; pl < hi; pl++)
            {
                var dxp = dxs.Slice(pl * h * w, h * w);
                dxp.Clear();
                for (int i = 0; i < oh; i++)
                {
                    var dst = dxp.Slice(NearestIndex(i, h, oh) * w, w);
                    var src = dys.Slice((pl * oh + i) * ow, ow);
                    for (int j = 0; j < ow; j++) dst[NearestIndex(j, w, ow)] += src[j];
                }
            }
        });
    }

    internal static int NearestIndex(int dst, int input, int output) => Math.Min((int)((long)dst * input / output), input - 1);

    /// <summary>PyTorch's area_pixel_compute_source_index for linear modes: the two taps and the weight of the second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (int I0, int I1, T L1) LinearTaps(int dst, int input, int output, bool alignCorners)
    {
        T src;
        if (alignCorners) src = output > 1 ? T.CreateChecked(input - 1) / T.CreateChecked(output - 1) * T.CreateChecked(dst) : T.Zero;
        else
        {
            src = T.CreateChecked((double)input / output) * (T.CreateChecked(dst) + T.CreateChecked(0.5)) - T.CreateChecked(0.5);
            if (src < T.Zero) src = T.Zero;
        }
        int i0 = Math.Min(int.CreateTruncating(T.Floor(src)), input - 1);
        int i1 = i0 + (i0 < input - 1 ? 1 : 0);
        T l1 = T.Clamp(src - T.CreateChecked(i0), T.Zero, T.One);
        return (i0, i1, l1);
    }

    public void UpsampleBilinear2dForward(Tensor<T> x, Tensor<T> y, bool alignCorners)
    {
        KernelContract.Upsample2d(x, y, "x", "y");
        int planes = x.Shape[0] * x.Shape[1], h = x.Shape[2], w = x.Shape[3], oh = y.Shape[2], ow = y.Shape[3];
        Planes(planes, (long)planes * oh * ow * 4, (x, y, h, w, oh, ow, alignCorners), static (s, lo, hi) =>
        {
            var (x, y, h, w, oh, ow, ac) = s;
            var xs = x.AsSpan(); var ys = y.AsSpan();
            for (int pl = lo; pl < hi; pl++)
            {
                var xp = xs.Slice(pl * h * w, h * w);
                for (int i = 0; i < oh; i++)
                {
                    var (h0, h1, lh1) = LinearTaps(i, h, oh, ac);
                    T lh0 = T.One - lh1;
                    for (int j = 0; j < ow; j++)
                    {
                        var (w0, w1, lw1) = LinearTaps(j, w, ow, ac);
                        T lw0 = T.One - lw1;
                        ys[(pl * oh + i) * ow + j] = lh0 * (lw0 * xp[h0 * w + w0] + lw1 * xp[h0 * w + w1])
                                                   + lh1 * (lw0 * xp[h1 * w + w0] + lw1 * xp[h1 * w + w1]);
                    }
                }
            }
        });
    }

    public void UpsampleBilinear2dBackward(Tensor<T> dy, Tensor<T> dx, bool alignCorners)
    {
        KernelContract.Upsample2d(dx, dy, "dx", "dy");
        int planes = dx.Shape[0] * dx.Shape[1], h = dx.Shape[2], w = dx.Shape[3], oh = dy.Shape[2], ow = dy.Shape[3];
        Planes(planes, (long)planes * oh * ow * 4, (dx, dy, h, w, oh, ow, alignCorners), static (s, lo, hi) =>
        {
            var (dx, dy, h, w, oh, ow, ac) = s;
            var dxs = dx.AsSpan(); var dys = dy.AsSpan();
            for (int pl = lo; pl < hi; pl++)
            {
                var dxp = dxs.Slice(pl * h * w, h * w);
                dxp.Clear();
                for (int i = 0; i < oh; i++)
                {
                    var (h0, h1, lh1) = LinearTaps(i, h, oh, ac);
                    T lh0 = T.One - lh1;
                    for (int j = 0; j < ow; j++)
                    {
                        var (w0, w1, lw1) = LinearTaps(j, w, ow, ac);
                        T lw0 = T.One - lw1, g = dys[(pl * oh + i) * ow + j];
                        dxp[h0 * w + w0] += lh0 * lw0 * g;
                        dxp[h0 * w + w1] += lh0 * lw1 * g;
                        dxp[h1 * w + w0] += lh1 * lw0 * g;
                        dxp[h1 * w + w1] += lh1 * lw1 * g;
                    }
                }
            }
        });
    }
}
