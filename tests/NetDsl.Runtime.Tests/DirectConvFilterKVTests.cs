namespace NetDsl.Runtime.Tests;

/// <summary>
/// The k-vector weight gradient of stride-1 and stride-2 3×3 convolutions (CpuKernels.DirectConvFilterKV.cs; float, AVX-512) against the
/// reference kernels, the dot-form direct kernel and the im2col path, at shapes that hit each branch: K = 16 (two channels per
/// register block, odd C aliases the last channel), K = 32 / 64 (two vectors of K per block), K = 48 (an odd vector count
/// aliases the last vector), K not a multiple of 16 or 8 (zero columns in dyᵀ, scalar transpose edges), pixel counts that are
/// not a multiple of 8, asymmetric and zero padding, stride 2 (one pixel per step), batch 1, and batches that make several image groups and workers.
/// </summary>
public class DirectConvFilterKVTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, padT, padL, padB, padR, stride
        [64, 16, 32, 32, 16, 1, 1, 1, 1, 1],   // ResNet-20 stage 1 (K = 16: channel pairs; several image groups, two workers)
        [8, 32, 16, 16, 32, 1, 1, 1, 1, 1],    // stage 2 (K = 32: one vector pair)
        [16, 64, 8, 8, 64, 1, 1, 1, 1, 1],     // stage 3 (K = 64: two vector pairs; images grouped)
        [1, 3, 7, 9, 16, 1, 1, 1, 1, 1],       // batch 1, odd C (aliased channel), P = 63
        [3, 5, 11, 13, 48, 1, 1, 1, 1, 1],     // K = 48: odd vector count (aliased vector)
        [2, 4, 9, 10, 20, 1, 1, 1, 1, 1],      // K = 20: Kp = 32, scalar transpose rows past 16
        [2, 7, 6, 5, 33, 0, 0, 0, 0, 1],       // no padding, K = 33 (not a multiple of 8), tiny image
        [3, 6, 10, 7, 24, 2, 0, 1, 2, 1],      // asymmetric padding
        [5, 2, 4, 4, 17, 1, 1, 1, 1, 1],       // 4×4 images (P = 16), K = 17
        [8, 16, 32, 32, 32, 1, 1, 1, 1, 2],   // ResNet-20's 16 → 32 stride-2 conv
        [4, 32, 16, 16, 64, 1, 1, 1, 1, 2],   // 32 → 64, stride 2
        [3, 5, 11, 9, 16, 1, 1, 1, 1, 2],     // stride 2, K = 16 (channel pairs), odd sizes
        [2, 3, 8, 7, 20, 0, 0, 0, 0, 2],      // stride 2, no padding
        [2, 4, 9, 10, 33, 1, 0, 0, 1, 2],     // stride 2, asymmetric padding
    ];

    [Theory, MemberData(nameof(Cases))]
    public void MatchesReferenceDotFormAndIm2col(int n, int c, int h, int w, int k, int pt, int pl, int pb, int pr, int stride)
    {
        var g = new ConvGeometry(stride, stride, pt, pl) { ExtraPadH = pb - pt, ExtraPadW = pr - pl };
        Assert.Equal(pb, g.PadBottom);
        Assert.Equal(pr, g.PadRight);
        if (CpuKernels<float>.Use512)
            Assert.True(CpuKernels<float>.FilterKVApplies([n, c, h, w], [k, c, 3, 3], g));
        // not for double, stride 3, dilated, or non-3×3 convolutions
        Assert.False(CpuKernels<double>.FilterKVApplies([n, c, h, w], [k, c, 3, 3], g));
        Assert.False(CpuKernels<float>.FilterKVApplies([n, c, h, w], [k, c, 3, 3], new ConvGeometry(3, 3, 1, 1)));
        Assert.False(CpuKernels<float>.FilterKVApplies([n, c, h + 4, w + 4], [k, c, 3, 3], new ConvGeometry(1, 1, 1, 1, 2, 2)));
        Assert.False(CpuKernels<float>.FilterKVApplies([n, c, h, w], [k, c, 5, 5], new ConvGeometry(1, 1, 2, 2)));

        var rng = new Random(17 + n * 1000 + c * 100 + k + stride);
        int oh = g.OutH(h, 3), ow = g.OutW(w, 3);
        var x = TU.Rand<float>(rng, n, c, h, w); var dy = TU.Rand<float>(rng, n, k, oh, ow);
        var kern = CpuKernels<float>.Instance;
        var expected = Tensor<double>.Zeros(k, c, 3, 3); var edb = Tensor<double>.Zeros(k);
        ReferenceKernels<double>.Instance.Conv2dBackwardFilter(TU.Convert<double>(rng, Double(dy)), TU.Convert<double>(rng, Double(x)), expected, edb, g);

        var dw = TU.Empty<float>(rng, k, c, 3, 3); var db = TU.Empty<float>(rng, k);
        kern.Conv2dBackwardFilter(dy, x, dw, db, g);
        TU.Close(TU.D(expected), dw, 1e-4, "k-vector dw");
        TU.Close(TU.D(edb), db, 1e-4, "k-vector db");
        kern.Conv2dBackwardFilter(dy, x, dw, null, g);   // again: scratch, partial sums and dWᵀ reused (and cleared)
        TU.Close(TU.D(expected), dw, 1e-4, "k-vector dw (second call)");

        var dot = TU.Empty<float>(rng, k, c, 3, 3);
        CpuKernels<float>.t_noFilterKV = true;
        try { kern.Conv2dBackwardFilter(dy, x, dot, null, g); }
        finally { CpuKernels<float>.t_noFilterKV = false; }
        TU.Close(TU.D(dot), dw, 1e-4, "k-vector vs dot-form dw");
        var col = TU.Empty<float>(rng, k, c, 3, 3);
        CpuKernels<float>.t_forceIm2col = true;
        try { kern.Conv2dBackwardFilter(dy, x, col, null, g); }
        finally { CpuKernels<float>.t_forceIm2col = false; }
        TU.Close(TU.D(col), dw, 1e-4, "k-vector vs im2col dw");
    }

    private static Tensor<double> Double(Tensor<float> t) => Tensor<double>.FromArray(TU.D(t), t.Shape);

    [Fact]
    public void MorePartsThanThreadsGiveTheSameResults()
    {
        // ConvPartsPerWorker > 1 splits the direct forward / backward data and the k-vector weight gradient into more parts
        // than threads (one partial dW per part); the results are those of one part per thread (up to summation order)
        var rng = new Random(29);
        var g = new ConvGeometry(1, 1, 1, 1);
        var x = TU.Rand<float>(rng, 32, 16, 8, 8); var wt = TU.Rand<float>(rng, 32, 16, 3, 3); var dy = TU.Rand<float>(rng, 32, 32, 8, 8);
        var kern = CpuKernels<float>.Instance;
        (double[] y, double[] dx, double[] dw) Run()
        {
            var y = TU.Empty<float>(rng, 32, 32, 8, 8); var dx = TU.Empty<float>(rng, 32, 16, 8, 8); var dw = TU.Empty<float>(rng, 32, 16, 3, 3);
            kern.Conv2dForward(x, wt, null, y, g, default(Identity<float>), default(Identity<float>));
            kern.Conv2dBackwardData(dy, wt, dx, g);
            kern.Conv2dBackwardFilter(dy, x, dw, null, g);
            return (TU.D(y), TU.D(dx), TU.D(dw));
        }
        int saved = CpuKernels<float>.ConvPartsPerWorker;
        try
        {
            CpuKernels<float>.ConvPartsPerWorker = 1;
            var one = Run();
            CpuKernels<float>.ConvPartsPerWorker = 4;
            var four = Run();
            TU.Close(one.y, four.y, 1e-5, 0, "y");
            TU.Close(one.dx, four.dx, 1e-5, 0, "dx");
            TU.Close(one.dw, four.dw, 1e-4, 1e-5, "dw");
        }
        finally { CpuKernels<float>.ConvPartsPerWorker = saved; }
    }
}
