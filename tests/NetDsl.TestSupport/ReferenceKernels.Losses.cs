using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive loops for the losses family: each loss written from its definition (q_ic for cross-entropy), gradients from the
// derivative of each term.
public sealed partial class ReferenceKernels<T>
{
    public T ReadScalar(Tensor<T> t) => t.AsSpan()[0];

    private static T Wt(ReadOnlySpan<T> w, int c) => w.Length == 0 ? T.One : w[c];

    private static T Divisor(ReadOnlySpan<int> lab, ReadOnlySpan<T> w, LossReduction r)
    {
        if (r == LossReduction.Sum) return T.One;
        T d = T.Zero;
        foreach (var y in lab) d += Wt(w, y);
        return d;
    }

    private static T[] LogSoftmaxRow(ReadOnlySpan<T> x, int o, int c)
    {
        T max = T.NegativeInfinity, sum = T.Zero;
        for (int j = 0; j < c; j++) max = T.Max(max, x[o + j]);
        for (int j = 0; j < c; j++) sum += T.Exp(x[o + j] - max);
        var r = new T[c];
        for (int j = 0; j < c; j++) r[j] = x[o + j] - max - T.Log(sum);
        return r;
    }

    private static T Q(ReadOnlySpan<T> w, T eps, int c, int y, int j) =>
        (j == y ? (T.One - eps) * Wt(w, y) : T.Zero) + eps / T.CreateChecked(c) * Wt(w, j);

    public void CrossEntropyForward(Tensor<T> logits, Tensor<int> labels, ReadOnlySpan<T> weights, T smoothing, LossReduction reduction, Tensor<T> probs, Tensor<T> loss)
    {
        int c = logits.Shape[^1], n = logits.Length / c;
        var x = logits.AsSpan(); var lab = labels.AsSpan(); var ps = probs.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            if ((uint)lab[i] >= (uint)c) throw new ArgumentOutOfRangeException(nameof(labels));
            var lp = LogSoftmaxRow(x, i * c, c);
            for (int j = 0; j < c; j++) { ps[i * c + j] = T.Exp(lp[j]); total -= Q(weights, smoothing, c, lab[i], j) * lp[j]; }
        }
        loss.AsSpan()[0] = total / Divisor(lab, weights, reduction);
    }

    public void CrossEntropyBackward(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, ReadOnlySpan<T> weights, T smoothing, LossReduction reduction, Tensor<T> dlogits)
    {
        int c = probs.Shape[^1], n = probs.Length / c;
        var ps = probs.AsSpan(); var lab = labels.AsSpan(); var d = dlogits.AsSpan();
        T scale = dy.AsSpan()[0] / Divisor(lab, weights, reduction);
        for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
        {
            // ∂/∂z_j of −Σ_k q_k log p_k = Σ_k q_k (p_j − δ_kj)
            T s = T.Zero;
            for (int k = 0; k < c; k++) s += Q(weights, smoothing, c, lab[i], k) * (ps[i * c + j] - (k == j ? T.One : T.Zero));
            d[i * c + j] = s * scale;
        }
    }

    public void NllLossForward(Tensor<T> logp, Tensor<int> labels, ReadOnlySpan<T> weights, LossReduction reduction, Tensor<T> loss)
    {
        int c = logp.Shape[^1];
        var lp = logp.AsSpan(); var lab = labels.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < lab.Length; i++) total -= Wt(weights, lab[i]) * lp[i * c + lab[i]];
        loss.AsSpan()[0] = total / Divisor(lab, weights, reduction);
    }

    public void NllLossBackward(Tensor<T> dy, Tensor<int> labels, ReadOnlySpan<T> weights, LossReduction reduction, Tensor<T> dlogp)
    {
        int c = dlogp.Shape[^1];
        var lab = labels.AsSpan(); var d = dlogp.AsSpan();
        T scale = dy.AsSpan()[0] / Divisor(lab, weights, reduction);
        for (int k = 0; k < d.Length; k++) d[k] = k % c == lab[k / c] ? -Wt(weights, lab[k / c]) * scale : T.Zero;
    }

    public void MultiMarginForward(Tensor<T> x, Tensor<int> labels, T margin, bool squared, LossReduction reduction, Tensor<T> loss)
    {
        int c = x.Shape[^1], n = x.Length / c;
        var xs = x.AsSpan(); var lab = labels.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
        {
            if (j == lab[i]) continue;
            T u = T.Max(T.Zero, margin - xs[i * c + lab[i]] + xs[i * c + j]);
            total += (squared ? u * u : u) / T.CreateChecked(c);
        }
        loss.AsSpan()[0] = reduction == LossReduction.Sum ? total : total / T.CreateChecked(n);
    }

    public void MultiMarginBackward(Tensor<T> dy, Tensor<T> x, Tensor<int> labels, T margin, bool squared, LossReduction reduction, Tensor<T> dx)
    {
        int c = x.Shape[^1], n = x.Length / c;
        var xs = x.AsSpan(); var lab = labels.AsSpan(); var d = dx.AsSpan();
        d.Clear();
        T scale = dy.AsSpan()[0] / T.CreateChecked(c) / (reduction == LossReduction.Sum ? T.One : T.CreateChecked(n));
        for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
        {
            if (j == lab[i]) continue;
            T u = margin - xs[i * c + lab[i]] + xs[i * c + j];
            if (!(u > T.Zero)) continue;
            T g = (squared ? T.CreateChecked(2) * u : T.One) * scale;
            d[i * c + j] += g;
            d[i * c + lab[i]] -= g;
        }
    }

    public void FocalLossForward(Tensor<T> logits, Tensor<int> labels, T gamma, T alpha, LossReduction reduction, Tensor<T> probs, Tensor<T> loss)
    {
        int c = logits.Shape[^1], n = logits.Length / c;
        var x = logits.AsSpan(); var lab = labels.AsSpan(); var ps = probs.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            var lp = LogSoftmaxRow(x, i * c, c);
            for (int j = 0; j < c; j++) ps[i * c + j] = T.Exp(lp[j]);
            T pt = T.Exp(lp[lab[i]]);
            total += -alpha * T.Pow(T.One - pt, gamma) * lp[lab[i]];
        }
        loss.AsSpan()[0] = reduction == LossReduction.Sum ? total : total / T.CreateChecked(n);
    }

    public void FocalLossBackward(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, T gamma, T alpha, LossReduction reduction, Tensor<T> dlogits)
    {
        int c = probs.Shape[^1], n = probs.Length / c;
        var ps = probs.AsSpan(); var lab = labels.AsSpan(); var d = dlogits.AsSpan();
        T scale = dy.AsSpan()[0] / (reduction == LossReduction.Sum ? T.One : T.CreateChecked(n));
        for (int i = 0; i < n; i++)
        {
            T p = ps[i * c + lab[i]];
            // dL/dp for L = −α(1−p)^γ log p, times dp/dz_j = p(δ_jt − p_j)
            T dLdp = alpha * (gamma * T.Pow(T.One - p, gamma - T.One) * T.Log(p) - T.Pow(T.One - p, gamma) / p);
            for (int j = 0; j < c; j++) d[i * c + j] = dLdp * p * ((j == lab[i] ? T.One : T.Zero) - ps[i * c + j]) * scale;
        }
    }

    public void RegressionLossForward(RegressionLoss kind, Tensor<T> y, Tensor<T> target, T beta, LossReduction reduction, Tensor<T> loss)
    {
        var ys = y.AsSpan(); var ts = target.AsSpan();
        T total = T.Zero, half = T.CreateChecked(0.5);
        for (int i = 0; i < ys.Length; i++)
        {
            T d = ys[i] - ts[i];
            total += kind switch
            {
                RegressionLoss.Mse => d * d,
                RegressionLoss.L1 => T.Abs(d),
                _ => T.Abs(d) < beta ? half * d * d / beta : T.Abs(d) - half * beta,
            };
        }
        loss.AsSpan()[0] = reduction == LossReduction.Sum ? total : total / T.CreateChecked(ys.Length);
    }

    public void RegressionLossBackward(RegressionLoss kind, Tensor<T> dy, Tensor<T> y, Tensor<T> target, T beta, LossReduction reduction, Tensor<T> dpred)
    {
        var ys = y.AsSpan(); var ts = target.AsSpan(); var d = dpred.AsSpan();
        T scale = dy.AsSpan()[0] / (reduction == LossReduction.Sum ? T.One : T.CreateChecked(ys.Length));
        for (int i = 0; i < ys.Length; i++)
        {
            T diff = ys[i] - ts[i], sign = diff > T.Zero ? T.One : diff < T.Zero ? -T.One : T.Zero;
            d[i] = scale * (kind switch
            {
                RegressionLoss.Mse => T.CreateChecked(2) * diff,
                RegressionLoss.L1 => sign,
                _ => T.Abs(diff) < beta ? diff / beta : sign,
            });
        }
    }
}
