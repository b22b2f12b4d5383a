using System.Numerics;

namespace NetDsl.Runtime;

/// <summary>The distribution of <see cref="IKernels{T}.RandomFill"/>: Normal(a = mean, b = std) or Uniform[a = lo, b = hi).</summary>
public enum RandomKind { Normal, Uniform }

/// <summary>
/// The element-wise generative losses (Σ over elements of a term ℓ(a, b), then the reduction): binary cross-entropy on
/// probabilities and on logits, the closed-form KL of N(μ, σ²) from N(0, 1) with (a, b) = (μ, logvar), and the GAN terms on
/// logits l: SoftplusNeg = softplus(−l) = −log σ(l), Softplus = softplus(l) = −log(1 − σ(l)), NegSoftplus = −softplus(l) = log(1 − σ(l)).
/// </summary>
public enum PointwiseLoss { Bce, BceWithLogits, KlNormal, SoftplusNeg, Softplus, NegSoftplus }

/// <summary>Divide the sum by the element count (Mean), by nothing (Sum), or by the batch size N = dim 0 (BatchMean).</summary>
public enum GenReduction { Mean, Sum, BatchMean }

// The generative family (Ops/Generative.cs; docs/ops/generative.md). Random numbers come from a counter-based generator:
// element i of a draw keyed by `seed` uses splitmix64(key + (2i)·φ) and splitmix64(key + (2i+1)·φ), key = splitmix64(seed ^
// 0x5851F42D4C957F2D) (Box–Muller in double), identical on every device. Losses write loss[0]; backwards read dy[0].
public partial interface IKernels<T>
{
    /// <summary>y = a + b·ε (Normal) or a + (b − a)·u (Uniform), one fresh value per element from <paramref name="seed"/>.</summary>
    void RandomFill(Tensor<T> y, RandomKind kind, T a, T b, ulong seed);
    /// <summary>
    /// The reparameterization trick: noise = exp(½·logvar)·ε, z = μ + noise when <paramref name="sample"/>; else noise = 0,
    /// z = μ. noise is saved for the backward (dlogvar = ½·dz·noise; dμ = dz).
    /// </summary>
    void SampleNormalForward(Tensor<T> mu, Tensor<T> logvar, Tensor<T> noise, Tensor<T> z, bool sample, ulong seed);

    /// <summary>loss[0] = Σ ℓ(a, b) / divisor (see <see cref="PointwiseLoss"/>; b is ignored by the GAN terms).</summary>
    void PointwiseLossForward(PointwiseLoss kind, Tensor<T> a, Tensor<T> b, GenReduction reduction, Tensor<T> loss);
    /// <summary>da = dy·∂ℓ/∂a / divisor, and db = dy·∂ℓ/∂b / divisor when <paramref name="db"/> is not null.</summary>
    void PointwiseLossBackward(PointwiseLoss kind, Tensor<T> dy, Tensor<T> a, Tensor<T> b, GenReduction reduction, Tensor<T> da, Tensor<T>? db);

    /// <summary>PyTorch's TripletMarginLoss (p = 2, eps = 1e-6 added to the differences, no swap): Σ_i max(‖a−p+ε‖ − ‖a−n+ε‖ + margin, 0) / (N or 1).</summary>
    void TripletMarginForward(Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative, T margin, GenReduction reduction, Tensor<T> loss);
    void TripletMarginBackward(Tensor<T> dy, Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative, T margin, GenReduction reduction, Tensor<T> danchor, Tensor<T> dpositive, Tensor<T> dnegative);

    /// <summary>SimCLR's NT-Xent over the 2N rows of [z1; z2] (F.normalize, cosine similarities / τ, the self-similarity excluded: 1 positive, 2N − 2 negatives per row); mean over the 2N rows or sum.</summary>
    void NtXentForward(Tensor<T> z1, Tensor<T> z2, T temperature, GenReduction reduction, Tensor<T> loss);
    void NtXentBackward(Tensor<T> dy, Tensor<T> z1, Tensor<T> z2, T temperature, GenReduction reduction, Tensor<T> dz1, Tensor<T> dz2);

    /// <summary>Hinton's distillation: τ²·Σ_i KL(softmax(t_i/τ) ‖ softmax(s_i/τ)) / (N or 1) (F.kl_div(log_softmax(s/τ), softmax(t/τ), 'batchmean')·τ²).</summary>
    void DistillForward(Tensor<T> student, Tensor<T> teacher, T temperature, GenReduction reduction, Tensor<T> loss);
    /// <summary>dstudent = dy·τ·(softmax(s/τ) − softmax(t/τ)) / (N or 1); the teacher is a constant (no gradient).</summary>
    void DistillBackward(Tensor<T> dy, Tensor<T> student, Tensor<T> teacher, T temperature, GenReduction reduction, Tensor<T> dstudent);
}
