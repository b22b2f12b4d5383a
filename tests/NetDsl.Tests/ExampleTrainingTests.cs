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
        new object[] { "SEResNetTiny", 142_352L },
        new object[] { "EfficientNetTiny", 273_855L },
    };

    [Theory]
    [MemberData(nameof(Tiny))]
    public void Small_instance_trains_with_falling_loss(string network, long parameters)
    {
        var net = OpReferenceTests.Create<float>(network, Device.Cpu, seed: 1);
        Assert.Equal(parameters, net.Parameters.Sum(p => (long)p.Length));
        Assert.Equal(parameters, (long)net.GetType().GetField("ParameterCount")!.GetValue(null)!);

        const int batch = 4;
        var shape = ((int[])net.GetType().GetProperty("ImageShape")!.GetValue(null)!).Select(d => d < 0 ? batch : d).ToArray();
        var image = Tensor<float>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), 17).Select(v => (float)v).ToArray(), shape);
        var label = Tensor<int>.FromArray([0, 1, 2, 3], batch);
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
        Assert.True(losses.TakeLast(3).Average() < 0.7 * losses.Take(2).Average(), $"{network}: loss {losses[0]:F3} -> {losses[^1]:F3} did not fall by 30%");
    }
}
