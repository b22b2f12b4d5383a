using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// Every example architecture (examples/Models/*.net) trains: its small instance (declared in the same file, e.g.
/// `network ResNetTiny = ResNet(depth: 18, width: 8, size: 32, classes: 10)`) fits a fixed batch of random images
/// with the loss falling over a few Adam steps. The full-size classes are generated too; their parameter counts
/// are checked against torchvision in NetDsl.Compiler.Tests.
/// </summary>
public class ExampleTrainingTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Tiny() => new[]
    {
        new object[] { "VGGTiny", 153_530L },
        new object[] { "ResNetTiny", 177_362L },
        new object[] { "ResNet20", 272_474L },
        new object[] { "DenseNetTiny", 8_178L },
        new object[] { "AlexNetTiny", 3_768_458L },
        new object[] { "GoogLeNetTiny", 5_610_154L },
        new object[] { "MobileNetV1Tiny", 58_770L },
        new object[] { "MobileNetV2Tiny", 137_250L },
        new object[] { "MobileNetV3SmallTiny", 1_528_106L },
        new object[] { "SEResNetTiny", 142_352L },
        new object[] { "EfficientNetTiny", 273_855L },
        new object[] { "NonLocalTiny", 179_554L },
        new object[] { "UNetTiny", 122_026L },
        new object[] { "SegNetTiny", 12_362L },
    };

    /// <summary>A random image batch and int targets (labels [N] or a mask [N, H, W]) in {0, 1, 2, 3} from the input shapes the class states.</summary>
    private static (Tensor<T> Image, Tensor<int> Target) Inputs<T>(object net, int batch, int seed) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        int[] Shape(string name) => ((int[])net.GetType().GetProperty(name)!.GetValue(null)!).Select(d => d < 0 ? batch : d).ToArray();
        var shape = Shape("ImageShape");
        var image = Tensor<T>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), seed).Select(T.CreateChecked).ToArray(), shape);
        var targetShape = net.GetType().GetProperty("LabelShape") != null ? Shape("LabelShape") : Shape("MaskShape");
        int n = targetShape.Aggregate(1, (a, b) => a * b);
        bool mask = targetShape.Length > 1; // segmentation: 2 classes
        var target = Tensor<int>.FromArray(Enumerable.Range(0, n).Select(i => mask ? (i / 7 + i % 3) % 2 : (i * 3 + 1) % 4).ToArray(), targetShape);
        return (image, target);
    }

    [Theory]
    [MemberData(nameof(Tiny))]
    public void Small_instance_trains_with_falling_loss(string network, long parameters)
    {
        var net = OpReferenceTests.Create<float>(network, Device.Cpu, seed: 1);
        Assert.Equal(parameters, net.Parameters.Sum(p => (long)p.Length));
        Assert.Equal(parameters, (long)net.GetType().GetField("ParameterCount")!.GetValue(null)!);

        const int batch = 4;
        var (image, label) = Inputs<float>(net, batch, 17);
        var adam = new Adam<float>(net.Parameters, lr: 2e-3);
        var losses = new List<float>();
        var step = net.GetType().GetMethods().Single(m => m.Name == "TrainStep" && m.GetParameters().Length == 2);
        net.Train(); // training mode: batch statistics, dropout and stochastic depth active, as a user trains
        for (int i = 0; i < 16; i++)
        {
            losses.Add((float)step.Invoke(net, [image, label])!);
            adam.Step();
        }
        output.WriteLine($"{network}: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses.TakeLast(3).Average() < 0.8 * losses.Take(2).Average(), $"{network}: loss {losses[0]:F3} -> {losses[^1]:F3} did not fall by 20%");
    }

    /// <summary>
    /// The whole example's backward pass in fp64 against central finite differences, in eval mode at batch 4.
    /// </summary>
    [Theory]
    [MemberData(nameof(Tiny))]
    public void Small_instance_gradients_match_finite_differences(string network, long parameters)
    {
        var net = OpReferenceTests.Create<double>(network, Device.Cpu, seed: 2);
        Assert.Equal(parameters, net.Parameters.Sum(p => (long)p.Length));
        var (image, label) = Inputs<double>(net, batch: 4, seed: 19);
        var inputs = new object[] { image, label };
        // nonzero biases: a zero bias after a window of zeros (relu, then depthwise conv) puts activations exactly on a relu kink
        foreach (var b in net.Parameters.Where(p => p.Name.EndsWith(".bias", StringComparison.Ordinal)))
            b.Value.CopyFromHost(Enumerable.Range(0, b.Length).Select(i => 0.05 * Math.Sin(1.3 * i + 0.4)).ToArray());
        // Eval mode: in training mode every perturbation moves every activation through the batch statistics, so relu kinks
        // spoil central differences at random (MobileNetV2Tiny's stem-weight quotient moves from -9.4 to -13.8 to -19.2 as
        // eps goes 1e-3, 1e-4, 1e-5). Training-mode batchnorm's backward is checked on its own against PyTorch (ops_normalization).
        net.Eval();
        // one probe per parameter tensor for the big ones (each probe is two forward passes in fp64)
        GradientCheckTests.Check(net, () => OpReferenceTests.ComputeLoss(net, inputs), () => OpReferenceTests.TrainStep(net, inputs), output,
            probesPerParameter: parameters > 1_000_000 ? 1 : 3,
            // batchnorm over few values (late 1x1 or 2x2 maps at batch 4) amplifies rounding in the finite differences to
            // ~1e-8; and a relu input that is exactly 0 (a window of zeros) is a kink finite differences straddle
            absoluteTolerance: 1e-7, kinkTolerant: true, tensorStride: parameters > 1_000_000 ? 3 : 1);
    }
}
