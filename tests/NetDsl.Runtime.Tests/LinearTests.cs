using System.Numerics;

namespace NetDsl.Runtime.Tests;

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
    // outputs narrower than a GEMM panel (AVX-512: the dot-product kernel, 2 rows of x × 8 rows of w, GemvRange for the rest)
    [InlineData(128, 1024, 10)]   // the MLP's head: one block of 8 outputs and 2 more, both cores split the rows of x
    [InlineData(7, 33, 31)]       // an odd row count, a k tail past the vectors, 3 blocks of 8 outputs and 7 more
    [InlineData(9, 16, 8)]        // exactly one block of 8 outputs, k exactly one vector
    [InlineData(5, 20, 5)]        // fewer than 8 outputs: GemvRange only
    [InlineData(301, 40, 17)]     // many rows (parallel, an odd count of row pairs)
    public void MatchesReferenceFloatAndDouble(int m, int k, int o)
    {
        Run<double>(m, k, o, 1e-12);
        Run<float>(m, k, o, 2e-5);
    }

    internal static void Run<T>(int m, int k, int o, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
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
