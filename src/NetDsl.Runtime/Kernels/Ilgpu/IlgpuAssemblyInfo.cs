using System.Runtime.CompilerServices;

// ILGPU's CPU accelerator calls kernels and reads their struct arguments (ConvParams, PoolParams, ...) from a dynamic
// assembly named "ILGPURuntime": it must see this assembly's internals.
[assembly: InternalsVisibleTo("ILGPURuntime")]

// The ILGPU tests reach the tiled GEMM directly (IlgpuKernels.GemmForTests) and list its instantiations for codegen checks.
[assembly: InternalsVisibleTo("NetDsl.Ilgpu.Tests")]
