using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The activations family on ILGPU (kernels in GpuKernels.Activations.cs); shape checks in KernelContract.Activations.cs.
public sealed partial class IlgpuKernels
{
    public void PReluForward(Tensor<float> x, Tensor<float> slope, Tensor<float> y)
    {
        var (_, c, inner) = KernelContract.PReluForward(x, slope, y);
        if (x.Length == 0) return;
        Launch(GpuKernels.PReluForward, x.Length, V(x, "x"), V(slope, "slope"), V(y, "y"), c, inner);
    }

    public void PReluBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> slope, Tensor<float>? dx, Tensor<float> dslope)
    {
        var (planes, c, inner) = KernelContract.PReluBackward(dy, x, slope, dx, dslope);
        if (x.Length == 0) { Fill(dslope, 0f); return; }
        if (dx is not null)
        {
            Launch(GpuKernels.PReluBackwardData, x.Length, V(dy, "dy"), V(x, "x"), V(slope, "slope"), V(dx, "dx"), c, inner);
        }
        Launch(GpuKernels.PReluBackwardSlope, c, V(dy, "dy"), V(x, "x"), V(dslope, "dslope"), c, inner, planes);
    }

    public void SoftmaxForward(Tensor<float> x, Tensor<float> y, int axis, bool log)
    {
        var (outer, size, inner) = KernelContract.SoftmaxForward(x, y, axis);
        if (x.Length == 0) return;
        Launch(GpuKernels.Softmax, outer * inner, V(x, "x"), V(y, "y"), size, inner, log ? 1 : 0);
    }

    public void SoftmaxBackward(Tensor<float> dy, Tensor<float> y, Tensor<float> dx, int axis, bool log)
    {
        var (outer, size, inner) = KernelContract.SoftmaxBackward(dy, y, dx, axis);
        if (y.Length == 0) return;
        Launch(GpuKernels.SoftmaxBackward, outer * inner, V(dy, "dy"), V(y, "y"), V(dx, "dx"), size, inner, log ? 1 : 0);
    }

    public void MaxoutForward(Tensor<float> x, Tensor<float> y, Tensor<int> argmax, int pieces)
    {
        var (_, c, inner) = KernelContract.MaxoutForward(x, y, argmax, pieces);
        if (y.Length == 0) return;
        Launch(GpuKernels.MaxoutForward, y.Length, V(x, "x"), V(y, "y"), V(argmax, "argmax"), c, pieces, inner);
    }

    public void MaxoutBackward(Tensor<float> dy, Tensor<int> argmax, Tensor<float> dx, int pieces)
    {
        var (_, c, inner) = KernelContract.MaxoutBackward(dy, argmax, dx, pieces);
        if (dx.Length == 0) return;
        Launch(GpuKernels.MaxoutBackward, dx.Length, V(dy, "dy"), V(argmax, "argmax"), V(dx, "dx"), c, pieces, inner);
    }
}
