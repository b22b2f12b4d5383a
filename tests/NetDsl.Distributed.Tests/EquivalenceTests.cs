using Xunit.Abstractions;

namespace NetDsl.Distributed.Tests;

/// <summary>
/// K ranks × a shard of the global batch of 64 must train exactly like one process × 64: after 20 SGD steps (momentum 0.9,
/// a seeded synthetic set, 5 global batches per epoch from the distributed sampler) every parameter and buffer agrees to
/// fp32 1e-5 / fp64 1e-10. BnDrop has three batchnorms (synchronized), dropout2d, dropout and stochastic depth, so its masks
/// and batch statistics must be those of the global batch; with 3 ranks the shards are 22/21/21 (weighted average).
/// </summary>
public sealed class EquivalenceTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, Dictionary<string, double[]>> s_reference = new();
    private static readonly object s_lock = new();

    private static string Dir()
    {
        var d = Path.Combine(Path.GetTempPath(), "netdsl-dist-" + Environment.ProcessId);
        Directory.CreateDirectory(d);
        return d;
    }

    private static Dictionary<string, double[]> Reference(string net, string type)
    {
        lock (s_lock)
        {
            string key = net + type;
            if (s_reference.TryGetValue(key, out var r)) return r;
            string file = Path.Combine(Dir(), $"single-{key}.txt");
            var res = Mpi.Run(0, $"train --net {net} --type {type} --out {file}");
            Assert.True(res.ExitCode == 0, res.ToString());
            return s_reference[key] = Mpi.ReadState(file);
        }
    }

    [SkippableTheory]
    [InlineData("lenet", "f32", 2, 1e-5)]
    [InlineData("lenet", "f64", 2, 1e-10)]
    [InlineData("lenet", "f32", 3, 1e-5)]
    [InlineData("lenet", "f64", 3, 1e-10)]
    [InlineData("bndrop", "f32", 2, 1e-5)]
    [InlineData("bndrop", "f64", 2, 1e-10)]
    [InlineData("bndrop", "f32", 3, 1e-5)]
    [InlineData("bndrop", "f64", 3, 1e-10)]
    public void RanksEqualOneProcessOnTheGlobalBatch(string net, string type, int ranks, double tolerance)
    {
        Skip.If(Mpi.Missing() != null, Mpi.Missing());
        var single = Reference(net, type);
        string file = Path.Combine(Dir(), $"r{ranks}-{net}-{type}.txt");
        var res = Mpi.Run(ranks, $"train --net {net} --type {type} --out {file}");
        Assert.True(res.ExitCode == 0, res.ToString());
        Assert.Contains($"20 steps on {ranks} rank(s), parameters identical on all ranks", res.Stdout);
        var (max, where) = Mpi.MaxDiff(single, Mpi.ReadState(file));
        output.WriteLine($"{net} {type}, {ranks} ranks vs 1 process: max |difference| {max:E2} at {where} ({res.Elapsed.TotalSeconds:F1} s)");
        Assert.True(max <= tolerance, $"{net} {type} on {ranks} ranks differs from one process by {max:E3} at {where} (tolerance {tolerance:E0})");
        if (net == "bndrop")
        {
            // the running statistics took part: they moved away from their initial 0 and 1
            Assert.Contains(single["bn2.running_mean"], v => Math.Abs(v) > 1e-3);
        }
    }

    /// <summary>Without synchronization each rank normalizes its own 32 samples (PyTorch DDP's default): not the global batch.</summary>
    [SkippableFact]
    public void PerRankBatchNormIsNotTheGlobalBatch()
    {
        Skip.If(Mpi.Missing() != null, Mpi.Missing());
        var single = Reference("bndrop", "f64");
        string file = Path.Combine(Dir(), "r2-bndrop-nosync.txt");
        var res = Mpi.Run(2, $"train --net bndrop --type f64 --sync-bn 0 --out {file}");
        Assert.True(res.ExitCode == 0, res.ToString());
        var (max, where) = Mpi.MaxDiff(single, Mpi.ReadState(file));
        output.WriteLine($"per-rank batchnorm vs one process: max |difference| {max:E2} at {where}");
        Assert.True(max > 1e-3, $"per-rank statistics should differ from the global batch's, max difference only {max:E3}");
    }
}
