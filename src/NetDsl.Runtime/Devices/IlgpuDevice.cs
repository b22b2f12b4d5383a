using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Runtime;

/// <summary>
/// A device backed by an ILGPU accelerator (CUDA, OpenCL, or ILGPU's CPU simulator for tests). Tensors on it keep an
/// ILGPU <see cref="MemoryBuffer1D{T, TStride}"/> (dense) in <see cref="Tensor{T}.DeviceBuffer"/>; a view shares its
/// storage's buffer and starts at <see cref="Tensor{T}.Offset"/> (see <see cref="View{T}"/>). Kernels run on the
/// accelerator's default stream, in order; copies to the host wait for them. Only float kernels exist.
/// </summary>
public sealed class IlgpuDevice : Device
{
    private readonly bool _ownsContext;
    private readonly IlgpuKernels _kernels;
    private bool _disposed;

    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public AcceleratorType AcceleratorType => Accelerator.AcceleratorType;

    public override string Name => $"ilgpu {KindName(Accelerator.AcceleratorType)} ({Accelerator.Name})";
    public override bool IsCpu => false;

    /// <summary>
    /// Wraps an existing accelerator (not disposed with this device unless <paramref name="ownsContext"/>: then the
    /// accelerator and context are). Create the context with <c>EnableAlgorithms()</c> (ILGPU.Algorithms) so that
    /// MathF functions compile for CUDA without LibDevice.
    /// </summary>
    public IlgpuDevice(Context context, Accelerator accelerator, bool ownsContext = false)
    {
        Context = context ?? throw new ArgumentNullException(nameof(context));
        Accelerator = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
        _ownsContext = ownsContext;
        _kernels = new IlgpuKernels(this);
    }

    /// <summary>
    /// Creates its own context and the <paramref name="index"/>-th accelerator of <paramref name="type"/>. Throws
    /// <see cref="InvalidOperationException"/> when there is no such accelerator.
    /// </summary>
    public IlgpuDevice(AcceleratorType type, int index = 0, bool assertions = false)
        : this(CreateOwned(type, index, assertions), ownsContext: true) { }

    private IlgpuDevice((Context Context, Accelerator Accelerator) created, bool ownsContext)
        : this(created.Context, created.Accelerator, ownsContext) { }

    /// <summary>ILGPU's CPU simulator (runs kernels on the CPU through ILGPU): for tests of the ILGPU path without a GPU.</summary>
    public static IlgpuDevice CreateCpuSimulator(bool assertions = false) => new(AcceleratorType.CPU, 0, assertions);

    /// <summary>The first CUDA device, else the first OpenCL GPU, else null (with the reason, e.g. "no CUDA or OpenCL GPU found").</summary>
    public static IlgpuDevice? TryCreateGpu(out string reason)
    {
        Context? context = null;
        try
        {
            context = Context.Create(b => b.Cuda().OpenCL(IsGpu).Optimize(OptimizationLevel.O1).EnableAlgorithms());
            ILGPU.Runtime.Device? pick =
                context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.Cuda)
                ?? context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.OpenCL);
            if (pick is null)
            {
                context.Dispose();
                reason = "no CUDA or OpenCL GPU found";
                return null;
            }
            var accelerator = pick.CreateAccelerator(context);
            reason = $"{KindName(pick.AcceleratorType)} device {pick.Name}";
            return new IlgpuDevice(context, accelerator, ownsContext: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context?.Dispose();
            reason = $"ILGPU could not open a GPU ({e.GetType().Name}: {e.Message})";
            return null;
        }
    }

    private static bool IsGpu(CLDevice d) => (d.DeviceType & CLDeviceType.CL_DEVICE_TYPE_GPU) != 0;

    private static (Context, Accelerator) CreateOwned(AcceleratorType type, int index, bool assertions)
    {
        var context = Context.Create(b =>
        {
            switch (type)
            {
                case AcceleratorType.CPU: b.CPU(); break;
                case AcceleratorType.Cuda: b.Cuda(); break;
                case AcceleratorType.OpenCL: b.OpenCL(); break;
                default: throw new ArgumentOutOfRangeException(nameof(type), $"unsupported accelerator type {type}");
            }
            b.Optimize(OptimizationLevel.O1).EnableAlgorithms();
            if (assertions) b.Assertions();
        });
        try
        {
            var devices = context.Devices.Where(d => d.AcceleratorType == type).ToList();
            if (index < 0 || index >= devices.Count)
                throw new InvalidOperationException($"no {KindName(type)} accelerator #{index}: ILGPU found {devices.Count}");
            return (context, devices[index].CreateAccelerator(context));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private static string KindName(AcceleratorType t) => t switch
    {
        AcceleratorType.CPU => "cpu-simulator",
        AcceleratorType.Cuda => "cuda",
        AcceleratorType.OpenCL => "opencl",
        _ => t.ToString().ToLowerInvariant(),
    };

    public override IKernels<T> Kernels<T>() =>
        typeof(T) == typeof(float) ? (IKernels<T>)(object)_kernels
        : throw new NotSupportedException($"the ILGPU device has float kernels only, not {typeof(T).Name}");

    public override Tensor<T> Allocate<T>(params int[] shape)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = Tensor<T>.ShapeLength(shape);
        CountAllocation();
        var buffer = Accelerator.Allocate1D<T>(Math.Max(n, 1));
        buffer.View.MemSetToZero();
        return new Tensor<T>(this, shape, null, buffer, 0);
    }

    internal override Tensor<T> CreateView<T>(Tensor<T> storage, int offset, int[] shape) =>
        new(this, shape, null, Buffer(storage, nameof(storage)), offset);

    internal override T[] CopyToHost<T>(Tensor<T> t)
    {
        var host = new T[t.Length];
        if (host.Length > 0) View(t).CopyToCPU(host.AsSpan());
        return host;
    }

    internal override void CopyFromHost<T>(Tensor<T> t, ReadOnlySpan<T> data)
    {
        if (data.Length > 0) View(t).CopyFromCPU(data);
    }

    /// <summary>The accelerator memory of <paramref name="t"/> (from its offset, its length), for launching custom kernels.</summary>
    public ArrayView<T> View<T>(Tensor<T> t, string name = "tensor") where T : unmanaged
    {
        var buffer = Buffer(t, name);
        return buffer.View.SubView(t.Offset, t.Length);
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Buffer<T>(Tensor<T> t, string name) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (!ReferenceEquals(t.Device, this))
            throw new ArgumentException($"{name}: tensor {Tensor<T>.Format(t.Shape)} lives on {t.Device.Name}, not on {Name}", name);
        return t.DeviceBuffer as MemoryBuffer1D<T, Stride1D.Dense>
            ?? throw new ArgumentException($"{name}: tensor {Tensor<T>.Format(t.Shape)} has no ILGPU buffer", name);
    }

    /// <summary>Waits for all launched kernels.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    public override void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _kernels.Dispose();
        if (_ownsContext)
        {
            Accelerator.Dispose();
            Context.Dispose();
        }
    }
}
