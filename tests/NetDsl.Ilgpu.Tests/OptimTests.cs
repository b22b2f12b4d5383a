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

public class OptimizerTests
{
    private static Parameter<float> Param(string name, float[] value, float[] grad) =>
        new(name, Tensor<float>.FromArray(value, value.Length), Tensor<float>.FromArray(grad, grad.Length));

    [Fact]
    public void Sgd_with_momentum_nesterov_and_weight_decay_matches_the_pytorch_formula()
    {
        float[] theta = [1f, -2f, 0.5f], g = [0.1f, 0.2f, -0.3f];
        var p = Param("w", (float[])theta.Clone(), (float[])g.Clone());
        var opt = new Sgd<float>([p], lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true);
        double[] v = new double[3], th = theta.Select(x => (double)x).ToArray();
        for (int step = 0; step < 3; step++)
        {
            opt.Step();
            for (int i = 0; i < 3; i++)
            {
                double gp = g[i] + 0.01 * th[i];
                v[i] = 0.9 * v[i] + gp;
                th[i] -= 0.1 * (gp + 0.9 * v[i]);
            }
        }
        Assert.Equal(3, opt.StepCount);
        for (int i = 0; i < 3; i++) Assert.Equal(th[i], p.Value.AsSpan()[i], 5);
        opt.ZeroGrad();
        Assert.All(p.Grad.AsSpan().ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Plain_sgd_is_theta_minus_lr_grad()
    {
        var p = Param("w", [1f, 2f], [0.5f, -1f]);
        new Sgd<float>([p], lr: 0.1).Step();
        Assert.Equal(0.95f, p.Value.AsSpan()[0], 6);
        Assert.Equal(2.1f, p.Value.AsSpan()[1], 6);
    }

    [Fact]
    public void Adam_matches_the_pytorch_formula()
    {
        float[] theta = [1f, -1.5f, 0.5f, 0f], g = [0.1f, 0.2f, -0.3f, 1e-4f];
        var p = Param("w", (float[])theta.Clone(), (float[])g.Clone());
        var opt = new Adam<float>([p], lr: 0.01, weightDecay: 0.1);
        double[] m = new double[4], v = new double[4], th = theta.Select(x => (double)x).ToArray();
        for (int t = 1; t <= 5; t++)
        {
            opt.Step();
            for (int i = 0; i < 4; i++)
            {
                double gp = g[i] + 0.1 * th[i];
                m[i] = 0.9 * m[i] + 0.1 * gp;
                v[i] = 0.999 * v[i] + 0.001 * gp * gp;
                th[i] -= 0.01 * (m[i] / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(0.999, t))) + 1e-8);
            }
        }
        for (int i = 0; i < 4; i++) Assert.Equal(th[i], p.Value.AsSpan()[i], 4);
    }

    [Fact]
    public void Adam_minimizes_a_quadratic()
    {
        var p = Param("w", [5f, -3f], [0f, 0f]);
        var opt = new Adam<float>([p], lr: 0.1);
        for (int i = 0; i < 300; i++)
        {
            opt.ZeroGrad();
            var w = p.Value.AsSpan(); var gr = p.Grad.AsSpan();
            gr[0] = 2 * (w[0] - 1); gr[1] = 2 * (w[1] + 2);
            opt.Step();
        }
        Assert.Equal(1f, p.Value.AsSpan()[0], 1);
        Assert.Equal(-2f, p.Value.AsSpan()[1], 1);
    }

    [Fact]
    public void Schedules()
    {
        var step = new StepLR(0.1, stepSize: 3, gamma: 0.5);
        Assert.Equal([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], Enumerable.Range(0, 7).Select(step.LearningRate).Select(x => Math.Round(x, 12)));
        var cos = new CosineAnnealingLR(0.1, tMax: 10, etaMin: 0.001);
        Assert.Equal(0.1, cos.LearningRate(0), 12);
        Assert.Equal((0.1 + 0.001) / 2, cos.LearningRate(5), 12);
        Assert.Equal(0.001, cos.LearningRate(10), 12);
        Assert.Equal(0.001, cos.LearningRate(15), 12);
        Assert.True(cos.LearningRate(3) > cos.LearningRate(4));
    }
}
