using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// Tensor operators on ILGPU: the host builds the same collapsed loop nests as the CPU (TensorLayout) and hands them to
// one-thread-per-output kernels (GpuKernels.Tensor.cs); matmul runs on the tiled GEMM (IlgpuKernels.Gemm.cs).
public sealed partial class IlgpuKernels
{
    private static GpuStrided G(in Strided p, int opA = 0, int opB = 1, int offA = 0, int offB = 0)
    {
        var g = new GpuStrided { Rank = p.Rank, OffA = offA, OffB = offB };
        Span<int> d = stackalloc int[TensorLayout.MaxRank], a = stackalloc int[TensorLayout.MaxRank], b = stackalloc int[TensorLayout.MaxRank];
        for (int k = 0; k < p.Rank; k++) { d[k] = p.Dims[k]; a[k] = p.Stride(opA, k); b[k] = p.Stride(opB, k); }
        for (int k = p.Rank; k < TensorLayout.MaxRank; k++) d[k] = 1;
        g.D0 = d[0]; g.D1 = d[1]; g.D2 = d[2]; g.D3 = d[3]; g.D4 = d[4]; g.D5 = d[5];
        g.A0 = a[0]; g.A1 = a[1]; g.A2 = a[2]; g.A3 = a[3]; g.A4 = a[4]; g.A5 = a[5];
        g.B0 = b[0]; g.B1 = b[1]; g.B2 = b[2]; g.B3 = b[3]; g.B4 = b[4]; g.B5 = b[5];
        return g;
    }

    private static Strided Plan(int[] shape)
    {
        var p = new Strided { Rank = shape.Length };
        for (int k = 0; k < shape.Length; k++) p.Dims[k] = shape[k];
        return p;
    }

    private void Copy(Tensor<float> src, int srcOff, Tensor<float> dst, int dstOff, in Strided p, int count, float scale = 1f)
    {
        if (count == 0) return;
        Launch(GpuKernels.StridedCopy, count, V(src, "src"), V(dst, "dst"), G(p, 0, 1, srcOff, dstOff), scale);
    }

    public void BroadcastBinary(Tensor<float> a, Tensor<float> b, Tensor<float> y, BinaryOp op)
    {
        TensorLayout.CheckRank(y.Shape, "y");
        TensorLayout.CheckBroadcast(a.Shape, b.Shape, y.Shape);
        if (y.Length == 0) return;
        var p = Plan(y.Shape);
        TensorLayout.BroadcastStrides(a.Shape, y.Shape, ref p, 0, "a", "y");
        TensorLayout.BroadcastStrides(b.Shape, y.Shape, ref p, 1, "b", "y");
        Launch(GpuKernels.Binary, y.Length, V(a, "a"), V(b, "b"), V(y, "y"), G(p), (int)op);
    }

    public void SumTo(Tensor<float> x, Tensor<float> y, float scale)
    {
        TensorLayout.CheckRank(x.Shape, "x"); TensorLayout.CheckRank(y.Shape, "y");
        var check = Plan(x.Shape);
        TensorLayout.BroadcastStrides(y.Shape, x.Shape, ref check, 0, "y", "x");
        if (y.Length == 0) return;
        int r = x.Rank, off = r - y.Rank, count = 1;
        var xs = TensorLayout.ContiguousStrides(x.Shape);
        var outer = new Strided { Rank = r }; var inner = new Strided { Rank = r };
        for (int k = 0; k < r; k++)
        {
            int yd = k - off >= 0 ? y.Shape[k - off] : 1;
            bool reduced = yd == 1 && x.Shape[k] != 1;
            outer.Dims[k] = yd; outer.SetStride(0, k, xs[k]);
            inner.Dims[k] = reduced ? x.Shape[k] : 1; inner.SetStride(0, k, xs[k]);
            if (reduced) count *= x.Shape[k];
        }
        Launch(GpuKernels.SumTo, y.Length, V(x, "x"), V(y, "y"), G(outer), G(inner), count, scale);
    }

    public void BroadcastTo(Tensor<float> x, Tensor<float> y, float scale)
    {
        TensorLayout.CheckRank(y.Shape, "y");
        var p = Plan(y.Shape);
        TensorLayout.BroadcastStrides(x.Shape, y.Shape, ref p, 0, "x", "y");
        TensorLayout.Contiguous(y.Shape, ref p, 1);
        Copy(x, 0, y, 0, p, y.Length, scale);
    }

    public void Permute(Tensor<float> x, Tensor<float> y, ReadOnlySpan<int> perm)
    {
        TensorLayout.CheckRank(x.Shape, "x");
        TensorLayout.CheckPermutation(x.Shape, y.Shape, perm);
        var p = Plan(y.Shape);
        var xs = TensorLayout.ContiguousStrides(x.Shape);
        for (int k = 0; k < perm.Length; k++) p.SetStride(0, k, xs[perm[k]]);
        TensorLayout.Contiguous(y.Shape, ref p, 1);
        Copy(x, 0, y, 0, p, y.Length);
    }

    public void Slice(Tensor<float> x, Tensor<float> y, int axis, int start, int step)
    {
        TensorLayout.CheckSlice(x.Shape, y.Shape, axis, start, step, "x", "y");
        var p = Plan(y.Shape);
        var xs = TensorLayout.ContiguousStrides(x.Shape);
        for (int k = 0; k < x.Rank; k++) p.SetStride(0, k, k == axis ? xs[k] * step : xs[k]);
        TensorLayout.Contiguous(y.Shape, ref p, 1);
        Copy(x, start * xs[axis], y, 0, p, y.Length);
    }

    public void SliceBackward(Tensor<float> dy, Tensor<float> dx, int axis, int start, int step)
    {
        TensorLayout.CheckSlice(dx.Shape, dy.Shape, axis, start, step, "dx", "dy");
        Fill(dx, 0f);
        var p = Plan(dy.Shape);
        var xs = TensorLayout.ContiguousStrides(dx.Shape);
        TensorLayout.Contiguous(dy.Shape, ref p, 0);
        for (int k = 0; k < dx.Rank; k++) p.SetStride(1, k, k == axis ? xs[k] * step : xs[k]);
        Copy(dy, 0, dx, start * xs[axis], p, dy.Length);
    }

    private static int[][] Shapes(ReadOnlySpan<Tensor<float>> ts)
    {
        var r = new int[ts.Length][];
        for (int i = 0; i < ts.Length; i++) r[i] = ts[i].Shape;
        return r;
    }

    public void Concat(ReadOnlySpan<Tensor<float>> inputs, Tensor<float> y, int axis)
    {
        TensorLayout.CheckConcat(Shapes(inputs), y.Shape, axis, "inputs", "y");
        var ys = TensorLayout.ContiguousStrides(y.Shape);
        int at = 0;
        foreach (var t in inputs)
        {
            var p = Plan(t.Shape);
            TensorLayout.Contiguous(t.Shape, ref p, 0);
            for (int k = 0; k < y.Rank; k++) p.SetStride(1, k, ys[k]);
            Copy(t, 0, y, at * ys[axis], p, t.Length);
            at += t.Shape[axis];
        }
    }

    public void ConcatBackward(Tensor<float> dy, ReadOnlySpan<Tensor<float>> dxs, int axis)
    {
        TensorLayout.CheckConcat(Shapes(dxs), dy.Shape, axis, "dxs", "dy");
        var ys = TensorLayout.ContiguousStrides(dy.Shape);
        int at = 0;
        foreach (var t in dxs)
        {
            var p = Plan(t.Shape);
            for (int k = 0; k < dy.Rank; k++) p.SetStride(0, k, ys[k]);
            TensorLayout.Contiguous(t.Shape, ref p, 1);
            Copy(dy, at * ys[axis], t, 0, p, t.Length);
            at += t.Shape[axis];
        }
    }

    public void MatMul(Tensor<float> a, Tensor<float> b, Tensor<float> y)
    {
        var (m, k, n, _) = TensorLayout.CheckMatMul(a.Shape, b.Shape, y.Shape, "a", "b", "y");
        if (y.Length == 0) return;
        var p = TensorLayout.BatchStrides(a.Shape, b.Shape, y.Shape);
        MatMulTiled(V(a, "a"), V(b, "b"), V(y, "y"), G(p), y.Length / (m * n), m, k, n);
    }

    public void MatMulBackwardA(Tensor<float> dy, Tensor<float> b, Tensor<float> da)
    {
        var (m, k, n, nb) = TensorLayout.CheckMatMul(da.Shape, b.Shape, dy.Shape, "da", "b", "dy");
        if (da.Length == 0) return;
        var p = TensorLayout.BatchStrides(da.Shape, b.Shape, dy.Shape);
        if (da.Length / (m * k) == nb && n > 0) { MatMulBackwardATiled(V(dy, "dy"), V(b, "b"), V(da, "da"), G(p), nb, m, k, n); return; }
        // a broadcast over batches: its gradient sums several products (one thread per element of da)
        Launch(GpuKernels.MatMulBackwardA, da.Length, V(dy, "dy"), V(b, "b"), V(da, "da"), G(p), nb, m, k, n);
    }

    public void MatMulBackwardB(Tensor<float> a, Tensor<float> dy, Tensor<float> db)
    {
        var (m, k, n, nb) = TensorLayout.CheckMatMul(a.Shape, db.Shape, dy.Shape, "a", "db", "dy");
        if (db.Length == 0) return;
        var p = TensorLayout.BatchStrides(a.Shape, db.Shape, dy.Shape);
        if (db.Length / (k * n) == nb && m > 0) { MatMulBackwardBTiled(V(a, "a"), V(dy, "dy"), V(db, "db"), G(p), nb, m, k, n); return; }
        Launch(GpuKernels.MatMulBackwardB, db.Length, V(a, "a"), V(dy, "dy"), V(db, "db"), G(p), nb, m, k, n);
    }

    public void Gram(Tensor<float> x, Tensor<float> g)
    {
        var (_, c, hw) = TensorLayout.CheckGram(x.Shape, g.Shape, "x", "g");
        if (g.Length == 0) return;
        Launch(GpuKernels.Gram, g.Length, V(x, "x"), V(g, "g"), c, hw, 1f / ((float)c * hw));
    }

    public void GramBackward(Tensor<float> dg, Tensor<float> x, Tensor<float> dx)
    {
        var (_, c, hw) = TensorLayout.CheckGram(x.Shape, dg.Shape, "x", "dg");
        dx.CheckShape("dx", x.Shape);
        if (dx.Length == 0) return;
        Launch(GpuKernels.GramBackward, dx.Length, V(dg, "dg"), V(x, "x"), V(dx, "dx"), c, hw, 1f / ((float)c * hw));
    }
}
