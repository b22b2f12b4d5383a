namespace NetDsl.Runtime.Tests;

public class ParallelRunnerTests
{
    private readonly struct CountBody(int[] hits) : IParallelBody
    {
        public void Run(int index) => Interlocked.Increment(ref hits[index]);
    }

    private readonly struct ThrowBody(int bad, int[] hits) : IParallelBody
    {
        public void Run(int index)
        {
            Interlocked.Increment(ref hits[index]);
            if (index == bad) throw new ArgumentException($"bad index {index}", "x");
        }
    }

    private readonly struct OffsetCountBody(int[] hits, int offset) : IParallelBody
    {
        public void Run(int index) => Interlocked.Increment(ref hits[offset + index]);
    }

    private readonly struct NestingBody(int inner, int[] hits) : IParallelBody
    {
        public void Run(int index) => ParallelRunner.For(inner, new OffsetCountBody(hits, index * inner));
    }

    private readonly struct SpinBody(double[] sink) : IParallelBody
    {
        public void Run(int index)
        {
            double s = 0;
            for (int i = 1; i < 2000; i++) s += Math.Sqrt(i + index);
            sink[index] = s;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(1000)]
    public void Runs_every_index_exactly_once(int count)
    {
        for (int rep = 0; rep < 50; rep++)
        {
            var hits = new int[count];
            ParallelRunner.For(count, new CountBody(hits));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void An_exception_in_the_body_reaches_the_caller_with_its_type()
    {
        for (int rep = 0; rep < 20; rep++)
        {
            var hits = new int[64];
            var e = Assert.Throws<ArgumentException>(() => ParallelRunner.For(64, new ThrowBody(rep % 64, hits)));
            Assert.Equal($"bad index {rep % 64} (Parameter 'x')", e.Message);
            Assert.All(hits, h => Assert.InRange(h, 0, 1));
            Assert.Equal(1, hits[rep % 64]);
        }
        // the runner is usable again afterwards
        var after = new int[100];
        ParallelRunner.For(100, new CountBody(after));
        Assert.All(after, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Nested_loops_run_inline_without_deadlock()
    {
        const int outer = 8, inner = 33;
        for (int rep = 0; rep < 50; rep++)
        {
            var hits = new int[outer * inner];
            ParallelRunner.For(outer, new NestingBody(inner, hits));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void Loops_from_several_threads_at_once_are_all_complete()
    {
        const int threads = 6, reps = 300;
        var errors = new int[1];
        var ts = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (int r = 0; r < reps; r++)
            {
                int count = 1 + (t * 31 + r * 7) % 200;
                var hits = new int[count];
                ParallelRunner.For(count, new CountBody(hits));
                if (hits.Any(h => h != 1)) Interlocked.Increment(ref errors[0]);
                if (r % 10 == 0)
                {
                    var nested = new int[4 * 5];
                    ParallelRunner.For(4, new NestingBody(5, nested));
                    if (nested.Any(h => h != 1)) Interlocked.Increment(ref errors[0]);
                }
            }
        })).ToArray();
        foreach (var th in ts) th.Start();
        foreach (var th in ts) Assert.True(th.Join(TimeSpan.FromMinutes(1)), "a parallel loop deadlocked");
        Assert.Equal(0, errors[0]);
    }

    [Fact]
    public void A_steady_state_loop_allocates_nothing()
    {
        var hits = new int[64];
        var sink = new double[16];
        for (int i = 0; i < 20; i++) { ParallelRunner.For(64, new CountBody(hits)); ParallelRunner.For(16, new SpinBody(sink)); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) { ParallelRunner.For(64, new CountBody(hits)); ParallelRunner.For(16, new SpinBody(sink)); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.All(hits, h => Assert.Equal(1020, h));
    }

    [Fact]
    public void Parallel_kernels_allocate_nothing_after_the_first_call()
    {
        // big enough for every parallel path: elementwise blocks, GEMM row blocks, conv image chunks, filter partials
        var rng = new Random(1);
        var k = CpuKernels<float>.Instance;
        var a = TU.Rand<float>(rng, 1 << 18); var mask = TU.Empty<float>(rng, 1 << 18); var y = TU.Empty<float>(rng, 1 << 18);
        var x = TU.Rand<float>(rng, 128, 512); var w = TU.Rand<float>(rng, 256, 512); var ly = TU.Empty<float>(rng, 128, 256);
        var dw = TU.Empty<float>(rng, 256, 512); var dx = TU.Empty<float>(rng, 128, 512);
        var g = ConvGeometry.Of(1, 1);
        var cx = TU.Rand<float>(rng, 16, 8, 16, 16); var cw = TU.Rand<float>(rng, 16, 8, 3, 3); var cy = TU.Empty<float>(rng, 16, 16, 16, 16);
        var cdw = TU.Empty<float>(rng, 16, 8, 3, 3); var cdx = TU.Empty<float>(rng, 16, 8, 16, 16);
        void Step()
        {
            k.Map(a, y, default(ReluOp<float>), default(ReluOp<float>));
            k.DropoutForward(a, mask, y, 0.5f, 7);
            k.LinearForward(x, w, null, ly, default(Identity<float>), default(Identity<float>));
            k.LinearBackwardData(ly, w, dx);
            k.LinearBackwardFilter(ly, x, dw, null);
            k.Conv2dForward(cx, cw, null, cy, g, default(Identity<float>), default(Identity<float>));
            k.Conv2dBackwardData(cy, cw, cdx, g);
            k.Conv2dBackwardFilter(cy, cx, cdw, null, g);
        }
        for (int i = 0; i < 5; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
