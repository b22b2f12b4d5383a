using System.Numerics;

namespace NetDsl.Runtime;

// Normalizing-flow kernels (Ops/Flow.cs; docs/ops/flows.md). x is [N, C, H, W]; a log-determinant is [N].
public partial interface IKernels<T>
{
    /// <summary>actnorm: y = s_c·x + b_c per channel (inverse: y = (x − b_c)/s_c).</summary>
    void ActNormForward(Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T> y, bool inverse);
    /// <summary>dx = dy·s (inverse dy/s) when dx is given; ds_c = Σ dy·x (inverse −Σ dy·(x − b)/s²), db_c = Σ dy (inverse −Σ dy/s).</summary>
    void ActNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T>? dx, Tensor<T> dscale, Tensor<T> dbias, bool inverse);
    /// <summary>logdet[n] = positions·Σ_c log|p_c| (logAbs) or positions·Σ_c p_c, the same for every sample of logdet [N].</summary>
    void FlowLogDetForward(Tensor<T> p, Tensor<T> logdet, int positions, bool logAbs);
    /// <summary>dp_c = positions·(Σ_n dy_n)·(1/p_c or 1).</summary>
    void FlowLogDetBackward(Tensor<T> dy, Tensor<T> p, Tensor<T> dp, int positions, bool logAbs);
    /// <summary>
    /// The LU-parameterized 1×1 convolution weight w [C, C, 1, 1]: W = P·L·(U + diag(exp log_s)) with L = I + strict lower part
    /// of <paramref name="lower"/>, U = strict upper part of <paramref name="upper"/>, (P·A)[i, :] = A[perm[i], :]; with
    /// <paramref name="inverse"/> w = W⁻¹ by two triangular solves.
    /// </summary>
    void InvConvWeightForward(Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, ReadOnlySpan<int> perm, bool inverse);
    /// <summary>
    /// From dw (and w = the forward's output, read when inverse: dW = −wᵀ·dw·wᵀ): G = Pᵀ·dW into <paramref name="work"/> [C, C];
    /// dlower = strict lower part of G·Mᵀ, dupper = strict upper part of Lᵀ·G, dlogs_k = (Lᵀ·G)_kk·exp(log_s_k).
    /// </summary>
    void InvConvWeightBackward(Tensor<T> dw, Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, Tensor<T> work,
        Tensor<T> dlower, Tensor<T> dupper, Tensor<T> dlogs, ReadOnlySpan<int> perm, bool inverse);
    /// <summary>
    /// Affine coupling with h = NN(x_a) [N, C, H, W] (channels 0..C/2: log s, C/2..C: t), σ = sigmoid(log s + 2):
    /// y_a = x_a, y_b = (x_b + t)·σ (inverse: y_b = x_b/σ − t).
    /// </summary>
    void CouplingForward(Tensor<T> x, Tensor<T> h, Tensor<T> y, bool inverse);
    /// <summary>dx (when given) and dh of <see cref="CouplingForward"/>.</summary>
    void CouplingBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> h, Tensor<T>? dx, Tensor<T> dh, bool inverse);
    /// <summary>logdet[n] = Σ_{c &lt; C/2, i} log sigmoid(h[n, c, i] + 2).</summary>
    void CouplingLogDetForward(Tensor<T> h, Tensor<T> logdet);
    /// <summary>dh[n, c, i] = dy_n·(1 − sigmoid(h + 2)) for c &lt; C/2, 0 for the t half.</summary>
    void CouplingLogDetBackward(Tensor<T> dy, Tensor<T> h, Tensor<T> dh);
    /// <summary>Standard normal log density per sample: logp[n] = −½·Σ_i z²[n, i] − ½·D·ln 2π, z [N, …] with D elements per sample.</summary>
    void GaussianLogProbForward(Tensor<T> z, Tensor<T> logp);
    /// <summary>dz = −dy_n·z.</summary>
    void GaussianLogProbBackward(Tensor<T> dy, Tensor<T> z, Tensor<T> dz);
}
