using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The direct (implicit-GEMM) stride-1 convolution kernels against naive loops (with dilation and asymmetric padding) and
/// against the im2col path in the same process, forward (bias, relu epilogue), backward data and backward filter.
/// The AVX2 kernels run when AVX-512 is off: DOTNET_EnableAVX512=0 dotnet test --filter DirectConvTests.
/// </summary>
public class DirectConvTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, kh, kw, padH, padW, dilH, dilW, extraPadH, extraPadW
        [1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 0, 0],       // odd sizes, batch 1 (tiles split across cores)
        [3, 4, 11, 13, 10, 3, 3, 1, 1, 1, 1, 0, 0],    // K not a multiple of 8 (a partial panel)
        [3, 1, 28, 28, 6, 5, 5, 2, 2, 1, 1, 0, 0],     // LeNet conv1: C = 1, K = 6
        [3, 6, 14, 14, 16, 5, 5, 0, 0, 1, 1, 0, 0],    // LeNet conv2
        [2, 5, 9, 8, 7, 3, 3, 2, 2, 2, 2, 0, 0],       // dilation 2
        [2, 2, 9, 9, 3, 3, 3, 1, 0, 2, 1, 0, 0],       // mixed dilation and padding
        [2, 4, 6, 7, 9, 1, 1, 1, 1, 1, 1, 0, 0],       // padded 1×1: backward data crops (pad > dil·(k−1))
        [1, 3, 12, 10, 4, 7, 7, 3, 3, 1, 1, 0, 0],     // 7×7
        [3, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 0, 0],     // ResNet-20 stage 3 shape, small
        [2, 3, 5, 6, 3, 2, 3, 0, 1, 1, 1, 1, 0],       // even kernel, asymmetric ("same") padding
        [3, 2, 5, 5, 3, 3, 3, 0, 0, 1, 1, 0, 0],       // no padding, tiny image
        [1, 20, 17, 17, 33, 3, 3, 1, 1, 1, 1, 0, 0],   // batch 1, parallel over tiles, K = 33
        [3, 20, 32, 32, 24, 3, 3, 1, 1, 1, 1, 0, 0],   // parallel over images, weight-gradient image groups
        [5, 9, 4, 3, 17, 3, 3, 1, 1, 1, 1, 0, 0],      // Q smaller than one tile; strips of 4 images + 1
        [9, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0],       // strips of 8 images side by side + a strip of 1
        [4, 2, 5, 7, 3, 3, 3, 2, 0, 1, 1, 0, 2],       // asymmetric width padding (0 left, 2 right) in strips
    ];

    private static ConvGeometry G(int ph, int pw, int dh, int dw, int eh, int ew) =>
        new(1, 1, ph, pw, dh, dw) { ExtraPadH = eh, ExtraPadW = ew };

    [Theory, MemberData(nameof(Cases))]
    public void DirectPathApplies(int n, int c, int h, int w, int k, int kh, int kw, int ph, int pw, int dh, int dw, int eh, int ew)
    {
        if (!Vector256.IsHardwareAccelerated) return;   // the direct kernels need AVX-512 or AVX2; elsewhere the im2col path runs
        Assert.True(CpuKernels<float>.DirectConvApplies([n, c, h, w], [k, c, kh, kw], G(ph, pw, dh, dw, eh, ew)));
        Assert.True(CpuKernels<double>.DirectConvApplies([n, c, h, w], [k, c, kh, kw], G(ph, pw, dh, dw, eh, ew)));
        // strided and grouped convolutions keep the im2col path
        Assert.False(CpuKernels<float>.DirectConvApplies([n, c, h, w], [k, c, kh, kw], new ConvGeometry(2, 2, ph, pw, dh, dw)));
        Assert.False(CpuKernels<float>.DirectConvApplies([n, c, h, w], [k, c, 1, 1], new ConvGeometry(1, 1, 0, 0)));   // unpadded 1×1: x is the GEMM operand already
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesNaiveAndIm2col(int n, int c, int h, int w, int k, int kh, int kw, int ph, int pw, int dh, int dw, int eh, int ew)
    {
        var g = G(ph, pw, dh, dw, eh, ew);
        Check<double>(n, c, h, w, k, kh, kw, g, 1e-10);
        Check<float>(n, c, h, w, k, kh, kw, g, 1e-4);
    }

    private static void Check<T>(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(11 + n * 1000 + c * 100 + k * 7 + kh);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var b = TU.Rand<T>(rng, k);
        var dy = TU.Rand<T>(rng, n, k, oh, ow);
        var kern = CpuKernels<T>.Instance;
        double[] xd = TU.D(x), wd = TU.D(wt), bd = TU.D(b), dyd = TU.D(dy);

        // forward + bias, and forward + relu (no bias)
        var expected = Naive.Forward(xd, wd, bd, n, c, h, w, k, kh, kw, g);
        var y = TU.Empty<T>(rng, n, k, oh, ow);
        kern.Conv2dForward(x, wt, b, y, g, default(Identity<T>), default(Identity<T>));
        TU.Close(expected, y, tol, "direct conv+bias");
        var yRef = Im2col(() => { var t = TU.Empty<T>(rng, n, k, oh, ow); kern.Conv2dForward(x, wt, b, t, g, default(Identity<T>), default(Identity<T>)); return t; });
        TU.Close(TU.D(yRef), y, tol, "direct vs im2col conv+bias");
        var relu = Naive.Forward(xd, wd, null, n, c, h, w, k, kh, kw, g).Select(v => Math.Max(v, 0)).ToArray();
        kern.Conv2dForward(x, wt, null, y, g, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(relu, y, tol, "direct conv+relu");

        // backward data (overwrites dx)
        var dx = TU.Empty<T>(rng, n, c, h, w);
        kern.Conv2dBackwardData(dy, wt, dx, g);
        TU.Close(Naive.BackwardData(dyd, wd, n, c, h, w, k, kh, kw, g), dx, tol, "direct dx");
        var dxRef = Im2col(() => { var t = TU.Empty<T>(rng, n, c, h, w); kern.Conv2dBackwardData(dy, wt, t, g); return t; });
        TU.Close(TU.D(dxRef), dx, tol, "direct vs im2col dx");

        // backward filter (+ bias gradient), twice (scratch reuse), and without db
        var (edw, edb) = Naive.BackwardFilter(dyd, xd, n, c, h, w, k, kh, kw, g);
        var dW = TU.Empty<T>(rng, k, c, kh, kw); var db = TU.Empty<T>(rng, k);
        kern.Conv2dBackwardFilter(dy, x, dW, db, g);
        TU.Close(edw, dW, tol, "direct dw");
        TU.Close(edb, db, tol, "direct db");
        kern.Conv2dBackwardFilter(dy, x, dW, null, g);
        TU.Close(edw, dW, tol, "direct dw (second call)");
        var dwRef = Im2col(() => { var t = TU.Empty<T>(rng, k, c, kh, kw); kern.Conv2dBackwardFilter(dy, x, t, null, g); return t; });
        TU.Close(TU.D(dwRef), dW, tol, "direct vs im2col dw");
    }

    private static Tensor<T> Im2col<T>(Func<Tensor<T>> run) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CpuKernels<T>.t_forceIm2col = true;
        try { return run(); }
        finally { CpuKernels<T>.t_forceIm2col = false; }
    }

    [Fact]
    public void NonFiniteInputStaysInItsOutputs()
    {
        // the garbage columns of the padded-width layout must not leak: an infinity at the right edge of the image affects only
        // the outputs whose window covers it
        var g = new ConvGeometry(1, 1, 1, 1);
        var rng = new Random(3);
        var x = TU.Rand<float>(rng, 1, 2, 6, 6); var wt = TU.Rand<float>(rng, 3, 2, 3, 3);
        x.AsSpan()[5] = float.PositiveInfinity;   // x[0, 0, 0, 5]
        var y = TU.Empty<float>(rng, 1, 3, 6, 6);
        CpuKernels<float>.Instance.Conv2dForward(x, wt, null, y, g, default(Identity<float>), default(Identity<float>));
        var ys = y.AsSpan();
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                {
                    bool covered = i <= 1 && j >= 4;
                    Assert.True(covered || float.IsFinite(ys[(k * 6 + i) * 6 + j]), $"y[{k},{i},{j}] = {ys[(k * 6 + i) * 6 + j]}");
                }
    }

    /// <summary>Naive stride-1 convolution loops with dilation and top/left + bottom/right padding.</summary>
    private static class Naive
    {
        private static bool In(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g, int oh, int ow, int ci, int u, int v, out int ih, out int iw)
        {
            ih = oh - g.PadH + u * g.DilationH; iw = ow - g.PadW + v * g.DilationW;
            return ih >= 0 && ih < h && iw >= 0 && iw < w;
        }

        public static double[] Forward(double[] x, double[] wt, double[]? b, int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g)
        {
            int OH = g.OutH(h, kh), OW = g.OutW(w, kw);
            var y = new double[n * k * OH * OW];
            for (int i = 0; i < n; i++)
                for (int o = 0; o < k; o++)
                    for (int p = 0; p < OH; p++)
                        for (int q = 0; q < OW; q++)
                        {
                            double s = b?[o] ?? 0;
                            for (int ci = 0; ci < c; ci++)
                                for (int u = 0; u < kh; u++)
                                    for (int v = 0; v < kw; v++)
                                        if (In(n, c, h, w, k, kh, kw, g, p, q, ci, u, v, out int ih, out int iw))
                                            s += x[((i * c + ci) * h + ih) * w + iw] * wt[((o * c + ci) * kh + u) * kw + v];
                            y[((i * k + o) * OH + p) * OW + q] = s;
                        }
            return y;
        }

        public static double[] BackwardData(double[] dy, double[] wt, int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g)
        {
            int OH = g.OutH(h, kh), OW = g.OutW(w, kw);
            var dx = new double[n * c * h * w];
            for (int i = 0; i < n; i++)
                for (int o = 0; o < k; o++)
                    for (int p = 0; p < OH; p++)
                        for (int q = 0; q < OW; q++)
                            for (int ci = 0; ci < c; ci++)
                                for (int u = 0; u < kh; u++)
                                    for (int v = 0; v < kw; v++)
                                        if (In(n, c, h, w, k, kh, kw, g, p, q, ci, u, v, out int ih, out int iw))
                                            dx[((i * c + ci) * h + ih) * w + iw] += dy[((i * k + o) * OH + p) * OW + q] * wt[((o * c + ci) * kh + u) * kw + v];
            return dx;
        }

        public static (double[] dw, double[] db) BackwardFilter(double[] dy, double[] x, int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g)
        {
            int OH = g.OutH(h, kh), OW = g.OutW(w, kw);
            var dw = new double[k * c * kh * kw];
            var db = new double[k];
            for (int i = 0; i < n; i++)
                for (int o = 0; o < k; o++)
                    for (int p = 0; p < OH; p++)
                        for (int q = 0; q < OW; q++)
                        {
                            double d = dy[((i * k + o) * OH + p) * OW + q];
                            db[o] += d;
                            for (int ci = 0; ci < c; ci++)
                                for (int u = 0; u < kh; u++)
                                    for (int v = 0; v < kw; v++)
                                        if (In(n, c, h, w, k, kh, kw, g, p, q, ci, u, v, out int ih, out int iw))
                                            dw[((o * c + ci) * kh + u) * kw + v] += d * x[((i * c + ci) * h + ih) * w + iw];
                        }
            return (dw, db);
        }
    }
}
