using System.Numerics;

namespace NetDsl.Runtime;

/// <summary>
/// A buffer: non-learned persistent state of a layer (PyTorch's term), such as batchnorm's running mean and variance.
/// Named like "bn1.running_mean"; lives on the network's device outside the planned arenas; kernels update it in place;
/// saved and loaded by checkpoints with the parameters. Not seen by optimizers (no gradient).
/// </summary>
public sealed class Buffer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public string Name { get; }
    public Tensor<T> Value { get; }
    /// <summary>The value every element starts with (and returns to on <see cref="Reset"/>).</summary>
    public double Initial { get; }
    public int[] Shape => Value.Shape;
    public int Length => Value.Length;
    public Device Device => Value.Device;

    public Buffer(string name, Tensor<T> value, double initial)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        Name = name;
        Value = value;
        Initial = initial;
    }

    /// <summary>Fills the buffer with <see cref="Initial"/>.</summary>
    public void Reset() { Value.Device.Kernels<T>().Fill(Value, T.CreateChecked(Initial)); Value.MarkWritten(); }

    public override string ToString() => $"{Name} {Tensor<T>.Format(Shape)} (buffer, initially {Initial})";
}
