namespace NetDsl.Runtime.Data;

/// <summary>One minibatch: <see cref="Images"/> [Size, ...sample shape] and <see cref="Labels"/> [Size] on the loader's device.</summary>
/// <remarks>The tensors are reused by the loader: their contents are valid until the next batch is produced.</remarks>
public readonly record struct Batch(Tensor<float> Images, Tensor<int> Labels, int Size, int Index) : IBatch;

/// <summary>
/// Yields minibatches of a <see cref="LabeledImages"/> set into preallocated tensors (no allocation per batch), in an
/// order shuffled per epoch from (seed, epoch), so epoch e's order is reproducible on its own.
/// Like PyTorch's default (drop_last=False), the last partial batch of an epoch is yielded with its own, smaller,
/// preallocated tensors [Count % BatchSize, ...]; pass <c>dropLast: true</c> to skip it instead.
/// Every sample appears exactly once per epoch (unless dropped with the last partial batch).
/// </summary>
public sealed class DataLoader : IBatchSource<Batch>
{
    private readonly LabeledImages _data;
    private readonly int[] _order;
    private readonly float[] _hostImages;
    private readonly int[] _hostLabels;
    private readonly Tensor<float>? _hostBatch, _hostTail;
    private readonly Tensor<float> _images;
    private readonly Tensor<int> _labels;
    private readonly Tensor<float>? _tailImages;
    private readonly Tensor<int>? _tailLabels;

    public LabeledImages Data => _data;
    public Device Device { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public int Seed { get; }
    /// <summary>Samples in the set.</summary>
    public int Count => _data.Count;
    /// <summary>Size of the last batch of an epoch when it is partial and kept; 0 otherwise.</summary>
    public int TailSize { get; }
    public int BatchesPerEpoch => Count / BatchSize + (TailSize > 0 ? 1 : 0);
    /// <summary>Samples yielded per epoch (Count, less the dropped tail with dropLast).</summary>
    public int SamplesPerEpoch => Count / BatchSize * BatchSize + TailSize;

    /// <summary>
    /// Optional in-place transform of each batch's images while they are still in host memory, before they reach the
    /// device: called with a CPU tensor [size, ...sample shape], the epoch and the batch index. Use it for augmentation
    /// written for CPU tensors (e.g. <see cref="Augment.RandomShift"/>) so it also works when the loader's device is a GPU.
    /// </summary>
    public Action<Tensor<float>, int, int>? HostTransform { get; init; }

    public DataLoader(LabeledImages data, int batchSize, Device? device = null, bool shuffle = true, int seed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be positive, got {batchSize}");
        _data = data;
        Device = device ?? Runtime.Device.Cpu;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        TailSize = dropLast ? 0 : data.Count % batchSize;
        _order = new int[data.Count];
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _images = Device.Allocate<float>(data.BatchShape(batchSize));
        _labels = Device.Allocate<int>(batchSize);
        if (TailSize > 0)
        {
            _tailImages = Device.Allocate<float>(data.BatchShape(TailSize));
            _tailLabels = Device.Allocate<int>(TailSize);
        }
        // Staging buffers are needed only when the tensors are not host memory.
        _hostImages = Device.IsCpu ? [] : new float[batchSize * data.SampleSize];
        _hostLabels = Device.IsCpu ? [] : new int[batchSize];
        if (!Device.IsCpu)
        {
            _hostBatch = Tensor<float>.FromArray(_hostImages, data.BatchShape(batchSize));
            if (TailSize > 0) _hostTail = _hostBatch.View(0, data.BatchShape(TailSize));
        }
    }

    /// <summary>The sample order of <paramref name="epoch"/> (a permutation of 0..Count-1; identity without shuffling).</summary>
    public int[] OrderFor(int epoch)
    {
        var order = new int[Count];
        FillOrder(epoch, order);
        return order;
    }

    private void FillOrder(int epoch, int[] order) => EpochOrder.Fill(order, Shuffle, Seed, epoch);

    /// <summary>
    /// The batches of <paramref name="epoch"/>. Each yielded batch's tensors are overwritten by the next one, so consume a
    /// batch before moving on (do not enumerate two epochs of one loader at once).
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        FillOrder(epoch, _order);
        int full = Count / BatchSize;
        for (int b = 0; b < full; b++)
        {
            Fill(b * BatchSize, BatchSize, _images, _labels, _hostBatch, epoch, b);
            yield return new Batch(_images, _labels, BatchSize, b);
        }
        if (TailSize > 0)
        {
            Fill(full * BatchSize, TailSize, _tailImages!, _tailLabels!, _hostTail, epoch, full);
            yield return new Batch(_tailImages!, _tailLabels!, TailSize, full);
        }
    }

    private void Fill(int start, int size, Tensor<float> images, Tensor<int> labels, Tensor<float>? host, int epoch, int batchIndex)
    {
        int s = _data.SampleSize;
        Span<float> dstImages = Device.IsCpu ? images.AsSpan() : _hostImages.AsSpan(0, size * s);
        Span<int> dstLabels = Device.IsCpu ? labels.AsSpan() : _hostLabels.AsSpan(0, size);
        var src = _data.Images.AsSpan();
        for (int i = 0; i < size; i++)
        {
            int k = _order[start + i];
            src.Slice(k * s, s).CopyTo(dstImages.Slice(i * s, s));
            dstLabels[i] = _data.Labels[k];
        }
        HostTransform?.Invoke(Device.IsCpu ? images : host!, epoch, batchIndex);
        if (!Device.IsCpu)
        {
            images.CopyFromHost(dstImages);
            labels.CopyFromHost(dstLabels);
        }
    }
}
