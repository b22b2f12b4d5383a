using System.Numerics;

namespace NetDsl.Runtime;

/// <summary>How a loss reduces its per-sample (or per-element) terms: the mean (PyTorch's default) or the sum.</summary>
public enum LossReduction { Mean, Sum }

/// <summary>The element-wise regression losses: (y − t)², |y − t|, and smooth L1 (Huber with PyTorch's β).</summary>
public enum RegressionLoss { Mse, L1, SmoothL1 }

// Loss kernels (Ops/Losses.cs; docs/ops/losses.md). Every loss writes a [1] tensor; every backward takes the upstream gradient
// dy [1] (a device tensor, read by the kernel), so a loss can be any scalar expression. Class weights are a span (empty: none).
public partial interface IKernels<T>
{
    /// <summary>Element 0 of <paramref name="t"/> copied to the host (the generated code reads the loss with it).</summary>
    T ReadScalar(Tensor<T> t);

    /// <summary>
    /// Softmax cross-entropy with class weights w (empty: all 1) and label smoothing ε (PyTorch 1.13's formula):
    /// with q_ic = (1−ε)·w_{y_i}·[c = y_i] + (ε/C)·w_c, loss = Σ_i Σ_c q_ic·(−log p_ic) / D, where D = Σ_i w_{y_i}
    /// for the mean (N without weights) and 1 for the sum. probs [N, C] receives the softmax.
    /// </summary>
    void CrossEntropyForward(Tensor<T> logits, Tensor<int> labels, ReadOnlySpan<T> weights, T smoothing, LossReduction reduction, Tensor<T> probs, Tensor<T> loss);
    /// <summary>dlogits_ic = dy·(s_i·p_ic − q_ic)/D with s_i = Σ_c q_ic.</summary>
    void CrossEntropyBackward(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, ReadOnlySpan<T> weights, T smoothing, LossReduction reduction, Tensor<T> dlogits);

    /// <summary>NLL of log-probabilities logp [N, C]: Σ_i −w_{y_i}·logp[i, y_i] / D (D as for cross-entropy).</summary>
    void NllLossForward(Tensor<T> logp, Tensor<int> labels, ReadOnlySpan<T> weights, LossReduction reduction, Tensor<T> loss);
    /// <summary>dlogp = −dy·w_{y_i}/D at [i, y_i], 0 elsewhere.</summary>
    void NllLossBackward(Tensor<T> dy, Tensor<int> labels, ReadOnlySpan<T> weights, LossReduction reduction, Tensor<T> dlogp);

    /// <summary>PyTorch's multi_margin_loss (p = 1, or p = 2 when squared): per sample Σ_{j≠y} max(0, margin − x_y + x_j)^p / C.</summary>
    void MultiMarginForward(Tensor<T> x, Tensor<int> labels, T margin, bool squared, LossReduction reduction, Tensor<T> loss);
    void MultiMarginBackward(Tensor<T> dy, Tensor<T> x, Tensor<int> labels, T margin, bool squared, LossReduction reduction, Tensor<T> dx);

    /// <summary>Multi-class focal loss: per sample −α(1 − p_t)^γ·log p_t with p_t the softmax probability of the label; probs receives the softmax.</summary>
    void FocalLossForward(Tensor<T> logits, Tensor<int> labels, T gamma, T alpha, LossReduction reduction, Tensor<T> probs, Tensor<T> loss);
    void FocalLossBackward(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, T gamma, T alpha, LossReduction reduction, Tensor<T> dlogits);

    /// <summary>Σ or mean over all elements of ℓ(y − t): (·)², |·|, or smooth L1 (0.5·d²/β if |d| &lt; β else |d| − 0.5β).</summary>
    void RegressionLossForward(RegressionLoss kind, Tensor<T> y, Tensor<T> target, T beta, LossReduction reduction, Tensor<T> loss);
    /// <summary>dy_pred = dy·ℓ′(y − t) (divided by the element count for the mean); the target's gradient is its negation.</summary>
    void RegressionLossBackward(RegressionLoss kind, Tensor<T> dy, Tensor<T> y, Tensor<T> target, T beta, LossReduction reduction, Tensor<T> dpred);
}
