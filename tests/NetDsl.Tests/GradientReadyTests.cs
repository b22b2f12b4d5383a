using NetDsl.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// The compile-time gradient order (docs/distributed.md): the generated backward pass calls GradientReady for every parameter
/// exactly once, in GradientOrder, and only when no later kernel writes that gradient — what lets a data-parallel layer start
/// a bucket's allreduce during the backward pass.
/// </summary>
public sealed class GradientReadyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("LeNet5")]
    [InlineData("ResNetTiny")]
    [InlineData("ResNet20")]
    [InlineData("DenseNetTiny")]
    [InlineData("EfficientNetTiny")]
    [InlineData("EncoderTiny")]
    public void Every_gradient_is_reported_once_in_order_and_is_final_when_reported(string network)
    {
        var net = OpReferenceTests.Create<double>(network, Device.Cpu, seed: 3);
        var order = net.GradientOrder;
        Assert.NotNull(order);
        Assert.Equal(Enumerable.Range(0, net.Parameters.Count), order!.OrderBy(i => i));
        int[] shape = network == "EncoderTiny" ? [2, 8, 16]
            : ((int[])net.GetType().GetProperty("ImageShape")!.GetValue(null)!).Select(d => d < 0 ? 2 : d).ToArray();
        var x = Tensor<double>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), 5), shape);
        var y = Tensor<int>.FromArray([1, 0], 2);
        foreach (bool accumulate in new[] { false, true })
        {
            var seen = new List<int>();
            var atReport = new Dictionary<int, double[]>();
            foreach (var p in net.Parameters) p.Grad.AsSpan().Fill(accumulate ? 0 : double.NaN);
            net.GradientReadyHook = i => { seen.Add(i); atReport[i] = net.Parameters[i].Grad.AsSpan().ToArray(); };
            dynamic d = net;
            if (accumulate) d.AccumulateGradients(x, y); else d.TrainStep(x, y);
            net.GradientReadyHook = null;
            Assert.Equal(order, seen);
            for (int i = 0; i < net.Parameters.Count; i++)
            {
                var final = net.Parameters[i].Grad.AsSpan().ToArray();
                Assert.All(final, v => Assert.True(double.IsFinite(v), $"{net.Parameters[i].Name}: gradient not written"));
                Assert.True(final.AsSpan().SequenceEqual(atReport[i]), $"{net.Parameters[i].Name} changed after GradientReady (accumulate: {accumulate})");
            }
        }
        output.WriteLine($"{network}: {order.Count} gradients, first final: {net.Parameters[order[0]].Name}, last: {net.Parameters[order[^1]].Name}");
    }
}
