using BenchmarkDotNet.Attributes;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Benchmarks;

/// <summary>One LeNet-5 training step (forward, backward, SGD with momentum) and one inference forward pass, on the CPU path.</summary>
[MemoryDiagnoser]
public class TrainingStep
{
    private LeNet5 _net = null!;
    private Sgd<float> _sgd = null!;
    private Tensor<float> _x = null!;
    private Tensor<int> _y = null!;

    [Params(64)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _net = new LeNet5(Device.Cpu, seed: 1);
        _sgd = new Sgd<float>(_net.Parameters, lr: 0.01, momentum: 0.9);
        var r = new Random(1);
        _x = Tensor<float>.FromArray(Enumerable.Range(0, Batch * 784).Select(_ => (float)r.NextDouble()).ToArray(), Batch, 1, 28, 28);
        _y = Tensor<int>.FromArray(Enumerable.Range(0, Batch).Select(i => i % 10).ToArray(), Batch);
        _net.TrainStep(_x, _y, _sgd);
    }

    [Benchmark(Description = "LeNet-5 train step")]
    public float Train() => _net.TrainStep(_x, _y, _sgd);

    [Benchmark(Description = "LeNet-5 forward (eval)")]
    public Tensor<float> Forward()
    {
        _net.Eval();
        var y = _net.Forward(_x);
        _net.Train();
        return y;
    }
}

/// <summary>The packed GEMM behind conv and linear, through the linear kernel: y[M,N] = x[M,K]·w[N,K]ᵀ.</summary>
public class Gemm
{
    private Tensor<float> _x = null!, _w = null!, _y = null!;

    [Params(256, 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(2);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
        _x = Tensor<float>.FromArray(Rand(Size * Size), Size, Size);
        _w = Tensor<float>.FromArray(Rand(Size * Size), Size, Size);
        _y = Tensor<float>.Zeros(Size, Size);
    }

    [Benchmark(Description = "linear (GEMM) forward")]
    public void Linear() => Device.Cpu.Kernels<float>().LinearForward(_x, _w, null, _y, default(Identity<float>), default(Identity<float>));
}
