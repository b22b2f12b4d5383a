using System.Diagnostics;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>net.Freeze("conv1", "conv2"): frozen weights stay bit-identical, their filter-gradient kernels do not run, and the step is faster.</summary>
[Collection(SerialCollection.Name)]
public class FreezeTests(ITestOutputHelper output)
{
    private static (Tensor<float> X, Tensor<int> Y) Digits(int batch, int offset)
    {
        var d = TestData.Mnist10k;
        var idx = Enumerable.Range(0, batch).Select(i => (offset + i * 37) % d.Count).ToArray();
        var s = d.Select(idx);
        return (Tensor<float>.FromArray(s.Images, s.BatchShape(batch)), Tensor<int>.FromArray(s.Labels, batch));
    }

    [Fact]
    public void Frozen_layers_keep_their_weights_and_skip_their_gradient_kernels()
    {
        var net = new LeNet5(Device.Cpu, seed: 3);
        var frozen = net.Freeze("conv1", "conv2");
        Assert.Equal(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"], frozen.Select(p => p.Name));
        var before = net.Parameters.Select(p => p.Value.AsSpan().ToArray()).ToArray();
        foreach (var p in frozen) p.Grad.AsSpan().Fill(float.NaN); // a kernel that ran would overwrite this
        var adam = new AdamW<float>(net.Parameters, lr: 1e-3, weightDecay: 0.1) { ClipGradNorm = 1.0 };
        for (int step = 0; step < 5; step++)
        {
            var (x, y) = Digits(32, step * 32);
            float loss = net.TrainStep(x, y, adam);
            Assert.True(float.IsFinite(loss));
        }
        for (int j = 0; j < net.Parameters.Count; j++)
        {
            var p = net.Parameters[j];
            if (p.Frozen)
            {
                Assert.Equal(before[j], p.Value.AsSpan().ToArray());             // bit-identical, decay and all
                Assert.All(p.Grad.AsSpan().ToArray(), g => Assert.True(float.IsNaN(g))); // its gradient kernel never ran
            }
            else Assert.NotEqual(before[j], p.Value.AsSpan().ToArray());
        }
        Assert.Throws<ArgumentException>(() => net.Freeze("conv9"));
        net.Unfreeze();
        var (x2, y2) = Digits(32, 999);
        net.TrainStep(x2, y2, adam);
        Assert.NotEqual(before[0], net.Parameters[0].Value.AsSpan().ToArray());
    }

    [Fact]
    public void Frozen_step_is_faster()
    {
        var net = new LeNet5(Device.Cpu, seed: 3);
        var sgd = new Sgd<float>(net.Parameters, lr: 0.01, momentum: 0.9);
        var (x, y) = Digits(64, 0);
        double Best(int reps)
        {
            double best = double.MaxValue;
            for (int r = 0; r < reps; r++)
            {
                long t = Stopwatch.GetTimestamp();
                net.TrainStep(x, y, sgd);
                best = Math.Min(best, Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
            return best;
        }
        Best(5); // warm-up
        double all = double.MaxValue, frozen = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            net.Unfreeze(); all = Math.Min(all, Best(10));
            net.Freeze("conv1", "conv2"); frozen = Math.Min(frozen, Best(10));
        }
        output.WriteLine($"LeNet-5 batch 64, best of 30 steps: {all:F2} ms training everything, {frozen:F2} ms with conv1 and conv2 frozen ({all / frozen:F2}x)");
        Assert.True(frozen < all, $"frozen step {frozen:F2} ms is not faster than the full step {all:F2} ms");
    }
}
