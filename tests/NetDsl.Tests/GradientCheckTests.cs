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
    internal static void Check<TNet>(TNet net, Func<double> loss, Func<double> trainStep, ITestOutputHelper output, int probesPerParameter = 6)
        where TNet : NetworkBase<double>
    {
        const double eps = 1e-6;
        var rng = new Random(7);
        var expected = new Dictionary<(string, int), double>();
        foreach (var p in net.Parameters)
        {
            var value = p.Value.AsSpan();
            for (int k = 0; k < Math.Min(probesPerParameter, p.Length); k++)
            {
                int i = k == 0 ? 0 : rng.Next(p.Length);
                double orig = value[i];
                p.Value.AsSpan()[i] = orig + eps; double lp = loss();
                p.Value.AsSpan()[i] = orig - eps; double lm = loss();
                p.Value.AsSpan()[i] = orig;
                expected[(p.Name, i)] = (lp - lm) / (2 * eps);
            }
        }
        trainStep();
        double worst = 0;
        foreach (var ((name, i), fd) in expected)
        {
            double analytic = net.GetParameter(name).Grad.AsSpan()[i];
            double err = Math.Abs(analytic - fd) / Math.Max(1e-4, Math.Abs(analytic) + Math.Abs(fd));
            worst = Math.Max(worst, err);
            Assert.True(err < 1e-5, $"{name}[{i}]: backward {analytic:G10}, finite difference {fd:G10} (relative error {err:G3})");
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
