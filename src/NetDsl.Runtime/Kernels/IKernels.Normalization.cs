namespace NetDsl.Runtime;

// Normalization kernels (docs/ops/normalization.md). PyTorch's conventions: biased variance in the normalization, ε inside
// the square root, running variance updated with the unbiased estimate. Forward kernels also write the statistics their
// backward reads (mean and invstd = 1/√(var + ε)); backward kernels overwrite their outputs, and a null gradient output
// is skipped (dx of a network input, dweight/dbias without affine parameters).
public partial interface IKernels<T>
{
    // ---- batchnorm: x [N, C] or [N, C, *]; weight, bias, runningMean, runningVar, mean, invStd [C]
    /// <summary>
    /// Training: per channel c the batch mean μ and biased variance σ² over N and the spatial dims; y = (x − μ)/√(σ² + ε)·w + b;
    /// runningMean = (1 − momentum)·runningMean + momentum·μ, runningVar = (1 − momentum)·runningVar + momentum·σ²·n/(n − 1)
    /// (n values per channel; n = 1 throws, as in PyTorch). Eval: μ, σ² are the running statistics, which stay unchanged.
    /// mean and invStd receive the μ and 1/√(σ² + ε) used.
    /// </summary>
    void BatchNormForward(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum);
    /// <summary>As above with a fused epilogue: y = epilogue(batchnorm(x)) (the relu after it) in the same write.</summary>
    void BatchNormForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1;
    /// <summary>
    /// y = (x − mean)·(invStd·w) + b per channel with saved statistics (no statistics computed, nothing updated): the output of
    /// <see cref="BatchNormForward"/> recomputed bit for bit from its input and the mean and invStd it wrote. The compiler's
    /// rematerialization pass calls it in the backward pass instead of keeping the forward output alive, with the
    /// element-wise op that followed batchnorm (relu) fused as the epilogue (applied to y as it is written).
    /// </summary>
    void BatchNormApply<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> mean, Tensor<T> invStd, Tensor<T> y,
        TEpi epilogue, TGpuEpi gpuEpilogue) where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1;
    /// <summary>
    /// dbias = Σ dy, dweight = Σ dy·x̂ per channel; dx (if not null) = w·invstd·(dy − dbias/n − x̂·dweight/n) in training
    /// (the batch statistics depend on x), w·invstd·dy in eval mode.
    /// </summary>
    void BatchNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training);
    /// <summary>
    /// <see cref="BatchNormBackward(Tensor{T}, Tensor{T}, Tensor{T}, Tensor{T}, Tensor{T}, Tensor{T}?, Tensor{T}, Tensor{T}, bool)"/>
    /// with a fused element-wise prologue: dy = prologue(a, b) (e.g. relu_bwd(dy, y), the gradient through the relu after
    /// this batchnorm) is computed as it is read, never stored, unless <paramref name="dyOut"/> is given (other kernels read
    /// it too), which then receives it.
    /// </summary>
    void BatchNormBackward<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap2<T> where TGpuOp : struct, IGpuMap2;
    /// <summary>As the two-input form with dy = prologue(a, b, c) (e.g. relu_bwd(add(g1, g2), y)).</summary>
    void BatchNormBackward<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> c, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap3<T> where TGpuOp : struct, IGpuMap3;

    // ---- layernorm: x [d0, …, dk]; normalized over the last `dims` dims (D elements); weight, bias shaped like those dims or
    // null; mean, invStd shaped like the leading dims
    /// <summary>y = (x − μ)/√(σ² + ε)·w + b with μ, σ² (biased) over the last <paramref name="dims"/> dims of each row.</summary>
    void LayerNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int dims, T eps);
    /// <summary>g = dy·w; dx = invstd·(g − mean(g) − x̂·mean(g·x̂)) per row; dweight = Σ_rows dy·x̂, dbias = Σ_rows dy.</summary>
    void LayerNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int dims);

    // ---- groupnorm (instancenorm is groups = C): x [N, C, *]; weight, bias [C] or null; mean, invStd [N, groups]
    /// <summary>Statistics per (n, group) over the group's C/groups channels and the spatial dims; affine per channel.</summary>
    void GroupNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int groups, T eps);
    /// <summary>As layernorm's backward with rows = (n, group) and g = dy·w[c]; dweight[c], dbias[c] sum over n and space.</summary>
    void GroupNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int groups);

    // ---- local response normalization (PyTorch's LocalResponseNorm): x, y, scale [N, C, *]
    /// <summary>
    /// scale[c] = k + alpha/size · Σ x[c']² over c' in [c − size/2, c + (size − 1)/2] (clipped to the channels);
    /// y = x · scale^(−beta).
    /// </summary>
    void LocalResponseNormForward(Tensor<T> x, Tensor<T> y, Tensor<T> scale, int size, T alpha, T beta, T k);
    /// <summary>dx[j] = dy[j]·scale[j]^(−beta) − 2·alpha·beta/size · x[j] · Σ_{c: j in window(c)} dy[c]·y[c]/scale[c].</summary>
    void LocalResponseNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T> scale, Tensor<T> dx, int size, T alpha, T beta);
}
