using System.Collections.Concurrent;
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The one launch helper: a kernel method (a static method of GpuKernels, generic kernels instantiated per functor type)
// is compiled on its first launch and the launcher cached by method for the device's lifetime. Launch is for implicitly
// grouped kernels (Index1D first), LaunchGrouped for explicitly grouped ones (shared memory, barriers) with a
// KernelConfig. The overloads differ only in arity; the argument types are inferred from the call.
public sealed partial class IlgpuKernels
{
    private readonly ConcurrentDictionary<MethodInfo, Delegate> _kernels = new();

    /// <summary>The cached launcher of <paramref name="kernel"/>, loaded by <paramref name="load"/> (a static lambda: no allocation per launch) on a miss.</summary>
    private TLauncher Loaded<TLauncher>(Delegate kernel, Func<Accelerator, Delegate, TLauncher> load) where TLauncher : Delegate
    {
        if (_kernels.TryGetValue(kernel.Method, out var cached)) return (TLauncher)cached;
        return (TLauncher)_kernels.GetOrAdd(kernel.Method, static (method, state) =>
        {
            try { return state.load(state.acc, state.kernel); }
            catch (Exception e) when (e is ILGPU.InternalCompilerException or NotSupportedException or TypeLoadException)
            {
                var functors = method.IsGenericMethod ? string.Join(", ", method.GetGenericArguments().Select(t => t.FullName)) : "none";
                throw new InvalidOperationException(
                    $"ILGPU could not compile the {method.Name} kernel (functor types: {functors}): {e.Message} " +
                    "(functor structs must be public, or their assembly must declare [assembly: InternalsVisibleTo(\"ILGPURuntime\")], " +
                    "and their Apply(float) must be plain scalar code ILGPU can compile)", e);
            }
        }, (acc: _acc, kernel, load));
    }

    private void Launch<T1>(Action<Index1D, T1> kernel, Index1D n, T1 a1) where T1 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1>)k))(n, a1);

    private void Launch<T1, T2>(Action<Index1D, T1, T2> kernel, Index1D n, T1 a1, T2 a2) where T1 : struct where T2 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2>)k))(n, a1, a2);

    private void Launch<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel, Index1D n, T1 a1, T2 a2, T3 a3) where T1 : struct where T2 : struct where T3 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3>)k))(n, a1, a2, a3);

    private void Launch<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4) where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4>)k))(n, a1, a2, a3, a4);

    private void Launch<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5>)k))(n, a1, a2, a3, a4, a5);

    private void Launch<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6>)k))(n, a1, a2, a3, a4, a5, a6);

    private void Launch<T1, T2, T3, T4, T5, T6, T7>(Action<Index1D, T1, T2, T3, T4, T5, T6, T7> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6, T7>)k))(n, a1, a2, a3, a4, a5, a6, a7);

    private void Launch<T1, T2, T3, T4, T5, T6, T7, T8>(Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8>)k))(n, a1, a2, a3, a4, a5, a6, a7, a8);

    private void Launch<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9>)k))(n, a1, a2, a3, a4, a5, a6, a7, a8, a9);

    private void Launch<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>)k))(n, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10);

    private void Launch<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>(Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> kernel, Index1D n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10, T11 a11) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>)k))(n, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);

    private void LaunchGrouped<T1>(Action<T1> kernel, KernelConfig config, T1 a1) where T1 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1>)k))(config, a1);

    private void LaunchGrouped<T1, T2>(Action<T1, T2> kernel, KernelConfig config, T1 a1, T2 a2) where T1 : struct where T2 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2>)k))(config, a1, a2);

    private void LaunchGrouped<T1, T2, T3>(Action<T1, T2, T3> kernel, KernelConfig config, T1 a1, T2 a2, T3 a3) where T1 : struct where T2 : struct where T3 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2, T3>)k))(config, a1, a2, a3);

    private void LaunchGrouped<T1, T2, T3, T4>(Action<T1, T2, T3, T4> kernel, KernelConfig config, T1 a1, T2 a2, T3 a3, T4 a4) where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2, T3, T4>)k))(config, a1, a2, a3, a4);

    private void LaunchGrouped<T1, T2, T3, T4, T5>(Action<T1, T2, T3, T4, T5> kernel, KernelConfig config, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2, T3, T4, T5>)k))(config, a1, a2, a3, a4, a5);

    private void LaunchGrouped<T1, T2, T3, T4, T5, T6>(Action<T1, T2, T3, T4, T5, T6> kernel, KernelConfig config, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2, T3, T4, T5, T6>)k))(config, a1, a2, a3, a4, a5, a6);

    private void LaunchGrouped<T1, T2, T3, T4, T5, T6, T7>(Action<T1, T2, T3, T4, T5, T6, T7> kernel, KernelConfig config, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2, T3, T4, T5, T6, T7>)k))(config, a1, a2, a3, a4, a5, a6, a7);

    private void LaunchGrouped<T1, T2, T3, T4, T5, T6, T7, T8>(Action<T1, T2, T3, T4, T5, T6, T7, T8> kernel, KernelConfig config, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2, T3, T4, T5, T6, T7, T8>)k))(config, a1, a2, a3, a4, a5, a6, a7, a8);

    private void LaunchGrouped<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel, KernelConfig config, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        Loaded(kernel, static (acc, k) => acc.LoadStreamKernel((Action<T1, T2, T3, T4, T5, T6, T7, T8, T9>)k))(config, a1, a2, a3, a4, a5, a6, a7, a8, a9);

}
