using System.Numerics;

namespace NetDsl.Runtime.Tests;

public class PoolTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, kernelH, kernelW, strideH, strideW, padH, padW
        [4, 6, 28, 28, 2, 2, 2, 2, 0, 0],   // LeNet pool1
        [2, 3, 7, 9, 3, 3, 2, 2, 1, 1],     // odd sizes with padding
        [1, 2, 5, 6, 3, 2, 1, 2, 1, 0],     // rectangular window
        [2, 2, 6, 6, 3, 3, 3, 3, 1, 1],     // padding in the divisor on both borders
        [3, 64, 32, 32, 3, 3, 2, 2, 1, 1],  // large: parallel planes
        [64, 16, 10, 10, 2, 2, 2, 2, 0, 0], // LeNet pool2: rows narrower than a vector, parallel planes
        [5, 7, 11, 13, 2, 2, 2, 2, 0, 0],   // odd sizes: the last row and column are dropped
        [1, 3, 57, 56, 3, 3, 2, 2, 1, 1],   // ResNet-50's 3×3/2 pad 1 (smaller): vectorized interior columns + scalar borders
        [2, 3, 20, 37, 3, 3, 1, 1, 1, 1],   // 3×3 stride 1: vectorized interior columns, odd width
        [2, 2, 9, 45, 2, 3, 2, 2, 0, 1],    // window 2×3 stride 2, several vector chunks per row
    ];

    private static PoolGeometry G(int kh, int kw, int sh, int sw, int ph, int pw) => new(kh, kw, sh, sw, ph, pw);

    [Theory, MemberData(nameof(Cases))]
    public void MaxPoolMatchesReference(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        MaxPool<double>(n, c, h, w, G(kh, kw, sh, sw, ph, pw));
        MaxPool<float>(n, c, h, w, G(kh, kw, sh, sw, ph, pw));
    }

    private static void MaxPool<T>(int n, int c, int h, int w, PoolGeometry g) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(h * w + c);
        var kern = CpuKernels<T>.Instance;
        var x = TU.Rand<T>(rng, n, c, h, w);
        var (ey, earg) = Ref.MaxPool(TU.D(x), n, c, h, w, g);
        int oh = g.OutH(h), ow = g.OutW(w);
        var y = TU.Empty<T>(rng, n, c, oh, ow);
        var arg = Tensor<int>.Zeros(n, c, oh, ow);
        kern.MaxPool2dForward(x, y, arg, g);
        TU.Close(ey, y, 0, "maxpool y");
        Assert.Equal(earg, arg.AsSpan().ToArray());
        var dy = TU.Rand<T>(rng, n, c, oh, ow); var dyd = TU.D(dy);
        var dx = TU.Empty<T>(rng, n, c, h, w);
        kern.MaxPool2dBackward(dy, arg, dx);
        var edx = new double[dx.Length];
        for (int i = 0; i < dyd.Length; i++) edx[i / (oh * ow) * h * w + earg[i]] += dyd[i];
        TU.Close(edx, dx, 1e-6, "maxpool dx");
    }

    [Theory, MemberData(nameof(Cases))]
    public void AvgPoolMatchesReference(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        AvgPool<double>(n, c, h, w, G(kh, kw, sh, sw, ph, pw), 1e-14);
        AvgPool<float>(n, c, h, w, G(kh, kw, sh, sw, ph, pw), 1e-6);
    }

    private static void AvgPool<T>(int n, int c, int h, int w, PoolGeometry g, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(h * w + c + 1);
        var kern = CpuKernels<T>.Instance;
        var x = TU.Rand<T>(rng, n, c, h, w);
        int oh = g.OutH(h), ow = g.OutW(w);
        var y = TU.Empty<T>(rng, n, c, oh, ow);
        kern.AvgPool2dForward(x, y, g);
        TU.Close(Ref.AvgPool(TU.D(x), n, c, h, w, g), y, tol, "avgpool y");
        // backward is the adjoint of forward: <dy, A x> = <Aᵀ dy, x>
        var dy = TU.Rand<T>(rng, n, c, oh, ow);
        var dx = TU.Empty<T>(rng, n, c, h, w);
        kern.AvgPool2dBackward(dy, dx, g);
        TU.CheckGuards(dx);
        Assert.Equal(TU.Dot(TU.D(dy), TU.D(y)), TU.Dot(TU.D(dx), TU.D(x)), tol * 1e3 * y.Length);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(5);
        var kern = CpuKernels<double>.Instance;
        foreach (var g in new[] { G(3, 3, 2, 2, 1, 1), G(2, 3, 1, 2, 0, 1) })
        {
            int n = 2, c = 3, h = 7, w = 6, oh = g.OutH(h), ow = g.OutW(w);
            var x = TU.Rand<double>(rng, n, c, h, w);
            var y = TU.Empty<double>(rng, n, c, oh, ow);
            var arg = Tensor<int>.Zeros(n, c, oh, ow);
            var r = TU.RandArray(rng, y.Length);
            var dy = TU.From<double>(rng, r, n, c, oh, ow);
            var dx = TU.Empty<double>(rng, n, c, h, w);

            kern.MaxPool2dForward(x, y, arg, g);
            kern.MaxPool2dBackward(dy, arg, dx);
            TU.GradCheck(rng, x, () => { kern.MaxPool2dForward(x, y, arg, g); return TU.D(y); }, r, TU.D(dx));

            kern.AvgPool2dBackward(dy, dx, g);
            TU.GradCheck(rng, x, () => { kern.AvgPool2dForward(x, y, g); return TU.D(y); }, r, TU.D(dx));
        }
        {
            var x = TU.Rand<double>(rng, 3, 4, 5, 3);
            var y = TU.Empty<double>(rng, 3, 4);
            var r = TU.RandArray(rng, 12);
            var dx = TU.Empty<double>(rng, 3, 4, 5, 3);
            kern.GlobalAvgPoolBackward(TU.From<double>(rng, r, 3, 4), dx);
            TU.GradCheck(rng, x, () => { kern.GlobalAvgPoolForward(x, y); return TU.D(y); }, r, TU.D(dx));
        }
    }

    [Fact]
    public void GlobalAvgPoolMatchesReferenceFloatAndDouble()
    {
        GlobalAvg<double>(1e-14);
        GlobalAvg<float>(1e-6);
    }

    private static void GlobalAvg<T>(double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(9);
        var kern = CpuKernels<T>.Instance;
        int n = 3, c = 5, h = 7, w = 3;
        var x = TU.Rand<T>(rng, n, c, h, w); var xd = TU.D(x);
        var y = TU.Empty<T>(rng, n, c);
        kern.GlobalAvgPoolForward(x, y);
        var e = new double[n * c];
        for (int p = 0; p < n * c; p++) { for (int i = 0; i < h * w; i++) e[p] += xd[p * h * w + i]; e[p] /= h * w; }
        TU.Close(e, y, tol, "gap");
        var dy = TU.Rand<T>(rng, n, c); var dyd = TU.D(dy);
        var dx = TU.Empty<T>(rng, n, c, h, w);
        kern.GlobalAvgPoolBackward(dy, dx);
        TU.Close(Enumerable.Range(0, n * c * h * w).Select(i => dyd[i / (h * w)] / (h * w)).ToArray(), dx, tol, "gap dx");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void MaxPoolVectorRowsKeepTheFirstMaxAndPropagateNaN(int stride)
    {
        // ties (values from {0, 1, 2}), an all -inf window and NaNs inside the vectorized interior columns, against the reference
        int n = 1, c = 2, h = 9, w = 48;
        var g = new PoolGeometry(3, 3, stride, stride, 1, 1);
        var rng = new Random(stride);
        var xd = Enumerable.Range(0, n * c * h * w).Select(_ => (double)rng.Next(3)).ToArray();
        for (int j = 20; j < 26; j++) for (int i = 0; i < 3; i++) xd[i * w + j] = double.NegativeInfinity;
        var (ey, earg) = Ref.MaxPool(xd, n, c, h, w, g);
        var (y, arg) = Pool(xd);
        Assert.Equal(ey, y.Select(v => (double)v).ToArray());
        Assert.Equal(earg, arg);
        // NaN: the scalar loop's semantics (NaN propagates, its first index) are the oracle, run in the same process
        xd[h * w + 4 * w + 30] = double.NaN; xd[h * w + 4 * w + 31] = double.NaN;   // plane 1, row 4
        (y, arg) = Pool(xd);
        float[] sy; int[] sarg;
        CpuKernels<float>.MaxPoolVectorOn = false;
        try { (sy, sarg) = Pool(xd); }
        finally { CpuKernels<float>.MaxPoolVectorOn = true; }
        Assert.Contains(sy, float.IsNaN);
        Assert.Equal(sy, y);   // xunit compares NaN as equal to NaN
        Assert.Equal(sarg, arg);

        (float[] y, int[] arg) Pool(double[] x)
        {
            int oh = g.OutH(h), ow = g.OutW(w);
            var yt = Tensor<float>.Zeros(n, c, oh, ow); var at = Tensor<int>.Zeros(n, c, oh, ow);
            CpuKernels<float>.Instance.MaxPool2dForward(Tensor<float>.FromArray(x.Select(v => (float)v).ToArray(), n, c, h, w), yt, at, g);
            return (yt.AsSpan().ToArray(), at.AsSpan().ToArray());
        }
    }

    [Theory]
    [InlineData(10, 10)]   // LeNet's second pool: planes gathered 8 outputs at a time across rows
    [InlineData(9, 13)]    // odd sizes (last row and column dropped), an overlapping last chunk
    public void MaxPool2x2NarrowPlanesKeepTheFirstMax(int h, int w)
    {
        int n = 3, c = 4;
        var rng = new Random(h + w);
        var xd = Enumerable.Range(0, n * c * h * w).Select(_ => (double)rng.Next(3)).ToArray();   // many ties
        var g = PoolGeometry.Of(2, 2);
        var (ey, earg) = Ref.MaxPool(xd, n, c, h, w, g);
        var y = Tensor<float>.Zeros(n, c, g.OutH(h), g.OutW(w)); var arg = Tensor<int>.Zeros(y.Shape);
        CpuKernels<float>.Instance.MaxPool2dForward(Tensor<float>.FromArray(xd.Select(v => (float)v).ToArray(), n, c, h, w), y, arg, g);
        Assert.Equal(ey, y.AsSpan().ToArray().Select(v => (double)v).ToArray());
        Assert.Equal(earg, arg.AsSpan().ToArray());
    }

    [Fact]
    public void MaxPoolPadsWithNegativeInfinity()
    {
        // all inputs negative: a padded window must still pick a real input, never a 0 from the padding
        var kern = CpuKernels<float>.Instance;
        var x = Tensor<float>.FromArray([-5, -4, -3, -2], 1, 1, 2, 2);
        var y = Tensor<float>.Zeros(1, 1, 3, 3); var arg = Tensor<int>.Zeros(1, 1, 3, 3);
        kern.MaxPool2dForward(x, y, arg, PoolGeometry.Of(2, 1, 1));
        Assert.Equal(new float[] { -5, -4, -4, -3, -2, -2, -3, -2, -2 }, y.AsSpan().ToArray());
        Assert.Equal(new[] { 0, 1, 1, 2, 3, 3, 2, 3, 3 }, arg.AsSpan().ToArray());
    }

    [Theory]
    [InlineData(2, 2, 2, 64)]   // vectorized 2×2/2 path
    [InlineData(2, 2, 2, 10)]   // 5 outputs per row: the gathered-plane path gives the plane back to the scalar loop
    [InlineData(3, 2, 1, 64)]   // general path
    public void MaxPoolPropagatesNaN(int kernel, int stride, int expectedOutputs, int width)
    {
        var kern = CpuKernels<float>.Instance;
        var data = Enumerable.Range(0, width * 4).Select(i => (float)(i % 7)).ToArray();
        int nanAt = 2 * width + width / 2 + 1;   // row 2, an odd column
        data[nanAt] = float.NaN;
        var x = Tensor<float>.FromArray(data, 1, 1, 4, width);
        var g = PoolGeometry.Of(kernel, stride);
        int oh = g.OutH(4), ow = g.OutW(width);
        Assert.Equal(expectedOutputs, oh);
        var y = Tensor<float>.Zeros(1, 1, oh, ow); var arg = Tensor<int>.Zeros(1, 1, oh, ow);
        kern.MaxPool2dForward(x, y, arg, g);
        int nanCount = 0;
        for (int i = 0; i < oh * ow; i++)
            if (float.IsNaN(y.AsSpan()[i])) { nanCount++; Assert.Equal(nanAt, arg.AsSpan()[i]); }
            else Assert.Equal(data[arg.AsSpan()[i]], y.AsSpan()[i]);
        Assert.True(nanCount >= 1);
    }

    [Fact]
    public void ShapeMismatchesThrowWithBothShapes()
    {
        var kern = CpuKernels<float>.Instance;
        var x = Tensor<float>.Zeros(2, 3, 8, 8);
        var g = PoolGeometry.Of(2, 2);
        TU.ThrowsShapes(() => kern.MaxPool2dForward(x, Tensor<float>.Zeros(2, 3, 4, 5), Tensor<int>.Zeros(2, 3, 4, 5), g), "[2, 3, 4, 4]", "[2, 3, 4, 5]");
        TU.ThrowsShapes(() => kern.MaxPool2dForward(x, Tensor<float>.Zeros(2, 3, 4, 4), Tensor<int>.Zeros(2, 3, 4, 3), g), "[2, 3, 4, 4]", "[2, 3, 4, 3]");
        TU.ThrowsShapes(() => kern.MaxPool2dBackward(Tensor<float>.Zeros(2, 3, 4, 4), Tensor<int>.Zeros(2, 3, 4, 4), Tensor<float>.Zeros(2, 2, 8, 8)), "[2, 3, H, W]", "[2, 2, 8, 8]");
        TU.ThrowsShapes(() => kern.AvgPool2dForward(x, Tensor<float>.Zeros(2, 3, 3, 4), g), "[2, 3, 4, 4]", "[2, 3, 3, 4]");
        TU.ThrowsShapes(() => kern.AvgPool2dBackward(Tensor<float>.Zeros(2, 3, 3, 4), x, g), "[2, 3, 4, 4]", "[2, 3, 3, 4]");
        TU.ThrowsShapes(() => kern.GlobalAvgPoolForward(x, Tensor<float>.Zeros(2, 4)), "[2, 3]", "[2, 4]");
        TU.ThrowsShapes(() => kern.GlobalAvgPoolBackward(Tensor<float>.Zeros(3, 3), x), "[2, 3]", "[3, 3]");
    }
}
