namespace NetDsl.Runtime.Data;

/// <summary>A minibatch: how many samples it holds and its index in the epoch.</summary>
public interface IBatch
{
    int Size { get; }
    int Index { get; }
}

/// <summary>Something that yields an epoch of batches (a <see cref="DataLoader"/>, a <see cref="TensorLoader"/>).</summary>
public interface IBatchSource<out TBatch> where TBatch : IBatch
{
    int BatchesPerEpoch { get; }
    /// <summary>Samples per epoch.</summary>
    int SamplesPerEpoch { get; }
    IEnumerable<TBatch> Epoch(int epoch);
}

/// <summary>One minibatch of a <see cref="TensorLoader"/>: a tensor per dataset column, [Size, ...sample shape].</summary>
/// <remarks>The loader reuses its batches: a batch's contents are valid until the next-but-one batch is produced.</remarks>
public sealed class TensorBatch : IBatch
{
    private readonly Dictionary<string, object> _tensors;
    public int Size { get; }
    public int Index { get; internal set; }
    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; internal set; }

    internal TensorBatch(Dictionary<string, object> tensors, int size) { _tensors = tensors; Size = size; }

    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>The float tensor of column <paramref name="name"/>.</summary>
    public Tensor<float> Float(string name) => Get(name) as Tensor<float> ?? throw new InvalidOperationException($"column '{name}' holds ints: use Int(\"{name}\")");
    /// <summary>The int tensor of column <paramref name="name"/>.</summary>
    public Tensor<int> Int(string name) => Get(name) as Tensor<int> ?? throw new InvalidOperationException($"column '{name}' holds floats: use Float(\"{name}\")");

    private object Get(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"batch has no column '{name}' (it has: {string.Join(", ", _tensors.Keys)})");
}

/// <summary>
/// Yields minibatches of a <see cref="TensorDataset"/> (PyTorch's DataLoader): shuffled per epoch from (seed, epoch), the last
/// partial batch kept unless <c>dropLast</c>. Batches are gathered and transformed (<see cref="Transform"/>, on host memory)
/// up to one batch ahead on a worker thread (one per epoch) while the caller trains on the current one (<see cref="Prefetch"/>);
/// transforms are seeded by (epoch, batch index), so the batches are the same with or without the worker.
/// </summary>
public sealed class TensorLoader : IBatchSource<TensorBatch>
{
    private readonly TensorDataset _data;
    private readonly int[] _order;
    // two host buffer sets (double buffering) for full batches and two for the tail; device tensors when not on the CPU
    private readonly TensorBatch[] _host, _hostTail;
    private readonly TensorBatch? _device, _deviceTail;

    public TensorDataset Data => _data;
    public Device Device { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public int Seed { get; }
    public int Count => _data.Count;
    public int TailSize { get; }
    public int BatchesPerEpoch => Count / BatchSize + (TailSize > 0 ? 1 : 0);
    public int SamplesPerEpoch => Count / BatchSize * BatchSize + TailSize;

    /// <summary>In-place transform of each batch while it is in host memory (augmentation): called with the batch (its
    /// <see cref="TensorBatch.Epoch"/> and <see cref="TensorBatch.Index"/> set), on the worker thread when prefetching.</summary>
    public Action<TensorBatch>? Transform { get; init; }
    /// <summary>Prepare the next batch on a worker thread while the current one is used (default true).</summary>
    public bool Prefetch { get; init; } = true;

    public TensorLoader(TensorDataset data, int batchSize, Device? device = null, bool shuffle = true, int seed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be positive, got {batchSize}");
        if (data.Count <= 0) throw new ArgumentException("the dataset is empty", nameof(data));
        _data = data;
        Device = device ?? Runtime.Device.Cpu;
        BatchSize = Math.Min(batchSize, data.Count);
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        TailSize = dropLast ? 0 : data.Count % BatchSize;
        _order = new int[data.Count];
        _host = [MakeBatch(Runtime.Device.Cpu, BatchSize), MakeBatch(Runtime.Device.Cpu, BatchSize)];
        _hostTail = TailSize > 0 ? [MakeBatch(Runtime.Device.Cpu, TailSize), MakeBatch(Runtime.Device.Cpu, TailSize)] : [];
        if (!Device.IsCpu)
        {
            _device = MakeBatch(Device, BatchSize);
            if (TailSize > 0) _deviceTail = MakeBatch(Device, TailSize);
        }
    }

    private TensorBatch MakeBatch(Device device, int size)
    {
        var d = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var c in _data.Columns)
            d[c.Name] = c.IsInt ? device.Allocate<int>(c.BatchShape(size)) : device.Allocate<float>(c.BatchShape(size));
        return new TensorBatch(d, size);
    }

    /// <summary>The sample order of <paramref name="epoch"/>.</summary>
    public int[] OrderFor(int epoch)
    {
        var order = new int[Count];
        FillOrder(epoch, order);
        return order;
    }

    private void FillOrder(int epoch, int[] order) => EpochOrder.Fill(order, Shuffle, Seed, epoch);

    public IEnumerable<TensorBatch> Epoch(int epoch)
    {
        FillOrder(epoch, _order);
        int n = BatchesPerEpoch;
        TensorBatch HostFor(int b) => b < Count / BatchSize ? _host[b & 1] : _hostTail[b & 1];
        if (!Prefetch)
        {
            for (int b = 0; b < n; b++)
            {
                Fill(HostFor(b), b * BatchSize, epoch, b);
                yield return ToDevice(HostFor(b), epoch, b);
            }
            yield break;
        }
        // one worker thread per epoch, at most one batch ahead: two host buffers, "free" counts the buffers it may fill
        using var free = new SemaphoreSlim(2);
        using var ready = new SemaphoreSlim(0);
        Exception? failure = null;
        bool stop = false;
        var worker = new Thread(() =>
        {
            try
            {
                for (int b = 0; b < n; b++)
                {
                    free.Wait();
                    if (Volatile.Read(ref stop)) return;
                    Fill(HostFor(b), b * BatchSize, epoch, b);
                    ready.Release();
                }
            }
            catch (Exception e) { failure = e; ready.Release(); }
        }) { IsBackground = true, Name = "TensorLoader prefetch" };
        worker.Start();
        try
        {
            for (int b = 0; b < n; b++)
            {
                ready.Wait();
                if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
                yield return ToDevice(HostFor(b), epoch, b);
                free.Release(); // the caller has moved past batch b: its buffer may take batch b + 2
            }
        }
        finally
        {
            // an abandoned enumeration stops the worker before the buffers are reused
            Volatile.Write(ref stop, true);
            free.Release(2);
            worker.Join();
        }
    }

    private TensorBatch ToDevice(TensorBatch host, int epoch, int b)
    {
        if (Device.IsCpu) return host;
        var dev = host.Size == BatchSize ? _device! : _deviceTail!;
        foreach (var c in _data.Columns)
        {
            if (c.IsInt) dev.Int(c.Name).CopyFromHost(host.Int(c.Name).AsSpan());
            else dev.Float(c.Name).CopyFromHost(host.Float(c.Name).AsSpan());
        }
        dev.Index = b; dev.Epoch = epoch;
        return dev;
    }

    private void Fill(TensorBatch batch, int start, int epoch, int index)
    {
        foreach (var c in _data.Columns)
        {
            int s = c.SampleSize;
            if (c.IsInt)
            {
                var src = c.Ints.AsSpan(); var dst = batch.Int(c.Name).AsSpan();
                for (int i = 0; i < batch.Size; i++) src.Slice(_order[start + i] * s, s).CopyTo(dst.Slice(i * s, s));
            }
            else
            {
                var src = c.Floats.AsSpan(); var dst = batch.Float(c.Name).AsSpan();
                for (int i = 0; i < batch.Size; i++) src.Slice(_order[start + i] * s, s).CopyTo(dst.Slice(i * s, s));
            }
        }
        batch.Index = index;
        batch.Epoch = epoch;
        Transform?.Invoke(batch);
    }
}
