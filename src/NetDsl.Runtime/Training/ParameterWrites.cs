namespace NetDsl.Runtime;

/// <summary>
/// A process-wide count of writes that may change parameters or batchnorm statistics. Eval-mode Forward folds each
/// batchnorm into the convolution before it once, then reuses the folded weights until this count moves. It moves on
/// <see cref="Tensor{T}.CopyFromHost"/> and the tensor indexer's setter (so checkpoint and weight loading, initialization
/// and host-side optimizer paths), <see cref="Optim.Optimizer{T}.Step"/>, <see cref="NetworkBase{T}.Train"/>,
/// <see cref="NetworkBase{T}.Eval"/> and <see cref="NetworkBase{T}.MarkModified"/>. Writes through <c>AsSpan()</c>, a
/// kernel of your own or a device copy are not seen: call <c>net.MarkModified()</c> after them.
/// </summary>
public static class ParameterWrites
{
    private static long _version;

    /// <summary>The current count (compare with a value read earlier: different means something may have changed).</summary>
    public static long Version => Volatile.Read(ref _version);

    /// <summary>Records a write: every cache keyed by <see cref="Version"/> is stale.</summary>
    public static void Bump() => Interlocked.Increment(ref _version);
}
