using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using NetDsl.Distributed;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

namespace NetDsl.Distributed.Worker;

/// <summary>
/// Launched by tests/NetDsl.Distributed.Tests, alone (the single-process reference) or under mpiexec.mpich (the ranks):
/// <c>train</c> runs SGD steps on a seeded synthetic set through <see cref="DataParallel{T}"/> and writes rank 0's final
/// parameters and buffers; <c>mismatch</c> starts ranks with different networks; <c>bench</c> times allreduces.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        var o = Options.Parse(args);
        var ctx = Distributed.Init();
        try
        {
            return o.Mode switch
            {
                "train" => o.Type == "f64" ? Train<double>(ctx, o) : Train<float>(ctx, o),
                "mismatch" => Mismatch(ctx),
                "bench" => Bench.Run(ctx, o),
                _ => throw new ArgumentException($"unknown mode '{o.Mode}' (train, mismatch, bench)"),
            };
        }
        catch (DistributedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.Flush();
            return 3;
        }
        finally { ctx.Dispose(); }
    }

    internal static NetworkBase<T> Create<T>(string net, int seed) where T : unmanaged, IBinaryFloatingPointIeee754<T> => net switch
    {
        "lenet" => new LeNet5<T>(Device.Cpu, seed),
        "bndrop" => new BnDrop<T>(Device.Cpu, seed),
        _ => throw new ArgumentException($"unknown network '{net}' (lenet, bndrop)"),
    };

    private static T TrainStep<T>(NetworkBase<T> net, Tensor<T> x, Tensor<int> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => net switch
    {
        LeNet5<T> l => l.TrainStep(x, y),
        BnDrop<T> b => b.TrainStep(x, y),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>A seeded synthetic digit-shaped set: Gaussian pixels, labels 0..9.</summary>
    internal static LabeledImages Synthetic(int count, int seed)
    {
        var rng = new SplitMix64((ulong)seed * 7919UL + 13);
        var images = new float[count * 784];
        for (int i = 0; i < images.Length; i++) images[i] = (float)rng.NextGaussian();
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = rng.NextInt(10);
        return new LabeledImages(images, labels, 1, 28, 28);
    }

    private static int Train<T>(DistributedContext ctx, Options o) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var net = Create<T>(o.Net, o.Seed);
        var data = Synthetic(o.Samples, 5);
        var opt = new Sgd<T>(net.Parameters, lr: 0.05, momentum: 0.9);
        int startStep = 0;
        if (o.Resume != null)
        {
            startStep = LoadCheckpoint(o.Resume, net, opt) + 1;
            if (ctx.IsMain) Console.WriteLine($"resumed from {o.Resume} at step {startStep}");
        }
        using var dp = new DataParallel<T>(net, ctx, new DataParallelOptions { SyncBatchNorm = o.SyncBn, BucketBytes = o.BucketBytes, Overlap = o.Overlap });
        var sampler = new DistributedSampler(data.Count, o.Global, ctx, shuffle: true, seed: 3);
        var xs = new Dictionary<int, (Tensor<float> F, Tensor<T> X, Tensor<int> Y)>();
        int step = 0;
        double wait = 0, total = 0;
        for (int epoch = 0; step < o.Steps; epoch++)
            foreach (var shard in sampler.Epoch(epoch))
            {
                if (step >= o.Steps) break;
                if (step < startStep) { step++; continue; }
                if (ctx.Rank == o.KillRank && step == o.KillStep)
                {
                    Console.Error.WriteLine($"rank {ctx.Rank}: sending myself signal {o.KillSignal} at step {step} (fault test)");
                    Console.Error.Flush();
                    kill(Environment.ProcessId, o.KillSignal);
                    Thread.Sleep(Timeout.Infinite);
                }
                if (!xs.TryGetValue(shard.Size, out var t))
                    xs[shard.Size] = t = (Tensor<float>.Zeros(shard.Size, 1, 28, 28), Tensor<T>.Zeros(shard.Size, 1, 28, 28), Tensor<int>.Zeros(shard.Size));
                DistributedSampler.Fill(data, shard, t.F, t.Y);
                var src = t.F.AsSpan(); var dst = t.X.AsSpan();
                for (int i = 0; i < src.Length; i++) dst[i] = T.CreateChecked(src[i]);
                T loss = dp.Step(() => TrainStep(net, t.X, t.Y), opt, shard.Size, shard.GlobalBatch, shard.SampleOffset);
                if (step >= 2) { wait += dp.LastStep.WaitMs; total += dp.LastStep.TotalMs; }
                if (ctx.IsMain && o.Verbose) Console.WriteLine($"step {step} epoch {epoch} loss {double.CreateChecked(loss):R}");
                if (o.CheckpointDir != null && o.CheckpointEvery > 0 && (step + 1) % o.CheckpointEvery == 0 && ctx.IsMain)
                    SaveCheckpoint(Path.Combine(o.CheckpointDir, "last.ckpt"), net, opt, step);
                if (o.StepDelayMs > 0) Thread.Sleep(o.StepDelayMs);
                step++;
            }
        // every rank must hold the same parameters: compare a digest of all of them
        string digest = Digest(net, buffers: o.SyncBn);   // per-rank batchnorm: each rank's last update of its statistics differs
        var digests = ctx.Allgather(digest);
        int bad = Array.FindIndex(digests, d => d != digests[0]);
        if (bad >= 0) throw new DistributedException($"rank {bad}'s parameters differ from rank 0's after {o.Steps} steps");
        if (ctx.IsMain)
        {
            if (o.Out != null) WriteState(o.Out, net);
            Console.WriteLine($"done: {o.Steps} steps on {ctx.Size} rank(s), parameters identical on all ranks ({digest[..12]}); " +
                $"allreduce wait {wait:F1} ms of {total:F1} ms");
        }
        return 0;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)] private static extern int kill(int pid, int sig);

    private static string Digest<T>(NetworkBase<T> net, bool buffers) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        using var h = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var p in net.Parameters) h.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.Value.AsSpan()));
        if (buffers) foreach (var b in net.Buffers) h.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.Value.AsSpan()));
        return Convert.ToHexString(h.GetHashAndReset());
    }

    /// <summary>One line per parameter and buffer: name, then its values (round-trip format).</summary>
    private static void WriteState<T>(string path, NetworkBase<T> net) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var sb = new StringBuilder();
        foreach (var (name, t) in net.Parameters.Select(p => (p.Name, p.Value)).Concat(net.Buffers.Select(b => (b.Name, b.Value))))
        {
            sb.Append(name);
            foreach (var v in t.AsSpan()) sb.Append(' ').Append(double.CreateChecked(v).ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        File.WriteAllText(path + ".tmp", sb.ToString());
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Parameters, buffers, SGD velocities and the step, written by rank 0 (to a temporary file, then renamed).</summary>
    private static void SaveCheckpoint<T>(string path, NetworkBase<T> net, Sgd<T> opt, int step) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var stepT = Tensor<T>.Zeros(2); stepT.AsSpan()[0] = T.CreateChecked(step); stepT.AsSpan()[1] = T.CreateChecked(net.StepCount);
        var tensors = net.Parameters.Select(p => (p.Name, p.Value))
            .Concat(net.Buffers.Select(b => (b.Name, b.Value)))
            .Concat(net.Parameters.Select((p, i) => ("optimizer.velocity." + p.Name, opt.Velocity(i))))
            .Append(("train.step", stepT));
        Checkpoint.Save(path + ".tmp", tensors);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static int LoadCheckpoint<T>(string path, NetworkBase<T> net, Sgd<T> opt) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var stepT = Tensor<T>.Zeros(2);
        var tensors = net.Parameters.Select(p => (p.Name, p.Value))
            .Concat(net.Buffers.Select(b => (b.Name, b.Value)))
            .Concat(net.Parameters.Select((p, i) => ("optimizer.velocity." + p.Name, opt.Velocity(i))))
            .Append(("train.step", stepT));
        Checkpoint.Load(path, tensors);
        net.StepCount = long.CreateChecked(stepT.AsSpan()[1]);   // dropout masks continue where they stopped
        return int.CreateChecked(stepT.AsSpan()[0]);
    }

    /// <summary>Rank 1 builds a different network: DataParallel must refuse at start on every rank, naming the difference.</summary>
    private static int Mismatch(DistributedContext ctx)
    {
        var net = ctx.Rank == 1 ? Create<float>("bndrop", 1) : Create<float>("lenet", 1);
        using var dp = new DataParallel<float>(net, ctx);
        Console.WriteLine($"rank {ctx.Rank}: no mismatch detected");
        return 0;
    }
}

internal sealed class Options
{
    public string Mode = "train", Net = "lenet", Type = "f32";
    public string? Out, CheckpointDir, Resume;
    public int Steps = 20, Global = 64, Seed = 1, Samples = 320, KillRank = -1, KillStep = -1, KillSignal = 9, CheckpointEvery = 0, StepDelayMs = 0, Repeat = 20;
    public bool SyncBn = true, Verbose, Overlap = true;
    public long BucketBytes = 25L << 20;
    public List<string> Rest = new();

    public static Options Parse(string[] a)
    {
        var o = new Options();
        int i = 0;
        if (a.Length > 0 && !a[0].StartsWith('-')) o.Mode = a[i++];
        for (; i < a.Length; i++)
        {
            string V() => i + 1 < a.Length ? a[++i] : throw new ArgumentException($"{a[i]} needs a value");
            switch (a[i])
            {
                case "--net": o.Net = V(); break;
                case "--type": o.Type = V(); break;
                case "--out": o.Out = V(); break;
                case "--steps": o.Steps = int.Parse(V()); break;
                case "--global": o.Global = int.Parse(V()); break;
                case "--seed": o.Seed = int.Parse(V()); break;
                case "--samples": o.Samples = int.Parse(V()); break;
                case "--sync-bn": o.SyncBn = V() != "0"; break;
                case "--overlap": o.Overlap = V() != "0"; break;
                case "--bucket-bytes": o.BucketBytes = long.Parse(V()); break;
                case "--kill-rank": o.KillRank = int.Parse(V()); break;
                case "--kill-step": o.KillStep = int.Parse(V()); break;
                case "--kill-signal": o.KillSignal = int.Parse(V()); break;
                case "--checkpoint-dir": o.CheckpointDir = V(); break;
                case "--checkpoint-every": o.CheckpointEvery = int.Parse(V()); break;
                case "--resume": o.Resume = V(); break;
                case "--step-delay-ms": o.StepDelayMs = int.Parse(V()); break;
                case "--repeat": o.Repeat = int.Parse(V()); break;
                case "-v": o.Verbose = true; break;
                default: o.Rest.Add(a[i]); break;
            }
        }
        return o;
    }
}
