using NetDsl.Runtime;
using NetDsl.Runtime.Data;

namespace NetDsl.Distributed;

/// <summary>
/// One rank's part of one global batch: the sample indices it reads (in global order), where they start in the global
/// batch, and the global batch's size (the weights of the gradient average and the dropout offsets).
/// </summary>
public sealed record Shard(int[] Indices, int BatchIndex, long SampleOffset, int GlobalBatch)
{
    public int Size => Indices.Length;
}

/// <summary>
/// The distributed counterpart of <see cref="DataLoader"/>'s order: every rank computes the same seeded permutation of each
/// epoch (the permutation <see cref="DataLoader.OrderFor"/> gives for the same seed, so the epoch's global order is the one
/// of a single process), cuts it into global batches of <see cref="GlobalBatch"/> and reads only its contiguous shard of
/// each: rank r of P takes ⌊B/P⌋ samples, one more for r &lt; B mod P. Concatenating the shards of ranks 0..P−1 gives back
/// the global batch, in order.
/// </summary>
public sealed class DistributedSampler
{
    public int Count { get; }
    public int GlobalBatch { get; }
    public int Rank { get; }
    public int Size { get; }
    public bool Shuffle { get; }
    public int Seed { get; }
    public bool DropLast { get; }
    public int BatchesPerEpoch => Count / GlobalBatch + (!DropLast && Count % GlobalBatch >= Size ? 1 : 0);

    public DistributedSampler(int count, int globalBatch, int rank, int size, bool shuffle = true, int seed = 0, bool dropLast = false)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"sample count must be >= 0, got {count}");
        if (size <= 0 || rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not in 0..{size - 1}");
        if (globalBatch < size)
            throw new ArgumentOutOfRangeException(nameof(globalBatch), $"global batch {globalBatch} is smaller than the {size} ranks: every rank needs at least one sample");
        Count = count; GlobalBatch = globalBatch; Rank = rank; Size = size; Shuffle = shuffle; Seed = seed; DropLast = dropLast;
    }

    public DistributedSampler(int count, int globalBatch, DistributedContext context, bool shuffle = true, int seed = 0, bool dropLast = false)
        : this(count, globalBatch, context.Rank, context.Size, shuffle, seed, dropLast) { }

    /// <summary>The epoch's global order: the permutation a <see cref="DataLoader"/> with the same seed uses.</summary>
    public int[] OrderFor(int epoch)
    {
        var order = new int[Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!Shuffle) return order;
        var rng = SplitMix64.Derive((ulong)(uint)Seed, 0xE90C_0000_0000UL + (ulong)(uint)epoch);   // DataLoader's stream
        rng.Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>(offset, size) of rank <paramref name="rank"/>'s part of a global batch of <paramref name="batch"/> samples.</summary>
    public (int Offset, int Size) Part(int batch, int rank)
    {
        int q = batch / Size, r = batch % Size;
        return (rank * q + Math.Min(rank, r), q + (rank < r ? 1 : 0));
    }

    /// <summary>This rank's shards of <paramref name="epoch"/>, one per global batch (a last partial batch is kept when every rank gets a sample, unless DropLast).</summary>
    public IEnumerable<Shard> Epoch(int epoch)
    {
        var order = OrderFor(epoch);
        int batches = BatchesPerEpoch;
        for (int b = 0; b < batches; b++)
        {
            int start = b * GlobalBatch, size = Math.Min(GlobalBatch, Count - start);
            var (off, n) = Part(size, Rank);
            yield return new Shard(order.AsSpan(start + off, n).ToArray(), b, off, size);
        }
    }

    /// <summary>Copies the shard's samples into <paramref name="images"/> [n, ...] and <paramref name="labels"/> [n] (CPU tensors).</summary>
    public static void Fill(LabeledImages data, Shard shard, Tensor<float> images, Tensor<int> labels)
    {
        int s = data.SampleSize, n = shard.Size;
        if (images.Length != n * s || labels.Length != n)
            throw new ArgumentException($"shard of {n} samples of {s} values: images has {images.Length} values, labels {labels.Length}");
        var dst = images.AsSpan(); var dl = labels.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int k = shard.Indices[i];
            data.Image(k).CopyTo(dst.Slice(i * s, s));
            dl[i] = data.Labels[k];
        }
    }
}
