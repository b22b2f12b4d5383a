namespace NetDsl.Runtime;

/// <summary>
/// A process-wide count of the network-level events that may change parameters or batchnorm statistics. Eval-mode Forward
/// folds each batchnorm into the convolution before it once, then reuses the folded weights until this count or a
/// parameter's or buffer's own <see cref="Tensor{T}.WriteVersion"/> moves (see <c>NetworkBase.ParameterWriteKey</c>). This
/// count moves on <see cref="Optim.Optimizer{T}.Step"/>, <see cref="NetworkBase{T}.Train"/>, <see cref="NetworkBase{T}.Eval"/>,
/// data-parallel broadcasts and <see cref="NetworkBase{T}.MarkModified"/>; a tensor's own count moves on
/// <see cref="Tensor{T}.CopyFromHost"/>, the indexer's setter and <see cref="Tensor{T}.MarkWritten"/> (so checkpoint and
/// weight loading and initialization). Writes through <c>AsSpan()</c>, a kernel of your own or a device copy are not seen:
/// call <c>net.MarkModified()</c> after them. Copying inputs into a network does not invalidate anything.
/// </summary>
public static class ParameterWrites
{
    private static long _version;

    /// <summary>The current count (compare with a value read earlier: different means something may have changed).</summary>
    public static long Version => Volatile.Read(ref _version);

    /// <summary>Records a write: every cache keyed by <see cref="Version"/> is stale.</summary>
    public static void Bump() => Interlocked.Increment(ref _version);
}
