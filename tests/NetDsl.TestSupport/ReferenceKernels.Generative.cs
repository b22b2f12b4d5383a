using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive loops for the generative family, each from its definition: the counter-based normal/uniform streams written out,
// the losses term by term, NT-Xent through the full similarity matrix and a row softmax, gradients from the derivative of
// each term (NT-Xent: dL/ds then the chain rule through the cosine similarity, written with an explicit Jacobian).
public sealed partial class ReferenceKernels<T>
{
    private static ulong GenMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static double U53(ulong h) => (h >> 11) / 9007199254740992.0;

    private static double NormalAt(ulong seed, long i)
    {
        ulong key = GenMix(seed ^ 0x5851F42D4C957F2DUL);
        // u1 in (0, 1]: (top 53 bits + 1)/2^53; u2 in [0, 1)
        double u1 = ((GenMix(key + (ulong)(2 * i) * 0x9E3779B97F4A7C15UL) >> 11) + 1) / 9007199254740992.0;
        double u2 = U53(GenMix(key + (ulong)(2 * i + 1) * 0x9E3779B97F4A7C15UL));
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public void RandomFill(Tensor<T> y, RandomKind kind, T a, T b, ulong seed)
    {
        ulong key = GenMix(seed ^ 0x5851F42D4C957F2DUL);
        var ys = y.AsSpan();
        for (int i = 0; i < ys.Length; i++)
            ys[i] = kind == RandomKind.Normal ? a + b * T.CreateChecked(NormalAt(seed, i)) : a + (b - a) * T.CreateChecked(U53(GenMix(key + (ulong)(2 * i) * 0x9E3779B97F4A7C15UL)));
    }

    public void SampleNormalForward(Tensor<T> mu, Tensor<T> logvar, Tensor<T> noise, Tensor<T> z, bool sample, ulong seed)
    {
        var m = mu.AsSpan(); var lv = logvar.AsSpan(); var ns = noise.AsSpan(); var zs = z.AsSpan();
        for (int i = 0; i < m.Length; i++)
        {
            T sigma = T.Exp(lv[i] / T.CreateChecked(2));
            ns[i] = sample ? sigma * T.CreateChecked(NormalAt(seed, i)) : T.Zero;
            zs[i] = m[i] + ns[i];
        }
    }

    private static T GenDiv(GenReduction r, Tensor<T> a) => r == GenReduction.Sum ? T.One : r == GenReduction.BatchMean ? T.CreateChecked(a.Shape[0]) : T.CreateChecked(a.Length);

    private static T Softplus(T x) => T.Log(T.One + T.Exp(x));   // log(1 + e^x) as written (fine for the small test values)

    private static T Term(PointwiseLoss k, T a, T b) => k switch
    {
        PointwiseLoss.Bce => -(b * T.Max(T.Log(a), T.CreateChecked(-100)) + (T.One - b) * T.Max(T.Log(T.One - a), T.CreateChecked(-100))),
        PointwiseLoss.BceWithLogits => -(b * T.Log(Sig(a)) + (T.One - b) * T.Log(T.One - Sig(a))),
        PointwiseLoss.KlNormal => (T.Exp(b) + a * a - T.One - b) / T.CreateChecked(2),
        PointwiseLoss.SoftplusNeg => -T.Log(Sig(a)),
        PointwiseLoss.Softplus => -T.Log(T.One - Sig(a)),
        _ => T.Log(T.One - Sig(a)),
    };

    public void PointwiseLossForward(PointwiseLoss kind, Tensor<T> a, Tensor<T> b, GenReduction reduction, Tensor<T> loss)
    {
        var x = a.AsSpan(); var y = b.AsSpan();
        T s = T.Zero;
        for (int i = 0; i < x.Length; i++) s += Term(kind, x[i], y[i]);
        loss.AsSpan()[0] = s / GenDiv(reduction, a);
    }

    public void PointwiseLossBackward(PointwiseLoss kind, Tensor<T> dy, Tensor<T> a, Tensor<T> b, GenReduction reduction, Tensor<T> da, Tensor<T>? db)
    {
        var x = a.AsSpan(); var y = b.AsSpan(); var dx = da.AsSpan();
        T g = dy.AsSpan()[0] / GenDiv(reduction, a);
        for (int i = 0; i < x.Length; i++)
        {
            T p = x[i], t = y[i];
            (T ga, T gb) = kind switch
            {
                PointwiseLoss.Bce => ((p - t) / (p * (T.One - p)), T.Log(T.One - p) - T.Log(p)),
                PointwiseLoss.BceWithLogits => (Sig(p) - t, -p),
                PointwiseLoss.KlNormal => (p, (T.Exp(t) - T.One) / T.CreateChecked(2)),
                PointwiseLoss.SoftplusNeg => (-(T.One - Sig(p)), T.Zero),
                PointwiseLoss.Softplus => (Sig(p), T.Zero),
                _ => (-Sig(p), T.Zero),
            };
            dx[i] = g * ga;
            if (db is not null) db.AsSpan()[i] = g * gb;
        }
    }

    private static T Dist(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int o, int d)
    {
        T s = T.Zero;
        for (int j = 0; j < d; j++) { T v = x[o + j] - y[o + j] + T.CreateChecked(1e-6); s += v * v; }
        return T.Sqrt(s);
    }

    public void TripletMarginForward(Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative, T margin, GenReduction reduction, Tensor<T> loss)
    {
        int n = anchor.Shape[0], d = anchor.Shape[1];
        T s = T.Zero;
        for (int i = 0; i < n; i++)
            s += T.Max(T.Zero, Dist(anchor.AsSpan(), positive.AsSpan(), i * d, d) - Dist(anchor.AsSpan(), negative.AsSpan(), i * d, d) + margin);
        loss.AsSpan()[0] = s / (reduction == GenReduction.Sum ? T.One : T.CreateChecked(n));
    }

    public void TripletMarginBackward(Tensor<T> dy, Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative, T margin, GenReduction reduction, Tensor<T> danchor, Tensor<T> dpositive, Tensor<T> dnegative)
    {
        int n = anchor.Shape[0], d = anchor.Shape[1];
        T g = dy.AsSpan()[0] / (reduction == GenReduction.Sum ? T.One : T.CreateChecked(n));
        var a = anchor.AsSpan(); var p = positive.AsSpan(); var ng = negative.AsSpan();
        for (int i = 0; i < n; i++)
        {
            T dap = Dist(a, p, i * d, d), dan = Dist(a, ng, i * d, d);
            bool on = dap - dan + margin > T.Zero;
            for (int j = 0; j < d; j++)
            {
                int e = i * d + j;
                // ∂‖u‖/∂u = u/‖u‖ with u = a − p + ε and v = a − n + ε
                T du = on ? g * (a[e] - p[e] + T.CreateChecked(1e-6)) / dap : T.Zero;
                T dv = on ? g * (a[e] - ng[e] + T.CreateChecked(1e-6)) / dan : T.Zero;
                danchor.AsSpan()[e] = du - dv;
                dpositive.AsSpan()[e] = -du;
                dnegative.AsSpan()[e] = dv;
            }
        }
    }

    /// <summary>[z1; z2] normalized: rows u_k = z_k/‖z_k‖ and the norms.</summary>
    private static (T[,] U, T[] Norm) Normalized(Tensor<T> z1, Tensor<T> z2)
    {
        int n = z1.Shape[0], d = z1.Shape[1];
        var u = new T[2 * n, d]; var norm = new T[2 * n];
        for (int k = 0; k < 2 * n; k++)
        {
            var src = k < n ? z1.AsSpan().Slice(k * d, d) : z2.AsSpan().Slice((k - n) * d, d);
            T s = T.Zero;
            for (int e = 0; e < d; e++) s += src[e] * src[e];
            norm[k] = T.Max(T.Sqrt(s), T.CreateChecked(1e-12));
            for (int e = 0; e < d; e++) u[k, e] = src[e] / norm[k];
        }
        return (u, norm);
    }

    /// <summary>P[k, j]: the softmax over j ≠ k of s_kj = u_k·u_j/τ (P[k, k] = 0), and the per-row losses.</summary>
    private static (T[,] P, T[] Rows, T[,] S) NtXentMatrix(T[,] u, int n, int d, T tau)
    {
        int m = 2 * n;
        var s = new T[m, m]; var p = new T[m, m]; var rows = new T[m];
        for (int k = 0; k < m; k++)
            for (int j = 0; j < m; j++)
            {
                T dot = T.Zero;
                for (int e = 0; e < d; e++) dot += u[k, e] * u[j, e];
                s[k, j] = dot / tau;
            }
        for (int k = 0; k < m; k++)
        {
            T z = T.Zero;
            for (int j = 0; j < m; j++) if (j != k) z += T.Exp(s[k, j]);
            for (int j = 0; j < m; j++) p[k, j] = j == k ? T.Zero : T.Exp(s[k, j]) / z;
            rows[k] = -T.Log(p[k, (k + n) % m]);
        }
        return (p, rows, s);
    }

    public void NtXentForward(Tensor<T> z1, Tensor<T> z2, T temperature, GenReduction reduction, Tensor<T> loss)
    {
        int n = z1.Shape[0], d = z1.Shape[1];
        var (u, _) = Normalized(z1, z2);
        var (_, rows, _) = NtXentMatrix(u, n, d, temperature);
        T s = T.Zero;
        foreach (var r in rows) s += r;
        loss.AsSpan()[0] = s / (reduction == GenReduction.Sum ? T.One : T.CreateChecked(2 * n));
    }

    public void NtXentBackward(Tensor<T> dy, Tensor<T> z1, Tensor<T> z2, T temperature, GenReduction reduction, Tensor<T> dz1, Tensor<T> dz2)
    {
        int n = z1.Shape[0], d = z1.Shape[1], m = 2 * n;
        var (u, norm) = Normalized(z1, z2);
        var (p, _, _) = NtXentMatrix(u, n, d, temperature);
        T g = dy.AsSpan()[0] / (reduction == GenReduction.Sum ? T.One : T.CreateChecked(m));
        // dL/ds_kj = g·(P_kj − [j = pos(k)]) for j ≠ k; s_kj = u_k·u_j/τ
        var du = new T[m, d];
        for (int k = 0; k < m; k++)
            for (int j = 0; j < m; j++)
            {
                if (j == k) continue;
                T gs = g * (p[k, j] - (j == (k + n) % m ? T.One : T.Zero)) / temperature;
                for (int e = 0; e < d; e++) { du[k, e] += gs * u[j, e]; du[j, e] += gs * u[k, e]; }
            }
        // u = z/‖z‖: ∂u_e/∂z_f = (δ_ef − u_e u_f)/‖z‖
        for (int k = 0; k < m; k++)
            for (int f = 0; f < d; f++)
            {
                T s = T.Zero;
                for (int e = 0; e < d; e++) s += du[k, e] * ((e == f ? T.One : T.Zero) - u[k, e] * u[k, f]) / norm[k];
                if (k < n) dz1.AsSpan()[k * d + f] = s; else dz2.AsSpan()[(k - n) * d + f] = s;
            }
    }

    private static T[] SoftmaxT(ReadOnlySpan<T> x, int o, int c, T tau)
    {
        var r = new T[c];
        T max = T.NegativeInfinity, z = T.Zero;
        for (int j = 0; j < c; j++) max = T.Max(max, x[o + j] / tau);
        for (int j = 0; j < c; j++) { r[j] = T.Exp(x[o + j] / tau - max); z += r[j]; }
        for (int j = 0; j < c; j++) r[j] /= z;
        return r;
    }

    public void DistillForward(Tensor<T> student, Tensor<T> teacher, T temperature, GenReduction reduction, Tensor<T> loss)
    {
        int n = student.Shape[0], c = student.Shape[1];
        T s = T.Zero;
        for (int i = 0; i < n; i++)
        {
            var q = SoftmaxT(student.AsSpan(), i * c, c, temperature);
            var p = SoftmaxT(teacher.AsSpan(), i * c, c, temperature);
            for (int j = 0; j < c; j++) s += p[j] * (T.Log(p[j]) - T.Log(q[j]));   // KL(p ‖ q)
        }
        loss.AsSpan()[0] = s * temperature * temperature / (reduction == GenReduction.Sum ? T.One : T.CreateChecked(n));
    }

    public void DistillBackward(Tensor<T> dy, Tensor<T> student, Tensor<T> teacher, T temperature, GenReduction reduction, Tensor<T> dstudent)
    {
        int n = student.Shape[0], c = student.Shape[1];
        T g = dy.AsSpan()[0] * temperature * temperature / (reduction == GenReduction.Sum ? T.One : T.CreateChecked(n));
        for (int i = 0; i < n; i++)
        {
            var q = SoftmaxT(student.AsSpan(), i * c, c, temperature);
            var p = SoftmaxT(teacher.AsSpan(), i * c, c, temperature);
            // ∂/∂s_j of −Σ p log q = (q_j − p_j)/τ
            for (int j = 0; j < c; j++) dstudent.AsSpan()[i * c + j] = g * (q[j] - p[j]) / temperature;
        }
    }
}
