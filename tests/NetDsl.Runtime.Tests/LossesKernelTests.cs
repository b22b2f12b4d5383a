namespace NetDsl.Runtime.Tests;

/// <summary>
/// The losses and regularization families' CPU kernels: each loss against a direct evaluation of its definition, each
/// backward against fp64 finite differences (with an upstream gradient dy ≠ 1), dropout2d / stochastic depth mask
/// statistics, structure and gradient, and the weight penalties.
/// </summary>
public class LossesKernelTests
{
    private static readonly CpuKernels<double> K = CpuKernels<double>.Instance;

    private static Tensor<int> Labels(Random rng, int n, int c)
    {
        var t = Tensor<int>.Zeros(n);
        for (int i = 0; i < n; i++) t.AsSpan()[i] = rng.Next(c);
        return t;
    }

    private static Tensor<double> Scalar(double v) => Tensor<double>.FromArray([v], 1);

    private static double Run(Action<Tensor<double>> forward)
    {
        var loss = Tensor<double>.Zeros(1);
        forward(loss);
        return loss.AsSpan()[0];
    }

    /// <summary>Checks d(dy·loss)/d(input) from the backward kernel against central differences of the forward.</summary>
    private static void GradCheck(Random rng, Tensor<double> input, Action<Tensor<double>> forward, double[] analytic, double dy)
        => TU.GradCheck(rng, input, () => [Run(forward)], [dy], analytic);

    [Theory]
    [InlineData(0.0, false, LossReduction.Mean)]
    [InlineData(0.2, false, LossReduction.Mean)]
    [InlineData(0.0, true, LossReduction.Mean)]
    [InlineData(0.15, true, LossReduction.Mean)]
    [InlineData(0.1, true, LossReduction.Sum)]
    public void Cross_entropy_with_smoothing_and_weights_is_pytorchs_formula_and_its_gradient_matches(double eps, bool weighted, LossReduction red)
    {
        var rng = new Random((int)(eps * 100) + (weighted ? 7 : 0) + (int)red);
        int n = 5, c = 7;
        var x = TU.Rand<double>(rng, n, c); var lab = Labels(rng, n, c);
        double[] w = weighted ? TU.RandArray(rng, c).Select(v => 1.2 + v).ToArray() : [];
        var probs = TU.Empty<double>(rng, n, c);
        double loss = Run(l => K.CrossEntropyForward(x, lab, w, eps, red, probs, l));
        // the definition: Σ_i [(1−ε) w_y (−log p_iy) + ε/C Σ_c w_c (−log p_ic)] / (Σ_i w_y or N, or 1 for the sum)
        var xs = TU.D(x); double total = 0, d = 0;
        for (int i = 0; i < n; i++)
        {
            int y = lab.AsSpan()[i];
            double lse = Math.Log(Enumerable.Range(0, c).Sum(j => Math.Exp(xs[i * c + j])));
            double W(int j) => weighted ? w[j] : 1;
            total += (1 - eps) * W(y) * (lse - xs[i * c + y]) + eps / c * Enumerable.Range(0, c).Sum(j => W(j) * (lse - xs[i * c + j]));
            d += W(y);
        }
        Assert.Equal(total / (red == LossReduction.Sum ? 1 : d), loss, 12);
        var dx = TU.Empty<double>(rng, n, c);
        K.CrossEntropyBackward(Scalar(0.7), probs, lab, w, eps, red, dx);
        TU.CheckGuards(dx);
        GradCheck(rng, x, l => K.CrossEntropyForward(x, lab, w, eps, red, Tensor<double>.Zeros(n, c), l), TU.D(dx), 0.7);
    }

    [Fact]
    public void Cross_entropy_per_position_on_the_last_axis_equals_the_flattened_rows()
    {
        // scores [2, 3, 4] (N, T, classes) with labels [2, 3] is the same loss and gradient as [6, 4] with labels [6]
        var rng = new Random(5);
        var x3 = TU.Rand<double>(rng, 2, 3, 4);
        var lab2 = Tensor<int>.FromArray([0, 3, 1, 2, 2, 0], 2, 3);
        var x2 = Tensor<double>.FromArray(x3.CopyToHost(), 6, 4);
        var lab1 = Tensor<int>.FromArray(lab2.CopyToHost(), 6);
        var (p3, p2) = (Tensor<double>.Zeros(2, 3, 4), Tensor<double>.Zeros(6, 4));
        double a = Run(l => K.CrossEntropyForward(x3, lab2, ReadOnlySpan<double>.Empty, 0.1, LossReduction.Mean, p3, l));
        double b = Run(l => K.CrossEntropyForward(x2, lab1, ReadOnlySpan<double>.Empty, 0.1, LossReduction.Mean, p2, l));
        Assert.Equal(b, a, 14);
        var (d3, d2) = (Tensor<double>.Zeros(2, 3, 4), Tensor<double>.Zeros(6, 4));
        K.CrossEntropyBackward(Scalar(1), p3, lab2, ReadOnlySpan<double>.Empty, 0.1, LossReduction.Mean, d3);
        K.CrossEntropyBackward(Scalar(1), p2, lab1, ReadOnlySpan<double>.Empty, 0.1, LossReduction.Mean, d2);
        Assert.Equal(d2.CopyToHost(), d3.CopyToHost());
        Assert.Throws<ArgumentException>(() => Run(l => K.CrossEntropyForward(x3, lab1, ReadOnlySpan<double>.Empty, 0, LossReduction.Mean, p3, l)));
    }

    [Fact]
    public void Class_losses_reject_bad_labels_and_weight_counts_naming_both_sides()
    {
        var x = Tensor<double>.Zeros(2, 3); var lab = Tensor<int>.FromArray([0, 3], 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => K.NllLossForward(x, lab, ReadOnlySpan<double>.Empty, LossReduction.Mean, Tensor<double>.Zeros(1)));
        var e = Assert.Throws<ArgumentException>(() => K.CrossEntropyForward(x, Tensor<int>.Zeros(2), [1.0, 2.0], 0, LossReduction.Mean, Tensor<double>.Zeros(2, 3), Tensor<double>.Zeros(1)));
        Assert.Contains("expected 3 class weights", e.Message);
        Assert.Contains("got 2", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => K.MseBackwardWrongDy());
        Assert.Contains("[1]", e2.Message);
    }

    [Theory]
    [InlineData(false, LossReduction.Mean)]
    [InlineData(true, LossReduction.Sum)]
    public void Nll_loss_picks_the_label_log_probability(bool weighted, LossReduction red)
    {
        var rng = new Random(weighted ? 3 : 4);
        int n = 6, c = 5;
        var x = TU.Rand<double>(rng, n, c); var lab = Labels(rng, n, c);
        double[] w = weighted ? [0.5, 1, 2, 1.5, 0.25] : [];
        double loss = Run(l => K.NllLossForward(x, lab, w, red, l));
        var xs = TU.D(x); var ys = lab.AsSpan().ToArray();
        double num = ys.Select((y, i) => -(weighted ? w[y] : 1) * xs[i * c + y]).Sum(), den = red == LossReduction.Sum ? 1 : ys.Sum(y => weighted ? w[y] : 1);
        Assert.Equal(num / den, loss, 13);
        var dx = TU.Empty<double>(rng, n, c);
        K.NllLossBackward(Scalar(1.3), lab, w, red, dx);
        GradCheck(rng, x, l => K.NllLossForward(x, lab, w, red, l), TU.D(dx), 1.3);
    }

    [Theory]
    [InlineData(1.0, false, LossReduction.Mean)]
    [InlineData(0.5, true, LossReduction.Sum)]
    [InlineData(2.0, true, LossReduction.Mean)]
    public void Hinge_is_multi_margin_loss_and_its_gradient_matches(double margin, bool squared, LossReduction red)
    {
        var rng = new Random((int)(margin * 10) + (squared ? 1 : 0));
        int n = 5, c = 4;
        var x = TU.Rand<double>(rng, n, c); var lab = Labels(rng, n, c);
        double loss = Run(l => K.MultiMarginForward(x, lab, margin, squared, red, l));
        var xs = TU.D(x); double total = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++)
                if (j != lab.AsSpan()[i]) { double u = Math.Max(0, margin - xs[i * c + lab.AsSpan()[i]] + xs[i * c + j]); total += (squared ? u * u : u) / c; }
        Assert.Equal(red == LossReduction.Sum ? total : total / n, loss, 13);
        var dx = TU.Empty<double>(rng, n, c);
        K.MultiMarginBackward(Scalar(0.9), x, lab, margin, squared, red, dx);
        GradCheck(rng, x, l => K.MultiMarginForward(x, lab, margin, squared, red, l), TU.D(dx), 0.9);
    }

    [Theory]
    [InlineData(2.0, 0.25, LossReduction.Mean)]
    [InlineData(0.0, 1.0, LossReduction.Mean)]
    [InlineData(0.5, 0.5, LossReduction.Sum)]
    public void Focal_is_minus_alpha_one_minus_pt_to_gamma_log_pt(double gamma, double alpha, LossReduction red)
    {
        var rng = new Random((int)(gamma * 10 + alpha * 100));
        int n = 5, c = 6;
        var x = TU.Rand<double>(rng, n, c); var lab = Labels(rng, n, c);
        var probs = TU.Empty<double>(rng, n, c);
        double loss = Run(l => K.FocalLossForward(x, lab, gamma, alpha, red, probs, l));
        var xs = TU.D(x); double total = 0;
        for (int i = 0; i < n; i++)
        {
            double lse = Math.Log(Enumerable.Range(0, c).Sum(j => Math.Exp(xs[i * c + j]))), logp = xs[i * c + lab.AsSpan()[i]] - lse;
            total += -alpha * Math.Pow(1 - Math.Exp(logp), gamma) * logp;
        }
        Assert.Equal(red == LossReduction.Sum ? total : total / n, loss, 13);
        if (gamma == 0)   // γ = 0, α = 1 is cross-entropy
            Assert.Equal(Run(l => K.CrossEntropyForward(x, lab, ReadOnlySpan<double>.Empty, 0, red, Tensor<double>.Zeros(n, c), l)), loss, 13);
        var dx = TU.Empty<double>(rng, n, c);
        K.FocalLossBackward(Scalar(0.6), probs, lab, gamma, alpha, red, dx);
        GradCheck(rng, x, l => K.FocalLossForward(x, lab, gamma, alpha, red, Tensor<double>.Zeros(n, c), l), TU.D(dx), 0.6);
    }

    [Theory]
    [InlineData(RegressionLoss.Mse, 1.0, LossReduction.Mean)]
    [InlineData(RegressionLoss.L1, 1.0, LossReduction.Sum)]
    [InlineData(RegressionLoss.SmoothL1, 0.5, LossReduction.Mean)]
    [InlineData(RegressionLoss.SmoothL1, 0.0, LossReduction.Sum)]
    public void Regression_losses_match_their_definitions_and_gradients(RegressionLoss kind, double beta, LossReduction red)
    {
        var rng = new Random((int)kind * 10 + (int)(beta * 4));
        var y = TU.Rand<double>(rng, 3, 7); var t = TU.Rand<double>(rng, 3, 7);
        double loss = Run(l => K.RegressionLossForward(kind, y, t, beta, red, l));
        var d = TU.D(y).Zip(TU.D(t), (a, b) => a - b).ToArray();
        double Term(double v) => kind switch
        {
            RegressionLoss.Mse => v * v,
            RegressionLoss.L1 => Math.Abs(v),
            _ => Math.Abs(v) < beta ? 0.5 * v * v / beta : Math.Abs(v) - 0.5 * beta,
        };
        Assert.Equal(d.Sum(Term) / (red == LossReduction.Sum ? 1 : d.Length), loss, 13);
        var dp = TU.Empty<double>(rng, 3, 7);
        K.RegressionLossBackward(kind, Scalar(1.7), y, t, beta, red, dp);
        TU.CheckGuards(dp);
        GradCheck(rng, y, l => K.RegressionLossForward(kind, y, t, beta, red, l), TU.D(dp), 1.7);
    }

    [Fact]
    public void Penalties_sum_l1_and_l2_over_every_tensor_and_their_gradient_matches()
    {
        var rng = new Random(9);
        var w1 = TU.Rand<double>(rng, 3, 5); var w2 = TU.Rand<double>(rng, 7);
        double loss = Run(l => K.PenaltyForward([w1, w2], 0.3, 0.2, l));
        var all = TU.D(w1).Concat(TU.D(w2)).ToArray();
        Assert.Equal(0.3 * all.Sum(Math.Abs) + 0.2 * all.Sum(v => v * v), loss, 13);
        var dw = TU.Empty<double>(rng, 3, 5);
        K.PenaltyBackward(Scalar(0.5), w1, 0.3, 0.2, dw);
        GradCheck(rng, w1, l => K.PenaltyForward([w1, w2], 0.3, 0.2, l), TU.D(dw), 0.5);
    }

    [Theory]
    [InlineData("dropout2d", 0.3)]
    [InlineData("dropout2d", 0.0)]
    [InlineData("stochastic_depth", 0.25)]
    public void Block_dropout_drops_whole_planes_or_samples_with_probability_p_and_scales_the_rest(string op, double p)
    {
        var rng = new Random(5);
        int[] shape = op == "dropout2d" ? [40, 50, 3, 5] : [2000, 3, 5];
        int block = op == "dropout2d" ? 15 : 15;
        var x = TU.Rand<double>(rng, shape);
        var mask = TU.Empty<double>(rng, shape); var y = TU.Empty<double>(rng, shape);
        void Fwd(ulong seed)
        {
            if (op == "dropout2d") K.Dropout2dForward(x, mask, y, p, seed); else K.StochasticDepthForward(x, mask, y, p, seed);
        }
        Fwd(42);
        TU.CheckGuards(mask); TU.CheckGuards(y);
        var m = TU.D(mask); var xs = TU.D(x); var ys = TU.D(y);
        int blocks = m.Length / block, dropped = 0;
        for (int b = 0; b < blocks; b++)
        {
            double v = m[b * block];
            Assert.True(v == 0 || Math.Abs(v - 1 / (1 - p)) < 1e-15, $"mask value {v}");
            for (int k = 0; k < block; k++) Assert.Equal(v, m[b * block + k]);   // one decision per plane / sample
            if (v == 0) dropped++;
        }
        for (int i = 0; i < m.Length; i++) Assert.Equal(xs[i] * m[i], ys[i]);
        // binomial(blocks, p): within 4 standard deviations
        double sd = Math.Sqrt(blocks * p * (1 - p));
        Assert.InRange(dropped, blocks * p - 4 * sd - 1e-9, blocks * p + 4 * sd + 1e-9);
        // the backward is dy·mask (the element-wise dropout_bwd): d(Σ r·y)/dx is r·mask, checked by finite differences
        var r = TU.RandArray(rng, m.Length);
        var xsmall = x; // reuse the same seed each forward so the mask is fixed
        TU.GradCheck(rng, xsmall, () => { Fwd(42); return TU.D(y); }, r, r.Zip(m, (a, b) => a * b).ToArray(), maxChecks: 50);
        // same seed, same mask; another seed, another mask
        Fwd(42); Assert.Equal(m, TU.D(mask));
        if (p > 0) { Fwd(43); Assert.NotEqual(m, TU.D(mask)); }
    }
}

internal static class KernelTestExtensions
{
    /// <summary>A backward call with a dy that is not [1] (the kernels must say what they expected).</summary>
    public static object MseBackwardWrongDy(this CpuKernels<double> k)
    {
        k.RegressionLossBackward(RegressionLoss.Mse, Tensor<double>.Zeros(2), Tensor<double>.Zeros(3), Tensor<double>.Zeros(3), 1.0, LossReduction.Mean, Tensor<double>.Zeros(3));
        return k;
    }
}
