using System.Reflection;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;
using KernelSpecialization = ILGPU.Runtime.KernelSpecialization;

namespace NetDsl.Tests;

/// <summary>
/// Compiles every ILGPU kernel for CUDA (PTX) and OpenCL C with ILGPU's backends, no GPU needed: catches constructs the
/// CPU simulator accepts but a GPU backend rejects (e.g. a math function without a GPU implementation).
/// </summary>
[Collection("ilgpu")]
public class IlgpuCodegenTests(IlgpuFixture fixture)
{
    private static IEnumerable<MethodInfo> Kernels()
    {
        var type = typeof(IlgpuKernels).Assembly.GetType("NetDsl.Runtime.Ilgpu.GpuKernels", throwOnError: true)!;
        foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
        {
            if (!m.IsGenericMethodDefinition) { yield return m; continue; }
            if (m.GetGenericArguments()[0].GetGenericParameterConstraints().Contains(typeof(IGpuGemmOperand)))
            {
                // the tiled GEMM: every operand combination the host uses, with and without a fused epilogue
                foreach (var (a, b, o) in IlgpuKernels.GemmVariants)
                {
                    yield return m.MakeGenericMethod(a, b, o, typeof(ReluOp));
                    yield return m.MakeGenericMethod(a, b, o, typeof(Identity<float>));
                }
                continue;
            }
            var args = m.GetGenericArguments().Select(a =>
            {
                var c = a.GetGenericParameterConstraints();
                return c.Contains(typeof(IGpuMap1)) ? typeof(ReluOp) : c.Contains(typeof(IGpuMap2)) ? typeof(AxpyOp) : typeof(MulAddOp);
            }).ToArray();
            yield return m.MakeGenericMethod(args);
            if (args.Length == 1 && args[0] == typeof(ReluOp)) yield return m.MakeGenericMethod(typeof(Identity<float>));
        }
    }

    private static void CompileAll(Backend backend)
    {
        var failures = new List<string>();
        int count = 0;
        foreach (var m in Kernels())
        {
            try
            {
                var p0 = m.GetParameters()[0].ParameterType;
                bool implicitlyGrouped = p0 == typeof(ILGPU.Index1D) || p0 == typeof(ILGPU.Index2D) || p0 == typeof(ILGPU.Index3D);
                var entry = implicitlyGrouped ? EntryPointDescription.FromImplicitlyGroupedKernel(m) : EntryPointDescription.FromExplicitlyGroupedKernel(m);
                var spec = new KernelSpecialization(null, null);
                backend.Compile(entry, spec);
                count++;
            }
            catch (Exception e)
            {
                var inner = e;
                while (inner.InnerException is not null) inner = inner.InnerException;
                failures.Add($"{m.Name}<{string.Join(",", m.GetGenericArguments().Select(a => a.Name))}>: {inner.Message}");
            }
        }
        Assert.True(failures.Count == 0, $"{backend.GetType().Name}: " + string.Join("\n", failures));
        Assert.True(count >= 25, $"only {count} kernels found");
    }

    [Fact]
    public void Every_kernel_compiles_to_ptx()
    {
        var arch = CudaArchitecture.SM_60;
        CompileAll(new PTXBackend(fixture.Device.Context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_60, null));
    }

    [Fact]
    public void Every_kernel_compiles_to_opencl_c()
    {
        var caps = new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: true, int64_Atomics: true, subGroups: false);
        CompileAll(new CLBackend(fixture.Device.Context, caps, CLDeviceVendor.Other, CLCVersion.CL20));
    }
}
