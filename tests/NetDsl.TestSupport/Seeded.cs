using NetDsl.Runtime;
using NetDsl.Runtime.Data;

namespace NetDsl.Testing;

/// <summary>Seeded test data: the same numbers in every process (SplitMix64), uniform in [−scale, scale).</summary>
public static class Seeded
{
    public static float[] Floats(int n, int seed, float scale = 1f)
    {
        var rng = new SplitMix64((ulong)seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    public static double[] Doubles(int n, int seed, double scale = 1)
    {
        var rng = new SplitMix64((ulong)seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>The same seeded data on an ILGPU device (Gpu) and on the host (Cpu), for comparing a device kernel with the reference.</summary>
    public static (Tensor<float> Gpu, Tensor<float> Cpu) Pair(this IlgpuDevice dev, int seed, params int[] shape) =>
        dev.PairOf(Floats(Tensor<float>.ShapeLength(shape), seed), shape);

    /// <summary><paramref name="data"/> on the device and (a copy) on the host.</summary>
    public static (Tensor<float> Gpu, Tensor<float> Cpu) PairOf(this IlgpuDevice dev, float[] data, params int[] shape)
    {
        var g = dev.Allocate<float>(shape);
        g.CopyFromHost(data);
        return (g, Tensor<float>.FromArray((float[])data.Clone(), shape));
    }

    /// <summary>Zeros on the device and on the host.</summary>
    public static (Tensor<float> Gpu, Tensor<float> Cpu) EmptyPair(this IlgpuDevice dev, params int[] shape) =>
        (dev.Allocate<float>(shape), Tensor<float>.Zeros(shape));
}
