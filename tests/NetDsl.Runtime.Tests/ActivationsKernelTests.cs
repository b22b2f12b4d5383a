using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The activations family's CPU kernels (PReLU, softmax / log-softmax, maxout) against naive loops written here, on odd
/// sizes and views with guards, their backward kernels against fp64 finite differences, and the VMath helpers
/// (erf, the normal CDF, log1p) against known values and each other across widths.
/// </summary>
public class ActivationsKernelTests
{
    private static readonly CpuKernels<double> K = CpuKernels<double>.Instance;

    [Theory]
    [InlineData(false, new[] { 3, 5, 7 })]
    [InlineData(true, new[] { 3, 5, 7 })]
    [InlineData(true, new[] { 4, 3, 3, 5 })]
    [InlineData(false, new[] { 37 })]
    public void PRelu_forward_matches_the_formula_and_backward_matches_finite_differences(bool channels, int[] shape)
    {
        var rng = new Random(shape.Length * 10 + (channels ? 1 : 0));
        var x = TU.Rand<double>(rng, shape);
        int c = channels ? shape[1] : 1, inner = channels ? x.Length / (shape[0] * shape[1]) : x.Length;
        var slope = TU.Rand<double>(rng, c);
        var y = TU.Empty<double>(rng, shape);
        K.PReluForward(x, slope, y);
        var xs = TU.D(x); var a = TU.D(slope);
        TU.Close(xs.Select((v, i) => v > 0 ? v : a[channels ? i / inner % c : 0] * v).ToArray(), y, 1e-15, "y");

        var dy = TU.Rand<double>(rng, shape);
        var dx = TU.Empty<double>(rng, shape);
        var ds = TU.Empty<double>(rng, c);
        K.PReluBackward(dy, x, slope, dx, ds);
        TU.CheckGuards(dx); TU.CheckGuards(ds);
        double[] Fwd() { var o = Tensor<double>.Zeros(shape); K.PReluForward(x, slope, o); return TU.D(o); }
        TU.GradCheck(rng, x, Fwd, TU.D(dy), TU.D(dx));
        TU.GradCheck(rng, slope, Fwd, TU.D(dy), TU.D(ds));
        // dx may be omitted (input without a gradient): the slope gradient is unchanged
        var ds2 = TU.Empty<double>(rng, c);
        K.PReluBackward(dy, x, slope, null, ds2);
        TU.Close(TU.D(ds), ds2, 1e-15, "dslope without dx");
    }

    [Fact]
    public void PRelu_rejects_a_slope_that_is_neither_one_value_nor_one_per_channel()
    {
        var e = Assert.Throws<ArgumentException>(() => K.PReluForward(Tensor<double>.Zeros(2, 3, 4), Tensor<double>.Zeros(4), Tensor<double>.Zeros(2, 3, 4)));
        Assert.Contains("[N, 4, ...]", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
    }

    private static double[] NaiveSoftmax(double[] x, int[] shape, int axis, bool log)
    {
        int outer = shape[..axis].Aggregate(1, (p, d) => p * d), size = shape[axis], inner = shape[(axis + 1)..].Aggregate(1, (p, d) => p * d);
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
        {
            double m = double.NegativeInfinity, s = 0;
            for (int j = 0; j < size; j++) m = Math.Max(m, x[(o * size + j) * inner + i]);
            for (int j = 0; j < size; j++) s += Math.Exp(x[(o * size + j) * inner + i] - m);
            for (int j = 0; j < size; j++) { int k = (o * size + j) * inner + i; y[k] = log ? x[k] - m - Math.Log(s) : Math.Exp(x[k] - m) / s; }
        }
        return y;
    }

    [Theory]
    [InlineData(new[] { 3, 37 }, 1, false)]
    [InlineData(new[] { 3, 37 }, 1, true)]
    [InlineData(new[] { 2, 5, 3, 3 }, 1, false)]
    [InlineData(new[] { 2, 5, 3, 3 }, 1, true)]
    [InlineData(new[] { 4, 6, 5 }, 0, true)]
    [InlineData(new[] { 2, 3, 19 }, 2, false)]
    public void Softmax_matches_the_naive_rows_and_its_backward_matches_finite_differences(int[] shape, int axis, bool log)
    {
        var rng = new Random(axis * 7 + shape.Sum() + (log ? 1 : 0));
        var x = TU.Rand<double>(rng, shape);
        // large offsets: the max is subtracted, so nothing overflows
        var xs = x.AsSpan(); for (int i = 0; i < xs.Length; i++) xs[i] *= 30;
        var y = TU.Empty<double>(rng, shape);
        K.SoftmaxForward(x, y, axis, log);
        TU.Close(NaiveSoftmax(TU.D(x), shape, axis, log), y, 1e-13, "y");
        for (int i = 0; i < xs.Length; i++) xs[i] /= 30;
        K.SoftmaxForward(x, y, axis, log);

        var dy = TU.Rand<double>(rng, shape);
        var dx = TU.Empty<double>(rng, shape);
        K.SoftmaxBackward(dy, y, dx, axis, log);
        TU.CheckGuards(dx);
        TU.GradCheck(rng, x, () => { var o = Tensor<double>.Zeros(shape); K.SoftmaxForward(x, o, axis, log); return TU.D(o); }, TU.D(dy), TU.D(dx));
    }

    [Fact]
    public void Softmax_in_float_agrees_with_double_on_a_wide_row_that_uses_the_vector_path()
    {
        var rng = new Random(3);
        var xd = TU.Rand<double>(rng, 2, 129);
        var xf = TU.Convert<float>(rng, xd);
        var yd = Tensor<double>.Zeros(2, 129); var yf = TU.Empty<float>(rng, 2, 129);
        K.SoftmaxForward(xd, yd, 1, log: false);
        CpuKernels<float>.Instance.SoftmaxForward(xf, yf, 1, log: false);
        TU.Close(TU.D(yd), yf, 1e-6, "float softmax");
    }

    [Theory]
    [InlineData(new[] { 2, 6, 3, 5 }, 3)]
    [InlineData(new[] { 3, 8 }, 2)]
    [InlineData(new[] { 1, 5, 7 }, 5)]
    [InlineData(new[] { 2, 4, 3 }, 1)]
    public void Maxout_takes_the_max_of_each_channel_group_and_routes_the_gradient_to_it(int[] shape, int pieces)
    {
        var rng = new Random(pieces + shape.Sum());
        var x = TU.Rand<double>(rng, shape);
        var yShape = (int[])shape.Clone(); yShape[1] /= pieces;
        var y = TU.Empty<double>(rng, yShape);
        var am = Tensor<int>.Zeros(yShape);
        K.MaxoutForward(x, y, am, pieces);
        int n = shape[0], c = yShape[1], inner = y.Length / (n * c);
        var xs = TU.D(x);
        var expected = new double[y.Length];
        for (int a = 0; a < n; a++)
        for (int b = 0; b < c; b++)
        for (int s = 0; s < inner; s++)
            expected[(a * c + b) * inner + s] = Enumerable.Range(0, pieces).Max(j => xs[(a * c * pieces + b * pieces + j) * inner + s]);
        TU.Close(expected, y, 0, "y");

        var dy = TU.Rand<double>(rng, yShape);
        var dx = TU.Empty<double>(rng, shape);
        K.MaxoutBackward(dy, am, dx, pieces);
        TU.CheckGuards(dx);
        TU.GradCheck(rng, x, () => { var o = Tensor<double>.Zeros(yShape); K.MaxoutForward(x, o, Tensor<int>.Zeros(yShape), pieces); return TU.D(o); }, TU.D(dy), TU.D(dx));
    }

    [Fact]
    public void Maxout_names_both_shapes_when_channels_do_not_divide()
    {
        var e = Assert.Throws<ArgumentException>(() => K.MaxoutForward(Tensor<double>.Zeros(2, 5), Tensor<double>.Zeros(2, 2), Tensor<int>.Zeros(2, 2), 2));
        Assert.Contains("[N, C·2, ...]", e.Message);
        Assert.Contains("[2, 5]", e.Message);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(-2.0, -0.9953222650189527)]
    [InlineData(3.0, 0.9999779095030014)]
    [InlineData(-0.01, -0.011283415555849618)]
    [InlineData(6.0, 1.0)]
    public void Erf_is_accurate_in_every_form(double x, double expected)
    {
        Assert.True(Math.Abs(VMath.Erf(x) - expected) < 1e-15, $"scalar erf({x}) = {VMath.Erf(x):R}");
        Assert.True(Math.Abs(VMath.Erf(Vector256.Create(x))[3] - expected) < 1e-15, "Vector256");
        Assert.True(Math.Abs(VMath.Erf(Vector512.Create(x))[7] - expected) < 1e-15, "Vector512");
        Assert.True(Math.Abs(VMath.Erf((float)x) - expected) < 1e-6, "float");
        Assert.True(Math.Abs(VMath.ErfGpu((float)x) - expected) < 1e-6, "gpu float");
        // Φ(x) = (1 + erf(x/√2))/2, accurate in the left tail through erfc
        Assert.True(Math.Abs(VMath.NormalCdf(x * Math.Sqrt(2)) - 0.5 * (1 + expected)) < 1e-15);
    }

    [Fact]
    public void Normal_cdf_keeps_relative_accuracy_in_the_left_tail_and_log1p_for_tiny_arguments()
    {
        // Φ(−8) = 6.22096057427178e-16 (erfc-based: no cancellation against 1)
        Assert.True(Math.Abs(VMath.NormalCdf(-8.0) / 6.22096057427178e-16 - 1) < 1e-12);
        Assert.Equal(1e-20, VMath.Log1p(1e-20));
        Assert.True(Math.Abs(VMath.Log1p(1e-10) - 9.9999999995e-11) < 1e-24);
        Assert.True(Math.Abs(VMath.Log1p(Vector256.Create(1e-10))[0] - 9.9999999995e-11) < 1e-24);
        Assert.Equal(Math.Log(3.5), VMath.Log1p(2.5), 15);
    }

    // The activations' scalar, vector and ILGPU forms are written from one expression each; tests/NetDsl.Generator.Tests/ElemDefTests.cs
    // checks that they agree and that their gradients match finite differences.
}
