using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Distributed;

/// <summary>Options of <see cref="DataParallel{T}"/>.</summary>
public sealed record DataParallelOptions
{
    /// <summary>
    /// Synchronized batchnorm: training-mode statistics over the global batch of all ranks (running statistics then equal
    /// one process's on the global batch). False (default, as PyTorch DDP): each rank normalizes with its own batch.
    /// </summary>
    public bool SyncBatchNorm { get; init; }
    /// <summary>Gradients are summed in buckets of about this many bytes (PyTorch DDP's bucket_cap_mb, 25 MB).</summary>
    public long BucketBytes { get; init; } = 25L << 20;
    /// <summary>
    /// Start each bucket's non-blocking allreduce during the backward pass as soon as its last gradient is final (needs the
    /// generated class's gradient-ready calls, see <see cref="NetworkBase{T}.GradientOrder"/>); false reduces after backward.
    /// </summary>
    public bool Overlap { get; init; } = true;
    /// <summary>
    /// Without <see cref="SyncBatchNorm"/>, copy rank 0's buffers (running statistics) to every rank before each step, as
    /// PyTorch DDP's broadcast_buffers (default true): the ranks' models stay identical, rank 0's statistics win.
    /// </summary>
    public bool BroadcastBuffers { get; init; } = true;
}

/// <summary>Where the time of the last <see cref="DataParallel{T}.Step"/> went (milliseconds).</summary>
public readonly record struct StepTiming(double TotalMs, double BackwardMs, double WaitMs, double ReduceMs, int Buckets, long Bytes);

/// <summary>
/// Data-parallel training of a generated network over MPI (Horovod/DDP-style): at construction every rank checks that it
/// holds the same network (parameter and buffer names, shapes, element type, seed) and takes rank 0's parameters and
/// buffers; each <see cref="Step"/> runs the rank's forward and backward pass on its shard of the global batch, averages the
/// gradients over the ranks with allreduce (weighted by shard sizes, so the update is the one of the global batch), and
/// steps the optimizer. With equal seeds and data order every rank then holds the same parameters after every step.
/// </summary>
public sealed class DataParallel<T> : IDisposable where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly GradientBuckets<T> _buckets;
    private readonly StatisticsReduction<T>? _bnReduce;

    public NetworkBase<T> Network { get; }
    public DistributedContext Context { get; }
    public DataParallelOptions Options { get; }
    public StepTiming LastStep { get; private set; }
    /// <summary>The bucket plan: parameter names per bucket, in the order their allreduces start.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Buckets => _buckets.Plan;

    public DataParallel(NetworkBase<T> network, DistributedContext context, DataParallelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(context);
        Network = network; Context = context; Options = options ?? new DataParallelOptions();
        if (context.Size > 1 && !network.Device.IsCpu)
            throw new NotSupportedException($"data-parallel training runs on the CPU device (the network is on {network.Device.Name}): gradients are reduced from host memory");
        CheckSameNetwork();
        if (context.IsMain && context.Size > 1) Console.Error.WriteLine($"data-parallel over {context.Size} ranks: {context.RankMap()}");
        foreach (var p in network.Parameters) context.Broadcast(p.Value.AsSpan());
        foreach (var b in network.Buffers) context.Broadcast(b.Value.AsSpan());
        ParameterWrites.Bump();   // written through spans: folded-batchnorm caches are stale
        _buckets = new GradientBuckets<T>(network, context, Options.BucketBytes, Options.Overlap);
        if (Options.SyncBatchNorm && context.Size > 1)
        {
            _bnReduce = ReduceStatistics;
            CpuKernels<T>.BatchNormReduction = _bnReduce;
        }
    }

    private T _share = T.One;

    /// <summary>
    /// Synchronized batchnorm's reduction: forward statistics are plain sums; backward sums of dy are scaled by this rank's
    /// share of the global batch before the sum (each rank's dy carries its own 1/local-batch) and back after it.
    /// </summary>
    private void ReduceStatistics(Span<T> values, bool gradients)
    {
        if (!gradients || _share == T.One) { Context.AllreduceSum(values); return; }
        for (int i = 0; i < values.Length; i++) values[i] *= _share;
        Context.AllreduceSum(values);
        T inv = T.One / _share;
        for (int i = 0; i < values.Length; i++) values[i] *= inv;
    }

    /// <summary>The description every rank must agree on: element type, seed, then each parameter and buffer with its shape.</summary>
    public static string Describe(NetworkBase<T> net)
    {
        var sb = new StringBuilder();
        string type = net.GetType().Name;
        if (type.IndexOf('`') is var tick and > 0) type = type[..tick];
        sb.Append(type).Append(" <").Append(typeof(T).Name).Append("> seed ").Append(net.Seed).Append('\n');
        foreach (var p in net.Parameters) sb.Append(p.Name).Append(' ').Append(Tensor<T>.Format(p.Shape)).Append('\n');
        foreach (var b in net.Buffers) sb.Append(b.Name).Append(' ').Append(Tensor<T>.Format(b.Shape)).Append(" (buffer)\n");
        return sb.ToString();
    }

    private void CheckSameNetwork()
    {
        string mine = Describe(Network);
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(mine)))[..16];
        var hashes = Context.Allgather(hash);
        int bad = Array.FindIndex(hashes, h => h != hashes[0]);
        if (bad < 0) return;
        var all = Context.Allgather(mine);   // only on a mismatch: name the first difference
        var a = all[0].Split('\n'); var b = all[bad].Split('\n');
        int line = 0;
        while (line < Math.Min(a.Length, b.Length) && a[line] == b[line]) line++;
        string first = line < a.Length ? a[line] : "(nothing)", other = line < b.Length ? b[line] : "(nothing)";
        throw new DistributedException($"rank {Context.Rank}: the ranks do not hold the same network: rank 0 has '{first}' where rank {bad} has '{other}' " +
            $"(line {line + 1} of the description: type, seed, then parameter and buffer names and shapes); start every rank with the same .net network and seed");
    }

    /// <summary>
    /// One data-parallel step: sets the network's <see cref="NetworkBase{T}.SampleOffset"/>, runs
    /// <paramref name="forwardBackward"/> (the generated <c>TrainStep(x, y)</c> on this rank's shard, which overwrites the
    /// gradients), averages the gradients over the ranks (each rank's mean-loss gradient weighted by its share of the global
    /// batch), steps <paramref name="optimizer"/> and returns the loss of the global batch (the shard losses weighted alike).
    /// </summary>
    /// <param name="localBatch">Samples in this rank's shard.</param>
    /// <param name="globalBatch">Samples over all ranks (default localBatch × Size: equal shards).</param>
    /// <param name="sampleOffset">Global index of the shard's first sample (default Rank × localBatch).</param>
    public T Step(Func<T> forwardBackward, Optimizer<T> optimizer, int localBatch, int globalBatch = 0, long sampleOffset = -1)
    {
        ArgumentNullException.ThrowIfNull(forwardBackward);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer.AccumulatesGradients)
            throw new NotSupportedException("an optimizer that keeps its state in the gradient buffers (Sgd stateInGradients) cannot be used data-parallel: the allreduce needs the plain gradients");
        if (globalBatch <= 0) globalBatch = localBatch * Context.Size;
        Network.SampleOffset = sampleOffset >= 0 ? sampleOffset : (long)Context.Rank * localBatch;
        double scale = (double)localBatch / globalBatch;
        _share = T.CreateChecked(scale) * T.CreateChecked(Context.Size);
        var sw = Stopwatch.StartNew();
        if (!Options.SyncBatchNorm && Options.BroadcastBuffers && Context.Size > 1)
        {
            foreach (var b in Network.Buffers) Context.Broadcast(b.Value.AsSpan());
            ParameterWrites.Bump();
        }
        _buckets.Begin(T.CreateChecked(scale));
        T loss = forwardBackward();
        double backward = sw.Elapsed.TotalMilliseconds;
        var (wait, reduce) = _buckets.Finish();
        optimizer.Step();
        double globalLoss = Context.AllreduceSum(double.CreateChecked(loss) * scale);
        LastStep = new StepTiming(sw.Elapsed.TotalMilliseconds, backward, wait, reduce, _buckets.Plan.Count, _buckets.Bytes);
        return T.CreateChecked(globalLoss);
    }

    /// <summary>Averages the gradients over the ranks now (blocking), e.g. after gradient accumulation; scale = share of this rank.</summary>
    public void AllreduceGradients(double scale)
    {
        _buckets.Begin(T.CreateChecked(scale));
        _buckets.Finish();
    }

    public void Dispose()
    {
        _buckets.Dispose();
        if (_bnReduce != null && CpuKernels<T>.BatchNormReduction == _bnReduce) CpuKernels<T>.BatchNormReduction = null;
    }
}
