namespace NetDsl.Runtime.Tests;

/// <summary>
/// The generative family's CPU kernels: noise statistics (mean and variance within 5σ, uniform range, different seeds give
/// different draws, the same seed the same), the reparameterized sample's value and gradients (fp64 finite differences with
/// ε fixed by the seed), each loss against its definition and its backward against fp64 finite differences with dy ≠ 1, and
/// shape errors naming both shapes.
/// </summary>
public class GenerativeKernelTests
{
    private static readonly CpuKernels<double> K = CpuKernels<double>.Instance;

    private static double[] Rand(Random r, int n, double lo = -1, double hi = 1) => Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * r.NextDouble()).ToArray();
    private static Tensor<double> T(double[] v, params int[] shape) => Tensor<double>.FromArray(v, shape);
    private static Tensor<double> Scalar(double v) => T([v], 1);

    [Theory]
    [InlineData(RandomKind.Normal, 0.5, 2.0)]
    [InlineData(RandomKind.Uniform, -1.0, 3.0)]
    public void Noise_has_the_right_statistics_and_is_keyed_by_the_seed(RandomKind kind, double a, double b)
    {
        const int n = 20001; // odd: the parallel split's tail
        var y = Tensor<double>.Zeros(n);
        K.RandomFill(y, kind, a, b, 7UL);
        var v = y.AsSpan().ToArray();
        double mean = v.Average(), var = v.Select(x => (x - mean) * (x - mean)).Sum() / (n - 1);
        double m0 = kind == RandomKind.Normal ? a : (a + b) / 2, v0 = kind == RandomKind.Normal ? b * b : (b - a) * (b - a) / 12;
        Assert.True(Math.Abs(mean - m0) < 5 * Math.Sqrt(v0 / n), $"mean {mean}, expected {m0}");
        Assert.True(Math.Abs(var - v0) < 5 * v0 * Math.Sqrt(2.0 / n) * (kind == RandomKind.Normal ? 1 : 0.8), $"variance {var}, expected {v0}");
        if (kind == RandomKind.Uniform) Assert.All(v, x => Assert.InRange(x, a, b));
        else
        {
            // normal tails: about 4.55 % beyond 2σ
            double beyond = v.Count(x => Math.Abs(x - a) > 2 * b) / (double)n;
            Assert.InRange(beyond, 0.0455 - 0.006, 0.0455 + 0.006);
        }
        var again = Tensor<double>.Zeros(n); K.RandomFill(again, kind, a, b, 7UL);
        Assert.Equal(v, again.AsSpan().ToArray());
        var other = Tensor<double>.Zeros(n); K.RandomFill(other, kind, a, b, 8UL);
        Assert.True(v.Zip(other.AsSpan().ToArray()).Count(p => p.First == p.Second) < 5);
    }

    [Fact]
    public void Sample_normal_is_mu_plus_sigma_eps_and_its_gradients_match_finite_differences()
    {
        var r = new Random(1);
        int n = 3, d = 7;
        var mu = T(Rand(r, n * d), n, d); var lv = T(Rand(r, n * d), n, d);
        var noise = Tensor<double>.Zeros(n, d); var z = Tensor<double>.Zeros(n, d);
        K.SampleNormalForward(mu, lv, noise, z, sample: true, seed: 42);
        var eps = Tensor<double>.Zeros(n, d); K.RandomFill(eps, RandomKind.Normal, 0, 1, 42);   // the same stream
        for (int i = 0; i < n * d; i++)
        {
            Assert.Equal(Math.Exp(0.5 * lv.AsSpan()[i]) * eps.AsSpan()[i], noise.AsSpan()[i], 1e-14);
            Assert.Equal(mu.AsSpan()[i] + noise.AsSpan()[i], z.AsSpan()[i], 1e-14);
        }
        // eval "mean": z = mu, noise 0
        K.SampleNormalForward(mu, lv, noise, z, sample: false, seed: 42);
        Assert.Equal(mu.AsSpan().ToArray(), z.AsSpan().ToArray());
        Assert.All(noise.AsSpan().ToArray(), v => Assert.Equal(0.0, v));

        // d(Σ w·z)/dlogvar = ½·w·noise (what the sample_normal_bwd functor computes), dmu = w; with ε fixed by the seed
        var w = Rand(r, n * d);
        double[] Z() { var nz = Tensor<double>.Zeros(n, d); var zz = Tensor<double>.Zeros(n, d); K.SampleNormalForward(mu, lv, nz, zz, true, 42); return zz.AsSpan().ToArray(); }
        K.SampleNormalForward(mu, lv, noise, z, true, 42);
        var dlv = Enumerable.Range(0, n * d).Select(i => 0.5 * w[i] * noise.AsSpan()[i]).ToArray();
        TU.GradCheck(r, lv, Z, w, dlv);
        TU.GradCheck(r, mu, Z, w, w);
    }

    [Theory]
    [InlineData(PointwiseLoss.Bce, GenReduction.Mean)]
    [InlineData(PointwiseLoss.Bce, GenReduction.Sum)]
    [InlineData(PointwiseLoss.BceWithLogits, GenReduction.Mean)]
    [InlineData(PointwiseLoss.BceWithLogits, GenReduction.BatchMean)]
    [InlineData(PointwiseLoss.KlNormal, GenReduction.BatchMean)]
    [InlineData(PointwiseLoss.SoftplusNeg, GenReduction.Mean)]
    [InlineData(PointwiseLoss.Softplus, GenReduction.Sum)]
    [InlineData(PointwiseLoss.NegSoftplus, GenReduction.Mean)]
    public void Pointwise_losses_match_their_definitions_and_finite_differences(PointwiseLoss kind, GenReduction red)
    {
        var r = new Random((int)kind * 10 + (int)red);
        int n = 3, d = 5;
        var a = T(kind == PointwiseLoss.Bce ? Rand(r, n * d, 0.05, 0.95) : Rand(r, n * d, -3, 3), n, d);
        var b = T(kind == PointwiseLoss.KlNormal ? Rand(r, n * d, -2, 2) : Rand(r, n * d, 0, 1), n, d);
        double Loss() { var l = Scalar(0); K.PointwiseLossForward(kind, a, b, red, l); return l.AsSpan()[0]; }
        double div = red == GenReduction.Sum ? 1 : red == GenReduction.BatchMean ? n : n * d;
        double expected = 0;
        for (int i = 0; i < n * d; i++)
        {
            double x = a.AsSpan()[i], t = b.AsSpan()[i], s = 1 / (1 + Math.Exp(-x));
            expected += kind switch
            {
                PointwiseLoss.Bce => -(t * Math.Log(x) + (1 - t) * Math.Log(1 - x)),
                PointwiseLoss.BceWithLogits => -(t * Math.Log(s) + (1 - t) * Math.Log(1 - s)),
                PointwiseLoss.KlNormal => 0.5 * (Math.Exp(t) + x * x - 1 - t),
                PointwiseLoss.SoftplusNeg => -Math.Log(s),
                PointwiseLoss.Softplus => -Math.Log(1 - s),
                _ => Math.Log(1 - s),
            };
        }
        Assert.Equal(expected / div, Loss(), 1e-12);
        const double dy = 1.7;
        var da = Tensor<double>.Zeros(n, d); var db = Tensor<double>.Zeros(n, d);
        K.PointwiseLossBackward(kind, Scalar(dy), a, b, red, da, db);
        TU.GradCheck(r, a, () => [Loss()], [dy], da.AsSpan().ToArray());
        if (kind is PointwiseLoss.Bce or PointwiseLoss.BceWithLogits or PointwiseLoss.KlNormal)
            TU.GradCheck(r, b, () => [Loss()], [dy], db.AsSpan().ToArray());
    }

    [Fact]
    public void Bce_rejects_values_outside_0_1()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => K.PointwiseLossForward(PointwiseLoss.Bce, T([0.5, 1.5], 1, 2), T([0.0, 1.0], 1, 2), GenReduction.Mean, Scalar(0)));
        Assert.Contains("1.5", e.Message);
    }

    [Fact]
    public void Triplet_margin_is_pytorchs_and_its_gradients_match()
    {
        var r = new Random(3);
        int n = 5, d = 7;
        var a = T(Rand(r, n * d), n, d); var p = T(Rand(r, n * d), n, d); var ng = T(Rand(r, n * d), n, d);
        double Loss() { var l = Scalar(0); K.TripletMarginForward(a, p, ng, 0.8, GenReduction.Mean, l); return l.AsSpan()[0]; }
        double expected = 0;
        for (int i = 0; i < n; i++)
        {
            double dp = 0, dn = 0;
            for (int j = 0; j < d; j++)
            {
                double u = a.AsSpan()[i * d + j] - p.AsSpan()[i * d + j] + 1e-6, v = a.AsSpan()[i * d + j] - ng.AsSpan()[i * d + j] + 1e-6;
                dp += u * u; dn += v * v;
            }
            expected += Math.Max(Math.Sqrt(dp) - Math.Sqrt(dn) + 0.8, 0);
        }
        Assert.Equal(expected / n, Loss(), 1e-12);
        var ga = Tensor<double>.Zeros(n, d); var gp = Tensor<double>.Zeros(n, d); var gn = Tensor<double>.Zeros(n, d);
        K.TripletMarginBackward(Scalar(0.6), a, p, ng, 0.8, GenReduction.Mean, ga, gp, gn);
        TU.GradCheck(r, a, () => [Loss()], [0.6], ga.AsSpan().ToArray());
        TU.GradCheck(r, p, () => [Loss()], [0.6], gp.AsSpan().ToArray());
        TU.GradCheck(r, ng, () => [Loss()], [0.6], gn.AsSpan().ToArray());
    }

    [Theory]
    [InlineData(GenReduction.Mean)]
    [InlineData(GenReduction.Sum)]
    public void Nt_xent_gradients_match_finite_differences(GenReduction red)
    {
        var r = new Random(4);
        int n = 4, d = 6;
        var z1 = T(Rand(r, n * d), n, d); var z2 = T(Rand(r, n * d), n, d);
        double Loss() { var l = Scalar(0); K.NtXentForward(z1, z2, 0.5, red, l); return l.AsSpan()[0]; }
        var d1 = Tensor<double>.Zeros(n, d); var d2 = Tensor<double>.Zeros(n, d);
        K.NtXentBackward(Scalar(1.3), z1, z2, 0.5, red, d1, d2);
        TU.GradCheck(r, z1, () => [Loss()], [1.3], d1.AsSpan().ToArray());
        TU.GradCheck(r, z2, () => [Loss()], [1.3], d2.AsSpan().ToArray());
        // a known value: N = 1, z1 = z2 → one positive (s = 1/τ) and no negative: loss = 0
        var one = T([1.0, 2.0], 1, 2); var l0 = Scalar(5);
        K.NtXentForward(one, one, 0.5, GenReduction.Mean, l0);
        Assert.Equal(0.0, l0.AsSpan()[0], 1e-12);
    }

    [Fact]
    public void Distill_is_t2_kl_and_its_gradient_matches()
    {
        var r = new Random(5);
        int n = 3, c = 7;
        var s = T(Rand(r, n * c, -3, 3), n, c); var t = T(Rand(r, n * c, -3, 3), n, c);
        double Loss() { var l = Scalar(0); K.DistillForward(s, t, 4.0, GenReduction.BatchMean, l); return l.AsSpan()[0]; }
        Assert.True(Loss() > 0);
        var same = Scalar(1); K.DistillForward(t, t, 4.0, GenReduction.BatchMean, same);
        Assert.Equal(0.0, same.AsSpan()[0], 1e-12);   // KL(p ‖ p) = 0
        var ds = Tensor<double>.Zeros(n, c);
        K.DistillBackward(Scalar(0.8), s, t, 4.0, GenReduction.BatchMean, ds);
        TU.GradCheck(r, s, () => [Loss()], [0.8], ds.AsSpan().ToArray());
    }

    [Fact]
    public void Shape_errors_name_both_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => K.PointwiseLossForward(PointwiseLoss.KlNormal, Tensor<double>.Zeros(2, 3), Tensor<double>.Zeros(2, 4), GenReduction.Mean, Scalar(0)));
        Assert.Contains("[2, 3]", e.Message); Assert.Contains("[2, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.NtXentForward(Tensor<double>.Zeros(2, 3, 1), Tensor<double>.Zeros(2, 3, 1), 0.5, GenReduction.Mean, Scalar(0)));
        Assert.Contains("[N, D]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.SampleNormalForward(Tensor<double>.Zeros(2, 3), Tensor<double>.Zeros(3, 2), Tensor<double>.Zeros(2, 3), Tensor<double>.Zeros(2, 3), true, 1));
        Assert.Contains("[3, 2]", e.Message);
    }
}
