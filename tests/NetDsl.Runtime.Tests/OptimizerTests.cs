using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

public class OptimizerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SgdMatchesPyTorchFormForTwoSteps(bool nesterov)
    {
        Sgd<double>(nesterov, 1e-15);
        Sgd<float>(nesterov, 1e-6);
    }

    private static void Sgd<T>(bool nesterov, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(nesterov ? 1 : 2);
        int n = 19;   // vector body + scalar tail
        var kern = CpuKernels<T>.Instance;
        var p = TU.Rand<T>(rng, n); var g1 = TU.Rand<T>(rng, n); var g2 = TU.Rand<T>(rng, n);
        var v = TU.From<T>(rng, new double[n], n);
        static double R(double d) => double.CreateChecked(T.CreateChecked(d));
        double lr = R(0.1), mu = R(0.9), wd = R(0.01);
        var pe = TU.D(p); var ve = new double[n];
        foreach (var g in new[] { g1, g2 })
        {
            var gd = TU.D(g);
            for (int i = 0; i < n; i++)
            {
                double gi = gd[i] + wd * pe[i];
                ve[i] = mu * ve[i] + gi;
                pe[i] -= lr * (nesterov ? gi + mu * ve[i] : ve[i]);
            }
            kern.SgdStep(p, g, v, T.CreateChecked(lr), T.CreateChecked(mu), T.CreateChecked(wd), nesterov);
        }
        TU.Close(pe, p, tol, "param");
        TU.Close(ve, v, tol, "velocity");
    }

    [Fact]
    public void SgdHandComputed()
    {
        // θ=1, g=0.5, lr=0.1, μ=0.9, wd=0: step1 v=0.5 θ=0.95; step2 v=0.95 θ=0.855
        var kern = CpuKernels<double>.Instance;
        var p = Tensor<double>.FromArray([1.0], 1); var g = Tensor<double>.FromArray([0.5], 1); var v = Tensor<double>.Zeros(1);
        kern.SgdStep(p, g, v, 0.1, 0.9, 0, false);
        Assert.Equal(0.95, p[0], 1e-15); Assert.Equal(0.5, v[0], 1e-15);
        kern.SgdStep(p, g, v, 0.1, 0.9, 0, false);
        Assert.Equal(0.855, p[0], 1e-15); Assert.Equal(0.95, v[0], 1e-15);
    }

    [Fact]
    public void AdamMatchesPyTorchFormForTwoSteps()
    {
        Adam<double>(1e-14);
        Adam<float>(2e-6);
    }

    private static void Adam<T>(double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(3);
        int n = 21;
        var kern = CpuKernels<T>.Instance;
        var p = TU.Rand<T>(rng, n); var gs = new[] { TU.Rand<T>(rng, n), TU.Rand<T>(rng, n) };
        var m = TU.From<T>(rng, new double[n], n); var v = TU.From<T>(rng, new double[n], n);
        // hyperparameters rounded through T, so the double reference sees the same values the kernel does
        static double R(double d) => double.CreateChecked(T.CreateChecked(d));
        double lr = R(1e-2), b1 = R(0.9), b2 = R(0.999), eps = R(1e-8), wd = R(1e-3);
        var pe = TU.D(p); var me = new double[n]; var ve = new double[n];
        for (int t = 1; t <= 2; t++)
        {
            var gd = TU.D(gs[t - 1]);
            for (int i = 0; i < n; i++)
            {
                double g = gd[i] + wd * pe[i];
                me[i] = b1 * me[i] + (1 - b1) * g;
                ve[i] = b2 * ve[i] + (1 - b2) * g * g;
                double mh = me[i] / (1 - Math.Pow(b1, t)), vh = ve[i] / (1 - Math.Pow(b2, t));
                pe[i] -= lr * mh / (Math.Sqrt(vh) + eps);
            }
            kern.AdamStep(p, gs[t - 1], m, v, T.CreateChecked(lr), T.CreateChecked(b1), T.CreateChecked(b2), T.CreateChecked(eps), T.CreateChecked(wd), t);
        }
        TU.Close(pe, p, tol, "param");
        TU.Close(me, m, tol, "m");
        TU.Close(ve, v, tol, "v");
    }

    [Fact]
    public void AdamHandComputedFirstStepIsLrTimesSign()
    {
        // first step: m̂ = g, v̂ = g², so θ -= lr·g/(|g|+ε)
        var kern = CpuKernels<double>.Instance;
        var p = Tensor<double>.FromArray([1.0, -2.0], 2); var g = Tensor<double>.FromArray([0.3, -4.0], 2);
        var m = Tensor<double>.Zeros(2); var v = Tensor<double>.Zeros(2);
        kern.AdamStep(p, g, m, v, 0.001, 0.9, 0.999, 1e-8, 0, 1);
        Assert.Equal(1.0 - 0.001 * 0.3 / (0.3 + 1e-8), p[0], 1e-15);
        Assert.Equal(-2.0 + 0.001 * 4.0 / (4.0 + 1e-8), p[1], 1e-15);
    }

    [Fact]
    public void ShapeMismatchesThrow()
    {
        var kern = CpuKernels<float>.Instance;
        var p = Tensor<float>.Zeros(3, 4);
        TU.ThrowsShapes(() => kern.SgdStep(p, Tensor<float>.Zeros(4, 3), Tensor<float>.Zeros(3, 4), 0.1f, 0.9f, 0, false), "[3, 4]", "[4, 3]");
        TU.ThrowsShapes(() => kern.AdamStep(p, Tensor<float>.Zeros(3, 4), Tensor<float>.Zeros(12), Tensor<float>.Zeros(3, 4), 0.1f, 0.9f, 0.99f, 1e-8f, 0, 1), "[3, 4]", "[12]");
    }
}
