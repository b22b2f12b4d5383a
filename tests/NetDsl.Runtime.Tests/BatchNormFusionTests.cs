using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// batchnorm_bwd with a fused element-wise prologue (relu_bwd(dy, y), add + relu_bwd) against the unfused sequence (the
/// prologue as its own Map, then the plain batchnorm backward), and the one-read batchnorm statistics on inputs far from 0.
/// </summary>
public class BatchNormFusionTests
{
    [Theory]
    [InlineData(3, 5, 7, 3)]      // odd sizes: Vector512, Vector256 and scalar tails in each channel segment
    [InlineData(5, 3, 1, 1)]      // [N, C]
    [InlineData(2, 3, 5, 5)]
    [InlineData(16, 8, 32, 32)]   // big enough for the parallel path
    [InlineData(40, 3, 29, 31)]   // channels of > 2^15 values: the prologue runs first as its own streaming pass into dyOut or dx
    public void Fused_prologue_matches_map_then_batchnorm_backward(int n, int c, int h, int w)
    {
        Run<double>(n, c, h, w);
        Run<float>(n, c, h, w);
    }

    private static void Run<T>(int n, int c, int h, int w) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(n * 31 + c * 7 + h);
        int[] shape = h * w == 1 ? [n, c] : [n, c, h, w];
        var K = CpuKernels<T>.Instance;
        var x = TU.Rand<T>(rng, shape); var wt = TU.Rand<T>(rng, c); var bt = TU.Rand<T>(rng, c);
        var rm = TU.Rand<T>(rng, c); var rv = TU.From<T>(rng, TU.RandArray(rng, c).Select(v => 1.5 + v).ToArray(), c);
        var mean = TU.Empty<T>(rng, c); var inv = TU.Empty<T>(rng, c);
        K.BatchNormForward(x, wt, bt, rm, rv, TU.Empty<T>(rng, shape), mean, inv, true, T.CreateChecked(1e-5), T.CreateChecked(0.1));
        var g1 = TU.Rand<T>(rng, shape); var g2 = TU.Rand<T>(rng, shape); var y = TU.Rand<T>(rng, shape);   // y: the relu output mask, about half > 0
        foreach (bool training in new[] { true, false })
            foreach (bool three in new[] { false, true })
                foreach (bool withDx in new[] { true, false })
                    foreach (bool withDyOut in new[] { false, true })
                    {
                        double tol = typeof(T) == typeof(float) ? 1e-5 : 1e-12;
                        string what = $"{typeof(T).Name} {Tensor<T>.Format(shape)} training={training} {(three ? "add + relu_bwd" : "relu_bwd")} dx={withDx} dyOut={withDyOut}";
                        // unfused: the prologue's Map, then batchnorm_bwd
                        var dy = TU.Empty<T>(rng, shape);
                        if (three) K.Map(g1, g2, y, dy, new AddReluBwdOp<T>(), new AddReluBwdOp<T>());
                        else K.Map(g1, y, dy, new ReluBwdOp<T>(), new ReluBwdOp<T>());
                        var dx = TU.Empty<T>(rng, shape); var dw = TU.Empty<T>(rng, c); var db = TU.Empty<T>(rng, c);
                        K.BatchNormBackward(dy, x, wt, mean, inv, dx, dw, db, training);
                        // fused
                        var dx2 = withDx ? TU.Empty<T>(rng, shape) : null; var dw2 = TU.Empty<T>(rng, c); var db2 = TU.Empty<T>(rng, c);
                        var dyOut = withDyOut ? TU.Empty<T>(rng, shape) : null;
                        if (three) K.BatchNormBackward(g1, g2, y, x, wt, mean, inv, dyOut, dx2, dw2, db2, training, new AddReluBwdOp<T>(), new AddReluBwdOp<T>());
                        else K.BatchNormBackward(g1, y, x, wt, mean, inv, dyOut, dx2, dw2, db2, training, new ReluBwdOp<T>(), new ReluBwdOp<T>());
                        Approx.Rel(TU.D(dw), TU.D(dw2), tol, what + " dweight");
                        Approx.Rel(TU.D(db), TU.D(db2), tol, what + " dbias");
                        if (dx2 is not null) { Approx.Rel(TU.D(dx), TU.D(dx2), tol, what + " dx"); TU.CheckGuards(dx2); }
                        if (dyOut is not null) { Assert.Equal(TU.D(dy), TU.D(dyOut)); TU.CheckGuards(dyOut); }
                        TU.CheckGuards(dw2); TU.CheckGuards(db2);
                        // the prologue really applied the mask: somewhere it zeroes a non-zero gradient, and that changes dbias
                        Assert.Contains(TU.D(dy).Select((v, i) => v == 0 && TU.D(g1)[i] != 0), b => b);
                    }
    }

    [Theory]
    [InlineData(3, 5, 7, 3)]
    [InlineData(16, 8, 32, 32)]
    public void Forward_epilogues_match_batchnorm_then_map(int n, int c, int h, int w)
    {
        Epilogues<double>(n, c, h, w);
        Epilogues<float>(n, c, h, w);
    }

    private static void Epilogues<T>(int n, int c, int h, int w) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(n + c + h);
        int[] shape = [n, c, h, w];
        var K = CpuKernels<T>.Instance;
        var x = TU.Rand<T>(rng, shape); var r = TU.Rand<T>(rng, shape); var wt = TU.Rand<T>(rng, c); var bt = TU.Rand<T>(rng, c);
        foreach (bool training in new[] { true, false })
        {
            var rv0 = TU.RandArray(rng, c).Select(v => 1.5 + v).ToArray(); var rm0 = TU.RandArray(rng, c);
            Tensor<T> Rm() => TU.From<T>(rng, rm0, c);
            Tensor<T> Rv() => TU.From<T>(rng, rv0, c);
            T eps = T.CreateChecked(1e-5), mom = T.CreateChecked(0.1);
            // reference: batchnorm, then the element-wise pass
            var y = TU.Empty<T>(rng, shape); var m = TU.Empty<T>(rng, c); var iv = TU.Empty<T>(rng, c); var rm = Rm(); var rv = Rv();
            K.BatchNormForward(x, wt, bt, rm, rv, y, m, iv, training, eps, mom);
            var relu = TU.Empty<T>(rng, shape); K.Map(y, relu, new ReluFn<T>(), new ReluFn<T>());
            var addRelu = TU.Empty<T>(rng, shape); K.Map(y, r, addRelu, new AddReluFn<T>(), new AddReluFn<T>());
            // fused
            var y1 = TU.Empty<T>(rng, shape); var m1 = TU.Empty<T>(rng, c); var iv1 = TU.Empty<T>(rng, c); var rm1 = Rm(); var rv1 = Rv();
            K.BatchNormForward(x, wt, bt, rm1, rv1, y1, m1, iv1, training, eps, mom, new ReluFn<T>(), new ReluFn<T>());
            var y2 = TU.Empty<T>(rng, shape); var m2 = TU.Empty<T>(rng, c); var iv2 = TU.Empty<T>(rng, c); var rm2 = Rm(); var rv2 = Rv();
            K.BatchNormForward(x, r, wt, bt, rm2, rv2, y2, m2, iv2, training, eps, mom, new AddReluFn<T>());
            string what = $"{typeof(T).Name} training={training}";
            Assert.Equal(TU.D(relu), TU.D(y1));
            Assert.Equal(TU.D(addRelu), TU.D(y2));
            Assert.Contains(TU.D(y1), v => v == 0);
            foreach (var (a, b) in new[] { (m, m1), (m, m2), (iv, iv1), (iv, iv2), (rm, rm1), (rv, rv2) }) Assert.Equal(TU.D(a), TU.D(b));
            TU.CheckGuards(y1); TU.CheckGuards(y2);
        }
    }

    [Fact]
    public void Batchnorm_statistics_stay_accurate_far_from_zero()
    {
        // values 1000 ± 1 in float: the sum of squares without a shift would cancel catastrophically
        var rng = new Random(5);
        int n = 8, c = 3, inner = 257;
        var xd = Enumerable.Range(0, n * c * inner).Select(_ => 1000 + (rng.NextDouble() * 2 - 1)).ToArray();
        var x = TU.From<float>(rng, xd, n, c, inner);
        var wt = TU.From<float>(rng, [1, 1, 1], c); var bt = TU.From<float>(rng, [0, 0, 0], c);
        var rm = TU.From<float>(rng, [0, 0, 0], c); var rv = TU.From<float>(rng, [1, 1, 1], c);
        var y = TU.Empty<float>(rng, n, c, inner); var mean = TU.Empty<float>(rng, c); var inv = TU.Empty<float>(rng, c);
        CpuKernels<float>.Instance.BatchNormForward(x, wt, bt, rm, rv, y, mean, inv, true, 1e-5f, 0.1f);
        for (int ch = 0; ch < c; ch++)
        {
            var v = Enumerable.Range(0, n).SelectMany(i => Enumerable.Range(0, inner).Select(q => (double)(float)xd[(i * c + ch) * inner + q])).ToArray();
            double m = v.Average(), var = v.Select(a => (a - m) * (a - m)).Average();
            Assert.True(Math.Abs(TU.D(mean)[ch] - m) < 1e-4, $"mean {TU.D(mean)[ch]} vs {m}");
            Assert.True(Math.Abs(TU.D(inv)[ch] * Math.Sqrt(var + 1e-5) - 1) < 1e-3, $"invstd {TU.D(inv)[ch]} vs {1 / Math.Sqrt(var + 1e-5)}");
        }
    }
}

/// <summary>relu_bwd(dy, y) = y > 0 ? dy : 0, as the generated functor.</summary>
internal readonly struct ReluBwdOp<T> : IMap2<T>, IGpuMap2 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a, T b) => b > T.Zero ? a : T.Zero;
    public Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Vector256.ConditionalSelect(Vector256.GreaterThan(b, Vector256<T>.Zero), a, Vector256<T>.Zero);
    public Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => Vector512.ConditionalSelect(Vector512.GreaterThan(b, Vector512<T>.Zero), a, Vector512<T>.Zero);
    float IGpuMap2.Apply(float a, float b) => b > 0 ? a : 0;
}

/// <summary>relu_bwd(add(a, b), c).</summary>
internal readonly struct AddReluBwdOp<T> : IMap3<T>, IGpuMap3 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a, T b, T c) => c > T.Zero ? a + b : T.Zero;
    public Vector256<T> Apply(Vector256<T> a, Vector256<T> b, Vector256<T> c) => Vector256.ConditionalSelect(Vector256.GreaterThan(c, Vector256<T>.Zero), a + b, Vector256<T>.Zero);
    public Vector512<T> Apply(Vector512<T> a, Vector512<T> b, Vector512<T> c) => Vector512.ConditionalSelect(Vector512.GreaterThan(c, Vector512<T>.Zero), a + b, Vector512<T>.Zero);
    float IGpuMap3.Apply(float a, float b, float c) => c > 0 ? a + b : 0;
}

internal readonly struct ReluFn<T> : IMap1<T>, IGpuMap1 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a) => T.Max(a, T.Zero);
    public Vector256<T> Apply(Vector256<T> a) => Vector256.Max(a, Vector256<T>.Zero);
    public Vector512<T> Apply(Vector512<T> a) => Vector512.Max(a, Vector512<T>.Zero);
    float IGpuMap1.Apply(float a) => MathF.Max(a, 0);
}

internal readonly struct AddReluFn<T> : IMap2<T>, IGpuMap2 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a, T b) => T.Max(a + b, T.Zero);
    public Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Vector256.Max(a + b, Vector256<T>.Zero);
    public Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => Vector512.Max(a + b, Vector512<T>.Zero);
    float IGpuMap2.Apply(float a, float b) => MathF.Max(a + b, 0);
}
