namespace NetDsl.Runtime.Ilgpu;

// Parameter-group optimizer steps on ILGPU: one launch per tensor (the launches are asynchronous and cheap on a GPU).
public sealed partial class IlgpuKernels
{
    public void SgdStep(Tensor<float>[] param, Tensor<float>[] grad, Tensor<float>[] velocity, float lr, float momentum, float weightDecay, bool nesterov)
    {
        if (grad.Length != param.Length || velocity.Length != param.Length)
            throw new ArgumentException($"expected {param.Length} gradients and velocities (one per parameter), got {grad.Length} and {velocity.Length}");
        for (int i = 0; i < param.Length; i++) SgdStep(param[i], grad[i], velocity[i], lr, momentum, weightDecay, nesterov);
    }

    public void AdamStep(Tensor<float>[] param, Tensor<float>[] grad, Tensor<float>[] m, Tensor<float>[] v, float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        if (grad.Length != param.Length || m.Length != param.Length || v.Length != param.Length)
            throw new ArgumentException($"expected {param.Length} gradients and moments (one per parameter), got {grad.Length}, {m.Length} and {v.Length}");
        for (int i = 0; i < param.Length; i++) AdamStep(param[i], grad[i], m[i], v[i], lr, beta1, beta2, eps, weightDecay, step);
    }
}
