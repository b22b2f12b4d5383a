using System.Diagnostics;
using NetDsl.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// The same generated class on the ILGPU path (ILGPU's CPU simulator here; CUDA or OpenCL where present) and on our
/// CPU path: identical parameters, outputs, loss and gradients. Tiny sizes: every kernel's first launch compiles
/// for seconds on the simulator, so these tests are few.
/// </summary>
public class IlgpuPathTests(ITestOutputHelper output)
{
    private static float[] Host(Tensor<float> t) => t.CopyToHost();

    [Fact]
    public void LeNet5_on_ILGPU_matches_the_CPU_path_forward_and_backward()
    {
        var clock = Stopwatch.StartNew();
        using var gpu = IlgpuDevice.CreateCpuSimulator();
        var onCpu = new LeNet5(Device.Cpu, seed: 3);
        var onGpu = new LeNet5(gpu, seed: 3);
        foreach (var (a, b) in onCpu.Parameters.Zip(onGpu.Parameters))
            Assert.Equal(Host(a.Value), Host(b.Value));

        var x = TestData.Random(2 * 784, 5).Select(v => (float)v).ToArray();
        int[] labels = [7, 1];
        var xc = Tensor<float>.FromArray(x, 2, 1, 28, 28);
        var yc = Tensor<int>.FromArray(labels, 2);
        var xg = gpu.Allocate<float>(2, 1, 28, 28); xg.CopyFromHost(x);
        var yg = gpu.Allocate<int>(2); yg.CopyFromHost(labels);

        float lossCpu = onCpu.TrainStep(xc, yc);
        float lossGpu = onGpu.TrainStep(xg, yg);
        Assert.Equal(lossCpu, lossGpu, 4);
        foreach (var (a, b) in onCpu.Parameters.Zip(onGpu.Parameters))
            Approx.Rel(Host(a.Grad), Host(b.Grad), 1e-4, a.Name + ".grad");

        onCpu.Eval(); onGpu.Eval();
        Approx.Rel(Host(onCpu.Forward(xc)), Host(onGpu.Forward(xg)), 1e-5, "logits");
        output.WriteLine($"{gpu.Name}: loss {lossGpu}, {clock.Elapsed.TotalSeconds:F1} s including kernel compilation");
    }

    [Fact]
    public void AllOps_on_ILGPU_matches_the_CPU_path_with_dropout_active()
    {
        using var gpu = IlgpuDevice.CreateCpuSimulator();
        var onCpu = new AllOps(Device.Cpu, seed: 4);
        var onGpu = new AllOps(gpu, seed: 4);
        var x = TestData.Random(3 * 128, 6).Select(v => (float)v).ToArray();
        int[] labels = [2, 0, 1];
        var xg = gpu.Allocate<float>(3, 2, 8, 8); xg.CopyFromHost(x);
        var yg = gpu.Allocate<int>(3); yg.CopyFromHost(labels);
        for (int step = 0; step < 2; step++)
        {
            float lossCpu = onCpu.TrainStep(Tensor<float>.FromArray(x, 3, 2, 8, 8), Tensor<int>.FromArray(labels, 3));
            float lossGpu = onGpu.TrainStep(xg, yg);
            Assert.Equal(lossCpu, lossGpu, 4);
        }
        foreach (var (a, b) in onCpu.Parameters.Zip(onGpu.Parameters))
            Approx.Rel(Host(a.Grad), Host(b.Grad), 1e-4, a.Name + ".grad");
    }
}
