namespace NetDsl.Runtime;

// Linear layers as GEMMs with PyTorch's weight layout w [O, K]; big problems are split by output row blocks.
public sealed partial class CpuKernels<T>
{
    public void LinearForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        var (m, k, o) = KernelContract.LinearForward(x, w, b, y);
        if (m <= GemvMaxRows)
        {
            LinearSmallM(x, w, b, y, m, k, o, epilogue);
            return;
        }
        if (UseLinearDot(o, k))
        {
            LinearDot(x, w, b, y, m, k, o, epilogue);
            return;
        }
        var bk = b is null ? BiasKind.None : BiasKind.Col;
        if (GemmSharedB(m, o, k, x, 0, k, 1, w, 0, 1, k, y, 0, o, false, bk, b, epilogue)) return;
        Blocks(m, o, (long)m * o * k, (x, w, b, y, epilogue, bk, k, o), static (s, r0, r1, c0, c1) =>
            Gemm(r1 - r0, c1 - c0, s.k, s.x.AsSpan().Slice(r0 * s.k), s.k, 1, s.w.AsSpan().Slice(c0 * s.k), 1, s.k, s.y.AsSpan().Slice(r0 * s.o + c0), s.o,
                false, s.bk, s.b is null ? default : s.b.AsSpan().Slice(c0), s.epilogue), dynamic: true);
    }

    /// <summary>
    /// Runs a GEMM body over C [rows, cols] in one piece, or split across cores when the work is big: by column blocks
    /// (multiples of NR) when C is wider than tall, else by row blocks (multiples of MR). Each core packs only its share of
    /// the wide operand (B for a column split), so neither the packing work nor the packing scratch is duplicated per core.
    /// With <paramref name="dynamic"/> (the linear layers), the blocks are more than the cores (<see cref="BlockSplit"/> per
    /// core, none narrower than <see cref="MinBlockCols"/> columns or <see cref="MinBlockRows"/> rows) and claimed one at a
    /// time, so a core that starts late (still waking, or descheduled on a shared machine) leaves its blocks to the other
    /// instead of making the kernel wait for its fixed half. Each extra block repacks the narrow operand for itself.
    /// </summary>
    private static void Blocks<TState>(int rows, int cols, long work, TState state, Action<TState, int, int, int, int> body, bool dynamic = false)
    {
        int parts = BlockParts(rows, cols, work, dynamic);
        if (parts <= 1) body(state, 0, rows, 0, cols);
        else ParallelRunner.For(parts, new BlockBody<TState>(rows, cols, cols > rows, parts, state, body));
    }

    /// <summary>How many blocks <see cref="Blocks{TState}"/> cuts C [rows, cols] into (1: not split).</summary>
    internal static int BlockParts(int rows, int cols, long work, bool dynamic)
    {
        bool byCols = cols > rows;
        int unit = byCols ? NR : MR, n = byCols ? cols : rows;
        int units = (n + unit - 1) / unit;
        int workers = Workers(work, units);
        if (workers <= 1 || !dynamic || BlockSplit <= 1) return workers;
        return Math.Clamp(n / (byCols ? MinBlockCols : MinBlockRows), workers, Math.Min(units, workers * BlockSplit));
    }

    /// <summary>Blocks per core of the linear layers' split GEMMs (NETDSL_GEMM_BLOCKSPLIT; 1 = one fixed block per core).</summary>
    internal static int BlockSplit = Env("NETDSL_GEMM_BLOCKSPLIT", 2);
    private static readonly int MinBlockCols = Env("NETDSL_GEMM_MINBLOCK_COLS", 256);
    private static readonly int MinBlockRows = Env("NETDSL_GEMM_MINBLOCK_ROWS", 128);

    private readonly struct BlockBody<TState>(int rows, int cols, bool byCols, int parts, TState state, Action<TState, int, int, int, int> body) : IParallelBody
    {
        public void Run(int p)
        {
            int unit = byCols ? NR : MR, n = byCols ? cols : rows;
            var (lo, hi) = Chunk((n + unit - 1) / unit, parts, p);
            int a = lo * unit, b = Math.Min(n, hi * unit);
            if (b <= a) return;
            if (byCols) body(state, 0, rows, a, b); else body(state, a, b, 0, cols);
        }
    }

    public void LinearBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx)
    {
        var (m, k, o) = KernelContract.LinearBackwardData(dy, w, dx);
        Blocks(m, k, (long)m * o * k, (dy, w, dx, k, o), static (s, r0, r1, c0, c1) =>
            Gemm(r1 - r0, c1 - c0, s.o, s.dy.AsSpan().Slice(r0 * s.o), s.o, 1, s.w.AsSpan().Slice(c0), s.k, 1, s.dx.AsSpan().Slice(r0 * s.k + c0), s.k,
                false, BiasKind.None, default, default(Identity<T>)), dynamic: true);
    }

    public void LinearBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db) => LinearBackwardFilter(dy, x, dw, db, accumulate: false);

    /// <summary>dw += dyᵀ·x; db += column sums of dy (the GEMM accumulates into dw: no temporary).</summary>
    public void LinearBackwardFilterAccumulate(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db) => LinearBackwardFilter(dy, x, dw, db, accumulate: true);

    private static void LinearBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db, bool accumulate)
    {
        var (m, k, o) = KernelContract.LinearBackwardFilter(dy, x, dw, db);
        // dw[r0..r1, c0..c1] = dyᵀ[r0..r1, :] · x[:, c0..c1] : A(i, p) = dy[p, r0+i]. Split by columns when dw is wider than
        // tall (a transformer's second FFN layer: dw [256, 1024] over 2048 tokens), so each core packs half of x, not all of it.
        Blocks(o, k, (long)m * o * k, (dy, x, dw, k, o, m, accumulate), static (s, r0, r1, c0, c1) =>
            Gemm(r1 - r0, c1 - c0, s.m, s.dy.AsSpan().Slice(r0), 1, s.o, s.x.AsSpan().Slice(c0), s.k, 1, s.dw.AsSpan().Slice(r0 * s.k + c0), s.k,
                s.accumulate, BiasKind.None, default, default(Identity<T>)));
        if (db is not null)
        {
            var dbs = db.AsSpan(); var dys = dy.AsSpan();
            if (!accumulate) dbs.Clear();
            for (int i = 0; i < m; i++) AddInto(dys.Slice(i * o, o), dbs);
        }
    }

    /// <summary>
    /// Runs body over [0, rows) in one piece, or split into per-core blocks (multiples of MR) when the work is big.
    /// The state is passed explicitly (static lambdas), so the single-threaded path allocates nothing.
    /// </summary>
    private static void RowBlocks<TState>(int rows, long work, TState state, Action<TState, int, int> body)
    {
        int workers = Workers(work, (rows + MR - 1) / MR);
        if (workers <= 1) body(state, 0, rows);
        else RowBlocksParallel(rows, workers, state, body);
    }

    private static void RowBlocksParallel<TState>(int rows, int workers, TState state, Action<TState, int, int> body) =>
        ParallelRunner.For(workers, new RowBlockBody<TState>(rows, workers, state, body));

    /// <summary>Runs body over [0, n) directly, or split into <paramref name="workers"/> contiguous chunks on the kernel workers.</summary>
    internal static void Chunks<TState>(int n, int workers, TState state, Action<TState, int, int> body)
    {
        if (workers <= 1) body(state, 0, n);
        else ParallelRunner.For(workers, new ChunkBody<TState>(n, workers, state, body));
    }

    /// <summary>
    /// <see cref="Chunks{TState}"/> with up to <see cref="ChunkSplit"/> chunks per core, claimed one at a time: for loops over
    /// independent items of similar cost (the batches of a batched matmul or an attention), so a core that starts late
    /// leaves its chunks to the other instead of making the loop wait for its fixed share.
    /// </summary>
    internal static void DynamicChunks<TState>(int n, int workers, TState state, Action<TState, int, int> body)
    {
        if (workers <= 1) body(state, 0, n);
        else ParallelRunner.For(DynamicParts(n, workers), new ChunkBody<TState>(n, DynamicParts(n, workers), state, body));
    }

    /// <summary>The chunks <see cref="DynamicChunks{TState}"/> cuts n items into on <paramref name="workers"/> cores.</summary>
    internal static int DynamicParts(int n, int workers) => Math.Max(1, Math.Min(n, workers * Math.Max(1, ChunkSplit)));

    /// <summary>Chunks per core of <see cref="DynamicChunks{TState}"/> (NETDSL_GEMM_CHUNKSPLIT; 1 = one fixed chunk per core).</summary>
    internal static int ChunkSplit = Env("NETDSL_GEMM_CHUNKSPLIT", 4);

    // Loop bodies for ParallelRunner: structs holding the state and a static (cached, non-capturing) lambda, so a parallel
    // loop allocates nothing.
    private readonly struct RowBlockBody<TState>(int rows, int workers, TState state, Action<TState, int, int> body) : IParallelBody
    {
        public void Run(int p)
        {
            var (lo, hi) = Chunk((rows + MR - 1) / MR, workers, p);
            int r0 = lo * MR, r1 = Math.Min(rows, hi * MR);
            if (r1 > r0) body(state, r0, r1);
        }
    }

    private readonly struct ChunkBody<TState>(int n, int workers, TState state, Action<TState, int, int> body) : IParallelBody
    {
        public void Run(int p)
        {
            var (lo, hi) = Chunk(n, workers, p);
            body(state, lo, hi);
        }
    }
}
