using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

public sealed partial class IlgpuKernels
{
    public void FoldBatchNorm(Tensor<float> w, Tensor<float>? b, Tensor<float> gamma, Tensor<float> beta, Tensor<float> runningMean, Tensor<float> runningVar, float eps,
        Tensor<float> wOut, Tensor<float> bOut)
    {
        int k = CpuKernels<float>.CheckFold(w, b, gamma, beta, runningMean, runningVar, wOut, bOut);
        if (k == 0) return;
        if (w.Length > 0)
        {
            Launch(GpuKernels.FoldBatchNormWeights, w.Length, V(w, "w"), V(gamma, "gamma"), V(runningVar, "runningVar"), V(wOut, "wOut"), w.Length / k, eps);
        }
        Launch(GpuKernels.FoldBatchNormBias, k, V(b ?? gamma, "b"), b is null ? 0 : 1, V(gamma, "gamma"), V(beta, "beta"), V(runningMean, "runningMean"), V(runningVar, "runningVar"), V(bOut, "bOut"), eps);
    }
}
