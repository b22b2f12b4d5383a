using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// C[i,j] (+)= Σ_k A[i,k]·B[j,k] with both operands contiguous along k ("A·Bᵀ", dot-product form). Used for weight
// gradients of convolutions, where the contraction runs over output pixels that are contiguous in both dy and the
// column matrix: no packing at all, a 4×3 block of rows keeps 12 vector accumulators, reduced horizontally at the end.
public sealed partial class CpuKernels<T>
{
    private const int NtM = 4, NtN = 3;

    internal static void GemmNT(int M, int N, int K, ReadOnlySpan<T> A, int lda, ReadOnlySpan<T> B, int ldb, Span<T> C, int ldc, bool accumulate)
        => GemmNT(M, N, K, 1, A, lda, 0, B, ldb, 0, C, ldc, accumulate);

    /// <summary>
    /// Batched form: C (+)= Σ_b A_b·B_bᵀ where A_b starts at b·batchA and B_b at b·batchB. Accumulating the batch inside the
    /// register block amortizes the horizontal sums over all of it (weight gradients summed over a group of images).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    internal static void GemmNT(int M, int N, int K, int batch, ReadOnlySpan<T> A, int lda, int batchA, ReadOnlySpan<T> B, int ldb, int batchB,
        Span<T> C, int ldc, bool accumulate)
    {
        if (M <= 0 || N <= 0) return;
        ref T a0 = ref MemoryMarshal.GetReference(A);
        ref T b0 = ref MemoryMarshal.GetReference(B);
        Span<T> r = stackalloc T[NtM * NtN];
        for (int i = 0; i < M; i += NtM)
        {
            int mr = Math.Min(NtM, M - i);
            // missing rows alias the last valid one: computed and discarded, so the kernel has no edge cases
            ref T ra0 = ref Unsafe.Add(ref a0, i * lda);
            ref T ra1 = ref Unsafe.Add(ref a0, (i + Math.Min(1, mr - 1)) * lda);
            ref T ra2 = ref Unsafe.Add(ref a0, (i + Math.Min(2, mr - 1)) * lda);
            ref T ra3 = ref Unsafe.Add(ref a0, (i + Math.Min(3, mr - 1)) * lda);
            for (int j = 0; j < N; j += NtN)
            {
                int nr = Math.Min(NtN, N - j);
                ref T rb0 = ref Unsafe.Add(ref b0, j * ldb);
                ref T rb1 = ref Unsafe.Add(ref b0, (j + Math.Min(1, nr - 1)) * ldb);
                ref T rb2 = ref Unsafe.Add(ref b0, (j + Math.Min(2, nr - 1)) * ldb);
                if (Use512) Dot4x3_512(ref ra0, ref ra1, ref ra2, ref ra3, ref rb0, ref rb1, ref rb2, K, batch, batchA, batchB, r);
                else Dot4x3_256(ref ra0, ref ra1, ref ra2, ref ra3, ref rb0, ref rb1, ref rb2, K, batch, batchA, batchB, r);
                for (int ii = 0; ii < mr; ii++)
                {
                    var crow = C.Slice((i + ii) * ldc + j, nr);
                    for (int jj = 0; jj < nr; jj++)
                        crow[jj] = accumulate ? crow[jj] + r[ii * NtN + jj] : r[ii * NtN + jj];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Dot4x3_512(ref T a0, ref T a1, ref T a2, ref T a3, ref T b0, ref T b1, ref T b2, int K, int batch, int batchA, int batchB, Span<T> r)
    {
        int w = Vector512<T>.Count, k = 0;
        Vector512<T> s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default,
                     s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        int kv = K - K % w;
        for (int bt = 0; bt < batch; bt++)
        for (k = 0; k < kv; k += w)
        {
            nuint o = (nuint)(k + bt * batchB), oa = (nuint)(k + bt * batchA);
            var x0 = Vector512.LoadUnsafe(ref b0, o); var x1 = Vector512.LoadUnsafe(ref b1, o); var x2 = Vector512.LoadUnsafe(ref b2, o);
            var a = Vector512.LoadUnsafe(ref a0, oa); s00 = Fma(a, x0, s00); s01 = Fma(a, x1, s01); s02 = Fma(a, x2, s02);
            a = Vector512.LoadUnsafe(ref a1, oa); s10 = Fma(a, x0, s10); s11 = Fma(a, x1, s11); s12 = Fma(a, x2, s12);
            a = Vector512.LoadUnsafe(ref a2, oa); s20 = Fma(a, x0, s20); s21 = Fma(a, x1, s21); s22 = Fma(a, x2, s22);
            a = Vector512.LoadUnsafe(ref a3, oa); s30 = Fma(a, x0, s30); s31 = Fma(a, x1, s31); s32 = Fma(a, x2, s32);
        }
        r[0] = Vector512.Sum(s00); r[1] = Vector512.Sum(s01); r[2] = Vector512.Sum(s02);
        r[3] = Vector512.Sum(s10); r[4] = Vector512.Sum(s11); r[5] = Vector512.Sum(s12);
        r[6] = Vector512.Sum(s20); r[7] = Vector512.Sum(s21); r[8] = Vector512.Sum(s22);
        r[9] = Vector512.Sum(s30); r[10] = Vector512.Sum(s31); r[11] = Vector512.Sum(s32);
        if (kv < K)
            for (int bt = 0; bt < batch; bt++)
                DotTail(ref Unsafe.Add(ref a0, bt * batchA), ref Unsafe.Add(ref a1, bt * batchA), ref Unsafe.Add(ref a2, bt * batchA), ref Unsafe.Add(ref a3, bt * batchA),
                        ref Unsafe.Add(ref b0, bt * batchB), ref Unsafe.Add(ref b1, bt * batchB), ref Unsafe.Add(ref b2, bt * batchB), kv, K, r);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Dot4x3_256(ref T a0, ref T a1, ref T a2, ref T a3, ref T b0, ref T b1, ref T b2, int K, int batch, int batchA, int batchB, Span<T> r)
    {
        int w = Vector256<T>.Count, k = 0;
        Vector256<T> s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default,
                     s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        int kv = K - K % w;
        for (int bt = 0; bt < batch; bt++)
        for (k = 0; k < kv; k += w)
        {
            nuint o = (nuint)(k + bt * batchB), oa = (nuint)(k + bt * batchA);
            var x0 = Vector256.LoadUnsafe(ref b0, o); var x1 = Vector256.LoadUnsafe(ref b1, o); var x2 = Vector256.LoadUnsafe(ref b2, o);
            var a = Vector256.LoadUnsafe(ref a0, oa); s00 = Fma(a, x0, s00); s01 = Fma(a, x1, s01); s02 = Fma(a, x2, s02);
            a = Vector256.LoadUnsafe(ref a1, oa); s10 = Fma(a, x0, s10); s11 = Fma(a, x1, s11); s12 = Fma(a, x2, s12);
            a = Vector256.LoadUnsafe(ref a2, oa); s20 = Fma(a, x0, s20); s21 = Fma(a, x1, s21); s22 = Fma(a, x2, s22);
            a = Vector256.LoadUnsafe(ref a3, oa); s30 = Fma(a, x0, s30); s31 = Fma(a, x1, s31); s32 = Fma(a, x2, s32);
        }
        r[0] = Vector256.Sum(s00); r[1] = Vector256.Sum(s01); r[2] = Vector256.Sum(s02);
        r[3] = Vector256.Sum(s10); r[4] = Vector256.Sum(s11); r[5] = Vector256.Sum(s12);
        r[6] = Vector256.Sum(s20); r[7] = Vector256.Sum(s21); r[8] = Vector256.Sum(s22);
        r[9] = Vector256.Sum(s30); r[10] = Vector256.Sum(s31); r[11] = Vector256.Sum(s32);
        if (kv < K)
            for (int bt = 0; bt < batch; bt++)
                DotTail(ref Unsafe.Add(ref a0, bt * batchA), ref Unsafe.Add(ref a1, bt * batchA), ref Unsafe.Add(ref a2, bt * batchA), ref Unsafe.Add(ref a3, bt * batchA),
                        ref Unsafe.Add(ref b0, bt * batchB), ref Unsafe.Add(ref b1, bt * batchB), ref Unsafe.Add(ref b2, bt * batchB), kv, K, r);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void DotTail(ref T a0, ref T a1, ref T a2, ref T a3, ref T b0, ref T b1, ref T b2, int k, int K, Span<T> r)
    {
        for (; k < K; k++)
        {
            T x0 = Unsafe.Add(ref b0, k), x1 = Unsafe.Add(ref b1, k), x2 = Unsafe.Add(ref b2, k);
            T a = Unsafe.Add(ref a0, k); r[0] += a * x0; r[1] += a * x1; r[2] += a * x2;
            a = Unsafe.Add(ref a1, k); r[3] += a * x0; r[4] += a * x1; r[5] += a * x2;
            a = Unsafe.Add(ref a2, k); r[6] += a * x0; r[7] += a * x1; r[8] += a * x2;
            a = Unsafe.Add(ref a3, k); r[9] += a * x0; r[10] += a * x1; r[11] += a * x2;
        }
    }
}
