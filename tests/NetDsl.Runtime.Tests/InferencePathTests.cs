using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>The batch-1 inference paths against the naive references: the matrix-vector kernel of linear layers with few
/// rows, and convolutions with fewer images than cores split inside each image.</summary>
public class InferencePathTests
{
    [Theory]
    [InlineData(1, 784, 1024)]    // MLP fc1 at batch 1: parallel by output blocks
    [InlineData(1, 1024, 10)]     // O not a multiple of 4
    [InlineData(2, 17, 7)]        // K below one vector: scalar tail only
    [InlineData(3, 400, 121)]
    [InlineData(4, 33, 1027)]     // the last row count on the matrix-vector path, parallel
    [InlineData(1, 1, 1)]
    public void SmallBatchLinearMatchesReference(int m, int k, int o)
    {
        Assert.True(m <= CpuKernels<float>.GemvMaxRows);
        Linear<double>(m, k, o, 1e-12);
        Linear<float>(m, k, o, 2e-5);
    }

    private static void Linear<T>(int m, int k, int o, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(m * 131 + k * 17 + o);
        var kern = CpuKernels<T>.Instance;
        var x = TU.Rand<T>(rng, m, k); var w = TU.Rand<T>(rng, o, k); var b = TU.Rand<T>(rng, o);
        var e = Ref.MatMul(TU.D(x), TU.D(w), m, k, o, transB: true);
        var y = TU.Empty<T>(rng, m, o);
        kern.LinearForward(x, w, null, y, default(Identity<T>), default(Identity<T>));
        TU.Close(e, y, tol, "linear, no bias");
        var bd = TU.D(b);
        for (int i = 0; i < m; i++) for (int j = 0; j < o; j++) e[i * o + j] += bd[j];
        kern.LinearForward(x, w, b, y, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(e.Select(v => Math.Max(v, 0)).ToArray(), y, tol, "linear+bias+relu");
        // a sequence input [N, T, K] with N·T ≤ 4 rows takes the same path
        var x3 = Tensor<T>.FromArray(x.AsSpan().ToArray(), 1, m, k);
        var y3 = TU.Empty<T>(rng, 1, m, o);
        kern.LinearForward(x3, w, b, y3, default(Identity<T>), default(Identity<T>));
        TU.Close(e, y3, tol, "linear [1, T, K]");
    }

    [Theory]
    // n, c, h, w, k, kh, kw, stride, pad: work above the parallel threshold with a single image
    [InlineData(1, 3, 96, 96, 16, 7, 7, 2, 3)]     // ResNet-50's stem shape (7×7 stride 2), scaled down: im2col rows and pixel columns split
    [InlineData(1, 64, 14, 14, 256, 1, 1, 1, 0)]   // 1×1 expand: no im2col, split by output channels
    [InlineData(1, 128, 14, 14, 64, 3, 3, 2, 1)]   // strided 3×3
    [InlineData(1, 256, 8, 8, 512, 1, 1, 2, 0)]    // strided 1×1 projection shortcut
    public void SingleImageConvMatchesReference(int n, int c, int h, int w, int k, int kh, int kw, int s, int p)
    {
        Conv<double>(n, c, h, w, k, kh, kw, new ConvGeometry(s, s, p, p), 1e-12);
        Conv<float>(n, c, h, w, k, kh, kw, new ConvGeometry(s, s, p, p), 5e-5);
    }

    private static void Conv<T>(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(c * 100 + k);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var b = TU.Rand<T>(rng, k);
        var expected = Ref.Conv(TU.D(x), TU.D(wt), TU.D(b), n, c, h, w, k, kh, kw, g, out int oh, out int ow);
        Assert.True((long)k * c * kh * kw * oh * ow >= CpuKernels<T>.ParallelThreshold, "the case must be big enough to split");
        var kern = CpuKernels<T>.Instance;
        var y = TU.Empty<T>(rng, n, k, oh, ow);
        kern.Conv2dForward(x, wt, b, y, g, default(Identity<T>), default(Identity<T>));
        TU.Close(expected, y, tol, "conv+bias");
        kern.Conv2dForward(x, wt, b, y, g, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(expected.Select(v => Math.Max(v, 0)).ToArray(), y, tol, "conv+bias+relu");
    }

    [Theory]
    [InlineData(6, 1, 5, 5, true)]        // LeNet-5 conv1: one thread
    [InlineData(512, 512, 3, 3, false)]   // ResNet-50 layer4 3×3 (2.4M weights): split across cores
    [InlineData(10, 84, 1, 1, true)]      // a linear layer's [O, K]
    public void FoldBatchNormMatchesReference(int k, int c, int kh, int kw, bool bias)
    {
        Fold<double>(k, c, kh, kw, bias, 1e-12);
        Fold<float>(k, c, kh, kw, bias, 1e-5);
    }

    private static void Fold<T>(int k, int c, int kh, int kw, bool bias, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(k + c);
        var w = TU.Rand<T>(rng, k, c, kh, kw); var b = bias ? TU.Rand<T>(rng, k) : null;
        var gamma = TU.Rand<T>(rng, k); var beta = TU.Rand<T>(rng, k); var mean = TU.Rand<T>(rng, k);
        var var_ = TU.From<T>(rng, TU.RandArray(rng, k).Select(v => Math.Abs(v) + 0.1).ToArray(), k);
        var wOut = TU.Empty<T>(rng, k, c, kh, kw); var bOut = TU.Empty<T>(rng, k);
        CpuKernels<T>.Instance.FoldBatchNorm(w, b, gamma, beta, mean, var_, T.CreateChecked(1e-5), wOut, bOut);
        double[] wd = TU.D(w), g = TU.D(gamma), be = TU.D(beta), mu = TU.D(mean), vd = TU.D(var_);
        double[] bd = b is null ? new double[k] : TU.D(b);
        int inner = c * kh * kw;
        var ew = new double[wd.Length]; var eb = new double[k];
        for (int o = 0; o < k; o++)
        {
            double s = g[o] / Math.Sqrt(vd[o] + 1e-5);
            for (int i = 0; i < inner; i++) ew[o * inner + i] = wd[o * inner + i] * s;
            eb[o] = (bd[o] - mu[o]) * s + be[o];
        }
        TU.Close(ew, wOut, tol, "folded weights");
        TU.Close(eb, bOut, tol, "folded bias");
    }
}
