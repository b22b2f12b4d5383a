using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The host side of the tiled GEMM (GpuKernels.TiledGemm): linear forward/backward, convolution forward/backward as
// implicit GEMMs (the operand structs gather from NCHW directly; no im2col buffer), batched matmul.
public sealed partial class IlgpuKernels
{
    private int _maxGroup;

    /// <summary>
    /// The group shape (dimX, dimY) for an M × N product: tiles of 4·dimY rows × 4·dimX columns, each dim a power of two
    /// ≤ 16 covering the problem where it is small, and dimX·dimY within the accelerator's group limit (16 threads on
    /// ILGPU's CPU simulator, 256 used on GPUs).
    /// </summary>
    internal (int X, int Y) GemmGroupShape(int m, int n)
    {
        if (_maxGroup == 0) _maxGroup = Math.Max(1, Math.Min(_acc.MaxNumThreadsPerGroup, GemmTile.MaxThreadsPerDim * GemmTile.MaxThreadsPerDim));
        int gy = Pow2Cover((m + GemmTile.Reg - 1) / GemmTile.Reg), gx = Pow2Cover((n + GemmTile.Reg - 1) / GemmTile.Reg);
        while (gx * gy > _maxGroup)
        {
            if (gx >= gy) gx /= 2;
            else gy /= 2;
        }
        return (gx, gy);

        static int Pow2Cover(int v)
        {
            int p = 1;
            while (p < v && p < GemmTile.MaxThreadsPerDim) p *= 2;
            return p;
        }
    }

    /// <summary>
    /// y = epi(op(A)·op(B) + bias) for <paramref name="batches"/> products (grid z); the kernel is compiled once per
    /// (TA, TB, TOut, TEpi) combination.
    /// </summary>
    /// <param name="splitOutput">
    /// The whole output when split-K is allowed (no epilogue; the products that reduce a long K into few tiles, e.g. the
    /// filter gradients): it is zeroed and the K splits add into it.
    /// </param>
    private void Gemm<TA, TB, TOut, TEpi>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> y,
        GemmDims d, int batches, TA opA, TB opB, TOut output, TEpi epi, ArrayView<float>? splitOutput = null)
        where TA : struct, IGpuGemmOperand where TB : struct, IGpuGemmOperand where TOut : struct, IGpuGemmOutput where TEpi : struct, IGpuMap1
    {
        if (d.M <= 0 || d.N <= 0 || batches <= 0) return;
        var (gx, gy) = GemmGroupShape(d.M, d.N);
        int tileM = GemmTile.Reg * gy, tileN = GemmTile.Reg * gx;
        d.Depth = Math.Min(GemmTile.MaxDepth, GemmTile.Capacity / Math.Max(tileM, tileN));
        int tiles = (d.N + tileN - 1) / tileN * ((d.M + tileM - 1) / tileM) * batches;
        d.Splits = splitOutput is null || !SplitK ? 1 : GemmSplits(tiles, d.K, d.Depth);
        d.SplitK = d.Splits == 1 ? Math.Max(d.K, 1) : (d.K + d.Splits - 1) / d.Splits;
        if (d.Splits > 1) splitOutput!.Value.MemSetToZero();
        var config = new KernelConfig(new Index3D((d.N + tileN - 1) / tileN, (d.M + tileM - 1) / tileM, batches * d.Splits), new Index3D(gx, gy, 1));
        LaunchGrouped(GpuKernels.TiledGemm<TA, TB, TOut, TEpi>, config, a, b, bias, y, d, opA, opB, output, epi);
    }

    /// <summary>
    /// Whether products may split K: on GPUs; not on ILGPU's CPU simulator, which runs one group at a time (more groups
    /// only add barriers and atomics there). Tests turn it on to check split-K on the simulator.
    /// </summary>
    internal bool SplitK { get; set; }

    /// <summary>Groups a split-K launch aims for (a GPU needs many groups in flight; the filter gradients have few tiles).</summary>
    internal const int SplitTargetGroups = 64;

    /// <summary>K splits for a product of <paramref name="tiles"/> output tiles: enough to reach <see cref="SplitTargetGroups"/>, each split at least 4 stages deep.</summary>
    internal static int GemmSplits(int tiles, int k, int depth)
    {
        if (tiles >= SplitTargetGroups) return 1;
        int byGroups = (SplitTargetGroups + tiles - 1) / tiles, byDepth = k / (4 * depth);
        return Math.Max(1, Math.Min(byGroups, byDepth));
    }

    /// <summary>The (TA, TB, TOut) of every TiledGemm call site below (the codegen tests compile each for PTX and OpenCL).</summary>
    internal static readonly (Type A, Type B, Type Out)[] GemmVariants =
    [
        (typeof(GemmStrided), typeof(GemmStrided), typeof(GemmStrided)),
        (typeof(GemmStrided), typeof(GemmConvInput), typeof(GemmChannelsByPixels)),
        (typeof(GemmConvWeightT), typeof(GemmConvGradCols), typeof(GemmChannelsByPixels)),
        (typeof(GemmChannelsByPixels), typeof(GemmConvInput), typeof(GemmStrided)),
        (typeof(GemmBroadcast), typeof(GemmBroadcast), typeof(GemmStrided)),
        (typeof(GemmStrided), typeof(GemmBroadcast), typeof(GemmBroadcast)),
        (typeof(GemmBroadcast), typeof(GemmStrided), typeof(GemmBroadcast)),
    ];

    private static GemmStrided Dense(int rowStride, int colStride, int batchStride = 0, int offset = 0) =>
        new() { Offset0 = offset, BatchStride = batchStride, RowStride = rowStride, ColStride = colStride };

    // ---------------------------------------------------------------- linear: x [M, K], w [O, K], y [M, O]
    private void LinearForwardTiled<TGpuEpi>(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y,
        int m, int k, int o, TGpuEpi epi) where TGpuEpi : struct, IGpuMap1 =>
        // y = x · wᵀ: B(q, j) = w[j, q]
        Gemm(x, w, hasBias ? b : x, y, new GemmDims { M = m, N = o, K = k, BiasMode = hasBias ? 2 : 0 }, 1,
            Dense(k, 1), Dense(1, k), Dense(o, 1), epi);

    private void LinearBackwardDataTiled(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, int m, int k, int o) =>
        // dx [M, K] = dy [M, O] · w [O, K]
        Gemm(dy, w, dx, dx, new GemmDims { M = m, N = k, K = o }, 1, Dense(o, 1), Dense(k, 1), Dense(k, 1), default(Identity<float>));

    private void LinearBackwardFilterTiled(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dw, int m, int k, int o) =>
        // dw [O, K] = dyᵀ · x: A(j, r) = dy[r, j]
        Gemm(dy, x, dw, dw, new GemmDims { M = o, N = k, K = m }, 1, Dense(1, o), Dense(k, 1), Dense(k, 1), default(Identity<float>),
            splitOutput: dw);

    // ---------------------------------------------------------------- convolution as implicit GEMM, one product per group
    private void ConvForwardTiled<TGpuEpi>(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y,
        ConvParams p, TGpuEpi epi) where TGpuEpi : struct, IGpuMap1
    {
        // y[g] [Kg, N·OH·OW] = w[g] [Kg, Cg·KH·KW] · im2col(x[g]) [Cg·KH·KW, N·OH·OW]
        int taps = p.Cg * p.KH * p.KW, plane = p.OH * p.OW;
        Gemm(w, x, hasBias ? b : w, y, new GemmDims { M = p.Kg, N = p.N * plane, K = taps, BiasMode = hasBias ? 1 : 0 }, p.K / p.Kg,
            Dense(taps, 1, p.Kg * taps), new GemmConvInput { P = p }, new GemmChannelsByPixels { Rows = p.Kg, Channels = p.K, Plane = plane }, epi);
    }

    /// <summary>Also the transposed convolution's forward (then <paramref name="bias"/> [C] is added per output channel).</summary>
    private void ConvBackwardDataTiled(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, ConvParams p, ArrayView<float>? bias = null)
    {
        // dx[g] [Cg, N·H·W] = w[g]ᵀ [Cg, Kg·KH·KW] · taps(dy[g]) [Kg·KH·KW, N·H·W] (a gather: no col2im scatter, no atomics)
        int taps = p.KH * p.KW;
        Gemm(w, dy, bias ?? dx, dx, new GemmDims { M = p.Cg, N = p.N * p.H * p.W, K = p.Kg * taps, BiasMode = bias is null ? 0 : 1 }, p.K / p.Kg,
            new GemmConvWeightT { Kg = p.Kg, Cg = p.Cg, Taps = taps }, new GemmConvGradCols { P = p },
            new GemmChannelsByPixels { Rows = p.Cg, Channels = p.C, Plane = p.H * p.W }, default(Identity<float>));
    }

    private void ConvBackwardFilterTiled(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dw, ConvParams p)
    {
        // dw[g] [Kg, Cg·KH·KW] = dy[g] [Kg, N·OH·OW] · im2col(x[g])ᵀ [N·OH·OW, Cg·KH·KW]
        int taps = p.Cg * p.KH * p.KW, plane = p.OH * p.OW;
        Gemm(dy, x, dw, dw, new GemmDims { M = p.Kg, N = taps, K = p.N * plane }, p.K / p.Kg,
            new GemmChannelsByPixels { Rows = p.Kg, Channels = p.K, Plane = plane }, new GemmConvInput { P = p, Transposed = 1 },
            Dense(taps, 1, p.Kg * taps), default(Identity<float>), splitOutput: dw);
    }

    // ---------------------------------------------------------------- batched matmul, batch offsets from the broadcast plan
    private void MatMulTiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, GpuStrided p, int nb, int m, int k, int n) =>
        // y[z] [M, N] = a[OffsetA(z)] [M, K] · b[OffsetB(z)] [K, N]
        Gemm(a, b, y, y, new GemmDims { M = m, N = n, K = k }, nb,
            new GemmBroadcast { P = p, Rows = m, Cols = k }, new GemmBroadcast { P = p, UseB = 1, Rows = k, Cols = n }, Dense(n, 1, m * n),
            default(Identity<float>));

    /// <summary>da[OffsetA(z)] = dy[z] · b[OffsetB(z)]ᵀ; only when a is not broadcast (each da matrix comes from one product).</summary>
    private void MatMulBackwardATiled(ArrayView<float> dy, ArrayView<float> b, ArrayView<float> da, GpuStrided p, int nb, int m, int k, int n) =>
        Gemm(dy, b, da, da, new GemmDims { M = m, N = k, K = n }, nb,
            Dense(n, 1, m * n), new GemmBroadcast { P = p, UseB = 1, Rows = k, Cols = n, Transposed = 1 }, new GemmBroadcast { P = p, Rows = m, Cols = k },
            default(Identity<float>), splitOutput: da);

    /// <summary>db[OffsetB(z)] = a[OffsetA(z)]ᵀ · dy[z]; only when b is not broadcast.</summary>
    private void MatMulBackwardBTiled(ArrayView<float> a, ArrayView<float> dy, ArrayView<float> db, GpuStrided p, int nb, int m, int k, int n) =>
        Gemm(a, dy, db, db, new GemmDims { M = k, N = n, K = m }, nb,
            new GemmBroadcast { P = p, Rows = m, Cols = k, Transposed = 1 }, Dense(n, 1, m * n), new GemmBroadcast { P = p, UseB = 1, Rows = k, Cols = n },
            default(Identity<float>), splitOutput: db);

    // ---------------------------------------------------------------- test hook
    /// <summary>
    /// For tests: y [batches, M, N] = epi(op(a)·op(b) + bias) on dense row-major operands, a stored [batches, M, K]
    /// ([batches, K, M] when <paramref name="transA"/>), b [batches, K, N] ([batches, N, K] when <paramref name="transB"/>);
    /// biasMode 0 none, 1 per row (bias [batches·M]), 2 per column (bias [N]).
    /// </summary>
    internal void GemmForTests<TGpuEpi>(Tensor<float> a, bool transA, Tensor<float> b, bool transB, Tensor<float>? bias, int biasMode,
        Tensor<float> y, int batches, int m, int n, int k, TGpuEpi epi, bool allowSplit = false) where TGpuEpi : struct, IGpuMap1
    {
        if (a.Length != batches * m * k || b.Length != batches * k * n || y.Length != batches * m * n || (biasMode != 0) != (bias is not null))
            throw new ArgumentException("GemmForTests: operand sizes do not match");
        if (allowSplit && typeof(TGpuEpi) != typeof(Identity<float>)) throw new ArgumentException("GemmForTests: split-K takes no epilogue");
        var av = V(a, "a");
        var yv = V(y, "y");
        Gemm(av, V(b, "b"), bias is null ? av : V(bias, "bias"), yv, new GemmDims { M = m, N = n, K = k, BiasMode = biasMode }, batches,
            transA ? Dense(1, m, m * k) : Dense(k, 1, m * k), transB ? Dense(1, k, k * n) : Dense(n, 1, k * n), Dense(n, 1, m * n), epi,
            allowSplit ? yv : null);
    }
}
