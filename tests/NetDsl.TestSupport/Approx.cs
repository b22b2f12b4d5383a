using NetDsl.Runtime;

namespace NetDsl.Testing;

/// <summary>Tolerance asserts that name the element, the expected and the actual value.</summary>
public static class Approx
{
    private static float[] Host(Tensor<float> t) => t.Device.IsCpu ? t.AsSpan().ToArray() : t.CopyToHost();

    /// <summary>|e − a| ≤ tol·(1 + |e|) for every element; either tensor may live on a device.</summary>
    public static void Close(Tensor<float> expected, Tensor<float> actual, string what = "", float tol = 1e-4f)
    {
        var e = Host(expected); var a = Host(actual);
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
            if (!(Math.Abs(e[i] - a[i]) <= tol * (1 + Math.Abs(e[i]))))
                Assert.Fail($"{what}[{i}]: expected {e[i]}, got {a[i]}");
    }

    /// <summary>
    /// |e − a| ≤ tol·(|e| + rms(e)) for every element: for long accumulations (recurrences) whose small elements carry the
    /// absolute error of the large ones. With <paramref name="nonZero"/>, an all-zero expectation fails (nothing was compared).
    /// </summary>
    public static void CloseToNorm(Tensor<float> expected, Tensor<float> actual, string what, double tol = 1e-4, bool nonZero = false)
    {
        var e = Host(expected); var a = Host(actual);
        Assert.Equal(e.Length, a.Length);
        double norm = Math.Sqrt(e.Sum(v => (double)v * v) / Math.Max(1, e.Length));
        if (nonZero) Assert.True(norm > 1e-6, $"{what}: all zero");
        for (int i = 0; i < e.Length; i++)
            if (!(Math.Abs(e[i] - a[i]) <= tol * (Math.Abs(e[i]) + norm + 1e-6)))
                Assert.Fail($"{what}[{i}]: expected {e[i]}, got {a[i]}");
    }

    /// <summary>|e − a| ≤ atol + rtol·max|e| for every element.</summary>
    public static void Close(double[] expected, double[] actual, double rtol, double atol = 0, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (var e in expected) scale = Math.Max(scale, Math.Abs(e));
        double tol = atol + rtol * Math.Max(scale, 1e-30);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= tol))
                Assert.Fail($"{what} element {i}: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tol:G3})");
    }
}
