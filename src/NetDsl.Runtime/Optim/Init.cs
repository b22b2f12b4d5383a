using System.Numerics;
using NetDsl.Runtime.Data;

namespace NetDsl.Runtime.Optim;

/// <summary>
/// Seeded, deterministic weight initialization (SplitMix64 + Box-Muller, so results do not depend on the .NET version).
/// Values are generated on the host in double precision and copied with <see cref="Tensor{T}.CopyFromHost"/>, so it
/// works on any device. Fans follow PyTorch: [O, I] → fan_in I, fan_out O; [K, C, kh, kw] → fan_in C·kh·kw, fan_out K·kh·kw.
/// </summary>
public static class Init
{
    public static (int FanIn, int FanOut) Fans(ReadOnlySpan<int> shape)
    {
        if (shape.Length < 2)
            throw new ArgumentException($"fan-in and fan-out need a tensor of rank 2 or more, got shape {Tensor<float>.Format(shape)}");
        int receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Kaiming normal (fan_in mode, ReLU gain): N(0, std = √(2/fan_in)).</summary>
    public static void He<T>(Tensor<T> t, ulong seed, int fanIn = 0) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (fanIn == 0) fanIn = Fans(t.Shape).FanIn;
        Normal(t, 0, Math.Sqrt(2.0 / fanIn), seed);
    }

    /// <summary>Xavier (Glorot) normal: N(0, std = √(2/(fan_in + fan_out))).</summary>
    public static void Xavier<T>(Tensor<T> t, ulong seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (fanIn, fanOut) = Fans(t.Shape);
        Normal(t, 0, Math.Sqrt(2.0 / (fanIn + fanOut)), seed);
    }

    /// <summary>
    /// PyTorch's default for conv and linear layers: U(−1/√fan_in, 1/√fan_in), which is what kaiming_uniform(a=√5) gives
    /// for weights and what PyTorch uses for biases with the weight's fan-in.
    /// </summary>
    public static void PyTorchDefault<T>(Tensor<T> t, int fanIn, ulong seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (fanIn <= 0) throw new ArgumentOutOfRangeException(nameof(fanIn), $"fan-in must be positive, got {fanIn} for {t}");
        double bound = 1.0 / Math.Sqrt(fanIn);
        Uniform(t, -bound, bound, seed);
    }

    public static void Normal<T>(Tensor<T> t, double mean, double std, ulong seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new SplitMix64(SplitMix64.Mix(seed));
        var host = new T[t.Length];
        for (int i = 0; i < host.Length; i++) host[i] = T.CreateChecked(mean + std * rng.NextGaussian());
        t.CopyFromHost(host);
    }

    public static void Uniform<T>(Tensor<T> t, double low, double high, ulong seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new SplitMix64(SplitMix64.Mix(seed));
        var host = new T[t.Length];
        for (int i = 0; i < host.Length; i++) host[i] = T.CreateChecked(low + (high - low) * rng.NextDouble());
        t.CopyFromHost(host);
    }

    public static void Constant<T>(Tensor<T> t, T value) where T : unmanaged
    {
        var host = new T[t.Length];
        host.AsSpan().Fill(value);
        t.CopyFromHost(host);
    }

    public static void Zeros<T>(Tensor<T> t) where T : unmanaged => Constant(t, default(T));

    /// <summary>
    /// Initializes <paramref name="p"/>'s value by its <see cref="Parameter{T}.Init"/> kind (seeded by
    /// <paramref name="seed"/>) and zeroes its gradient.
    /// </summary>
    public static void Apply<T>(Parameter<T> p, ulong seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (p.Init)
        {
            case InitKind.Zeros: Zeros(p.Value); break;
            case InitKind.Ones: Constant(p.Value, T.One); break;
            case InitKind.PReluSlope: Constant(p.Value, T.CreateChecked(0.25)); break;
            case InitKind.He: He(p.Value, seed, p.Value.Rank >= 2 ? 0 : RequireFanIn(p)); break;
            case InitKind.Xavier: Xavier(p.Value, seed); break;
            case InitKind.PyTorchDefault: PyTorchDefault(p.Value, RequireFanIn(p), seed); break;
            case InitKind.Normal: Normal(p.Value, 0, 1, seed); break;
            default: throw new ArgumentOutOfRangeException(nameof(p), $"parameter {p.Name}: unknown init kind {p.Init}");
        }
        Zeros(p.Grad);
    }

    /// <summary>
    /// Initializes every parameter, each from its own stream derived from (<paramref name="seed"/>, its name), so adding a
    /// parameter does not change the others' values. A bias without a fan-in takes the fan-in of the "<c>prefix.weight</c>"
    /// beside its "<c>prefix.bias</c>".
    /// </summary>
    public static void Apply<T>(IReadOnlyList<Parameter<T>> parameters, ulong seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var byName = new Dictionary<string, Parameter<T>>(StringComparer.Ordinal);
        foreach (var p in parameters)
            if (!byName.TryAdd(p.Name, p)) throw new ArgumentException($"duplicate parameter name '{p.Name}'");
        foreach (var p in parameters)
        {
            if (p.FanIn == 0 && p.Name.EndsWith(".bias", StringComparison.Ordinal)
                && byName.TryGetValue(p.Name[..^".bias".Length] + ".weight", out var w) && w.FanIn > 0)
                p.FanIn = w.FanIn;
            Apply(p, seed ^ SplitMix64.StableHash(p.Name));
        }
    }

    private static int RequireFanIn<T>(Parameter<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        p.FanIn > 0 ? p.FanIn
        : throw new ArgumentException($"parameter {p.Name} {Tensor<T>.Format(p.Shape)}: {p.Init} init needs a fan-in; give it to the Parameter or name it '<layer>.bias' next to '<layer>.weight'");
}
