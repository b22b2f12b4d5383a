using System.Numerics;

namespace NetDsl.Runtime;

// Batchnorm folded into the convolution or linear layer before it, for inference (eval-mode Forward): with
// s = γ/√(running_var + ε), bn(conv(x, w) + b) = conv(x, w·s) + (b − running_mean)·s + β per output channel.
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// wOut[k, …] = w[k, …]·s_k and bOut[k] = (b_k − mean_k)·s_k + β_k (b = 0 when null), with s_k = γ_k/√(var_k + eps);
    /// w is [K, …] (a convolution's [K, C/groups, kh, kw] or a linear layer's [O, K]), wOut like w, bOut [K].
    /// </summary>
    void FoldBatchNorm(Tensor<T> w, Tensor<T>? b, Tensor<T> gamma, Tensor<T> beta, Tensor<T> runningMean, Tensor<T> runningVar, T eps,
        Tensor<T> wOut, Tensor<T> bOut);
}
