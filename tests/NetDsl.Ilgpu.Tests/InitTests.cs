using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Tests;

public class InitTests
{
    private static (double Mean, double Std, double Min, double Max) Stats(float[] v)
    {
        double mean = v.Average(x => (double)x);
        double std = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
        return (mean, std, v.Min(), v.Max());
    }

    [Fact]
    public void Fans_follow_pytorch()
    {
        Assert.Equal((25, 150), Init.Fans([6, 1, 5, 5]));
        Assert.Equal((400, 120), Init.Fans([120, 400]));
    }

    [Fact]
    public void He_normal_statistics()
    {
        var t = Tensor<float>.Zeros(64, 32, 3, 3); // fan_in 288
        Init.He(t, seed: 1);
        var (mean, std, _, _) = Stats(t.AsSpan().ToArray());
        double expected = Math.Sqrt(2.0 / 288);
        Assert.InRange(mean, -0.03 * expected, 0.03 * expected);
        Assert.InRange(std, 0.97 * expected, 1.03 * expected);
    }

    [Fact]
    public void Xavier_normal_statistics()
    {
        var t = Tensor<float>.Zeros(200, 300);
        Init.Xavier(t, seed: 2);
        var (mean, std, _, _) = Stats(t.AsSpan().ToArray());
        double expected = Math.Sqrt(2.0 / 500);
        Assert.InRange(mean, -0.03 * expected, 0.03 * expected);
        Assert.InRange(std, 0.97 * expected, 1.03 * expected);
    }

    [Fact]
    public void PyTorch_default_is_uniform_within_one_over_sqrt_fan_in()
    {
        var t = Tensor<float>.Zeros(100, 400);
        Init.PyTorchDefault(t, 400, seed: 3);
        var (mean, std, min, max) = Stats(t.AsSpan().ToArray());
        double bound = 1 / Math.Sqrt(400);
        Assert.InRange(min, -bound, -0.99 * bound);
        Assert.InRange(max, 0.99 * bound, bound);
        Assert.InRange(mean, -0.01 * bound, 0.01 * bound);
        Assert.InRange(std, 0.98 * bound / Math.Sqrt(3), 1.02 * bound / Math.Sqrt(3));
    }

    [Fact]
    public void Apply_is_seeded_deterministic_and_biases_take_the_weight_fan_in()
    {
        Parameter<float>[] Make() =>
        [
            Parameter<float>.Create(Device.Cpu, "fc.weight", [10, 16]),
            Parameter<float>.Create(Device.Cpu, "fc.bias", [10]),
            Parameter<float>.Create(Device.Cpu, "bn.beta", [10], InitKind.Zeros),
            Parameter<float>.Create(Device.Cpu, "conv.weight", [4, 2, 3, 3], InitKind.He),
        ];
        var a = Make(); var b = Make(); var c = Make();
        Init.Apply(a, 123); Init.Apply(b, 123); Init.Apply(c, 124);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i].Value.AsSpan().ToArray(), b[i].Value.AsSpan().ToArray());
        Assert.NotEqual(a[0].Value.AsSpan().ToArray(), c[0].Value.AsSpan().ToArray());
        Assert.Equal(16, a[1].FanIn);
        Assert.All(a[1].Value.AsSpan().ToArray(), v => Assert.InRange(v, -0.25f, 0.25f));
        Assert.All(a[2].Value.AsSpan().ToArray(), v => Assert.Equal(0f, v));
        Assert.NotEqual(a[0].Value.AsSpan()[0], a[3].Value.AsSpan()[0]);

        var orphan = Parameter<float>.Create(Device.Cpu, "lonely", [3]);
        var e = Assert.Throws<ArgumentException>(() => Init.Apply(orphan, 1));
        Assert.Contains("lonely", e.Message);
    }
}
