using System.Numerics;

namespace NetDsl.Runtime;

// Regularization kernels (Ops/Regularization.cs; docs/ops/losses.md).
public partial interface IKernels<T>
{
    /// <summary>
    /// Channel dropout of x [N, C, H, W]: each (n, c) plane is dropped with probability p, the others scaled by 1/(1−p);
    /// mask (like x) receives 0 or 1/(1−p), y = x·mask. The decision for plane b = n·C + c is the dropout stream's element b.
    /// </summary>
    void Dropout2dForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed);
    /// <summary>Stochastic depth (torchvision, mode "row"): each sample n of x [N, …] is dropped with probability p, the others scaled by 1/(1−p).</summary>
    void StochasticDepthForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed);

    /// <summary>loss[0] = l1·Σ|w| + l2·Σw² over every tensor of <paramref name="weights"/>.</summary>
    void PenaltyForward(ReadOnlySpan<Tensor<T>> weights, T l1, T l2, Tensor<T> loss);
    /// <summary>dw = dy·(l1·sign(w) + 2·l2·w) (sign(0) = 0).</summary>
    void PenaltyBackward(Tensor<T> dy, Tensor<T> w, T l1, T l2, Tensor<T> dw);
}
