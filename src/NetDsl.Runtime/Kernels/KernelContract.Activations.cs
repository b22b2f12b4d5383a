namespace NetDsl.Runtime;

// The activations family's contract (PReLU, softmax along an axis, maxout).
internal static partial class KernelContract
{
    /// <summary>(planes, channels, inner) of x [N, C, …] for a slope of 1 or C values.</summary>
    private static (int Planes, int C, int Inner) PRelu<T>(Tensor<T> x, Tensor<T> slope) where T : unmanaged
    {
        Rank(slope, 1, "slope", "[1] or [C]");
        if (slope.Length == 1) return (1, 1, x.Length);
        if (x.Rank < 2 || x.Shape[1] != slope.Length) throw Mismatch("x", $"[N, {slope.Length}, ...] (one slope per channel)", x.Shape);
        int c = slope.Length, n = x.Shape[0];
        return (n * c, c, n * c == 0 ? 0 : x.Length / (n * c));
    }

    public static (int Planes, int C, int Inner) PReluForward<T>(Tensor<T> x, Tensor<T> slope, Tensor<T> y) where T : unmanaged
    {
        var d = PRelu(x, slope);
        y.CheckShape("y", x.Shape);
        return d;
    }

    public static (int Planes, int C, int Inner) PReluBackward<T>(Tensor<T> dy, Tensor<T> x, Tensor<T> slope, Tensor<T>? dx, Tensor<T> dslope) where T : unmanaged
    {
        var d = PRelu(x, slope);
        dy.CheckShape("dy", x.Shape);
        dx?.CheckShape("dx", x.Shape);
        dslope.CheckShape("dslope", slope.Shape);
        return d;
    }

    /// <summary>(outer, size, inner) of a shape split around <paramref name="axis"/>.</summary>
    public static (int Outer, int Size, int Inner) AxisSplit(int[] shape, int axis, string name)
    {
        if (axis < 0 || axis >= shape.Length) throw new ArgumentException($"{name}: axis {axis} is out of range for shape {F(shape)}", nameof(axis));
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, shape[axis], inner);
    }

    public static (int Outer, int Size, int Inner) SoftmaxForward<T>(Tensor<T> x, Tensor<T> y, int axis) where T : unmanaged
    {
        var d = AxisSplit(x.Shape, axis, "x");
        y.CheckShape("y", x.Shape);
        return d;
    }

    public static (int Outer, int Size, int Inner) SoftmaxBackward<T>(Tensor<T> dy, Tensor<T> y, Tensor<T> dx, int axis) where T : unmanaged
    {
        var d = AxisSplit(y.Shape, axis, "y");
        dy.CheckShape("dy", y.Shape);
        dx.CheckShape("dx", y.Shape);
        return d;
    }

    /// <summary>(N, C out, inner) of maxout x [N, C·k, …] → y [N, C, …] (x, y named as the caller's arguments); argmax like y.</summary>
    private static (int N, int C, int Inner) Maxout<T>(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, int pieces, string xName, string yName) where T : unmanaged
    {
        if (pieces < 1) throw new ArgumentException($"pieces must be >= 1, got {pieces}", nameof(pieces));
        if (x.Rank < 2 || x.Shape[1] % pieces != 0) throw Mismatch(xName, $"[N, C·{pieces}, ...] (channels divisible by {pieces})", x.Shape);
        var expected = (int[])x.Shape.Clone();
        expected[1] = x.Shape[1] / pieces;
        y.CheckShape(yName, expected);
        argmax.CheckShape("argmax", y.Shape);
        int n = x.Shape[0], c = expected[1];
        return (n, c, n * c == 0 ? 0 : y.Length / (n * c));
    }

    public static (int N, int C, int Inner) MaxoutForward<T>(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, int pieces) where T : unmanaged =>
        Maxout(x, y, argmax, pieces, "x", "y");

    public static (int N, int C, int Inner) MaxoutBackward<T>(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx, int pieces) where T : unmanaged =>
        Maxout(dx, dy, argmax, pieces, "dx", "dy");
}
