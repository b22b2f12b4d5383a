using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive batchnorm folding: the definition, element by element.
public sealed partial class ReferenceKernels<T>
{
    public void FoldBatchNorm(Tensor<T> w, Tensor<T>? b, Tensor<T> gamma, Tensor<T> beta, Tensor<T> runningMean, Tensor<T> runningVar, T eps,
        Tensor<T> wOut, Tensor<T> bOut)
    {
        int k = w.Shape[0], inner = w.Length / Math.Max(1, k);
        for (int c = 0; c < k; c++)
        {
            T s = gamma.AsSpan()[c] / T.Sqrt(runningVar.AsSpan()[c] + eps);
            for (int i = 0; i < inner; i++) wOut.AsSpan()[c * inner + i] = w.AsSpan()[c * inner + i] * s;
            T bias = b is null ? T.Zero : b.AsSpan()[c];
            bOut.AsSpan()[c] = (bias - runningMean.AsSpan()[c]) * s + beta.AsSpan()[c];
        }
    }
}
