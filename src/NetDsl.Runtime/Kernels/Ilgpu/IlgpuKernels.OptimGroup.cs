namespace NetDsl.Runtime.Ilgpu;

// Parameter-group optimizer steps on ILGPU: one launch per tensor (the launches are asynchronous and cheap on a GPU).
public sealed partial class IlgpuKernels
{
    public void SgdStep(Tensor<float>[] param, Tensor<float>[] grad, Tensor<float>[] velocity, float lr, float momentum, float weightDecay, bool nesterov)
    {
        KernelContract.SgdStep(param, grad, velocity);
        for (int i = 0; i < param.Length; i++) SgdStep(param[i], grad[i], velocity[i], lr, momentum, weightDecay, nesterov);
    }

    public void AdamStep(Tensor<float>[] param, Tensor<float>[] grad, Tensor<float>[] m, Tensor<float>[] v, float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        KernelContract.AdamStep(param, grad, m, v, step);
        for (int i = 0; i < param.Length; i++) AdamStep(param[i], grad[i], m[i], v[i], lr, beta1, beta2, eps, weightDecay, step);
    }
}
