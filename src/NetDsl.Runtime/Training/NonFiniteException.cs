namespace NetDsl.Runtime;

/// <summary>
/// A NaN or infinity appeared in a network's computation: thrown by the generated code when
/// <see cref="NetworkBase{T}.CheckFinite"/> is on, at the first kernel whose output holds one. The message names the network,
/// the kernel (forward or backward, its ops and layers, its .net lines), the tensor and the first bad element.
/// </summary>
public sealed class NonFiniteException : ArithmeticException
{
    /// <summary>The generated class.</summary>
    public string Network { get; }
    /// <summary>The kernel as the generated code's comment names it, e.g. "forward k3: linear fc1 + relu (lenet5.net line 7)".</summary>
    public string Kernel { get; }
    /// <summary>The tensor that holds the value (a layer's output such as "fc1", or a gradient such as "dfc1" or "fc1.weight.grad").</summary>
    public string Tensor { get; }
    /// <summary>The first offending element's flat index.</summary>
    public int Index { get; }
    /// <summary>The value found there (NaN or ±infinity).</summary>
    public double Value { get; }

    public NonFiniteException(string network, string kernel, string tensor, string shape, int index, double value)
        : base($"{network}: {(double.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity")} first appeared in {kernel}, in tensor {tensor} {shape} at element {index}. " +
               "The inputs of that kernel were finite; look at its learning rate, inputs or numerics (CheckFinite is on).")
    {
        Network = network; Kernel = kernel; Tensor = tensor; Index = index; Value = value;
    }

    internal static string FormatIndex(int[] shape, int flat)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--) { if (shape[d] > 0) { idx[d] = flat % shape[d]; flat /= shape[d]; } }
        return "[" + string.Join(", ", idx) + "]";
    }
}
