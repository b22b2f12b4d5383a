using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;
using NetDsl.Runtime.Optim;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// SGD with momentum whose velocity lives in the gradient buffers (Sgd(stateInGradients: true), driven by the generated
/// TrainStep(…, optimizer), whose backward pass accumulates): the same trajectory as PyTorch-form SGD with its own momentum
/// buffers, with one parameter-sized buffer less per parameter.
/// </summary>
public class StateInGradientsTests(ITestOutputHelper output)
{
    private static (Tensor<T> X, Tensor<int> Y) Batch<T>(object net, int batch, int seed) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var shape = ((int[])net.GetType().GetProperty("ImageShape")!.GetValue(null)!).Select(d => d < 0 ? batch : d).ToArray();
        var x = Tensor<T>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), seed).Select(T.CreateChecked).ToArray(), shape);
        var y = Tensor<int>.FromArray(Enumerable.Range(0, batch).Select(i => (i * 3 + seed) % 4).ToArray(), batch);
        return (x, y);
    }

    [Theory]
    [InlineData("LeNet5", 0.0)]
    [InlineData("LeNet5", 5e-4)]
    [InlineData("ResNetTiny", 1e-4)]   // conv and batchnorm gradients accumulate through the scratch path
    public void Same_trajectory_as_sgd_with_momentum_buffers(string network, double weightDecay)
    {
        var plain = OpReferenceTests.Create<double>(network, Device.Cpu, seed: 2);
        var fused = OpReferenceTests.Create<double>(network, Device.Cpu, seed: 2);
        var a = new Sgd<double>(plain.Parameters, lr: 0.05, momentum: 0.9, weightDecay: weightDecay);
        var b = new Sgd<double>(fused.Parameters, lr: 0.05, momentum: 0.9, weightDecay: weightDecay, stateInGradients: true);
        dynamic dp = plain, df = fused;
        for (int step = 0; step < 5; step++)
        {
            var (x, y) = Batch<double>(plain, 4, step);
            double la = dp.TrainStep(x, y, a);
            double lb = df.TrainStep(x, y, b);
            Assert.Equal(la, lb, 10);
        }
        for (int j = 0; j < plain.Parameters.Count; j++)
        {
            var pa = plain.Parameters[j].Value.CopyToHost(); var pb = fused.Parameters[j].Value.CopyToHost();
            var va = a.Velocity(j).CopyToHost(); var vb = b.Velocity(j).CopyToHost();
            for (int i = 0; i < pa.Length; i++)
            {
                Assert.True(Math.Abs(pa[i] - pb[i]) <= 1e-10 * (1 + Math.Abs(pa[i])), $"{plain.Parameters[j].Name}[{i}]: {pa[i]} vs {pb[i]}");
                Assert.True(Math.Abs(va[i] - vb[i]) <= 1e-9 * (1 + Math.Abs(va[i])), $"{plain.Parameters[j].Name} velocity[{i}]: {va[i]} vs {vb[i]}");
            }
        }
        Assert.Same(fused.Parameters[0].Grad, b.Velocity(0));   // no separate momentum buffer
        output.WriteLine($"{network}: 5 steps, parameters and velocities equal to 1e-10");
    }

    [Fact]
    public void Same_trajectory_on_the_ilgpu_path()
    {
        var gpu = IlgpuDevice.CreateCpuSimulator();
        var plain = new TinyMlp(Device.Cpu, seed: 4);
        var fused = new TinyMlp(gpu, seed: 4);
        var a = new Sgd<float>(plain.Parameters, lr: 0.1, momentum: 0.9);
        var b = new Sgd<float>(fused.Parameters, lr: 0.1, momentum: 0.9, stateInGradients: true);
        var shape = TinyMlp.XShape.Select(d => d < 0 ? 3 : d).ToArray();
        var xs = TestData.Random(shape.Aggregate(1, (p, q) => p * q), 8).Select(v => (float)v).ToArray();
        var xc = Tensor<float>.FromArray(xs, shape); var xg = gpu.Allocate<float>(shape); xg.CopyFromHost(xs);
        var yc = Tensor<int>.FromArray([0, 1, 0], 3); var yg = gpu.Allocate<int>(3); yg.CopyFromHost([0, 1, 0]);
        for (int step = 0; step < 3; step++) { plain.TrainStep(xc, yc, a); fused.TrainStep(xg, yg, b); }
        for (int j = 0; j < plain.Parameters.Count; j++)
        {
            var pa = plain.Parameters[j].Value.CopyToHost(); var pb = fused.Parameters[j].Value.CopyToHost();
            for (int i = 0; i < pa.Length; i++) Assert.True(Math.Abs(pa[i] - pb[i]) <= 1e-4 * (1 + Math.Abs(pa[i])), $"{plain.Parameters[j].Name}[{i}]: CPU {pa[i]} vs ILGPU {pb[i]}");
        }
    }

    [Fact]
    public void Stepping_it_without_the_accumulating_backward_is_an_error()
    {
        var net = new TinyMlp<double>(Device.Cpu, seed: 1);
        var sgd = new Sgd<double>(net.Parameters, lr: 0.1, momentum: 0.9, stateInGradients: true);
        var shape = TinyMlp<double>.XShape.Select(d => d < 0 ? 2 : d).ToArray();
        var x = Tensor<double>.FromArray(TestData.Random(shape.Aggregate(1, (p, q) => p * q), 1), shape);
        net.TrainStep(x, Tensor<int>.FromArray([0, 1], 2));   // overwrites the gradients: this optimizer's velocity
        var e = Assert.Throws<InvalidOperationException>(() => sgd.Step());
        Assert.Contains("TrainStep(…, optimizer)", e.Message);
        Assert.Throws<ArgumentException>(() => new Sgd<double>(net.Parameters, lr: 0.1, momentum: 0, stateInGradients: true));
        Assert.Throws<ArgumentException>(() => new Sgd<double>(net.Parameters, lr: 0.1, momentum: 0.9, nesterov: true, stateInGradients: true));
    }

    [Fact]
    public void Steady_state_steps_allocate_nothing()
    {
        var net = OpReferenceTests.Create<float>("ResNetTiny", Device.Cpu, seed: 1);
        var sgd = new Sgd<float>(net.Parameters, lr: 0.01, momentum: 0.9, stateInGradients: true);
        var (x, y) = Batch<float>(net, 4, 3);
        dynamic d = net;
        for (int i = 0; i < 3; i++) d.TrainStep(x, y, sgd);
        var perStep = new long[12];
        for (int i = 0; i < perStep.Length; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            d.TrainStep(x, y, sgd);
            perStep[i] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(perStep.Skip(6).All(b => b == 0), $"steps allocated {string.Join(", ", perStep)} bytes");
    }
}
