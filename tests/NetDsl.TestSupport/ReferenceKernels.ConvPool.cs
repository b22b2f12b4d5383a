using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive loops for the conv/pool family, written from the definitions (PyTorch's ConvTranspose2d scatter, adaptive windows,
// F.interpolate's source indices), independent of CpuKernels and GpuKernels.
public sealed partial class ReferenceKernels<T>
{
    private static int TransposeOut(int h, int k, ConvGeometry g, bool rows) => rows
        ? (h - 1) * g.StrideH - g.PadH - g.PadBottom + g.DilationH * (k - 1) + 1
        : (h - 1) * g.StrideW - g.PadW - g.PadRight + g.DilationW * (k - 1) + 1;

    /// <summary>y[n, q·Cg + c, ih·s − p + u·d, iw·s − p + v·d] += x[n, k, ih, iw]·w[k, c, u, v] for k in group q.</summary>
    public void ConvTranspose2dForward(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g)
    {
        int N = x.Shape[0], Cin = x.Shape[1], H = x.Shape[2], W = x.Shape[3];
        int Cg = w.Shape[1], KH = w.Shape[2], KW = w.Shape[3], Cout = Cg * g.Groups, Kg = Cin / g.Groups;
        int OH = TransposeOut(H, KH, g, true), OW = TransposeOut(W, KW, g, false);
        y.CheckShape(nameof(y), [N, Cout, OH, OW]);
        var ys = y.AsSpan(); var xs = x.AsSpan(); var ws = w.AsSpan();
        for (int n = 0; n < N; n++)
        for (int c = 0; c < Cout; c++)
        for (int i = 0; i < OH * OW; i++) ys[(n * Cout + c) * OH * OW + i] = b is null ? T.Zero : b.AsSpan()[c];
        for (int n = 0; n < N; n++)
        for (int k = 0; k < Cin; k++)
        for (int ih = 0; ih < H; ih++)
        for (int iw = 0; iw < W; iw++)
        for (int c = 0; c < Cg; c++)
        for (int u = 0; u < KH; u++)
        for (int v = 0; v < KW; v++)
        {
            int oh = ih * g.StrideH - g.PadH + u * g.DilationH, ow = iw * g.StrideW - g.PadW + v * g.DilationW;
            if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
            int co = (k / Kg) * Cg + c;
            ys[((n * Cout + co) * OH + oh) * OW + ow] += xs[((n * Cin + k) * H + ih) * W + iw] * ws[((k * Cg + c) * KH + u) * KW + v];
        }
    }

    public void ConvTranspose2dBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g)
    {
        int N = dx.Shape[0], Cin = dx.Shape[1], H = dx.Shape[2], W = dx.Shape[3];
        int Cg = w.Shape[1], KH = w.Shape[2], KW = w.Shape[3], Cout = Cg * g.Groups, Kg = Cin / g.Groups;
        int OH = dy.Shape[2], OW = dy.Shape[3];
        var d = dx.AsSpan(); d.Clear();
        var dys = dy.AsSpan(); var ws = w.AsSpan();
        for (int n = 0; n < N; n++)
        for (int k = 0; k < Cin; k++)
        for (int ih = 0; ih < H; ih++)
        for (int iw = 0; iw < W; iw++)
        for (int c = 0; c < Cg; c++)
        for (int u = 0; u < KH; u++)
        for (int v = 0; v < KW; v++)
        {
            int oh = ih * g.StrideH - g.PadH + u * g.DilationH, ow = iw * g.StrideW - g.PadW + v * g.DilationW;
            if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
            int co = (k / Kg) * Cg + c;
            d[((n * Cin + k) * H + ih) * W + iw] += dys[((n * Cout + co) * OH + oh) * OW + ow] * ws[((k * Cg + c) * KH + u) * KW + v];
        }
    }

    public void ConvTranspose2dBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db, ConvGeometry g)
    {
        int N = x.Shape[0], Cin = x.Shape[1], H = x.Shape[2], W = x.Shape[3];
        int Cg = dw.Shape[1], KH = dw.Shape[2], KW = dw.Shape[3], Cout = Cg * g.Groups, Kg = Cin / g.Groups;
        int OH = dy.Shape[2], OW = dy.Shape[3];
        var dws = dw.AsSpan(); dws.Clear();
        var dys = dy.AsSpan(); var xs = x.AsSpan();
        for (int n = 0; n < N; n++)
        for (int k = 0; k < Cin; k++)
        for (int ih = 0; ih < H; ih++)
        for (int iw = 0; iw < W; iw++)
        for (int c = 0; c < Cg; c++)
        for (int u = 0; u < KH; u++)
        for (int v = 0; v < KW; v++)
        {
            int oh = ih * g.StrideH - g.PadH + u * g.DilationH, ow = iw * g.StrideW - g.PadW + v * g.DilationW;
            if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
            int co = (k / Kg) * Cg + c;
            dws[((k * Cg + c) * KH + u) * KW + v] += dys[((n * Cout + co) * OH + oh) * OW + ow] * xs[((n * Cin + k) * H + ih) * W + iw];
        }
        if (db is not null)
        {
            var dbs = db.AsSpan(); dbs.Clear();
            for (int n = 0; n < N; n++)
            for (int c = 0; c < Cout; c++)
            for (int i = 0; i < OH * OW; i++) dbs[c] += dys[(n * Cout + c) * OH * OW + i];
        }
    }

    private static (int, int) Window(int i, int input, int output) =>
        ((int)Math.Floor((double)i * input / output), (int)Math.Ceiling((double)(i + 1) * input / output));

    public void AdaptiveAvgPool2dForward(Tensor<T> x, Tensor<T> y)
    {
        int P = x.Shape[0] * x.Shape[1], H = x.Shape[2], W = x.Shape[3], OH = y.Shape[2], OW = y.Shape[3];
        for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            var (hs, he) = Window(oh, H, OH); var (ws, we) = Window(ow, W, OW);
            T s = T.Zero;
            for (int i = hs; i < he; i++) for (int j = ws; j < we; j++) s += x.AsSpan()[(p * H + i) * W + j];
            y.AsSpan()[(p * OH + oh) * OW + ow] = s / C((he - hs) * (we - ws));
        }
    }

    public void AdaptiveAvgPool2dBackward(Tensor<T> dy, Tensor<T> dx)
    {
        int P = dx.Shape[0] * dx.Shape[1], H = dx.Shape[2], W = dx.Shape[3], OH = dy.Shape[2], OW = dy.Shape[3];
        dx.AsSpan().Clear();
        for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            var (hs, he) = Window(oh, H, OH); var (ws, we) = Window(ow, W, OW);
            for (int i = hs; i < he; i++) for (int j = ws; j < we; j++)
                dx.AsSpan()[(p * H + i) * W + j] += dy.AsSpan()[(p * OH + oh) * OW + ow] / C((he - hs) * (we - ws));
        }
    }

    public void MaxUnpool2dForward(Tensor<T> x, Tensor<int> argmax, Tensor<T> y)
    {
        int P = x.Shape[0] * x.Shape[1], OHW = x.Shape[2] * x.Shape[3], HW = y.Shape[2] * y.Shape[3];
        y.AsSpan().Clear();
        for (int p = 0; p < P; p++)
        for (int i = 0; i < OHW; i++) y.AsSpan()[p * HW + argmax.AsSpan()[p * OHW + i]] = x.AsSpan()[p * OHW + i];
    }

    public void MaxUnpool2dBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx)
    {
        int P = dx.Shape[0] * dx.Shape[1], OHW = dx.Shape[2] * dx.Shape[3], HW = dy.Shape[2] * dy.Shape[3];
        for (int p = 0; p < P; p++)
        for (int i = 0; i < OHW; i++) dx.AsSpan()[p * OHW + i] = dy.AsSpan()[p * HW + argmax.AsSpan()[p * OHW + i]];
    }

    private static int Nearest(int dst, int input, int output) => Math.Min((int)Math.Floor((double)dst * input / output), input - 1);

    public void UpsampleNearest2dForward(Tensor<T> x, Tensor<T> y)
    {
        int P = x.Shape[0] * x.Shape[1], H = x.Shape[2], W = x.Shape[3], OH = y.Shape[2], OW = y.Shape[3];
        for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
            y.AsSpan()[(p * OH + oh) * OW + ow] = x.AsSpan()[(p * H + Nearest(oh, H, OH)) * W + Nearest(ow, W, OW)];
    }

    public void UpsampleNearest2dBackward(Tensor<T> dy, Tensor<T> dx)
    {
        int P = dx.Shape[0] * dx.Shape[1], H = dx.Shape[2], W = dx.Shape[3], OH = dy.Shape[2], OW = dy.Shape[3];
        dx.AsSpan().Clear();
        for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
            dx.AsSpan()[(p * H + Nearest(oh, H, OH)) * W + Nearest(ow, W, OW)] += dy.AsSpan()[(p * OH + oh) * OW + ow];
    }

    /// <summary>F.interpolate(mode="bilinear")'s source coordinate, in double.</summary>
    private static (int, int, double) Taps(int dst, int input, int output, bool alignCorners)
    {
        double src = alignCorners ? (output > 1 ? dst * (input - 1.0) / (output - 1) : 0) : Math.Max(0, (dst + 0.5) * input / output - 0.5);
        int i0 = Math.Min((int)Math.Floor(src), input - 1);
        return (i0, Math.Min(i0 + 1, input - 1), src - i0);
    }

    public void UpsampleBilinear2dForward(Tensor<T> x, Tensor<T> y, bool alignCorners)
    {
        int P = x.Shape[0] * x.Shape[1], H = x.Shape[2], W = x.Shape[3], OH = y.Shape[2], OW = y.Shape[3];
        for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            var (h0, h1, lh) = Taps(oh, H, OH, alignCorners); var (w0, w1, lw) = Taps(ow, W, OW, alignCorners);
            double v = 0;
            v += (1 - lh) * (1 - lw) * double.CreateChecked(x.AsSpan()[(p * H + h0) * W + w0]);
            v += (1 - lh) * lw * double.CreateChecked(x.AsSpan()[(p * H + h0) * W + w1]);
            v += lh * (1 - lw) * double.CreateChecked(x.AsSpan()[(p * H + h1) * W + w0]);
            v += lh * lw * double.CreateChecked(x.AsSpan()[(p * H + h1) * W + w1]);
            y.AsSpan()[(p * OH + oh) * OW + ow] = C(v);
        }
    }

    public void UpsampleBilinear2dBackward(Tensor<T> dy, Tensor<T> dx, bool alignCorners)
    {
        int P = dx.Shape[0] * dx.Shape[1], H = dx.Shape[2], W = dx.Shape[3], OH = dy.Shape[2], OW = dy.Shape[3];
        var acc = new double[dx.Length];
        for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            var (h0, h1, lh) = Taps(oh, H, OH, alignCorners); var (w0, w1, lw) = Taps(ow, W, OW, alignCorners);
            double gy = double.CreateChecked(dy.AsSpan()[(p * OH + oh) * OW + ow]);
            acc[(p * H + h0) * W + w0] += (1 - lh) * (1 - lw) * gy;
            acc[(p * H + h0) * W + w1] += (1 - lh) * lw * gy;
            acc[(p * H + h1) * W + w0] += lh * (1 - lw) * gy;
            acc[(p * H + h1) * W + w1] += lh * lw * gy;
        }
        for (int i = 0; i < acc.Length; i++) dx.AsSpan()[i] = C(acc[i]);
    }
}
