using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

/// <summary>
/// Naive, obviously-correct loops implementing <see cref="IKernels{T}"/> on host tensors: the reference the ILGPU kernels
/// are compared with (independent of the optimized CpuKernels).
/// </summary>
public sealed partial class ReferenceKernels<T> : IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static readonly ReferenceKernels<T> Instance = new();

    private static T C(double v) => T.CreateChecked(v);

    public void Conv2dForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        int N = x.Shape[0], Cin = x.Shape[1], H = x.Shape[2], W = x.Shape[3];
        int K = w.Shape[0], Cg = w.Shape[1], KH = w.Shape[2], KW = w.Shape[3];
        int OH = g.OutH(H, KH), OW = g.OutW(W, KW), Kg = K / g.Groups;
        y.CheckShape(nameof(y), [N, K, OH, OW]);
        var xs = x.AsSpan(); var ws = w.AsSpan(); var ys = y.AsSpan();
        for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            T s = b is null ? T.Zero : b.AsSpan()[k];
            int grp = k / Kg;
            for (int c = 0; c < Cg; c++)
            for (int i = 0; i < KH; i++)
            for (int j = 0; j < KW; j++)
            {
                int ih = oh * g.StrideH - g.PadH + i * g.DilationH, iw = ow * g.StrideW - g.PadW + j * g.DilationW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += xs[((n * Cin + grp * Cg + c) * H + ih) * W + iw] * ws[((k * Cg + c) * KH + i) * KW + j];
            }
            ys[((n * K + k) * OH + oh) * OW + ow] = epilogue.Apply(s);
        }
    }

    public void Conv2dBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g)
    {
        int N = dx.Shape[0], Cin = dx.Shape[1], H = dx.Shape[2], W = dx.Shape[3];
        int K = w.Shape[0], Cg = w.Shape[1], KH = w.Shape[2], KW = w.Shape[3];
        int OH = dy.Shape[2], OW = dy.Shape[3], Kg = K / g.Groups;
        var d = dx.AsSpan(); d.Clear();
        var dys = dy.AsSpan(); var ws = w.AsSpan();
        for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            int grp = k / Kg;
            T gy = dys[((n * K + k) * OH + oh) * OW + ow];
            for (int c = 0; c < Cg; c++)
            for (int i = 0; i < KH; i++)
            for (int j = 0; j < KW; j++)
            {
                int ih = oh * g.StrideH - g.PadH + i * g.DilationH, iw = ow * g.StrideW - g.PadW + j * g.DilationW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                d[((n * Cin + grp * Cg + c) * H + ih) * W + iw] += gy * ws[((k * Cg + c) * KH + i) * KW + j];
            }
        }
    }

    public void Conv2dBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db, ConvGeometry g)
    {
        int N = x.Shape[0], Cin = x.Shape[1], H = x.Shape[2], W = x.Shape[3];
        int K = dw.Shape[0], Cg = dw.Shape[1], KH = dw.Shape[2], KW = dw.Shape[3];
        int OH = dy.Shape[2], OW = dy.Shape[3], Kg = K / g.Groups;
        var dws = dw.AsSpan(); dws.Clear();
        var dys = dy.AsSpan(); var xs = x.AsSpan();
        if (db is not null) db.AsSpan().Clear();
        for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            int grp = k / Kg;
            T gy = dys[((n * K + k) * OH + oh) * OW + ow];
            if (db is not null) db.AsSpan()[k] += gy;
            for (int c = 0; c < Cg; c++)
            for (int i = 0; i < KH; i++)
            for (int j = 0; j < KW; j++)
            {
                int ih = oh * g.StrideH - g.PadH + i * g.DilationH, iw = ow * g.StrideW - g.PadW + j * g.DilationW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                dws[((k * Cg + c) * KH + i) * KW + j] += gy * xs[((n * Cin + grp * Cg + c) * H + ih) * W + iw];
            }
        }
    }

    public void LinearForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        int K = x.Shape[^1], M = x.Length / K, O = w.Shape[0];
        y.CheckShape(nameof(y), [.. x.Shape[..^1], O]);
        for (int m = 0; m < M; m++)
        for (int o = 0; o < O; o++)
        {
            T s = b is null ? T.Zero : b.AsSpan()[o];
            for (int k = 0; k < K; k++) s += x.AsSpan()[m * K + k] * w.AsSpan()[o * K + k];
            y.AsSpan()[m * O + o] = epilogue.Apply(s);
        }
    }

    public void LinearBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx)
    {
        int O = dy.Shape[^1], M = dy.Length / O, K = w.Shape[1];
        for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++)
        {
            T s = T.Zero;
            for (int o = 0; o < O; o++) s += dy.AsSpan()[m * O + o] * w.AsSpan()[o * K + k];
            dx.AsSpan()[m * K + k] = s;
        }
    }

    public void LinearBackwardFilterAccumulate(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db)
    {
        var tw = Tensor<T>.FromArray(new T[dw.Length], dw.Shape);
        var tb = db is null ? null : Tensor<T>.FromArray(new T[db.Length], db.Shape);
        LinearBackwardFilter(dy, x, tw, tb);
        Accumulate(tw, dw);
        if (db is not null) Accumulate(tb!, db);
    }

    public void LinearBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db)
    {
        int O = dy.Shape[^1], M = dy.Length / O, K = x.Shape[^1];
        for (int o = 0; o < O; o++)
        {
            for (int k = 0; k < K; k++)
            {
                T s = T.Zero;
                for (int m = 0; m < M; m++) s += dy.AsSpan()[m * O + o] * x.AsSpan()[m * K + k];
                dw.AsSpan()[o * K + k] = s;
            }
            if (db is not null)
            {
                T s = T.Zero;
                for (int m = 0; m < M; m++) s += dy.AsSpan()[m * O + o];
                db.AsSpan()[o] = s;
            }
        }
    }

    public void MaxPool2dForward(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, PoolGeometry g)
    {
        int N = x.Shape[0], Cc = x.Shape[1], H = x.Shape[2], W = x.Shape[3], OH = g.OutH(H), OW = g.OutW(W);
        for (int p = 0; p < N * Cc; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            T best = T.NegativeInfinity; int bi = -1;
            for (int i = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++)
            {
                int ih = oh * g.StrideH - g.PadH + i, iw = ow * g.StrideW - g.PadW + j;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                T v = x.AsSpan()[p * H * W + ih * W + iw];
                if (bi < 0 || v > best) { best = v; bi = ih * W + iw; }
            }
            y.AsSpan()[(p * OH + oh) * OW + ow] = best;
            argmax.AsSpan()[(p * OH + oh) * OW + ow] = bi;
        }
    }

    public void MaxPool2dBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx)
    {
        int P = dx.Shape[0] * dx.Shape[1], HW = dx.Shape[2] * dx.Shape[3], OHW = dy.Shape[2] * dy.Shape[3];
        dx.AsSpan().Clear();
        for (int p = 0; p < P; p++)
        for (int o = 0; o < OHW; o++)
            dx.AsSpan()[p * HW + argmax.AsSpan()[p * OHW + o]] += dy.AsSpan()[p * OHW + o];
    }

    public void AvgPool2dForward(Tensor<T> x, Tensor<T> y, PoolGeometry g)
    {
        int N = x.Shape[0], Cc = x.Shape[1], H = x.Shape[2], W = x.Shape[3], OH = g.OutH(H), OW = g.OutW(W);
        for (int p = 0; p < N * Cc; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            T s = T.Zero, div = C(AvgDivisor(oh, ow, H, W, g));
            for (int i = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++)
            {
                int ih = oh * g.StrideH - g.PadH + i, iw = ow * g.StrideW - g.PadW + j;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += x.AsSpan()[p * H * W + ih * W + iw];
            }
            y.AsSpan()[(p * OH + oh) * OW + ow] = s / div;
        }
    }

    public void AvgPool2dBackward(Tensor<T> dy, Tensor<T> dx, PoolGeometry g)
    {
        int N = dx.Shape[0], Cc = dx.Shape[1], H = dx.Shape[2], W = dx.Shape[3], OH = dy.Shape[2], OW = dy.Shape[3];
        dx.AsSpan().Clear();
        for (int p = 0; p < N * Cc; p++)
        for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
        {
            T div = C(AvgDivisor(oh, ow, H, W, g));
            for (int i = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++)
            {
                int ih = oh * g.StrideH - g.PadH + i, iw = ow * g.StrideW - g.PadW + j;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                dx.AsSpan()[p * H * W + ih * W + iw] += dy.AsSpan()[(p * OH + oh) * OW + ow] / div;
            }
        }
    }

    /// <summary>Taps of window (oh, ow) inside the padded input (count_include_pad), or inside the input (ExcludePad).</summary>
    private static int AvgDivisor(int oh, int ow, int H, int W, PoolGeometry g)
    {
        int n = 0;
        for (int i = 0; i < g.KernelH; i++)
        for (int j = 0; j < g.KernelW; j++)
        {
            int ih = oh * g.StrideH - g.PadH + i, iw = ow * g.StrideW - g.PadW + j;
            int pH = g.ExcludePad ? 0 : g.PadH, pW = g.ExcludePad ? 0 : g.PadW;
            if (ih >= -pH && ih < H + pH && iw >= -pW && iw < W + pW) n++;
        }
        return n;
    }

    public void GlobalAvgPoolForward(Tensor<T> x, Tensor<T> y)
    {
        int P = x.Shape[0] * x.Shape[1], HW = x.Shape[2] * x.Shape[3];
        for (int p = 0; p < P; p++)
        {
            T s = T.Zero;
            for (int i = 0; i < HW; i++) s += x.AsSpan()[p * HW + i];
            y.AsSpan()[p] = s / C(HW);
        }
    }

    public void GlobalAvgPoolBackward(Tensor<T> dy, Tensor<T> dx)
    {
        int P = dx.Shape[0] * dx.Shape[1], HW = dx.Shape[2] * dx.Shape[3];
        for (int p = 0; p < P; p++)
        for (int i = 0; i < HW; i++) dx.AsSpan()[p * HW + i] = dy.AsSpan()[p] / C(HW);
    }

    /// <summary>Not a reference for the random stream: masks are checked by their properties instead.</summary>
    public void DropoutForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed) => throw new NotSupportedException("reference dropout");

    public void Concat(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> y)
    {
        int N = y.Shape[0], inner = y.Length / (N * y.Shape[1]), total = y.Shape[1], off = 0;
        foreach (var t in inputs)
        {
            int c = t.Shape[1];
            for (int n = 0; n < N; n++)
                t.AsSpan().Slice(n * c * inner, c * inner).CopyTo(y.AsSpan().Slice((n * total + off) * inner, c * inner));
            off += c;
        }
    }

    public void ConcatBackward(Tensor<T> dy, ReadOnlySpan<Tensor<T>> dxs)
    {
        int N = dy.Shape[0], inner = dy.Length / (N * dy.Shape[1]), total = dy.Shape[1], off = 0;
        foreach (var t in dxs)
        {
            int c = t.Shape[1];
            for (int n = 0; n < N; n++)
                dy.AsSpan().Slice((n * total + off) * inner, c * inner).CopyTo(t.AsSpan().Slice(n * c * inner, c * inner));
            off += c;
        }
    }

    public void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap1<T> where TGpuOp : struct, IGpuMap1
    { for (int i = 0; i < y.Length; i++) y.AsSpan()[i] = op.Apply(a.AsSpan()[i]); }

    public void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap2<T> where TGpuOp : struct, IGpuMap2
    { for (int i = 0; i < y.Length; i++) y.AsSpan()[i] = op.Apply(a.AsSpan()[i], b.AsSpan()[i]); }

    public void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> c, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap3<T> where TGpuOp : struct, IGpuMap3
    { for (int i = 0; i < y.Length; i++) y.AsSpan()[i] = op.Apply(a.AsSpan()[i], b.AsSpan()[i], c.AsSpan()[i]); }

    public void Fill(Tensor<T> y, T value) => y.AsSpan().Fill(value);
    public void Copy(Tensor<T> src, Tensor<T> dst) => src.AsSpan().CopyTo(dst.AsSpan());
    public void Accumulate(Tensor<T> src, Tensor<T> dst) { for (int i = 0; i < dst.Length; i++) dst.AsSpan()[i] += src.AsSpan()[i]; }

    public void SgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity, T lr, T momentum, T weightDecay, bool nesterov)
    {
        var th = param.AsSpan(); var gr = grad.AsSpan(); var v = velocity.AsSpan();
        for (int i = 0; i < th.Length; i++)
        {
            T g = gr[i] + weightDecay * th[i];
            v[i] = momentum * v[i] + g;
            th[i] -= lr * (nesterov ? g + momentum * v[i] : v[i]);
        }
    }

    public void AdamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m, Tensor<T> v, T lr, T beta1, T beta2, T eps, T weightDecay, int step)
    {
        var th = param.AsSpan(); var gr = grad.AsSpan(); var ms = m.AsSpan(); var vs = v.AsSpan();
        T bc1 = T.One - T.Pow(beta1, C(step)), bc2 = T.One - T.Pow(beta2, C(step));
        for (int i = 0; i < th.Length; i++)
        {
            T g = gr[i] + weightDecay * th[i];
            ms[i] = beta1 * ms[i] + (T.One - beta1) * g;
            vs[i] = beta2 * vs[i] + (T.One - beta2) * g * g;
            th[i] -= lr * (ms[i] / bc1) / (T.Sqrt(vs[i] / bc2) + eps);
        }
    }
}
