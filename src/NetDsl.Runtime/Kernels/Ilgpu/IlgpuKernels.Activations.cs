using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The activations family on ILGPU (kernels in GpuKernels.Activations.cs); shape checks as in CpuKernels.
public sealed partial class IlgpuKernels
{
    private static (int Planes, int C, int Inner) CheckPRelu(Tensor<float> x, Tensor<float> slope)
    {
        Check(slope.Rank == 1, "slope", "[1] or [C]", slope.Shape);
        if (slope.Length == 1) return (1, 1, Math.Max(1, x.Length));
        Check(x.Rank >= 2 && x.Shape[1] == slope.Length, "x", $"[N, {slope.Length}, ...] (one slope per channel)", x.Shape);
        int n = x.Shape[0], c = slope.Length;
        return (n * c, c, n * c == 0 ? 1 : Math.Max(1, x.Length / (n * c)));
    }

    public void PReluForward(Tensor<float> x, Tensor<float> slope, Tensor<float> y)
    {
        var (_, c, inner) = CheckPRelu(x, slope);
        y.CheckShape("y", x.Shape);
        if (x.Length == 0) return;
        Launch(GpuKernels.PReluForward, x.Length, V(x, "x"), V(slope, "slope"), V(y, "y"), c, inner);
    }

    public void PReluBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> slope, Tensor<float>? dx, Tensor<float> dslope)
    {
        var (planes, c, inner) = CheckPRelu(x, slope);
        dy.CheckShape("dy", x.Shape);
        dx?.CheckShape("dx", x.Shape);
        dslope.CheckShape("dslope", slope.Shape);
        if (x.Length == 0) { Fill(dslope, 0f); return; }
        if (dx is not null)
        {
            Launch(GpuKernels.PReluBackwardData, x.Length, V(dy, "dy"), V(x, "x"), V(slope, "slope"), V(dx, "dx"), c, inner);
        }
        Launch(GpuKernels.PReluBackwardSlope, c, V(dy, "dy"), V(x, "x"), V(dslope, "dslope"), c, inner, planes);
    }

    public void SoftmaxForward(Tensor<float> x, Tensor<float> y, int axis, bool log)
    {
        var (outer, size, inner) = CpuKernels<float>.AxisSplit(x.Shape, axis, "x");
        y.CheckShape("y", x.Shape);
        if (x.Length == 0) return;
        Launch(GpuKernels.Softmax, outer * inner, V(x, "x"), V(y, "y"), size, inner, log ? 1 : 0);
    }

    public void SoftmaxBackward(Tensor<float> dy, Tensor<float> y, Tensor<float> dx, int axis, bool log)
    {
        var (outer, size, inner) = CpuKernels<float>.AxisSplit(y.Shape, axis, "y");
        dy.CheckShape("dy", y.Shape);
        dx.CheckShape("dx", y.Shape);
        if (y.Length == 0) return;
        Launch(GpuKernels.SoftmaxBackward, outer * inner, V(dy, "dy"), V(y, "y"), V(dx, "dx"), size, inner, log ? 1 : 0);
    }

    private static (int C, int Inner) CheckMaxout(Tensor<float> x, int[] yShape, int pieces, string xName, string yName)
    {
        if (pieces < 1) throw new ArgumentException($"pieces must be >= 1, got {pieces}", nameof(pieces));
        Check(x.Rank >= 2 && x.Shape[1] % pieces == 0, xName, $"[N, C·{pieces}, ...] (channels divisible by {pieces})", x.Shape);
        var expected = (int[])x.Shape.Clone();
        expected[1] = x.Shape[1] / pieces;
        Check(expected.AsSpan().SequenceEqual(yShape), yName, Tensor<float>.Format(expected), yShape);
        int n = x.Shape[0], c = expected[1];
        return (c, n * c == 0 ? 1 : Math.Max(1, Tensor<float>.ShapeLength(expected) / (n * c)));
    }

    public void MaxoutForward(Tensor<float> x, Tensor<float> y, Tensor<int> argmax, int pieces)
    {
        var (c, inner) = CheckMaxout(x, y.Shape, pieces, "x", "y");
        argmax.CheckShape("argmax", y.Shape);
        if (y.Length == 0) return;
        Launch(GpuKernels.MaxoutForward, y.Length, V(x, "x"), V(y, "y"), V(argmax, "argmax"), c, pieces, inner);
    }

    public void MaxoutBackward(Tensor<float> dy, Tensor<int> argmax, Tensor<float> dx, int pieces)
    {
        var (c, inner) = CheckMaxout(dx, dy.Shape, pieces, "dx", "dy");
        argmax.CheckShape("argmax", dy.Shape);
        if (dx.Length == 0) return;
        Launch(GpuKernels.MaxoutBackward, dx.Length, V(dy, "dy"), V(argmax, "argmax"), V(dx, "dx"), c, pieces, inner);
    }
}
