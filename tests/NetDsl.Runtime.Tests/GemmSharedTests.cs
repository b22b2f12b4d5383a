namespace NetDsl.Runtime.Tests;

/// <summary>
/// The row-split GEMM with B packed once and shared by the cores (<see cref="CpuKernels{T}.GemmSharedB"/>), used by the
/// linear forward when y is at least as tall as wide (rows of x ≥ outputs; the weight is B, stored transposed). Each shape
/// runs the linear forward and both gradients with sharing on and off against the reference, on the kernel workers and
/// inline on one thread (a loop nested in a loop body runs inline). The AVX2 kernels run with DOTNET_EnableAVX512=0.
/// </summary>
public class GemmSharedTests
{
    private readonly struct InlineBody(Action test) : IParallelBody
    {
        public void Run(int index) { if (index == 0) test(); }
    }

    public static IEnumerable<object[]> Shapes() =>
    [
        [517, 37, 300],     // ≥ WideRows rows: 12-row parts, a ragged last part and panel, a k tail past the transposes
        [300, 70, 200],     // fewer than WideRows rows (8-row parts)
        [1000, 130, 45],    // a ragged last B panel (45 columns), many row parts claimed dynamically
        [260, 45, 259],     // almost square y: B split between the packers with a ragged last panel
        [96, 400, 410],     // not shared (y wider than tall): the column split
        [129, CpuKernels<float>.BlockK + 9, 129],  // two K blocks read from the shared panels
    ];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LinearMatchesReferenceSharedAndNot(int m, int k, int o)
    {
        bool saved = CpuKernels<float>.ShareB, savedD = CpuKernels<double>.ShareB;
        try
        {
            foreach (bool share in new[] { true, false })
            {
                CpuKernels<float>.ShareB = share; CpuKernels<double>.ShareB = share;
                LinearTests.Run<double>(m, k, o, 1e-12);
                LinearTests.Run<float>(m, k, o, 2e-5);
                // one thread: the same GEMMs run inline (the runner is busy with the outer loop)
                ParallelRunner.For(2, new InlineBody(() => { LinearTests.Run<double>(m, k, o, 1e-12); LinearTests.Run<float>(m, k, o, 2e-5); }));
            }
        }
        finally { CpuKernels<float>.ShareB = saved; CpuKernels<double>.ShareB = savedD; }
    }

    [Theory]
    [InlineData(517, 37, 300)]
    [InlineData(300, 1000, 72)]   // K blocks of a fused (≤ 256-row) GEMM and of a whole 300-row one differ: the parts must match
    public void PackedWeightSlotGivesTheSameBitsAsUnpacked(int m, int k, int o)
    {
        // an inference weight slot (packed once) runs the same row parts as the unpacked forward: identical outputs
        var rng = new Random(m + k + o);
        var x = TU.Rand<float>(rng, m, k); var w = TU.Rand<float>(rng, o, k); var b = TU.Rand<float>(rng, o);
        var y0 = TU.Empty<float>(rng, m, o); var y1 = TU.Empty<float>(rng, m, o);
        var slot = new PackedWeights<float>();
        CpuKernels<float>.Instance.LinearForward(x, w, b, y0, default(ReluOp<float>), default(ReluOp<float>));
        CpuKernels<float>.Instance.LinearForward(x, w, b, y1, default(ReluOp<float>), default(ReluOp<float>), slot, 1);
        CpuKernels<float>.Instance.LinearForward(x, w, b, y1, default(ReluOp<float>), default(ReluOp<float>), slot, 1);   // from the slot
        Assert.Equal(1, slot.PackCount);
        Assert.Equal(y0.AsSpan().ToArray(), y1.AsSpan().ToArray());
    }

    [Fact]
    public void SharedPathRunsForTallOutputs()
    {
        // the shared path runs exactly when C is at least as tall as wide, B is stored transposed and the work is split
        var x = Tensor<float>.Zeros(300, 70); var w = Tensor<float>.Zeros(200, 70); var y = Tensor<float>.Zeros(300, 200);
        bool two = Environment.ProcessorCount > 1, saved = CpuKernels<float>.ShareB;
        CpuKernels<float>.ShareB = true;
        try
        {
        Assert.Equal(two, CpuKernels<float>.GemmSharedB(300, 200, 70, x, 0, 70, 1, w, 0, 1, 70, y, 0, 200, false, BiasKind.None, null, default(Identity<float>)));
        Assert.False(CpuKernels<float>.GemmSharedB(200, 300, 70, x, 0, 70, 1, w, 0, 1, 70, y, 0, 300, false, BiasKind.None, null, default(Identity<float>)));
        Assert.False(CpuKernels<float>.GemmSharedB(8, 8, 8, x, 0, 8, 1, w, 0, 1, 8, y, 0, 8, false, BiasKind.None, null, default(Identity<float>)));
        Assert.False(CpuKernels<float>.GemmSharedB(300, 200, 70, x, 0, 70, 1, w, 0, 200, 1, y, 0, 200, false, BiasKind.None, null, default(Identity<float>)));
        CpuKernels<float>.ShareB = false;
        Assert.False(CpuKernels<float>.GemmSharedB(300, 200, 70, x, 0, 70, 1, w, 0, 1, 70, y, 0, 200, false, BiasKind.None, null, default(Identity<float>)));
        }
        finally { CpuKernels<float>.ShareB = saved; }
    }
}

/// <summary>
/// The linear forward's and data gradient's split GEMMs cut C into more blocks than cores, claimed dynamically
/// (<see cref="CpuKernels{T}.BlockSplit"/>): every split gives the reference's values and the same bits as one block per
/// core (a column block computes each output over the same K blocks), on the workers and inline.
/// </summary>
public class LinearBlockSplitTests
{
    private readonly struct InlineBody(Action test) : IParallelBody
    {
        public void Run(int index) { if (index == 0) test(); }
    }

    [Fact]
    public void WideOutputsSplitIntoMoreBlocksThanCores()
    {
        int saved = CpuKernels<float>.BlockSplit;
        try
        {
            int cores = Environment.ProcessorCount;
            CpuKernels<float>.BlockSplit = 2;
            // 64 × 1024 outputs over K = 1024 (the MLP's batch-64 layer): 4 blocks of 256 columns (2 per core on 2 cores),
            // at least one per core, at most two per core and 32 (the NR panels)
            int parts = CpuKernels<float>.BlockParts(64, 1024, 64L * 1024 * 1024, dynamic: true);
            Assert.Equal(cores > 1 ? Math.Clamp(4, cores, Math.Min(32, 2 * cores)) : 1, parts);
            Assert.Equal(Math.Min(cores, 32), CpuKernels<float>.BlockParts(64, 1024, 64L * 1024 * 1024, dynamic: false));
            Assert.Equal(1, CpuKernels<float>.BlockParts(8, 16, 8L * 16 * 16, dynamic: true));   // too little work to split
            CpuKernels<float>.BlockSplit = 1;
            Assert.Equal(Math.Min(cores, 32), CpuKernels<float>.BlockParts(64, 1024, 64L * 1024 * 1024, dynamic: true));
        }
        finally { CpuKernels<float>.BlockSplit = saved; }
    }

    [Theory]
    [InlineData(40, 30, 1000)]     // forward by 3 column blocks, the last ragged (1000 = 31.25 panels)
    [InlineData(64, 70, 1100)]     // forward by 4 column blocks
    [InlineData(40, 1000, 30)]     // data gradient dx [40, 1000] by 3 column blocks
    [InlineData(33, 817, 800)]     // both, ragged
    public void SplitsMatchReferenceAndEachOther(int m, int k, int o)
    {
        int saved = CpuKernels<float>.BlockSplit, savedD = CpuKernels<double>.BlockSplit;
        try
        {
            float[]? first = null;
            foreach (int split in new[] { 1, 2, 4 })
            {
                CpuKernels<float>.BlockSplit = split; CpuKernels<double>.BlockSplit = split;
                LinearTests.Run<double>(m, k, o, 1e-12);
                LinearTests.Run<float>(m, k, o, 2e-5);
                ParallelRunner.For(2, new InlineBody(() => LinearTests.Run<float>(m, k, o, 2e-5)));
                var rng = new Random(m + k + o);
                var x = TU.Rand<float>(rng, m, k); var w = TU.Rand<float>(rng, o, k); var y = TU.Empty<float>(rng, m, o);
                var dy = TU.Rand<float>(rng, m, o); var dx = TU.Empty<float>(rng, m, k);
                CpuKernels<float>.Instance.LinearForward(x, w, null, y, default(Identity<float>), default(Identity<float>));
                CpuKernels<float>.Instance.LinearBackwardData(dy, w, dx);
                var bits = y.AsSpan().ToArray().Concat(dx.AsSpan().ToArray()).ToArray();
                if (first is null) first = bits; else Assert.Equal(first, bits);
            }
        }
        finally { CpuKernels<float>.BlockSplit = saved; CpuKernels<double>.BlockSplit = savedD; }
    }
}

/// <summary>
/// <see cref="CpuKernels{T}.DynamicChunks"/> (batched matmul, attention): up to <see cref="CpuKernels{T}.ChunkSplit"/>
/// chunks per core that cover every item exactly once, and one piece on one core.
/// </summary>
public class DynamicChunksTests
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 2)]
    [InlineData(64, 2)]
    [InlineData(1000, 3)]
    [InlineData(5, 1)]
    public void EveryItemRunsOnceInUpToSplitChunksPerCore(int n, int workers)
    {
        var hits = new int[n];
        int calls = 0;
        CpuKernels<float>.DynamicChunks(n, workers, hits, (h, lo, hi) =>
        {
            Interlocked.Increment(ref calls);
            for (int i = lo; i < hi; i++) Interlocked.Increment(ref h[i]);
        });
        Assert.All(hits, h => Assert.Equal(1, h));
        int expected = workers <= 1 ? 1 : Math.Min(n, workers * CpuKernels<float>.ChunkSplit);
        Assert.Equal(expected, CpuKernels<float>.DynamicParts(n, workers) is var p && workers > 1 ? p : 1);
        Assert.Equal(expected, calls);
    }
}
