using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// Strided convolutions on the direct kernels (their stride phases as a stride-1 convolution, CpuKernels.DirectConvStrided.cs):
/// forward (bias, relu epilogue) and backward filter against naive strided loops and against the im2col path in the same
/// process. Widths of 16 and more with an odd or even left padding hit the vectorized stride-2 phase split (float, AVX-512);
/// double and narrow images the scalar one. The AVX2 kernels run with DOTNET_EnableAVX512=0.
/// </summary>
public class DirectConvStridedTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, kh, kw, sh, sw, padH, padW, extraPadH, extraPadW
        [3, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1, 0, 0],    // ResNet-20 stage 2 entry
        [2, 32, 16, 16, 64, 3, 3, 2, 2, 1, 1, 0, 0],    // ResNet-20 stage 3 entry
        [1, 3, 23, 21, 8, 7, 7, 2, 2, 3, 3, 0, 0],      // ResNet-50 stem shape, odd sizes, batch 1
        [2, 5, 9, 8, 7, 3, 3, 2, 2, 1, 1, -1, 0],       // odd height, cropped bottom ("same" padding of an even image)
        [3, 4, 33, 34, 10, 3, 3, 2, 2, 0, 0, 0, 1],     // no top/left padding (even phase first), wide rows + remainder
        [2, 3, 17, 35, 5, 3, 3, 2, 2, 2, 2, 0, 0],      // padding 2: both column phases start past zero
        [2, 2, 11, 12, 3, 3, 2, 3, 2, 1, 0, 0, 0],      // stride 3 × 2, even kernel width
        [9, 3, 8, 8, 4, 3, 3, 2, 2, 1, 1, 0, 0],        // tiny planes: strips of several images
        [2, 6, 10, 10, 9, 2, 2, 2, 2, 0, 0, 0, 0],      // 2×2 stride 2 (one tap per phase)
        [2, 20, 18, 40, 6, 5, 5, 1, 2, 2, 2, 0, 0],     // stride 1 × 2, K = 6 (6-row tiles), wide rows
    ];

    private static ConvGeometry G(int sh, int sw, int ph, int pw, int eh, int ew) => new(sh, sw, ph, pw) { ExtraPadH = eh, ExtraPadW = ew };

    [Theory, MemberData(nameof(Cases))]
    public void MatchesNaiveAndIm2col(int n, int c, int h, int w, int k, int kh, int kw, int sh, int sw, int ph, int pw, int eh, int ew)
    {
        var g = G(sh, sw, ph, pw, eh, ew);
        Check<double>(n, c, h, w, k, kh, kw, g, 1e-10);
        Check<float>(n, c, h, w, k, kh, kw, g, 1e-4);
    }

    private static void Check<T>(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(5 + n * 1000 + c * 100 + k * 7 + kh + w);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var b = TU.Rand<T>(rng, k);
        var dy = TU.Rand<T>(rng, n, k, oh, ow);
        var kern = CpuKernels<T>.Instance;
        double[] xd = TU.D(x), wd = TU.D(wt), bd = TU.D(b), dyd = TU.D(dy);

        var y = TU.Empty<T>(rng, n, k, oh, ow);
        kern.Conv2dForward(x, wt, b, y, g, default(Identity<T>), default(Identity<T>));
        TU.Close(Forward(xd, wd, bd, n, c, h, w, k, kh, kw, g), y, tol, "strided conv+bias");
        var yRef = Im2col(() => { var t = TU.Empty<T>(rng, n, k, oh, ow); kern.Conv2dForward(x, wt, b, t, g, default(Identity<T>), default(Identity<T>)); return t; });
        TU.Close(TU.D(yRef), y, tol, "strided direct vs im2col conv+bias");
        kern.Conv2dForward(x, wt, null, y, g, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(Forward(xd, wd, null, n, c, h, w, k, kh, kw, g).Select(v => Math.Max(v, 0)).ToArray(), y, tol, "strided conv+relu");

        var (edw, edb) = BackwardFilter(dyd, xd, n, c, h, w, k, kh, kw, g);
        var dW = TU.Empty<T>(rng, k, c, kh, kw); var db = TU.Empty<T>(rng, k);
        kern.Conv2dBackwardFilter(dy, x, dW, db, g);
        TU.Close(edw, dW, tol, "strided dw");
        TU.Close(edb, db, tol, "strided db");
        kern.Conv2dBackwardFilter(dy, x, dW, null, g);
        TU.Close(edw, dW, tol, "strided dw (second call)");
        var dwRef = Im2col(() => { var t = TU.Empty<T>(rng, k, c, kh, kw); kern.Conv2dBackwardFilter(dy, x, t, null, g); return t; });
        TU.Close(TU.D(dwRef), dW, tol, "strided direct vs im2col dw");
    }

    [Fact]
    public void StridedCasesTakeTheDirectPath()
    {
        if (!Vector256.IsHardwareAccelerated) return;
        foreach (var cs in Cases)
        {
            int[] a = cs.Cast<int>().ToArray();
            var g = G(a[7], a[8], a[9], a[10], a[11], a[12]);
            Assert.True(CpuKernels<float>.DirectStridedApplies([a[0], a[1], a[2], a[3]], [a[4], a[1], a[5], a[6]], g), string.Join(",", a));
        }
        // dilated strided and grouped convolutions keep im2col
        Assert.False(CpuKernels<float>.DirectStridedApplies([2, 4, 16, 16], [4, 4, 3, 3], new ConvGeometry(2, 2, 1, 1, 2, 2)));
        Assert.False(CpuKernels<float>.DirectStridedApplies([2, 4, 16, 16], [4, 2, 3, 3], new ConvGeometry(2, 2, 1, 1, 1, 1, 2)));
        // a strided 1×1 convolution is a GEMM on the subsampled image; the forward of large weights keeps the blocked GEMM
        Assert.False(CpuKernels<float>.DirectStridedApplies([2, 16, 32, 32], [32, 16, 1, 1], new ConvGeometry(2, 2, 0, 0)));
        Assert.False(CpuKernels<float>.DirectStridedApplies([1, 128, 56, 56], [128, 128, 3, 3], new ConvGeometry(2, 2, 1, 1)));
    }

    [Theory]
    [InlineData(2, 300, 6, 7, 9, 1)]   // C·9 = 2700 taps, past the forward's limit: only the weight gradient is direct
    [InlineData(2, 300, 9, 8, 5, 2)]   // the same, strided
    public void WideWeightGradientMatchesIm2col(int n, int c, int h, int w, int k, int stride)
    {
        var g = ConvGeometry.Of(stride, 1);
        if (Vector256.IsHardwareAccelerated)
        {
            Assert.True(CpuKernels<float>.DirectFilterApplies([n, c, h, w], [k, c, 3, 3], g));
            Assert.False(CpuKernels<float>.DirectConvApplies([n, c, h, w], [k, c, 3, 3], g));
        }
        var rng = new Random(c + stride);
        int oh = g.OutH(h, 3), ow = g.OutW(w, 3);
        foreach (var tol in new[] { 1e-10, 1e-3 })
        {
            if (tol > 1e-6) Wide<float>(); else Wide<double>();
            void Wide<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
            {
                var x = TU.Rand<T>(rng, n, c, h, w); var dy = TU.Rand<T>(rng, n, k, oh, ow);
                var dW = TU.Empty<T>(rng, k, c, 3, 3);
                CpuKernels<T>.Instance.Conv2dBackwardFilter(dy, x, dW, null, g);
                TU.Close(BackwardFilter(TU.D(dy), TU.D(x), n, c, h, w, k, 3, 3, g).dw, dW, tol, "wide dw");
                var dwRef = Im2col(() => { var t = TU.Empty<T>(rng, k, c, 3, 3); CpuKernels<T>.Instance.Conv2dBackwardFilter(dy, x, t, null, g); return t; });
                TU.Close(TU.D(dwRef), dW, tol, "wide direct vs im2col dw");
            }
        }
    }

    private static Tensor<T> Im2col<T>(Func<Tensor<T>> run) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CpuKernels<T>.t_forceIm2col = true;
        try { return run(); }
        finally { CpuKernels<T>.t_forceIm2col = false; }
    }

    private static bool In(int h, int w, ConvGeometry g, int oh, int ow, int u, int v, out int ih, out int iw)
    {
        ih = oh * g.StrideH - g.PadH + u; iw = ow * g.StrideW - g.PadW + v;
        return ih >= 0 && ih < h && iw >= 0 && iw < w;
    }

    private static double[] Forward(double[] x, double[] wt, double[]? b, int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g)
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
                                    if (In(h, w, g, p, q, u, v, out int ih, out int iw))
                                        s += x[((i * c + ci) * h + ih) * w + iw] * wt[((o * c + ci) * kh + u) * kw + v];
                        y[((i * k + o) * OH + p) * OW + q] = s;
                    }
        return y;
    }

    private static (double[] dw, double[] db) BackwardFilter(double[] dy, double[] x, int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g)
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
                                    if (In(h, w, g, p, q, u, v, out int ih, out int iw))
                                        dw[((o * c + ci) * kh + u) * kw + v] += d * x[((i * c + ci) * h + ih) * w + iw];
                    }
        return (dw, db);
    }
}
