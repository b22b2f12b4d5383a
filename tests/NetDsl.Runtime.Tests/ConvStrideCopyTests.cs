using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// Strided convolutions on the im2col path (CpuKernels.ConvStrideCopy.cs: the stride-2 gather of im2col and scatter-add of
/// col2im, 16 (or 8) at a time with AVX-512 for float): forward with the direct kernels off (whole-batch im2col, and batch 1 split
/// within the image) and backward data (always im2col when strided) against the naive reference. Widths cover one vector,
/// several plus a remainder, and rows too short for a vector. The scalar path runs for double and with DOTNET_EnableAVX512=0.
/// </summary>
public class ConvStrideCopyTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, k, kh, kw, stride, pad
        [1, 16, 32, 32, 32, 3, 3, 2, 1],   // ResNet-20 stage 2 entry at batch 1 (im2col rows split between cores)
        [2, 16, 32, 32, 32, 1, 1, 2, 0],   // its 1×1 stride-2 projection
        [1, 48, 40, 40, 16, 1, 1, 2, 0],   // batch-1 1×1 stride 2, split within the image
        [3, 4, 20, 70, 5, 3, 3, 2, 1],     // wide rows: two vectors and a remainder
        [2, 3, 9, 37, 4, 3, 3, 2, 0],      // odd width, no padding
        [2, 5, 12, 64, 3, 5, 5, 2, 2],     // 5×5, pad 2
        [2, 3, 11, 50, 4, 3, 3, 3, 1],     // stride 3 (scalar)
        [2, 32, 16, 16, 64, 3, 3, 2, 1],   // ResNet-20 stage 3 entry: rows of 8 outputs
        [2, 32, 16, 16, 64, 1, 1, 2, 0],   // its 1×1 projection
        [2, 3, 9, 25, 4, 3, 3, 2, 1],      // rows of 13 outputs
    ];

    [Theory, MemberData(nameof(Cases))]
    public void StridedIm2colMatchesReference(int n, int c, int h, int w, int k, int kh, int kw, int stride, int pad)
    {
        Check<float>(n, c, h, w, k, kh, kw, stride, pad, 2e-5);
        Check<double>(n, c, h, w, k, kh, kw, stride, pad, 1e-12);
    }

    private static void Check<T>(int n, int c, int h, int w, int k, int kh, int kw, int stride, int pad, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(23 + n * 1000 + c * 100 + k * 7 + kh + w);
        var g = new ConvGeometry(stride, stride, pad, pad);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = TU.Rand<T>(rng, n, c, h, w); var wt = TU.Rand<T>(rng, k, c, kh, kw); var b = TU.Rand<T>(rng, k);
        var dy = TU.Rand<T>(rng, n, k, oh, ow);
        var kern = CpuKernels<T>.Instance;
        CpuKernels<T>.t_forceIm2col = true;
        try
        {
            var y = TU.Empty<T>(rng, n, k, oh, ow);
            kern.Conv2dForward(x, wt, b, y, g, default(Identity<T>), default(Identity<T>));
            TU.Close(Ref.Conv(TU.D(x), TU.D(wt), TU.D(b), n, c, h, w, k, kh, kw, g, out _, out _), y, tol, "strided im2col conv+bias");
            var dx = TU.Empty<T>(rng, n, c, h, w);
            kern.Conv2dBackwardData(dy, wt, dx, g);
            TU.Close(Ref.ConvBackwardData(TU.D(dy), TU.D(wt), n, c, h, w, k, kh, kw, g), dx, tol, "strided col2im dx");
        }
        finally { CpuKernels<T>.t_forceIm2col = false; }
    }
}
