using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Tests;

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
