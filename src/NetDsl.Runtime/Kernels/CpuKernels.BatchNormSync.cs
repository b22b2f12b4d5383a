using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetDsl.Runtime;

/// <summary>
/// Sums per-channel statistics over the replicas of a data-parallel job, in place (every replica gets the sums).
/// <paramref name="gradients"/>: the values are sums over the backward pass's dy, which each replica scales by its own loss
/// normalization (1/local batch for a mean loss); the reducer must sum them at a common scale and return them at the replica's.
/// </summary>
public delegate void StatisticsReduction<T>(Span<T> values, bool gradients);

// Synchronized batchnorm (docs/distributed.md): the hook a data-parallel layer sets so that training-mode batchnorm computes its
// statistics over the global batch of all replicas instead of the local one. Null (the default) leaves the kernels unchanged.
public sealed partial class CpuKernels<T>
{
    /// <summary>
    /// When set, training-mode batchnorm (forward and backward) sums its per-channel statistics over the replicas with this
    /// callback: forward Σx and the count (then the mean), then Σ(x − μ)² (the variance, two passes as on one process); backward
    /// Σdy and Σdy·(x − μ) for dx. dweight and dbias stay the local sums (the gradient allreduce averages them). Set by
    /// <c>NetDsl.Distributed.DataParallel</c> with <c>syncBatchNorm</c>; every replica must run the same batchnorms in the same order.
    /// </summary>
    public static StatisticsReduction<T>? BatchNormReduction { get; set; }

    private static void BatchNormForwardSync<TOut>(Tensor<T> x, Tensor<T> r, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, T eps, T momentum, TOut epi, StatisticsReduction<T> reduce) where TOut : struct, IBnOut
    {
        var (n, c, inner) = KernelContract.NormDims(x, "batchnorm");
        var xs = x.AsSpan();
        var buf = new T[c + 1];
        for (int ch = 0; ch < c; ch++)
            buf[ch] = BnShiftedSums(ref Unsafe.Add(ref MemoryMarshal.GetReference(xs), ch * inner), n, c * inner, inner, T.Zero).Item1;
        buf[c] = T.CreateChecked((long)n * inner);
        reduce(buf, false);
        T count = buf[c];
        if (count < T.CreateChecked(2))
            throw new ArgumentException($"x: batchnorm in training mode needs more than 1 value per channel over all replicas, got {count}", nameof(x));
        var mu = new T[c];
        for (int ch = 0; ch < c; ch++) mu[ch] = buf[ch] / count;
        var ss = new T[c];
        for (int ch = 0; ch < c; ch++)
            ss[ch] = BnShiftedSums(ref Unsafe.Add(ref MemoryMarshal.GetReference(xs), ch * inner), n, c * inner, inner, mu[ch]).Item2;
        reduce(ss, false);
        var w = weight.AsSpan(); var b = bias.AsSpan(); var rm = runningMean.AsSpan(); var rv = runningVar.AsSpan();
        var ms = mean.AsSpan(); var iv = invStd.AsSpan();
        ref T px = ref MemoryMarshal.GetReference(xs);
        ref T pr = ref MemoryMarshal.GetReference(r.AsSpan());
        ref T py = ref MemoryMarshal.GetReference(y.AsSpan());
        for (int ch = 0; ch < c; ch++)
        {
            T s = T.Max(ss[ch], T.Zero);
            T inv = T.One / T.Sqrt(s / count + eps);
            rm[ch] = (T.One - momentum) * rm[ch] + momentum * mu[ch];
            rv[ch] = (T.One - momentum) * rv[ch] + momentum * (s / (count - T.One));
            ms[ch] = mu[ch]; iv[ch] = inv;
            T sc = inv * w[ch], sh = b[ch] - mu[ch] * sc;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                BnAffine(ref Unsafe.Add(ref px, o), ref Unsafe.Add(ref pr, o), ref Unsafe.Add(ref py, o), inner, sc, sh, epi);
            }
        }
    }

    private static void BatchNormBackwardSync<TDy>(Tensor<T> a, Tensor<T> b, Tensor<T> c3, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, TDy dy, StatisticsReduction<T> reduce) where TDy : struct, IBnDy
    {
        var (n, c, inner) = KernelContract.NormDims(x, "batchnorm");
        // the combined dy, materialized once (a fused prologue runs as its own pass) where the fused kernel would park it
        Tensor<T> g = a;
        if (!dy.Plain)
        {
            g = dyOut ?? dx ?? Tensor<T>.Zeros(x.Shape);
            BnPrologueRange(a.AsSpan(), b.AsSpan(), c3.AsSpan(), g.AsSpan(), 0, x.Length, dy);
        }
        ref T pg = ref MemoryMarshal.GetReference(g.AsSpan());
        ref T px = ref MemoryMarshal.GetReference(x.AsSpan());
        var ms = mean.AsSpan(); var iv = invStd.AsSpan(); var w = weight.AsSpan();
        var dw = dweight.AsSpan(); var db = dbias.AsSpan();
        var buf = new T[2 * c + 1];
        for (int ch = 0; ch < c; ch++)
        {
            nuint co = (nuint)(ch * inner);
            ref T g0 = ref Unsafe.Add(ref pg, co);
            var (sdy, sdyx) = BnBackSums(ref g0, ref g0, ref g0, ref Unsafe.Add(ref px, co), ref g0, false, n, c * inner, inner, ms[ch], default(BnDy1));
            db[ch] = sdy; dw[ch] = sdyx * iv[ch];         // this replica's parameter gradients (averaged by the gradient allreduce)
            buf[ch] = sdy; buf[c + ch] = sdyx;
        }
        buf[2 * c] = T.CreateChecked((long)n * inner);
        if (dx is null) return;
        reduce(buf.AsSpan(0, 2 * c), true);
        reduce(buf.AsSpan(2 * c), false);
        T count = buf[2 * c];
        ref T pd = ref MemoryMarshal.GetReference(dx.AsSpan());
        for (int ch = 0; ch < c; ch++)
        {
            T inv = iv[ch], mu = ms[ch];
            T A = w[ch] * inv;
            T B = -A * inv * (buf[c + ch] * inv) / count;
            T C = -A * buf[ch] / count;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                BnBackDx(ref Unsafe.Add(ref pg, o), ref Unsafe.Add(ref px, o), ref Unsafe.Add(ref pd, o), inner, A, B, C - B * mu);
            }
        }
    }
}
