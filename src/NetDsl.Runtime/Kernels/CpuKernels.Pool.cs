using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Runtime;

// Pooling over (n, c) planes, planes split across cores when the tensor is big.
public sealed partial class CpuKernels<T>
{
    private static void Planes<TState>(int planes, long work, TState state, Action<TState, int, int> body) =>
        Chunks(planes, work < (1 << 17) ? 1 : Math.Min(Environment.ProcessorCount, planes), state, body);

    /// <summary>Max pooling's planes: both cores from 2¹⁵ window elements (LeNet's second pool, 64×16×5×5 outputs of 2×2, is 10⁵).</summary>
    private static void MaxPoolPlanesChunks<TState>(int planes, long work, TState state, Action<TState, int, int> body) =>
        Chunks(planes, work < (1 << 15) ? 1 : Math.Min(Environment.ProcessorCount, planes), state, body);

    public void MaxPool2dForward(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, PoolGeometry g)
    {
        var (n, c, h, w, oh, ow) = KernelContract.MaxPool2dForward(x, y, argmax, g);
        MaxPoolPlanesChunks(n * c, (long)n * c * oh * ow * g.KernelH * g.KernelW, (x, y, argmax, h, w, oh, ow, g),
            static (s, lo, hi) => MaxPoolPlanes(s.x.AsSpan(), s.y.AsSpan(), s.argmax.AsSpan(), lo, hi, s.h, s.w, s.oh, s.ow, s.g));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static void MaxPoolPlanes(ReadOnlySpan<T> xs, Span<T> ys, Span<int> am, int lo, int hi, int h, int w, int oh, int ow, PoolGeometry g)
    {
        if (g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0 && 2 * oh <= h && 2 * ow <= w)
        {
            // the common 2×2/2 window: every window is inside the plane
            // planes with short rows (LeNet: 14 and 5 outputs per row): 8 outputs at a time across rows by gathers. Measured on
            // the Intel Xeon (AVX-512) against the row path below: 1.4× at 14 per row, 3× at 5 (scalar before); on AMD Zen 4,
            // whose gathers are slower, the 8–15 range is not measured
            int[]? table = MaxPoolVectorOn && ow < 16 && oh * ow >= 8 && typeof(T) == typeof(float) && Avx2.IsSupported ? Pool2x2Table(oh, ow, w) : null;
            for (int pl = lo; pl < hi; pl++)
            {
                if (table is not null && MaxPool2x2Gather(xs.Slice(pl * h * w, h * w), ys.Slice(pl * oh * ow, oh * ow), am.Slice(pl * oh * ow, oh * ow), table, w))
                    continue;
                var xp = xs.Slice(pl * h * w, h * w);
                var yp = ys.Slice(pl * oh * ow, oh * ow);
                var ap = am.Slice(pl * oh * ow, oh * ow);
                for (int i = 0; i < oh; i++)
                {
                    var r0 = xp.Slice(2 * i * w, w); var r1 = xp.Slice((2 * i + 1) * w, w);
                    var yr = yp.Slice(i * ow, ow); var ar = ap.Slice(i * ow, ow);
                    int base0 = 2 * i * w;
                    int j = MaxPool2x2Vector(r0, r1, yr, ar, base0, w);
                    ref T p0 = ref MemoryMarshal.GetReference(r0); ref T p1 = ref MemoryMarshal.GetReference(r1);
                    for (; j < yr.Length; j++)
                    {
                        int b = 2 * j;   // 2·j + 1 < w: the window is inside both rows
                        T a0 = Unsafe.Add(ref p0, b), a1 = Unsafe.Add(ref p0, b + 1), a2 = Unsafe.Add(ref p1, b), a3 = Unsafe.Add(ref p1, b + 1);
                        // branch-free (compare results as 0/1 integers; Max is NaN-propagating)
                        int g1 = Unsafe.BitCast<bool, byte>(a1 > a0), g3 = Unsafe.BitCast<bool, byte>(a3 > a2);
                        T m01 = T.Max(a0, a1), m23 = T.Max(a2, a3);
                        int i01 = b + g1, i23 = w + b + g3;
                        int gg = Unsafe.BitCast<bool, byte>(m23 > m01);
                        T best = T.Max(m01, m23);
                        int bi = i01 + gg * (i23 - i01);
                        if (T.IsNaN(best)) bi = T.IsNaN(a0) ? b : T.IsNaN(a1) ? b + 1 : T.IsNaN(a2) ? w + b : w + b + 1;
                        yr[j] = best; ar[j] = base0 + bi;
                    }
                }
            }
            return;
        }
        for (int pl = lo; pl < hi; pl++)
        {
            var xp = xs.Slice(pl * h * w, h * w);
            int yo = pl * oh * ow;
            for (int i = 0; i < oh; i++)
            {
                int h0 = i * g.StrideH - g.PadH;
                int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelH, h);
                // interior columns 8 at a time (float, stride 1 or 2): [jv0, jv1) done, the rest below
                var (jv0, jv1) = MaxPoolVectorOn ? MaxPoolRowVector(xp, ys.Slice(yo + i * ow, ow), am.Slice(yo + i * ow, ow), w, hs, he, g) : (0, 0);
                for (int j = 0; j < ow; j++)
                {
                    if (j == jv0 && jv1 > jv0) { j = jv1 - 1; continue; }
                    int w0 = j * g.StrideW - g.PadW;
                    int ws = Math.Max(w0, 0), we = Math.Min(w0 + g.KernelW, w);
                    // two passes keep the branches predictable: the max (branch-free Max, NaN-propagating), then its first index
                    T best = T.NegativeInfinity;   // padding is -inf: never chosen over a real input
                    for (int a = hs; a < he; a++)
                        for (int b = ws; b < we; b++) best = T.MaxNumber(best, xp[a * w + b]) ;
                    bool nan = false;
                    for (int a = hs; a < he && !nan; a++)
                        for (int b = ws; b < we; b++) if (T.IsNaN(xp[a * w + b])) { nan = true; break; }
                    if (nan) best = T.NaN;
                    int bi = -1;
                    for (int a = hs; a < he && bi < 0; a++)
                        for (int b = ws; b < we; b++)
                        {
                            T v = xp[a * w + b];
                            if (v == best || (nan && T.IsNaN(v))) { bi = a * w + b; break; }
                        }
                    if (bi < 0) bi = Math.Clamp(hs, 0, h - 1) * w + Math.Clamp(ws, 0, w - 1); // window entirely in padding
                    ys[yo + i * ow + j] = best;
                    am[yo + i * ow + j] = bi;
                }
            }
        }
    }

    /// <summary>
    /// Vectorized 2×2/2 max over one output row (branch-free: compares on random data mispredict half the time).
    /// Returns how many outputs were done; chunks containing a NaN are left to the scalar loop (which propagates it).
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier-0/OSR code during warm-up
    private static int MaxPool2x2Vector(ReadOnlySpan<T> r0, ReadOnlySpan<T> r1, Span<T> yr, Span<int> ar, int base0, int w)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) return 0;
        int vw = Vector256<T>.Count, n = yr.Length, j = 0;
        Span<T> offs = stackalloc T[Vector256<T>.Count];
        ref T p0 = ref MemoryMarshal.GetReference(r0);
        ref T p1 = ref MemoryMarshal.GetReference(r1);
        ref T py = ref MemoryMarshal.GetReference(yr);
        var one = Vector256<T>.One; var two = one + one; var three = two + one;
        bool overlapTail = n >= vw && 2 * n <= r0.Length;
        for (; j < n; j += vw)
        {
            if (j > n - vw)
            {
                // last partial chunk: redo the final vw outputs (overlapping is harmless) instead of a scalar tail
                if (!overlapTail) break;
                j = n - vw;
            }
            Deinterleave(Vector256.LoadUnsafe(ref p0, (nuint)(2 * j)), Vector256.LoadUnsafe(ref p0, (nuint)(2 * j + vw)), out var e0, out var o0);
            Deinterleave(Vector256.LoadUnsafe(ref p1, (nuint)(2 * j)), Vector256.LoadUnsafe(ref p1, (nuint)(2 * j + vw)), out var e1, out var o1);
            var ordered = Vector256.Equals(e0, e0) & Vector256.Equals(o0, o0) & Vector256.Equals(e1, e1) & Vector256.Equals(o1, o1);
            if (ordered.ExtractMostSignificantBits() != (1u << vw) - 1) break;   // a NaN somewhere: scalar path
            var g1 = Vector256.GreaterThan(o0, e0);
            var m01 = Vector256.ConditionalSelect(g1, o0, e0); var f01 = Vector256.ConditionalSelect(g1, one, Vector256<T>.Zero);
            var g3 = Vector256.GreaterThan(o1, e1);
            var m23 = Vector256.ConditionalSelect(g3, o1, e1); var f23 = Vector256.ConditionalSelect(g3, three, two);
            var g = Vector256.GreaterThan(m23, m01);
            Vector256.ConditionalSelect(g, m23, m01).StoreUnsafe(ref py, (nuint)j);
            var off = Vector256.ConditionalSelect(g, f23, f01);
            if (typeof(T) == typeof(float))
            {
                // the 8 indices at once: base0 + 2·(j + t) + (o & 1) + (o >> 1)·w, o in 0..3 the window position
                var o = Vector256.ConvertToInt32(off.AsSingle());
                var idx = Vector256.Create(base0 + 2 * j) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14) + (o & Vector256<int>.One) + Vector256.ShiftRightLogical(o, 1) * Vector256.Create(w);
                idx.StoreUnsafe(ref MemoryMarshal.GetReference(ar), (nuint)j);
                continue;
            }
            off.CopyTo(offs);
            for (int t = 0; t < offs.Length; t++)
            {
                int o = int.CreateTruncating(offs[t]);
                ar[j + t] = base0 + 2 * (j + t) + (o & 1) + (o >> 1) * w;
            }
        }
        return j;
    }

    // immutable tables shared by all threads; a network's pools have a few shapes (looked up without allocating)
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<long, int[]> s_pool2x2Tables = new();

    /// <summary>Top-left input offset of every output of a 2×2/2 plane, in output order: 2i·w + 2j.</summary>
    private static int[] Pool2x2Table(int oh, int ow, int w)
    {
        long key = ((long)oh << 42) | ((long)ow << 21) | (uint)w;
        if (s_pool2x2Tables.TryGetValue(key, out var t)) return t;
        t = new int[oh * ow];
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) t[i * ow + j] = 2 * i * w + 2 * j;
        return s_pool2x2Tables.GetOrAdd(key, t);
    }

    /// <summary>
    /// One 2×2/2 plane (float, AVX2) with its outputs 8 at a time in output order, the four window elements gathered by the
    /// offset table (the last chunk overlaps the one before it). Same rule as the row path: the first maximum (strict &gt;,
    /// top row first). Returns false, having written nothing final, when the plane holds a NaN (the scalar path then runs).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool MaxPool2x2Gather(ReadOnlySpan<T> xp, Span<T> yp, Span<int> ap, int[] table, int w)
    {
        int n = yp.Length;
        var one = Vector256<int>.One; var wv = Vector256.Create(w); var w1 = Vector256.Create(w + 1);
        fixed (float* x0 = MemoryMarshal.Cast<T, float>(xp))
        fixed (int* t0 = table)
        {
            ref float y0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(yp));
            ref int a0 = ref MemoryMarshal.GetReference(ap);
            for (int o = 0; o < n; o += 8)
            {
                if (o + 8 > n) o = n - 8;
                var tl = Avx.LoadVector256(t0 + o);
                var e00 = Avx2.GatherVector256(x0, tl, 4); var e01 = Avx2.GatherVector256(x0 + 1, tl, 4);
                var e10 = Avx2.GatherVector256(x0 + w, tl, 4); var e11 = Avx2.GatherVector256(x0 + w + 1, tl, 4);
                var ordered = Vector256.Equals(e00, e00) & Vector256.Equals(e01, e01) & Vector256.Equals(e10, e10) & Vector256.Equals(e11, e11);
                if (ordered.ExtractMostSignificantBits() != 0xFF) return false;
                var g1 = Vector256.GreaterThan(e01, e00);
                var m01 = Vector256.ConditionalSelect(g1, e01, e00); var f01 = one & g1.AsInt32();
                var g3 = Vector256.GreaterThan(e11, e10);
                var m23 = Vector256.ConditionalSelect(g3, e11, e10); var f23 = Vector256.ConditionalSelect(g3.AsInt32(), w1, wv);
                var g = Vector256.GreaterThan(m23, m01);
                Vector256.ConditionalSelect(g, m23, m01).StoreUnsafe(ref y0, (nuint)o);
                (tl + Vector256.ConditionalSelect(g.AsInt32(), f23, f01)).StoreUnsafe(ref a0, (nuint)o);
            }
        }
        return true;
    }

    /// <summary>Vectorized general max pooling (off only for A/B measurements).</summary>
    internal static bool MaxPoolVectorOn = true;

    /// <summary>
    /// One output row of a general max pool (float, stride 1 or 2), 8 outputs at a time over the columns whose windows are
    /// inside the row (rows hs..he of the plane): the maximum and the row-major first index of it (strict &gt; from the window's
    /// first element, as the scalar loop and PyTorch). Returns the outputs done, [jv0, jv1); a chunk holding a NaN stops it
    /// (the scalar loop propagates NaN and its index).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int, int) MaxPoolRowVector(ReadOnlySpan<T> xp, Span<T> yr, Span<int> ar, int w, int hs, int he, PoolGeometry g)
    {
        int s = g.StrideW, kw = g.KernelW, pw = g.PadW;
        if (typeof(T) != typeof(float) || !Vector256.IsHardwareAccelerated || (s != 1 && s != 2) || he <= hs) return (0, 0);
        // interior outputs [jv0, jv1): every window column inside the row; a chunk reads exactly its windows' columns, and the
        // last chunk overlaps the one before it (recomputing a few outputs) instead of a scalar tail
        int jv0 = (pw + s - 1) / s, jv1 = Math.Min(yr.Length, FloorDiv(w - 1 + pw - (kw - 1), s) + 1), j = jv0;
        if (jv1 - jv0 < 8) return (0, 0);
        ref float x0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(xp));
        ref float y0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(yr));
        ref int a0 = ref MemoryMarshal.GetReference(ar);
        var lane = s == 1 ? Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) : Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var evenLo = Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6); var evenHi = Vector256.Create(1, 3, 5, 7, 1, 3, 5, 7);
        for (; j < jv1; j += 8)
        {
            if (j + 8 > jv1) j = jv1 - 8;
            Vector256<float> best = default; Vector256<int> idx = default;
            var ordered = Vector256<float>.AllBitsSet;
            bool first = true;
            for (int a = hs; a < he; a++)
                for (int b = 0; b < kw; b++)
                {
                    int off = a * w + s * j - pw + b;
                    Vector256<float> v;
                    if (s == 1) v = Vector256.LoadUnsafe(ref x0, (nuint)off);
                    else
                    {
                        // columns off, off+2, …, off+14: the evens of [off, off+8) and the odd lanes of [off+7, off+15)
                        var lo = Vector256.Shuffle(Vector256.LoadUnsafe(ref x0, (nuint)off), evenLo);
                        var hi = Vector256.Shuffle(Vector256.LoadUnsafe(ref x0, (nuint)(off + 7)), evenHi);
                        v = Vector256.Create(lo.GetLower(), hi.GetLower());
                    }
                    ordered &= Vector256.Equals(v, v);
                    var at = Vector256.Create(off) + lane;
                    if (first) { best = v; idx = at; first = false; continue; }
                    var gt = Vector256.GreaterThan(v, best);
                    best = Vector256.ConditionalSelect(gt, v, best);
                    idx = Vector256.ConditionalSelect(gt.AsInt32(), at, idx);
                }
            if (ordered.ExtractMostSignificantBits() != 0xFF) return (jv0, j);   // a NaN: the scalar loop from here
            best.StoreUnsafe(ref y0, (nuint)j);
            idx.StoreUnsafe(ref a0, (nuint)j);
        }
        return (jv0, jv1);
    }

    /// <summary>Splits the 2·W consecutive elements (v0, v1) into the even-indexed and odd-indexed ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(Vector256<T> v0, Vector256<T> v1, out Vector256<T> even, out Vector256<T> odd)
    {
        if (typeof(T) == typeof(float))
        {
            var idx = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            var a = Vector256.Shuffle(v0.AsSingle(), idx); var b = Vector256.Shuffle(v1.AsSingle(), idx);
            even = Vector256.Create(a.GetLower(), b.GetLower()).As<float, T>();
            odd = Vector256.Create(a.GetUpper(), b.GetUpper()).As<float, T>();
        }
        else
        {
            var idx = Vector256.Create(0L, 2, 1, 3);
            var a = Vector256.Shuffle(v0.AsDouble(), idx); var b = Vector256.Shuffle(v1.AsDouble(), idx);
            even = Vector256.Create(a.GetLower(), b.GetLower()).As<double, T>();
            odd = Vector256.Create(a.GetUpper(), b.GetUpper()).As<double, T>();
        }
    }

    public void MaxPool2dBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx)
    {
        KernelContract.MaxPool2dBackward(dy, argmax, dx);
        int planes = dy.Shape[0] * dy.Shape[1], hw = dx.Shape[2] * dx.Shape[3];
        // planes split across cores (each plane's indices stay in its plane); CpuKernels.PoolBackward2x2.cs
        MaxPoolPlanesChunks(planes, (long)planes * hw, (dy, argmax, dx), static (s, lo, hi) =>
            MaxPoolBackwardPlanes(s.dy.AsSpan(), s.argmax.AsSpan(), s.dx.AsSpan(), lo, hi, s.dx.Shape[2], s.dx.Shape[3], s.dy.Shape[2], s.dy.Shape[3]));
    }

    private static void ThrowArgmax(int idx, int hw) =>
        throw new ArgumentException($"argmax: index {idx} out of range for an input plane of {hw} elements", "argmax");

    public void AvgPool2dForward(Tensor<T> x, Tensor<T> y, PoolGeometry g)
    {
        var (n, c, h, w, oh, ow) = KernelContract.Pool2d(x, y, g, "x", "y");
        // count_include_pad=True: divisor is the window clipped to the padded input (as PyTorch); ExcludePad: the real inputs only
        Planes(n * c, (long)n * c * oh * ow * g.KernelH * g.KernelW, (x, y, g, h, w, oh, ow), static (st, lo, hi) =>
        {
            var (x, y, g, h, w, oh, ow) = st;
            var xs = x.AsSpan(); var ys = y.AsSpan();
            for (int pl = lo; pl < hi; pl++)
            {
                var xp = xs.Slice(pl * h * w, h * w);
                int yo = pl * oh * ow;
                for (int i = 0; i < oh; i++)
                {
                    int h0 = i * g.StrideH - g.PadH, h1 = Math.Min(h0 + g.KernelH, h + g.PadH);
                    int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelH, h);
                    for (int j = 0; j < ow; j++)
                    {
                        int w0 = j * g.StrideW - g.PadW, w1 = Math.Min(w0 + g.KernelW, w + g.PadW);
                        int ws = Math.Max(w0, 0), we = Math.Min(w0 + g.KernelW, w);
                        T s = T.Zero;
                        for (int a = hs; a < he; a++)
                            for (int b = ws; b < we; b++) s += xp[a * w + b];
                        ys[yo + i * ow + j] = s / T.CreateChecked(g.ExcludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0));
                    }
                }
            }
        });
    }

    public void AvgPool2dBackward(Tensor<T> dy, Tensor<T> dx, PoolGeometry g)
    {
        var (n, c, h, w, oh, ow) = KernelContract.Pool2d(dx, dy, g, "dx", "dy");
        Planes(n * c, (long)n * c * oh * ow * g.KernelH * g.KernelW, (dx, dy, g, h, w, oh, ow), static (s, lo, hi) =>
        {
            var (dx, dy, g, h, w, oh, ow) = s;
            var dxs = dx.AsSpan(); var dys = dy.AsSpan();
            for (int pl = lo; pl < hi; pl++)
            {
                var dxp = dxs.Slice(pl * h * w, h * w);
                dxp.Clear();
                int yo = pl * oh * ow;
                for (int i = 0; i < oh; i++)
                {
                    int h0 = i * g.StrideH - g.PadH, h1 = Math.Min(h0 + g.KernelH, h + g.PadH);
                    int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelH, h);
                    for (int j = 0; j < ow; j++)
                    {
                        int w0 = j * g.StrideW - g.PadW, w1 = Math.Min(w0 + g.KernelW, w + g.PadW);
                        int ws = Math.Max(w0, 0), we = Math.Min(w0 + g.KernelW, w);
                        T v = dys[yo + i * ow + j] / T.CreateChecked(g.ExcludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0));
                        for (int a = hs; a < he; a++)
                            for (int b = ws; b < we; b++) dxp[a * w + b] += v;
                    }
                }
            }
        });
    }

    public void GlobalAvgPoolForward(Tensor<T> x, Tensor<T> y)
    {
        KernelContract.GlobalAvgPool(x, y, "x", "y");
        int planes = x.Shape[0] * x.Shape[1], hw = x.Shape[2] * x.Shape[3];
        var xs = x.AsSpan(); var ys = y.AsSpan();
        T inv = T.One / T.CreateChecked(hw);
        for (int p = 0; p < planes; p++) ys[p] = Sum(xs.Slice(p * hw, hw)) * inv;
    }

    public void GlobalAvgPoolBackward(Tensor<T> dy, Tensor<T> dx)
    {
        KernelContract.GlobalAvgPool(dx, dy, "dx", "dy");
        int planes = dx.Shape[0] * dx.Shape[1], hw = dx.Shape[2] * dx.Shape[3];
        var dxs = dx.AsSpan(); var dys = dy.AsSpan();
        T inv = T.One / T.CreateChecked(hw);
        for (int p = 0; p < planes; p++) dxs.Slice(p * hw, hw).Fill(dys[p] * inv);
    }
}
