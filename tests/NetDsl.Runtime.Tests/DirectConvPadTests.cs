using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The direct kernels pad each image into per-thread scratch in one pass, and a forward worker that computes only part of an
/// image's tiles (batch 1, or a strip split between cores) pads only the rows its tiles read: the rest of its scratch keeps
/// whatever an earlier convolution left there. These tests fill the scratch with NaN first (a convolution of an all-NaN
/// input), then check that the outputs of batch-1 and few-image convolutions, stride 1 and 2, odd sizes, K not a multiple
/// of the tile rows, match the im2col path and are finite. The AVX2 kernels run with DOTNET_EnableAVX512=0.
/// </summary>
public class DirectConvPadTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, kh, kw, stride, pad
        [1, 16, 32, 32, 16, 3, 3, 1, 1],   // ResNet-20 stage 1 at batch 1: tiles split between cores
        [1, 16, 32, 32, 32, 3, 3, 2, 1],   // stage 2 entry, stride 2 (phase planes)
        [1, 32, 16, 16, 64, 3, 3, 2, 1],   // stage 3 entry
        [1, 64, 8, 8, 64, 3, 3, 1, 1],     // stage 3 at batch 1 (two tiles)
        [1, 7, 29, 23, 13, 3, 3, 1, 1],    // odd sizes, K = 13 (a partial panel)
        [1, 5, 31, 27, 11, 3, 3, 2, 1],    // odd sizes, stride 2
        [1, 9, 25, 30, 10, 5, 5, 1, 2],    // 5×5, pad 2
        [3, 12, 30, 30, 20, 3, 3, 1, 1],   // 3 images on 2 cores: a strip split between the workers
        [3, 12, 30, 30, 20, 3, 3, 2, 1],   // the same, strided
        [1, 3, 33, 35, 16, 3, 3, 1, 0],    // no padding
    ];

    [Theory, MemberData(nameof(Cases))]
    public void PartialPaddingIgnoresStaleScratch(int n, int c, int h, int w, int k, int kh, int kw, int stride, int pad)
    {
        Check<float>(n, c, h, w, k, kh, kw, stride, pad, 1e-4);
        Check<double>(n, c, h, w, k, kh, kw, stride, pad, 1e-10);
    }

    private static void Poison<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // NaN in (nearly) every padded-scratch entry of this thread (and of the workers the loop reaches), stride 1 and 2
        var rng = new Random(1);
        foreach (int s in new[] { 1, 2 })
        {
            var g = new ConvGeometry(s, s, 1, 1);
            var x = Tensor<T>.Zeros(1, 40, 64, 64); x.AsSpan().Fill(T.NaN);
            var wt = TU.Rand<T>(rng, 16, 40, 3, 3);
            var y = Tensor<T>.Zeros(1, 16, g.OutH(64, 3), g.OutW(64, 3));
            CpuKernels<T>.Instance.Conv2dForward(x, wt, null, y, g, default(Identity<T>), default(Identity<T>));
        }
    }

    private static void Check<T>(int n, int c, int h, int w, int k, int kh, int kw, int stride, int pad, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(17 + n * 1000 + c * 100 + k * 7 + kh + w + stride);
        var g = new ConvGeometry(stride, stride, pad, pad);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var b = TU.Rand<T>(rng, k);
        var kern = CpuKernels<T>.Instance;
        CpuKernels<T>.t_forceIm2col = true;
        var yRef = TU.Empty<T>(rng, n, k, oh, ow);
        try { kern.Conv2dForward(x, wt, b, yRef, g, default(ReluOp<T>), default(ReluOp<T>)); }
        finally { CpuKernels<T>.t_forceIm2col = false; }
        for (int round = 0; round < 2; round++)
        {
            Poison<T>();
            var y = TU.Empty<T>(rng, n, k, oh, ow);
            var packed = new PackedWeights<T>();
            if (round == 0) kern.Conv2dForward(x, wt, b, y, g, default(ReluOp<T>), default(ReluOp<T>));
            else kern.Conv2dForward(x, wt, b, y, g, default(ReluOp<T>), default(ReluOp<T>), packed, 1);
            foreach (var v in y.AsSpan()) Assert.True(T.IsFinite(v), "a stale scratch value reached an output");
            TU.Close(TU.D(yRef), y, tol, $"direct after stale scratch (round {round})");
        }
    }
}
