using System.Runtime.Intrinsics;
using AcceleratorType = ILGPU.Runtime.AcceleratorType;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

namespace NetDsl.Tests;

/// <summary>
/// One ILGPU device for the whole test run (each kernel's first launch compiles it). ILGPU's CPU simulator by default;
/// NETDSL_ILGPU_TEST_DEVICE=opencl or cuda runs the same tests on a real backend (e.g. an OpenCL CPU driver such as pocl).
/// </summary>
public sealed class IlgpuFixture : IDisposable
{
    public IlgpuDevice Device { get; } = Environment.GetEnvironmentVariable("NETDSL_ILGPU_TEST_DEVICE")?.ToLowerInvariant() switch
    {
        "opencl" => new IlgpuDevice(AcceleratorType.OpenCL),
        "cuda" => new IlgpuDevice(AcceleratorType.Cuda),
        _ => IlgpuDevice.CreateCpuSimulator(),
    };

    public void Dispose() => Device.Dispose();
}

[CollectionDefinition("ilgpu")]
public sealed class IlgpuCollection : ICollectionFixture<IlgpuFixture> { }
