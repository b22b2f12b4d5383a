using ILGPU;
using ILGPU.Algorithms;

namespace NetDsl.Runtime.Ilgpu;

internal static partial class GpuKernels
{
    /// <summary>wOut[i] = w[i]·γ_k/√(var_k + eps) for k = i / inner (one thread per weight).</summary>
    public static void FoldBatchNormWeights(Index1D i, ArrayView<float> w, ArrayView<float> gamma, ArrayView<float> var, ArrayView<float> wOut, int inner, float eps)
    {
        int k = i / inner;
        wOut[i] = w[i] * (gamma[k] / XMath.Sqrt(var[k] + eps));
    }

    /// <summary>bOut[k] = (b_k − mean_k)·γ_k/√(var_k + eps) + β_k; hasBias 0 reads b as zeros.</summary>
    public static void FoldBatchNormBias(Index1D k, ArrayView<float> b, int hasBias, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> mean, ArrayView<float> var, ArrayView<float> bOut, float eps)
    {
        float bk = hasBias != 0 ? b[k] : 0f;
        bOut[k] = (bk - mean[k]) * (gamma[k] / XMath.Sqrt(var[k] + eps)) + beta[k];
    }
}
