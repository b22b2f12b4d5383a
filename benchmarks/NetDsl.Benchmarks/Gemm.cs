using BenchmarkDotNet.Attributes;
using NetDsl.Runtime;

namespace NetDsl.Benchmarks;

/// <summary>The packed GEMM through the linear kernel (y[M,N] = x[M,K]·w[N,K]ᵀ, PyTorch's weight layout), square sizes.</summary>
public class Gemm
{
    private Tensor<float> _x = null!, _w = null!, _y = null!;

    [Params(256, 512, 1024, 2048)]
    public int Size { get; set; }

    public static double Flops(int size) => 2.0 * size * size * size;

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(2);
        _x = Data.Uniform(r, Size, Size); _w = Data.Uniform(r, Size, Size); _y = Tensor<float>.Zeros(Size, Size);
    }

    [Benchmark(Description = "linear (GEMM) forward")]
    public void Linear() => CpuKernels<float>.Instance.LinearForward(_x, _w, null, _y, default(Identity<float>), default(Identity<float>));
}

/// <summary>
/// The GEMMs of the example networks' forward passes, through the kernels the generated code calls: LeNet-5's two
/// convolutions (im2col + GEMM) at batch 64 and the MLP 784-1024-1024-10's three linear layers at batch 128.
/// </summary>
public class NetworkGemms
{
    public static readonly string[] Shapes = ["lenet5.conv1", "lenet5.conv2", "mlp.fc1", "mlp.fc2", "mlp.fc3"];

    [Params("lenet5.conv1", "lenet5.conv2", "mlp.fc1", "mlp.fc2", "mlp.fc3")]
    public string Shape { get; set; } = "";

    private Tensor<float> _x = null!, _w = null!, _b = null!, _y = null!;
    private ConvGeometry _g;

    /// <summary>(M, N, K) of the GEMM, and its flops: conv as [K out-channels] × [C·R·S] · [C·R·S] × [N·P pixels].</summary>
    public static (long m, long n, long k) Dims(string shape) => shape switch
    {
        "lenet5.conv1" => (6, 64L * 28 * 28, 1 * 5 * 5),
        "lenet5.conv2" => (16, 64L * 10 * 10, 6 * 5 * 5),
        "mlp.fc1" => (128, 1024, 784),
        "mlp.fc2" => (128, 1024, 1024),
        "mlp.fc3" => (128, 10, 1024),
        _ => throw new ArgumentException(shape),
    };

    public static double Flops(string shape) { var (m, n, k) = Dims(shape); return 2.0 * m * n * k; }

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(3);
        switch (Shape)
        {
            case "lenet5.conv1":
                _x = Data.Uniform(r, 64, 1, 28, 28); _w = Data.Uniform(r, 6, 1, 5, 5); _b = Data.Uniform(r, 6);
                _y = Tensor<float>.Zeros(64, 6, 28, 28); _g = ConvGeometry.Of(1, 2); break;
            case "lenet5.conv2":
                _x = Data.Uniform(r, 64, 6, 14, 14); _w = Data.Uniform(r, 16, 6, 5, 5); _b = Data.Uniform(r, 16);
                _y = Tensor<float>.Zeros(64, 16, 10, 10); _g = ConvGeometry.Of(1, 0); break;
            default:
                var (m, n, k) = Dims(Shape);
                _x = Data.Uniform(r, (int)m, (int)k); _w = Data.Uniform(r, (int)n, (int)k); _b = Data.Uniform(r, (int)n);
                _y = Tensor<float>.Zeros((int)m, (int)n); break;
        }
    }

    [Benchmark(Description = "forward GEMM (+bias)")]
    public void Run()
    {
        var k = CpuKernels<float>.Instance;
        if (Shape.StartsWith("lenet5", StringComparison.Ordinal)) k.Conv2dForward(_x, _w, _b, _y, _g, default(Identity<float>), default(Identity<float>));
        else k.LinearForward(_x, _w, _b, _y, default(Identity<float>), default(Identity<float>));
    }
}

internal static class Data
{
    public static Tensor<float> Uniform(Random r, params int[] shape)
    {
        var a = new float[Tensor<float>.ShapeLength(shape)];
        for (int i = 0; i < a.Length; i++) a[i] = (float)r.NextDouble() - 0.5f;
        return Tensor<float>.FromArray(a, shape);
    }
}
