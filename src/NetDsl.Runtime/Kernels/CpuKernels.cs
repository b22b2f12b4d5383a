using System.Numerics;

namespace NetDsl.Runtime;

/// <summary>Our own vectorized C# kernels (the CPU path). Placeholder: implemented in Kernels/Cpu*.cs.</summary>
public sealed partial class CpuKernels<T> : IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static readonly CpuKernels<T> Instance = new();
}
