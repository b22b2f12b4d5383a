using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

/// <summary>The attention softmax's inlined float exp (AVX-512) against double-precision Math.Exp, and its edge values.</summary>
public class SoftmaxExpTests
{
    [Fact]
    public void ExpMatchesMathExpWithinThreeUlp()
    {
        if (!Vector512.IsHardwareAccelerated) return;   // the AVX-512 path only
        var rng = new Random(11);
        var xs = new List<float> { 0f, -0f, 1f, -1f, 0.5f, -0.693147f, 0.693147f, -10f, 10f, -87f, 87.5f, -87.3f, 1e-8f, -1e-8f };
        for (int i = 0; i < 4000; i++) xs.Add((float)(rng.NextDouble() * 174.9 - 87.3));
        for (int i = 0; i < 1000; i++) xs.Add((float)(rng.NextDouble() * 4 - 2));
        while (xs.Count % 16 != 0) xs.Add(0f);
        for (int b = 0; b < xs.Count; b += 16)
        {
            var v = Vector512.Create(xs.GetRange(b, 16).ToArray());
            var e = CpuKernels<float>.ExpF(v);
            for (int l = 0; l < 16; l++)
            {
                double want = Math.Exp(xs[b + l]);
                Assert.True(Math.Abs(e[l] - want) <= 3 * 1.2e-7 * want, $"exp({xs[b + l]:R}) = {e[l]:R}, want {want:R}");
            }
        }
    }

    [Fact]
    public void ExpEdgeValues()
    {
        if (!Vector512.IsHardwareAccelerated) return;
        float[] x = [float.NegativeInfinity, -1000f, -87.5f, -100f, float.NaN, 0f, -0f, float.PositiveInfinity, 1000f, 0f, 0f, 0f, 0f, 0f, 0f, 0f];
        var e = CpuKernels<float>.ExpF(Vector512.Create(x));
        Assert.Equal(0f, e[0]); Assert.Equal(0f, e[1]); Assert.Equal(0f, e[2]); Assert.Equal(0f, e[3]);
        Assert.True(float.IsNaN(e[4]));
        Assert.Equal(1f, e[5]); Assert.Equal(1f, e[6]);
        Assert.True(e[7] > 3e38f); Assert.True(e[8] > 3e38f);   // saturates at the top of the float range (or +inf)
        // the top of the range stays finite and close
        var top = CpuKernels<float>.ExpF(Vector512.Create(88.7f));
        Assert.True(float.IsFinite(top[0]) && Math.Abs(top[0] - Math.Exp(88.7)) <= 1e-5 * Math.Exp(88.7), $"exp(88.7) = {top[0]:R}");
    }
}
