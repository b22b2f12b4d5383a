using NetDsl.Runtime;

namespace NetDsl.Testing;

public sealed partial class ReferenceKernels<T>
{
    public void SgdStep(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] velocity, T lr, T momentum, T weightDecay, bool nesterov)
    {
        for (int i = 0; i < param.Length; i++) SgdStep(param[i], grad[i], velocity[i], lr, momentum, weightDecay, nesterov);
    }

    public void AdamStep(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] m, Tensor<T>[] v, T lr, T beta1, T beta2, T eps, T weightDecay, int step)
    {
        for (int i = 0; i < param.Length; i++) AdamStep(param[i], grad[i], m[i], v[i], lr, beta1, beta2, eps, weightDecay, step);
    }
}
