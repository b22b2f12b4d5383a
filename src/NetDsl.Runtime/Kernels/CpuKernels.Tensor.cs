using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

[InlineArray(TensorLayout.MaxRank)] internal struct Int6 { private int _e; }
[InlineArray(3 * TensorLayout.MaxRank)] internal struct Int18 { private int _e; }

/// <summary>
/// A loop nest over <see cref="Dims"/> with up to three operands, each with its own strides (elements; 0 where an operand is
/// broadcast): operand o's stride of dim k is <c>S[o * 6 + k]</c>. <see cref="TensorLayout.Collapse"/> merges dims that are
/// contiguous for every operand, so most loops end with one long innermost row.
/// </summary>
internal struct Strided
{
    public int Rank;
    public Int6 Dims;
    public Int18 S;
    public readonly int Stride(int op, int k) => S[op * TensorLayout.MaxRank + k];
    public void SetStride(int op, int k, int v) => S[op * TensorLayout.MaxRank + k] = v;
    public readonly int Inner => Dims[Rank - 1];
    public readonly int Rows { get { int r = 1; for (int k = 0; k < Rank - 1; k++) r *= Dims[k]; return r; } }
    /// <summary>Offset of operand <paramref name="op"/> at the start of innermost row <paramref name="row"/>.</summary>
    public readonly int RowOffset(int row, int op)
    {
        int off = 0;
        for (int k = Rank - 2; k >= 0; k--) { int d = Dims[k]; off += row % d * S[op * TensorLayout.MaxRank + k]; row /= d; }
        return off;
    }
}

/// <summary>Shape checks and strides shared by the CPU and ILGPU tensor-op kernels (row-major, up to 6 dims).</summary>
internal static class TensorLayout
{
    public const int MaxRank = 6;

    public static string F(int[] s) => Tensor<float>.Format(s);

    public static void CheckRank(int[] shape, string name, int min = 1)
    {
        if (shape.Length < min || shape.Length > MaxRank)
            throw new ArgumentException($"{name}: expected {min} to {MaxRank} dims, got {F(shape)}", name);
    }

    public static void Contiguous(int[] shape, ref Strided p, int op)
    {
        int s = 1;
        for (int k = shape.Length - 1; k >= 0; k--) { p.SetStride(op, k, s); s *= shape[k]; }
    }

    /// <summary>Row-major strides of <paramref name="shape"/> into <paramref name="s"/> (no allocation: kernels pass a stackalloc'd span).</summary>
    public static Span<int> ContiguousStrides(int[] shape, Span<int> s)
    {
        s = s[..shape.Length]; int m = 1;
        for (int k = shape.Length - 1; k >= 0; k--) { s[k] = m; m *= shape[k]; }
        return s;
    }

    public static int[] ContiguousStrides(int[] shape)
    {
        var s = new int[shape.Length]; int m = 1;
        for (int k = shape.Length - 1; k >= 0; k--) { s[k] = m; m *= shape[k]; }
        return s;
    }

    /// <summary>Strides of <paramref name="x"/> broadcast (aligned from the right) to <paramref name="to"/>: 0 where x has 1 or no dim; throws if x does not broadcast.</summary>
    public static void BroadcastStrides(ReadOnlySpan<int> x, ReadOnlySpan<int> to, ref Strided p, int op, string xName, string toName)
    {
        if (x.Length > to.Length) throw new ArgumentException($"{xName}: shape {F(x.ToArray())} does not broadcast to {toName} {F(to.ToArray())}", xName);
        int s = 1, off = to.Length - x.Length;
        for (int k = to.Length - 1; k >= 0; k--)
        {
            int i = k - off;
            if (i < 0) { p.SetStride(op, k, 0); continue; }
            if (x[i] == to[k]) p.SetStride(op, k, to[k] == 1 ? 0 : s);
            else if (x[i] == 1) p.SetStride(op, k, 0);
            else throw new ArgumentException($"{xName}: shape {F(x.ToArray())} does not broadcast to {toName} {F(to.ToArray())} (dim {i}: {x[i]} vs {to[k]})", xName);
            s *= x[i];
        }
    }

    /// <summary>The broadcast shape of a and b must be y's.</summary>
    public static void CheckBroadcast(int[] a, int[] b, int[] y)
    {
        int r = Math.Max(a.Length, b.Length);
        bool ok = y.Length == r;
        for (int k = 0; ok && k < r; k++)
        {
            int da = k - (r - a.Length) >= 0 ? a[k - (r - a.Length)] : 1, db = k - (r - b.Length) >= 0 ? b[k - (r - b.Length)] : 1;
            int d = da == db ? da : da == 1 ? db : db == 1 ? da : -1;
            ok = d >= 0 && y[k] == d;
        }
        if (!ok) throw new ArgumentException($"y: expected the broadcast shape of a {F(a)} and b {F(b)}, got {F(y)}", "y");
    }

    /// <summary>Drops size-1 dims and merges neighbours that are contiguous for all <paramref name="ops"/> operands.</summary>
    public static Strided Collapse(in Strided p, int ops)
    {
        var q = new Strided();
        int r = 0;
        for (int k = 0; k < p.Rank; k++)
        {
            if (p.Dims[k] == 1) continue;
            q.Dims[r] = p.Dims[k];
            for (int o = 0; o < ops; o++) q.SetStride(o, r, p.Stride(o, k));
            r++;
        }
        if (r == 0) { q.Rank = 1; q.Dims[0] = 1; return q; }
        var m = new Strided { Rank = 1 };
        m.Dims[0] = q.Dims[0];
        for (int o = 0; o < ops; o++) m.SetStride(o, 0, q.Stride(o, 0));
        for (int k = 1; k < r; k++)
        {
            int last = m.Rank - 1;
            bool merge = true;
            for (int o = 0; o < ops; o++) merge &= m.Stride(o, last) == q.Stride(o, k) * q.Dims[k];
            if (merge)
            {
                m.Dims[last] *= q.Dims[k];
                for (int o = 0; o < ops; o++) m.SetStride(o, last, q.Stride(o, k));
            }
            else
            {
                m.Dims[m.Rank] = q.Dims[k];
                for (int o = 0; o < ops; o++) m.SetStride(o, m.Rank, q.Stride(o, k));
                m.Rank++;
            }
        }
        return m;
    }

    /// <summary>matmul sizes: a [B…, M, K], b [B…, K, N], y [B…, M, N] with broadcast batch dims.</summary>
    public static (int M, int K, int N, int Batch) CheckMatMul(int[] a, int[] b, int[] y, string aName, string bName, string yName)
    {
        CheckRank(a, aName, 2); CheckRank(b, bName, 2); CheckRank(y, yName, 2);
        int m = a[^2], k = a[^1], n = b[^1];
        if (b[^2] != k) throw new ArgumentException($"{bName}: expected [..., {k}, N] to match {aName} {F(a)}, got {F(b)}", bName);
        ReadOnlySpan<int> ab = a.AsSpan(0, a.Length - 2), bb = b.AsSpan(0, b.Length - 2);
        int r = Math.Max(ab.Length, bb.Length), batch = 1;
        bool shapeOk = y.Length == r + 2 && y[^2] == m && y[^1] == n;
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - ab.Length) >= 0 ? ab[i - (r - ab.Length)] : 1, db = i - (r - bb.Length) >= 0 ? bb[i - (r - bb.Length)] : 1;
            int d = da == db ? da : da == 1 ? db : db == 1 ? da : throw new ArgumentException($"{bName}: batch dims of {F(b)} do not broadcast with {aName} {F(a)}", bName);
            batch *= d;
            shapeOk &= y.Length == r + 2 && y[i] == d;
        }
        if (!shapeOk)
        {
            // the expected shape only for the message (no allocation on the normal path)
            var expected = new int[r + 2];
            for (int i = 0; i < r; i++)
            {
                int da = i - (r - ab.Length) >= 0 ? ab[i - (r - ab.Length)] : 1, db = i - (r - bb.Length) >= 0 ? bb[i - (r - bb.Length)] : 1;
                expected[i] = da == 1 ? db : da;
            }
            expected[r] = m; expected[r + 1] = n;
            throw new ArgumentException($"{yName}: expected shape {F(expected)}, got {F(y)}", yName);
        }
        return (m, k, n, batch);
    }

    /// <summary>Batch strides (in matrices) of a and b over y's batch dims: operand 0 = a, 1 = b; Dims = y's batch dims.</summary>
    public static Strided BatchStrides(int[] a, int[] b, int[] y)
    {
        var p = new Strided { Rank = Math.Max(1, y.Length - 2) };
        ReadOnlySpan<int> one = [1];
        ReadOnlySpan<int> yb = y.Length > 2 ? y.AsSpan(0, y.Length - 2) : one;
        for (int k = 0; k < yb.Length; k++) p.Dims[k] = yb[k];
        BroadcastStrides(a.Length > 2 ? a.AsSpan(0, a.Length - 2) : default, yb, ref p, 0, "a", "y");
        BroadcastStrides(b.Length > 2 ? b.AsSpan(0, b.Length - 2) : default, yb, ref p, 1, "b", "y");
        return p;
    }

    /// <summary>Offset (in matrices) of operand op for batch index bi (all of p's dims are batch dims).</summary>
    public static int BatchOffset(in Strided p, int bi, int op)
    {
        int off = 0;
        for (int k = p.Rank - 1; k >= 0; k--) { int d = p.Dims[k]; off += bi % d * p.Stride(op, k); bi /= d; }
        return off;
    }

    /// <summary>True when the batch dims of <paramref name="x"/> are y's (no broadcasting, so batches map one to one).</summary>
    public static bool SameBatch(int[] x, int[] y) => x.Length == y.Length && x.AsSpan(0, x.Length - 2).SequenceEqual(y.AsSpan(0, y.Length - 2));

    public static void CheckPermutation(int[] x, int[] y, ReadOnlySpan<int> perm)
    {
        bool ok = perm.Length == x.Length && y.Length == x.Length && x.Length <= MaxRank;
        Span<bool> seen = stackalloc bool[MaxRank];
        for (int i = 0; ok && i < perm.Length; i++)
        {
            ok = (uint)perm[i] < (uint)x.Length && !seen[perm[i]] && y[i] == x[perm[i]];
            if (ok) seen[perm[i]] = true;
        }
        if (!ok) throw new ArgumentException($"y: expected x {F(x)} permuted by ({string.Join(", ", perm.ToArray())}), got {F(y)}", "y");
    }

    public static void CheckSlice(int[] x, int[] y, int axis, int start, int step, string xName, string yName)
    {
        CheckRank(x, xName);
        if ((uint)axis >= (uint)x.Length || step < 1) throw new ArgumentException($"slice axis {axis} / step {step} invalid for {xName} {F(x)}", nameof(axis));
        bool like = y.Length == x.Length;
        for (int k = 0; like && k < x.Length; k++) like = k == axis || x[k] == y[k];
        if (!like || start < 0 || y[axis] < 1 || start + step * (y[axis] - 1) >= x[axis])
            throw new ArgumentException($"{yName}: expected {F(x)} sliced on axis {axis} from {start} by {step} (like {xName} except dim {axis}), got {F(y)}", yName);
    }

    public static void CheckConcat(int[][] parts, int[] y, int axis, string partName, string yName)
    {
        CheckConcatAxis(y, axis, yName);
        int total = 0;
        for (int i = 0; i < parts.Length; i++) total += CheckConcatPart(parts[i], i, y, axis, partName, yName);
        CheckConcatTotal(total, y, axis, yName);
    }

    public static void CheckConcatAxis(int[] y, int axis, string yName)
    {
        CheckRank(y, yName);
        if ((uint)axis >= (uint)y.Length) throw new ArgumentException($"concat axis {axis} is out of range for {yName} {F(y)}", nameof(axis));
    }

    /// <summary>Part <paramref name="i"/> of a concat must equal y except on the axis; returns its size there.</summary>
    public static int CheckConcatPart(int[] p, int i, int[] y, int axis, string partName, string yName)
    {
        bool ok = p.Length == y.Length;
        for (int k = 0; ok && k < y.Length; k++) ok = k == axis || p[k] == y[k];
        if (!ok)
        {
            var e = (int[])y.Clone(); if (p.Length == y.Length) e[axis] = p[axis];
            throw new ArgumentException($"{partName}[{i}]: expected shape {F(e)} (like {yName} except dim {axis}), got {F(p)}", partName);
        }
        return p[axis];
    }

    public static void CheckConcatTotal(int total, int[] y, int axis, string yName)
    {
        if (total != y[axis]) { var e = (int[])y.Clone(); e[axis] = total; throw new ArgumentException($"{yName}: expected shape {F(e)}, got {F(y)}", yName); }
    }

    public static (int N, int C, int P) CheckGram(int[] x, int[] g, string xName, string gName)
    {
        if (x.Length != 4) throw new ArgumentException($"{xName}: expected shape [N, C, H, W], got {F(x)}", xName);
        int[] e = [x[0], x[1], x[1]];
        if (!e.AsSpan().SequenceEqual(g)) throw new ArgumentException($"{gName}: expected shape {F(e)}, got {F(g)}", gName);
        return (x[0], x[1], x[2] * x[3]);
    }
}

// Tensor operators (docs/ops/tensor.md) on the CPU: strided loop nests over collapsed dims (one long innermost row, vectorized
// when it is contiguous or broadcast), matmul on the packed GEMM, gram on the dot-product GEMM.
public sealed partial class CpuKernels<T>
{
    private static Strided Plan1(int[] shape)
    {
        var p = new Strided { Rank = shape.Length };
        for (int k = 0; k < shape.Length; k++) p.Dims[k] = shape[k];
        return p;
    }

    private static int RowWorkers(long elements, int rows) => Workers(elements * 4, rows);

    // ------------------------------------------------------------------ broadcasting arithmetic
    public void BroadcastBinary(Tensor<T> a, Tensor<T> b, Tensor<T> y, BinaryOp op)
    {
        TensorLayout.CheckRank(y.Shape, "y");
        TensorLayout.CheckBroadcast(a.Shape, b.Shape, y.Shape);
        if (y.Length == 0) return;
        var p = Plan1(y.Shape);
        TensorLayout.BroadcastStrides(a.Shape, y.Shape, ref p, 0, "a", "y");
        TensorLayout.BroadcastStrides(b.Shape, y.Shape, ref p, 1, "b", "y");
        TensorLayout.Contiguous(y.Shape, ref p, 2);
        p = TensorLayout.Collapse(p, 3);
        int rows = p.Rows;
        var state = (a, b, y, p);
        int w = RowWorkers(y.Length, rows);
        switch (op)
        {
            case BinaryOp.Add: Chunks(rows, w, state, static (s, lo, hi) => BinaryRows<AddF>(s.a, s.b, s.y, s.p, lo, hi)); break;
            case BinaryOp.Sub: Chunks(rows, w, state, static (s, lo, hi) => BinaryRows<SubF>(s.a, s.b, s.y, s.p, lo, hi)); break;
            case BinaryOp.Mul: Chunks(rows, w, state, static (s, lo, hi) => BinaryRows<MulF>(s.a, s.b, s.y, s.p, lo, hi)); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        }
    }

    private interface IBin { static abstract T F(T a, T b); static abstract Vector256<T> F(Vector256<T> a, Vector256<T> b); }
    private struct AddF : IBin { public static T F(T a, T b) => a + b; public static Vector256<T> F(Vector256<T> a, Vector256<T> b) => a + b; }
    private struct SubF : IBin { public static T F(T a, T b) => a - b; public static Vector256<T> F(Vector256<T> a, Vector256<T> b) => a - b; }
    private struct MulF : IBin { public static T F(T a, T b) => a * b; public static Vector256<T> F(Vector256<T> a, Vector256<T> b) => a * b; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BinaryRows<TF>(Tensor<T> at, Tensor<T> bt, Tensor<T> yt, Strided p, int lo, int hi) where TF : struct, IBin
    {
        ReadOnlySpan<T> a = at.AsSpan(), b = bt.AsSpan(); Span<T> y = yt.AsSpan();
        int n = p.Inner, sa = p.Stride(0, p.Rank - 1), sb = p.Stride(1, p.Rank - 1), w = Vector256<T>.Count;
        for (int row = lo; row < hi; row++)
        {
            int ao = p.RowOffset(row, 0), bo = p.RowOffset(row, 1), yo = p.RowOffset(row, 2);
            ref T ar = ref Unsafe.Add(ref MemoryMarshal.GetReference(a), ao);
            ref T br = ref Unsafe.Add(ref MemoryMarshal.GetReference(b), bo);
            ref T yr = ref Unsafe.Add(ref MemoryMarshal.GetReference(y), yo);
            int i = 0;
            if (sa == 1 && sb == 1)
                for (; i <= n - w; i += w) TF.F(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            else if (sa == 1 && sb == 0)
            {
                var bv = Vector256.Create(br);
                for (; i <= n - w; i += w) TF.F(Vector256.LoadUnsafe(ref ar, (nuint)i), bv).StoreUnsafe(ref yr, (nuint)i);
            }
            else if (sa == 0 && sb == 1)
            {
                var av = Vector256.Create(ar);
                for (; i <= n - w; i += w) TF.F(av, Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            }
            for (; i < n; i++) Unsafe.Add(ref yr, i) = TF.F(Unsafe.Add(ref ar, i * sa), Unsafe.Add(ref br, i * sb));
        }
    }

    public void SumTo(Tensor<T> x, Tensor<T> y, T scale)
    {
        TensorLayout.CheckRank(x.Shape, "x");
        var p = Plan1(x.Shape);
        TensorLayout.Contiguous(x.Shape, ref p, 0);
        TensorLayout.BroadcastStrides(y.Shape, x.Shape, ref p, 1, "y", "x");
        TensorLayout.CheckRank(y.Shape, "y");
        var ys = y.AsSpan(); var xs = x.AsSpan();
        ys.Clear();
        if (x.Length == 0) return;
        p = TensorLayout.Collapse(p, 2);
        int n = p.Inner, sy = p.Stride(1, p.Rank - 1), rows = p.Rows;
        for (int row = 0; row < rows; row++)
        {
            var xr = xs.Slice(p.RowOffset(row, 0), n);
            int yo = p.RowOffset(row, 1);
            if (sy == 1) AddInto(xr, ys.Slice(yo, n));
            else ys[yo] += Sum(xr);
        }
        if (scale != T.One) ScaleInPlace(ys, scale);
    }

    private static void ScaleInPlace(Span<T> s, T k)
    {
        int i = 0, w = Vector256<T>.Count;
        ref T r = ref MemoryMarshal.GetReference(s);
        var kv = Vector256.Create(k);
        for (; i <= s.Length - w; i += w) (Vector256.LoadUnsafe(ref r, (nuint)i) * kv).StoreUnsafe(ref r, (nuint)i);
        for (; i < s.Length; i++) Unsafe.Add(ref r, i) *= k;
    }

    public void BroadcastTo(Tensor<T> x, Tensor<T> y, T scale)
    {
        TensorLayout.CheckRank(y.Shape, "y");
        var p = Plan1(y.Shape);
        TensorLayout.BroadcastStrides(x.Shape, y.Shape, ref p, 0, "x", "y");
        TensorLayout.Contiguous(y.Shape, ref p, 1);
        if (y.Length == 0) return;
        CopyStrided(x, 0, y, 0, TensorLayout.Collapse(p, 2), scale);
    }

    /// <summary>dst[dstOff + Σ i_k·S1_k] = scale · src[srcOff + Σ i_k·S0_k] over p's dims; rows split across cores when large.</summary>
    private static void CopyStrided(Tensor<T> src, int srcOff, Tensor<T> dst, int dstOff, Strided p, T scale)
    {
        int rows = p.Rows;
        Chunks(rows, RowWorkers((long)rows * p.Inner, rows), (src, srcOff, dst, dstOff, p, scale), static (s, lo, hi) =>
            CopyRows(s.src.AsSpan(), s.srcOff, s.dst.AsSpan(), s.dstOff, s.p, s.scale, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyRows(ReadOnlySpan<T> src, int srcOff, Span<T> dst, int dstOff, in Strided p, T scale, int lo, int hi)
    {
        int n = p.Inner, ss = p.Stride(0, p.Rank - 1), ds = p.Stride(1, p.Rank - 1);
        bool one = scale == T.One;
        for (int row = lo; row < hi; row++)
        {
            int so = srcOff + p.RowOffset(row, 0), d0 = dstOff + p.RowOffset(row, 1);
            if (ss == 1 && ds == 1)
            {
                src.Slice(so, n).CopyTo(dst.Slice(d0, n));
                if (!one) ScaleInPlace(dst.Slice(d0, n), scale);
            }
            else if (ss == 0 && ds == 1) dst.Slice(d0, n).Fill(scale * src[so]);
            else
            {
                ref T sr = ref Unsafe.Add(ref MemoryMarshal.GetReference(src), so);
                ref T dr = ref Unsafe.Add(ref MemoryMarshal.GetReference(dst), d0);
                for (int i = 0; i < n; i++) Unsafe.Add(ref dr, i * ds) = scale * Unsafe.Add(ref sr, i * ss);
            }
        }
    }

    // ------------------------------------------------------------------ copies: permute, slice, concat
    public void Permute(Tensor<T> x, Tensor<T> y, ReadOnlySpan<int> perm)
    {
        TensorLayout.CheckRank(x.Shape, "x");
        TensorLayout.CheckPermutation(x.Shape, y.Shape, perm);
        if (y.Length == 0) return;
        var p = Plan1(y.Shape);
        var xs = TensorLayout.ContiguousStrides(x.Shape, stackalloc int[TensorLayout.MaxRank]);
        for (int k = 0; k < perm.Length; k++) p.SetStride(0, k, xs[perm[k]]);
        TensorLayout.Contiguous(y.Shape, ref p, 1);
        CopyStrided(x, 0, y, 0, TensorLayout.Collapse(p, 2), T.One);
    }

    private static Strided SlicePlan(int[] x, int[] y, int axis, int step, out int offset, int srcOp, int dstOp)
    {
        var p = Plan1(y);
        var xs = TensorLayout.ContiguousStrides(x, stackalloc int[TensorLayout.MaxRank]);
        for (int k = 0; k < x.Length; k++) p.SetStride(srcOp, k, k == axis ? xs[k] * step : xs[k]);
        TensorLayout.Contiguous(y, ref p, dstOp);
        offset = xs[axis];
        return TensorLayout.Collapse(p, 2);
    }

    public void Slice(Tensor<T> x, Tensor<T> y, int axis, int start, int step)
    {
        TensorLayout.CheckSlice(x.Shape, y.Shape, axis, start, step, "x", "y");
        if (y.Length == 0) return;
        var p = SlicePlan(x.Shape, y.Shape, axis, step, out int stride, 0, 1);
        CopyStrided(x, start * stride, y, 0, p, T.One);
    }

    public void SliceBackward(Tensor<T> dy, Tensor<T> dx, int axis, int start, int step)
    {
        TensorLayout.CheckSlice(dx.Shape, dy.Shape, axis, start, step, "dx", "dy");
        dx.AsSpan().Clear();
        if (dy.Length == 0) return;
        var p = SlicePlan(dx.Shape, dy.Shape, axis, step, out int stride, 1, 0);
        CopyStrided(dy, 0, dx, start * stride, p, T.One);
    }

    /// <summary>Checks the parts of a concat against y without collecting their shapes (no allocation per call).</summary>
    private static void CheckConcat(ReadOnlySpan<Tensor<T>> parts, int[] y, int axis, string partName, string yName)
    {
        TensorLayout.CheckConcatAxis(y, axis, yName);
        int total = 0;
        for (int i = 0; i < parts.Length; i++) total += TensorLayout.CheckConcatPart(parts[i].Shape, i, y, axis, partName, yName);
        TensorLayout.CheckConcatTotal(total, y, axis, yName);
    }

    /// <summary>The plan copying part (shape <paramref name="part"/>) to or from its block of y along axis; offset in y's elements.</summary>
    private static Strided PartPlan(int[] part, int[] y, int axis, int at, out int offset, int partOp, int yOp)
    {
        var p = Plan1(part);
        TensorLayout.Contiguous(part, ref p, partOp);
        var ys = TensorLayout.ContiguousStrides(y, stackalloc int[TensorLayout.MaxRank]);
        for (int k = 0; k < y.Length; k++) p.SetStride(yOp, k, ys[k]);
        offset = at * ys[axis];
        return TensorLayout.Collapse(p, 2);
    }

    public void Concat(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> y, int axis)
    {
        CheckConcat(inputs, y.Shape, axis, "inputs", "y");
        int at = 0;
        foreach (var t in inputs)
        {
            if (t.Length > 0) CopyStrided(t, 0, y, 0 + Offset(t.Shape, y.Shape, axis, at, out var p, 0, 1), p, T.One);
            at += t.Shape[axis];
        }
    }

    public void ConcatBackward(Tensor<T> dy, ReadOnlySpan<Tensor<T>> dxs, int axis)
    {
        CheckConcat(dxs, dy.Shape, axis, "dxs", "dy");
        int at = 0;
        foreach (var t in dxs)
        {
            if (t.Length > 0)
            {
                int off = Offset(t.Shape, dy.Shape, axis, at, out var p, 1, 0);
                CopyStrided(dy, off, t, 0, p, T.One);
            }
            at += t.Shape[axis];
        }
    }

    private static int Offset(int[] part, int[] y, int axis, int at, out Strided p, int partOp, int yOp)
    {
        p = PartPlan(part, y, axis, at, out int offset, partOp, yOp);
        return offset;
    }

    // ------------------------------------------------------------------ matmul on the packed GEMM
    public void MatMul(Tensor<T> a, Tensor<T> b, Tensor<T> y)
    {
        var (m, k, n, nb) = TensorLayout.CheckMatMul(a.Shape, b.Shape, y.Shape, "a", "b", "y");
        if (y.Length == 0) return;
        long work = (long)y.Length * k;
        if (b.Rank == 2)
        {
            // b is shared by every batch: one GEMM over all rows of a ([B…·M, K] · [K, N])
            int rows = a.Length / Math.Max(1, k);
            RowBlocks(rows, work, (a, b, y, k, n), static (s, lo, hi) =>
                Gemm(hi - lo, s.n, s.k, s.a.AsSpan().Slice(lo * s.k), s.k, 1, s.b.AsSpan(), s.n, 1, s.y.AsSpan().Slice(lo * s.n), s.n,
                    false, BiasKind.None, default, default(Identity<T>)));
            return;
        }
        var p = TensorLayout.BatchStrides(a.Shape, b.Shape, y.Shape);
        DynamicChunks(nb, Workers(work, nb), (a, b, y, p, m, k, n), static (s, lo, hi) =>
        {
            for (int bi = lo; bi < hi; bi++)
            {
                int ao = TensorLayout.BatchOffset(s.p, bi, 0) * s.m * s.k, bo = TensorLayout.BatchOffset(s.p, bi, 1) * s.k * s.n;
                Gemm(s.m, s.n, s.k, s.a.AsSpan().Slice(ao), s.k, 1, s.b.AsSpan().Slice(bo), s.n, 1, s.y.AsSpan().Slice(bi * s.m * s.n), s.n,
                    false, BiasKind.None, default, default(Identity<T>));
            }
        });
    }

    public void MatMulBackwardA(Tensor<T> dy, Tensor<T> b, Tensor<T> da)
    {
        var (m, k, n, nb) = TensorLayout.CheckMatMul(da.Shape, b.Shape, dy.Shape, "da", "b", "dy");
        if (da.Length == 0) return;
        long work = (long)dy.Length * k;
        if (b.Rank == 2)
        {
            // dA rows = dY rows · bᵀ: B'(j, p) = b[p·N + j]
            int rows = da.Length / Math.Max(1, k);
            RowBlocks(rows, work, (dy, b, da, k, n), static (s, lo, hi) =>
                Gemm(hi - lo, s.k, s.n, s.dy.AsSpan().Slice(lo * s.n), s.n, 1, s.b.AsSpan(), 1, s.n, s.da.AsSpan().Slice(lo * s.k), s.k,
                    false, BiasKind.None, default, default(Identity<T>)));
            return;
        }
        var p = TensorLayout.BatchStrides(da.Shape, b.Shape, dy.Shape);
        bool oneToOne = TensorLayout.SameBatch(da.Shape, dy.Shape);
        if (!oneToOne) da.AsSpan().Clear();
        DynamicChunks(nb, oneToOne ? Workers(work, nb) : 1, (dy, b, da, p, m, k, n, acc: !oneToOne), static (s, lo, hi) =>
        {
            for (int bi = lo; bi < hi; bi++)
            {
                int ao = TensorLayout.BatchOffset(s.p, bi, 0) * s.m * s.k, bo = TensorLayout.BatchOffset(s.p, bi, 1) * s.k * s.n;
                Gemm(s.m, s.k, s.n, s.dy.AsSpan().Slice(bi * s.m * s.n), s.n, 1, s.b.AsSpan().Slice(bo), 1, s.n, s.da.AsSpan().Slice(ao), s.k,
                    s.acc, BiasKind.None, default, default(Identity<T>));
            }
        });
    }

    public void MatMulBackwardB(Tensor<T> a, Tensor<T> dy, Tensor<T> db)
    {
        var (m, k, n, nb) = TensorLayout.CheckMatMul(a.Shape, db.Shape, dy.Shape, "a", "db", "dy");
        if (db.Length == 0) return;
        long work = (long)dy.Length * k;
        if (db.Rank == 2)
        {
            // dB [K, N] = Aᵀ·dY over all rows of a: A'(p, i) = a[i·K + p]; split over the K output rows
            int rows = a.Length / Math.Max(1, k);
            RowBlocks(k, work, (a, dy, db, k, n, rows), static (s, lo, hi) =>
                Gemm(hi - lo, s.n, s.rows, s.a.AsSpan().Slice(lo), 1, s.k, s.dy.AsSpan(), s.n, 1, s.db.AsSpan().Slice(lo * s.n), s.n,
                    false, BiasKind.None, default, default(Identity<T>)));
            return;
        }
        var p = TensorLayout.BatchStrides(a.Shape, db.Shape, dy.Shape);
        bool oneToOne = TensorLayout.SameBatch(db.Shape, dy.Shape);
        if (!oneToOne) db.AsSpan().Clear();
        DynamicChunks(nb, oneToOne ? Workers(work, nb) : 1, (a, dy, db, p, m, k, n, acc: !oneToOne), static (s, lo, hi) =>
        {
            for (int bi = lo; bi < hi; bi++)
            {
                int ao = TensorLayout.BatchOffset(s.p, bi, 0) * s.m * s.k, bo = TensorLayout.BatchOffset(s.p, bi, 1) * s.k * s.n;
                Gemm(s.k, s.n, s.m, s.a.AsSpan().Slice(ao), 1, s.k, s.dy.AsSpan().Slice(bi * s.m * s.n), s.n, 1, s.db.AsSpan().Slice(bo), s.n,
                    s.acc, BiasKind.None, default, default(Identity<T>));
            }
        });
    }

    // ------------------------------------------------------------------ gram
    public void Gram(Tensor<T> x, Tensor<T> g)
    {
        var (n, c, hw) = TensorLayout.CheckGram(x.Shape, g.Shape, "x", "g");
        if (g.Length == 0) return;
        T s = T.One / T.CreateChecked((long)c * hw);
        Chunks(n, Workers(2L * n * c * c * hw, n), (x, g, c, hw, s), static (st, lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                var f = st.x.AsSpan().Slice(i * st.c * st.hw, st.c * st.hw);
                var gi = st.g.AsSpan().Slice(i * st.c * st.c, st.c * st.c);
                GemmNT(st.c, st.c, st.hw, f, st.hw, f, st.hw, gi, st.c, false);
                ScaleInPlace(gi, st.s);
            }
        });
    }

    public void GramBackward(Tensor<T> dg, Tensor<T> x, Tensor<T> dx)
    {
        var (n, c, hw) = TensorLayout.CheckGram(x.Shape, dg.Shape, "x", "dg");
        dx.CheckShape("dx", x.Shape);
        if (dx.Length == 0) return;
        T s = T.One / T.CreateChecked((long)c * hw);
        Chunks(n, Workers(4L * n * c * c * hw, n), (x, dg, dx, c, hw, s), static (st, lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                var f = st.x.AsSpan().Slice(i * st.c * st.hw, st.c * st.hw);
                var d = st.dg.AsSpan().Slice(i * st.c * st.c, st.c * st.c);
                var o = st.dx.AsSpan().Slice(i * st.c * st.hw, st.c * st.hw);
                // dF = dG·F + dGᵀ·F, then / (C·H·W)
                Gemm(st.c, st.hw, st.c, d, st.c, 1, f, st.hw, 1, o, st.hw, false, BiasKind.None, default, default(Identity<T>));
                Gemm(st.c, st.hw, st.c, d, 1, st.c, f, st.hw, 1, o, st.hw, true, BiasKind.None, default, default(Identity<T>));
                ScaleInPlace(o, st.s);
            }
        });
    }
}
