using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The CPU normalization kernels against naive double loops (odd sizes, views with guard values, NaN-filled outputs, the
/// parallel path), their backward kernels against fp64 finite differences of the forward kernels, and their shape checks.
/// </summary>
public class NormalizationKernelTests
{
    // ------------------------------------------------------------------ naive references (double)
    /// <summary>Statistics over index sets: mean and 1/√(biased var + eps) of x at the given indices.</summary>
    private static (double Mean, double Inv, double Var) Stats(double[] x, IEnumerable<int> idx, double eps)
    {
        var v = idx.Select(i => x[i]).ToArray();
        double m = v.Average(), var = v.Select(a => (a - m) * (a - m)).Average();
        return (m, 1 / Math.Sqrt(var + eps), var);
    }

    private static IEnumerable<int> Channel(int n, int c, int inner, int ch) =>
        Enumerable.Range(0, n).SelectMany(i => Enumerable.Range(0, inner).Select(q => (i * c + ch) * inner + q));

    private static double[] RefBatchNorm(double[] x, double[] w, double[] b, int n, int c, int inner, double eps)
    {
        var y = new double[x.Length];
        for (int ch = 0; ch < c; ch++)
        {
            var (m, inv, _) = Stats(x, Channel(n, c, inner, ch), eps);
            foreach (var i in Channel(n, c, inner, ch)) y[i] = (x[i] - m) * inv * w[ch] + b[ch];
        }
        return y;
    }

    private static double[] RefGroupNorm(double[] x, double[]? w, double[]? b, int n, int c, int inner, int groups, double eps)
    {
        var y = new double[x.Length];
        int cg = c / groups;
        for (int i = 0; i < n; i++)
            for (int g = 0; g < groups; g++)
            {
                var idx = Enumerable.Range(g * cg, cg).SelectMany(ch => Enumerable.Range(0, inner).Select(q => (i * c + ch) * inner + q)).ToList();
                var (m, inv, _) = Stats(x, idx, eps);
                foreach (var k in idx) { int ch = k / inner % c; y[k] = (x[k] - m) * inv * (w?[ch] ?? 1) + (b?[ch] ?? 0); }
            }
        return y;
    }

    private static double[] RefLayerNorm(double[] x, double[]? w, double[]? b, int d, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / d; r++)
        {
            var idx = Enumerable.Range(r * d, d).ToList();
            var (m, inv, _) = Stats(x, idx, eps);
            foreach (var k in idx) y[k] = (x[k] - m) * inv * (w?[k - r * d] ?? 1) + (b?[k - r * d] ?? 0);
        }
        return y;
    }

    private static double[] RefLrn(double[] x, int n, int c, int inner, int size, double alpha, double beta, double k)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < inner; q++)
                {
                    double s = 0;
                    for (int j = ch - size / 2; j <= ch + (size - 1) / 2; j++)
                        if (j >= 0 && j < c) s += x[(i * c + j) * inner + q] * x[(i * c + j) * inner + q];
                    int o = (i * c + ch) * inner + q;
                    y[o] = x[o] / Math.Pow(k + alpha / size * s, beta);
                }
        return y;
    }

    private static double Tol<T>() => typeof(T) == typeof(double) ? 1e-12 : 2e-5;

    // ------------------------------------------------------------------ forward vs the references
    [Theory]
    [InlineData(3, 5, 7, 3)]       // [N, C, H, W] with odd sizes
    [InlineData(7, 13, 1, 1)]      // [N, C] (BatchNorm1d)
    [InlineData(16, 8, 32, 32)]    // big enough for the parallel path
    public void BatchNorm_forward_matches_the_reference_in_training_and_eval_mode(int n, int c, int h, int w)
    {
        BatchNormForward<double>(n, c, h, w);
        BatchNormForward<float>(n, c, h, w);
    }

    private static void BatchNormForward<T>(int n, int c, int h, int w) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(n * 100 + c);
        int[] shape = h * w == 1 ? [n, c] : [n, c, h, w];
        int inner = h * w;
        var x = TU.Rand<T>(rng, shape); var wt = TU.Rand<T>(rng, c); var bt = TU.Rand<T>(rng, c);
        var rm = TU.Rand<T>(rng, c); var rv = TU.From<T>(rng, TU.RandArray(rng, c).Select(v => 1.5 + v).ToArray(), c);
        double[] rm0 = TU.D(rm), rv0 = TU.D(rv), xd = TU.D(x);
        var y = TU.Empty<T>(rng, shape); var mean = TU.Empty<T>(rng, c); var inv = TU.Empty<T>(rng, c);
        var K = CpuKernels<T>.Instance;
        K.BatchNormForward(x, wt, bt, rm, rv, y, mean, inv, training: true, T.CreateChecked(1e-5), T.CreateChecked(0.1));
        Approx.Rel(RefBatchNorm(xd, TU.D(wt), TU.D(bt), n, c, inner, 1e-5), TU.D(y), Tol<T>() * 10, "y");
        int count = n * inner;
        for (int ch = 0; ch < c; ch++)
        {
            var (m, iv, var) = Stats(xd, Channel(n, c, inner, ch), 1e-5);
            Approx.Rel([m, iv, 0.9 * rm0[ch] + 0.1 * m, 0.9 * rv0[ch] + 0.1 * var * count / (count - 1)],
                [TU.D(mean)[ch], TU.D(inv)[ch], TU.D(rm)[ch], TU.D(rv)[ch]], Tol<T>() * 10, $"channel {ch} mean, invstd, running mean, running var");
        }
        TU.CheckGuards(y); TU.CheckGuards(mean); TU.CheckGuards(rm); TU.CheckGuards(rv);

        // eval: y from the running statistics, which stay as they are
        double[] rm1 = TU.D(rm), rv1 = TU.D(rv);
        K.BatchNormForward(x, wt, bt, rm, rv, y, mean, inv, training: false, T.CreateChecked(1e-3), T.CreateChecked(0.1));
        var expected = new double[xd.Length];
        for (int ch = 0; ch < c; ch++)
            foreach (var i in Channel(n, c, inner, ch)) expected[i] = (xd[i] - rm1[ch]) / Math.Sqrt(rv1[ch] + 1e-3) * TU.D(wt)[ch] + TU.D(bt)[ch];
        Approx.Rel(expected, TU.D(y), Tol<T>() * 10, "eval y");
        Assert.Equal(rm1, TU.D(rm)); Assert.Equal(rv1, TU.D(rv));
    }

    [Theory]
    [InlineData(2, 6, 5, 3, 3, true)]
    [InlineData(3, 7, 3, 1, 7, false)]   // instancenorm: one group per channel, no affine parameters
    [InlineData(4, 32, 24, 24, 8, true)] // parallel path
    public void GroupNorm_forward_matches_the_reference(int n, int c, int h, int w, int groups, bool affine)
    {
        GroupNormForward<double>(n, c, h, w, groups, affine);
        GroupNormForward<float>(n, c, h, w, groups, affine);
    }

    private static void GroupNormForward<T>(int n, int c, int h, int w, int groups, bool affine) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(c * 7 + groups);
        var x = TU.Rand<T>(rng, n, c, h, w);
        var wt = affine ? TU.Rand<T>(rng, c) : null; var bt = affine ? TU.Rand<T>(rng, c) : null;
        var y = TU.Empty<T>(rng, n, c, h, w); var mean = TU.Empty<T>(rng, n, groups); var inv = TU.Empty<T>(rng, n, groups);
        CpuKernels<T>.Instance.GroupNormForward(x, wt, bt, y, mean, inv, groups, T.CreateChecked(1e-5));
        Approx.Rel(RefGroupNorm(TU.D(x), wt is null ? null : TU.D(wt), bt is null ? null : TU.D(bt), n, c, h * w, groups, 1e-5), TU.D(y), Tol<T>() * 10, "y");
        TU.CheckGuards(y); TU.CheckGuards(inv);
    }

    [Theory]
    [InlineData(new[] { 3, 5, 7 }, 1, true)]
    [InlineData(new[] { 2, 3, 5, 7 }, 3, false)]
    [InlineData(new[] { 64, 600 }, 1, true)]   // parallel path
    public void LayerNorm_forward_matches_the_reference(int[] shape, int dims, bool affine)
    {
        LayerNormForward<double>(shape, dims, affine);
        LayerNormForward<float>(shape, dims, affine);
    }

    private static void LayerNormForward<T>(int[] shape, int dims, bool affine) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(shape.Sum() + dims);
        var tail = shape[^dims..]; var lead = shape[..^dims];
        int d = tail.Aggregate(1, (a, b) => a * b);
        var x = TU.Rand<T>(rng, shape);
        var wt = affine ? TU.Rand<T>(rng, tail) : null; var bt = affine ? TU.Rand<T>(rng, tail) : null;
        var y = TU.Empty<T>(rng, shape); var mean = TU.Empty<T>(rng, lead); var inv = TU.Empty<T>(rng, lead);
        CpuKernels<T>.Instance.LayerNormForward(x, wt, bt, y, mean, inv, dims, T.CreateChecked(1e-5));
        Approx.Rel(RefLayerNorm(TU.D(x), wt is null ? null : TU.D(wt), bt is null ? null : TU.D(bt), d, 1e-5), TU.D(y), Tol<T>() * 10, "y");
        TU.CheckGuards(y); TU.CheckGuards(mean);
    }

    [Theory]
    [InlineData(2, 7, 3, 5, 5, 1e-2, 0.75, 2.0)]
    [InlineData(3, 6, 1, 7, 4, 0.5, 0.6, 1.0)]    // even window: one more channel before than after
    [InlineData(1, 3, 2, 2, 9, 0.3, 0.75, 1.0)]   // window wider than the channels
    public void Lrn_forward_matches_the_reference(int n, int c, int h, int w, int size, double alpha, double beta, double k)
    {
        foreach (var dbl in new[] { true, false })
        {
            if (dbl) LrnForward<double>(n, c, h, w, size, alpha, beta, k); else LrnForward<float>(n, c, h, w, size, alpha, beta, k);
        }
    }

    private static void LrnForward<T>(int n, int c, int h, int w, int size, double alpha, double beta, double k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(size * 31 + c);
        var x = TU.Rand<T>(rng, n, c, h, w);
        var y = TU.Empty<T>(rng, n, c, h, w); var scale = TU.Empty<T>(rng, n, c, h, w);
        CpuKernels<T>.Instance.LocalResponseNormForward(x, y, scale, size, T.CreateChecked(alpha), T.CreateChecked(beta), T.CreateChecked(k));
        Approx.Rel(RefLrn(TU.D(x), n, c, h * w, size, alpha, beta, k), TU.D(y), Tol<T>() * 10, "y");
        TU.CheckGuards(y); TU.CheckGuards(scale);
    }

    // ------------------------------------------------------------------ backward vs fp64 finite differences
    /// <summary>
    /// Checks a backward kernel: L = Σ r·f(x, w, b) for random r; the kernel's gradients (dy = r) against central differences
    /// of the forward kernel at every element of x, w and b.
    /// </summary>
    private static void FiniteDifferences(double[] x, double[]? w, double[]? b, Func<double[], double[]?, double[]?, double[]> forward,
        Func<double[], double[], double[]?, (double[] Dx, double[]? Dw, double[]? Db)> backward, string what)
    {
        var rng = new Random(5);
        var y0 = forward(x, w, b);
        var r = TU.RandArray(rng, y0.Length);
        double L(double[] xx, double[]? ww, double[]? bb) => forward(xx, ww, bb).Zip(r, (p, q) => p * q).Sum();
        var (dx, dw, db) = backward(x, r, w);
        const double eps = 1e-6;
        void Probe(double[] arr, double[] grad, string name, Func<double> loss)
        {
            for (int i = 0; i < arr.Length; i++)
            {
                double orig = arr[i];
                arr[i] = orig + eps; double lp = loss();
                arr[i] = orig - eps; double lm = loss();
                arr[i] = orig;
                double fd = (lp - lm) / (2 * eps);
                Assert.True(Math.Abs(fd - grad[i]) <= 1e-6 * (1 + Math.Abs(fd)), $"{what} {name}[{i}]: backward {grad[i]:G10}, finite difference {fd:G10}");
            }
        }
        Probe(x, dx, "dx", () => L(x, w, b));
        if (w != null) Probe(w, dw!, "dweight", () => L(x, w, b));
        if (b != null) Probe(b, db!, "dbias", () => L(x, w, b));
    }

    private static Tensor<double> T64(double[] a, params int[] shape) => Tensor<double>.FromArray((double[])a.Clone(), shape);

    [Theory]
    [InlineData(3, 4, 2, 3, true)]
    [InlineData(5, 3, 1, 1, true)]
    [InlineData(3, 4, 2, 3, false)]
    public void BatchNorm_backward_matches_finite_differences(int n, int c, int h, int w, bool training)
    {
        var rng = new Random(9);
        int[] shape = h * w == 1 ? [n, c] : [n, c, h, w];
        int len = n * c * h * w;
        var K = CpuKernels<double>.Instance;
        double[] rm = TU.RandArray(rng, c), rv = TU.RandArray(rng, c).Select(v => 1.5 + v).ToArray();
        double[] Fwd(double[] x, double[]? wt, double[]? bt, out double[] mean, out double[] inv)
        {
            var y = Tensor<double>.Zeros(shape); var m = Tensor<double>.Zeros(c); var iv = Tensor<double>.Zeros(c);
            K.BatchNormForward(T64(x, shape), T64(wt!, c), T64(bt!, c), T64(rm, c), T64(rv, c), y, m, iv, training, 1e-5, 0.1);
            mean = m.AsSpan().ToArray(); inv = iv.AsSpan().ToArray();
            return y.AsSpan().ToArray();
        }
        FiniteDifferences(TU.RandArray(rng, len), TU.RandArray(rng, c), TU.RandArray(rng, c),
            (x, wt, bt) => Fwd(x, wt, bt, out _, out _),
            (x, dy, wt) =>
            {
                Fwd(x, wt, wt, out var mean, out var inv);
                var dx = Tensor<double>.Zeros(shape); var dw = Tensor<double>.Zeros(c); var db = Tensor<double>.Zeros(c);
                K.BatchNormBackward(T64(dy, shape), T64(x, shape), T64(wt!, c), T64(mean, c), T64(inv, c), dx, dw, db, training);
                // without dx, the parameter gradients are the same
                var dw2 = Tensor<double>.Zeros(c); var db2 = Tensor<double>.Zeros(c);
                K.BatchNormBackward(T64(dy, shape), T64(x, shape), T64(wt!, c), T64(mean, c), T64(inv, c), null, dw2, db2, training);
                Assert.Equal(dw.AsSpan().ToArray(), dw2.AsSpan().ToArray());
                return (dx.AsSpan().ToArray(), dw.AsSpan().ToArray(), db.AsSpan().ToArray());
            }, $"batchnorm training={training}");
    }

    [Theory]
    [InlineData(2, 6, 2, 3, 3, true)]
    [InlineData(2, 4, 3, 2, 4, false)]
    public void GroupNorm_backward_matches_finite_differences(int n, int c, int h, int w, int groups, bool affine)
    {
        var rng = new Random(11);
        int[] shape = [n, c, h, w];
        var K = CpuKernels<double>.Instance;
        double[] Fwd(double[] x, double[]? wt, double[]? bt, out double[] mean, out double[] inv)
        {
            var y = Tensor<double>.Zeros(shape); var m = Tensor<double>.Zeros(n, groups); var iv = Tensor<double>.Zeros(n, groups);
            K.GroupNormForward(T64(x, shape), wt is null ? null : T64(wt, c), bt is null ? null : T64(bt, c), y, m, iv, groups, 1e-5);
            mean = m.AsSpan().ToArray(); inv = iv.AsSpan().ToArray();
            return y.AsSpan().ToArray();
        }
        FiniteDifferences(TU.RandArray(rng, n * c * h * w), affine ? TU.RandArray(rng, c) : null, affine ? TU.RandArray(rng, c) : null,
            (x, wt, bt) => Fwd(x, wt, bt, out _, out _),
            (x, dy, wt) =>
            {
                Fwd(x, wt, wt, out var mean, out var inv);
                var dx = Tensor<double>.Zeros(shape);
                var dw = affine ? Tensor<double>.Zeros(c) : null; var db = affine ? Tensor<double>.Zeros(c) : null;
                K.GroupNormBackward(T64(dy, shape), T64(x, shape), wt is null ? null : T64(wt, c), T64(mean, n, groups), T64(inv, n, groups), dx, dw, db, groups);
                return (dx.AsSpan().ToArray(), dw?.AsSpan().ToArray(), db?.AsSpan().ToArray());
            }, "groupnorm");
    }

    [Theory]
    [InlineData(new[] { 3, 4, 5 }, 1, true)]
    [InlineData(new[] { 2, 3, 2, 3 }, 2, true)]
    [InlineData(new[] { 4, 13 }, 1, false)]
    [InlineData(new[] { 3, 37 }, 1, true)]          // rows of 37: 512-bit vectors, a 256-bit vector and a scalar tail (doubles)
    [InlineData(new[] { 2, 2, 19 }, 2, true)]
    public void LayerNorm_backward_matches_finite_differences(int[] shape, int dims, bool affine)
    {
        var rng = new Random(13);
        var tail = shape[^dims..]; var lead = shape[..^dims];
        int d = tail.Aggregate(1, (a, b) => a * b), len = shape.Aggregate(1, (a, b) => a * b);
        var K = CpuKernels<double>.Instance;
        double[] Fwd(double[] x, double[]? wt, double[]? bt, out double[] mean, out double[] inv)
        {
            var y = Tensor<double>.Zeros(shape); var m = Tensor<double>.Zeros(lead); var iv = Tensor<double>.Zeros(lead);
            K.LayerNormForward(T64(x, shape), wt is null ? null : T64(wt, tail), bt is null ? null : T64(bt, tail), y, m, iv, dims, 1e-5);
            mean = m.AsSpan().ToArray(); inv = iv.AsSpan().ToArray();
            return y.AsSpan().ToArray();
        }
        FiniteDifferences(TU.RandArray(rng, len), affine ? TU.RandArray(rng, d) : null, affine ? TU.RandArray(rng, d) : null,
            (x, wt, bt) => Fwd(x, wt, bt, out _, out _),
            (x, dy, wt) =>
            {
                Fwd(x, wt, wt, out var mean, out var inv);
                var dx = Tensor<double>.Zeros(shape);
                var dw = affine ? Tensor<double>.Zeros(tail) : null; var db = affine ? Tensor<double>.Zeros(tail) : null;
                K.LayerNormBackward(T64(dy, shape), T64(x, shape), wt is null ? null : T64(wt, tail), T64(mean, lead), T64(inv, lead), dx, dw, db, dims);
                return (dx.AsSpan().ToArray(), dw?.AsSpan().ToArray(), db?.AsSpan().ToArray());
            }, "layernorm");
    }

    [Theory]
    [InlineData(3, 5, 0.5, 0.75, 2.0)]
    [InlineData(4, 6, 0.8, 0.6, 1.0)]
    [InlineData(1, 4, 0.3, 0.75, 1.0)]
    public void Lrn_backward_matches_finite_differences(int size, int c, double alpha, double beta, double k)
    {
        var rng = new Random(17);
        int[] shape = [2, c, 2, 3];
        var K = CpuKernels<double>.Instance;
        double[] Fwd(double[] x, out double[] y, out double[] scale)
        {
            var yt = Tensor<double>.Zeros(shape); var st = Tensor<double>.Zeros(shape);
            K.LocalResponseNormForward(T64(x, shape), yt, st, size, alpha, beta, k);
            y = yt.AsSpan().ToArray(); scale = st.AsSpan().ToArray();
            return y;
        }
        FiniteDifferences(TU.RandArray(rng, 2 * c * 6), null, null,
            (x, _, _) => Fwd(x, out _, out _),
            (x, dy, _) =>
            {
                Fwd(x, out var y, out var scale);
                var dx = Tensor<double>.Zeros(shape);
                K.LocalResponseNormBackward(T64(dy, shape), T64(x, shape), T64(y, shape), T64(scale, shape), dx, size, alpha, beta);
                return (dx.AsSpan().ToArray(), null, null);
            }, "lrn");
    }

    // ------------------------------------------------------------------ shape checks
    [Fact]
    public void Kernels_reject_wrong_shapes_naming_expected_and_actual()
    {
        var K = CpuKernels<float>.Instance;
        var x = Tensor<float>.Zeros(2, 3, 4, 4);
        var c3 = Tensor<float>.Zeros(3);
        var e = Assert.Throws<ArgumentException>(() => K.BatchNormForward(x, Tensor<float>.Zeros(4), c3, c3, c3, Tensor<float>.Zeros(2, 3, 4, 4), c3, c3, true, 1e-5f, 0.1f));
        Assert.Contains("weight", e.Message); Assert.Contains("[3]", e.Message); Assert.Contains("[4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.BatchNormForward(x, c3, c3, c3, c3, Tensor<float>.Zeros(2, 3, 4, 5), c3, c3, true, 1e-5f, 0.1f));
        Assert.Contains("[2, 3, 4, 4]", e.Message); Assert.Contains("[2, 3, 4, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.BatchNormForward(Tensor<float>.Zeros(1, 3), c3, c3, c3, c3, Tensor<float>.Zeros(1, 3), c3, c3, true, 1e-5f, 0.1f));
        Assert.Contains("more than 1 value per channel", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.GroupNormForward(x, null, null, Tensor<float>.Zeros(2, 3, 4, 4), Tensor<float>.Zeros(2, 2), Tensor<float>.Zeros(2, 2), 2, 1e-5f));
        Assert.Contains("groups", e.Message); Assert.Contains("3 channels", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.LayerNormForward(x, Tensor<float>.Zeros(4, 5), null, Tensor<float>.Zeros(2, 3, 4, 4), Tensor<float>.Zeros(2, 3), Tensor<float>.Zeros(2, 3), 2, 1e-5f));
        Assert.Contains("[4, 4]", e.Message); Assert.Contains("[4, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.LocalResponseNormForward(Tensor<float>.Zeros(2, 3), Tensor<float>.Zeros(2, 3), Tensor<float>.Zeros(2, 3), 5, 1e-4f, 0.75f, 2f));
        Assert.Contains("[2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.LocalResponseNormBackward(x, x, x, Tensor<float>.Zeros(2, 3, 4), Tensor<float>.Zeros(2, 3, 4, 4), 5, 1e-4f, 0.75f));
        Assert.Contains("scale", e.Message); Assert.Contains("[2, 3, 4]", e.Message);
    }
}

/// <summary>BatchNormApply (rematerialization) recomputes BatchNormForward's output bit for bit, with or without a fused relu.</summary>
public class BatchNormApplyTests
{
    private readonly struct ReluEpi<T> : IMap1<T>, IGpuMap1 where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Apply(T a) => T.Max(a, T.Zero);
        public System.Runtime.Intrinsics.Vector256<T> Apply(System.Runtime.Intrinsics.Vector256<T> a) => System.Runtime.Intrinsics.Vector256.Max(a, System.Runtime.Intrinsics.Vector256<T>.Zero);
        public System.Runtime.Intrinsics.Vector512<T> Apply(System.Runtime.Intrinsics.Vector512<T> a) => System.Runtime.Intrinsics.Vector512.Max(a, System.Runtime.Intrinsics.Vector512<T>.Zero);
        public float Apply(float a) => MathF.Max(a, 0f);
    }

    private static void Check<T>(int n, int c, int h, int w, bool training) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var k = new CpuKernels<T>();
        var rng = new Random(n * 131 + c * 7 + h);
        Tensor<T> Rand(params int[] shape) => Tensor<T>.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => T.CreateChecked(rng.NextDouble() * 4 - 2)).ToArray(), shape);
        int[] s = h == 1 && w == 1 ? [n, c] : [n, c, h, w];
        var x = Rand(s); var wt = Rand(c); var b = Rand(c); var rm = Rand(c);
        var rv = Tensor<T>.FromArray(Enumerable.Range(0, c).Select(i => T.CreateChecked(0.5 + i)).ToArray(), c);
        var y = Tensor<T>.Zeros(s); var mean = Tensor<T>.Zeros(c); var inv = Tensor<T>.Zeros(c);
        k.BatchNormForward(x, wt, b, rm, rv, y, mean, inv, training, T.CreateChecked(1e-5), T.CreateChecked(0.1));
        var again = Tensor<T>.FromArray(Enumerable.Repeat(T.NaN, y.Length).ToArray(), s);
        k.BatchNormApply(x, wt, b, mean, inv, again, default(Identity<T>), default(Identity<T>));
        Assert.Equal(y.AsSpan().ToArray(), again.AsSpan().ToArray());
        var relu = Tensor<T>.Zeros(s);
        k.Map(y, relu, default(ReluEpi<T>), default(ReluEpi<T>));
        var fused = Tensor<T>.FromArray(Enumerable.Repeat(T.NaN, y.Length).ToArray(), s);
        k.BatchNormApply(x, wt, b, mean, inv, fused, default(ReluEpi<T>), default(ReluEpi<T>));
        Assert.Equal(relu.AsSpan().ToArray(), fused.AsSpan().ToArray());
        Assert.Contains(fused.AsSpan().ToArray(), v => v == T.Zero);
    }

    [Theory]
    [InlineData(3, 5, 7, 9, true)]
    [InlineData(3, 5, 7, 9, false)]
    [InlineData(7, 13, 1, 1, true)]
    [InlineData(64, 16, 32, 32, true)]   // the parallel path
    public void BatchNormApply_recomputes_the_forward_output_bit_for_bit(int n, int c, int h, int w, bool training)
    {
        Check<float>(n, c, h, w, training);
        Check<double>(n, c, h, w, training);
    }
}
