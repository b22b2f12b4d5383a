using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Attention on the CPU: per (sample, head) matrix, S = Q·Kᵀ and Y = P·V (and the four backward products) are packed GEMMs
// (strides express every transpose); the masked, scaled row softmax is vectorized. Batches run in parallel on the kernel
// workers; nothing is allocated per call (the scores live in the probs output, the backward's in its ds scratch).
public sealed partial class CpuKernels<T>
{
    public void AttentionForward(Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<int>? lengths, Tensor<T> y, Tensor<T> probs,
        Tensor<T>? dropped, T scale, bool causal, T p, ulong seed)
    {
        double pd = double.CreateChecked(p);
        var (nb, tq, tk, d, dv, per) = KernelContract.AttentionForward(q, k, v, lengths, y, probs, dropped, pd);
        if (y.Length == 0) return;
        bool drop = dropped is not null && pd > 0;
        ulong threshold = (ulong)(pd * 9007199254740992.0), key = SplitMix64(seed ^ 0x6A09E667F3BCC909UL);
        long work = 2L * nb * tq * tk * (d + dv);
        DynamicChunks(nb, Workers(work, nb), (q, k, v, lengths, y, probs, dropped, scale, causal, drop, threshold, key, tq, tk, d, dv, per, keep: T.One / (T.One - p)), static (s, lo, hi) =>
        {
            var lens = s.lengths is null ? default : s.lengths.AsSpan();
            for (int b = lo; b < hi; b++)
            {
                var qb = s.q.AsSpan().Slice(b * s.tq * s.d, s.tq * s.d);
                var kb = s.k.AsSpan().Slice(b * s.tk * s.d, s.tk * s.d);
                var vb = s.v.AsSpan().Slice(b * s.tk * s.dv, s.tk * s.dv);
                var pb = s.probs.AsSpan().Slice(b * s.tq * s.tk, s.tq * s.tk);
                // S = Q·Kᵀ: B(kk, j) = K[j, kk]
                Gemm(s.tq, s.tk, s.d, qb, s.d, 1, kb, 1, s.d, pb, s.tk, false, BiasKind.None, default, default(Identity<T>));
                int len = s.lengths is null ? s.tk : lens[b / s.per];
                for (int i = 0; i < s.tq; i++)
                    SoftmaxRow(pb.Slice(i * s.tk, s.tk), AttentionLayout.Limit(i, s.tk, s.causal, len), s.scale);
                var src = pb;
                if (s.drop)
                {
                    var db = s.dropped!.AsSpan().Slice(b * s.tq * s.tk, s.tq * s.tk);
                    ulong baseIndex = (ulong)b * (ulong)(s.tq * s.tk);
                    for (int e = 0; e < db.Length; e++)
                        db[e] = (SplitMix64(s.key + (baseIndex + (ulong)e) * 0x9E3779B97F4A7C15UL) >> 11) < s.threshold ? T.Zero : pb[e] * s.keep;
                    src = db;
                }
                Gemm(s.tq, s.dv, s.tk, src, s.tk, 1, vb, s.dv, 1, s.y.AsSpan().Slice(b * s.tq * s.dv, s.tq * s.dv), s.dv,
                    false, BiasKind.None, default, default(Identity<T>));
            }
        });
    }

    public void AttentionBackward(Tensor<T> dy, Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<T> probs, Tensor<T>? dropped,
        Tensor<T> dq, Tensor<T> dk, Tensor<T> dv, Tensor<T> ds, T scale, T p)
    {
        var (nb, tq, tk, d, dvn, _) = KernelContract.AttentionBackward(dy, q, k, v, probs, dropped, dq, dk, dv, ds);
        if (q.Length + k.Length + v.Length == 0) return;
        bool drop = dropped is not null && p > T.Zero;
        long work = 4L * nb * tq * tk * (d + dvn);
        DynamicChunks(nb, Workers(work, nb), (dy, q, k, v, probs, dropped, dq, dk, dv, ds, scale, drop, keep: T.One / (T.One - p), tq, tk, d, dvn), static (s, lo, hi) =>
        {
            for (int b = lo; b < hi; b++)
            {
                int pq = s.tq * s.tk;
                var qb = s.q.AsSpan().Slice(b * s.tq * s.d, s.tq * s.d);
                var kb = s.k.AsSpan().Slice(b * s.tk * s.d, s.tk * s.d);
                var vb = s.v.AsSpan().Slice(b * s.tk * s.dvn, s.tk * s.dvn);
                var dyb = s.dy.AsSpan().Slice(b * s.tq * s.dvn, s.tq * s.dvn);
                var pb = s.probs.AsSpan().Slice(b * pq, pq);
                var pdb = s.drop ? s.dropped!.AsSpan().Slice(b * pq, pq) : pb;
                var sb = s.ds.AsSpan().Slice(b * pq, pq);
                // dV = P̃ᵀ·dY: A(i, j) = P̃[j, i]
                Gemm(s.tk, s.dvn, s.tq, pdb, 1, s.tk, dyb, s.dvn, 1, s.dv.AsSpan().Slice(b * s.tk * s.dvn, s.tk * s.dvn), s.dvn,
                    false, BiasKind.None, default, default(Identity<T>));
                // dP = dY·Vᵀ: B(c, j) = V[j, c]
                Gemm(s.tq, s.tk, s.dvn, dyb, s.dvn, 1, vb, 1, s.dvn, sb, s.tk, false, BiasKind.None, default, default(Identity<T>));
                for (int i = 0; i < s.tq; i++)
                {
                    var row = sb.Slice(i * s.tk, s.tk);
                    if (s.drop)
                    {
                        var dr = pdb.Slice(i * s.tk, s.tk);
                        for (int j = 0; j < row.Length; j++) row[j] = dr[j] != T.Zero ? row[j] * s.keep : T.Zero;
                    }
                    SoftmaxBackwardRow(row, pb.Slice(i * s.tk, s.tk), s.scale);
                }
                // dQ = dS·K, dK = dSᵀ·Q
                Gemm(s.tq, s.d, s.tk, sb, s.tk, 1, kb, s.d, 1, s.dq.AsSpan().Slice(b * s.tq * s.d, s.tq * s.d), s.d,
                    false, BiasKind.None, default, default(Identity<T>));
                Gemm(s.tk, s.d, s.tq, sb, 1, s.tk, qb, s.d, 1, s.dk.AsSpan().Slice(b * s.tk * s.d, s.tk * s.d), s.d,
                    false, BiasKind.None, default, default(Identity<T>));
            }
        });
    }

    /// <summary>row[0..limit) = softmax(scale·row[0..limit)), row[limit..) = 0 (the whole row 0 when limit is 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxRow(Span<T> row, int limit, T scale)
    {
        row.Slice(limit).Clear();
        if (limit <= 0) return;
        if (typeof(T) == typeof(float) && Use512 && limit >= 2 * Vector512<float>.Count)
        {
            SoftmaxRow512(ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(row)), limit, float.CreateTruncating(scale));
            return;
        }
        var r = row.Slice(0, limit);
        T max = T.NegativeInfinity;
        int j = 0;
        ref T r0 = ref MemoryMarshal.GetReference(r);
        if (Vector256.IsHardwareAccelerated && limit >= Vector256<T>.Count)
        {
            var vm = Vector256.Create(T.NegativeInfinity);
            for (; j <= limit - Vector256<T>.Count; j += Vector256<T>.Count) vm = Vector256.Max(vm, Vector256.LoadUnsafe(ref r0, (nuint)j));
            for (int e = 0; e < Vector256<T>.Count; e++) if (vm[e] > max) max = vm[e];
        }
        for (; j < limit; j++) if (r[j] > max) max = r[j];
        // exp(scale·s − scale·max); scale > 0 keeps the max the max
        T m = scale * max, sum = T.Zero;
        j = 0;
        if (typeof(T) == typeof(float) && Use512 && limit >= Vector512<float>.Count)
        {
            // float with AVX-512: the inlined polynomial exp (VMath.ExpF, which every float exp of the kernels uses)
            ref float f0 = ref Unsafe.As<T, float>(ref r0);
            var vs = Vector512.Create(float.CreateTruncating(scale)); var vmx = Vector512.Create(float.CreateTruncating(m)); var acc = Vector512<float>.Zero;
            for (; j <= limit - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                var e = VMath.ExpF(vs * Vector512.LoadUnsafe(ref f0, (nuint)j) - vmx);
                e.StoreUnsafe(ref f0, (nuint)j);
                acc += e;
            }
            sum = T.CreateTruncating(Vector512.Sum(acc));
        }
        else if (Vector256.IsHardwareAccelerated && limit >= Vector256<T>.Count)
        {
            var vs = Vector256.Create(scale); var vmx = Vector256.Create(m); var acc = Vector256<T>.Zero;
            for (; j <= limit - Vector256<T>.Count; j += Vector256<T>.Count)
            {
                var e = VMath.Exp(vs * Vector256.LoadUnsafe(ref r0, (nuint)j) - vmx);
                e.StoreUnsafe(ref r0, (nuint)j);
                acc += e;
            }
            sum = Vector256.Sum(acc);
        }
        for (; j < limit; j++) { T e = T.Exp(scale * r[j] - m); r[j] = e; sum += e; }
        ScaleInPlace(r, T.One / sum);
    }

    /// <summary>
    /// The float AVX-512 row softmax (limit ≥ 32): max and sum each over two independent accumulators (one chain of 16
    /// dependent max or add ops per 128-wide row cost more than the row's exps), the normalization multiplied in a third pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxRow512(ref float r0, int limit, float scale)
    {
        const int W = 16;
        int j = 0;
        var m0 = Vector512.Create(float.NegativeInfinity); var m1 = m0;
        for (; j <= limit - 2 * W; j += 2 * W)
        {
            m0 = Vector512.Max(m0, Vector512.LoadUnsafe(ref r0, (nuint)j));
            m1 = Vector512.Max(m1, Vector512.LoadUnsafe(ref r0, (nuint)(j + W)));
        }
        if (j <= limit - W) { m0 = Vector512.Max(m0, Vector512.LoadUnsafe(ref r0, (nuint)j)); j += W; }
        var m8 = Vector256.Max(Vector512.Max(m0, m1).GetLower(), Vector512.Max(m0, m1).GetUpper());
        var m4 = Vector128.Max(m8.GetLower(), m8.GetUpper());
        float max = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
        for (; j < limit; j++) max = MathF.Max(max, Unsafe.Add(ref r0, j));
        // exp(scale·s − scale·max); scale > 0 keeps the max the max
        float m = scale * max;
        var vs = Vector512.Create(scale); var vmx = Vector512.Create(m);
        var s0 = Vector512<float>.Zero; var s1 = s0;
        j = 0;
        for (; j <= limit - 2 * W; j += 2 * W)
        {
            var e0 = VMath.ExpF(vs * Vector512.LoadUnsafe(ref r0, (nuint)j) - vmx);
            var e1 = VMath.ExpF(vs * Vector512.LoadUnsafe(ref r0, (nuint)(j + W)) - vmx);
            e0.StoreUnsafe(ref r0, (nuint)j); e1.StoreUnsafe(ref r0, (nuint)(j + W));
            s0 += e0; s1 += e1;
        }
        if (j <= limit - W)
        {
            var e0 = VMath.ExpF(vs * Vector512.LoadUnsafe(ref r0, (nuint)j) - vmx);
            e0.StoreUnsafe(ref r0, (nuint)j);
            s0 += e0; j += W;
        }
        float sum = Vector512.Sum(s0 + s1);
        for (; j < limit; j++) { float e = MathF.Exp(scale * Unsafe.Add(ref r0, j) - m); Unsafe.Add(ref r0, j) = e; sum += e; }
        float inv = 1f / sum;
        var vi = Vector512.Create(inv);
        j = 0;
        for (; j <= limit - W; j += W) (Vector512.LoadUnsafe(ref r0, (nuint)j) * vi).StoreUnsafe(ref r0, (nuint)j);
        for (; j < limit; j++) Unsafe.Add(ref r0, j) *= inv;
    }

    /// <summary>dp := scale·p∘(dp − Σ dp∘p) over one row (masked entries have p = 0 and get 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxBackwardRow(Span<T> dp, ReadOnlySpan<T> p, T scale)
    {
        int n = dp.Length, j = 0;
        T dot = T.Zero;
        ref T d0 = ref MemoryMarshal.GetReference(dp);
        ref T p0 = ref MemoryMarshal.GetReference(p);
        if (typeof(T) == typeof(float) && Use512 && n >= 32)
        {
            // float AVX-512: the dot product over two accumulators (see SoftmaxRow512)
            ref float fd = ref Unsafe.As<T, float>(ref d0); ref float fp = ref Unsafe.As<T, float>(ref p0);
            var a0 = Vector512<float>.Zero; var a1 = a0;
            for (; j <= n - 32; j += 32)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref fd, (nuint)j), Vector512.LoadUnsafe(ref fp, (nuint)j), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref fd, (nuint)(j + 16)), Vector512.LoadUnsafe(ref fp, (nuint)(j + 16)), a1);
            }
            if (j <= n - 16) { a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref fd, (nuint)j), Vector512.LoadUnsafe(ref fp, (nuint)j), a0); j += 16; }
            float fdot = Vector512.Sum(a0 + a1);
            for (; j < n; j++) fdot += Unsafe.Add(ref fd, j) * Unsafe.Add(ref fp, j);
            float fs = float.CreateTruncating(scale);
            var vd = Vector512.Create(fdot); var vsc = Vector512.Create(fs);
            j = 0;
            for (; j <= n - 16; j += 16)
                (vsc * Vector512.LoadUnsafe(ref fp, (nuint)j) * (Vector512.LoadUnsafe(ref fd, (nuint)j) - vd)).StoreUnsafe(ref fd, (nuint)j);
            for (; j < n; j++) Unsafe.Add(ref fd, j) = fs * Unsafe.Add(ref fp, j) * (Unsafe.Add(ref fd, j) - fdot);
            return;
        }
        if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            for (; j <= n - Vector256<T>.Count; j += Vector256<T>.Count) acc += Vector256.LoadUnsafe(ref d0, (nuint)j) * Vector256.LoadUnsafe(ref p0, (nuint)j);
            dot = Vector256.Sum(acc);
        }
        for (; j < n; j++) dot += dp[j] * p[j];
        j = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            var vd = Vector256.Create(dot); var vs = Vector256.Create(scale);
            for (; j <= n - Vector256<T>.Count; j += Vector256<T>.Count)
                (vs * Vector256.LoadUnsafe(ref p0, (nuint)j) * (Vector256.LoadUnsafe(ref d0, (nuint)j) - vd)).StoreUnsafe(ref d0, (nuint)j);
        }
        for (; j < n; j++) dp[j] = scale * p[j] * (dp[j] - dot);
    }

    public void AddPositionalEncoding(Tensor<T> x, Tensor<T> y, double @base)
    {
        KernelContract.AddPositionalEncoding(x, y);
        int n = x.Shape[0], t = x.Shape[1], d = x.Shape[2];
        if (y.Length == 0) return;
        // one PE row per position (D sin/cos), added to that position of every sample
        Chunks(t, Workers((long)n * t * d * 2, t), (x, y, n, t, d, @base), static (s, lo, hi) =>
        {
            var xs = s.x.AsSpan(); var ys = s.y.AsSpan();
            for (int pos = lo; pos < hi; pos++)
                for (int c = 0; c < s.d; c++)
                {
                    T pe = PositionalValue(pos, c, s.d, s.@base);
                    for (int i = 0; i < s.n; i++)
                    {
                        int o = (i * s.t + pos) * s.d + c;
                        ys[o] = xs[o] + pe;
                    }
                }
        });
    }

    /// <summary>PE[pos, c]: sin(pos·ω) for even c, cos(pos·ω) for odd c, ω = base^(−2⌊c/2⌋/D) (computed in double).</summary>
    internal static T PositionalValue(int pos, int c, int d, double @base)
    {
        double w = Math.Exp(-(c - c % 2) * Math.Log(@base) / d);
        return T.CreateChecked(c % 2 == 0 ? Math.Sin(pos * w) : Math.Cos(pos * w));
    }

    public void ClassTokenForward(Tensor<T> x, Tensor<T> token, Tensor<T> y)
    {
        AttentionLayout.CheckClassToken(x.Shape, token.Shape, y.Shape, "y");
        int n = x.Shape[0], t = x.Shape[1], d = x.Shape[2];
        var xs = x.AsSpan(); var ys = y.AsSpan(); var ts = token.AsSpan();
        for (int i = 0; i < n; i++)
        {
            ts.CopyTo(ys.Slice(i * (t + 1) * d, d));
            xs.Slice(i * t * d, t * d).CopyTo(ys.Slice((i * (t + 1) + 1) * d, t * d));
        }
    }

    public void ClassTokenBackward(Tensor<T> dy, Tensor<T> dx, Tensor<T> dtoken)
    {
        AttentionLayout.CheckClassToken(dx.Shape, dtoken.Shape, dy.Shape, "dy");
        int n = dx.Shape[0], t = dx.Shape[1], d = dx.Shape[2];
        var dxs = dx.AsSpan(); var dys = dy.AsSpan(); var dts = dtoken.AsSpan();
        dts.Clear();
        for (int i = 0; i < n; i++)
        {
            AddInto(dys.Slice(i * (t + 1) * d, d), dts);
            dys.Slice((i * (t + 1) + 1) * d, t * d).CopyTo(dxs.Slice(i * t * d, t * d));
        }
    }
}
