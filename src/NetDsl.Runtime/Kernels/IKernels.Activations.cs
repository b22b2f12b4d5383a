using System.Numerics;

namespace NetDsl.Runtime;

// Library kernels of the activations family (Ops/Activations.cs; docs/ops/activations.md). The element-wise activations
// (elu, selu, gelu, silu, softplus, hard_sigmoid) need no kernel: they are generated functors (VMath helpers).
public partial interface IKernels<T>
{
    /// <summary>
    /// PReLU: y = x if x &gt; 0 else a·x, with slope [1] (shared) or [C] (per channel, dim 1 of x [N, C, …]).
    /// </summary>
    void PReluForward(Tensor<T> x, Tensor<T> slope, Tensor<T> y);
    /// <summary>dx (if not null) = dy if x &gt; 0 else a·dy; dslope = Σ dy·x over the elements with x ≤ 0 (per channel, or all).</summary>
    void PReluBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> slope, Tensor<T>? dx, Tensor<T> dslope);

    /// <summary>Softmax (or log-softmax when <paramref name="log"/>) of x along <paramref name="axis"/> (0 ≤ axis &lt; rank), max subtracted.</summary>
    void SoftmaxForward(Tensor<T> x, Tensor<T> y, int axis, bool log);
    /// <summary>From the output y: softmax dx = y·(dy − Σ dy·y); log-softmax dx = dy − e^y·Σ dy (sums along the axis).</summary>
    void SoftmaxBackward(Tensor<T> dy, Tensor<T> y, Tensor<T> dx, int axis, bool log);

    /// <summary>
    /// Maxout over channels: x [N, C·k, …] → y [N, C, …], y[n, c, s] = max over j &lt; k of x[n, c·k + j, s];
    /// argmax [N, C, …] receives the winning j (the first on ties).
    /// </summary>
    void MaxoutForward(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, int pieces);
    /// <summary>dx[n, c·k + j, s] = dy[n, c, s] if argmax[n, c, s] = j else 0 (every element of dx written).</summary>
    void MaxoutBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx, int pieces);
}
