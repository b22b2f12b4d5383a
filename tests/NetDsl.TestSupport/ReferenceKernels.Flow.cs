using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive loops for the normalizing-flow family, written from the definitions: explicit P, L, M matrices, W = P·L·M with
// matrix products, its inverse by Gauss-Jordan elimination, and the weight gradient by the chain rule through products.
public sealed partial class ReferenceKernels<T>
{
    public void ActNormForward(Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T> y, bool inverse)
    {
        int n = x.Shape[0], c = x.Shape[1], s = x.Shape[2] * x.Shape[3];
        for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) for (int k = 0; k < s; k++)
        {
            int o = (i * c + ch) * s + k;
            T sc = scale.AsSpan()[ch], b = bias.AsSpan()[ch], v = x.AsSpan()[o];
            y.AsSpan()[o] = inverse ? (v - b) / sc : sc * v + b;
        }
    }

    public void ActNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T>? dx, Tensor<T> dscale, Tensor<T> dbias, bool inverse)
    {
        int n = x.Shape[0], c = x.Shape[1], s = x.Shape[2] * x.Shape[3];
        for (int ch = 0; ch < c; ch++)
        {
            T sc = scale.AsSpan()[ch], b = bias.AsSpan()[ch], gs = T.Zero, gb = T.Zero;
            for (int i = 0; i < n; i++) for (int k = 0; k < s; k++)
            {
                int o = (i * c + ch) * s + k;
                T g = dy.AsSpan()[o], v = x.AsSpan()[o];
                if (inverse) { gs += -g * (v - b) / (sc * sc); gb += -g / sc; }
                else { gs += g * v; gb += g; }
                if (dx != null) dx.AsSpan()[o] = inverse ? g / sc : g * sc;
            }
            dscale.AsSpan()[ch] = gs; dbias.AsSpan()[ch] = gb;
        }
    }

    public void FlowLogDetForward(Tensor<T> p, Tensor<T> logdet, int positions, bool logAbs)
    {
        for (int i = 0; i < logdet.Length; i++)
        {
            T sum = T.Zero;
            foreach (var v in p.AsSpan()) sum += logAbs ? T.Log(T.Abs(v)) : v;
            logdet.AsSpan()[i] = C(positions) * sum;
        }
    }

    public void FlowLogDetBackward(Tensor<T> dy, Tensor<T> p, Tensor<T> dp, int positions, bool logAbs)
    {
        for (int k = 0; k < p.Length; k++)
        {
            T g = T.Zero;
            for (int i = 0; i < dy.Length; i++) g += dy.AsSpan()[i] * C(positions) * (logAbs ? T.One / p.AsSpan()[k] : T.One);
            dp.AsSpan()[k] = g;
        }
    }

    /// <summary>The explicit P (P[i, π(i)] = 1), L (unit lower) and M (strict upper + diag exp log_s).</summary>
    private static (T[,] P, T[,] L, T[,] M) Lu(Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, ReadOnlySpan<int> perm)
    {
        int c = logs.Length;
        var P = new T[c, c]; var L = new T[c, c]; var M = new T[c, c];
        for (int i = 0; i < c; i++)
        {
            P[i, perm[i]] = T.One;
            for (int j = 0; j < c; j++)
            {
                L[i, j] = j < i ? lower.AsSpan()[i * c + j] : j == i ? T.One : T.Zero;
                M[i, j] = j > i ? upper.AsSpan()[i * c + j] : j == i ? T.Exp(logs.AsSpan()[i]) : T.Zero;
            }
        }
        return (P, L, M);
    }

    private static T[,] MatMul(T[,] a, T[,] b, bool ta = false, bool tb = false)
    {
        int c = a.GetLength(0);
        var r = new T[c, c];
        for (int i = 0; i < c; i++) for (int j = 0; j < c; j++)
        {
            T s = T.Zero;
            for (int k = 0; k < c; k++) s += (ta ? a[k, i] : a[i, k]) * (tb ? b[j, k] : b[k, j]);
            r[i, j] = s;
        }
        return r;
    }

    private static T[,] Inverse(T[,] a)
    {
        int c = a.GetLength(0);
        var m = (T[,])a.Clone(); var r = new T[c, c];
        for (int i = 0; i < c; i++) r[i, i] = T.One;
        for (int col = 0; col < c; col++)
        {
            int piv = col;
            for (int i = col + 1; i < c; i++) if (T.Abs(m[i, col]) > T.Abs(m[piv, col])) piv = i;
            for (int j = 0; j < c; j++) { (m[col, j], m[piv, j]) = (m[piv, j], m[col, j]); (r[col, j], r[piv, j]) = (r[piv, j], r[col, j]); }
            T d = m[col, col];
            for (int j = 0; j < c; j++) { m[col, j] /= d; r[col, j] /= d; }
            for (int i = 0; i < c; i++)
            {
                if (i == col) continue;
                T f = m[i, col];
                for (int j = 0; j < c; j++) { m[i, j] -= f * m[col, j]; r[i, j] -= f * r[col, j]; }
            }
        }
        return r;
    }

    public void InvConvWeightForward(Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, ReadOnlySpan<int> perm, bool inverse)
    {
        var (P, L, M) = Lu(lower, upper, logs, perm);
        var W = MatMul(P, MatMul(L, M));
        if (inverse) W = Inverse(W);
        int c = logs.Length;
        for (int i = 0; i < c; i++) for (int j = 0; j < c; j++) w.AsSpan()[i * c + j] = W[i, j];
    }

    public void InvConvWeightBackward(Tensor<T> dw, Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, Tensor<T> work,
        Tensor<T> dlower, Tensor<T> dupper, Tensor<T> dlogs, ReadOnlySpan<int> perm, bool inverse)
    {
        int c = logs.Length;
        var (P, L, M) = Lu(lower, upper, logs, perm);
        var dW = new T[c, c];
        for (int i = 0; i < c; i++) for (int j = 0; j < c; j++) dW[i, j] = dw.AsSpan()[i * c + j];
        if (inverse)
        {
            var B = Inverse(MatMul(P, MatMul(L, M)));
            var t = MatMul(MatMul(B, dW, ta: true), B, tb: true);   // Bᵀ·dB·Bᵀ
            for (int i = 0; i < c; i++) for (int j = 0; j < c; j++) dW[i, j] = -t[i, j];
        }
        var G = MatMul(P, dW, ta: true);                    // Pᵀ·dW: the gradient of A = L·M
        var dL = MatMul(G, M, tb: true);                     // G·Mᵀ
        var dM = MatMul(L, G, ta: true);                     // Lᵀ·G
        for (int i = 0; i < c; i++)
        {
            for (int j = 0; j < c; j++)
            {
                work.AsSpan()[i * c + j] = G[i, j];
                dlower.AsSpan()[i * c + j] = j < i ? dL[i, j] : T.Zero;
                dupper.AsSpan()[i * c + j] = j > i ? dM[i, j] : T.Zero;
            }
            dlogs.AsSpan()[i] = dM[i, i] * M[i, i];
        }
    }

    /// <summary>The logistic sigmoid (shared by the flow and generative reference kernels).</summary>
    private static T Sig(T z) => T.One / (T.One + T.Exp(-z));

    public void CouplingForward(Tensor<T> x, Tensor<T> h, Tensor<T> y, bool inverse)
    {
        int n = x.Shape[0], c = x.Shape[1], s = x.Shape[2] * x.Shape[3], half = c / 2;
        for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) for (int k = 0; k < s; k++)
        {
            int o = (i * c + ch) * s + k;
            if (ch < half) { y.AsSpan()[o] = x.AsSpan()[o]; continue; }
            T logS = h.AsSpan()[(i * c + ch - half) * s + k], t = h.AsSpan()[o], sg = Sig(logS + C(2));
            y.AsSpan()[o] = inverse ? x.AsSpan()[o] / sg - t : (x.AsSpan()[o] + t) * sg;
        }
    }

    public void CouplingBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> h, Tensor<T>? dx, Tensor<T> dh, bool inverse)
    {
        int n = x.Shape[0], c = x.Shape[1], s = x.Shape[2] * x.Shape[3], half = c / 2;
        for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) for (int k = 0; k < s; k++)
        {
            int o = (i * c + ch) * s + k;
            T g = dy.AsSpan()[o];
            if (ch < half) { if (dx != null) dx.AsSpan()[o] = g; continue; }
            int a = (i * c + ch - half) * s + k;
            T v = x.AsSpan()[o], t = h.AsSpan()[o], sg = Sig(h.AsSpan()[a] + C(2)), dsg = sg * (T.One - sg);
            if (inverse)
            {   // y = v/σ − t
                if (dx != null) dx.AsSpan()[o] = g / sg;
                dh.AsSpan()[a] = g * v * (-dsg / (sg * sg));
                dh.AsSpan()[o] = -g;
            }
            else
            {   // y = (v + t)·σ
                if (dx != null) dx.AsSpan()[o] = g * sg;
                dh.AsSpan()[a] = g * (v + t) * dsg;
                dh.AsSpan()[o] = g * sg;
            }
        }
    }

    public void CouplingLogDetForward(Tensor<T> h, Tensor<T> logdet)
    {
        int n = h.Shape[0], c = h.Shape[1], s = h.Shape[2] * h.Shape[3];
        for (int i = 0; i < n; i++)
        {
            T sum = T.Zero;
            for (int ch = 0; ch < c / 2; ch++) for (int k = 0; k < s; k++) sum += T.Log(Sig(h.AsSpan()[(i * c + ch) * s + k] + C(2)));
            logdet.AsSpan()[i] = sum;
        }
    }

    public void CouplingLogDetBackward(Tensor<T> dy, Tensor<T> h, Tensor<T> dh)
    {
        int n = h.Shape[0], c = h.Shape[1], s = h.Shape[2] * h.Shape[3];
        for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) for (int k = 0; k < s; k++)
        {
            int o = (i * c + ch) * s + k;
            dh.AsSpan()[o] = ch < c / 2 ? dy.AsSpan()[i] * (T.One - Sig(h.AsSpan()[o] + C(2))) : T.Zero;
        }
    }

    public void GaussianLogProbForward(Tensor<T> z, Tensor<T> logp)
    {
        int n = z.Shape[0], d = z.Length / n;
        for (int i = 0; i < n; i++)
        {
            T sum = T.Zero;
            for (int k = 0; k < d; k++) { T v = z.AsSpan()[i * d + k]; sum += -C(0.5) * v * v - C(0.5 * Math.Log(2 * Math.PI)); }
            logp.AsSpan()[i] = sum;
        }
    }

    public void GaussianLogProbBackward(Tensor<T> dy, Tensor<T> z, Tensor<T> dz)
    {
        int n = z.Shape[0], d = z.Length / n;
        for (int i = 0; i < z.Length; i++) dz.AsSpan()[i] = -dy.AsSpan()[i / d] * z.AsSpan()[i];
    }
}
