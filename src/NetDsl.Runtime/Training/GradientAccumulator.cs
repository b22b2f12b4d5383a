using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NetDsl.Runtime.Optim;

namespace NetDsl.Runtime.Training;

/// <summary>
/// Sums gradients over several backward passes of generated networks (whose TrainStep/Backward overwrite
/// <c>Parameter.Grad</c>): <see cref="Add"/> after each pass, then <see cref="Apply"/> writes the sums back into the
/// gradients (and clears them) before the optimizer steps. A GAN discriminator's real and fake batches, or the two cycles
/// of a CycleGAN generator, are summed this way. The sums live on the parameters' device.
/// </summary>
public sealed class GradientAccumulator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<Parameter<T>> _parameters;
    private readonly Tensor<T>[] _sums;
    private bool _any;

    public GradientAccumulator(IReadOnlyList<Parameter<T>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters;
        _sums = parameters.Select(p => p.Device.Allocate<T>(p.Shape)).ToArray();
        Clear();
    }

    /// <summary>Sets the sums to zero.</summary>
    public void Clear()
    {
        for (int i = 0; i < _sums.Length; i++) _parameters[i].Device.Kernels<T>().Fill(_sums[i], T.Zero);
        _any = false;
    }

    /// <summary>Adds every parameter's current gradient to its sum.</summary>
    public void Add()
    {
        for (int i = 0; i < _sums.Length; i++)
            _parameters[i].Device.Kernels<T>().Map(_sums[i], _parameters[i].Grad, _sums[i], default(SumMap<T>), default(SumMapGpu));
        _any = true;
    }

    /// <summary>Writes the sums into the gradients and clears the sums (then step the optimizer).</summary>
    public void Apply()
    {
        if (!_any) throw new InvalidOperationException("GradientAccumulator.Apply without any Add: call Add() after each backward pass");
        for (int i = 0; i < _sums.Length; i++) _parameters[i].Device.Kernels<T>().Copy(_sums[i], _parameters[i].Grad);
        Clear();
    }
}

/// <summary>a + b (the accumulator's functor; public because ILGPU compiles only public types).</summary>
public readonly struct SumMap<T> : IMap2<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public T Apply(T a, T b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a + b;
}

/// <summary>a + b on ILGPU.</summary>
public readonly struct SumMapGpu : IGpuMap2
{
    public float Apply(float a, float b) => a + b;
}
