using System.Numerics;

namespace NetDsl.Runtime;

/// <summary>
/// A dense, row-major (NCHW for images) tensor that lives on one <see cref="Device"/>.
/// On the CPU device the elements are a managed array (<see cref="AsSpan"/>); on an ILGPU
/// device they are an accelerator buffer (<see cref="DeviceBuffer"/>), and <see cref="CopyToHost"/> /
/// <see cref="CopyFromHost"/> move data. Shapes are fixed at allocation.
/// </summary>
public sealed class Tensor<T> where T : unmanaged
{
    private readonly T[]? _host;

    public Device Device { get; }
    public int[] Shape { get; }
    public int Length { get; }
    public int Rank => Shape.Length;

    /// <summary>Accelerator memory when <see cref="Device"/> is an ILGPU device; null on the CPU device.</summary>
    public object? DeviceBuffer { get; }

    /// <summary>Offset of element 0 in the backing storage (tensors planned into a shared arena are views).</summary>
    public int Offset { get; }

    internal Tensor(Device device, int[] shape, T[]? host, object? deviceBuffer, int offset = 0)
    {
        Device = device;
        Offset = offset;
        Shape = (int[])shape.Clone();
        Length = ShapeLength(shape);
        _host = host;
        DeviceBuffer = deviceBuffer;
    }

    /// <summary>A CPU tensor over an existing array (no copy).</summary>
    public static Tensor<T> FromArray(T[] data, params int[] shape)
    {
        if (data.Length != ShapeLength(shape))
            throw new ArgumentException($"array of {data.Length} elements does not fit shape {Format(shape)} ({ShapeLength(shape)} elements)");
        return new Tensor<T>(Device.Cpu, shape, data, null);
    }

    public static Tensor<T> Zeros(params int[] shape) => new(Device.Cpu, shape, new T[ShapeLength(shape)], null);

    /// <summary>The elements, for CPU tensors only.</summary>
    public Span<T> AsSpan() => _host is not null
        ? _host.AsSpan(Offset, Length)
        : throw new InvalidOperationException($"tensor {Format(Shape)} lives on {Device.Name}; copy it to the host first");

    /// <summary>
    /// A tensor of <paramref name="shape"/> sharing this tensor's storage from element <paramref name="offset"/>
    /// (how the memory planner packs activations into one arena).
    /// </summary>
    public Tensor<T> View(int offset, params int[] shape)
    {
        int n = ShapeLength(shape);
        if (offset < 0 || offset + n > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"view {Format(shape)} at {offset} does not fit in {Format(Shape)}");
        return Device.CreateView(this, Offset + offset, shape);
    }

    /// <summary>The backing array (the whole storage, see <see cref="Offset"/>), for CPU tensors only.</summary>
    public T[] HostArray => _host ?? throw new InvalidOperationException($"tensor {Format(Shape)} lives on {Device.Name}");

    public T this[params int[] index]
    {
        get => AsSpan()[FlatIndex(index)];
        set { AsSpan()[FlatIndex(index)] = value; MarkWritten(); }
    }

    private long _writes;
    /// <summary>How many times this tensor was written from the host (<see cref="CopyFromHost"/>, the indexer's setter,
    /// <see cref="MarkWritten"/>): caches derived from a parameter (eval-mode Forward's folded batchnorm weights) compare it
    /// with the value they were made at. Kernels writing on the device do not count (they are a network's own writes).</summary>
    public long WriteVersion => Volatile.Read(ref _writes);
    /// <summary>Say this tensor was written in a way it cannot see (through <c>AsSpan()</c>): see <see cref="WriteVersion"/>.</summary>
    public void MarkWritten() => Interlocked.Increment(ref _writes);

    private int FlatIndex(int[] index)
    {
        if (index.Length != Shape.Length) throw new ArgumentException($"index of rank {index.Length} for a tensor of shape {Format(Shape)}");
        int o = 0;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i]) throw new IndexOutOfRangeException($"index {index[i]} out of range for dim {i} of {Format(Shape)}");
            o = o * Shape[i] + index[i];
        }
        return o;
    }

    public T[] CopyToHost() => Device.CopyToHost(this);
    public void CopyFromHost(ReadOnlySpan<T> data)
    {
        if (data.Length != Length) throw new ArgumentException($"{data.Length} elements for a tensor of shape {Format(Shape)} ({Length} elements)");
        Device.CopyFromHost(this, data);
        MarkWritten();   // caches derived from this tensor (folded batchnorm weights) are stale
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming expected and actual shapes unless this tensor has <paramref name="expected"/> shape.</summary>
    public void CheckShape(string name, ReadOnlySpan<int> expected)
    {
        if (!expected.SequenceEqual(Shape))
            throw new ArgumentException($"{name}: expected shape {Format(expected)}, got {Format(Shape)}", name);
    }

    public static int ShapeLength(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) { if (d < 0) throw new ArgumentException($"negative dim in shape {Format(shape)}"); n *= d; }
        if (n > int.MaxValue) throw new ArgumentException($"shape {Format(shape)} has more than 2^31 elements");
        return (int)n;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
    /// <summary>The values, as PyTorch prints them (abbreviated beyond 1000 elements; see <see cref="TensorFormatter"/>).</summary>
    public override string ToString() => TensorFormatter.Format(this);

    /// <summary>The element type, shape and device without the values, e.g. <c>Tensor&lt;Single&gt;[2, 3] on cpu</c>.</summary>
    public string Describe() => $"Tensor<{typeof(T).Name}>{Format(Shape)} on {Device.Name}";
}
