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

public class LinearTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 7, 3)]
    [InlineData(128, 400, 120)]   // LeNet fc1 (parallel path)
    [InlineData(64, 84, 10)]
    [InlineData(37, 300, 41)]     // K > KC
    [InlineData(101, 33, 600)]    // O > NC
    [InlineData(6, 250, 301)]     // wider than tall: both cores split the columns (an odd count) of y
    [InlineData(6, 517, 90)]      // dx [6, 517] split by columns too
    public void MatchesReferenceFloatAndDouble(int m, int k, int o)
    {
        Run<double>(m, k, o, 1e-12);
        Run<float>(m, k, o, 2e-5);
    }

    private static void Run<T>(int m, int k, int o, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(m * 31 + k * 7 + o);
        var kern = CpuKernels<T>.Instance;
        var x = TU.Rand<T>(rng, m, k); var w = TU.Rand<T>(rng, o, k); var b = TU.Rand<T>(rng, o);
        var xd = TU.D(x); var wd = TU.D(w); var bd = TU.D(b);
        var e = Ref.MatMul(xd, wd, m, k, o, transB: true);
        for (int i = 0; i < m; i++) for (int j = 0; j < o; j++) e[i * o + j] += bd[j];
        var y = TU.Empty<T>(rng, m, o);
        kern.LinearForward(x, w, b, y, default(Identity<T>), default(Identity<T>));
        TU.Close(e, y, tol, "linear");
        kern.LinearForward(x, w, b, y, default(TanhOp<T>), default(TanhOp<T>));
        TU.Close(e.Select(Math.Tanh).ToArray(), y, tol * 10, "linear+tanh");

        var dy = TU.Rand<T>(rng, m, o); var dyd = TU.D(dy);
        var dx = TU.Empty<T>(rng, m, k);
        kern.LinearBackwardData(dy, w, dx);
        TU.Close(Ref.MatMul(dyd, wd, m, o, k), dx, tol, "dx");
        var dw = TU.Empty<T>(rng, o, k); var db = TU.Empty<T>(rng, o);
        kern.LinearBackwardFilter(dy, x, dw, db);
        TU.Close(Ref.MatMul(dyd, xd, o, m, k, transA: true), dw, tol, "dw");
        var edb = new double[o];
        for (int i = 0; i < m; i++) for (int j = 0; j < o; j++) edb[j] += dyd[i * o + j];
        TU.Close(edb, db, tol, "db");
        // accumulating form: dw and db grow by the same again
        kern.LinearBackwardFilterAccumulate(dy, x, dw, db);
        TU.Close(Ref.MatMul(dyd, xd, o, m, k, transA: true).Select(v => 2 * v).ToArray(), dw, tol, "dw accumulated");
        TU.Close(edb.Select(v => 2 * v).ToArray(), db, tol, "db accumulated");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(3);
        var kern = CpuKernels<double>.Instance;
        int m = 7, k = 11, o = 5;
        var x = TU.Rand<double>(rng, m, k); var w = TU.Rand<double>(rng, o, k); var b = TU.Rand<double>(rng, o);
        var y = TU.Empty<double>(rng, m, o);
        var r = TU.RandArray(rng, y.Length);
        double[] Fwd() { kern.LinearForward(x, w, b, y, default(Identity<double>), default(Identity<double>)); return TU.D(y); }
        var dy = TU.From<double>(rng, r, m, o);
        var dx = TU.Empty<double>(rng, m, k); var dw = TU.Empty<double>(rng, o, k); var db = TU.Empty<double>(rng, o);
        kern.LinearBackwardData(dy, w, dx);
        kern.LinearBackwardFilter(dy, x, dw, db);
        TU.GradCheck(rng, x, Fwd, r, TU.D(dx));
        TU.GradCheck(rng, w, Fwd, r, TU.D(dw));
        TU.GradCheck(rng, b, Fwd, r, TU.D(db));
    }

    [Fact]
    public void ShapeMismatchesThrowWithBothShapes()
    {
        var kern = CpuKernels<double>.Instance;
        var x = Tensor<double>.Zeros(4, 6); var w = Tensor<double>.Zeros(3, 6);
        TU.ThrowsShapes(() => kern.LinearForward(x, w, null, Tensor<double>.Zeros(4, 4), default(Identity<double>), default(Identity<double>)), "[4, 3]", "[4, 4]");
        TU.ThrowsShapes(() => kern.LinearForward(x, Tensor<double>.Zeros(3, 5), null, Tensor<double>.Zeros(4, 3), default(Identity<double>), default(Identity<double>)), "[3, 6]", "[3, 5]");
        TU.ThrowsShapes(() => kern.LinearBackwardData(Tensor<double>.Zeros(4, 3), w, Tensor<double>.Zeros(4, 7)), "[4, 6]", "[4, 7]");
        TU.ThrowsShapes(() => kern.LinearBackwardFilter(Tensor<double>.Zeros(4, 3), x, Tensor<double>.Zeros(3, 7), null), "[3, 6]", "[3, 7]");
        TU.ThrowsShapes(() => kern.LinearBackwardFilter(Tensor<double>.Zeros(4, 3), x, w, Tensor<double>.Zeros(2)), "[3]", "[2]");
    }
}

public class GemmTests
{
    [Theory]
    [InlineData(1, 1, 1, false, false)]
    [InlineData(6, 32, 5, false, false)]
    [InlineData(7, 33, 17, true, false)]
    [InlineData(13, 17, 300, false, true)]
    [InlineData(100, 530, 260, true, true)]
    [InlineData(5, 9, 0, false, false)]
    public void PackedGemmMatchesReference(int m, int n, int k, bool transA, bool transB)
    {
        foreach (var acc in new[] { false, true })
            foreach (var bk in new[] { BiasKind.None, BiasKind.Row, BiasKind.Col })
            {
                var rng = new Random(m + n + k);
                var a = TU.RandArray(rng, m * k); var b = TU.RandArray(rng, k * n); var c0 = TU.RandArray(rng, m * n + 3);
                var bias = TU.RandArray(rng, bk == BiasKind.Row ? m : n);
                var e = Ref.MatMul(a, b, m, k, n, transA, transB);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double v = e[i * n + j] + (acc ? c0[i * n + j] : 0) + (bk == BiasKind.Row ? bias[i] : bk == BiasKind.Col ? bias[j] : 0);
                        e[i * n + j] = Math.Max(v, 0);
                    }
                var c = (double[])c0.Clone();
                CpuKernels<double>.Gemm(m, n, k, a, transA ? 1 : k, transA ? m : 1, b, transB ? 1 : n, transB ? k : 1,
                    c, n, acc, bk, bias, default(ReluOp<double>));
                TU.Close(e, c[..(m * n)], 1e-12, 0, $"gemm acc={acc} bias={bk}");
                Assert.Equal(c0[(m * n)..], c[(m * n)..]);
            }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(6, 25, 784)]
    [InlineData(5, 7, 37)]
    [InlineData(16, 150, 100)]
    [InlineData(9, 4, 15)]
    public void DotFormGemmMatchesReference(int m, int n, int k)
    {
        foreach (var acc in new[] { false, true })
        {
            var rng = new Random(m * n + k);
            var a = TU.RandArray(rng, m * k); var b = TU.RandArray(rng, n * k); var c0 = TU.RandArray(rng, m * n);
            var e = Ref.MatMul(a, b, m, k, n, transB: true);
            if (acc) for (int i = 0; i < e.Length; i++) e[i] += c0[i];
            var c = (double[])c0.Clone();
            CpuKernels<double>.GemmNT(m, n, k, a, k, b, k, c, n, acc);
            TU.Close(e, c, 1e-12, 0, $"gemmNT acc={acc}");
            var cf = c0.Select(v => (float)v).ToArray();
            CpuKernels<float>.GemmNT(m, n, k, a.Select(v => (float)v).ToArray(), k, b.Select(v => (float)v).ToArray(), k, cf, n, acc);
            TU.Close(e, cf.Select(v => (double)v).ToArray(), 1e-5, 0, $"gemmNT float acc={acc}");
        }
    }
}
