using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using NetDsl.Runtime;

namespace NetDsl.Benchmarks;

/// <summary>
/// relu(a + b) * c as one functor through K.Map (what the compiler's fusion emits) against three separate Map calls
/// (add, relu in place, mul). Bytes counted as the data each version must read and write: fused 3 reads + 1 write,
/// unfused 3 + 2 + 3 = 8 array passes.
/// </summary>
public class FusedElementwise
{
    [Params(1 << 20, 1 << 24)]
    public int Elements { get; set; }

    public static double FusedBytes(int n) => 4.0 * n * sizeof(float);
    public static double UnfusedBytes(int n) => 8.0 * n * sizeof(float);

    private Tensor<float> _a = null!, _b = null!, _c = null!, _t = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(4);
        _a = Data.Uniform(r, Elements); _b = Data.Uniform(r, Elements); _c = Data.Uniform(r, Elements);
        _t = Tensor<float>.Zeros(Elements); _y = Tensor<float>.Zeros(Elements);
    }

    [Benchmark(Description = "relu(a+b)*c fused (1 Map)")]
    public void Fused() => CpuKernels<float>.Instance.Map(_a, _b, _c, _y, default(AddReluMul), default(AddReluMul));

    [Benchmark(Description = "relu(a+b)*c unfused (3 Maps)")]
    public void Unfused()
    {
        var k = CpuKernels<float>.Instance;
        k.Map(_a, _b, _t, default(AddOp), default(AddOp));
        k.Map(_t, _t, default(Relu), default(Relu));
        k.Map(_t, _c, _y, default(MulOp), default(MulOp));
    }
}

/// <summary>Linear + ReLU with ReLU applied in the GEMM's output write (the fused epilogue) against linear, then a ReLU pass.</summary>
public class FusedEpilogue
{
    public const int M = 128, K = 1024, N = 1024;   // the MLP's hidden layer at batch 128
    private Tensor<float> _x = null!, _w = null!, _b = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(5);
        _x = Data.Uniform(r, M, K); _w = Data.Uniform(r, N, K); _b = Data.Uniform(r, N); _y = Tensor<float>.Zeros(M, N);
    }

    [Benchmark(Description = "linear+relu, relu in the GEMM epilogue")]
    public void Fused() => CpuKernels<float>.Instance.LinearForward(_x, _w, _b, _y, default(Relu), default(Relu));

    [Benchmark(Description = "linear, then relu (2 kernels)")]
    public void Unfused()
    {
        var k = CpuKernels<float>.Instance;
        k.LinearForward(_x, _w, _b, _y, default(Identity<float>), default(Identity<float>));
        k.Map(_y, _y, default(Relu), default(Relu));
    }
}

// Functors written the way the emitter writes them (scalar, Vector256, Vector512 and the ILGPU form).
public readonly struct AddReluMul : IMap3<float>, IGpuMap3
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a, float b, float c) => MathF.Max(a + b, 0f) * c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.Max(a + b, Vector256<float>.Zero) * c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.Max(a + b, Vector512<float>.Zero) * c;
}

public readonly struct AddOp : IMap2<float>, IGpuMap2
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a + b;
}

public readonly struct MulOp : IMap2<float>, IGpuMap2
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a * b;
}

public readonly struct Relu : IMap1<float>, IGpuMap1
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a) => MathF.Max(a, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a) => Vector256.Max(a, Vector256<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a) => Vector512.Max(a, Vector512<float>.Zero);
}
