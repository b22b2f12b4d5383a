using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>
/// One operand of <see cref="GpuKernels.TiledGemm"/>: the logical matrix (rows × cols) of batch z, read from a flat view.
/// <see cref="Base"/> runs once per group (it may be costly, e.g. a broadcast batch offset); <see cref="Load"/> runs per
/// element inside the bounds (the kernel pads the tile with zeros itself). Gathering operands (the convolution input
/// read as im2col columns, zero in the padding) make the convolutions implicit GEMMs: no im2col buffer.
/// </summary>
internal interface IGpuGemmOperand
{
    int Base(int z);
    float Load(ArrayView<float> data, int baseOffset, int row, int col);
}

/// <summary>Where element (row, col) of batch z of the product goes.</summary>
internal interface IGpuGemmOutput
{
    int Base(int z);
    int Offset(int baseOffset, int row, int col);
}

/// <summary>
/// Sizes of a tiled GEMM: y = epi(op(A)[M,K]·op(B)[K,N] + bias); BiasMode 0 none, 1 bias[z·M + row], 2 bias[col];
/// Depth, the K extent of one shared-memory stage (set by the host from the tile shape). Splits &gt; 1: split-K, grid z
/// runs batches × Splits, split s sums K range [s·SplitK, (s + 1)·SplitK) and adds it atomically into y (zeroed by the
/// host; no epilogue, split 0 adds the bias).
/// </summary>
internal struct GemmDims
{
    public int M, N, K, BiasMode, Depth, Splits, SplitK;
}

// ------------------------------------------------------------------------------------------------ operands
/// <summary>A dense matrix: data[offset + z·BatchStride + row·RowStride + col·ColStride] (a transpose swaps the strides).</summary>
internal struct GemmStrided : IGpuGemmOperand, IGpuGemmOutput
{
    public int Offset0, BatchStride, RowStride, ColStride;
    public readonly int Base(int z) => Offset0 + z * BatchStride;
    public readonly float Load(ArrayView<float> data, int baseOffset, int row, int col) => data[baseOffset + row * RowStride + col * ColStride];
    public readonly int Offset(int baseOffset, int row, int col) => baseOffset + row * RowStride + col * ColStride;
}

/// <summary>
/// A batched matmul operand with broadcasting: batch z of the product reads matrix <c>P.OffsetA(z)</c> (or OffsetB,
/// <see cref="UseB"/>) of Rows × Cols, row-major, optionally transposed (then the logical (row, col) is stored at (col, row)).
/// </summary>
internal struct GemmBroadcast : IGpuGemmOperand, IGpuGemmOutput
{
    public GpuStrided P;
    /// <summary>Rows × Cols is the stored matrix (before <see cref="Transposed"/>).</summary>
    public int UseB, Rows, Cols, Transposed;
    public readonly int Base(int z) => (UseB != 0 ? P.OffsetB(z) : P.OffsetA(z)) * Rows * Cols;
    public readonly float Load(ArrayView<float> data, int baseOffset, int row, int col) => data[Offset(baseOffset, row, col)];
    public readonly int Offset(int baseOffset, int row, int col) =>
        Transposed != 0 ? baseOffset + col * Cols + row : baseOffset + row * Cols + col;
}

/// <summary>
/// The convolution input x [N, C, H, W] of group z seen as im2col: rows (c, u, v) of Cg·KH·KW, columns (n, oh, ow) of
/// N·OH·OW (<see cref="Transposed"/>: rows and columns swapped, the B operand of the filter gradient). Zero in the padding.
/// </summary>
internal struct GemmConvInput : IGpuGemmOperand
{
    public ConvParams P;
    public int Transposed;
    public readonly int Base(int z) => z * P.Cg * P.H * P.W;

    public readonly float Load(ArrayView<float> data, int baseOffset, int row, int col)
    {
        int r = Transposed != 0 ? col : row, q = Transposed != 0 ? row : col;
        int khw = P.KH * P.KW;
        int c = r / khw, uv = r - c * khw;
        int u = uv / P.KW, v = uv - u * P.KW;
        int ohw = P.OH * P.OW;
        int n = q / ohw, pix = q - n * ohw;
        int oh = pix / P.OW, ow = pix - oh * P.OW;
        int ih = oh * P.SH - P.PH + u * P.DH, iw = ow * P.SW - P.PW + v * P.DW;
        if (ih < 0 || ih >= P.H || iw < 0 || iw >= P.W) return 0f;
        return data[baseOffset + ((n * P.C + c) * P.H + ih) * P.W + iw];
    }
}

/// <summary>
/// dy [N, K, OH, OW] of group z seen as the B operand of the data gradient: rows (k, u, v) of Kg·KH·KW, columns (n, h, w)
/// of N·H·W; element = dy[n, k, oh, ow] where (oh, ow) is the output position whose window tap (u, v) reads (h, w), else 0.
/// </summary>
internal struct GemmConvGradCols : IGpuGemmOperand
{
    public ConvParams P;
    public readonly int Base(int z) => z * P.Kg * P.OH * P.OW;

    public readonly float Load(ArrayView<float> data, int baseOffset, int row, int col)
    {
        int khw = P.KH * P.KW;
        int k = row / khw, uv = row - k * khw;
        int u = uv / P.KW, v = uv - u * P.KW;
        int hw = P.H * P.W;
        int n = col / hw, pix = col - n * hw;
        int h = pix / P.W, w = pix - h * P.W;
        int ohs = h + P.PH - u * P.DH, ows = w + P.PW - v * P.DW;
        if (ohs < 0 || ows < 0) return 0f;
        int oh = ohs / P.SH, ow = ows / P.SW;
        if (oh * P.SH != ohs || ow * P.SW != ows || oh >= P.OH || ow >= P.OW) return 0f;
        return data[baseOffset + ((n * P.K + k) * P.OH + oh) * P.OW + ow];
    }
}

/// <summary>
/// The filter w [K, Cg, KH, KW] of group z as the A operand of the data gradient: rows c of Cg, columns (k, u, v) of
/// Kg·KH·KW (wᵀ per group, without a copy).
/// </summary>
internal struct GemmConvWeightT : IGpuGemmOperand
{
    public int Kg, Cg, Taps;
    public readonly int Base(int z) => z * Kg * Cg * Taps;

    public readonly float Load(ArrayView<float> data, int baseOffset, int row, int col)
    {
        int k = col / Taps;
        return data[baseOffset + (k * Cg + row) * Taps + (col - k * Taps)];
    }
}

/// <summary>
/// A tensor [N, Ch, Plane] of group z (channels z·Rows ..) seen as rows = channels, columns = (n, pixel): the convolution
/// output y / dy as a matrix (forward output, filter-gradient A operand), and dx as the data-gradient output.
/// </summary>
internal struct GemmChannelsByPixels : IGpuGemmOperand, IGpuGemmOutput
{
    public int Rows, Channels, Plane;
    public readonly int Base(int z) => z * Rows * Plane;

    public readonly int Offset(int baseOffset, int row, int col)
    {
        int n = col / Plane;
        return baseOffset + (n * Channels + row) * Plane + (col - n * Plane);
    }

    public readonly float Load(ArrayView<float> data, int baseOffset, int row, int col) => data[Offset(baseOffset, row, col)];
}

/// <summary>The tile geometry of <see cref="GpuKernels.TiledGemm"/>.</summary>
internal static class GemmTile
{
    /// <summary>Each thread accumulates a Reg × Reg block of the output (strided by the group's dims: conflict-free shared reads).</summary>
    public const int Reg = 4;
    /// <summary>
    /// Shared floats per operand: a stage is BM × Depth of A and Depth × BN of B, Depth = Capacity / max(BM, BN) up to
    /// <see cref="MaxDepth"/> (32 for 64 × 64 tiles, 16 KB of shared memory; deeper stages, so fewer barriers, for small
    /// tiles: 128 for 16 × 16).
    /// </summary>
    public const int Capacity = 2048;
    public const int MaxDepth = 128;
    /// <summary>At most 16 × 16 threads: tiles up to 64 × 64.</summary>
    public const int MaxThreadsPerDim = 16;
    public const int MaxSide = Reg * MaxThreadsPerDim;
}

internal static partial class GpuKernels
{
    /// <summary>
    /// Shared-memory tiled GEMM, one group per (BM × BN) output tile of batch z = Grid.IdxZ, BM = 4·Group.DimY,
    /// BN = 4·Group.DimX (the host picks the group shape per problem, up to 16 × 16): each stage loads a BM × Depth slice
    /// of A and a Depth × BN slice of B into shared memory through the operand structs (which may gather, e.g. implicit im2col),
    /// then every thread accumulates its 4 × 4 register block; the bias and the fused epilogue functor are applied in the
    /// output write.
    /// </summary>
    public static void TiledGemm<TA, TB, TOut, TEpi>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> y,
        GemmDims d, TA opA, TB opB, TOut output, TEpi epi)
        where TA : struct, IGpuGemmOperand where TB : struct, IGpuGemmOperand where TOut : struct, IGpuGemmOutput where TEpi : struct, IGpuMap1
    {
        var sa = SharedMemory.Allocate<float>(GemmTile.Capacity);
        var sb = SharedMemory.Allocate<float>(GemmTile.Capacity);
        int tx = Group.IdxX, ty = Group.IdxY, dimX = Group.DimX, dimY = Group.DimY;
        int bm = GemmTile.Reg * dimY, bn = GemmTile.Reg * dimX;
        int row0 = Grid.IdxY * bm, col0 = Grid.IdxX * bn;
        int z = Grid.IdxZ / d.Splits, split = Grid.IdxZ - z * d.Splits;
        int kBegin = split * d.SplitK, kEnd = d.K - kBegin < d.SplitK ? d.K : kBegin + d.SplitK;
        int tid = ty * dimX + tx, threads = dimX * dimY;
        int baseA = opA.Base(z), baseB = opB.Base(z);

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;

        int stage = d.Depth;
        for (int k0 = kBegin; k0 < kEnd; k0 += stage)
        {
            int depth = kEnd - k0 < stage ? kEnd - k0 : stage;
            // A slice: sa[kk·bm + r] = A[row0 + r, k0 + kk]; kk varies fastest (row-major A reads run along k)
            for (int e = tid; e < bm * stage; e += threads)
            {
                int r = e / stage, kk = e - r * stage;
                int gr = row0 + r;
                sa[kk * bm + r] = gr < d.M && kk < depth ? opA.Load(a, baseA, gr, k0 + kk) : 0f;
            }
            // B slice: sb[kk·bn + c] = B[k0 + kk, col0 + c]; c varies fastest
            for (int e = tid; e < bn * stage; e += threads)
            {
                int kk = e / bn, c = e - kk * bn;
                int gc = col0 + c;
                sb[kk * bn + c] = gc < d.N && kk < depth ? opB.Load(b, baseB, k0 + kk, gc) : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < depth; kk++)
            {
                int ao = kk * bm + ty, bo = kk * bn + tx;
                float a0 = sa[ao], a1 = sa[ao + dimY], a2 = sa[ao + 2 * dimY], a3 = sa[ao + 3 * dimY];
                float b0 = sb[bo], b1 = sb[bo + dimX], b2 = sb[bo + 2 * dimX], b3 = sb[bo + 3 * dimX];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }

        int baseY = output.Base(z);
        int r0 = row0 + ty, cl0 = col0 + tx;
        GemmStoreRow(y, bias, d, output, epi, baseY, z, split, r0, cl0, dimX, c00, c01, c02, c03);
        GemmStoreRow(y, bias, d, output, epi, baseY, z, split, r0 + dimY, cl0, dimX, c10, c11, c12, c13);
        GemmStoreRow(y, bias, d, output, epi, baseY, z, split, r0 + 2 * dimY, cl0, dimX, c20, c21, c22, c23);
        GemmStoreRow(y, bias, d, output, epi, baseY, z, split, r0 + 3 * dimY, cl0, dimX, c30, c31, c32, c33);
    }

    private static void GemmStoreRow<TOut, TEpi>(ArrayView<float> y, ArrayView<float> bias, GemmDims d, TOut output, TEpi epi,
        int baseY, int z, int split, int row, int col, int step, float v0, float v1, float v2, float v3)
        where TOut : struct, IGpuGemmOutput where TEpi : struct, IGpuMap1
    {
        if (row >= d.M) return;
        float rb = d.BiasMode == 1 ? bias[z * d.M + row] : 0f;
        if (d.Splits > 1)
        {
            // split-K: partial sums meet in y (bias once, from split 0; the host allows no epilogue here)
            bool first = split == 0;
            GemmAccumulate(y, bias, d, output, baseY, row, col, first ? rb : 0f, first, v0);
            GemmAccumulate(y, bias, d, output, baseY, row, col + step, first ? rb : 0f, first, v1);
            GemmAccumulate(y, bias, d, output, baseY, row, col + 2 * step, first ? rb : 0f, first, v2);
            GemmAccumulate(y, bias, d, output, baseY, row, col + 3 * step, first ? rb : 0f, first, v3);
            return;
        }
        GemmStore(y, bias, d, output, epi, baseY, row, col, rb, v0);
        GemmStore(y, bias, d, output, epi, baseY, row, col + step, rb, v1);
        GemmStore(y, bias, d, output, epi, baseY, row, col + 2 * step, rb, v2);
        GemmStore(y, bias, d, output, epi, baseY, row, col + 3 * step, rb, v3);
    }

    private static void GemmAccumulate<TOut>(ArrayView<float> y, ArrayView<float> bias, GemmDims d, TOut output,
        int baseY, int row, int col, float rowBias, bool first, float v) where TOut : struct, IGpuGemmOutput
    {
        if (col >= d.N) return;
        float s = v + rowBias;
        if (first && d.BiasMode == 2) s += bias[col];
        Atomic.Add(ref y[output.Offset(baseY, row, col)], s);
    }

    private static void GemmStore<TOut, TEpi>(ArrayView<float> y, ArrayView<float> bias, GemmDims d, TOut output, TEpi epi,
        int baseY, int row, int col, float rowBias, float v)
        where TOut : struct, IGpuGemmOutput where TEpi : struct, IGpuMap1
    {
        if (col >= d.N) return;
        float s = v + rowBias;
        if (d.BiasMode == 2) s += bias[col];
        y[output.Offset(baseY, row, col)] = epi.Apply(s);
    }
}
