namespace NetDsl.Runtime;

public sealed partial class CpuKernels<T>
{
    [ThreadStatic] private static T[]? t_foldScale;

    public void FoldBatchNorm(Tensor<T> w, Tensor<T>? b, Tensor<T> gamma, Tensor<T> beta, Tensor<T> runningMean, Tensor<T> runningVar, T eps,
        Tensor<T> wOut, Tensor<T> bOut)
    {
        int k = KernelContract.FoldBatchNorm(w, b, gamma, beta, runningMean, runningVar, wOut, bOut);
        int inner = k == 0 ? 0 : w.Length / k;
        var bo = bOut.AsSpan();
        var g = gamma.AsSpan(); var be = beta.AsSpan(); var m = runningMean.AsSpan(); var v = runningVar.AsSpan();
        ReadOnlySpan<T> bs = b is null ? default : b.AsSpan();
        var scale = Scratch(ref t_foldScale, k);
        for (int c = 0; c < k; c++)
        {
            T s = g[c] / T.Sqrt(v[c] + eps);
            scale[c] = s;
            bo[c] = ((b is null ? T.Zero : bs[c]) - m[c]) * s + be[c];
        }
        // the weights: one vectorized pass per channel, split across cores when big (ResNet-50's layer4 folds 2.4M weights per call)
        Chunks(k, Workers(w.Length, k), (w, wOut, scale, inner), static (st, lo, hi) =>
        {
            var ws = st.w.AsSpan(); var wo = st.wOut.AsSpan();
            for (int c = lo; c < hi; c++) ScaleInto(ws.Slice(c * st.inner, st.inner), wo.Slice(c * st.inner, st.inner), st.scale[c]);
        });
    }
}
