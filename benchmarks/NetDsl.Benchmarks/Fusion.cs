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

/// <summary>
/// Longer element-wise chains from our networks, fused against each op as its own pass (how our kernels run them when
/// nothing is fused). relu(a + b)·c above moves 4 arrays fused and 8 unfused, so bytes bound its speed-up at 2×; these
/// chains have more passes to save:
/// - the ResNet block tail relu(x·s + b + r) with per-channel s, b (batchnorm at inference, folded): fused, the batchnorm
///   kernel with a residual epilogue reads x and r and writes y (3 passes); unfused, batchnorm (x·s + b), add, relu as
///   three kernels (2 + 3 + 2 = 7 passes): bound 7/3 = 2.33×;
/// - gelu-tanh 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the transformer encoder's activation (examples/Transformers), as
///   one functor (2 passes) against its 8 elementary ops (x³, ·0.044715, + x, ·√(2/π), tanh, + 1, ·x, ·0.5: 18 passes),
///   what an encoder written with elementary ops, or PyTorch's eager decomposition, runs: bound 9×.
/// </summary>
public class FusedChains
{
    [Params(1 << 20, 1 << 24)]
    public int Elements { get; set; }

    public const int Channels = 64, Inner = 64;    // [N, 64, 8, 8]: ResNet-20's last stage
    public static double ResidualFusedBytes(int n) => 3.0 * n * sizeof(float);
    public static double ResidualUnfusedBytes(int n) => 7.0 * n * sizeof(float);
    public static double GeluFusedBytes(int n) => 2.0 * n * sizeof(float);
    public static double GeluUnfusedBytes(int n) => 18.0 * n * sizeof(float);

    private Tensor<float> _x = null!, _r = null!, _t = null!, _u = null!, _y = null!;
    private Tensor<float> _w = null!, _b = null!, _rm = null!, _rv = null!, _mean = null!, _inv = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(6);
        int n = Elements / (Channels * Inner);
        _x = Data.Uniform(rnd, n, Channels, 8, 8); _r = Data.Uniform(rnd, n, Channels, 8, 8);
        _t = Tensor<float>.Zeros(n, Channels, 8, 8); _u = Tensor<float>.Zeros(n, Channels, 8, 8); _y = Tensor<float>.Zeros(n, Channels, 8, 8);
        _w = Data.Uniform(rnd, Channels); _b = Data.Uniform(rnd, Channels); _rm = Data.Uniform(rnd, Channels);
        _rv = Tensor<float>.Zeros(Channels); _rv.AsSpan().Fill(1.5f); _mean = Tensor<float>.Zeros(Channels); _inv = Tensor<float>.Zeros(Channels);
    }

    [Benchmark(Description = "relu(x·s + b + r) fused (batchnorm, residual epilogue)")]
    public void ResidualFused() =>
        CpuKernels<float>.Instance.BatchNormForward(_x, _r, _w, _b, _rm, _rv, _y, _mean, _inv, false, 1e-5f, 0.1f, default(AddRelu));

    [Benchmark(Description = "relu(x·s + b + r) unfused (batchnorm, add, relu)")]
    public void ResidualUnfused()
    {
        var k = CpuKernels<float>.Instance;
        k.BatchNormForward(_x, _w, _b, _rm, _rv, _t, _mean, _inv, false, 1e-5f, 0.1f);
        k.Map(_t, _r, _u, default(AddOp), default(AddOp));
        k.Map(_u, _y, default(Relu), default(Relu));
    }

    [Benchmark(Description = "gelu-tanh fused (1 Map)")]
    public void GeluFused() => CpuKernels<float>.Instance.Map(_x, _y, default(GeluTanhOp), default(GeluTanhOp));

    [Benchmark(Description = "gelu-tanh unfused (8 Maps)")]
    public void GeluUnfused()
    {
        var k = CpuKernels<float>.Instance;
        k.Map(_x, _t, default(CubeOp), default(CubeOp));                                      // x³
        k.Map(_t, _u, new ScaleOp(0.044715f), new ScaleOp(0.044715f));                        // ·0.044715
        k.Map(_u, _x, _t, default(AddOp), default(AddOp));                                     // + x
        k.Map(_t, _u, new ScaleOp(0.7978845608f), new ScaleOp(0.7978845608f));                 // ·√(2/π)
        k.Map(_u, _t, default(TanhOp), default(TanhOp));                                       // tanh
        k.Map(_t, _u, default(PlusOneOp), default(PlusOneOp));                                 // + 1
        k.Map(_u, _x, _t, default(MulOp), default(MulOp));                                     // ·x
        k.Map(_t, _y, new ScaleOp(0.5f), new ScaleOp(0.5f));                                   // ·0.5
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

public readonly struct AddRelu : IMap2<float>, IGpuMap2
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a, float b) => MathF.Max(a + b, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Vector256.Max(a + b, Vector256<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => Vector512.Max(a + b, Vector512<float>.Zero);
}

public readonly struct GeluTanhOp : IMap1<float>, IGpuMap1
{
    // as the compiler writes gelu(approximate: "tanh") from its expression: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a) => 0.5f * a * (1f + MathF.Tanh(0.7978845608028654f * (a + 0.044715f * a * a * a)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a) =>
        Vector256.Create(0.5f) * a * (Vector256<float>.One + VMath.Tanh(Vector256.Create(0.7978845608028654f) * (a + Vector256.Create(0.044715f) * a * a * a)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a) =>
        Vector512.Create(0.5f) * a * (Vector512<float>.One + VMath.Tanh(Vector512.Create(0.7978845608028654f) * (a + Vector512.Create(0.044715f) * a * a * a)));
}

public readonly struct TanhOp : IMap1<float>, IGpuMap1
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a) => VMath.Tanh(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a) => VMath.Tanh(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a) => VMath.Tanh(a);
}

public readonly struct CubeOp : IMap1<float>, IGpuMap1
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a) => a * a * a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a) => a * a * a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a) => a * a * a;
}

public readonly struct PlusOneOp : IMap1<float>, IGpuMap1
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a) => a + 1f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a) => a + Vector256<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a) => a + Vector512<float>.One;
}

public readonly struct ScaleOp(float s) : IMap1<float>, IGpuMap1
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float a) => a * s;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> a) => a * s;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> a) => a * s;
}
