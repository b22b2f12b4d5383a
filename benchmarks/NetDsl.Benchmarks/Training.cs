using BenchmarkDotNet.Attributes;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Benchmarks;

/// <summary>
/// One training step (forward, cross-entropy, backward, SGD lr 0.01 momentum 0.9) of the generated classes on the CPU path,
/// the same step benchmarks/pytorch/peer.py times in PyTorch (compared in benchmarks/NetDsl.SideBySide): LeNet-5 at batch 64, the MLP 784-1024-1024-10 at 128,
/// ResNet-20 (examples/Models/resnet20.net, projection shortcuts as in the PyTorch twin) at 64, and one post-norm
/// transformer encoder block (transformer_bench.net: d 256, 4 heads, ff 1024, T 128) at 16.
/// </summary>
[MemoryDiagnoser]
public class TrainingStep
{
    private Func<float> _step = null!;

    [Params("lenet5", "mlp", "resnet20", "transformer")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _step = Create(Model).step;

    /// <summary>The network, its optimizer and a fixed random batch; returns a step closure and the batch size.</summary>
    public static (Func<float> step, int batch, NetworkBase<float> net, Optimizer<float> opt) Create(string model) => Create(model, out _);

    /// <summary>As <see cref="Create(string)"/>; <paramref name="inputBytes"/> is the size of the input batch.</summary>
    /// <remarks>
    /// A model name ending in "/sig" uses SGD with its momentum kept in the gradient buffers (<c>stateInGradients</c>: the
    /// same update, the backward pass accumulating into the velocity), which saves one parameter-sized buffer per parameter.
    /// </remarks>
    public static (Func<float> step, int batch, NetworkBase<float> net, Optimizer<float> opt) Create(string model, out long inputBytes)
    {
        var r = new Random(1);
        bool sig = model.EndsWith("/sig", StringComparison.Ordinal);
        if (sig) model = model[..^4];
        Sgd<float> Sgd(NetworkBase<float> net) => new(net.Parameters, lr: 0.01, momentum: 0.9, stateInGradients: sig);
        switch (model)
        {
            case "lenet5":
            {
                var net = new LeNet5(Device.Cpu, seed: 1);
                var sgd = Sgd(net);
                var x = Data.Uniform(r, 64, 1, 28, 28);
                var y = Tensor<int>.FromArray(Enumerable.Range(0, 64).Select(i => i % 10).ToArray(), 64);
                inputBytes = 4L * (x.Length + y.Length);
                return (() => net.TrainStep(x, y, sgd), 64, net, sgd);
            }
            case "mlp":
            {
                var net = new Mlp(Device.Cpu, seed: 1);
                var sgd = Sgd(net);
                var x = Data.Uniform(r, 128, 784);
                var y = Tensor<int>.FromArray(Enumerable.Range(0, 128).Select(i => i % 10).ToArray(), 128);
                inputBytes = 4L * (x.Length + y.Length);
                return (() => net.TrainStep(x, y, sgd), 128, net, sgd);
            }
            case "resnet20":
            {
                var net = new ResNet20(Device.Cpu, seed: 1);
                var sgd = Sgd(net);
                var x = Data.Uniform(r, 64, 3, 32, 32);
                var y = Tensor<int>.FromArray(Enumerable.Range(0, 64).Select(i => i % 10).ToArray(), 64);
                inputBytes = 4L * (x.Length + y.Length);
                return (() => net.TrainStep(x, y, sgd), 64, net, sgd);
            }
            case "transformer":
            {
                var net = new TransformerBench(Device.Cpu, seed: 1);
                var sgd = Sgd(net);
                var x = Data.Uniform(r, 16, 128, 256);
                var y = Tensor<int>.FromArray(Enumerable.Range(0, 16).Select(i => i % 10).ToArray(), 16);
                inputBytes = 4L * (x.Length + y.Length);
                return (() => net.TrainStep(x, y, sgd), 16, net, sgd);
            }
            default: throw new ArgumentException(model);
        }
    }

    [Benchmark(Description = "train step")]
    public float Train() => _step();
}
