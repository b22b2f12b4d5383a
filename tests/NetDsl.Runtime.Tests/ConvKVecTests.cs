using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The channel-vector kernels for small 5×5 convolutions (CpuKernels.ConvKVec.cs) against the reference kernels and against
/// the direct path in the same process. They run with AVX-512 only; with DOTNET_EnableAVX512=0 these cases check that the
/// other paths still give the same results.
/// </summary>
public class ConvKVecTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k (float takes the kernel for 9 ≤ K ≤ 16, double for 5 ≤ K ≤ 8)
        [1, 6, 14, 14, 16],     // LeNet conv2, batch 1
        [3, 6, 14, 14, 16],     // LeNet conv2, odd batch
        [64, 6, 14, 14, 16],    // LeNet conv2 at the benchmark's batch: images split across cores
        [17, 6, 14, 14, 16],    // 17 images: uneven chunks on two threads
        [2, 7, 13, 19, 9],      // odd sizes, K = 9 (7 zero lanes)
        [3, 2, 5, 5, 12],       // OH = OW = 1
        [2, 3, 9, 6, 8],        // OW = 2, K = 8 (double: a full vector; float: other paths)
        [2, 5, 11, 8, 6],       // K = 6 (double: 2 zero lanes)
        [2, 3, 5, 12, 10],      // OH = 1 (both forward tile rows are row 0), OW = 8 (two forward tiles, overlapping)
        [2, 4, 9, 9, 12],       // OH = OW = 5: one tile column, odd OH (the last row pair overlaps)
        [1, 4, 8, 21, 16],      // OH = 4, OW = 17 (four forward tiles, the last overlapping)
        [2, 13, 10, 7, 11],     // C = 13, odd W
        [1, 1, 5, 5, 16],       // C = 1, a 5×5 image
    ];

    [Fact]
    public void KVecPathApplies()
    {
        if (!CpuKernels<float>.Use512) return;   // AVX-512 only; elsewhere the direct kernels run
        var g = new ConvGeometry(1, 1, 0, 0);
        Assert.True(CpuKernels<float>.KVecFilterApplies([64, 6, 14, 14], [16, 6, 5, 5], g));   // LeNet conv2
        Assert.True(CpuKernels<double>.KVecFilterApplies([1, 6, 14, 14], [8, 6, 5, 5], g));
        Assert.False(CpuKernels<double>.KVecFilterApplies([1, 6, 14, 14], [16, 6, 5, 5], g));   // K over a double vector
        Assert.False(CpuKernels<float>.KVecFilterApplies([1, 6, 14, 14], [8, 6, 5, 5], g));     // half the lanes or fewer
        // 3×3 (ResNets), padded, strided and large-image convolutions keep the other paths
        Assert.False(CpuKernels<float>.KVecFilterApplies([64, 16, 32, 32], [16, 16, 3, 3], new ConvGeometry(1, 1, 1, 1)));
        Assert.False(CpuKernels<float>.KVecFilterApplies([64, 6, 14, 14], [16, 6, 5, 5], new ConvGeometry(1, 1, 2, 2)));
        Assert.False(CpuKernels<float>.KVecFilterApplies([64, 6, 14, 14], [16, 6, 5, 5], new ConvGeometry(2, 2, 0, 0)));
        Assert.False(CpuKernels<float>.KVecFilterApplies([1, 6, 224, 224], [16, 6, 5, 5], new ConvGeometry(1, 1, 0, 0)));
    }

    [Fact]
    public void KVecForwardApplies()
    {
        if (!CpuKernels<float>.Use512) return;
        var g = new ConvGeometry(1, 1, 0, 0);
        Assert.True(CpuKernels<float>.KVecForwardApplies([64, 6, 14, 14], [16, 6, 5, 5], g));   // LeNet conv2
        Assert.False(CpuKernels<float>.KVecForwardApplies([64, 6, 8, 8], [16, 6, 5, 5], g));    // OW = 4: narrower than a tile
        Assert.False(CpuKernels<float>.KVecForwardApplies([64, 16, 32, 32], [16, 16, 3, 3], new ConvGeometry(1, 1, 1, 1)));
    }

    [Theory, MemberData(nameof(Cases))]
    public void ForwardMatchesReferenceAndDirect(int n, int c, int h, int w, int k)
    {
        CheckForward<double>(n, c, h, w, k, 1e-10);
        CheckForward<float>(n, c, h, w, k, 1e-4);
    }

    private static void CheckForward<T>(int n, int c, int h, int w, int k, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = new ConvGeometry(1, 1, 0, 0);
        var rng = new Random(23 + n * 1000 + c * 100 + k * 7 + w);
        int oh = g.OutH(h, 5), ow = g.OutW(w, 5);
        var x = TU.Rand<T>(rng, n, c, h, w);
        var wt = TU.Rand<T>(rng, k, c, 5, 5);
        var b = TU.Rand<T>(rng, k);
        var kern = CpuKernels<T>.Instance;
        foreach (bool bias in new[] { true, false })
        {
            var expected = Tensor<double>.Zeros(n, k, oh, ow);
            ReferenceKernels<double>.Instance.Conv2dForward(TD(x), TD(wt), bias ? TD(b) : null, expected, g, default(Identity<double>), default(Identity<double>));
            var y = TU.Empty<T>(rng, n, k, oh, ow);
            kern.Conv2dForward(x, wt, bias ? b : null, y, g, default(Identity<T>), default(Identity<T>));
            TU.Close(TU.D(expected), y, tol, "channel-vector forward");
            kern.Conv2dForward(x, wt, bias ? b : null, y, g, default(Identity<T>), default(Identity<T>));   // scratch reused
            TU.Close(TU.D(expected), y, tol, "channel-vector forward (second call)");
            CpuKernels<T>.t_forceNoKVec = true;
            try
            {
                var yDirect = TU.Empty<T>(rng, n, k, oh, ow);
                kern.Conv2dForward(x, wt, bias ? b : null, yDirect, g, default(Identity<T>), default(Identity<T>));
                TU.Close(TU.D(yDirect), y, tol, "channel-vector vs direct forward");
            }
            finally { CpuKernels<T>.t_forceNoKVec = false; }
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardFilterMatchesReferenceAndDirect(int n, int c, int h, int w, int k)
    {
        CheckFilter<double>(n, c, h, w, k, 1e-10);
        CheckFilter<float>(n, c, h, w, k, 1e-3);
    }

    private static void CheckFilter<T>(int n, int c, int h, int w, int k, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = new ConvGeometry(1, 1, 0, 0);
        var rng = new Random(17 + n * 1000 + c * 100 + k * 7 + w);
        int oh = g.OutH(h, 5), ow = g.OutW(w, 5);
        var x = TU.Rand<T>(rng, n, c, h, w);
        var dy = TU.Rand<T>(rng, n, k, oh, ow);
        var kern = CpuKernels<T>.Instance;
        var expectedW = Tensor<double>.Zeros(k, c, 5, 5); var expectedB = Tensor<double>.Zeros(k);
        ReferenceKernels<double>.Instance.Conv2dBackwardFilter(TD(dy), TD(x), expectedW, expectedB, g);
        var dw = TU.Empty<T>(rng, k, c, 5, 5); var db = TU.Empty<T>(rng, k);
        kern.Conv2dBackwardFilter(dy, x, dw, db, g);
        TU.Close(TU.D(expectedW), dw, tol, "channel-vector backward filter");
        TU.Close(TU.D(expectedB), db, tol, "channel-vector backward filter bias");
        kern.Conv2dBackwardFilter(dy, x, dw, db, g);   // scratch and partials reused
        TU.Close(TU.D(expectedW), dw, tol, "channel-vector backward filter (second call)");
        CpuKernels<T>.t_forceNoKVec = true;
        try
        {
            var dwDirect = TU.Empty<T>(rng, k, c, 5, 5);
            kern.Conv2dBackwardFilter(dy, x, dwDirect, null, g);
            TU.Close(TU.D(dwDirect), dw, tol, "channel-vector vs direct backward filter");
        }
        finally { CpuKernels<T>.t_forceNoKVec = false; }
    }

    private static Tensor<double> TD<T>(Tensor<T> t) where T : unmanaged, IBinaryFloatingPointIeee754<T> => Tensor<double>.FromArray(TU.D(t), t.Shape);
}
