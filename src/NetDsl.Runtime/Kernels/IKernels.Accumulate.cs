using System.Numerics;

namespace NetDsl.Runtime;

// Gradient accumulation: backward passes that add into Parameter.Grad instead of overwriting it (the generated
// AccumulateGradients, and optimizers that keep their state in the gradient buffers). Kernels that can accumulate in
// place do; the generated code accumulates the others through a small scratch.
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>dw += dyᵀ·x; db (if not null) += column sums of dy.</summary>
    void LinearBackwardFilterAccumulate(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db);
}
