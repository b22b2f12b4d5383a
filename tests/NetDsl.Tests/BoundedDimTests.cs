using NetDsl.Runtime;
using Xunit;

namespace NetDsl.Tests;

/// <summary>`input x: [N, T <= 8, 4]`: a symbolic dim with an upper bound, stated as a constant and checked at run time.</summary>
public class BoundedDimTests
{
    [Fact]
    public void Any_length_up_to_the_bound_runs_and_a_longer_one_is_an_exception_naming_the_bound()
    {
        Assert.Equal(8, BoundedSeq.MaxT);
        var net = new BoundedSeq(Device.Cpu, seed: 1);
        var label = Tensor<int>.FromArray([0, 2], 2);
        foreach (int t in new[] { 3, 8 })
        {
            var x = Tensor<float>.FromArray(TestData.Random(2 * t * 4, t).Select(v => (float)v).ToArray(), 2, t, 4);
            Assert.True(float.IsFinite(net.TrainStep(x, label)));
        }
        var tooLong = Tensor<float>.FromArray(new float[2 * 9 * 4], 2, 9, 4);
        var ex = Assert.Throws<ArgumentException>(() => net.TrainStep(tooLong, label));
        Assert.Contains("input 'x': dim 1 (T) is 9, above its declared bound T <= 8", ex.Message);
    }
}
