using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetDsl.Runtime;

// Two-thread GEMM with B packed once: for a split by row blocks, every core would otherwise pack all of B for itself
// (1024³: 8–11 % of each core's time). Here the cores first pack disjoint column panels of B over the whole of K into one
// buffer (the PackBWhole layout), then, after the loop's join, each computes its contiguous block of C's rows from it.
public sealed partial class CpuKernels<T>
{
    /// <summary>Whether row-split GEMMs share one packed B (NETDSL_GEMM_SHARE_B=0 turns it off; tests flip it).</summary>
    internal static bool ShareB = Environment.GetEnvironmentVariable("NETDSL_GEMM_SHARE_B") != "0";

    // per calling thread: a trainer on another thread that runs its loops inline never shares this caller's buffer
    [ThreadStatic] private static T[]? t_sharedB;
    internal static int SharedSplit = Env("NETDSL_GEMM_SPLIT", 4);

    /// <summary>
    /// C[M,N] (+)= A·B (strided as in <see cref="Gemm{TEpi}"/>, operands at element offsets of tensors) split by row blocks
    /// across the cores with B packed once and shared. Returns false (nothing done) when it does not apply: sharing off, one
    /// core's worth of work, B row-major (cheap to pack), or C wider than tall (a column split then packs only each core's
    /// part of B already).
    /// </summary>
    internal static bool GemmSharedB<TEpi>(int M, int N, int K,
        Tensor<T> a, int aOff, int rsA, int csA, Tensor<T> b, int bOff, int rsB, int csB,
        Tensor<T> c, int cOff, int ldc, bool accumulate, BiasKind bk, Tensor<T>? bias, TEpi epi, T[]? prePacked = null)
        where TEpi : struct, IMap1<T>
    {
        // prePacked: B already packed whole (PackBWhole, an inference weight slot): the same row parts run without the
        // packing loop, so a packed and an unpacked forward compute every output the same way (bit for bit)
        // only B stored transposed (csB ≠ 1: a linear layer's weight in the forward pass) is worth sharing: its packing runs
        // 8×8 transposes over strided rows, while a row-major B packs by plain copies that cost less than reading panels
        // another core packed (1024×256×2048 weight gradient: 2 % more CPU time shared, 2026-12-07)
        if (!ShareB || N > M || K <= 0 || csB == 1) return false;
        int workers = Workers((long)M * N * K, (M + MR - 1) / MR);
        if (workers <= 1) return false;
        var packed = prePacked ?? AlignedScratch(ref t_sharedB, PackedBLength(K, N));
        // More parts than cores, claimed dynamically: when a core is late (descheduled on a shared machine, or still waking),
        // the other takes its parts instead of waiting for it. Row parts stay at least MC rows (an A block) high.
        int packers = Math.Min(workers * SharedSplit, (N + NR - 1) / NR);
        int unit = M >= WideRows ? MRWide : MR;
        int rowParts = Math.Clamp(M / Math.Max(unit, MC / unit * unit), workers, workers * SharedSplit);
        if (prePacked is null)
            ParallelRunner.For(packers, new SharedB<TEpi>(M, N, K, a, aOff, rsA, csA, b, bOff, rsB, csB, c, cOff, ldc, accumulate, bk, bias, epi, packed, packers, unit, pack: true));
        ParallelRunner.For(rowParts, new SharedB<TEpi>(M, N, K, a, aOff, rsA, csA, b, bOff, rsB, csB, c, cOff, ldc, accumulate, bk, bias, epi, packed, rowParts, unit, pack: false));
        return true;
    }

    private readonly struct SharedB<TEpi>(int M, int N, int K, Tensor<T> a, int aOff, int rsA, int csA, Tensor<T> b, int bOff, int rsB, int csB,
        Tensor<T> c, int cOff, int ldc, bool accumulate, BiasKind bk, Tensor<T>? bias, TEpi epi, T[] packed, int parts, int unit, bool pack) : IParallelBody
        where TEpi : struct, IMap1<T>
    {
        public void Run(int p)
        {
            if (pack)
            {
                var (lo, hi) = Chunk((N + NR - 1) / NR, parts, p);
                if (hi <= lo) return;
                int c0 = lo * NR, c1 = Math.Min(N, hi * NR);
                ref T b0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(b.AsSpan()), bOff);
                PackB(ref b0, rsB, csB, 0, K, c0, c1 - c0, ref Unsafe.Add(ref AlignedRef(packed), (nint)lo * NR * K));
                return;
            }
            // row blocks in units of the micro-kernel height (unit) this GEMM's blocks will use
            var (rlo, rhi) = Chunk((M + unit - 1) / unit, parts, p);
            int r0 = rlo * unit, r1 = Math.Min(M, rhi * unit);
            if (r1 <= r0) return;
            ReadOnlySpan<T> bs = bias is null ? default : bias.AsSpan().Slice(bk == BiasKind.Row ? r0 : 0);
            Gemm(r1 - r0, N, K, a.AsSpan().Slice(aOff + r0 * rsA), rsA, csA, b.AsSpan().Slice(bOff), rsB, csB,
                c.AsSpan().Slice(cOff + r0 * ldc), ldc, accumulate, bk, bs, epi, packed, 0, M);
        }
    }
}
