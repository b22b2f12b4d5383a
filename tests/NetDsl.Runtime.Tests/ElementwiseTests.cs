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
