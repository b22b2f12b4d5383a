using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive attention kernels: every score, probability and product written out as plain loops over (batch, i, j, c).
public sealed partial class ReferenceKernels<T>
{
    private static ulong AttnHash(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void AttentionForward(Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<int>? lengths, Tensor<T> y, Tensor<T> probs,
        Tensor<T>? dropped, T scale, bool causal, T p, ulong seed)
    {
        int r = q.Rank, Tq = q.Shape[r - 2], D = q.Shape[r - 1], Tk = k.Shape[r - 2], Dv = v.Shape[r - 1];
        int B = q.Length / (Tq * D), per = B / q.Shape[0];
        y.CheckShape(nameof(y), [.. q.Shape[..^2], Tq, Dv]);
        probs.CheckShape(nameof(probs), [.. q.Shape[..^2], Tq, Tk]);
        bool drop = dropped is not null && p > T.Zero;
        ulong key = AttnHash(seed ^ 0x6A09E667F3BCC909UL), threshold = (ulong)(double.CreateChecked(p) * 9007199254740992.0);
        var Q = q.AsSpan(); var K = k.AsSpan(); var Vv = v.AsSpan(); var P = probs.AsSpan(); var Y = y.AsSpan();
        for (int b = 0; b < B; b++)
        for (int i = 0; i < Tq; i++)
        {
            bool Visible(int j) => (!causal || j <= i) && (lengths is null || j < lengths.AsSpan()[b / per]);
            double max = double.NegativeInfinity;
            var s = new double[Tk];
            for (int j = 0; j < Tk; j++)
            {
                double dot = 0;
                for (int c = 0; c < D; c++) dot += double.CreateChecked(Q[(b * Tq + i) * D + c] * K[(b * Tk + j) * D + c]);
                s[j] = double.CreateChecked(scale) * dot;
                if (Visible(j)) max = Math.Max(max, s[j]);
            }
            double sum = 0;
            for (int j = 0; j < Tk; j++) if (Visible(j)) sum += Math.Exp(s[j] - max);
            for (int j = 0; j < Tk; j++)
            {
                int e = (b * Tq + i) * Tk + j;
                P[e] = Visible(j) ? C(Math.Exp(s[j] - max) / sum) : T.Zero;
                if (drop)
                    dropped!.AsSpan()[e] = (AttnHash(key + (ulong)e * 0x9E3779B97F4A7C15UL) >> 11) < threshold ? T.Zero : P[e] / (T.One - p);
            }
        }
        var src = drop ? dropped!.AsSpan() : P;
        for (int b = 0; b < B; b++)
        for (int i = 0; i < Tq; i++)
        for (int c = 0; c < Dv; c++)
        {
            T acc = T.Zero;
            for (int j = 0; j < Tk; j++) acc += src[(b * Tq + i) * Tk + j] * Vv[(b * Tk + j) * Dv + c];
            Y[(b * Tq + i) * Dv + c] = acc;
        }
    }

    public void AttentionBackward(Tensor<T> dy, Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<T> probs, Tensor<T>? dropped,
        Tensor<T> dq, Tensor<T> dk, Tensor<T> dv, Tensor<T> ds, T scale, T p)
    {
        int r = q.Rank, Tq = q.Shape[r - 2], D = q.Shape[r - 1], Tk = k.Shape[r - 2], Dv = v.Shape[r - 1];
        int B = q.Length / (Tq * D);
        dq.CheckShape(nameof(dq), q.Shape); dk.CheckShape(nameof(dk), k.Shape); dv.CheckShape(nameof(dv), v.Shape); ds.CheckShape(nameof(ds), probs.Shape);
        bool drop = dropped is not null && p > T.Zero;
        var P = probs.AsSpan(); var Pd = drop ? dropped!.AsSpan() : P; var dY = dy.AsSpan();
        var Q = q.AsSpan(); var K = k.AsSpan(); var Vv = v.AsSpan(); var S = ds.AsSpan();
        for (int b = 0; b < B; b++)
        {
            for (int j = 0; j < Tk; j++)
            for (int c = 0; c < Dv; c++)
            {
                T acc = T.Zero;
                for (int i = 0; i < Tq; i++) acc += Pd[(b * Tq + i) * Tk + j] * dY[(b * Tq + i) * Dv + c];
                dv.AsSpan()[(b * Tk + j) * Dv + c] = acc;
            }
            for (int i = 0; i < Tq; i++)
            {
                var dP = new T[Tk];
                T dot = T.Zero;
                for (int j = 0; j < Tk; j++)
                {
                    T acc = T.Zero;
                    for (int c = 0; c < Dv; c++) acc += dY[(b * Tq + i) * Dv + c] * Vv[(b * Tk + j) * Dv + c];
                    if (drop) acc = Pd[(b * Tq + i) * Tk + j] != T.Zero ? acc / (T.One - p) : T.Zero;
                    dP[j] = acc;
                    dot += acc * P[(b * Tq + i) * Tk + j];
                }
                for (int j = 0; j < Tk; j++) S[(b * Tq + i) * Tk + j] = scale * P[(b * Tq + i) * Tk + j] * (dP[j] - dot);
            }
            for (int i = 0; i < Tq; i++)
            for (int c = 0; c < D; c++)
            {
                T acc = T.Zero;
                for (int j = 0; j < Tk; j++) acc += S[(b * Tq + i) * Tk + j] * K[(b * Tk + j) * D + c];
                dq.AsSpan()[(b * Tq + i) * D + c] = acc;
            }
            for (int j = 0; j < Tk; j++)
            for (int c = 0; c < D; c++)
            {
                T acc = T.Zero;
                for (int i = 0; i < Tq; i++) acc += S[(b * Tq + i) * Tk + j] * Q[(b * Tq + i) * D + c];
                dk.AsSpan()[(b * Tk + j) * D + c] = acc;
            }
        }
    }

    public void AddPositionalEncoding(Tensor<T> x, Tensor<T> y, double @base)
    {
        int N = x.Shape[0], Tn = x.Shape[1], D = x.Shape[2];
        y.CheckShape(nameof(y), x.Shape);
        for (int n = 0; n < N; n++)
        for (int t = 0; t < Tn; t++)
        for (int i = 0; i < D; i++)
        {
            // the textbook form: PE(t, 2m) = sin(t / base^(2m/D)), PE(t, 2m+1) = cos(t / base^(2m/D))
            int m = i / 2;
            double angle = t / Math.Pow(@base, 2.0 * m / D);
            int e = (n * Tn + t) * D + i;
            y.AsSpan()[e] = x.AsSpan()[e] + C(i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
        }
    }

    public void ClassTokenForward(Tensor<T> x, Tensor<T> token, Tensor<T> y)
    {
        int N = x.Shape[0], Tn = x.Shape[1], D = x.Shape[2];
        y.CheckShape(nameof(y), [N, Tn + 1, D]);
        for (int n = 0; n < N; n++)
        for (int t = 0; t <= Tn; t++)
        for (int c = 0; c < D; c++)
            y.AsSpan()[(n * (Tn + 1) + t) * D + c] = t == 0 ? token.AsSpan()[c] : x.AsSpan()[(n * Tn + t - 1) * D + c];
    }

    public void ClassTokenBackward(Tensor<T> dy, Tensor<T> dx, Tensor<T> dtoken)
    {
        int N = dx.Shape[0], Tn = dx.Shape[1], D = dx.Shape[2];
        dy.CheckShape(nameof(dy), [N, Tn + 1, D]);
        for (int c = 0; c < D; c++)
        {
            T s = T.Zero;
            for (int n = 0; n < N; n++) s += dy.AsSpan()[n * (Tn + 1) * D + c];
            dtoken.AsSpan()[c] = s;
        }
        for (int n = 0; n < N; n++)
        for (int t = 0; t < Tn; t++)
        for (int c = 0; c < D; c++)
            dx.AsSpan()[(n * Tn + t) * D + c] = dy.AsSpan()[(n * (Tn + 1) + t + 1) * D + c];
    }
}
