using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The clipped small-image backward-data kernel (CpuKernels.ConvBackwardDataSmall.cs) against the reference kernels and
/// against the direct path in the same process. It runs with AVX-512 only; with DOTNET_EnableAVX512=0 these cases check that
/// the direct (AVX2) path still gives the same results.
/// </summary>
public class ConvBackwardDataSmallTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, kh, kw
        [1, 6, 14, 14, 16, 5, 5],     // LeNet conv2, batch 1 (float: a row narrower than a vector; double: two overlapping vectors)
        [3, 6, 14, 14, 16, 5, 5],     // LeNet conv2, odd batch
        [64, 6, 14, 14, 16, 5, 5],    // LeNet conv2 at the benchmark's batch: images split across cores
        [2, 7, 13, 19, 5, 5, 5],      // C = 7 (a partial block of 6 channels), odd H (the last row pair overlaps), W = 19
        [2, 3, 7, 9, 4, 5, 5],        // odd H, W = 9 (narrower than a float vector; two overlapping double vectors)
        [3, 2, 12, 11, 5, 7, 5],      // 7×5 kernel
        [2, 3, 12, 13, 4, 5, 7],      // 5×7 kernel (the column-tap loop; 5 columns run unrolled)
        [2, 1, 32, 32, 6, 5, 5],      // 32×32 (two full float vectors per row)
        [2, 4, 5, 5, 3, 5, 5],        // OH = OW = 1
        [1, 13, 6, 7, 2, 5, 5],       // K = 2, C = 13 (three channel blocks), W = 7 narrower than a double vector
    ];

    [Fact]
    public void SmallPathApplies()
    {
        if (!CpuKernels<float>.Use512) return;   // AVX-512 only; elsewhere the direct kernels run
        var g = new ConvGeometry(1, 1, 0, 0);
        Assert.True(CpuKernels<float>.SmallBackwardDataApplies([64, 6, 14, 14], [16, 6, 5, 5], g));   // LeNet conv2
        Assert.True(CpuKernels<double>.SmallBackwardDataApplies([1, 6, 14, 14], [16, 6, 5, 5], g));
        // 3×3 (ResNets), padded, strided and large-image convolutions keep the other paths
        Assert.False(CpuKernels<float>.SmallBackwardDataApplies([64, 16, 32, 32], [16, 16, 3, 3], new ConvGeometry(1, 1, 1, 1)));
        Assert.False(CpuKernels<float>.SmallBackwardDataApplies([64, 6, 14, 14], [16, 6, 5, 5], new ConvGeometry(1, 1, 2, 2)));
        Assert.False(CpuKernels<float>.SmallBackwardDataApplies([64, 6, 14, 14], [16, 6, 5, 5], new ConvGeometry(2, 2, 0, 0)));
        Assert.False(CpuKernels<float>.SmallBackwardDataApplies([1, 3, 224, 224], [8, 3, 7, 7], new ConvGeometry(1, 1, 0, 0)));
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesReferenceAndDirect(int n, int c, int h, int w, int k, int kh, int kw)
    {
        Check<double>(n, c, h, w, k, kh, kw, 1e-10);
        Check<float>(n, c, h, w, k, kh, kw, 1e-4);
    }

    private static void Check<T>(int n, int c, int h, int w, int k, int kh, int kw, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = new ConvGeometry(1, 1, 0, 0);
        var rng = new Random(11 + n * 1000 + c * 100 + k * 7 + kw);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var wt = TU.Rand<T>(rng, k, c, kh, kw);
        var dy = TU.Rand<T>(rng, n, k, oh, ow);
        var kern = CpuKernels<T>.Instance;
        var expected = Tensor<double>.Zeros(n, c, h, w);
        ReferenceKernels<double>.Instance.Conv2dBackwardData(TD(dy), TD(wt), expected, g);
        var dx = TU.Empty<T>(rng, n, c, h, w);
        kern.Conv2dBackwardData(dy, wt, dx, g);
        TU.Close(TU.D(expected), dx, tol, "small backward data");
        kern.Conv2dBackwardData(dy, wt, dx, g);   // scratch reused
        TU.Close(TU.D(expected), dx, tol, "small backward data (second call)");
        CpuKernels<T>.t_forceNoSmallBwd = true;
        try
        {
            var dxDirect = TU.Empty<T>(rng, n, c, h, w);
            kern.Conv2dBackwardData(dy, wt, dxDirect, g);
            TU.Close(TU.D(dxDirect), dx, tol, "small vs direct backward data");
        }
        finally { CpuKernels<T>.t_forceNoSmallBwd = false; }
    }

    private static Tensor<double> TD<T>(Tensor<T> t) where T : unmanaged, IBinaryFloatingPointIeee754<T> => Tensor<double>.FromArray(TU.D(t), t.Shape);
}
