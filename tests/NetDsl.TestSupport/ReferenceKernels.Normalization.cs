using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive normalization loops: every statistic recomputed from its definition, element by element.
public sealed partial class ReferenceKernels<T>
{
    private static (int N, int C, int Inner) Nci(Tensor<T> x)
    {
        int inner = 1;
        for (int i = 2; i < x.Rank; i++) inner *= x.Shape[i];
        return (x.Shape[0], x.Shape[1], inner);
    }

    public void BatchNormForward(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum)
    {
        var (N, Cn, I) = Nci(x);
        y.CheckShape(nameof(y), x.Shape);
        var xs = x.AsSpan(); var ys = y.AsSpan(); var rm = runningMean.AsSpan(); var rv = runningVar.AsSpan();
        for (int c = 0; c < Cn; c++)
        {
            T m, v;
            if (training)
            {
                T cnt = C(N * I), s = T.Zero, ss = T.Zero;
                for (int n = 0; n < N; n++) for (int i = 0; i < I; i++) s += xs[(n * Cn + c) * I + i];
                m = s / cnt;
                for (int n = 0; n < N; n++) for (int i = 0; i < I; i++) { T d = xs[(n * Cn + c) * I + i] - m; ss += d * d; }
                v = ss / cnt;
                rm[c] = (T.One - momentum) * rm[c] + momentum * m;
                rv[c] = (T.One - momentum) * rv[c] + momentum * ss / (cnt - T.One);
            }
            else { m = rm[c]; v = rv[c]; }
            T inv = T.One / T.Sqrt(v + eps);
            mean.AsSpan()[c] = m; invStd.AsSpan()[c] = inv;
            for (int n = 0; n < N; n++) for (int i = 0; i < I; i++)
            {
                int k = (n * Cn + c) * I + i;
                ys[k] = (xs[k] - m) * inv * weight.AsSpan()[c] + bias.AsSpan()[c];
            }
        }
    }

    public void BatchNormForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        BatchNormForward(x, weight, bias, runningMean, runningVar, y, mean, invStd, training, eps, momentum);
        Map(y, y, epilogue, gpuEpilogue);
    }

    public void BatchNormBackward<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap2<T> where TGpuOp : struct, IGpuMap2
    {
        var dy = dyOut ?? Tensor<T>.Zeros(x.Shape);
        Map(a, b, dy, prologue, gpuPrologue);
        BatchNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, training);
    }

    public void BatchNormBackward<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> c, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap3<T> where TGpuOp : struct, IGpuMap3
    {
        var dy = dyOut ?? Tensor<T>.Zeros(x.Shape);
        Map(a, b, c, dy, prologue, gpuPrologue);
        BatchNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, training);
    }

    public void BatchNormApply<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> mean, Tensor<T> invStd, Tensor<T> y,
        TEpi epilogue, TGpuEpi gpuEpilogue) where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        var (N, Cn, I) = Nci(x);
        y.CheckShape(nameof(y), x.Shape);
        var xs = x.AsSpan(); var ys = y.AsSpan();
        for (int c = 0; c < Cn; c++)
            for (int n = 0; n < N; n++) for (int i = 0; i < I; i++)
            {
                int k = (n * Cn + c) * I + i;
                ys[k] = epilogue.Apply((xs[k] - mean.AsSpan()[c]) * invStd.AsSpan()[c] * weight.AsSpan()[c] + bias.AsSpan()[c]);
            }
    }

    public void BatchNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training)
    {
        var (N, Cn, I) = Nci(x);
        var xs = x.AsSpan(); var g = dy.AsSpan();
        for (int c = 0; c < Cn; c++)
        {
            T m = mean.AsSpan()[c], inv = invStd.AsSpan()[c], w = weight.AsSpan()[c], cnt = C(N * I), sdy = T.Zero, sdyx = T.Zero;
            for (int n = 0; n < N; n++) for (int i = 0; i < I; i++) { int k = (n * Cn + c) * I + i; sdy += g[k]; sdyx += g[k] * (xs[k] - m) * inv; }
            dbias.AsSpan()[c] = sdy; dweight.AsSpan()[c] = sdyx;
            if (dx is null) continue;
            for (int n = 0; n < N; n++) for (int i = 0; i < I; i++)
            {
                int k = (n * Cn + c) * I + i;
                T xhat = (xs[k] - m) * inv;
                dx.AsSpan()[k] = training ? w * inv * (g[k] - sdy / cnt - xhat * sdyx / cnt) : w * inv * g[k];
            }
        }
    }

    public void LayerNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int dims, T eps)
    {
        int D = 1;
        for (int i = x.Rank - dims; i < x.Rank; i++) D *= x.Shape[i];
        int R = x.Length / D;
        var xs = x.AsSpan(); var ys = y.AsSpan();
        for (int r = 0; r < R; r++)
        {
            T s = T.Zero, ss = T.Zero;
            for (int j = 0; j < D; j++) s += xs[r * D + j];
            T m = s / C(D);
            for (int j = 0; j < D; j++) { T d = xs[r * D + j] - m; ss += d * d; }
            T inv = T.One / T.Sqrt(ss / C(D) + eps);
            mean.AsSpan()[r] = m; invStd.AsSpan()[r] = inv;
            for (int j = 0; j < D; j++)
            {
                T v = (xs[r * D + j] - m) * inv;
                ys[r * D + j] = weight is null ? v : v * weight.AsSpan()[j] + bias!.AsSpan()[j];
            }
        }
    }

    public void LayerNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int dims)
    {
        int D = 1;
        for (int i = x.Rank - dims; i < x.Rank; i++) D *= x.Shape[i];
        int R = x.Length / D;
        var xs = x.AsSpan(); var g = dy.AsSpan();
        if (dweight is not null) { dweight.AsSpan().Clear(); dbias!.AsSpan().Clear(); }
        for (int r = 0; r < R; r++)
        {
            T m = mean.AsSpan()[r], inv = invStd.AsSpan()[r], s1 = T.Zero, s2 = T.Zero;
            for (int j = 0; j < D; j++)
            {
                T w = weight is null ? T.One : weight.AsSpan()[j];
                T xhat = (xs[r * D + j] - m) * inv;
                s1 += g[r * D + j] * w; s2 += g[r * D + j] * w * xhat;
                if (dweight is not null) { dweight.AsSpan()[j] += g[r * D + j] * xhat; dbias!.AsSpan()[j] += g[r * D + j]; }
            }
            if (dx is null) continue;
            for (int j = 0; j < D; j++)
            {
                T w = weight is null ? T.One : weight.AsSpan()[j];
                T xhat = (xs[r * D + j] - m) * inv;
                dx.AsSpan()[r * D + j] = inv * (g[r * D + j] * w - s1 / C(D) - xhat * s2 / C(D));
            }
        }
    }

    public void GroupNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int groups, T eps)
    {
        var (N, Cc, I) = Nci(x);
        int cg = Cc / groups, L = cg * I;
        var xs = x.AsSpan(); var ys = y.AsSpan();
        for (int n = 0; n < N; n++)
        for (int gr = 0; gr < groups; gr++)
        {
            int o = (n * Cc + gr * cg) * I;
            T s = T.Zero, ss = T.Zero;
            for (int j = 0; j < L; j++) s += xs[o + j];
            T m = s / C(L);
            for (int j = 0; j < L; j++) { T d = xs[o + j] - m; ss += d * d; }
            T inv = T.One / T.Sqrt(ss / C(L) + eps);
            mean.AsSpan()[n * groups + gr] = m; invStd.AsSpan()[n * groups + gr] = inv;
            for (int j = 0; j < L; j++)
            {
                int c = gr * cg + j / I;
                T v = (xs[o + j] - m) * inv;
                ys[o + j] = weight is null ? v : v * weight.AsSpan()[c] + bias!.AsSpan()[c];
            }
        }
    }

    public void GroupNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int groups)
    {
        var (N, Cc, I) = Nci(x);
        int cg = Cc / groups, L = cg * I;
        var xs = x.AsSpan(); var g = dy.AsSpan();
        if (dweight is not null) { dweight.AsSpan().Clear(); dbias!.AsSpan().Clear(); }
        for (int n = 0; n < N; n++)
        for (int gr = 0; gr < groups; gr++)
        {
            int o = (n * Cc + gr * cg) * I;
            T m = mean.AsSpan()[n * groups + gr], inv = invStd.AsSpan()[n * groups + gr], s1 = T.Zero, s2 = T.Zero;
            for (int j = 0; j < L; j++)
            {
                int c = gr * cg + j / I;
                T w = weight is null ? T.One : weight.AsSpan()[c];
                T xhat = (xs[o + j] - m) * inv;
                s1 += g[o + j] * w; s2 += g[o + j] * w * xhat;
                if (dweight is not null) { dweight.AsSpan()[c] += g[o + j] * xhat; dbias!.AsSpan()[c] += g[o + j]; }
            }
            if (dx is null) continue;
            for (int j = 0; j < L; j++)
            {
                int c = gr * cg + j / I;
                T w = weight is null ? T.One : weight.AsSpan()[c];
                T xhat = (xs[o + j] - m) * inv;
                dx.AsSpan()[o + j] = inv * (g[o + j] * w - s1 / C(L) - xhat * s2 / C(L));
            }
        }
    }

    public void LocalResponseNormForward(Tensor<T> x, Tensor<T> y, Tensor<T> scale, int size, T alpha, T beta, T k)
    {
        var (N, Cc, I) = Nci(x);
        var xs = x.AsSpan();
        for (int n = 0; n < N; n++)
        for (int c = 0; c < Cc; c++)
        for (int i = 0; i < I; i++)
        {
            T s = T.Zero;
            for (int j = c - size / 2; j <= c + (size - 1) / 2; j++)
                if (j >= 0 && j < Cc) s += xs[(n * Cc + j) * I + i] * xs[(n * Cc + j) * I + i];
            T d = k + alpha / C(size) * s;
            int o = (n * Cc + c) * I + i;
            scale.AsSpan()[o] = d;
            y.AsSpan()[o] = xs[o] * T.Pow(d, -beta);
        }
    }

    public void LocalResponseNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T> scale, Tensor<T> dx, int size, T alpha, T beta)
    {
        // dx[j] = Σ_c dy[c]·∂y[c]/∂x[j], with ∂y[c]/∂x[j] = [c = j]·d[c]^−β − x[c]·β·d[c]^(−β−1)·(2α/size)·x[j]·[j in window(c)]
        var (N, Cc, I) = Nci(x);
        var xs = x.AsSpan(); var ss = scale.AsSpan(); var g = dy.AsSpan();
        for (int n = 0; n < N; n++)
        for (int j = 0; j < Cc; j++)
        for (int i = 0; i < I; i++)
        {
            int oj = (n * Cc + j) * I + i;
            T s = g[oj] * T.Pow(ss[oj], -beta);
            for (int c = 0; c < Cc; c++)
            {
                if (j < c - size / 2 || j > c + (size - 1) / 2) continue;
                int oc = (n * Cc + c) * I + i;
                s -= g[oc] * xs[oc] * beta * T.Pow(ss[oc], -beta - T.One) * C(2) * alpha / C(size) * xs[oj];
            }
            dx.AsSpan()[oj] = s;
        }
    }
}
