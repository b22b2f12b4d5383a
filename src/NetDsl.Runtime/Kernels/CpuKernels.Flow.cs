using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Normalizing-flow family (Ops/Flow.cs, docs/ops/flows.md): actnorm (vectorized per channel plane), the log-determinants,
// the LU-parameterized 1×1 convolution weight (O(C³) per batch, single-threaded: C is small), affine coupling and the
// standard normal prior. No allocation per call.
public sealed partial class CpuKernels<T>
{
    public void ActNormForward(Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T> y, bool inverse)
    {
        var (n, c, s) = KernelContract.ActNormForward(x, scale, bias, y);
        var xs = x.AsSpan(); var ys = y.AsSpan(); var sc = scale.AsSpan(); var bs = bias.AsSpan();
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                T a = inverse ? T.One / sc[ch] : sc[ch], b = inverse ? -bs[ch] / sc[ch] : bs[ch];
                AffineInto(xs.Slice((i * c + ch) * s, s), ys.Slice((i * c + ch) * s, s), a, b);
            }
    }

    /// <summary>y = a·x + b, Vector256.</summary>
    private static void AffineInto(ReadOnlySpan<T> x, Span<T> y, T a, T b)
    {
        int len = x.Length, w = Vector256<T>.Count, i = 0;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        var va = Vector256.Create(a); var vb = Vector256.Create(b);
        for (; i <= len - w; i += w) (Vector256.LoadUnsafe(ref xr, (nuint)i) * va + vb).StoreUnsafe(ref yr, (nuint)i);
        for (; i < len; i++) Unsafe.Add(ref yr, i) = Unsafe.Add(ref xr, i) * a + b;
    }

    /// <summary>(Σ dy, Σ dy·x) over a plane, Vector256.</summary>
    private static (T Sum, T Dot) SumDot(ReadOnlySpan<T> dy, ReadOnlySpan<T> x)
    {
        int len = dy.Length, w = Vector256<T>.Count, i = 0;
        ref T dr = ref MemoryMarshal.GetReference(dy);
        ref T xr = ref MemoryMarshal.GetReference(x);
        var a = Vector256<T>.Zero; var d = Vector256<T>.Zero;
        for (; i <= len - w; i += w)
        {
            var v = Vector256.LoadUnsafe(ref dr, (nuint)i);
            a += v; d += v * Vector256.LoadUnsafe(ref xr, (nuint)i);
        }
        T sum = Vector256.Sum(a), dot = Vector256.Sum(d);
        for (; i < len; i++) { sum += Unsafe.Add(ref dr, i); dot += Unsafe.Add(ref dr, i) * Unsafe.Add(ref xr, i); }
        return (sum, dot);
    }

    public void ActNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T>? dx, Tensor<T> dscale, Tensor<T> dbias, bool inverse)
    {
        var (n, c, s) = KernelContract.ActNormBackward(dy, x, scale, bias, dx, dscale, dbias);
        var ds = dy.AsSpan(); var xs = x.AsSpan(); var sc = scale.AsSpan(); var bs = bias.AsSpan();
        var gs = dscale.AsSpan(); var gb = dbias.AsSpan();
        gs.Clear(); gb.Clear();
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                int o = (i * c + ch) * s;
                var (sum, dot) = SumDot(ds.Slice(o, s), xs.Slice(o, s));
                if (!inverse) { gs[ch] += dot; gb[ch] += sum; }
                else
                {   // y = (x − b)/s: ds = −Σ dy·(x − b)/s², db = −Σ dy/s
                    T inv = T.One / sc[ch];
                    gs[ch] -= (dot - bs[ch] * sum) * inv * inv;
                    gb[ch] -= sum * inv;
                }
                if (dx != null) ScaleInto(ds.Slice(o, s), dx.AsSpan().Slice(o, s), inverse ? T.One / sc[ch] : sc[ch]);
            }
    }

    public void FlowLogDetForward(Tensor<T> p, Tensor<T> logdet, int positions, bool logAbs)
    {
        KernelContract.FlowLogDetForward(p, logdet);
        T sum = T.Zero;
        foreach (var v in p.AsSpan()) sum += logAbs ? T.Log(T.Abs(v)) : v;
        logdet.AsSpan().Fill(T.CreateChecked(positions) * sum);
    }

    public void FlowLogDetBackward(Tensor<T> dy, Tensor<T> p, Tensor<T> dp, int positions, bool logAbs)
    {
        KernelContract.FlowLogDetBackward(dy, p, dp);
        T g = T.Zero;
        foreach (var v in dy.AsSpan()) g += v;
        g *= T.CreateChecked(positions);
        var ps = p.AsSpan(); var d = dp.AsSpan();
        for (int i = 0; i < ps.Length; i++) d[i] = logAbs ? g / ps[i] : g;
    }

    public void InvConvWeightForward(Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, ReadOnlySpan<int> perm, bool inverse)
    {
        int c = KernelContract.InvConvWeightForward(lower, upper, logs, w, perm);
        var L = lower.AsSpan(); var U = upper.AsSpan(); var ls = logs.AsSpan(); var W = w.AsSpan();
        if (!inverse)
        {
            // W[i, j] = Σ_k L[π(i), k]·M[k, j], L unit lower, M = U (strict upper) + diag(exp log_s): k ≤ min(π(i), j)
            for (int i = 0; i < c; i++)
            {
                int r = perm[i];
                for (int j = 0; j < c; j++)
                {
                    T sum = T.Zero;
                    int kmax = Math.Min(r, j);
                    for (int k = 0; k <= kmax; k++)
                    {
                        T l = k == r ? T.One : L[r * c + k];
                        T m = k == j ? T.Exp(ls[k]) : U[k * c + j];
                        sum += l * m;
                    }
                    W[i * c + j] = sum;
                }
            }
            return;
        }
        // W⁻¹ = M⁻¹·L⁻¹·Pᵀ: start from Pᵀ (Pᵀ[π(i), i] = 1), forward substitution with L, back substitution with M, in place
        W.Clear();
        for (int i = 0; i < c; i++) W[perm[i] * c + i] = T.One;
        for (int j = 0; j < c; j++)
        {
            for (int r = 1; r < c; r++)
            {
                T v = W[r * c + j];
                for (int k = 0; k < r; k++) v -= L[r * c + k] * W[k * c + j];
                W[r * c + j] = v;
            }
            for (int r = c - 1; r >= 0; r--)
            {
                T v = W[r * c + j];
                for (int k = r + 1; k < c; k++) v -= U[r * c + k] * W[k * c + j];
                W[r * c + j] = v / T.Exp(ls[r]);
            }
        }
    }

    public void InvConvWeightBackward(Tensor<T> dw, Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, Tensor<T> work,
        Tensor<T> dlower, Tensor<T> dupper, Tensor<T> dlogs, ReadOnlySpan<int> perm, bool inverse)
    {
        int c = KernelContract.InvConvWeightBackward(dw, lower, upper, logs, w, work, dlower, dupper, dlogs, perm);
        var L = lower.AsSpan(); var U = upper.AsSpan(); var ls = logs.AsSpan(); var B = w.AsSpan(); var dW = dw.AsSpan();
        var G = work.AsSpan(); var dL = dlower.AsSpan(); var dU = dupper.AsSpan(); var dls = dlogs.AsSpan();
        if (!inverse)
        {
            for (int i = 0; i < c; i++) dW.Slice(i * c, c).CopyTo(G.Slice(perm[i] * c, c));
        }
        else
        {
            // dW = −Bᵀ·dB·Bᵀ: T1 = dB·Bᵀ (in dupper for now), then G[π(i), j] = −Σ_a B[a, i]·T1[a, j]
            for (int a = 0; a < c; a++)
                for (int j = 0; j < c; j++)
                {
                    T sum = T.Zero;
                    for (int b = 0; b < c; b++) sum += dW[a * c + b] * B[j * c + b];
                    dU[a * c + j] = sum;
                }
            for (int i = 0; i < c; i++)
                for (int j = 0; j < c; j++)
                {
                    T sum = T.Zero;
                    for (int a = 0; a < c; a++) sum += B[a * c + i] * dU[a * c + j];
                    G[perm[i] * c + j] = -sum;
                }
        }
        // dL[r, k] = Σ_j G[r, j]·M[k, j] (k < r), M[k, j] nonzero for j ≥ k
        for (int r = 0; r < c; r++)
            for (int k = 0; k < c; k++)
            {
                if (k >= r) { dL[r * c + k] = T.Zero; continue; }
                T sum = G[r * c + k] * T.Exp(ls[k]);
                for (int j = k + 1; j < c; j++) sum += G[r * c + j] * U[k * c + j];
                dL[r * c + k] = sum;
            }
        // dM[k, j] = G[k, j] + Σ_{r > k} L[r, k]·G[r, j]
        for (int k = 0; k < c; k++)
            for (int j = 0; j < c; j++)
            {
                if (j < k) { dU[k * c + j] = T.Zero; continue; }
                T sum = G[k * c + j];
                for (int r = k + 1; r < c; r++) sum += L[r * c + k] * G[r * c + j];
                if (j == k) { dls[k] = sum * T.Exp(ls[k]); dU[k * c + j] = T.Zero; }
                else dU[k * c + j] = sum;
            }
    }

    private static T Sigmoid2(T z) => T.One / (T.One + T.Exp(-(z + T.CreateChecked(2))));

    public void CouplingForward(Tensor<T> x, Tensor<T> h, Tensor<T> y, bool inverse)
    {
        var (n, c, s) = KernelContract.CouplingForward(x, h, y);
        int half = c / 2, plane = half * s;
        var xs = x.AsSpan(); var hs = h.AsSpan(); var ys = y.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int o = i * c * s;
            xs.Slice(o, plane).CopyTo(ys.Slice(o, plane));
            var xb = xs.Slice(o + plane, plane); var yb = ys.Slice(o + plane, plane);
            var ls = hs.Slice(o, plane); var t = hs.Slice(o + plane, plane);
            for (int k = 0; k < plane; k++)
            {
                T sg = Sigmoid2(ls[k]);
                yb[k] = inverse ? xb[k] / sg - t[k] : (xb[k] + t[k]) * sg;
            }
        }
    }

    public void CouplingBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> h, Tensor<T>? dx, Tensor<T> dh, bool inverse)
    {
        var (n, c, s) = KernelContract.CouplingBackward(dy, x, h, dx, dh);
        int half = c / 2, plane = half * s;
        var ds = dy.AsSpan(); var xs = x.AsSpan(); var hs = h.AsSpan(); var gh = dh.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int o = i * c * s;
            if (dx != null) ds.Slice(o, plane).CopyTo(dx.AsSpan().Slice(o, plane));
            for (int k = 0; k < plane; k++)
            {
                T g = ds[o + plane + k], xb = xs[o + plane + k], t = hs[o + plane + k];
                T sg = Sigmoid2(hs[o + k]);
                if (!inverse)
                {
                    gh[o + k] = g * (xb + t) * sg * (T.One - sg);
                    gh[o + plane + k] = g * sg;
                    if (dx != null) dx.AsSpan()[o + plane + k] = g * sg;
                }
                else
                {
                    gh[o + k] = -g * xb * (T.One - sg) / sg;
                    gh[o + plane + k] = -g;
                    if (dx != null) dx.AsSpan()[o + plane + k] = g / sg;
                }
            }
        }
    }

    /// <summary>log sigmoid(z) = −(max(−z, 0) + log(1 + e^(−|z|))), stable for any z.</summary>
    private static T LogSigmoid(T z) => -(T.Max(-z, T.Zero) + T.Log(T.One + T.Exp(-T.Abs(z))));

    public void CouplingLogDetForward(Tensor<T> h, Tensor<T> logdet)
    {
        var (n, c, s) = KernelContract.CouplingLogDetForward(h, logdet);
        int plane = c / 2 * s;
        var hs = h.AsSpan(); var ld = logdet.AsSpan();
        T two = T.CreateChecked(2);
        for (int i = 0; i < n; i++)
        {
            T sum = T.Zero;
            var ls = hs.Slice(i * c * s, plane);
            for (int k = 0; k < plane; k++) sum += LogSigmoid(ls[k] + two);
            ld[i] = sum;
        }
    }

    public void CouplingLogDetBackward(Tensor<T> dy, Tensor<T> h, Tensor<T> dh)
    {
        var (n, c, s) = KernelContract.CouplingLogDetBackward(dy, h, dh);
        int plane = c / 2 * s;
        var hs = h.AsSpan(); var gh = dh.AsSpan(); var d = dy.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int o = i * c * s;
            for (int k = 0; k < plane; k++) gh[o + k] = d[i] * (T.One - Sigmoid2(hs[o + k]));
            gh.Slice(o + plane, c * s - plane).Clear();
        }
    }

    public void GaussianLogProbForward(Tensor<T> z, Tensor<T> logp)
    {
        var (n, d) = KernelContract.GaussianLogProbForward(z, logp);
        var zs = z.AsSpan(); var lp = logp.AsSpan();
        T c0 = T.CreateChecked(-0.5 * d * Math.Log(2 * Math.PI)), half = T.CreateChecked(0.5);
        for (int i = 0; i < n; i++)
        {
            var (_, sq) = SumDot(zs.Slice(i * d, d), zs.Slice(i * d, d));
            lp[i] = c0 - half * sq;
        }
    }

    public void GaussianLogProbBackward(Tensor<T> dy, Tensor<T> z, Tensor<T> dz)
    {
        var (n, d) = KernelContract.GaussianLogProbBackward(dy, z, dz);
        var zs = z.AsSpan(); var g = dz.AsSpan(); var dys = dy.AsSpan();
        for (int i = 0; i < n; i++) ScaleInto(zs.Slice(i * d, d), g.Slice(i * d, d), -dys[i]);
    }
}
