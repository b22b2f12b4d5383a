using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Runtime;

// The strided row copies of im2col and col2im (a strided convolution's column matrix reads every sw-th input): with AVX-512 and
// stride 2, 16 outputs per permute instead of a bounds-checked scalar loop. Col2im's stride-2 scatter-add was half of a
// strided 3×3 convolution's input gradient (ResNet-20's 16→32 stage entry, batch 64, perf).
public sealed partial class CpuKernels<T>
{
    private static readonly Vector512<int> EvenIdx = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> SpreadLo = Vector512.Create(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
    private static readonly Vector512<int> SpreadHi = Vector512.Create(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);

    /// <summary>dst[j] = src[i0 + sw·j] for j &lt; dst.Length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherStrided(ReadOnlySpan<T> src, int i0, int sw, Span<T> dst)
    {
        int n = dst.Length, j = 0;
        if (n == 0) return;
        if (i0 < 0 || (long)i0 + (long)sw * (n - 1) >= src.Length) throw new ArgumentOutOfRangeException(nameof(src));
        ref T s = ref MemoryMarshal.GetReference(src);
        ref T d = ref MemoryMarshal.GetReference(dst);
        if (typeof(T) == typeof(float) && sw == 2 && Use512 && Avx512F.IsSupported)
        {
            ref float sf = ref Unsafe.As<T, float>(ref s);
            ref float df = ref Unsafe.As<T, float>(ref d);
            for (; j + 16 <= n && i0 + 2 * j + 32 <= src.Length; j += 16)
            {
                nuint o = (nuint)(i0 + 2 * j);
                Avx512F.PermuteVar16x32x2(Vector512.LoadUnsafe(ref sf, o), EvenIdx, Vector512.LoadUnsafe(ref sf, o + 16)).StoreUnsafe(ref df, (nuint)j);
            }
        }
        for (int i = i0 + sw * j; j < n; j++, i += sw) Unsafe.Add(ref d, j) = Unsafe.Add(ref s, i);
    }

    private static readonly Vector512<int> LaneIdx = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    /// <summary>
    /// dst[at0 + sw·j] += row[j] for j ∈ [jLo, jHi). dst may extend past the row being written (an image's whole gradient,
    /// owned by the calling thread): a vector loads 16 entries inside row (the last 16 when fewer remain), zeroes the lanes
    /// outside [j, jHi) and adds 0 to the entries in between, so short rows (8 or 15 of 16) take one vector too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddStrided(ReadOnlySpan<T> row, int jLo, int jHi, Span<T> dst, int at0, int sw)
    {
        if (jHi <= jLo) return;
        if (jLo < 0 || jHi > row.Length || (long)at0 + (long)sw * jLo < 0 || (long)at0 + (long)sw * (jHi - 1) >= dst.Length)
            throw new ArgumentOutOfRangeException(nameof(dst));
        ref T s = ref MemoryMarshal.GetReference(row);
        ref T d = ref MemoryMarshal.GetReference(dst);
        int j = jLo;
        if (typeof(T) == typeof(float) && sw == 2 && Use512 && Avx512F.IsSupported && row.Length >= 16)
        {
            ref float sf = ref Unsafe.As<T, float>(ref s);
            ref float df = ref Unsafe.As<T, float>(ref d);
            while (j < jHi)
            {
                int jv = Math.Min(j, row.Length - 16), at = at0 + 2 * jv;
                if (at < 0 || at + 32 > dst.Length) break;
                var lane = LaneIdx + Vector512.Create(jv);
                var keep = Vector512.GreaterThanOrEqual(lane, Vector512.Create(j)) & Vector512.LessThan(lane, Vector512.Create(jHi));
                var v = Vector512.ConditionalSelect(keep.AsSingle(), Vector512.LoadUnsafe(ref sf, (nuint)jv), Vector512<float>.Zero);
                nuint o = (nuint)at;
                (Vector512.LoadUnsafe(ref df, o) + Avx512F.PermuteVar16x32x2(v, SpreadLo, Vector512<float>.Zero)).StoreUnsafe(ref df, o);
                (Vector512.LoadUnsafe(ref df, o + 16) + Avx512F.PermuteVar16x32x2(v, SpreadHi, Vector512<float>.Zero)).StoreUnsafe(ref df, o + 16);
                j = jv + 16;
            }
        }
        else if (typeof(T) == typeof(float) && sw == 2 && Use512 && Avx512F.IsSupported && row.Length >= 8)
        {
            // rows of 8 to 15 (ResNet's 8×8 maps): 8 entries spread over one vector
            ref float sf = ref Unsafe.As<T, float>(ref s);
            ref float df = ref Unsafe.As<T, float>(ref d);
            while (j < jHi)
            {
                int jv = Math.Min(j, row.Length - 8), at = at0 + 2 * jv;
                if (at < 0 || at + 16 > dst.Length) break;
                var lane = LaneIdx + Vector512.Create(jv);
                var keep = Vector512.GreaterThanOrEqual(lane, Vector512.Create(j)) & Vector512.LessThan(lane, Vector512.Create(Math.Min(jHi, jv + 8)));
                var v = Vector512.ConditionalSelect(keep.AsSingle(), Vector256.LoadUnsafe(ref sf, (nuint)jv).ToVector512(), Vector512<float>.Zero);
                nuint o = (nuint)at;
                (Vector512.LoadUnsafe(ref df, o) + Avx512F.PermuteVar16x32x2(v, SpreadLo, Vector512<float>.Zero)).StoreUnsafe(ref df, o);
                j = jv + 8;
            }
        }
        for (int i = at0 + sw * j; j < jHi; j++, i += sw) Unsafe.Add(ref d, i) += Unsafe.Add(ref s, j);
    }
}
