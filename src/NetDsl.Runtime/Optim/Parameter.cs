using System.Numerics;

namespace NetDsl.Runtime.Optim;

/// <summary>How a parameter is initialized (see <see cref="Init"/>).</summary>
public enum InitKind
{
    /// <summary>PyTorch's default for conv/linear: weights kaiming_uniform(a=√5) = U(±1/√fan_in); biases U(±1/√fan_in of their weight).</summary>
    PyTorchDefault,
    /// <summary>Kaiming (He) normal: N(0, 2/fan_in).</summary>
    He,
    /// <summary>Xavier (Glorot) normal: N(0, 2/(fan_in + fan_out)).</summary>
    Xavier,
    Zeros,
    Ones,
    /// <summary>The constant 0.25 (PyTorch's nn.PReLU init).</summary>
    PReluSlope,
    /// <summary>Standard normal N(0, 1): PyTorch's nn.Embedding.</summary>
    Normal,
}

/// <summary>
/// A trainable tensor: <see cref="Value"/> and its gradient <see cref="Grad"/> (same shape, same device), named like
/// "conv1.weight" (names identify tensors in checkpoints and must be unique within a model).
/// </summary>
public sealed class Parameter<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public string Name { get; }
    public Tensor<T> Value { get; }
    public Tensor<T> Grad { get; }
    public InitKind Init { get; }

    /// <summary>
    /// Fan-in used by initialization. For weights it follows from the shape ([O, I] → I; [K, C, kh, kw] → C·kh·kw);
    /// a bias (rank 1) needs its weight's fan-in, given explicitly or inferred by <see cref="Optim.Init.Apply{T}(IReadOnlyList{Parameter{T}}, ulong)"/>
    /// from the "<c>prefix.weight</c>" next to "<c>prefix.bias</c>". 0 when unknown.
    /// </summary>
    public int FanIn { get; internal set; }

    /// <summary>
    /// A frozen parameter is not trained: optimizers skip it, and a generated network skips the backward kernels that only
    /// compute frozen parameters' gradients (<c>net.Freeze("conv1")</c>). Its <see cref="Grad"/> is then stale.
    /// </summary>
    public bool Frozen { get; set; }

    public int[] Shape => Value.Shape;
    public int Length => Value.Length;
    public Device Device => Value.Device;

    public Parameter(string name, Tensor<T> value, Tensor<T> grad, InitKind init = InitKind.PyTorchDefault, int fanIn = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(grad);
        grad.CheckShape($"{name}.grad", value.Shape);
        if (!ReferenceEquals(value.Device, grad.Device))
            throw new ArgumentException($"parameter {name}: value is on {value.Device.Name} but its gradient on {grad.Device.Name}");
        if (fanIn < 0) throw new ArgumentOutOfRangeException(nameof(fanIn), $"parameter {name}: negative fan-in {fanIn}");
        Name = name;
        Value = value;
        Grad = grad;
        Init = init;
        FanIn = fanIn != 0 ? fanIn : (value.Rank >= 2 ? Optim.Init.Fans(value.Shape).FanIn : 0);
    }

    /// <summary>Allocates value and gradient on <paramref name="device"/> (not yet initialized: call <see cref="Optim.Init.Apply{T}(Parameter{T}, ulong)"/>).</summary>
    public static Parameter<T> Create(Device device, string name, int[] shape, InitKind init = InitKind.PyTorchDefault, int fanIn = 0) =>
        new(name, device.Allocate<T>(shape), device.Allocate<T>(shape), init, fanIn);

    public override string ToString() => $"{Name} {Tensor<T>.Format(Shape)} ({Init})";
}
