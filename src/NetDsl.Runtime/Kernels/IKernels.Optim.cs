using System.Numerics;

namespace NetDsl.Runtime;

public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// <see cref="SgdStep(Tensor{T}, Tensor{T}, Tensor{T}, T, T, T, bool)"/> for every parameter of a group as one
    /// kernel (PyTorch's fused/"foreach" optimizers): one parallel loop over all elements instead of one call per tensor.
    /// The three arrays are parallel (same length, same shapes pairwise); pass the same array instances every step.
    /// </summary>
    void SgdStep(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] velocity, T lr, T momentum, T weightDecay, bool nesterov);

    /// <summary><see cref="AdamStep(Tensor{T}, Tensor{T}, Tensor{T}, Tensor{T}, T, T, T, T, T, int)"/> for a whole parameter group as one kernel.</summary>
    void AdamStep(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] m, Tensor<T>[] v, T lr, T beta1, T beta2, T eps, T weightDecay, int step);
}
