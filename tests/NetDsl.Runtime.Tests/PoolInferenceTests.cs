using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>MaxPool2dInference (eval plans: no argmax) writes exactly MaxPool2dForward's y, NaN included.</summary>
public class PoolInferenceTests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, kernelH, kernelW, strideH, strideW, padH, padW
        [4, 6, 28, 28, 2, 2, 2, 2, 0, 0],   // LeNet pool1: 14 outputs a row, one Vector256 of floats and a tail
        [64, 16, 10, 10, 2, 2, 2, 2, 0, 0], // LeNet pool2: rows narrower than a vector, parallel planes
        [2, 3, 9, 41, 2, 2, 2, 2, 0, 0],    // odd sizes, 20 outputs a row: two float vectors (five double ones) and a tail
        [1, 1, 2, 32, 2, 2, 2, 2, 0, 0],    // batch 1, exactly two float vectors
        [2, 3, 7, 9, 3, 3, 2, 2, 1, 1],     // ResNet's 3×3/2 pad 1 on odd sizes
        [1, 2, 5, 6, 3, 2, 1, 2, 1, 0],     // rectangular window, stride 1 rows
        [3, 64, 32, 32, 3, 3, 2, 2, 1, 1],  // large: parallel planes
    ];

    [Theory, MemberData(nameof(Cases))]
    public void EqualsForwardWithoutArgmax(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var g = new PoolGeometry(kh, kw, sh, sw, ph, pw);
        Check<float>(n, c, h, w, g, nan: false);
        Check<double>(n, c, h, w, g, nan: false);
        Check<float>(n, c, h, w, g, nan: true);
        Check<double>(n, c, h, w, g, nan: true);
    }

    private static void Check<T>(int n, int c, int h, int w, PoolGeometry g, bool nan) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(n * 1000 + h * w + c);
        var kern = CpuKernels<T>.Instance;
        var x = TU.Rand<T>(rng, n, c, h, w);
        if (nan) { var xs = x.AsSpan(); for (int i = 0; i < xs.Length; i += 37) xs[i] = T.NaN; }
        int oh = g.OutH(h), ow = g.OutW(w);
        var expected = Tensor<T>.Zeros(n, c, oh, ow);
        kern.MaxPool2dForward(x, expected, Tensor<int>.Zeros(n, c, oh, ow), g);
        var y = TU.Empty<T>(rng, n, c, oh, ow);
        kern.MaxPool2dInference(x, y, g);
        var e = expected.AsSpan(); var a = y.AsSpan();
        for (int i = 0; i < e.Length; i++)
            Assert.True(T.IsNaN(e[i]) ? T.IsNaN(a[i]) : a[i] == e[i], $"{typeof(T).Name} nan={nan} y[{i}]: {a[i]}, expected {e[i]}");
        if (nan) Assert.Contains(a.ToArray(), T.IsNaN);
    }

    [Fact]
    public void ChecksShapes()
    {
        var kern = CpuKernels<float>.Instance;
        var x = Tensor<float>.Zeros(2, 3, 8, 8);
        TU.ThrowsShapes(() => kern.MaxPool2dInference(x, Tensor<float>.Zeros(2, 3, 4, 5), PoolGeometry.Of(2, 2)), "[2, 3, 4, 4]", "[2, 3, 4, 5]");
    }
}
