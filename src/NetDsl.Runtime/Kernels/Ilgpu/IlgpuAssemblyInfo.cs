using System.Runtime.CompilerServices;

// ILGPU's CPU accelerator calls kernels and reads their struct arguments (ConvParams, PoolParams, ...) from a dynamic
// assembly named "ILGPURuntime": it must see this assembly's internals.
[assembly: InternalsVisibleTo("ILGPURuntime")]
