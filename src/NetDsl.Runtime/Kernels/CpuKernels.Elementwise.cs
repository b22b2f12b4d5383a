using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Element-wise drivers for generated functors: Vector512<T> chunks where AVX-512 is accelerated, then Vector256<T>, a scalar tail, and a split across cores
// for large tensors. Also Fill / Copy / Accumulate, concat along channels, and dropout.
public sealed partial class CpuKernels<T>
{
    private const int MapParallelMin = 1 << 16;
    private const int MapChunk = 1 << 15;

    /// <summary>Calls body(lo, hi) over [0, n), split into chunks across cores when n is large.</summary>
    private static void Elementwise<TState>(int n, TState state, Action<TState, int, int> body)
    {
        if (n < MapParallelMin || Environment.ProcessorCount == 1) body(state, 0, n);
        else ElementwiseParallel(n, state, body);
    }

    private static void ElementwiseParallel<TState>(int n, TState state, Action<TState, int, int> body) =>
        ParallelRunner.For((n + MapChunk - 1) / MapChunk, new MapChunkBody<TState>(n, state, body));

    private readonly struct MapChunkBody<TState>(int n, TState state, Action<TState, int, int> body) : IParallelBody
    {
        public void Run(int i) => body(state, i * MapChunk, Math.Min(n, (i + 1) * MapChunk));
    }

    public void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap1<T> where TGpuOp : struct, IGpuMap1
    {
        KernelContract.SameLength(a, y, "a", "y");
        if (a.Length < MapParallelMin) Map1Range(a.AsSpan(), y.AsSpan(), op);
        else Elementwise(a.Length, (a, y, op), static (s, lo, hi) => Map1Range(s.a.AsSpan()[lo..hi], s.y.AsSpan()[lo..hi], s.op));
    }

    public void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap2<T> where TGpuOp : struct, IGpuMap2
    {
        KernelContract.SameLength(a, b, "a", "b"); KernelContract.SameLength(a, y, "a", "y");
        if (a.Length < MapParallelMin) Map2Range(a.AsSpan(), b.AsSpan(), y.AsSpan(), op);
        else Elementwise(a.Length, (a, b, y, op), static (s, lo, hi) => Map2Range(s.a.AsSpan()[lo..hi], s.b.AsSpan()[lo..hi], s.y.AsSpan()[lo..hi], s.op));
    }

    public void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> c, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap3<T> where TGpuOp : struct, IGpuMap3
    {
        KernelContract.SameLength(a, b, "a", "b"); KernelContract.SameLength(a, c, "a", "c"); KernelContract.SameLength(a, y, "a", "y");
        if (a.Length < MapParallelMin) Map3Range(a.AsSpan(), b.AsSpan(), c.AsSpan(), y.AsSpan(), op);
        else Elementwise(a.Length, (a, b, c, y, op), static (s, lo, hi) => Map3Range(s.a.AsSpan()[lo..hi], s.b.AsSpan()[lo..hi], s.c.AsSpan()[lo..hi], s.y.AsSpan()[lo..hi], s.op));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Map1Range<TOp>(ReadOnlySpan<T> a, Span<T> y, TOp op) where TOp : struct, IMap1<T>
    {
        int n = a.Length, w = Vector256<T>.Count, i = 0;
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
            for (int w2 = Vector512<T>.Count; i <= n - w2; i += w2)
                op.Apply(Vector512.LoadUnsafe(ref ar, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i <= n - w; i += w)
            op.Apply(Vector256.LoadUnsafe(ref ar, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = op.Apply(Unsafe.Add(ref ar, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Map2Range<TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, TOp op) where TOp : struct, IMap2<T>
    {
        int n = a.Length, w = Vector256<T>.Count, i = 0;
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
            for (int w2 = Vector512<T>.Count; i <= n - w2; i += w2)
                op.Apply(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i <= n - w; i += w)
            op.Apply(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = op.Apply(Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void Map3Range<TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> y, TOp op) where TOp : struct, IMap3<T>
    {
        int n = a.Length, w = Vector256<T>.Count, i = 0;
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
            for (int w2 = Vector512<T>.Count; i <= n - w2; i += w2)
                op.Apply(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i), Vector512.LoadUnsafe(ref cr, (nuint)i))
                  .StoreUnsafe(ref yr, (nuint)i);
        for (; i <= n - w; i += w)
            op.Apply(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i), Vector256.LoadUnsafe(ref cr, (nuint)i))
              .StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = op.Apply(Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i), Unsafe.Add(ref cr, i));
    }

    public void Fill(Tensor<T> y, T value) => y.AsSpan().Fill(value);

    public void Copy(Tensor<T> src, Tensor<T> dst)
    {
        KernelContract.SameLength(src, dst, "src", "dst");
        src.AsSpan().CopyTo(dst.AsSpan());
    }

    public void Accumulate(Tensor<T> src, Tensor<T> dst)
    {
        KernelContract.SameLength(src, dst, "src", "dst");
        AddInto(src.AsSpan(), dst.AsSpan());
    }

    /// <summary>dst += src.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddInto(ReadOnlySpan<T> src, Span<T> dst)
    {
        int n = src.Length, w = Vector256<T>.Count, i = 0;
        ref T s = ref MemoryMarshal.GetReference(src);
        ref T d = ref MemoryMarshal.GetReference(dst);
        for (; i <= n - w; i += w)
            (Vector256.LoadUnsafe(ref d, (nuint)i) + Vector256.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref d, i) += Unsafe.Add(ref s, i);
    }

    internal static T Sum(ReadOnlySpan<T> src)
    {
        int n = src.Length, w = Vector256<T>.Count, i = 0;
        ref T s = ref MemoryMarshal.GetReference(src);
        var acc = Vector256<T>.Zero;
        for (; i <= n - w; i += w) acc += Vector256.LoadUnsafe(ref s, (nuint)i);
        T r = Vector256.Sum(acc);
        for (; i < n; i++) r += Unsafe.Add(ref s, i);
        return r;
    }

    // ---- concat along dim 1
    public void Concat(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> y)
    {
        KernelContract.Concat(inputs, y, "inputs", "y");
        int n = y.Shape[0], inner = y.Length / Math.Max(1, n * y.Shape[1]), yRow = y.Shape[1] * inner;
        var ys = y.AsSpan();
        int off = 0;
        foreach (var t in inputs)
        {
            int rowLen = t.Shape[1] * inner;
            var ts = t.AsSpan();
            for (int i = 0; i < n; i++) ts.Slice(i * rowLen, rowLen).CopyTo(ys.Slice(i * yRow + off, rowLen));
            off += rowLen;
        }
    }

    public void ConcatBackward(Tensor<T> dy, ReadOnlySpan<Tensor<T>> dxs)
    {
        KernelContract.Concat(dxs, dy, "dxs", "dy");
        int n = dy.Shape[0], inner = dy.Length / Math.Max(1, n * dy.Shape[1]), yRow = dy.Shape[1] * inner;
        var ys = dy.AsSpan();
        int off = 0;
        foreach (var t in dxs)
        {
            int rowLen = t.Shape[1] * inner;
            var ts = t.AsSpan();
            for (int i = 0; i < n; i++) ys.Slice(i * yRow + off, rowLen).CopyTo(ts.Slice(i * rowLen, rowLen));
            off += rowLen;
        }
    }

    // ---- dropout: counter-based RNG, u = splitmix64(seed, i) → [0,1) with 53 bits; dropped iff u < p
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong SplitMix64(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void DropoutForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed)
    {
        double pd = double.CreateChecked(p);
        KernelContract.Dropout(x, mask, y, pd);
        T scale = pd >= 1 ? T.Zero : T.One / (T.One - p);
        // threshold on the top 53 bits: dropped iff (h >> 11) < p·2^53
        ulong threshold = pd >= 1 ? ulong.MaxValue : (ulong)(pd * 9007199254740992.0);
        ulong key = SplitMix64(seed ^ 0x6A09E667F3BCC909UL);
        Elementwise(x.Length, (x, mask, y, scale, threshold, key), static (s, lo, hi) =>
        {
            var (x, mask, y, scale, threshold, key) = s;
            var xs = x.AsSpan(); var ms = mask.AsSpan(); var ys = y.AsSpan();
            for (int i = lo; i < hi; i++)
            {
                bool drop = (SplitMix64(key + (ulong)i * 0x9E3779B97F4A7C15UL) >> 11) < threshold;
                T m = drop ? T.Zero : scale;
                ms[i] = m;
                ys[i] = xs[i] * m;
            }
        });
    }
}
