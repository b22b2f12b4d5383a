using System.Numerics;

namespace NetDsl.Runtime.Tests;

public class ConvTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, kh, kw, strideH, strideW, padH, padW
        [3, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2],  // LeNet conv1 (parallel path, P > NC)
        [3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0],  // LeNet conv2
        [2, 3, 7, 9, 5, 3, 3, 2, 2, 1, 1],  // odd sizes, stride 2
        [2, 4, 5, 5, 7, 1, 1, 1, 1, 0, 0],  // 1×1 direct path
        [2, 4, 6, 5, 3, 1, 1, 2, 2, 0, 0],  // 1×1 strided (im2col path)
        [1, 3, 8, 6, 4, 3, 2, 2, 1, 0, 1],  // rectangular kernel, mixed strides/pads
        [2, 35, 9, 9, 13, 3, 3, 1, 1, 1, 1],  // CRS = 315 > KC: K blocking, M = CRS > MC in backward data
        [1, 2, 4, 4, 3, 3, 3, 3, 3, 2, 2],  // pad bigger than the stride leaves taps fully in padding
        [3, 20, 32, 32, 4, 3, 3, 1, 1, 1, 1],  // weight-gradient image groups of 2 (+1)
        [3, 64, 32, 32, 2, 3, 3, 1, 1, 1, 1],  // weight-gradient image groups of 1
        [3, 5, 9, 9, 4, 1, 1, 1, 1, 0, 0],     // 1×1 direct with padded rows (P = 81)
    ];

    private static ConvGeometry G(int sh, int sw, int ph, int pw) => new(sh, sw, ph, pw);

    [Theory, MemberData(nameof(Cases))]
    public void ForwardMatchesReference(int n, int c, int h, int w, int k, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        Forward<double>(n, c, h, w, k, kh, kw, G(sh, sw, ph, pw), 1e-12);
        Forward<float>(n, c, h, w, k, kh, kw, G(sh, sw, ph, pw), 2e-5);
    }

    private static void Forward<T>(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(n * 1000 + c * 100 + k);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var b = TU.Rand<T>(rng, k);
        var expected = Ref.Conv(TU.D(x), TU.D(wt), TU.D(b), n, c, h, w, k, kh, kw, g, out int oh, out int ow);
        var kern = CpuKernels<T>.Instance;
        var y = TU.Empty<T>(rng, n, k, oh, ow);
        kern.Conv2dForward(x, wt, b, y, g, default(Identity<T>), default(Identity<T>));
        TU.Close(expected, y, tol, "conv+bias");
        // fused relu epilogue, no bias
        var noBias = Ref.Conv(TU.D(x), TU.D(wt), null, n, c, h, w, k, kh, kw, g, out _, out _);
        kern.Conv2dForward(x, wt, null, y, g, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(noBias.Select(v => Math.Max(v, 0)).ToArray(), y, tol, "conv+relu");
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesReference(int n, int c, int h, int w, int k, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        Backward<double>(n, c, h, w, k, kh, kw, G(sh, sw, ph, pw), 1e-12);
        Backward<float>(n, c, h, w, k, kh, kw, G(sh, sw, ph, pw), 2e-5);
    }

    private static void Backward<T>(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(7 + n * 1000 + c * 100 + k);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var dy = TU.Rand<T>(rng, n, k, oh, ow);
        var kern = CpuKernels<T>.Instance;
        var dx = TU.Empty<T>(rng, n, c, h, w);
        kern.Conv2dBackwardData(dy, wt, dx, g);
        TU.Close(Ref.ConvBackwardData(TU.D(dy), TU.D(wt), n, c, h, w, k, kh, kw, g), dx, tol, "dx");
        var (edw, edb) = Ref.ConvBackwardFilter(TU.D(dy), TU.D(x), n, c, h, w, k, kh, kw, g);
        var dw = TU.Empty<T>(rng, k, c, kh, kw); var db = TU.Empty<T>(rng, k);
        kern.Conv2dBackwardFilter(dy, x, dw, db, g);
        TU.Close(edw, dw, tol, "dw");
        TU.Close(edb, db, tol, "db");
        // twice in a row (scratch reuse) and without db gives the same dw
        kern.Conv2dBackwardFilter(dy, x, dw, null, g);
        TU.Close(edw, dw, tol, "dw (second call)");
    }

    [Theory]
    [InlineData(2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1)]
    [InlineData(2, 2, 7, 7, 3, 3, 2, 2, 1, 1, 0)]
    [InlineData(3, 2, 4, 4, 5, 1, 1, 1, 1, 0, 0)]
    public void GradientsMatchFiniteDifferences(int n, int c, int h, int w, int k, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var g = G(sh, sw, ph, pw);
        var rng = new Random(42 + h);
        var kern = CpuKernels<double>.Instance;
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = TU.Rand<double>(rng, n, c, h, w); var wt = TU.Rand<double>(rng, k, c, kh, kw); var b = TU.Rand<double>(rng, k);
        var y = TU.Empty<double>(rng, n, k, oh, ow);
        var r = TU.RandArray(rng, y.Length);
        double[] Fwd() { kern.Conv2dForward(x, wt, b, y, g, default(Identity<double>), default(Identity<double>)); return TU.D(y); }
        var dy = TU.From<double>(rng, r, n, k, oh, ow);
        var dx = TU.Empty<double>(rng, n, c, h, w); var dw = TU.Empty<double>(rng, k, c, kh, kw); var db = TU.Empty<double>(rng, k);
        kern.Conv2dBackwardData(dy, wt, dx, g);
        kern.Conv2dBackwardFilter(dy, x, dw, db, g);
        TU.GradCheck(rng, x, Fwd, r, TU.D(dx));
        TU.GradCheck(rng, wt, Fwd, r, TU.D(dw));
        TU.GradCheck(rng, b, Fwd, r, TU.D(db));
    }

    [Fact]
    public void ShapeMismatchesThrowWithBothShapes()
    {
        var kern = CpuKernels<float>.Instance;
        var x = Tensor<float>.Zeros(2, 3, 8, 8); var w = Tensor<float>.Zeros(4, 3, 3, 3);
        var g = ConvGeometry.Of(1, 1);
        TU.ThrowsShapes(() => kern.Conv2dForward(x, w, null, Tensor<float>.Zeros(2, 4, 7, 8), g, default(Identity<float>), default(Identity<float>)), "[2, 4, 8, 8]", "[2, 4, 7, 8]");
        TU.ThrowsShapes(() => kern.Conv2dForward(x, Tensor<float>.Zeros(4, 2, 3, 3), null, Tensor<float>.Zeros(2, 4, 8, 8), g, default(Identity<float>), default(Identity<float>)), "[4, 3, 3, 3]", "[4, 2, 3, 3]");
        TU.ThrowsShapes(() => kern.Conv2dForward(x, w, Tensor<float>.Zeros(5), Tensor<float>.Zeros(2, 4, 8, 8), g, default(Identity<float>), default(Identity<float>)), "[4]", "[5]");
        TU.ThrowsShapes(() => kern.Conv2dBackwardData(Tensor<float>.Zeros(2, 4, 8, 7), w, x, g), "[2, 4, 8, 8]", "[2, 4, 8, 7]");
        TU.ThrowsShapes(() => kern.Conv2dBackwardFilter(Tensor<float>.Zeros(2, 4, 8, 8), x, w, Tensor<float>.Zeros(3), g), "[4]", "[3]");
        // groups are supported now (ConvPoolKernelTests); 3 groups do not divide 4 filters
        Assert.Contains("groups 3", Assert.Throws<ArgumentException>(() => kern.Conv2dForward(x, w, null, Tensor<float>.Zeros(2, 4, 8, 8), g with { Groups = 3 }, default(Identity<float>), default(Identity<float>))).Message);
    }
}
