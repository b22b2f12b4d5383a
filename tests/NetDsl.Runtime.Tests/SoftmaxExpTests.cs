using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

/// <summary>The float exp of the kernels and generated functors (<see cref="VMath.ExpF(Vector512{float})"/>, 512- and 256-bit)
/// against double-precision Math.Exp, and its edge values.</summary>
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
            var e = VMath.ExpF(v);
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
        var e = VMath.ExpF(Vector512.Create(x));
        Assert.Equal(0f, e[0]); Assert.Equal(0f, e[1]); Assert.Equal(0f, e[2]); Assert.Equal(0f, e[3]);
        Assert.True(float.IsNaN(e[4]));
        Assert.Equal(1f, e[5]); Assert.Equal(1f, e[6]);
        Assert.Equal(float.PositiveInfinity, e[7]); Assert.Equal(float.PositiveInfinity, e[8]);   // overflows to +inf, as exp does
        // the top of the range stays finite and close
        var top = VMath.ExpF(Vector512.Create(88.7f));
        Assert.True(float.IsFinite(top[0]) && Math.Abs(top[0] - Math.Exp(88.7)) <= 1e-5 * Math.Exp(88.7), $"exp(88.7) = {top[0]:R}");
    }

    [Fact]
    public void ExpF256MatchesMathExpWithinThreeUlpAndKeepsTheEnds()
    {
        if (!Vector256.IsHardwareAccelerated) return;
        var rng = new Random(7);
        for (int k = 0; k < 4000; k++)
        {
            var xs = new float[8];
            for (int i = 0; i < 8; i++) xs[i] = (float)(rng.NextDouble() * 174.9 - 87.3);
            var e = VMath.ExpF(Vector256.Create(xs));
            for (int i = 0; i < 8; i++)
            {
                double want = Math.Exp(xs[i]);
                Assert.True(Math.Abs(e[i] - want) <= 3 * 1.2e-7 * want, $"exp({xs[i]:R}) = {e[i]:R}, want {want:R}");
            }
        }
        var ends = VMath.ExpF(Vector256.Create(float.NegativeInfinity, -1000f, float.NaN, 0f, float.PositiveInfinity, 1000f, 88.8f, -0f));
        Assert.Equal(0f, ends[0]); Assert.Equal(0f, ends[1]); Assert.True(float.IsNaN(ends[2])); Assert.Equal(1f, ends[3]);
        Assert.Equal(float.PositiveInfinity, ends[4]); Assert.Equal(float.PositiveInfinity, ends[5]); Assert.Equal(float.PositiveInfinity, ends[6]);
        Assert.Equal(1f, ends[7]);
        // sigmoid reaches exactly 0 and 1 at the ends (1/(1+e^−x) with e^−x = +inf)
        var s = VMath.Sigmoid(Vector256.Create(-200f, 200f, 0f, -90f, 90f, 1f, -1f, 5f));
        Assert.Equal(0f, s[0]); Assert.Equal(1f, s[1]); Assert.Equal(0.5f, s[2]);
    }
}
