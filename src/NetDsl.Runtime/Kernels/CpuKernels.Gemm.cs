using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Runtime;

/// <summary>Where a GEMM adds its bias: one value per output row (convolution channels) or per column (linear outputs).</summary>
internal enum BiasKind { None, Row, Col }

// Packed, register-blocked GEMM (BLIS loop order): C[M,N] (+)= op(A)[M,K]·op(B)[K,N], with A(i,k) = A[i*rsA + k*csA]
// and B(k,j) = B[k*rsB + j*csB], so every transpose is a choice of strides. Blocks of A are packed into MR-row panels
// and blocks of B into NR-column panels (zero padded), and a register-blocked micro-kernel runs over them: 8×(2 vectors)
// with 16 Vector512 accumulators when AVX-512 is accelerated (12×(2 vectors), 24 accumulators, for GEMMs with at least
// WideRows rows), 6×(2 vectors) with 12 Vector256 accumulators otherwise. GEMMs with at most FusedRows rows pack B one
// micro-panel at a time, right before the row panels use it.
// Packing float operands that are contiguous along k (row-major A, PyTorch-layout linear weights as B) uses 8×8 AVX
// register transposes. Bias and the fused epilogue are applied in the final write of each tile, so fusion costs no
// extra pass. Single-threaded: callers parallelize over images or row blocks.
public sealed partial class CpuKernels<T>
{
    internal static readonly bool Use512 = Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;
    /// <summary>Rows of the micro-kernel: 8 with 32 vector registers (16 accumulators), 6 with AVX2's 16 (12 accumulators).</summary>
    internal static readonly int MR = Use512 ? 8 : 6;
    /// <summary>
    /// Rows of the AVX-512 micro-kernel for GEMMs with at least <see cref="WideRows"/> rows: 12 (24 accumulators), which loads
    /// each B vector for 12 FMAs instead of 8 (1024³, one thread, thread CPU time: 7 % faster). Smaller GEMMs (the MLP's
    /// 128-row layers) keep 8: 128 rows are 16 full 8-row panels but a ragged 12-row one, and the narrow/short layers' edges
    /// cost more with the larger tile.
    /// </summary>
    internal static readonly int MRWide = Use512 ? 12 : MR;
    internal static readonly int WideRows = Env("NETDSL_GEMM_WIDE_M", 256);
    /// <summary>GEMMs with at most this many rows pack B one micro-panel at a time, right before use (see Gemm).</summary>
    internal static readonly int FusedRows = Env("NETDSL_GEMM_FUSED_M", 256);
    // K block of that path: its B micro-panel (KC×NR: 32 KB at 256) has to stay in L1 (48 KB on Intel Sapphire/Emerald
    // Rapids; Zen 4 has 32 KB) while the A panels stream past it. 384 → 256: 1.07× at 128×1024×1024 (thread CPU time,
    // 2026-12-07, Xeon); 128–320 measured alike.
    private static readonly int FusedKC = Env("NETDSL_GEMM_FUSED_KC", 256);
    internal static int BlockKFused => FusedKC;
    internal static readonly int NR = Use512 ? 2 * Vector512<T>.Count : 2 * Vector256<T>.Count;
    // Blocking (tuned on Zen 4, 32 KB L1d, 1 MB L2, at 256³–2048³): a deep KC amortizes the C tile's load and store over
    // more FMAs (with the tile prefetched, 384 beat 128–256 by 5–10 %); the MC×KC block of A (144 KB) stays in L2 and a B
    // micro-panel (KC×NR, 48 KB) streams from L2. NETDSL_GEMM_KC/MC/NC override them for tuning experiments.
    private static readonly int KC = Env("NETDSL_GEMM_KC", 384);
    private static readonly int MC = Env("NETDSL_GEMM_MC", 96);   // rounded down to a multiple of the call's MR (96: 8 and 12 divide it)
    private static readonly int NC = Math.Max(NR, Env("NETDSL_GEMM_NC", 1024) / NR * NR);  // multiple of NR
    internal static int BlockK => KC;
    internal static int BlockM => Math.Max(MR, MC / MR * MR);
    internal static int BlockN => NC;
    private static int Env(string name, int dflt) => int.TryParse(Environment.GetEnvironmentVariable(name), out int v) && v > 0 ? v : dflt;

    [ThreadStatic] private static T[]? t_packA;
    /// <summary>Packs column-major A in one pass over k (see PackA); a switch for A/B measurements.</summary>
    internal static bool PackAByK = Environment.GetEnvironmentVariable("NETDSL_GEMM_PACKA_BYK") != "0";
    [ThreadStatic] private static T[]? t_packB;

    private static T[] Scratch(ref T[]? cache, int n)
    {
        if (cache is null || cache.Length < n) cache = new T[Math.Max(n, 64)];
        return cache;
    }

    /// <summary>Scratch for a packed operand read from its 64-byte aligned start (<see cref="AlignedRef"/>).</summary>
    private static T[] AlignedScratch(ref T[]? cache, int n)
    {
        if (cache is null || cache.Length < n + AlignedArrays.Pad<T>()) cache = AlignedArrays.Allocate<T>(Math.Max(n, 64));
        return cache;
    }

    /// <summary>The 64-byte aligned start of a packed-operand buffer (AlignedScratch, PackedWeights.AlignedBuffer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref T AlignedRef(T[] buffer) => ref AlignedArrays.Start(buffer);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    internal static void Gemm<TEpi>(int M, int N, int K,
        ReadOnlySpan<T> A, int rsA, int csA,
        ReadOnlySpan<T> B, int rsB, int csB,
        Span<T> C, int ldc, bool accumulate, BiasKind biasKind, ReadOnlySpan<T> bias, TEpi epi,
        T[]? preB = null, int prePanel0 = 0, int blockRows = 0)
        where TEpi : struct, IMap1<T>
    {
        // blockRows: the rows of the whole GEMM this call is a row block of, which picks the micro-kernel and the blocking
        // (so every block of a split GEMM runs like the whole one); 0 = M
        // preB: B already packed whole (PackBWhole: NR-column panels over all of K); this call's column 0 is its panel prePanel0
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
        int rowsFor = Math.Max(M, blockRows);
        int nr = NR, MR = rowsFor >= WideRows ? MRWide : CpuKernels<T>.MR;
        int MC = Math.Max(MR, CpuKernels<T>.MC / MR * MR);
        // Few rows (≤ FusedRows): A is packed whole (one row block, it stays in L2) and each KC×NR micro-panel of B is packed
        // right before the row panels use it, so it is read from L1 while hot instead of written to L2 and read back.
        bool fused = rowsFor <= FusedRows;
        if (fused) MC = (M + MR - 1) / MR * MR;
        // K is cut into equal blocks of at most KC (784 = 2 × 392, not 384 + 384 + 16): a thin last block would pay the
        // C tile's load and store for little work
        int kcMax = fused ? FusedKC : KC;
        int kBlock = (K + (K + kcMax - 1) / kcMax - 1) / ((K + kcMax - 1) / kcMax);
        // scratch sized by this problem (small layers keep small buffers), grown when a bigger one comes
        var packA = Scratch(ref t_packA, Math.Min(MC, (M + MR - 1) / MR * MR) * kBlock);
        var packB = preB ?? AlignedScratch(ref t_packB, kBlock * (fused ? nr : (Math.Min(NC, N) + nr - 1) / nr * nr));
        ref T a0 = ref MemoryMarshal.GetReference(A);
        ref T b0 = ref MemoryMarshal.GetReference(B);
        ref T c0 = ref MemoryMarshal.GetReference(C);
        ref T bias0 = ref MemoryMarshal.GetReference(bias);
        ref T pa = ref MemoryMarshal.GetArrayDataReference(packA);
        ref T pb = ref AlignedRef(packB);

        for (int jc = 0; jc < N; jc += NC)
        {
            int nc = Math.Min(NC, N - jc);
            for (int pc = 0; pc < K; pc += kBlock)
            {
                int kc = Math.Min(kBlock, K - pc);
                bool load = accumulate || pc > 0;
                bool last = pc + kc == K;
                if (!fused && preB is null) PackB(ref b0, rsB, csB, pc, kc, jc, nc, packB);
                for (int ic = 0; ic < M; ic += MC)
                {
                    int mc = Math.Min(MC, M - ic);
                    if (MR == MRWide) PackAWide(ref a0, rsA, csA, ic, mc, pc, kc, packA);
                    else PackANarrow(ref a0, rsA, csA, ic, mc, pc, kc, packA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nrr = Math.Min(nr, nc - jr);
                        if (fused && preB is null) PackB(ref b0, rsB, csB, pc, kc, jc + jr, nrr, packB);
                        ref T bp = ref Unsafe.Add(ref pb, preB is not null ? ((jc + jr) / nr + prePanel0) * (nint)K * nr + pc * nr : fused ? 0 : jr * kc);
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mrr = Math.Min(MR, mc - ir);
                            int row = ic + ir, col = jc + jr;
                            ref T ct = ref Unsafe.Add(ref c0, row * ldc + col);
                            int boff = biasKind == BiasKind.Row ? row : biasKind == BiasKind.Col ? col : 0;
                            ref T bt = ref Unsafe.Add(ref bias0, boff);
                            if (Use512 && MR == 12) Kernel512x12(ref Unsafe.Add(ref pa, ir * kc), ref bp, kc, ref ct, ldc, mrr, nrr, load, last, biasKind, ref bt, epi);
                            else if (Use512) Kernel512(ref Unsafe.Add(ref pa, ir * kc), ref bp, kc, ref ct, ldc, mrr, nrr, load, last, biasKind, ref bt, epi);
                            else Kernel256(ref Unsafe.Add(ref pa, ir * kc), ref bp, kc, ref ct, ldc, mrr, nrr, load, last, biasKind, ref bt, epi);
                        }
                    }
                }
            }
        }
    }

    // PackA specialized for each micro-kernel height (MR a constant in its loops)
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]   // hot loops: skip tier-0/OSR code
    private static void PackANarrow(ref T a, int rsA, int csA, int ic, int mc, int pc, int kc, T[] dst) => PackA(ref a, rsA, csA, ic, mc, pc, kc, dst, MR);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]   // (not inlined into Gemm's loops)
    private static void PackAWide(ref T a, int rsA, int csA, int ic, int mc, int pc, int kc, T[] dst) => PackA(ref a, rsA, csA, ic, mc, pc, kc, dst, MRWide);

    /// <summary>Packs A[ic..ic+mc, pc..pc+kc] into MR-row panels laid out [panel][k][MR], zero padding the last panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackA(ref T a, int rsA, int csA, int ic, int mc, int pc, int kc, T[] dst, int MR)
    {
        ref T d = ref MemoryMarshal.GetArrayDataReference(dst);
        int ir0 = 0;
        if (rsA == 1 && csA * Unsafe.SizeOf<T>() >= 1024 && mc >= MR && PackAByK)
        {
            // A stored column-major (a weight gradient's dyᵀ): all full panels in one pass over k, each k row's mc values read
            // once, contiguously. Panel by panel, the reads of one panel run down k with a large power-of-two stride that maps
            // them to a few L1 sets and evicts the lines the next panel needs (512×256×2048 weight gradient: 10 % slower than
            // with A row-major; one pass: 4 % less thread CPU time, 2026-12-07, Xeon). Below 1 KB strides (the attention's
            // 128-token dSᵀ) panel by panel measured 3 % faster.
            // (groups of at most 8 panels: more write streams than that cost more than the reads save)
            ir0 = mc / MR * MR;
            for (int g = 0; g < ir0; g += 8 * MR)
                PackAColumnMajor(ref Unsafe.Add(ref a, ic + g + pc * csA), csA, Math.Min(8 * MR, ir0 - g), kc, ref Unsafe.Add(ref d, g * kc), MR);
        }
        for (int ir = ir0; ir < mc; ir += MR)
        {
            int m = Math.Min(MR, mc - ir);
            ref T panel = ref Unsafe.Add(ref d, ir * kc);
            if (csA == 1)
            {
                int k0 = 0;
                if (m == MR && MR >= 8 && MR <= 16 && typeof(T) == typeof(float) && Avx.IsSupported)
                {
                    // MR (8..16) rows contiguous along k: 8×8 register transposes of rows 0..7 and MR−8..MR−1 (the two
                    // overlap when MR < 16 and write the same values), one panel row of MR per k
                    ref float s0 = ref Unsafe.As<T, float>(ref Unsafe.Add(ref a, (ic + ir) * rsA + pc));
                    ref float s1 = ref Unsafe.Add(ref s0, (MR - 8) * rsA);
                    ref float p0 = ref Unsafe.As<T, float>(ref panel);
                    for (; k0 + 8 <= kc; k0 += 8)
                    {
                        Transpose8x8(ref Unsafe.Add(ref s0, k0), rsA, ref Unsafe.Add(ref p0, k0 * MR), MR);
                        if (MR > 8) Transpose8x8(ref Unsafe.Add(ref s1, k0), rsA, ref Unsafe.Add(ref p0, k0 * MR + MR - 8), MR);
                    }
                }
                for (int i = 0; i < m; i++)
                {
                    ref T src = ref Unsafe.Add(ref a, (ic + ir + i) * rsA + pc);
                    for (int k = k0; k < kc; k++) Unsafe.Add(ref panel, k * MR + i) = Unsafe.Add(ref src, k);
                }
            }
            else if (rsA == 1 && m == MR && MR * Unsafe.SizeOf<T>() == 32)
            {
                // A stored column-major (transposed): each panel row is one contiguous 32-byte load
                for (int k = 0; k < kc; k++)
                    Vector256.LoadUnsafe(ref Unsafe.Add(ref a, ic + ir + (pc + k) * csA)).StoreUnsafe(ref Unsafe.Add(ref panel, k * MR));
            }
            else if (rsA == 1 && m == MR && MR * Unsafe.SizeOf<T>() == 64)
            {
                for (int k = 0; k < kc; k++)
                    Vector512.LoadUnsafe(ref Unsafe.Add(ref a, ic + ir + (pc + k) * csA)).StoreUnsafe(ref Unsafe.Add(ref panel, k * MR));
            }
            else if (rsA == 1 && m == MR && MR * Unsafe.SizeOf<T>() == 48)
            {
                // 12 floats: a 32-byte and a 16-byte load
                int h = 32 / Unsafe.SizeOf<T>();
                for (int k = 0; k < kc; k++)
                {
                    ref T src = ref Unsafe.Add(ref a, ic + ir + (pc + k) * csA);
                    Vector256.LoadUnsafe(ref src).StoreUnsafe(ref Unsafe.Add(ref panel, k * MR));
                    Vector128.LoadUnsafe(ref src, (nuint)h).StoreUnsafe(ref Unsafe.Add(ref panel, k * MR + h));
                }
            }
            else if (rsA == 1 && m == MR && MR * Unsafe.SizeOf<T>() == 96)
            {
                // 12 doubles: a 64-byte and a 32-byte load
                int h = 64 / Unsafe.SizeOf<T>();
                for (int k = 0; k < kc; k++)
                {
                    ref T src = ref Unsafe.Add(ref a, ic + ir + (pc + k) * csA);
                    Vector512.LoadUnsafe(ref src).StoreUnsafe(ref Unsafe.Add(ref panel, k * MR));
                    Vector256.LoadUnsafe(ref src, (nuint)h).StoreUnsafe(ref Unsafe.Add(ref panel, k * MR + h));
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

    /// <summary>Full MR-row panels of a column-major A block: rows [0, rows) (a multiple of MR), k in [0, kc), column k at src + k·csA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackAColumnMajor(ref T src, int csA, int rows, int kc, ref T d, int MR)
    {
        int bytes = MR * Unsafe.SizeOf<T>();
        for (int k = 0; k < kc; k++)
        {
            ref T s = ref Unsafe.Add(ref src, (nint)k * csA);
            ref T o = ref Unsafe.Add(ref d, k * MR);
            for (int ir = 0; ir < rows; ir += MR)
            {
                ref T si = ref Unsafe.Add(ref s, ir);
                ref T di = ref Unsafe.Add(ref o, ir * kc);
                if (bytes == 48)
                {
                    Vector256.LoadUnsafe(ref si).StoreUnsafe(ref di);
                    Vector128.LoadUnsafe(ref si, (nuint)(32 / Unsafe.SizeOf<T>())).StoreUnsafe(ref di, (nuint)(32 / Unsafe.SizeOf<T>()));
                }
                else if (bytes == 32) Vector256.LoadUnsafe(ref si).StoreUnsafe(ref di);
                else if (bytes == 64) Vector512.LoadUnsafe(ref si).StoreUnsafe(ref di);
                else if (bytes == 96)
                {
                    Vector512.LoadUnsafe(ref si).StoreUnsafe(ref di);
                    Vector256.LoadUnsafe(ref si, (nuint)(64 / Unsafe.SizeOf<T>())).StoreUnsafe(ref di, (nuint)(64 / Unsafe.SizeOf<T>()));
                }
                else if (bytes == 24)
                {
                    // 6 floats (AVX2's micro-kernel): a 16-byte and an 8-byte copy
                    Vector128.LoadUnsafe(ref si).StoreUnsafe(ref di);
                    Unsafe.WriteUnaligned(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref di, 16 / Unsafe.SizeOf<T>())),
                        Unsafe.ReadUnaligned<long>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref si, 16 / Unsafe.SizeOf<T>()))));
                }
                else
                    for (int i = 0; i < MR; i++) Unsafe.Add(ref di, i) = Unsafe.Add(ref si, i);
            }
        }
    }

    /// <summary>
    /// dst[k*ldd + i] = src[i*lds + k] for an 8×8 block of floats (AVX: unpack, shuffle, 128-bit lane permute).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float src, int lds, ref float dst, int ldd)
    {
        var r0 = Vector256.LoadUnsafe(ref src);
        var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, lds));
        var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 2 * lds));
        var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 3 * lds));
        var r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 4 * lds));
        var r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 5 * lds));
        var r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 6 * lds));
        var r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 7 * lds));
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(s1, s5, 0x20).StoreUnsafe(ref Unsafe.Add(ref dst, ldd));
        Avx.Permute2x128(s2, s6, 0x20).StoreUnsafe(ref Unsafe.Add(ref dst, 2 * ldd));
        Avx.Permute2x128(s3, s7, 0x20).StoreUnsafe(ref Unsafe.Add(ref dst, 3 * ldd));
        Avx.Permute2x128(s0, s4, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 4 * ldd));
        Avx.Permute2x128(s1, s5, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 5 * ldd));
        Avx.Permute2x128(s2, s6, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 6 * ldd));
        Avx.Permute2x128(s3, s7, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 7 * ldd));
    }

    /// <summary>
    /// Packs all of B [K, N] into NR-column panels over the whole of K ([panel][k][NR], the last panel zero padded), the
    /// layout Gemm's preB reads: any K block of a panel is then contiguous, whatever block size the call picks.
    /// </summary>
    internal static void PackBWhole(ReadOnlySpan<T> B, int rsB, int csB, int K, int N, T[] dst) =>
        PackB(ref MemoryMarshal.GetReference(B), rsB, csB, 0, K, 0, N, dst);

    internal static int PackedBLength(int K, int N) => (N + NR - 1) / NR * NR * K;

    /// <summary>Packs B[pc..pc+kc, jc..jc+nc] into NR-column panels laid out [panel][k][NR], zero padding the last panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void PackB(ref T b, int rsB, int csB, int pc, int kc, int jc, int nc, T[] dst) =>
        PackB(ref b, rsB, csB, pc, kc, jc, nc, ref AlignedRef(dst));

    /// <summary>PackB into panels starting at <paramref name="d"/> (a panel range of a shared whole-K buffer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void PackB(ref T b, int rsB, int csB, int pc, int kc, int jc, int nc, ref T d)
    {
        int nr = NR;
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
                // B is transposed in memory (contiguous along k): 8×8 register transposes for float, else read each column contiguously.
                int k0 = 0;
                if (n == nr && nr % 8 == 0 && rsB == 1 && typeof(T) == typeof(float) && Avx.IsSupported)
                {
                    ref float s0 = ref Unsafe.As<T, float>(ref Unsafe.Add(ref b, pc + (jc + jr) * csB));
                    ref float p0 = ref Unsafe.As<T, float>(ref panel);
                    for (; k0 + 8 <= kc; k0 += 8)
                        for (int jb = 0; jb < nr; jb += 8)
                            Transpose8x8(ref Unsafe.Add(ref s0, jb * csB + k0), csB, ref Unsafe.Add(ref p0, k0 * nr + jb), nr);
                }
                if (k0 < kc)
                for (int j = 0; j < n; j++)
                {
                    ref T src = ref Unsafe.Add(ref b, pc * rsB + (jc + jr + j) * csB);
                    for (int k = k0; k < kc; k++) Unsafe.Add(ref panel, k * nr + j) = Unsafe.Add(ref src, k * rsB);
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
        const int MR8 = 8;
        int w = Vector512<T>.Count, NRl = 2 * w;
        PrefetchTile(ref c, ldc, mr, NRl);
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                     c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
                     c60 = default, c61 = default, c70 = default, c71 = default;
        // k unrolled by two: the loop's pointer and counter updates take issue slots from the FMAs' ports once per two k
        Vector512<T> b0, b1, a;
        int k = 0;
        for (; k + 2 <= kc; k += 2)
        {
            b0 = Vector512.LoadUnsafe(ref bp);
            b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            b0 = Vector512.LoadUnsafe(ref bp, (nuint)(2 * w));
            b1 = Vector512.LoadUnsafe(ref bp, (nuint)(3 * w));
            a = Vector512.Create(Unsafe.Add(ref ap, 8)); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 9)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 10)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 11)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 12)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 13)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 14)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 15)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            ap = ref Unsafe.Add(ref ap, 2 * MR8);
            bp = ref Unsafe.Add(ref bp, 2 * NRl);
        }
        if (k < kc)
        {
            b0 = Vector512.LoadUnsafe(ref bp);
            b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
        }
        if (mr == MR8 && nr == NRl)
        {
            Store512(ref c, c00, c01, load, last, bk, ref bias, 0, epi);
            Store512(ref Unsafe.Add(ref c, ldc), c10, c11, load, last, bk, ref bias, 1, epi);
            Store512(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, load, last, bk, ref bias, 2, epi);
            Store512(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, load, last, bk, ref bias, 3, epi);
            Store512(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, load, last, bk, ref bias, 4, epi);
            Store512(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, load, last, bk, ref bias, 5, epi);
            Store512(ref Unsafe.Add(ref c, 6 * ldc), c60, c61, load, last, bk, ref bias, 6, epi);
            Store512(ref Unsafe.Add(ref c, 7 * ldc), c70, c71, load, last, bk, ref bias, 7, epi);
        }
        else
        {
            Span<T> tile = stackalloc T[MR8 * 2 * Vector512<T>.Count];
            ref T t = ref MemoryMarshal.GetReference(tile);
            c00.StoreUnsafe(ref t, 0); c01.StoreUnsafe(ref t, (nuint)w);
            c10.StoreUnsafe(ref t, (nuint)(NRl)); c11.StoreUnsafe(ref t, (nuint)(NRl + w));
            c20.StoreUnsafe(ref t, (nuint)(2 * NRl)); c21.StoreUnsafe(ref t, (nuint)(2 * NRl + w));
            c30.StoreUnsafe(ref t, (nuint)(3 * NRl)); c31.StoreUnsafe(ref t, (nuint)(3 * NRl + w));
            c40.StoreUnsafe(ref t, (nuint)(4 * NRl)); c41.StoreUnsafe(ref t, (nuint)(4 * NRl + w));
            c50.StoreUnsafe(ref t, (nuint)(5 * NRl)); c51.StoreUnsafe(ref t, (nuint)(5 * NRl + w));
            c60.StoreUnsafe(ref t, (nuint)(6 * NRl)); c61.StoreUnsafe(ref t, (nuint)(6 * NRl + w));
            c70.StoreUnsafe(ref t, (nuint)(7 * NRl)); c71.StoreUnsafe(ref t, (nuint)(7 * NRl + w));
            StorePartial(tile, NRl, ref c, ldc, mr, nr, load, last, bk, ref bias, epi);
        }
    }

    /// <summary>The 12 × (2 vectors) micro-kernel (24 accumulators) for problems with many rows: more FMAs per loaded B vector.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Kernel512x12<TEpi>(ref T ap, ref T bp, int kc, ref T c, int ldc, int mr, int nr, bool load, bool last,
        BiasKind bk, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        const int MR12 = 12;
        int w = Vector512<T>.Count, NRl = 2 * w;
        PrefetchTile(ref c, ldc, mr, NRl);
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                     c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
                     c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
                     c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        // k unrolled by two: the loop's pointer and counter updates take issue slots from the FMAs' ports once per two k
        Vector512<T> b0, b1, a;
        int k = 0;
        for (; k + 2 <= kc; k += 2)
        {
            b0 = Vector512.LoadUnsafe(ref bp);
            b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            a = Vector512.Create(Unsafe.Add(ref ap, 8)); c80 = Fma(a, b0, c80); c81 = Fma(a, b1, c81);
            a = Vector512.Create(Unsafe.Add(ref ap, 9)); c90 = Fma(a, b0, c90); c91 = Fma(a, b1, c91);
            a = Vector512.Create(Unsafe.Add(ref ap, 10)); ca0 = Fma(a, b0, ca0); ca1 = Fma(a, b1, ca1);
            a = Vector512.Create(Unsafe.Add(ref ap, 11)); cb0 = Fma(a, b0, cb0); cb1 = Fma(a, b1, cb1);
            b0 = Vector512.LoadUnsafe(ref bp, (nuint)(2 * w));
            b1 = Vector512.LoadUnsafe(ref bp, (nuint)(3 * w));
            a = Vector512.Create(Unsafe.Add(ref ap, 12)); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 13)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 14)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 15)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 16)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 17)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 18)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 19)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            a = Vector512.Create(Unsafe.Add(ref ap, 20)); c80 = Fma(a, b0, c80); c81 = Fma(a, b1, c81);
            a = Vector512.Create(Unsafe.Add(ref ap, 21)); c90 = Fma(a, b0, c90); c91 = Fma(a, b1, c91);
            a = Vector512.Create(Unsafe.Add(ref ap, 22)); ca0 = Fma(a, b0, ca0); ca1 = Fma(a, b1, ca1);
            a = Vector512.Create(Unsafe.Add(ref ap, 23)); cb0 = Fma(a, b0, cb0); cb1 = Fma(a, b1, cb1);
            ap = ref Unsafe.Add(ref ap, 2 * MR12);
            bp = ref Unsafe.Add(ref bp, 2 * NRl);
        }
        if (k < kc)
        {
            b0 = Vector512.LoadUnsafe(ref bp);
            b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            a = Vector512.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            a = Vector512.Create(Unsafe.Add(ref ap, 8)); c80 = Fma(a, b0, c80); c81 = Fma(a, b1, c81);
            a = Vector512.Create(Unsafe.Add(ref ap, 9)); c90 = Fma(a, b0, c90); c91 = Fma(a, b1, c91);
            a = Vector512.Create(Unsafe.Add(ref ap, 10)); ca0 = Fma(a, b0, ca0); ca1 = Fma(a, b1, ca1);
            a = Vector512.Create(Unsafe.Add(ref ap, 11)); cb0 = Fma(a, b0, cb0); cb1 = Fma(a, b1, cb1);
        }
        if (mr == MR12 && nr == NRl)
        {
            Store512(ref c, c00, c01, load, last, bk, ref bias, 0, epi);
            Store512(ref Unsafe.Add(ref c, ldc), c10, c11, load, last, bk, ref bias, 1, epi);
            Store512(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, load, last, bk, ref bias, 2, epi);
            Store512(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, load, last, bk, ref bias, 3, epi);
            Store512(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, load, last, bk, ref bias, 4, epi);
            Store512(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, load, last, bk, ref bias, 5, epi);
            Store512(ref Unsafe.Add(ref c, 6 * ldc), c60, c61, load, last, bk, ref bias, 6, epi);
            Store512(ref Unsafe.Add(ref c, 7 * ldc), c70, c71, load, last, bk, ref bias, 7, epi);
            Store512(ref Unsafe.Add(ref c, 8 * ldc), c80, c81, load, last, bk, ref bias, 8, epi);
            Store512(ref Unsafe.Add(ref c, 9 * ldc), c90, c91, load, last, bk, ref bias, 9, epi);
            Store512(ref Unsafe.Add(ref c, 10 * ldc), ca0, ca1, load, last, bk, ref bias, 10, epi);
            Store512(ref Unsafe.Add(ref c, 11 * ldc), cb0, cb1, load, last, bk, ref bias, 11, epi);
        }
        else
        {
            Span<T> tile = stackalloc T[MR12 * 2 * Vector512<T>.Count];
            ref T t = ref MemoryMarshal.GetReference(tile);
            c00.StoreUnsafe(ref t, 0); c01.StoreUnsafe(ref t, (nuint)w);
            c10.StoreUnsafe(ref t, (nuint)NRl); c11.StoreUnsafe(ref t, (nuint)(NRl + w));
            c20.StoreUnsafe(ref t, (nuint)(2 * NRl)); c21.StoreUnsafe(ref t, (nuint)(2 * NRl + w));
            c30.StoreUnsafe(ref t, (nuint)(3 * NRl)); c31.StoreUnsafe(ref t, (nuint)(3 * NRl + w));
            c40.StoreUnsafe(ref t, (nuint)(4 * NRl)); c41.StoreUnsafe(ref t, (nuint)(4 * NRl + w));
            c50.StoreUnsafe(ref t, (nuint)(5 * NRl)); c51.StoreUnsafe(ref t, (nuint)(5 * NRl + w));
            c60.StoreUnsafe(ref t, (nuint)(6 * NRl)); c61.StoreUnsafe(ref t, (nuint)(6 * NRl + w));
            c70.StoreUnsafe(ref t, (nuint)(7 * NRl)); c71.StoreUnsafe(ref t, (nuint)(7 * NRl + w));
            c80.StoreUnsafe(ref t, (nuint)(8 * NRl)); c81.StoreUnsafe(ref t, (nuint)(8 * NRl + w));
            c90.StoreUnsafe(ref t, (nuint)(9 * NRl)); c91.StoreUnsafe(ref t, (nuint)(9 * NRl + w));
            ca0.StoreUnsafe(ref t, (nuint)(10 * NRl)); ca1.StoreUnsafe(ref t, (nuint)(10 * NRl + w));
            cb0.StoreUnsafe(ref t, (nuint)(11 * NRl)); cb1.StoreUnsafe(ref t, (nuint)(11 * NRl + w));
            StorePartial(tile, NRl, ref c, ldc, mr, nr, load, last, bk, ref bias, epi);
        }
    }

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Kernel256<TEpi>(ref T ap, ref T bp, int kc, ref T c, int ldc, int mr, int nr, bool load, bool last,
        BiasKind bk, ref T bias, TEpi epi) where TEpi : struct, IMap1<T>
    {
        const int MR6 = 6;
        int w = Vector256<T>.Count, NRl = 2 * w;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                     c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        // k unrolled by two: the loop's pointer and counter updates take issue slots from the FMAs' ports once per two k
        Vector256<T> b0, b1, a;
        int k = 0;
        for (; k + 2 <= kc; k += 2)
        {
            b0 = Vector256.LoadUnsafe(ref bp);
            b1 = Vector256.LoadUnsafe(ref bp, (nuint)w);
            a = Vector256.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector256.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector256.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector256.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector256.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector256.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            b0 = Vector256.LoadUnsafe(ref bp, (nuint)(2 * w));
            b1 = Vector256.LoadUnsafe(ref bp, (nuint)(3 * w));
            a = Vector256.Create(Unsafe.Add(ref ap, 6)); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector256.Create(Unsafe.Add(ref ap, 7)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector256.Create(Unsafe.Add(ref ap, 8)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector256.Create(Unsafe.Add(ref ap, 9)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector256.Create(Unsafe.Add(ref ap, 10)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector256.Create(Unsafe.Add(ref ap, 11)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            ap = ref Unsafe.Add(ref ap, 2 * MR6);
            bp = ref Unsafe.Add(ref bp, 2 * NRl);
        }
        if (k < kc)
        {
            b0 = Vector256.LoadUnsafe(ref bp);
            b1 = Vector256.LoadUnsafe(ref bp, (nuint)w);
            a = Vector256.Create(ap); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector256.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector256.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector256.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector256.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector256.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
        }
        if (mr == MR6 && nr == NRl)
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
            Span<T> tile = stackalloc T[MR6 * 2 * Vector256<T>.Count];
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

    /// <summary>
    /// Asks for the C tile's cache lines at the start of the micro-kernel, so they arrive during its k loop: C rows are far
    /// apart (often a multiple of 4 KB), and without this the final loads and stores of the tile stall on L2/L3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchTile(ref T c, int ldc, int rows, int cols)
    {
        if (!Sse.IsSupported) return;
        int bytes = cols * Unsafe.SizeOf<T>();
        for (int i = 0; i < rows; i++)
        {
            byte* p = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref c, i * ldc));
            Sse.Prefetch0(p);
            Sse.Prefetch0(p + bytes - 1);
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
