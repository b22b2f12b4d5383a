using System.Numerics;

namespace NetDsl.Runtime;

/// <summary>The arithmetic of <see cref="IKernels{T}.BroadcastBinary"/>.</summary>
public enum BinaryOp { Add, Sub, Mul }

// Tensor operators (docs/ops/tensor.md): row-major tensors of up to 6 dims; broadcasting is PyTorch's (right-aligned, a dim of
// size 1 stretches). Every output is overwritten.
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>y = a op b with a and b broadcast to y's shape.</summary>
    void BroadcastBinary(Tensor<T> a, Tensor<T> b, Tensor<T> y, BinaryOp op);
    /// <summary>y = scale · x summed down to y's shape (y broadcasts to x: its dims, aligned from the right, are 1 or x's).</summary>
    void SumTo(Tensor<T> x, Tensor<T> y, T scale);
    /// <summary>y = scale · x broadcast to y's shape.</summary>
    void BroadcastTo(Tensor<T> x, Tensor<T> y, T scale);

    /// <summary>y [B…, M, N] = a [B…, M, K] · b [B…, K, N]; the batch dims broadcast (b may be a plain [K, N]).</summary>
    void MatMul(Tensor<T> a, Tensor<T> b, Tensor<T> y);
    /// <summary>da = dy · bᵀ, summed over the batch dims a was broadcast along.</summary>
    void MatMulBackwardA(Tensor<T> dy, Tensor<T> b, Tensor<T> da);
    /// <summary>db = aᵀ · dy, summed over the batch dims b was broadcast along.</summary>
    void MatMulBackwardB(Tensor<T> a, Tensor<T> dy, Tensor<T> db);

    /// <summary>y = x with its dims reordered: y.Shape[i] = x.Shape[perm[i]] (a copy).</summary>
    void Permute(Tensor<T> x, Tensor<T> y, ReadOnlySpan<int> perm);
    /// <summary>y = x[..., start : start + step·y.Shape[axis] : step, ...] along <paramref name="axis"/>.</summary>
    void Slice(Tensor<T> x, Tensor<T> y, int axis, int start, int step);
    /// <summary>dx = zeros, with dy written into the slice's positions.</summary>
    void SliceBackward(Tensor<T> dy, Tensor<T> dx, int axis, int start, int step);
    /// <summary>y = the inputs concatenated along <paramref name="axis"/>.</summary>
    void Concat(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> y, int axis);
    /// <summary>dxs = dy split along <paramref name="axis"/>.</summary>
    void ConcatBackward(Tensor<T> dy, ReadOnlySpan<Tensor<T>> dxs, int axis);

    /// <summary>g [N, C, C] = F·Fᵀ / (C·H·W) with F = x [N, C, H, W] seen as [N, C, H·W].</summary>
    void Gram(Tensor<T> x, Tensor<T> g);
    /// <summary>dx = (dg + dgᵀ)·F / (C·H·W).</summary>
    void GramBackward(Tensor<T> dg, Tensor<T> x, Tensor<T> dx);
}
