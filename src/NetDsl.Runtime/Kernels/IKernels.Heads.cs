using System.Numerics;

namespace NetDsl.Runtime;

// Multi-head attention's head split: the packed projection [N, T, P, H, D] (P = 3 for q, k, v; 2 for k, v) straight into
// P tensors [N, H, T, D], and its gradient back, in one pass each (no permuted copy, no slices, no zero-filled slice
// gradients to add).
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>a[n, h, t, :] = x[n, t, 0, h, :], b[…] = x[n, t, 1, h, :], c[…] = x[n, t, 2, h, :] (c null when P = 2).</summary>
    void SplitHeads(Tensor<T> x, Tensor<T> a, Tensor<T> b, Tensor<T>? c);
    /// <summary>The gradient of <see cref="SplitHeads"/>: dx[n, t, p, h, :] = d_p[n, h, t, :].</summary>
    void SplitHeadsBackward(Tensor<T> da, Tensor<T> db, Tensor<T>? dc, Tensor<T> dx);
}
