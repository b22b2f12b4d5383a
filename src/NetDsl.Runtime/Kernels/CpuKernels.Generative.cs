using System.Buffers;
using System.Runtime.CompilerServices;

namespace NetDsl.Runtime;

// The generative family on the CPU (IKernels.Generative.cs): counter-based noise (split across cores through Elementwise),
// element-wise losses, triplet margin, NT-Xent and distillation as per-row loops. No allocation per call (NT-Xent rents its
// normalized rows from the shared array pool).
public sealed partial class CpuKernels<T>
{
    internal const ulong NoiseSalt = 0x5851F42D4C957F2DUL;

    /// <summary>The standard normal of element i of the draw keyed by <paramref name="key"/> (Box–Muller in double; shared with the tests).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double StandardNormal(ulong key, long i)
    {
        ulong h1 = SplitMix64(key + (ulong)(2 * i) * 0x9E3779B97F4A7C15UL), h2 = SplitMix64(key + (ulong)(2 * i + 1) * 0x9E3779B97F4A7C15UL);
        double u1 = ((h1 >> 11) + 1) * (1.0 / 9007199254740992.0), u2 = (h2 >> 11) * (1.0 / 9007199254740992.0);
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>The uniform [0, 1) of element i of the draw keyed by <paramref name="key"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double Uniform01(ulong key, long i) => (SplitMix64(key + (ulong)(2 * i) * 0x9E3779B97F4A7C15UL) >> 11) * (1.0 / 9007199254740992.0);

    public void RandomFill(Tensor<T> y, RandomKind kind, T a, T b, ulong seed)
    {
        ulong key = SplitMix64(seed ^ NoiseSalt);
        Elementwise(y.Length, (y, kind, a, b, key), static (s, lo, hi) =>
        {
            var ys = s.y.AsSpan();
            for (int i = lo; i < hi; i++)
                ys[i] = s.kind == RandomKind.Normal
                    ? s.a + s.b * T.CreateChecked(StandardNormal(s.key, i))
                    : s.a + (s.b - s.a) * T.CreateChecked(Uniform01(s.key, i));
        });
    }

    public void SampleNormalForward(Tensor<T> mu, Tensor<T> logvar, Tensor<T> noise, Tensor<T> z, bool sample, ulong seed)
    {
        KernelContract.SampleNormalForward(mu, logvar, noise, z);
        if (!sample) { mu.AsSpan().CopyTo(z.AsSpan()); noise.AsSpan().Clear(); return; }
        ulong key = SplitMix64(seed ^ NoiseSalt);
        Elementwise(mu.Length, (mu, logvar, noise, z, key), static (s, lo, hi) =>
        {
            var m = s.mu.AsSpan(); var lv = s.logvar.AsSpan(); var ns = s.noise.AsSpan(); var zs = s.z.AsSpan();
            T half = T.CreateChecked(0.5);
            for (int i = lo; i < hi; i++)
            {
                T e = T.Exp(half * lv[i]) * T.CreateChecked(StandardNormal(s.key, i));
                ns[i] = e;
                zs[i] = m[i] + e;
            }
        });
    }

    private static T GenDivisor(GenReduction r, Tensor<T> a) => r switch
    {
        GenReduction.Sum => T.One,
        GenReduction.BatchMean => T.CreateChecked(a.Rank == 0 ? 1 : Math.Max(a.Shape[0], 1)),
        _ => T.CreateChecked(Math.Max(a.Length, 1)),
    };

    private static T Softplus(T x) => T.Max(x, T.Zero) + T.LogP1(T.Exp(-T.Abs(x)));
    private static T Sigmoid(T x) => x >= T.Zero ? T.One / (T.One + T.Exp(-x)) : T.Exp(x) / (T.One + T.Exp(x));
    private static T ClampLog(T x) => T.Max(T.Log(x), T.CreateChecked(-100));

    /// <summary>The term ℓ(a, b) of a pointwise loss (PyTorch's formulas; BCE clamps its logs at −100 as PyTorch does).</summary>
    internal static T PointwiseTerm(PointwiseLoss kind, T a, T b) => kind switch
    {
        PointwiseLoss.Bce => -(b * ClampLog(a) + (T.One - b) * ClampLog(T.One - a)),
        PointwiseLoss.BceWithLogits => T.Max(a, T.Zero) - a * b + T.LogP1(T.Exp(-T.Abs(a))),
        PointwiseLoss.KlNormal => T.CreateChecked(0.5) * (T.Exp(b) + a * a - T.One - b),
        PointwiseLoss.SoftplusNeg => Softplus(-a),
        PointwiseLoss.Softplus => Softplus(a),
        _ => -Softplus(a),
    };

    /// <summary>(∂ℓ/∂a, ∂ℓ/∂b) of a pointwise loss term.</summary>
    internal static (T Da, T Db) PointwiseGrad(PointwiseLoss kind, T a, T b) => kind switch
    {
        PointwiseLoss.Bce => ((a - b) / T.Max((T.One - a) * a, T.CreateChecked(1e-12)), ClampLog(T.One - a) - ClampLog(a)),
        PointwiseLoss.BceWithLogits => (Sigmoid(a) - b, -a),
        PointwiseLoss.KlNormal => (a, T.CreateChecked(0.5) * (T.Exp(b) - T.One)),
        PointwiseLoss.SoftplusNeg => (Sigmoid(a) - T.One, T.Zero),
        PointwiseLoss.Softplus => (Sigmoid(a), T.Zero),
        _ => (-Sigmoid(a), T.Zero),
    };

    /// <summary>bce's probabilities in [0, 1] (a data check: the shapes are the contract's).</summary>
    private static void CheckProbabilities(PointwiseLoss kind, Tensor<T> a)
    {
        if (kind == PointwiseLoss.Bce)
        {
            var s = a.AsSpan();
            for (int i = 0; i < s.Length; i++)
                if (!(s[i] >= T.Zero && s[i] <= T.One)) throw new ArgumentOutOfRangeException(nameof(a), $"bce expects probabilities in [0, 1], got {s[i]} at index {i}");
        }
    }

    public void PointwiseLossForward(PointwiseLoss kind, Tensor<T> a, Tensor<T> b, GenReduction reduction, Tensor<T> loss)
    {
        KernelContract.PointwiseLossForward(a, b, loss);
        CheckProbabilities(kind, a);
        var xs = a.AsSpan(); var ys = b.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < xs.Length; i++) total += PointwiseTerm(kind, xs[i], ys[i]);
        loss.AsSpan()[0] = total / GenDivisor(reduction, a);
    }

    public void PointwiseLossBackward(PointwiseLoss kind, Tensor<T> dy, Tensor<T> a, Tensor<T> b, GenReduction reduction, Tensor<T> da, Tensor<T>? db)
    {
        KernelContract.PointwiseLossBackward(dy, a, b, da, db);
        T g = Upstream(dy) / GenDivisor(reduction, a);
        var xs = a.AsSpan(); var ys = b.AsSpan(); var dxs = da.AsSpan(); var dys = db is null ? Span<T>.Empty : db.AsSpan();
        for (int i = 0; i < xs.Length; i++)
        {
            var (ga, gb) = PointwiseGrad(kind, xs[i], ys[i]);
            dxs[i] = g * ga;
            if (db is not null) dys[i] = g * gb;
        }
    }

    private static T RowDivisor(GenReduction r, int rows) => r == GenReduction.Sum ? T.One : T.CreateChecked(Math.Max(rows, 1));

    internal static readonly double TripletEps = 1e-6;

    private static T PairDistance(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
    {
        T eps = T.CreateChecked(TripletEps), s = T.Zero;
        for (int j = 0; j < x.Length; j++) { T d = x[j] - y[j] + eps; s += d * d; }
        return T.Sqrt(s);
    }

    public void TripletMarginForward(Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative, T margin, GenReduction reduction, Tensor<T> loss)
    {
        var (n, d) = KernelContract.TripletMarginForward(anchor, positive, negative, loss);
        var a = anchor.AsSpan(); var p = positive.AsSpan(); var ng = negative.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
            total += T.Max(PairDistance(a.Slice(i * d, d), p.Slice(i * d, d)) - PairDistance(a.Slice(i * d, d), ng.Slice(i * d, d)) + margin, T.Zero);
        loss.AsSpan()[0] = total / RowDivisor(reduction, n);
    }

    public void TripletMarginBackward(Tensor<T> dy, Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative, T margin, GenReduction reduction, Tensor<T> danchor, Tensor<T> dpositive, Tensor<T> dnegative)
    {
        var (n, d) = KernelContract.TripletMarginBackward(dy, anchor, positive, negative, danchor, dpositive, dnegative);
        T g = Upstream(dy) / RowDivisor(reduction, n), eps = T.CreateChecked(TripletEps);
        var a = anchor.AsSpan(); var p = positive.AsSpan(); var ng = negative.AsSpan();
        var da = danchor.AsSpan(); var dp = dpositive.AsSpan(); var dn = dnegative.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int o = i * d;
            T dap = PairDistance(a.Slice(o, d), p.Slice(o, d)), dan = PairDistance(a.Slice(o, d), ng.Slice(o, d));
            bool active = dap - dan + margin > T.Zero;
            T sp = active && dap > T.Zero ? g / dap : T.Zero, sn = active && dan > T.Zero ? g / dan : T.Zero;
            for (int j = 0; j < d; j++)
            {
                T gp = (a[o + j] - p[o + j] + eps) * sp, gn = (a[o + j] - ng[o + j] + eps) * sn;
                da[o + j] = gp - gn;
                dp[o + j] = -gp;
                dn[o + j] = gn;
            }
        }
    }

    /// <summary>Row k of [z1; z2].</summary>
    private static ReadOnlySpan<T> Row(ReadOnlySpan<T> z1, ReadOnlySpan<T> z2, int n, int d, int k) => k < n ? z1.Slice(k * d, d) : z2.Slice((k - n) * d, d);

    /// <summary>u = z/max(‖z‖, 1e-12) for the 2N rows into <paramref name="u"/>, norms into <paramref name="norm"/>; then the row log-sum-exps of s = u·uᵀ/τ (diagonal excluded).</summary>
    private static void NtXentPrepare(ReadOnlySpan<T> z1, ReadOnlySpan<T> z2, int n, int d, T temperature, Span<T> u, Span<T> norm, Span<T> lse)
    {
        int m = 2 * n;
        for (int k = 0; k < m; k++)
        {
            var z = Row(z1, z2, n, d, k);
            T s = T.Zero;
            for (int j = 0; j < d; j++) s += z[j] * z[j];
            T nk = T.Max(T.Sqrt(s), T.CreateChecked(1e-12));
            norm[k] = nk;
            for (int j = 0; j < d; j++) u[k * d + j] = z[j] / nk;
        }
        for (int k = 0; k < m; k++)
        {
            T max = T.NegativeInfinity;
            for (int j = 0; j < m; j++) if (j != k) max = T.Max(max, Dot(u, k, j, d) / temperature);
            T sum = T.Zero;
            for (int j = 0; j < m; j++) if (j != k) sum += T.Exp(Dot(u, k, j, d) / temperature - max);
            lse[k] = max + T.Log(sum);
        }
    }

    private static T Dot(ReadOnlySpan<T> u, int k, int j, int d)
    {
        T s = T.Zero;
        for (int e = 0; e < d; e++) s += u[k * d + e] * u[j * d + e];
        return s;
    }

    public void NtXentForward(Tensor<T> z1, Tensor<T> z2, T temperature, GenReduction reduction, Tensor<T> loss)
    {
        var (n, d) = KernelContract.NtXentForward(z1, z2, loss);
        int m = 2 * n;
        if (n == 0) { loss.AsSpan()[0] = T.Zero; return; }
        var buf = ArrayPool<T>.Shared.Rent(m * d + 2 * m);
        try
        {
            var u = buf.AsSpan(0, m * d); var norm = buf.AsSpan(m * d, m); var lse = buf.AsSpan(m * d + m, m);
            NtXentPrepare(z1.AsSpan(), z2.AsSpan(), n, d, temperature, u, norm, lse);
            T total = T.Zero;
            for (int k = 0; k < m; k++) total += lse[k] - Dot(u, k, (k + n) % m, d) / temperature;
            loss.AsSpan()[0] = total / RowDivisor(reduction, m);
        }
        finally { ArrayPool<T>.Shared.Return(buf); }
    }

    public void NtXentBackward(Tensor<T> dy, Tensor<T> z1, Tensor<T> z2, T temperature, GenReduction reduction, Tensor<T> dz1, Tensor<T> dz2)
    {
        var (n, d) = KernelContract.NtXentBackward(dy, z1, z2, dz1, dz2);
        int m = 2 * n;
        if (n == 0) return;
        T g = Upstream(dy) / RowDivisor(reduction, m);
        var buf = ArrayPool<T>.Shared.Rent(m * d + 2 * m + d);
        try
        {
            var u = buf.AsSpan(0, m * d); var norm = buf.AsSpan(m * d, m); var lse = buf.AsSpan(m * d + m, m); var du = buf.AsSpan(m * d + 2 * m, d);
            NtXentPrepare(z1.AsSpan(), z2.AsSpan(), n, d, temperature, u, norm, lse);
            var d1 = dz1.AsSpan(); var d2 = dz2.AsSpan();
            for (int k = 0; k < m; k++)
            {
                // du_k = (1/τ)·Σ_j (G_kj + G_jk)·u_j with G_kj = g·(P_kj − [j = pos(k)]), j ≠ k
                du.Clear();
                for (int j = 0; j < m; j++)
                {
                    if (j == k) continue;
                    T s = Dot(u, k, j, d) / temperature;
                    T gkj = g * (T.Exp(s - lse[k]) - (j == (k + n) % m ? T.One : T.Zero));
                    T gjk = g * (T.Exp(s - lse[j]) - (k == (j + n) % m ? T.One : T.Zero));
                    T c = (gkj + gjk) / temperature;
                    for (int e = 0; e < d; e++) du[e] += c * u[j * d + e];
                }
                // through u = z/‖z‖: dz = (du − u·(u·du))/‖z‖ (F.normalize; below the 1e-12 clamp dz = du/1e-12)
                T ud = T.Zero;
                for (int e = 0; e < d; e++) ud += u[k * d + e] * du[e];
                bool clamped = norm[k] <= T.CreateChecked(1e-12);
                var dz = k < n ? d1.Slice(k * d, d) : d2.Slice((k - n) * d, d);
                for (int e = 0; e < d; e++) dz[e] = (clamped ? du[e] : du[e] - u[k * d + e] * ud) / norm[k];
            }
        }
        finally { ArrayPool<T>.Shared.Return(buf); }
    }

    /// <summary>max and log Σ exp of row x/τ.</summary>
    private static (T Max, T Lse) RowLse(ReadOnlySpan<T> x, T temperature)
    {
        T max = T.NegativeInfinity;
        for (int j = 0; j < x.Length; j++) max = T.Max(max, x[j] / temperature);
        T sum = T.Zero;
        for (int j = 0; j < x.Length; j++) sum += T.Exp(x[j] / temperature - max);
        return (max, max + T.Log(sum));
    }

    public void DistillForward(Tensor<T> student, Tensor<T> teacher, T temperature, GenReduction reduction, Tensor<T> loss)
    {
        var (n, c) = KernelContract.DistillForward(student, teacher, loss);
        var s = student.AsSpan(); var t = teacher.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            var si = s.Slice(i * c, c); var ti = t.Slice(i * c, c);
            var (_, ls) = RowLse(si, temperature);
            var (_, lt) = RowLse(ti, temperature);
            for (int j = 0; j < c; j++)
            {
                T logp = ti[j] / temperature - lt, p = T.Exp(logp);
                if (p > T.Zero) total += p * (logp - (si[j] / temperature - ls));
            }
        }
        loss.AsSpan()[0] = total * temperature * temperature / RowDivisor(reduction, n);
    }

    public void DistillBackward(Tensor<T> dy, Tensor<T> student, Tensor<T> teacher, T temperature, GenReduction reduction, Tensor<T> dstudent)
    {
        var (n, c) = KernelContract.DistillBackward(dy, student, teacher, dstudent);
        T g = Upstream(dy) * temperature / RowDivisor(reduction, n);
        var s = student.AsSpan(); var t = teacher.AsSpan(); var ds = dstudent.AsSpan();
        for (int i = 0; i < n; i++)
        {
            var si = s.Slice(i * c, c); var ti = t.Slice(i * c, c);
            var (_, ls) = RowLse(si, temperature);
            var (_, lt) = RowLse(ti, temperature);
            for (int j = 0; j < c; j++) ds[i * c + j] = g * (T.Exp(si[j] / temperature - ls) - T.Exp(ti[j] / temperature - lt));
        }
    }
}
