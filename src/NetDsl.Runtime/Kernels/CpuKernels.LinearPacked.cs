namespace NetDsl.Runtime;

// Linear forward with the weight packed once per key (inference): see PackedWeights.
public sealed partial class CpuKernels<T>
{
    /// <summary>
    /// y = epilogue(x·wᵀ + b), with w's packed GEMM panels kept in <paramref name="packed"/> and reused while
    /// <paramref name="key"/> stays the same (the caller guarantees w is not written without the key moving). The
    /// matrix-vector and dot-product paths read w as it is and do not use the slot.
    /// </summary>
    public void LinearForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, TEpi epilogue, TGpuEpi gpuEpilogue,
        PackedWeights<T> packed, long key)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        var (m, k, o) = KernelContract.LinearForward(x, w, b, y);
        if (m <= GemvMaxRows || UseLinearDot(o, k) || !PackedWeights<T>.Enabled)
        {
            LinearForward(x, w, b, y, epilogue, gpuEpilogue);
            return;
        }
        var pb = PackedLinearWeight(w, k, o, packed, key);
        var bk = b is null ? BiasKind.None : BiasKind.Col;
        if (GemmSharedB(m, o, k, x, 0, k, 1, w, 0, 1, k, y, 0, o, false, bk, b, epilogue, pb)) return;
        Blocks(m, o, (long)m * o * k, (x, w, b, y, epilogue, bk, k, o, pb), static (s, r0, r1, c0, c1) =>
            Gemm(r1 - r0, c1 - c0, s.k, s.x.AsSpan().Slice(r0 * s.k), s.k, 1, s.w.AsSpan().Slice(c0 * s.k), 1, s.k, s.y.AsSpan().Slice(r0 * s.o + c0), s.o,
                false, s.bk, s.b is null ? default : s.b.AsSpan().Slice(c0), s.epilogue, s.pb, c0 / NR), dynamic: true);
    }

    /// <summary>w [O, K] as the GEMM's B (B(k, j) = w[j, k]) packed whole, from the slot when it holds w at this key.</summary>
    private static T[] PackedLinearWeight(Tensor<T> w, int k, int o, PackedWeights<T> packed, long key)
    {
        if (packed.Holds(w, o, k, key)) return packed.Data!;
        var dst = packed.AlignedBuffer(PackedBLength(k, o));
        PackBWhole(w.AsSpan(), 1, k, k, o, dst);
        packed.Packed(w, o, k, key);
        return dst;
    }
}
