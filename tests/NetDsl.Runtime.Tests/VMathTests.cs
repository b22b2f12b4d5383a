using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

public class VMathTests
{
    private static readonly double[] Points =
        [-1000, -90, -50, -20, -5, -1.5, -0.7, -0.625, -0.3, -1e-3, -1e-8, 0, 1e-9, 1e-4, 0.2, 0.6, 0.625, 0.9, 2, 7.5, 19, 45, 88, 700, 1e6];

    [Fact]
    public void VectorFunctionsMatchScalarMath()
    {
        Check<double>(1e-14, 1e-300);
        Check<float>(2e-6, 1e-37);   // float results below the normal range are denormal/flushed
    }

    private static void Check<T>(double rtol, double atol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        for (int s = 0; s < Points.Length; s += w)
        {
            var chunk = new T[w];
            for (int i = 0; i < w; i++) chunk[i] = T.CreateChecked(Points[Math.Min(s + i, Points.Length - 1)]);
            var x = Vector256.Create<T>(chunk);
            var tanh = VMath.Tanh(x); var sig = VMath.Sigmoid(x); var exp = VMath.Exp(x);
            for (int i = 0; i < w; i++)
            {
                double xi = double.CreateChecked(chunk[i]);
                Near(Math.Tanh(xi), double.CreateChecked(tanh[i]), rtol, atol, $"tanh({xi})");
                Near(1 / (1 + Math.Exp(-xi)), double.CreateChecked(sig[i]), rtol, atol, $"sigmoid({xi})");
                Near(Math.Tanh(xi), double.CreateChecked(VMath.Tanh(chunk[i])), rtol, atol, $"scalar tanh({xi})");
                Near(1 / (1 + Math.Exp(-xi)), double.CreateChecked(VMath.Sigmoid(chunk[i])), rtol, atol, $"scalar sigmoid({xi})");
                double ex = double.CreateChecked(T.Exp(chunk[i]));
                if (double.IsFinite(ex)) Near(ex, double.CreateChecked(exp[i]), rtol, atol, $"exp({xi})");
                else Assert.True(T.IsPositiveInfinity(exp[i]), $"exp({xi}) should overflow to +inf");
                if (xi > 0) Near(Math.Log(xi), double.CreateChecked(VMath.Log(x)[i]), rtol, atol, $"log({xi})");
            }
        }
    }

    private static void Near(double expected, double actual, double rtol, double atol, string what)
    {
        Assert.False(double.IsNaN(actual), $"{what} is NaN");
        Assert.True(Math.Abs(expected - actual) <= rtol * Math.Abs(expected) + atol, $"{what}: expected {expected:R}, got {actual:R}");
    }
}
