using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

public class ElementwiseTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(70001)]   // parallel chunks with a ragged end
    public void MapDriversMatchScalarFloatAndDouble(int n)
    {
        Run<double>(n);
        Run<float>(n);
    }

    private static void Run<T>(int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(n);
        var kern = CpuKernels<T>.Instance;
        var a = TU.Rand<T>(rng, n); var b = TU.Rand<T>(rng, n); var c = TU.Rand<T>(rng, n);
        var ad = TU.D(a); var bd = TU.D(b); var cd = TU.D(c);
        double tol = typeof(T) == typeof(float) ? 1e-6 : 1e-15;
        var y = TU.Empty<T>(rng, n);
        kern.Map(a, y, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(ad.Select(v => Math.Max(v, 0)).ToArray(), y, 0, "relu");
        kern.Map(a, y, default(TanhOp<T>), default(TanhOp<T>));
        TU.Close(ad.Select(Math.Tanh).ToArray(), y, tol * 4, "tanh");
        kern.Map(a, b, y, default(MulAddOp<T>), default(MulAddOp<T>));
        TU.Close(ad.Select((v, i) => v * bd[i] + v).ToArray(), y, tol, "map2");
        kern.Map(a, b, c, y, default(Fma3Op<T>), default(Fma3Op<T>));
        TU.Close(ad.Select((v, i) => v * bd[i] - cd[i]).ToArray(), y, tol, "map3");
        // in place (y aliases a)
        var a2 = TU.From<T>(rng, ad, n);
        kern.Map(a2, a2, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(ad.Select(v => Math.Max(v, 0)).ToArray(), a2, 0, "relu in place");

        kern.Fill(y, T.CreateChecked(2.5));
        TU.Close(Enumerable.Repeat(2.5, n).ToArray(), y, 0, "fill");
        kern.Copy(a, y);
        TU.Close(ad, y, 0, "copy");
        kern.Accumulate(b, y);
        TU.Close(ad.Select((v, i) => v + bd[i]).ToArray(), y, tol, "accumulate");
    }

    [Fact]
    public void LengthMismatchesThrow()
    {
        var kern = CpuKernels<float>.Instance;
        TU.ThrowsShapes(() => kern.Map(Tensor<float>.Zeros(4, 2), Tensor<float>.Zeros(7), default(ReluOp<float>), default(ReluOp<float>)), "[4, 2]", "[7]");
        TU.ThrowsShapes(() => kern.Map(Tensor<float>.Zeros(4), Tensor<float>.Zeros(5), Tensor<float>.Zeros(4), default(MulAddOp<float>), default(MulAddOp<float>)), "[4]", "[5]");
        TU.ThrowsShapes(() => kern.Map(Tensor<float>.Zeros(4), Tensor<float>.Zeros(4), Tensor<float>.Zeros(3), Tensor<float>.Zeros(4), default(Fma3Op<float>), default(Fma3Op<float>)), "[4]", "[3]");
        TU.ThrowsShapes(() => kern.Copy(Tensor<float>.Zeros(4), Tensor<float>.Zeros(3)), "[4]", "[3]");
        TU.ThrowsShapes(() => kern.Accumulate(Tensor<float>.Zeros(4), Tensor<float>.Zeros(2, 3)), "[4]", "[2, 3]");
    }

    [Fact]
    public void ConcatAndBackwardMatchReference()
    {
        var rng = new Random(21);
        var kern = CpuKernels<double>.Instance;
        var a = TU.Rand<double>(rng, 2, 3, 4, 5); var b = TU.Rand<double>(rng, 2, 1, 4, 5); var c = TU.Rand<double>(rng, 2, 6, 4, 5);
        var y = TU.Empty<double>(rng, 2, 10, 4, 5);
        kern.Concat(new[] { a, b, c }, y);
        var e = new double[y.Length];
        var parts = new[] { (a, 3, 0), (b, 1, 3), (c, 6, 4) };
        foreach (var (t, ch, off) in parts)
        {
            var d = TU.D(t);
            for (int n = 0; n < 2; n++)
                for (int k = 0; k < ch * 20; k++) e[n * 200 + off * 20 + k] = d[n * ch * 20 + k];
        }
        TU.Close(e, y, 0, "concat");
        var dy = TU.Rand<double>(rng, 2, 10, 4, 5);
        var da = TU.Empty<double>(rng, 2, 3, 4, 5); var db = TU.Empty<double>(rng, 2, 1, 4, 5); var dc = TU.Empty<double>(rng, 2, 6, 4, 5);
        kern.ConcatBackward(dy, new[] { da, db, dc });
        // backward of concat is its adjoint: <dy, concat(a,b,c)> = Σ <dxᵢ, xᵢ>
        Assert.Equal(TU.Dot(TU.D(dy), TU.D(y)), TU.Dot(TU.D(da), TU.D(a)) + TU.Dot(TU.D(db), TU.D(b)) + TU.Dot(TU.D(dc), TU.D(c)), 1e-12);
        kern.Concat(new[] { da, db, dc }, y);
        TU.Close(TU.D(dy), y, 0, "concat ∘ backward = identity");

        // 2-D concat (linear features)
        var p = TU.Rand<double>(rng, 3, 2); var q = TU.Rand<double>(rng, 3, 5);
        var pq = TU.Empty<double>(rng, 3, 7);
        kern.Concat(new[] { p, q }, pq);
        var pd = TU.D(p); var qd = TU.D(q);
        TU.Close(Enumerable.Range(0, 21).Select(i => i % 7 < 2 ? pd[i / 7 * 2 + i % 7] : qd[i / 7 * 5 + i % 7 - 2]).ToArray(), pq, 0, "concat 2d");

        TU.ThrowsShapes(() => kern.Concat(new[] { a, b }, y), "[2, 4, 4, 5]", "[2, 10, 4, 5]");
        TU.ThrowsShapes(() => kern.Concat(new[] { a, Tensor<double>.Zeros(2, 7, 4, 4) }, y), "[2, 7, 4, 5]", "[2, 7, 4, 4]");
    }

    [Fact]
    public void DropoutIsDeterministicInvertedAndDropsAboutP()
    {
        var kern = CpuKernels<float>.Instance;
        int n = 200_003;
        var rng = new Random(1);
        var x = TU.Rand<float>(rng, n);
        var m1 = TU.Empty<float>(rng, n); var y1 = TU.Empty<float>(rng, n);
        var m2 = TU.Empty<float>(rng, n); var y2 = TU.Empty<float>(rng, n);
        kern.DropoutForward(x, m1, y1, 0.3f, 1234);
        kern.DropoutForward(x, m2, y2, 0.3f, 1234);
        Assert.Equal(m1.AsSpan().ToArray(), m2.AsSpan().ToArray());
        Assert.Equal(y1.AsSpan().ToArray(), y2.AsSpan().ToArray());
        TU.CheckGuards(m1); TU.CheckGuards(y1);
        int dropped = 0;
        float scale = 1 / (1 - 0.3f);
        var xs = x.AsSpan(); var ms = m1.AsSpan(); var ys = y1.AsSpan();
        for (int i = 0; i < n; i++)
        {
            if (ms[i] == 0) dropped++;
            else Assert.Equal(scale, ms[i]);
            Assert.Equal(xs[i] * ms[i], ys[i]);
        }
        Assert.InRange(dropped / (double)n, 0.3 - 0.005, 0.3 + 0.005);
        kern.DropoutForward(x, m2, y2, 0.3f, 1235);
        Assert.NotEqual(m1.AsSpan().ToArray(), m2.AsSpan().ToArray());

        // double agrees with float on the mask pattern; p = 0 keeps everything; p = 1 drops everything
        var kd = CpuKernels<double>.Instance;
        var xd = TU.Rand<double>(rng, 1000); var md = TU.Empty<double>(rng, 1000); var yd = TU.Empty<double>(rng, 1000);
        var xf = TU.Convert<float>(rng, xd); var mf = TU.Empty<float>(rng, 1000); var yf = TU.Empty<float>(rng, 1000);
        kd.DropoutForward(xd, md, yd, 0.5, 99); kern.DropoutForward(xf, mf, yf, 0.5f, 99);
        Assert.Equal(TU.D(md), TU.D(mf));
        kd.DropoutForward(xd, md, yd, 0, 99);
        Assert.All(TU.D(md), v => Assert.Equal(1.0, v));
        kd.DropoutForward(xd, md, yd, 1, 99);
        Assert.All(TU.D(md), v => Assert.Equal(0.0, v));
        TU.ThrowsShapes(() => kd.DropoutForward(xd, Tensor<double>.Zeros(999), yd, 0.5, 1), "[1000]", "[999]");
    }
}

public class OptimizerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SgdMatchesPyTorchFormForTwoSteps(bool nesterov)
    {
        Sgd<double>(nesterov, 1e-15);
        Sgd<float>(nesterov, 1e-6);
    }

    private static void Sgd<T>(bool nesterov, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(nesterov ? 1 : 2);
        int n = 19;   // vector body + scalar tail
        var kern = CpuKernels<T>.Instance;
        var p = TU.Rand<T>(rng, n); var g1 = TU.Rand<T>(rng, n); var g2 = TU.Rand<T>(rng, n);
        var v = TU.From<T>(rng, new double[n], n);
        static double R(double d) => double.CreateChecked(T.CreateChecked(d));
        double lr = R(0.1), mu = R(0.9), wd = R(0.01);
        var pe = TU.D(p); var ve = new double[n];
        foreach (var g in new[] { g1, g2 })
        {
            var gd = TU.D(g);
            for (int i = 0; i < n; i++)
            {
                double gi = gd[i] + wd * pe[i];
                ve[i] = mu * ve[i] + gi;
                pe[i] -= lr * (nesterov ? gi + mu * ve[i] : ve[i]);
            }
            kern.SgdStep(p, g, v, T.CreateChecked(lr), T.CreateChecked(mu), T.CreateChecked(wd), nesterov);
        }
        TU.Close(pe, p, tol, "param");
        TU.Close(ve, v, tol, "velocity");
    }

    [Fact]
    public void SgdHandComputed()
    {
        // θ=1, g=0.5, lr=0.1, μ=0.9, wd=0: step1 v=0.5 θ=0.95; step2 v=0.95 θ=0.855
        var kern = CpuKernels<double>.Instance;
        var p = Tensor<double>.FromArray([1.0], 1); var g = Tensor<double>.FromArray([0.5], 1); var v = Tensor<double>.Zeros(1);
        kern.SgdStep(p, g, v, 0.1, 0.9, 0, false);
        Assert.Equal(0.95, p[0], 1e-15); Assert.Equal(0.5, v[0], 1e-15);
        kern.SgdStep(p, g, v, 0.1, 0.9, 0, false);
        Assert.Equal(0.855, p[0], 1e-15); Assert.Equal(0.95, v[0], 1e-15);
    }

    [Fact]
    public void AdamMatchesPyTorchFormForTwoSteps()
    {
        Adam<double>(1e-14);
        Adam<float>(2e-6);
    }

    private static void Adam<T>(double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(3);
        int n = 21;
        var kern = CpuKernels<T>.Instance;
        var p = TU.Rand<T>(rng, n); var gs = new[] { TU.Rand<T>(rng, n), TU.Rand<T>(rng, n) };
        var m = TU.From<T>(rng, new double[n], n); var v = TU.From<T>(rng, new double[n], n);
        // hyperparameters rounded through T, so the double reference sees the same values the kernel does
        static double R(double d) => double.CreateChecked(T.CreateChecked(d));
        double lr = R(1e-2), b1 = R(0.9), b2 = R(0.999), eps = R(1e-8), wd = R(1e-3);
        var pe = TU.D(p); var me = new double[n]; var ve = new double[n];
        for (int t = 1; t <= 2; t++)
        {
            var gd = TU.D(gs[t - 1]);
            for (int i = 0; i < n; i++)
            {
                double g = gd[i] + wd * pe[i];
                me[i] = b1 * me[i] + (1 - b1) * g;
                ve[i] = b2 * ve[i] + (1 - b2) * g * g;
                double mh = me[i] / (1 - Math.Pow(b1, t)), vh = ve[i] / (1 - Math.Pow(b2, t));
                pe[i] -= lr * mh / (Math.Sqrt(vh) + eps);
            }
            kern.AdamStep(p, gs[t - 1], m, v, T.CreateChecked(lr), T.CreateChecked(b1), T.CreateChecked(b2), T.CreateChecked(eps), T.CreateChecked(wd), t);
        }
        TU.Close(pe, p, tol, "param");
        TU.Close(me, m, tol, "m");
        TU.Close(ve, v, tol, "v");
    }

    [Fact]
    public void AdamHandComputedFirstStepIsLrTimesSign()
    {
        // first step: m̂ = g, v̂ = g², so θ -= lr·g/(|g|+ε)
        var kern = CpuKernels<double>.Instance;
        var p = Tensor<double>.FromArray([1.0, -2.0], 2); var g = Tensor<double>.FromArray([0.3, -4.0], 2);
        var m = Tensor<double>.Zeros(2); var v = Tensor<double>.Zeros(2);
        kern.AdamStep(p, g, m, v, 0.001, 0.9, 0.999, 1e-8, 0, 1);
        Assert.Equal(1.0 - 0.001 * 0.3 / (0.3 + 1e-8), p[0], 1e-15);
        Assert.Equal(-2.0 + 0.001 * 4.0 / (4.0 + 1e-8), p[1], 1e-15);
    }

    [Fact]
    public void ShapeMismatchesThrow()
    {
        var kern = CpuKernels<float>.Instance;
        var p = Tensor<float>.Zeros(3, 4);
        TU.ThrowsShapes(() => kern.SgdStep(p, Tensor<float>.Zeros(4, 3), Tensor<float>.Zeros(3, 4), 0.1f, 0.9f, 0, false), "[3, 4]", "[4, 3]");
        TU.ThrowsShapes(() => kern.AdamStep(p, Tensor<float>.Zeros(3, 4), Tensor<float>.Zeros(12), Tensor<float>.Zeros(3, 4), 0.1f, 0.9f, 0.99f, 1e-8f, 0, 1), "[3, 4]", "[12]");
    }
}

public class VMathTests
{
    private static readonly double[] Points =
        [-1000, -90, -50, -20, -5, -1.5, -0.7, -0.625, -0.3, -1e-3, -1e-8, 0, 1e-9, 1e-4, 0.2, 0.6, 0.625, 0.9, 2, 7.5, 19, 45, 88, 700, 1e6];

    [Fact]
    public void VectorFunctionsMatchScalarMath()
    {
        Check<double>(1e-14, 1e-300);
        Check<float>(2e-6, 1e-37);   // float results below the normal range are denormal/flushed
    }

    private static void Check<T>(double rtol, double atol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        for (int s = 0; s < Points.Length; s += w)
        {
            var chunk = new T[w];
            for (int i = 0; i < w; i++) chunk[i] = T.CreateChecked(Points[Math.Min(s + i, Points.Length - 1)]);
            var x = Vector256.Create<T>(chunk);
            var tanh = VMath.Tanh(x); var sig = VMath.Sigmoid(x); var exp = VMath.Exp(x);
            for (int i = 0; i < w; i++)
            {
                double xi = double.CreateChecked(chunk[i]);
                Near(Math.Tanh(xi), double.CreateChecked(tanh[i]), rtol, atol, $"tanh({xi})");
                Near(1 / (1 + Math.Exp(-xi)), double.CreateChecked(sig[i]), rtol, atol, $"sigmoid({xi})");
                Near(Math.Tanh(xi), double.CreateChecked(VMath.Tanh(chunk[i])), rtol, atol, $"scalar tanh({xi})");
                Near(1 / (1 + Math.Exp(-xi)), double.CreateChecked(VMath.Sigmoid(chunk[i])), rtol, atol, $"scalar sigmoid({xi})");
                double ex = double.CreateChecked(T.Exp(chunk[i]));
                if (double.IsFinite(ex)) Near(ex, double.CreateChecked(exp[i]), rtol, atol, $"exp({xi})");
                else Assert.True(T.IsPositiveInfinity(exp[i]), $"exp({xi}) should overflow to +inf");
                if (xi > 0) Near(Math.Log(xi), double.CreateChecked(VMath.Log(x)[i]), rtol, atol, $"log({xi})");
            }
        }
    }

    private static void Near(double expected, double actual, double rtol, double atol, string what)
    {
        Assert.False(double.IsNaN(actual), $"{what} is NaN");
        Assert.True(Math.Abs(expected - actual) <= rtol * Math.Abs(expected) + atol, $"{what}: expected {expected:R}, got {actual:R}");
    }
}

public class AllocationTests
{
    [Fact]
    public void SmallKernelsDoNotAllocateAfterFirstCall()
    {
        var k = CpuKernels<float>.Instance;
        var rng = new Random(1);
        var x = TU.Rand<float>(rng, 2, 3, 8, 8); var w = TU.Rand<float>(rng, 4, 3, 3, 3); var b = TU.Rand<float>(rng, 4);
        var y = TU.Empty<float>(rng, 2, 4, 8, 8); var dx = TU.Empty<float>(rng, 2, 3, 8, 8); var dw = TU.Empty<float>(rng, 4, 3, 3, 3); var db = TU.Empty<float>(rng, 4);
        var p = TU.Empty<float>(rng, 2, 4, 4, 4); var arg = Tensor<int>.Zeros(2, 4, 4, 4); var dp = TU.Rand<float>(rng, 2, 4, 4, 4);
        var lx = TU.Rand<float>(rng, 5, 7); var lw = TU.Rand<float>(rng, 3, 7); var lb = TU.Rand<float>(rng, 3); var ly = TU.Empty<float>(rng, 5, 3);
        var ldx = TU.Empty<float>(rng, 5, 7); var ldw = TU.Empty<float>(rng, 3, 7); var ldb = TU.Empty<float>(rng, 3);
        var labels = Tensor<int>.FromArray([0, 1, 2, 0, 1], 5); var probs = TU.Empty<float>(rng, 5, 3); var loss = TU.Empty<float>(rng, 1);
        var m = Tensor<float>.Zeros(3, 7); var v = Tensor<float>.Zeros(3, 7);
        var g = ConvGeometry.Of(1, 1); var pg = PoolGeometry.Of(2, 2);
        void All()
        {
            k.Conv2dForward(x, w, b, y, g, default(ReluOp<float>), default(ReluOp<float>));
            k.Conv2dBackwardData(y, w, dx, g);
            k.Conv2dBackwardFilter(y, x, dw, db, g);
            k.MaxPool2dForward(y, p, arg, pg); k.MaxPool2dBackward(dp, arg, y);
            k.AvgPool2dForward(y, p, pg); k.AvgPool2dBackward(dp, y, pg);
            k.LinearForward(lx, lw, lb, ly, default(TanhOp<float>), default(TanhOp<float>));
            k.LinearBackwardData(ly, lw, ldx); k.LinearBackwardFilter(ly, lx, ldw, ldb);
            k.CrossEntropyForward(ly, labels, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, probs, loss); k.CrossEntropyBackward(loss, probs, labels, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, ly);
            k.Map(ly, ly, default(ReluOp<float>), default(ReluOp<float>));
            k.DropoutForward(ldx, ldx, ldx, 0.5f, 3);
            k.SgdStep(lw, ldw, m, 0.1f, 0.9f, 0, true);
            k.AdamStep(lw, ldw, m, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 1);
        }
        All(); All();
        long before = GC.GetAllocatedBytesForCurrentThread();
        All();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
