using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

/// <summary>Where a GEMM adds its bias: one value per output row (convolution channels) or per column (linear outputs).</summary>
internal enum BiasKind { None, Row, Col }

// Packed, register-blocked GEMM (BLIS loop order): C[M,N] (+)= op(A)[M,K]·op(B)[K,N], with A(i,k) = A[i*rsA + k*csA]
// and B(k,j) = B[k*rsB + j*csB], so every transpose is a choice of strides. Blocks of A are packed into MR-row panels
// and blocks of B into NR-column panels (zero padded), and a 6×(2 vectors) micro-kernel with 12 accumulators runs over
// them: Vector512 when accelerated, Vector256 otherwise. Bias and the fused epilogue are applied in the final write of
// each tile, so fusion costs no extra pass. Single-threaded: callers parallelize over images or row blocks.
public sealed partial class CpuKernels<T>
{
    internal const int MR = 6;
    private const int KC = 256;
    private const int MC = 96;   // multiple of MR
    private const int NC = 512;

    internal static readonly bool Use512 = Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;
    internal static readonly int NR = Use512 ? 2 * Vector512<T>.Count : 2 * Vector256<T>.Count;

    [ThreadStatic] private static T[]? t_packA;
    [ThreadStatic] private static T[]? t_packB;

    private static T[] Scratch(ref T[]? cache, int n)
    {
        if (cache is null || cache.Length < n) cache = new T[Math.Max(n, 64)];
        return cache;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    internal static void Gemm<TEpi>(int M, int N, int K,
        ReadOnlySpan<T> A, int rsA, int csA,
        ReadOnlySpan<T> B, int rsB, int csB,
        Span<T> C, int ldc, bool accumulate, BiasKind biasKind, ReadOnlySpan<T> bias, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        if (M <= 0 || N <= 0) return;
        if (K <= 0)
        {
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    ref T c = ref C[i * ldc + j];
                    T v = accumulate ? c : T.Zero;
                    if (biasKind == BiasKind.Row) v += bias[i];
                    else if (biasKind == BiasKind.Col) v += bias[j];
                    c = epi.Apply(v);
                }
            return;
        }
        int nr = NR;
        var packA = Scratch(ref t_packA, MC * KC);
        var packB = Scratch(ref t_packB, KC * (NC + nr));
        ref T a0 = ref MemoryMarshal.GetReference(A);
        ref T b0 = ref MemoryMarshal.GetReference(B);
        ref T c0 = ref MemoryMarshal.GetReference(C);
        ref T bias0 = ref MemoryMarshal.GetReference(bias);
        ref T pa = ref MemoryMarshal.GetArrayDataReference(packA);
        ref T pb = ref MemoryMarshal.GetArrayDataReference(packB);

        for (int jc = 0; jc < N; jc += NC)
        {
            int nc = Math.Min(NC, N - jc);
            for (int pc = 0; pc < K; pc += KC)
            {
                int kc = Math.Min(KC, K - pc);
                bool load = accumulate || pc > 0;
                bool last = pc + kc == K;
                PackB(ref b0, rsB, csB, pc, kc, jc, nc, packB);
                for (int ic = 0; ic < M; ic += MC)
                {
                    int mc = Math.Min(MC, M - ic);
                    PackA(ref a0, rsA, csA, ic, mc, pc, kc, packA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nrr = Math.Min(nr, nc - jr);
                        ref T bp = ref Unsafe.Add(ref pb, jr * kc);
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mrr = Math.Min(MR, mc - ir);
                            int row = ic + ir, col = jc + jr;
                            ref T ct = ref Unsafe.Add(ref c0, row * ldc + col);
                            int boff = biasKind == BiasKind.Row ? row : biasKind == BiasKind.Col ? col : 0;
                            ref T bt = ref Unsafe.Add(ref bias0, boff);
                            if (Use512) Kernel512(ref Unsafe.Add(ref pa, ir * kc), ref bp, kc, ref ct, ldc, mrr, nrr, load, last, biasKind, ref bt, epi);
                            else Kernel256(ref Unsafe.Add(ref pa, ir * kc), ref bp, kc, ref ct, ldc, mrr, nrr, load, last, biasKind, ref bt, epi);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packs A[ic..ic+mc, pc..pc+kc] into MR-row panels laid out [panel][k][MR], zero padding the last panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void PackA(ref T a, int rsA, int csA, int ic, int mc, int pc, int kc, T[] dst)
    {
        ref T d = ref MemoryMarshal.GetArrayDataReference(dst);
        for (int ir = 0; ir < mc; ir += MR)
        {
            int m = Math.Min(MR, mc - ir);
            ref T panel = ref Unsafe.Add(ref d, ir * kc);
            if (csA == 1)
            {
                for (int i = 0; i < m; i++)
                {
                    ref T src = ref Unsafe.Add(ref a, (ic + ir + i) * rsA + pc);
                    for (int k = 0; k < kc; k++) Unsafe.Add(ref panel, k * MR + i) = Unsafe.Add(ref src, k);
                }
            }
            else
            {
                for (int k = 0; k < kc; k++)
                {
                    ref T src = ref Unsafe.Add(ref a, (ic + ir) * rsA + (pc + k) * csA);
                    for (int i = 0; i < m; i++) Unsafe.Add(ref panel, k * MR + i) = Unsafe.Add(ref src, i * rsA);
                }
            }
            if (m < MR)
                for (int k = 0; k < kc; k++)
                    for (int i = m; i < MR; i++) Unsafe.Add(ref panel, k * MR + i) = T.Zero;
        }
    }

    /// <summary>Packs B[pc..pc+kc, jc..jc+nc] into NR-column panels laid out [panel][k][NR], zero padding the last panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void PackB(ref T b, int rsB, int csB, int pc, int kc, int jc, int nc, T[] dst)
    {
        int nr = NR;
        ref T d = ref MemoryMarshal.GetArrayDataReference(dst);
        for (int jr = 0; jr < nc; jr += nr)
        {
            int n = Math.Min(nr, nc - jr);
            ref T panel = ref Unsafe.Add(ref d, jr * kc);
            if (csB == 1)
            {
                for (int k = 0; k < kc; k++)
                {
                    ref T src = ref Unsafe.Add(ref b, (pc + k) * rsB + jc + jr);
                    ref T dp = ref Unsafe.Add(ref panel, k * nr);
                    if (n == nr)
                    {
                        if (Use512)
                        {
                            int w = Vector512<T>.Count;
                            Vector512.LoadUnsafe(ref src).StoreUnsafe(ref dp);
                            Vector512.LoadUnsafe(ref src, (nuint)w).StoreUnsafe(ref dp, (nuint)w);
                        }
                        else
                        {
                            int w = Vector256<T>.Count;
                            Vector256.LoadUnsafe(ref src).StoreUnsafe(ref dp);
                            Vector256.LoadUnsafe(ref src, (nuint)w).StoreUnsafe(ref dp, (nuint)w);
                        }
                    }
                    else
                    {
                        int j = 0;
                        for (; j < n; j++) Unsafe.Add(ref dp, j) = Unsafe.Add(ref src, j);
                        for (; j < nr; j++) Unsafe.Add(ref dp, j) = T.Zero;
                    }
                }
            }
            else
            {
                // B is transposed in memory (contiguous along k): read each column contiguously.
                for (int j = 0; j < n; j++)
                {
                    ref T src = ref Unsafe.Add(ref b, pc * rsB + (jc + jr + j) * csB);
                    for (int k = 0; k < kc; k++) Unsafe.Add(ref panel, k * nr + j) = Unsafe.Add(ref src, k * rsB);
                }
                for (int j = n; j < nr; j++)
                    for (int k = 0; k < kc; k++) Unsafe.Add(ref panel, k * nr + j) = T.Zero;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Kernel512<TEpi>(ref T ap, ref T bp, int kc, ref T c, int ldc, int mr, int nr, bool load, bool last,
        BiasKind bk, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int w = Vector512<T>.Count, NRl = 2 * w;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                     c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            var a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            ap = ref Unsafe.Add(ref ap, MR);
            bp = ref Unsafe.Add(ref bp, NRl);
        }
        if (mr == MR && nr == NRl)
        {
            Store512(ref c, c00, c01, load, last, bk, ref bias, 0, epi);
            Store512(ref Unsafe.Add(ref c, ldc), c10, c11, load, last, bk, ref bias, 1, epi);
            Store512(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, load, last, bk, ref bias, 2, epi);
            Store512(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, load, last, bk, ref bias, 3, epi);
            Store512(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, load, last, bk, ref bias, 4, epi);
            Store512(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, load, last, bk, ref bias, 5, epi);
        }
        else
        {
            Span<T> tile = stackalloc T[MR * 2 * Vector512<T>.Count];
            ref T t = ref MemoryMarshal.GetReference(tile);
            c00.StoreUnsafe(ref t, 0); c01.StoreUnsafe(ref t, (nuint)w);
            c10.StoreUnsafe(ref t, (nuint)(NRl)); c11.StoreUnsafe(ref t, (nuint)(NRl + w));
            c20.StoreUnsafe(ref t, (nuint)(2 * NRl)); c21.StoreUnsafe(ref t, (nuint)(2 * NRl + w));
            c30.StoreUnsafe(ref t, (nuint)(3 * NRl)); c31.StoreUnsafe(ref t, (nuint)(3 * NRl + w));
            c40.StoreUnsafe(ref t, (nuint)(4 * NRl)); c41.StoreUnsafe(ref t, (nuint)(4 * NRl + w));
            c50.StoreUnsafe(ref t, (nuint)(5 * NRl)); c51.StoreUnsafe(ref t, (nuint)(5 * NRl + w));
            StorePartial(tile, NRl, ref c, ldc, mr, nr, load, last, bk, ref bias, epi);
        }
    }

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Kernel256<TEpi>(ref T ap, ref T bp, int kc, ref T c, int ldc, int mr, int nr, bool load, bool last,
        BiasKind bk, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        int w = Vector256<T>.Count, NRl = 2 * w;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                     c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.LoadUnsafe(ref bp);
            var b1 = Vector256.LoadUnsafe(ref bp, (nuint)w);
            var a = Vector256.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector256.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector256.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector256.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector256.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector256.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            ap = ref Unsafe.Add(ref ap, MR);
            bp = ref Unsafe.Add(ref bp, NRl);
        }
        if (mr == MR && nr == NRl)
        {
            Store256(ref c, c00, c01, load, last, bk, ref bias, 0, epi);
            Store256(ref Unsafe.Add(ref c, ldc), c10, c11, load, last, bk, ref bias, 1, epi);
            Store256(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, load, last, bk, ref bias, 2, epi);
            Store256(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, load, last, bk, ref bias, 3, epi);
            Store256(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, load, last, bk, ref bias, 4, epi);
            Store256(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, load, last, bk, ref bias, 5, epi);
        }
        else
        {
            Span<T> tile = stackalloc T[MR * 2 * Vector256<T>.Count];
            ref T t = ref MemoryMarshal.GetReference(tile);
            c00.StoreUnsafe(ref t, 0); c01.StoreUnsafe(ref t, (nuint)w);
            c10.StoreUnsafe(ref t, (nuint)(NRl)); c11.StoreUnsafe(ref t, (nuint)(NRl + w));
            c20.StoreUnsafe(ref t, (nuint)(2 * NRl)); c21.StoreUnsafe(ref t, (nuint)(2 * NRl + w));
            c30.StoreUnsafe(ref t, (nuint)(3 * NRl)); c31.StoreUnsafe(ref t, (nuint)(3 * NRl + w));
            c40.StoreUnsafe(ref t, (nuint)(4 * NRl)); c41.StoreUnsafe(ref t, (nuint)(4 * NRl + w));
            c50.StoreUnsafe(ref t, (nuint)(5 * NRl)); c51.StoreUnsafe(ref t, (nuint)(5 * NRl + w));
            StorePartial(tile, NRl, ref c, ldc, mr, nr, load, last, bk, ref bias, epi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512<TEpi>(ref T c, Vector512<T> v0, Vector512<T> v1, bool load, bool last, BiasKind bk, ref T bias, int row, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        nuint w = (nuint)Vector512<T>.Count;
        if (load) { v0 += Vector512.LoadUnsafe(ref c); v1 += Vector512.LoadUnsafe(ref c, w); }
        if (last)
        {
            if (bk == BiasKind.Row) { var bv = Vector512.Create(Unsafe.Add(ref bias, row)); v0 += bv; v1 += bv; }
            else if (bk == BiasKind.Col) { v0 += Vector512.LoadUnsafe(ref bias); v1 += Vector512.LoadUnsafe(ref bias, w); }
            if (typeof(TEpi) != typeof(Identity<T>))
            {
                v0 = epi.Apply(v0);
                v1 = epi.Apply(v1);
            }
        }
        v0.StoreUnsafe(ref c); v1.StoreUnsafe(ref c, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256<TEpi>(ref T c, Vector256<T> v0, Vector256<T> v1, bool load, bool last, BiasKind bk, ref T bias, int row, TEpi epi)
        where TEpi : struct, IMap1<T>
    {
        nuint w = (nuint)Vector256<T>.Count;
        if (load) { v0 += Vector256.LoadUnsafe(ref c); v1 += Vector256.LoadUnsafe(ref c, w); }
        if (last)
        {
            if (bk == BiasKind.Row) { var bv = Vector256.Create(Unsafe.Add(ref bias, row)); v0 += bv; v1 += bv; }
            else if (bk == BiasKind.Col) { v0 += Vector256.LoadUnsafe(ref bias); v1 += Vector256.LoadUnsafe(ref bias, w); }
            if (typeof(TEpi) != typeof(Identity<T>)) { v0 = epi.Apply(v0); v1 = epi.Apply(v1); }
        }
        v0.StoreUnsafe(ref c); v1.StoreUnsafe(ref c, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void StorePartial<TEpi>(ReadOnlySpan<T> tile, int ldt, ref T c, int ldc, int mr, int nr, bool load, bool last,
        BiasKind bk, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        for (int i = 0; i < mr; i++)
        {
            ref T crow = ref Unsafe.Add(ref c, i * ldc);
            for (int j = 0; j < nr; j++)
            {
                T v = tile[i * ldt + j];
                if (load) v += Unsafe.Add(ref crow, j);
                if (last)
                {
                    if (bk == BiasKind.Row) v += Unsafe.Add(ref bias, i);
                    else if (bk == BiasKind.Col) v += Unsafe.Add(ref bias, j);
                    v = epi.Apply(v);
                }
                Unsafe.Add(ref crow, j) = v;
            }
        }
    }
}
