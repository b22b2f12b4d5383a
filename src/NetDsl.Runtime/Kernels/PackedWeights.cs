namespace NetDsl.Runtime;

/// <summary>
/// One call site's cache of a weight operand in a kernel's packed layout (inference: ONNX Runtime packs its weights once
/// at session creation). The generated eval program owns one per linear layer whose weight is a parameter or a folded
/// batchnorm weight and passes it with a key (<c>ParameterWriteKey()</c>: it moves on every optimizer step, Train/Eval,
/// MarkModified and host write to the network's parameters and buffers); the kernel repacks when the key, the weight
/// tensor or its shape differ from what the slot was packed at, and reuses the packed form otherwise. Kernels never cache
/// on their own: only the emitter knows an operand does not change between calls. Backends without a packed layout
/// (ILGPU) ignore the slot.
/// </summary>
public sealed class PackedWeights<T> where T : unmanaged
{
    /// <summary>
    /// False makes the kernels ignore every slot and pack per call, as training does (process-wide, for this T): the
    /// reference of the tests and the A/B switch of benchmarks.
    /// </summary>
    public static bool Enabled { get; set; } = true;

    internal T[]? Data;
    internal long Key = long.MinValue;
    internal object? Source;
    internal int Rows, Cols;

    /// <summary>How many times the weight was packed into this slot (a first call, then once per key change).</summary>
    public int PackCount { get; internal set; }

    /// <summary>True when the slot holds <paramref name="source"/> [rows, cols] packed at <paramref name="key"/>.</summary>
    internal bool Holds(object source, int rows, int cols, long key) =>
        Data is not null && Key == key && ReferenceEquals(Source, source) && Rows == rows && Cols == cols;

    internal T[] Buffer(int length)
    {
        if (Data is null || Data.Length != length) Data = new T[length];
        return Data;
    }

    /// <summary>
    /// A buffer for a packed GEMM operand read from its 64-byte aligned start (<see cref="AlignedArrays"/>): pinned, and
    /// <see cref="AlignedArrays.Pad{T}"/> elements longer than asked.
    /// </summary>
    internal T[] AlignedBuffer(int length)
    {
        int n = length + AlignedArrays.Pad<T>();
        if (Data is null || Data.Length != n) Data = AlignedArrays.Allocate<T>(length);
        return Data;
    }

    internal void Packed(object source, int rows, int cols, long key)
    {
        Source = source; Rows = rows; Cols = cols; Key = key;
        PackCount++;
    }
}
