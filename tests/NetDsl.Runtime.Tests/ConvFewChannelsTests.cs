using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The row-aligned few-channel convolution kernels (CpuKernels.ConvFewChannels.cs: forward with bias and relu epilogues,
/// backward filter) against the reference kernels and against the direct path in the same process. They run with AVX-512
/// only; with DOTNET_EnableAVX512=0 these cases check that the direct (AVX2) path still gives the same results.
/// </summary>
public class ConvFewChannelsTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, kh, kw, padH, padW, extraPadH, extraPadW
        [3, 1, 28, 28, 6, 5, 5, 2, 2, 0, 0],     // LeNet conv1 (odd batch): OW = 28, an overlapping second vector
        [1, 1, 28, 28, 6, 5, 5, 2, 2, 0, 0],     // batch 1: the image's units split into chunks
        [64, 1, 28, 28, 6, 5, 5, 2, 2, 0, 0],    // LeNet conv1 at the benchmark's batch: images split across cores
        [7, 1, 32, 32, 6, 5, 5, 0, 0, 0, 0],     // unpadded 32×32 (the original LeNet), odd batch
        [2, 3, 20, 19, 7, 5, 5, 2, 2, 0, 0],     // RGB (75 taps), K = 7 (a partial block of 6 channels), OW = 19
        [5, 2, 9, 18, 13, 5, 5, 2, 2, 0, 0],     // K = 13, units not a multiple of 4
        [2, 1, 17, 20, 4, 5, 5, 0, 0, 1, 2],     // asymmetric padding (bottom/right only)
        [4, 1, 12, 16, 6, 5, 7, 3, 3, 0, 0],     // 5×7 kernel, OW = 16 (one vector per row, no overlap)
    ];

    private static ConvGeometry G(int ph, int pw, int eh, int ew) => new(1, 1, ph, pw) { ExtraPadH = eh, ExtraPadW = ew };

    [Theory, MemberData(nameof(Cases))]
    public void FewChannelPathApplies(int n, int c, int h, int w, int k, int kh, int kw, int ph, int pw, int eh, int ew)
    {
        if (!CpuKernels<float>.Use512) return;   // AVX-512 only; elsewhere the direct kernels run
        Assert.True(CpuKernels<float>.FewChannelsApplies([n, c, h, w], [k, c, kh, kw], G(ph, pw, eh, ew)));
        Assert.True(CpuKernels<double>.FewChannelsApplies([n, c, h, w], [k, c, kh, kw], G(ph, pw, eh, ew)));
        // strided, 3×3, many-channel and narrow-output convolutions keep the other paths
        Assert.False(CpuKernels<float>.FewChannelsApplies([n, c, h, w], [k, c, kh, kw], new ConvGeometry(2, 2, ph, pw)));
        Assert.False(CpuKernels<float>.FewChannelsApplies([n, c, 32, 32], [k, c, 3, 3], new ConvGeometry(1, 1, 1, 1)));
        Assert.False(CpuKernels<float>.FewChannelsApplies([n, 6, 14, 14], [16, 6, 5, 5], new ConvGeometry(1, 1, 0, 0)));   // LeNet conv2
        Assert.False(CpuKernels<float>.FewChannelsApplies([n, 1, 14, 14], [6, 1, 5, 5], new ConvGeometry(1, 1, 0, 0)));    // OW = 10 < 16
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesReferenceAndDirect(int n, int c, int h, int w, int k, int kh, int kw, int ph, int pw, int eh, int ew)
    {
        var g = G(ph, pw, eh, ew);
        Check<double>(n, c, h, w, k, kh, kw, g, 1e-10);
        Check<float>(n, c, h, w, k, kh, kw, g, 1e-4);
    }

    private static void Check<T>(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(5 + n * 1000 + c * 100 + k * 7 + kw);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var b = TU.Rand<T>(rng, k);
        var dy = TU.Rand<T>(rng, n, k, oh, ow);
        var kern = CpuKernels<T>.Instance;
        var R = ReferenceKernels<double>.Instance;
        Tensor<double> xd = TD(x), wd = TD(wt), bd = TD(b), dyd = TD(dy);

        // forward + bias, and forward + relu without bias
        var expected = Tensor<double>.Zeros(n, k, oh, ow);
        R.Conv2dForward(xd, wd, bd, expected, g, default(Identity<double>), default(Identity<double>));
        var y = TU.Empty<T>(rng, n, k, oh, ow);
        kern.Conv2dForward(x, wt, b, y, g, default(Identity<T>), default(Identity<T>));
        TU.Close(TU.D(expected), y, tol, "few-channel conv+bias");
        var yDirect = NoFew<T, Tensor<T>>(() => { var t = TU.Empty<T>(rng, n, k, oh, ow); kern.Conv2dForward(x, wt, b, t, g, default(Identity<T>), default(Identity<T>)); return t; });
        TU.Close(TU.D(yDirect), y, tol, "few-channel vs direct conv+bias");
        R.Conv2dForward(xd, wd, null, expected, g, default(ReluOp<double>), default(ReluOp<double>));
        kern.Conv2dForward(x, wt, null, y, g, default(ReluOp<T>), default(ReluOp<T>));
        TU.Close(TU.D(expected), y, tol, "few-channel conv+relu");
        // the packed-weight (inference) overload takes the same path
        var packed = new PackedWeights<T>();
        kern.Conv2dForward(x, wt, b, y, g, default(Identity<T>), default(Identity<T>), packed, 1);
        TU.Close(TU.D(yDirect), y, tol, "few-channel conv+bias (packed overload)");

        // backward filter (+ bias gradient), twice (scratch and partials reused), and without db
        var edw = Tensor<double>.Zeros(k, c, kh, kw); var edb = Tensor<double>.Zeros(k);
        R.Conv2dBackwardFilter(dyd, xd, edw, edb, g);
        var dW = TU.Empty<T>(rng, k, c, kh, kw); var db = TU.Empty<T>(rng, k);
        kern.Conv2dBackwardFilter(dy, x, dW, db, g);
        TU.Close(TU.D(edw), dW, tol, "few-channel dw");
        TU.Close(TU.D(edb), db, tol, "few-channel db");
        kern.Conv2dBackwardFilter(dy, x, dW, null, g);
        TU.Close(TU.D(edw), dW, tol, "few-channel dw (second call)");
        var dwDirect = NoFew<T, Tensor<T>>(() => { var t = TU.Empty<T>(rng, k, c, kh, kw); kern.Conv2dBackwardFilter(dy, x, t, null, g); return t; });
        TU.Close(TU.D(dwDirect), dW, tol, "few-channel vs direct dw");
    }

    [Fact]
    public void OverlappingLanesCountOnce()
    {
        // OW = 28: the second vector of a row (ow 12..27) overlaps the first (0..15). A dy that is nonzero only at ow = 12..15
        // must count those outputs once in dW; an infinity there must not turn other weights' gradients into NaN.
        if (!CpuKernels<float>.Use512) return;
        var g = new ConvGeometry(1, 1, 2, 2);
        var x = Tensor<float>.Zeros(1, 1, 28, 28); x.AsSpan().Fill(1);
        var dy = Tensor<float>.Zeros(1, 1, 28, 28);
        for (int j = 12; j < 16; j++) dy.AsSpan()[5 * 28 + j] = 1;   // row 5, columns 12..15
        var dw = Tensor<float>.Zeros(1, 1, 5, 5);
        CpuKernels<float>.Instance.Conv2dBackwardFilter(dy, x, dw, null, g);
        foreach (var v in dw.AsSpan()) Assert.Equal(4f, v);   // every tap sees 4 ones (rows 3..7 and columns 10..17 are inside the image)
        dy.AsSpan()[5 * 28 + 13] = float.PositiveInfinity;
        CpuKernels<float>.Instance.Conv2dBackwardFilter(dy, x, dw, null, g);
        foreach (var v in dw.AsSpan()) Assert.Equal(float.PositiveInfinity, v);
    }

    private static Tensor<double> TD<T>(Tensor<T> t) where T : unmanaged, IBinaryFloatingPointIeee754<T> => Tensor<double>.FromArray(TU.D(t), t.Shape);

    private static TR NoFew<T, TR>(Func<TR> run) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CpuKernels<T>.t_forceNoFewChannels = true;
        try { return run(); }
        finally { CpuKernels<T>.t_forceNoFewChannels = false; }
    }
}
