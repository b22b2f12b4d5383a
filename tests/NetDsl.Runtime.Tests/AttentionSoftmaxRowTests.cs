namespace NetDsl.Runtime.Tests;

/// <summary>
/// The attention's row softmax and its backward: the float AVX-512 paths (rows of at least 32: two accumulators, a 16-wide
/// step and a scalar tail) against the generic code run in double on the same values, for lengths and masks that hit each
/// branch. With DOTNET_EnableAVX512=0 the float rows take the generic AVX2 code and are checked the same way.
/// </summary>
public class AttentionSoftmaxRowTests
{
    public static IEnumerable<object[]> Rows() =>
    [
        [32, 32], [40, 40], [47, 47], [48, 48], [64, 64], [70, 70], [128, 128], [128, 100], [128, 31], [128, 0], [20, 20],
    ];

    [Theory]
    [MemberData(nameof(Rows))]
    public void FloatRowsMatchTheDoubleCode(int n, int limit)
    {
        var rng = new Random(n * 131 + limit);
        var x = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 8 - 4).ToArray();
        var g = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        const double scale = 0.7;

        var pd = x.ToArray(); CpuKernels<double>.SoftmaxRow(pd, limit, scale);
        var pf = x.Select(v => (float)v).ToArray(); CpuKernels<float>.SoftmaxRow(pf, limit, (float)scale);
        for (int j = 0; j < n; j++) Assert.True(Math.Abs(pd[j] - pf[j]) <= 1e-6 + 1e-5 * Math.Abs(pd[j]), $"p[{j}] {pf[j]} vs {pd[j]} (n {n}, limit {limit})");
        for (int j = limit; j < n; j++) Assert.Equal(0f, pf[j]);
        if (limit > 0) Assert.Equal(1.0, pf.Take(limit).Sum(v => (double)v), 5);

        var dd = g.ToArray(); CpuKernels<double>.SoftmaxBackwardRow(dd, pd, scale);
        var df = g.Select(v => (float)v).ToArray(); CpuKernels<float>.SoftmaxBackwardRow(df, pf, (float)scale);
        for (int j = 0; j < n; j++) Assert.True(Math.Abs(dd[j] - df[j]) <= 1e-6 + 1e-4 * Math.Abs(dd[j]), $"dp[{j}] {df[j]} vs {dd[j]} (n {n}, limit {limit})");
    }
}
