using NetDsl.Compiler;
using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;
using NetDsl.Runtime.Optim;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// Inference with batchnorm folded into the convolution (or linear layer) before it: eval-mode Forward runs the eval-only
/// program (folded kernels, its own buffers), eval-mode ComputeLoss the training program's unfolded pair; both must give the
/// same outputs after training has moved the weights and running statistics.
/// </summary>
public class BatchNormFoldingTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Networks() => new[]
    {
        new object[] { "ResNetTiny" }, new object[] { "ResNet20" }, new object[] { "DenseNetTiny" }, new object[] { "MobileNetV2Tiny" },
        new object[] { "EfficientNetTiny" }, new object[] { "SEResNetTiny" }, new object[] { "GoogLeNetTiny" }, new object[] { "UNetTiny" },
    };

    private static object[] Inputs(NetworkBase<double> net, int batch)
    {
        int[] Shape(string name) => ((int[])net.GetType().GetProperty(name)!.GetValue(null)!).Select(d => d < 0 ? batch : d).ToArray();
        var shape = Shape("ImageShape");
        var x = Tensor<double>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), 5), shape);
        var targetShape = net.GetType().GetProperty("LabelShape") != null ? Shape("LabelShape") : Shape("MaskShape");
        int n = targetShape.Aggregate(1, (a, b) => a * b);
        var y = Tensor<int>.FromArray(Enumerable.Range(0, n).Select(i => i % 2).ToArray(), targetShape);
        return [x, y];
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Folded_inference_equals_batchnorm_with_running_statistics(string network)
    {
        var net = OpReferenceTests.Create<double>(network, Device.Cpu, seed: 4);
        var inputs = Inputs(net, 3);
        var sgd = new Sgd<double>(net.Parameters, lr: 0.05, momentum: 0.9);
        var forward = net.GetType().GetMethods().Single(m => m.Name == "Forward");
        Tensor<double> Forward()
        {
            var r = forward.Invoke(net, forward.GetParameters().Select(p => p.Name == "image" ? inputs[0] : inputs[1]).ToArray())!;
            return r as Tensor<double> ?? (Tensor<double>)((System.Runtime.CompilerServices.ITuple)r)[0]!;
        }
        net.Train();
        var trainingOutput = Forward();   // the training plan's output buffer (its view is kept while the batch size stays)
        for (int i = 0; i < 3; i++) { OpReferenceTests.TrainStep(net, inputs); sgd.Step(); }   // weights and running statistics move
        net.Eval();
        var y = Forward();
        Assert.NotSame(trainingOutput, y);   // eval mode writes the eval plan's buffer
        var folded = y.CopyToHost();
        OpReferenceTests.ComputeLoss(net, inputs);          // eval mode with a loss: the training program's unfolded kernels
        var unfolded = trainingOutput.CopyToHost();         // ... write the training plan's output buffer
        Assert.Equal(folded, y.CopyToHost());               // ... and leave the eval buffer alone
        double worst = 0;
        for (int i = 0; i < folded.Length; i++)
        {
            double err = Math.Abs(folded[i] - unfolded[i]) / (1 + Math.Abs(unfolded[i]));
            worst = Math.Max(worst, err);
            Assert.True(err <= 1e-10, $"{network} output[{i}]: folded {folded[i]:G15}, unfolded {unfolded[i]:G15}");
        }
        output.WriteLine($"{network}: {folded.Length} outputs, worst relative difference {worst:E1}");
    }

    [Fact]
    public void Folded_inference_on_the_ilgpu_path_matches_the_cpu()
    {
        var gpu = IlgpuDevice.CreateCpuSimulator();
        var cpu = OpReferenceTests.Create<float>("ResNetTiny", Device.Cpu, seed: 4);
        var onGpu = OpReferenceTests.Create<float>("ResNetTiny", gpu, seed: 4);
        foreach (var (a, b) in cpu.Buffers.Zip(onGpu.Buffers))
        {
            var v = Enumerable.Range(0, a.Length).Select(i => (float)(a.Name.EndsWith("var") ? 0.5 + 0.1 * (i % 5) : 0.2 * Math.Sin(i))).ToArray();
            a.Value.CopyFromHost(v); b.Value.CopyFromHost(v);
        }
        cpu.Eval(); onGpu.Eval();
        var shape = ((int[])cpu.GetType().GetProperty("ImageShape")!.GetValue(null)!).Select(d => d < 0 ? 2 : d).ToArray();
        var xs = TestData.Random(shape.Aggregate(1, (p, q) => p * q), 9).Select(v => (float)v).ToArray();
        var xg = gpu.Allocate<float>(shape); xg.CopyFromHost(xs);
        dynamic dc = cpu, dg = onGpu;
        float[] yc = ((Tensor<float>)dc.Forward(Tensor<float>.FromArray(xs, shape))).CopyToHost();
        float[] yg = ((Tensor<float>)dg.Forward(xg)).CopyToHost();
        for (int i = 0; i < yc.Length; i++) Assert.True(Math.Abs(yc[i] - yg[i]) <= 1e-4 * (1 + Math.Abs(yc[i])), $"logits[{i}]: CPU {yc[i]}, ILGPU {yg[i]}");
    }

    [Fact]
    public void Every_convolution_batchnorm_pair_of_resnet20_is_folded()
    {
        var path = Path.Combine(RepoPaths.Root, "examples", "Models", "resnet20.net");
        var net = NetCompiler.Compile(path, File.ReadAllText(path)).Networks.Single(n => n.Name == "ResNet20");
        // the stem, 2 per block × 9 blocks, 2 projection shortcuts
        Assert.Equal(21, System.Text.RegularExpressions.Regex.Matches(net.Source, @"K\.FoldBatchNorm\(").Count);
        Assert.Contains("private void RunEval(bool training)", net.Source);
    }
}
