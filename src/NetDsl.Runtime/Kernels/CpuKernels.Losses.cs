namespace NetDsl.Runtime;

// Losses family (Ops/Losses.cs): cross-entropy with class weights and label smoothing, NLL, multi-margin (hinge), focal,
// and the regression losses. Every loss writes loss[0]; every backward reads the upstream gradient dy[0]. Per-sample loops
// (losses are O(N·C), small next to the layers that feed them); no allocation.
public sealed partial class CpuKernels<T>
{
    public T ReadScalar(Tensor<T> t)
    {
        KernelContract.ReadScalar(t);
        return t.AsSpan()[0];
    }

    /// <summary>dy[0] (the contract checked dy's shape).</summary>
    private static T Upstream(Tensor<T> dy) => dy.AsSpan()[0];

    /// <summary>Every label in 0..C−1 (the labels are host data here).</summary>
    private static void CheckLabels(Tensor<int> labels, int n, int c)
    {
        var lab = labels.AsSpan();
        for (int i = 0; i < n; i++)
            if ((uint)lab[i] >= (uint)c) throw new ArgumentOutOfRangeException(nameof(labels), $"label {lab[i]} at index {i} is out of range 0..{c - 1}");
    }

    /// <summary>The divisor of a class loss: 1 for the sum, Σ w[y_i] with weights, else N.</summary>
    private static T ClassDivisor(ReadOnlySpan<int> labels, ReadOnlySpan<T> weights, LossReduction reduction)
    {
        if (reduction == LossReduction.Sum) return T.One;
        if (weights.Length == 0) return T.CreateChecked(labels.Length);
        T d = T.Zero;
        foreach (var y in labels) d += weights[y];
        return d;
    }

    /// <summary>Softmax of one row into p; returns log Σ exp (max subtracted first).</summary>
    private static T SoftmaxInto(ReadOnlySpan<T> row, Span<T> p)
    {
        T max = T.NegativeInfinity;
        foreach (var v in row) if (v > max) max = v;
        T sum = T.Zero;
        for (int j = 0; j < row.Length; j++) { T e = T.Exp(row[j] - max); p[j] = e; sum += e; }
        T inv = T.One / sum;
        for (int j = 0; j < row.Length; j++) p[j] *= inv;
        return max + T.Log(sum);
    }

    public void CrossEntropyForward(Tensor<T> logits, Tensor<int> labels, ReadOnlySpan<T> weights, T smoothing, LossReduction reduction, Tensor<T> probs, Tensor<T> loss)
    {
        var (n, c) = KernelContract.CrossEntropyForward(logits, labels, weights.Length, probs, loss);
        CheckLabels(labels, n, c);
        var ls = logits.AsSpan(); var ps = probs.AsSpan(); var lab = labels.AsSpan();
        T eps = smoothing, epsC = c == 0 ? T.Zero : smoothing / T.CreateChecked(c), total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            int y = lab[i];
            var row = ls.Slice(i * c, c);
            T lse = SoftmaxInto(row, ps.Slice(i * c, c));
            T wy = weights.Length == 0 ? T.One : weights[y];
            T term = (T.One - eps) * wy * (lse - row[y]);   // −log softmax(row)[y] = logsumexp − row[y]
            if (eps != T.Zero)
            {
                T s = T.Zero;
                for (int j = 0; j < c; j++) s += (weights.Length == 0 ? T.One : weights[j]) * (lse - row[j]);
                term += epsC * s;
            }
            total += term;
        }
        T d = ClassDivisor(lab, weights, reduction);
        loss.AsSpan()[0] = n == 0 ? T.Zero : total / d;
    }

    public void CrossEntropyBackward(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, ReadOnlySpan<T> weights, T smoothing, LossReduction reduction, Tensor<T> dlogits)
    {
        var (n, c) = KernelContract.CrossEntropyBackward(dy, probs, labels, weights.Length, dlogits);
        CheckLabels(labels, n, c);
        if (n == 0) return;
        var ps = probs.AsSpan(); var ds = dlogits.AsSpan(); var lab = labels.AsSpan();
        T scale = Upstream(dy) / ClassDivisor(lab, weights, reduction);
        T eps = smoothing, epsC = smoothing / T.CreateChecked(c), wsum = T.Zero;
        for (int j = 0; j < c; j++) wsum += weights.Length == 0 ? T.One : weights[j];
        for (int i = 0; i < n; i++)
        {
            int y = lab[i];
            T wy = weights.Length == 0 ? T.One : weights[y];
            T s = (T.One - eps) * wy + epsC * wsum;          // Σ_c q_ic
            for (int j = 0; j < c; j++)
            {
                T q = epsC * (weights.Length == 0 ? T.One : weights[j]);
                ds[i * c + j] = (s * ps[i * c + j] - q) * scale;
            }
            ds[i * c + y] -= (T.One - eps) * wy * scale;
        }
    }

    public void NllLossForward(Tensor<T> logp, Tensor<int> labels, ReadOnlySpan<T> weights, LossReduction reduction, Tensor<T> loss)
    {
        var (n, c) = KernelContract.NllLossForward(logp, labels, weights.Length, loss);
        CheckLabels(labels, n, c);
        var ls = logp.AsSpan(); var lab = labels.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++) total -= (weights.Length == 0 ? T.One : weights[lab[i]]) * ls[i * c + lab[i]];
        loss.AsSpan()[0] = n == 0 ? T.Zero : total / ClassDivisor(lab, weights, reduction);
    }

    public void NllLossBackward(Tensor<T> dy, Tensor<int> labels, ReadOnlySpan<T> weights, LossReduction reduction, Tensor<T> dlogp)
    {
        var (n, c) = KernelContract.NllLossBackward(dy, labels, weights.Length, dlogp);
        CheckLabels(labels, n, c);
        var ds = dlogp.AsSpan(); var lab = labels.AsSpan();
        ds.Clear();
        if (n == 0) return;
        T scale = Upstream(dy) / ClassDivisor(lab, weights, reduction);
        for (int i = 0; i < n; i++) ds[i * c + lab[i]] = -(weights.Length == 0 ? T.One : weights[lab[i]]) * scale;
    }

    public void MultiMarginForward(Tensor<T> x, Tensor<int> labels, T margin, bool squared, LossReduction reduction, Tensor<T> loss)
    {
        var (n, c) = KernelContract.MultiMarginForward(x, labels, loss);
        CheckLabels(labels, n, c);
        var xs = x.AsSpan(); var lab = labels.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            int y = lab[i]; T xy = xs[i * c + y], s = T.Zero;
            for (int j = 0; j < c; j++)
            {
                if (j == y) continue;
                T u = margin - xy + xs[i * c + j];
                if (u > T.Zero) s += squared ? u * u : u;
            }
            total += s / T.CreateChecked(c);
        }
        loss.AsSpan()[0] = n == 0 ? T.Zero : reduction == LossReduction.Sum ? total : total / T.CreateChecked(n);
    }

    public void MultiMarginBackward(Tensor<T> dy, Tensor<T> x, Tensor<int> labels, T margin, bool squared, LossReduction reduction, Tensor<T> dx)
    {
        var (n, c) = KernelContract.MultiMarginBackward(dy, x, labels, dx);
        CheckLabels(labels, n, c);
        if (n == 0) return;
        var xs = x.AsSpan(); var ds = dx.AsSpan(); var lab = labels.AsSpan();
        T scale = Upstream(dy) / T.CreateChecked(c) / (reduction == LossReduction.Sum ? T.One : T.CreateChecked(n));
        for (int i = 0; i < n; i++)
        {
            int y = lab[i]; T xy = xs[i * c + y], gy = T.Zero;
            for (int j = 0; j < c; j++)
            {
                if (j == y) continue;
                T u = margin - xy + xs[i * c + j];
                T g = u > T.Zero ? (squared ? (u + u) * scale : scale) : T.Zero;
                ds[i * c + j] = g;
                gy -= g;
            }
            ds[i * c + y] = gy;
        }
    }

    public void FocalLossForward(Tensor<T> logits, Tensor<int> labels, T gamma, T alpha, LossReduction reduction, Tensor<T> probs, Tensor<T> loss)
    {
        var (n, c) = KernelContract.FocalLossForward(logits, labels, probs, loss);
        CheckLabels(labels, n, c);
        var ls = logits.AsSpan(); var ps = probs.AsSpan(); var lab = labels.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            int y = lab[i];
            T lse = SoftmaxInto(ls.Slice(i * c, c), ps.Slice(i * c, c));
            T logp = ls[i * c + y] - lse, p = T.Exp(logp);
            total -= alpha * T.Pow(T.One - p, gamma) * logp;
        }
        loss.AsSpan()[0] = n == 0 ? T.Zero : reduction == LossReduction.Sum ? total : total / T.CreateChecked(n);
    }

    /// <summary>∂(−α(1−p)^γ log p)/∂z_t divided by (1 − p_t)... precisely: the factor g with dL/dz_j = g·(δ_jt − p_j).</summary>
    internal static T FocalFactor(T p, T gamma, T alpha)
    {
        T q = T.One - p, logp = T.Log(p);
        T first = q > T.Zero && gamma != T.Zero ? gamma * T.Pow(q, gamma - T.One) * p * logp : T.Zero;
        return alpha * (first - T.Pow(q, gamma));
    }

    public void FocalLossBackward(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, T gamma, T alpha, LossReduction reduction, Tensor<T> dlogits)
    {
        var (n, c) = KernelContract.FocalLossBackward(dy, probs, labels, dlogits);
        CheckLabels(labels, n, c);
        if (n == 0) return;
        var ps = probs.AsSpan(); var ds = dlogits.AsSpan(); var lab = labels.AsSpan();
        T scale = Upstream(dy) / (reduction == LossReduction.Sum ? T.One : T.CreateChecked(n));
        for (int i = 0; i < n; i++)
        {
            int y = lab[i];
            T g = FocalFactor(ps[i * c + y], gamma, alpha) * scale;
            for (int j = 0; j < c; j++) ds[i * c + j] = g * ((j == y ? T.One : T.Zero) - ps[i * c + j]);
        }
    }

    internal static T RegressionTerm(RegressionLoss kind, T d, T beta) => kind switch
    {
        RegressionLoss.Mse => d * d,
        RegressionLoss.L1 => T.Abs(d),
        _ => T.Abs(d) < beta ? T.CreateChecked(0.5) * d * d / beta : T.Abs(d) - T.CreateChecked(0.5) * beta,
    };

    internal static T RegressionGrad(RegressionLoss kind, T d, T beta) => kind switch
    {
        RegressionLoss.Mse => d + d,
        RegressionLoss.L1 => T.CreateChecked(T.Sign(d)),
        _ => T.Abs(d) < beta ? d / beta : T.CreateChecked(T.Sign(d)),
    };

    public void RegressionLossForward(RegressionLoss kind, Tensor<T> y, Tensor<T> target, T beta, LossReduction reduction, Tensor<T> loss)
    {
        KernelContract.RegressionLossForward(y, target, loss);
        var ys = y.AsSpan(); var ts = target.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < ys.Length; i++) total += RegressionTerm(kind, ys[i] - ts[i], beta);
        loss.AsSpan()[0] = ys.Length == 0 ? T.Zero : reduction == LossReduction.Sum ? total : total / T.CreateChecked(ys.Length);
    }

    public void RegressionLossBackward(RegressionLoss kind, Tensor<T> dy, Tensor<T> y, Tensor<T> target, T beta, LossReduction reduction, Tensor<T> dpred)
    {
        KernelContract.RegressionLossBackward(dy, y, target, dpred);
        if (y.Length == 0) return;
        var ys = y.AsSpan(); var ts = target.AsSpan(); var ds = dpred.AsSpan();
        T scale = Upstream(dy) / (reduction == LossReduction.Sum ? T.One : T.CreateChecked(ys.Length));
        for (int i = 0; i < ys.Length; i++) ds[i] = RegressionGrad(kind, ys[i] - ts[i], beta) * scale;
    }
}
