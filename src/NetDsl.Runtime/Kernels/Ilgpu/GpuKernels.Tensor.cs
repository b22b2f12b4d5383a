using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>
/// A loop nest for the ILGPU tensor-op kernels: up to 6 dims (D0..D5) and the strides of two operands (A, B) per dim, plus
/// their base offsets. Thread i decomposes i over the dims (row-major) into each operand's offset.
/// </summary>
internal struct GpuStrided
{
    public int Rank;
    public int D0, D1, D2, D3, D4, D5;
    public int A0, A1, A2, A3, A4, A5;
    public int B0, B1, B2, B3, B4, B5;
    public int OffA, OffB;

    public readonly int Dim(int k) => k == 0 ? D0 : k == 1 ? D1 : k == 2 ? D2 : k == 3 ? D3 : k == 4 ? D4 : D5;
    public readonly int StrideA(int k) => k == 0 ? A0 : k == 1 ? A1 : k == 2 ? A2 : k == 3 ? A3 : k == 4 ? A4 : A5;
    public readonly int StrideB(int k) => k == 0 ? B0 : k == 1 ? B1 : k == 2 ? B2 : k == 3 ? B3 : k == 4 ? B4 : B5;

    public readonly int OffsetA(int i)
    {
        int off = OffA;
        for (int k = Rank - 1; k >= 0; k--) { int d = Dim(k); off += i % d * StrideA(k); i /= d; }
        return off;
    }

    public readonly int OffsetB(int i)
    {
        int off = OffB;
        for (int k = Rank - 1; k >= 0; k--) { int d = Dim(k); off += i % d * StrideB(k); i /= d; }
        return off;
    }
}

internal static partial class GpuKernels
{
    // ---------------------------------------------------------------- tensor ops (one thread per output element)
    /// <summary>dst[OffsetB(i)] = scale · src[OffsetA(i)]: permute, slice, concat parts, broadcast_to (a gather; scatters write distinct elements).</summary>
    public static void StridedCopy(Index1D i, ArrayView<float> src, ArrayView<float> dst, GpuStrided p, float scale) =>
        dst[p.OffsetB(i)] = scale * src[p.OffsetA(i)];

    /// <summary>y[i] = a[OffsetA(i)] op b[OffsetB(i)], op 0 add, 1 sub, 2 mul.</summary>
    public static void Binary(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, GpuStrided p, int op)
    {
        float x = a[p.OffsetA(i)], z = b[p.OffsetB(i)];
        y[i] = op == 0 ? x + z : op == 1 ? x - z : x * z;
    }

    /// <summary>y[i] = scale · Σ x over the reduced dims: outer gives the base offset in x of output i, inner enumerates the reduced elements.</summary>
    public static void SumTo(Index1D i, ArrayView<float> x, ArrayView<float> y, GpuStrided outer, GpuStrided inner, int count, float scale)
    {
        int baseOff = outer.OffsetA(i);
        float s = 0f;
        for (int r = 0; r < count; r++) s += x[baseOff + inner.OffsetA(r)];
        y[i] = scale * s;
    }

    /// <summary>da[i] (i over a's [batch, M, K]) = Σ over the y batches that read this a batch of dy·bᵀ.</summary>
    public static void MatMulBackwardA(Index1D i, ArrayView<float> dy, ArrayView<float> b, ArrayView<float> da, GpuStrided p, int nb, int m, int k, int n)
    {
        int ab = i / (m * k), r = i % (m * k) / k, c = i % k;
        float s = 0f;
        for (int bi = 0; bi < nb; bi++)
        {
            if (p.OffsetA(bi) != ab) continue;
            int yo = bi * m * n + r * n, bo = p.OffsetB(bi) * k * n + c * n;
            for (int j = 0; j < n; j++) s += dy[yo + j] * b[bo + j];
        }
        da[i] = s;
    }

    /// <summary>db[i] (i over b's [batch, K, N]) = Σ over the y batches that read this b batch of aᵀ·dy.</summary>
    public static void MatMulBackwardB(Index1D i, ArrayView<float> a, ArrayView<float> dy, ArrayView<float> db, GpuStrided p, int nb, int m, int k, int n)
    {
        int bb = i / (k * n), r = i % (k * n) / n, c = i % n;
        float s = 0f;
        for (int bi = 0; bi < nb; bi++)
        {
            if (p.OffsetB(bi) != bb) continue;
            int ao = p.OffsetA(bi) * m * k + r, yo = bi * m * n + c;
            for (int q = 0; q < m; q++) s += a[ao + q * k] * dy[yo + q * n];
        }
        db[i] = s;
    }

    /// <summary>g[n, r, c] = scale · Σ_p x[n, r, p]·x[n, c, p].</summary>
    public static void Gram(Index1D i, ArrayView<float> x, ArrayView<float> g, int ch, int hw, float scale)
    {
        int n = i / (ch * ch), r = i % (ch * ch) / ch, c = i % ch;
        int xr = (n * ch + r) * hw, xc = (n * ch + c) * hw;
        float s = 0f;
        for (int p = 0; p < hw; p++) s += x[xr + p] * x[xc + p];
        g[i] = scale * s;
    }

    /// <summary>dx[n, c, p] = scale · Σ_j (dg[n, c, j] + dg[n, j, c])·x[n, j, p].</summary>
    public static void GramBackward(Index1D i, ArrayView<float> dg, ArrayView<float> x, ArrayView<float> dx, int ch, int hw, float scale)
    {
        int n = i / (ch * hw), c = i % (ch * hw) / hw, p = i % hw;
        float s = 0f;
        for (int j = 0; j < ch; j++)
            s += (dg[(n * ch + c) * ch + j] + dg[(n * ch + j) * ch + c]) * x[(n * ch + j) * hw + p];
        dx[i] = scale * s;
    }
}
