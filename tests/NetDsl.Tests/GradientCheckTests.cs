using NetDsl.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// The compile-time backward pass, checked end to end in fp64: generated TrainStep gradients against central finite
/// differences of the generated loss, for networks that together use every operator of the slice.
/// </summary>
public class GradientCheckTests(ITestOutputHelper output)
{
    /// <summary>
    /// Central finite differences of <paramref name="loss"/> for sampled entries of every parameter (every
    /// <paramref name="tensorStride"/>-th tensor), then one <paramref name="trainStep"/>, whose gradients must agree to 1e-5
    /// relative (or within <paramref name="absoluteTolerance"/>). With <paramref name="kinkTolerant"/>, each entry is also
    /// differenced with 10x and 100x smaller steps and passes if one step agrees: in training-mode batchnorm networks a
    /// perturbation moves every activation, and one relu input crossing 0 inside the step spoils a single quotient; a wrong
    /// gradient disagrees at both steps.
    /// </summary>
    internal static void Check<TNet>(TNet net, Func<double> loss, Func<double> trainStep, ITestOutputHelper output, int probesPerParameter = 6,
        double absoluteTolerance = 0, bool kinkTolerant = false, int tensorStride = 1)
        where TNet : NetworkBase<double>
    {
        double[] steps = kinkTolerant ? new[] { 1e-6, 1e-7, 1e-8 } : new[] { 1e-6 };
        var rng = new Random(7);
        var expected = new Dictionary<(string, int), double[]>();
        int t = 0;
        foreach (var p in net.Parameters)
        {
            if (t++ % tensorStride != 0) continue;
            var value = p.Value.AsSpan();
            for (int k = 0; k < Math.Min(probesPerParameter, p.Length); k++)
            {
                int i = k == 0 ? 0 : rng.Next(p.Length);
                double orig = value[i];
                expected[(p.Name, i)] = steps.Select(eps =>
                {
                    p.Value.AsSpan()[i] = orig + eps; double lp = loss();
                    p.Value.AsSpan()[i] = orig - eps; double lm = loss();
                    p.Value.AsSpan()[i] = orig;
                    return (lp - lm) / (2 * eps);
                }).ToArray();
            }
        }
        trainStep();
        double worst = 0;
        foreach (var ((name, i), fds) in expected)
        {
            double analytic = net.GetParameter(name).Grad.AsSpan()[i];
            double Err(double fd) => Math.Abs(analytic - fd) / Math.Max(1e-4, Math.Abs(analytic) + Math.Abs(fd));
            double fd = fds.OrderBy(Err).First();
            double err = Err(fd);
            worst = Math.Max(worst, err);
            if (Math.Abs(analytic - fd) <= absoluteTolerance) continue;
            Assert.True(err < 1e-5, $"{name}[{i}]: backward {analytic:G10}, finite difference {string.Join(" / ", fds.Select(f => f.ToString("G10")))} (relative error {err:G3})");
        }
        output.WriteLine($"{expected.Count} probes over {net.Parameters.Count} parameters, worst relative error {worst:G3}");
    }

    [Fact]
    public void AllOps_gradients_match_finite_differences_in_fp64_with_dropout_active()
    {
        var net = new AllOps<double>(Device.Cpu, seed: 3);
        var x = Tensor<double>.FromArray(TestData.Random(3 * 2 * 8 * 8, 1), 3, 2, 8, 8);
        var label = Tensor<int>.FromArray([0, 2, 1], 3);
        net.Train();
        Check(net, () => net.ComputeLoss(x, label), () => net.TrainStep(x, label), output);
    }

    [Fact]
    public void AllOps_gradients_match_finite_differences_in_eval_mode()
    {
        var net = new AllOps<double>(Device.Cpu, seed: 4);
        var x = Tensor<double>.FromArray(TestData.Random(2 * 2 * 8 * 8, 2), 2, 2, 8, 8);
        var label = Tensor<int>.FromArray([1, 0], 2);
        net.Eval();
        Check(net, () => net.ComputeLoss(x, label), () => net.TrainStep(x, label), output);
    }

    [Fact]
    public void TinyMlp_gradients_match_finite_differences()
    {
        var net = new TinyMlp<double>(Device.Cpu, seed: 5);
        var x = Tensor<double>.FromArray(TestData.Random(4 * 16, 3), 4, 1, 4, 4);
        var label = Tensor<int>.FromArray([0, 1, 1, 0], 4);
        Check(net, () => net.ComputeLoss(x, label), () => net.TrainStep(x, label), output, probesPerParameter: 10);
    }

    [Fact]
    public void LeNet5_gradients_match_finite_differences()
    {
        var net = new LeNet5<double>(Device.Cpu, seed: 6);
        var x = Tensor<double>.FromArray(TestData.Random(2 * 28 * 28, 4), 2, 1, 28, 28);
        var label = Tensor<int>.FromArray([3, 8], 2);
        Check(net, () => net.ComputeLoss(x, label), () => net.TrainStep(x, label), output, probesPerParameter: 4);
    }
}
