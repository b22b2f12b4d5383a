using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// Max-pool backward's one-pass path for argmax inside disjoint 2×2 windows (CpuKernels.PoolBackward2x2.cs) against the
/// scatter definition dx[argmax] += dy and against the general path: rows of 8 outputs and an overlapping last vector, odd
/// planes (the dropped last row and column must be zero), and planes with an index outside its 2×2 window (overlapping or
/// other geometries), where the general path must take over after a partly written plane. Rows of fewer than 8 outputs,
/// double, and AVX2 machines (DOTNET_EnableAVX512=0) keep the general path.
/// </summary>
public class PoolBackward2x2Tests
{
    public static IEnumerable<object[]> Cases =>
    [
        // n, c, h, w, outside (planes with an index outside its window)
        [64, 6, 28, 28, false],   // LeNet pool1: 14 outputs per row (8 + an overlapping 8)
        [64, 16, 10, 10, false],  // LeNet pool2: 5 outputs per row (the general path)
        [1, 1, 16, 16, false],    // batch 1, exactly one vector per row
        [3, 5, 11, 19, false],    // odd: 9 outputs per row, the last row and column dropped
        [2, 3, 7, 33, false],     // 16 outputs per row, odd height and width
        [5, 2, 12, 28, true],     // an index outside its window: the clear-and-scatter path for that plane
        [1, 3, 9, 18, true],      // the same with one vector per row
    ];

    [Theory, MemberData(nameof(Cases))]
    public void MatchesScatter(int n, int c, int h, int w, bool outside)
    {
        Check<float>(n, c, h, w, outside);
        Check<double>(n, c, h, w, outside);
    }

    private static void Check<T>(int n, int c, int h, int w, bool outside) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(n * 100 + h * 10 + w);
        int oh = h / 2, ow = w / 2, ohw = oh * ow;
        var arg = Tensor<int>.Zeros(n, c, oh, ow);
        var a = arg.AsSpan();
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    a[p * ohw + i * ow + j] = (2 * i + rng.Next(2)) * w + 2 * j + rng.Next(2);
        if (outside)
        {
            // plane 1 (or 0): one index in the last row points at the window before it (a 3×3/2 pool could); plane 0 stays 2×2
            int p = Math.Min(1, n * c - 1), i = oh - 1, j = ow - 1;
            a[p * ohw + i * ow + j] = (2 * i) * w + 2 * j - 1;
            a[p * ohw + 1] = a[p * ohw];   // and two outputs sharing one input (must add up)
        }
        var dy = TU.Rand<T>(rng, n, c, oh, ow);
        var dyd = TU.D(dy);
        var expected = new double[n * c * h * w];
        for (int i = 0; i < dyd.Length; i++) expected[i / ohw * h * w + a[i]] += dyd[i];
        var dx = TU.Empty<T>(rng, n, c, h, w);
        CpuKernels<T>.Instance.MaxPool2dBackward(dy, arg, dx);
        TU.Close(expected, dx, 1e-6, "2×2 max-pool dx");   // two dy summed in T where outputs share an input
        // the general path gives the same bits
        CpuKernels<T>.MaxPool2x2BackwardOn = false;
        try
        {
            var dx2 = TU.Empty<T>(rng, n, c, h, w);
            CpuKernels<T>.Instance.MaxPool2dBackward(dy, arg, dx2);
            TU.Close(TU.D(dx2), dx, 0, "2×2 max-pool dx vs the general path");
        }
        finally { CpuKernels<T>.MaxPool2x2BackwardOn = true; }
    }
}
