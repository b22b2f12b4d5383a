namespace NetDsl.Runtime;

/// <summary>
/// Where tensors live and kernels run. <see cref="Cpu"/> is our own vectorized C# path;
/// <see cref="Ilgpu"/> runs generated and library kernels through ILGPU (CUDA, OpenCL, or the
/// CPU simulator for tests). <see cref="Default"/> picks CUDA, then OpenCL, then the CPU path.
/// </summary>
public abstract class Device : IDisposable
{
    public static Device Cpu { get; } = new CpuDevice();

    public abstract string Name { get; }
    public abstract bool IsCpu { get; }

    /// <summary>Kernels for element type T on this device (float and double on the CPU; float on ILGPU).</summary>
    public abstract IKernels<T> Kernels<T>() where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>;

    public abstract Tensor<T> Allocate<T>(params int[] shape) where T : unmanaged;

    private long _allocations;
    /// <summary>Tensors allocated on this device so far (tests use it to prove a training step allocates none).</summary>
    public long AllocationCount => Interlocked.Read(ref _allocations);
    protected void CountAllocation() => Interlocked.Increment(ref _allocations);
    /// <summary>A tensor sharing <paramref name="storage"/>'s memory from absolute element offset <paramref name="offset"/>.</summary>
    internal abstract Tensor<T> CreateView<T>(Tensor<T> storage, int offset, int[] shape) where T : unmanaged;
    internal abstract T[] CopyToHost<T>(Tensor<T> t) where T : unmanaged;
    internal abstract void CopyFromHost<T>(Tensor<T> t, ReadOnlySpan<T> data) where T : unmanaged;

    /// <summary>CPU unless an ILGPU CUDA or OpenCL accelerator is present (then that one).</summary>
    public static Device Default => DeviceSelector.Select();

    public virtual void Dispose() { }
    public override string ToString() => Name;
}

public sealed class CpuDevice : Device
{
    public override string Name => $"cpu ({Environment.ProcessorCount} cores, {VectorInfo})";
    public override bool IsCpu => true;
    internal static string VectorInfo =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512" :
        System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2" : "scalar/128-bit";

    public override IKernels<T> Kernels<T>() => CpuKernels<T>.Instance;
    public override Tensor<T> Allocate<T>(params int[] shape)
    {
        CountAllocation();
        return new(this, shape, new T[Tensor<T>.ShapeLength(shape)], null);
    }
    internal override Tensor<T> CreateView<T>(Tensor<T> storage, int offset, int[] shape) => new(this, shape, storage.HostArray, null, offset);
    internal override T[] CopyToHost<T>(Tensor<T> t) => t.AsSpan().ToArray();
    internal override void CopyFromHost<T>(Tensor<T> t, ReadOnlySpan<T> data) => data.CopyTo(t.AsSpan());
}
