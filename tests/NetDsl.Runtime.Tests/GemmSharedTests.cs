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
