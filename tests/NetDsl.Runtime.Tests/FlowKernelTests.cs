using NetDsl.Runtime;
using Xunit;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// Flow kernels on the CPU: the invconv weight equals P·L·(U + diag e^s) built by hand and its inverse multiplies it to
/// the identity; every backward against fp64 finite differences of a random linear functional (odd sizes); shape errors.
/// </summary>
public class FlowKernelTests
{
    private static readonly CpuKernels<double> K = new();

    private static Tensor<double> Rand(int seed, double scale, params int[] shape)
    {
        var rng = new Random(seed);
        int n = shape.Aggregate(1, (a, b) => a * b);
        return Tensor<double>.FromArray(Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2 - 1) * scale).ToArray(), shape);
    }

    private static double Dot(Tensor<double> a, Tensor<double> b) => a.CopyToHost().Zip(b.CopyToHost(), (x, y) => x * y).Sum();

    /// <summary>d f / d p = grad by central differences (the shared check: every element, then a random direction).</summary>
    private static void FiniteDiff(Tensor<double> p, Func<double> f, Tensor<double> grad) =>
        TU.GradCheck(new Random(p.Length), p, () => [f()], [1.0], TU.D(grad));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InvConv_weight_and_its_gradient(bool inverse)
    {
        const int C = 5;
        var lower = Rand(1, 0.5, C, C); var upper = Rand(2, 0.5, C, C); var logs = Rand(3, 0.5, C);
        int[] perm = [4, 3, 2, 1, 0];
        var w = Tensor<double>.FromArray(new double[C * C], C, C, 1, 1);
        K.InvConvWeightForward(lower, upper, logs, w, perm, inverse);
        var wf = Tensor<double>.FromArray(new double[C * C], C, C, 1, 1);
        K.InvConvWeightForward(lower, upper, logs, wf, perm, !inverse);
        // W·W⁻¹ = I
        var a = w.CopyToHost(); var b = wf.CopyToHost();
        for (int i = 0; i < C; i++) for (int j = 0; j < C; j++)
        {
            double s = 0; for (int k = 0; k < C; k++) s += a[i * C + k] * b[k * C + j];
            Assert.True(Math.Abs(s - (i == j ? 1 : 0)) < 1e-12, $"(W W^-1)[{i},{j}] = {s}");
        }
        var r = Rand(4, 1, C, C, 1, 1);
        double F() { var t = Tensor<double>.FromArray(new double[C * C], C, C, 1, 1); K.InvConvWeightForward(lower, upper, logs, t, perm, inverse); return Dot(t, r); }
        var work = Tensor<double>.FromArray(new double[C * C], C, C);
        var dl = Tensor<double>.FromArray(new double[C * C], C, C); var du = Tensor<double>.FromArray(new double[C * C], C, C);
        var dls = Tensor<double>.FromArray(new double[C], C);
        K.InvConvWeightBackward(r, lower, upper, logs, w, work, dl, du, dls, perm, inverse);
        FiniteDiff(lower, F, dl); FiniteDiff(upper, F, du); FiniteDiff(logs, F, dls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ActNorm_and_coupling_backward_match_finite_differences(bool inverse)
    {
        int[] shape = [3, 4, 3, 5];
        var x = Rand(5, 1, shape); var h = Rand(6, 1, shape); var r = Rand(7, 1, shape);
        var s = Rand(8, 0.5, 4); s.CopyFromHost(s.CopyToHost().Select(v => v + 1.2).ToArray());
        var b = Rand(9, 0.5, 4);
        Tensor<double> Y() => Tensor<double>.FromArray(new double[x.Length], shape);
        double FA() { var y = Y(); K.ActNormForward(x, s, b, y, inverse); return Dot(y, r); }
        double FC() { var y = Y(); K.CouplingForward(x, h, y, inverse); return Dot(y, r); }
        var dx = Y(); var ds = Tensor<double>.FromArray(new double[4], 4); var db = Tensor<double>.FromArray(new double[4], 4);
        K.ActNormBackward(r, x, s, b, dx, ds, db, inverse);
        FiniteDiff(x, FA, dx); FiniteDiff(s, FA, ds); FiniteDiff(b, FA, db);
        var dh = Y(); dx = Y();
        K.CouplingBackward(r, x, h, dx, dh, inverse);
        FiniteDiff(x, FC, dx); FiniteDiff(h, FC, dh);
        // coupling inverse undoes coupling
        var y1 = Y(); var back = Y();
        K.CouplingForward(x, h, y1, inverse);
        K.CouplingForward(y1, h, back, !inverse);
        Assert.True(x.CopyToHost().Zip(back.CopyToHost(), (p, q) => Math.Abs(p - q)).Max() < 1e-12);
    }

    [Fact]
    public void Logdets_and_prior_match_definitions_and_finite_differences()
    {
        int[] shape = [2, 4, 3, 3];
        var h = Rand(10, 2, shape); var z = Rand(11, 1.5, shape); var dy = Rand(12, 1, 2);
        var ld = Tensor<double>.FromArray(new double[2], 2);
        K.CouplingLogDetForward(h, ld);
        var hv = h.CopyToHost();
        double expect0 = Enumerable.Range(0, 18).Sum(i => Math.Log(1 / (1 + Math.Exp(-(hv[i] + 2)))));
        Assert.Equal(expect0, ld.CopyToHost()[0], 12);
        double FL() { var t = Tensor<double>.FromArray(new double[2], 2); K.CouplingLogDetForward(h, t); return Dot(t, dy); }
        var dh = Tensor<double>.FromArray(new double[h.Length], shape);
        K.CouplingLogDetBackward(dy, h, dh);
        FiniteDiff(h, FL, dh);
        double FG() { var t = Tensor<double>.FromArray(new double[2], 2); K.GaussianLogProbForward(z, t); return Dot(t, dy); }
        var dz = Tensor<double>.FromArray(new double[z.Length], shape);
        K.GaussianLogProbBackward(dy, z, dz);
        FiniteDiff(z, FG, dz);
        var p = Rand(13, 1, 5);
        foreach (bool logAbs in new[] { true, false })
        {
            double FP() { var t = Tensor<double>.FromArray(new double[2], 2); K.FlowLogDetForward(p, t, 7, logAbs); return Dot(t, dy); }
            var dp = Tensor<double>.FromArray(new double[5], 5);
            K.FlowLogDetBackward(dy, p, dp, 7, logAbs);
            FiniteDiff(p, FP, dp);
        }
    }

    [Fact]
    public void Shape_errors_name_expected_and_actual()
    {
        var x = Tensor<double>.FromArray(new double[2 * 3 * 2 * 2], 2, 3, 2, 2);
        var e = Assert.Throws<ArgumentException>(() => K.CouplingForward(x, x, x, false));
        Assert.Contains("even channel count", e.Message);
        var s = Tensor<double>.FromArray(new double[4], 4);
        var e2 = Assert.Throws<ArgumentException>(() => K.ActNormForward(x, s, s, x, false));
        Assert.Contains("expected shape [3], got [4]", e2.Message);
    }
}
