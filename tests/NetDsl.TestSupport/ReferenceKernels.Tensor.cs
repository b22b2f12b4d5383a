using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive tensor-op kernels: every output element from its multi-index, written out plainly (no strides, no collapsing).
public sealed partial class ReferenceKernels<T>
{
    private static int[] Unravel(int i, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int k = shape.Length - 1; k >= 0; k--) { idx[k] = i % shape[k]; i /= shape[k]; }
        return idx;
    }

    private static int Ravel(int[] idx, int[] shape)
    {
        int o = 0;
        for (int k = 0; k < shape.Length; k++) o = o * shape[k] + idx[k];
        return o;
    }

    /// <summary>The element of x (shape xs) that broadcasting reads for output multi-index idx (right-aligned, size-1 dims read 0).</summary>
    private static int BroadcastIndex(int[] idx, int[] xs)
    {
        int off = idx.Length - xs.Length;
        var j = new int[xs.Length];
        for (int k = 0; k < xs.Length; k++) j[k] = xs[k] == 1 ? 0 : idx[k + off];
        return Ravel(j, xs);
    }

    private static void SameShape(int[] expected, Tensor<T> t, string name) => t.CheckShape(name, expected);

    public void BroadcastBinary(Tensor<T> a, Tensor<T> b, Tensor<T> y, BinaryOp op)
    {
        int r = Math.Max(a.Rank, b.Rank);
        var e = new int[r];
        for (int k = 0; k < r; k++)
        {
            int da = k - (r - a.Rank) >= 0 ? a.Shape[k - (r - a.Rank)] : 1, db = k - (r - b.Rank) >= 0 ? b.Shape[k - (r - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1) throw new ArgumentException($"b: {Tensor<T>.Format(b.Shape)} does not broadcast with a {Tensor<T>.Format(a.Shape)}", nameof(b));
            e[k] = Math.Max(da, db);
        }
        SameShape(e, y, nameof(y));
        var A = a.AsSpan(); var B = b.AsSpan(); var Y = y.AsSpan();
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Unravel(i, y.Shape);
            T x = A[BroadcastIndex(idx, a.Shape)], z = B[BroadcastIndex(idx, b.Shape)];
            Y[i] = op switch { BinaryOp.Add => x + z, BinaryOp.Sub => x - z, _ => x * z };
        }
    }

    public void SumTo(Tensor<T> x, Tensor<T> y, T scale)
    {
        var Y = y.AsSpan(); var X = x.AsSpan();
        Y.Clear();
        for (int i = 0; i < x.Length; i++) Y[BroadcastIndex(Unravel(i, x.Shape), y.Shape)] += X[i];
        for (int i = 0; i < y.Length; i++) Y[i] *= scale;
    }

    public void BroadcastTo(Tensor<T> x, Tensor<T> y, T scale)
    {
        var Y = y.AsSpan(); var X = x.AsSpan();
        for (int i = 0; i < y.Length; i++) Y[i] = scale * X[BroadcastIndex(Unravel(i, y.Shape), x.Shape)];
    }

    public void MatMul(Tensor<T> a, Tensor<T> b, Tensor<T> y)
    {
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        if (b.Shape[^2] != k) throw new ArgumentException($"b: expected [..., {k}, N], got {Tensor<T>.Format(b.Shape)}", nameof(b));
        var A = a.AsSpan().ToArray(); var B = b.AsSpan().ToArray(); var Y = y.AsSpan();
        Y.Clear();
        var yb = y.Shape[..^2];
        int nb = yb.Aggregate(1, (p, d) => p * d);
        for (int bi = 0; bi < nb; bi++)
        {
            var idx = Unravel(bi, yb);
            int ab = BroadcastIndex(idx, a.Shape[..^2]), bb = BroadcastIndex(idx, b.Shape[..^2]);
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T s = T.Zero;
                for (int q = 0; q < k; q++) s += A[(ab * m + i) * k + q] * B[(bb * k + q) * n + j];
                Y[(bi * m + i) * n + j] = s;
            }
        }
    }

    public void MatMulBackwardA(Tensor<T> dy, Tensor<T> b, Tensor<T> da)
    {
        int m = da.Shape[^2], k = da.Shape[^1], n = b.Shape[^1];
        var DY = dy.AsSpan(); var B = b.AsSpan(); var DA = da.AsSpan();
        DA.Clear();
        var yb = dy.Shape[..^2];
        int nb = yb.Aggregate(1, (p, d) => p * d);
        for (int bi = 0; bi < nb; bi++)
        {
            var idx = Unravel(bi, yb);
            int ab = BroadcastIndex(idx, da.Shape[..^2]), bb = BroadcastIndex(idx, b.Shape[..^2]);
            for (int i = 0; i < m; i++)
            for (int q = 0; q < k; q++)
            for (int j = 0; j < n; j++)
                DA[(ab * m + i) * k + q] += DY[(bi * m + i) * n + j] * B[(bb * k + q) * n + j];
        }
    }

    public void MatMulBackwardB(Tensor<T> a, Tensor<T> dy, Tensor<T> db)
    {
        int m = a.Shape[^2], k = a.Shape[^1], n = db.Shape[^1];
        var DY = dy.AsSpan(); var A = a.AsSpan(); var DB = db.AsSpan();
        DB.Clear();
        var yb = dy.Shape[..^2];
        int nb = yb.Aggregate(1, (p, d) => p * d);
        for (int bi = 0; bi < nb; bi++)
        {
            var idx = Unravel(bi, yb);
            int ab = BroadcastIndex(idx, a.Shape[..^2]), bb = BroadcastIndex(idx, db.Shape[..^2]);
            for (int q = 0; q < k; q++)
            for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
                DB[(bb * k + q) * n + j] += A[(ab * m + i) * k + q] * DY[(bi * m + i) * n + j];
        }
    }

    public void Permute(Tensor<T> x, Tensor<T> y, ReadOnlySpan<int> perm)
    {
        var e = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) e[i] = x.Shape[perm[i]];
        SameShape(e, y, nameof(y));
        var X = x.AsSpan(); var Y = y.AsSpan();
        for (int i = 0; i < y.Length; i++)
        {
            var yi = Unravel(i, y.Shape);
            var xi = new int[x.Rank];
            for (int d = 0; d < perm.Length; d++) xi[perm[d]] = yi[d];
            Y[i] = X[Ravel(xi, x.Shape)];
        }
    }

    public void Slice(Tensor<T> x, Tensor<T> y, int axis, int start, int step)
    {
        var X = x.AsSpan(); var Y = y.AsSpan();
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Unravel(i, y.Shape);
            idx[axis] = start + step * idx[axis];
            Y[i] = X[Ravel(idx, x.Shape)];
        }
    }

    public void SliceBackward(Tensor<T> dy, Tensor<T> dx, int axis, int start, int step)
    {
        var DX = dx.AsSpan(); var DY = dy.AsSpan();
        for (int i = 0; i < dx.Length; i++)
        {
            var idx = Unravel(i, dx.Shape);
            int d = idx[axis] - start;
            if (d < 0 || d % step != 0 || d / step >= dy.Shape[axis]) { DX[i] = T.Zero; continue; }
            idx[axis] = d / step;
            DX[i] = DY[Ravel(idx, dy.Shape)];
        }
    }

    public void Concat(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> y, int axis)
    {
        var Y = y.AsSpan();
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Unravel(i, y.Shape);
            int p = 0;
            while (idx[axis] >= inputs[p].Shape[axis]) idx[axis] -= inputs[p++].Shape[axis];
            Y[i] = inputs[p].AsSpan()[Ravel(idx, inputs[p].Shape)];
        }
    }

    public void ConcatBackward(Tensor<T> dy, ReadOnlySpan<Tensor<T>> dxs, int axis)
    {
        var DY = dy.AsSpan();
        for (int i = 0; i < dy.Length; i++)
        {
            var idx = Unravel(i, dy.Shape);
            int p = 0;
            while (idx[axis] >= dxs[p].Shape[axis]) idx[axis] -= dxs[p++].Shape[axis];
            dxs[p].AsSpan()[Ravel(idx, dxs[p].Shape)] = DY[i];
        }
    }

    public void Gram(Tensor<T> x, Tensor<T> g)
    {
        int N = x.Shape[0], Ch = x.Shape[1], P = x.Shape[2] * x.Shape[3];
        SameShape([N, Ch, Ch], g, nameof(g));
        var X = x.AsSpan(); var G = g.AsSpan();
        for (int n = 0; n < N; n++)
        for (int i = 0; i < Ch; i++)
        for (int j = 0; j < Ch; j++)
        {
            T s = T.Zero;
            for (int p = 0; p < P; p++) s += X[(n * Ch + i) * P + p] * X[(n * Ch + j) * P + p];
            G[(n * Ch + i) * Ch + j] = s / C((double)Ch * P);
        }
    }

    public void GramBackward(Tensor<T> dg, Tensor<T> x, Tensor<T> dx)
    {
        int N = x.Shape[0], Ch = x.Shape[1], P = x.Shape[2] * x.Shape[3];
        var X = x.AsSpan(); var DG = dg.AsSpan(); var DX = dx.AsSpan();
        // G[i,j] = Σ_p X[i,p]X[j,p] / (C·P): dX[c,p] = Σ_j (dG[c,j] + dG[j,c]) X[j,p] / (C·P)
        for (int n = 0; n < N; n++)
        for (int c = 0; c < Ch; c++)
        for (int p = 0; p < P; p++)
        {
            T s = T.Zero;
            for (int j = 0; j < Ch; j++) s += (DG[(n * Ch + c) * Ch + j] + DG[(n * Ch + j) * Ch + c]) * X[(n * Ch + j) * P + p];
            DX[(n * Ch + c) * P + p] = s / C((double)Ch * P);
        }
    }
}
