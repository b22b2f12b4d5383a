using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The conv/pool family on ILGPU (float): transposed convolution (the convolution's implicit GEMMs: its forward is the
// backward-data product plus bias, its gradients are the convolution forward and filter products), adaptive average pooling,
// max unpooling and upsampling.
public sealed partial class IlgpuKernels
{
    public void ConvTranspose2dForward(Tensor<float> x, Tensor<float> w, Tensor<float>? b, Tensor<float> y, ConvGeometry g)
    {
        var p = Params(KernelContract.ConvTranspose2d(x, w, b, y, g, "x", "y"), g);
        if (y.Length == 0) return;
        ConvBackwardDataTiled(V(x, "x"), V(w, "w"), V(y, "y"), p, b is null ? null : V(b, "b"));
    }

    public void ConvTranspose2dBackwardData(Tensor<float> dy, Tensor<float> w, Tensor<float> dx, ConvGeometry g)
    {
        KernelContract.ConvTranspose2d(dx, w, null, dy, g, "dx", "dy");
        Conv2dForward(dy, w, null, dx, g, default(Identity<float>), default(Identity<float>));
    }

    public void ConvTranspose2dBackwardFilter(Tensor<float> dy, Tensor<float> x, Tensor<float> dw, Tensor<float>? db, ConvGeometry g)
    {
        KernelContract.ConvTranspose2d(x, dw, db, dy, g, "x", "dy", "db");
        Conv2dBackwardFilter(x, dy, dw, null, g);
        if (db is not null && db.Length > 0)
        {
            ChannelSums(V(dy, "dy"), V(db, "db"), dy.Shape[0], dy.Shape[1], dy.Shape[2] * dy.Shape[3]);
        }
    }

    /// <summary>The ILGPU kernels' parameters for two planes the contract checked.</summary>
    private static PlaneParams Params(PlaneDims d, bool alignCorners = false) =>
        new() { H = d.H, W = d.W, OH = d.OH, OW = d.OW, AlignCorners = alignCorners ? 1 : 0 };

    public void AdaptiveAvgPool2dForward(Tensor<float> x, Tensor<float> y)
    {
        var p = Params(KernelContract.AdaptiveAvgPool2dForward(x, y));
        if (y.Length == 0) return;
        Launch(GpuKernels.AdaptiveAvgPoolForward, y.Length, V(x, "x"), V(y, "y"), p);
    }

    public void AdaptiveAvgPool2dBackward(Tensor<float> dy, Tensor<float> dx)
    {
        var p = Params(KernelContract.AdaptiveAvgPool2dBackward(dy, dx));
        if (dx.Length == 0) return;
        Launch(GpuKernels.AdaptiveAvgPoolBackward, dx.Length, V(dy, "dy"), V(dx, "dx"), p);
    }

    public void MaxUnpool2dForward(Tensor<float> x, Tensor<int> argmax, Tensor<float> y)
    {
        var p = Params(KernelContract.MaxUnpool2d(x, argmax, y, "x", "y"));
        // here H×W is the (bigger) output plane and OH×OW the pooled plane
        (p.H, p.W, p.OH, p.OW) = (p.OH, p.OW, p.H, p.W);
        if (y.Length == 0) return;
        var yv = V(y, "y");
        yv.MemSetToZero();
        if (x.Length == 0) return;
        Launch(GpuKernels.MaxUnpoolForward, x.Length, V(x, "x"), V(argmax, "argmax"), yv, p);
    }

    public void MaxUnpool2dBackward(Tensor<float> dy, Tensor<int> argmax, Tensor<float> dx)
    {
        var p = Params(KernelContract.MaxUnpool2d(dx, argmax, dy, "dx", "dy"));
        (p.H, p.W, p.OH, p.OW) = (p.OH, p.OW, p.H, p.W);
        if (dx.Length == 0) return;
        Launch(GpuKernels.MaxUnpoolBackward, dx.Length, V(dy, "dy"), V(argmax, "argmax"), V(dx, "dx"), p);
    }

    public void UpsampleNearest2dForward(Tensor<float> x, Tensor<float> y)
    {
        var p = Params(KernelContract.Upsample2d(x, y, "x", "y"));
        if (y.Length == 0) return;
        Launch(GpuKernels.UpsampleNearestForward, y.Length, V(x, "x"), V(y, "y"), p);
    }

    public void UpsampleNearest2dBackward(Tensor<float> dy, Tensor<float> dx)
    {
        var p = Params(KernelContract.Upsample2d(dx, dy, "dx", "dy"));
        if (dx.Length == 0) return;
        Launch(GpuKernels.UpsampleNearestBackward, dx.Length, V(dy, "dy"), V(dx, "dx"), p);
    }

    public void UpsampleBilinear2dForward(Tensor<float> x, Tensor<float> y, bool alignCorners)
    {
        var p = Params(KernelContract.Upsample2d(x, y, "x", "y"), alignCorners);
        if (y.Length == 0) return;
        Launch(GpuKernels.UpsampleBilinearForward, y.Length, V(x, "x"), V(y, "y"), p);
    }

    public void UpsampleBilinear2dBackward(Tensor<float> dy, Tensor<float> dx, bool alignCorners)
    {
        var p = Params(KernelContract.Upsample2d(dx, dy, "dx", "dy"), alignCorners);
        if (dx.Length == 0) return;
        Launch(GpuKernels.UpsampleBilinearBackward, dx.Length, V(dy, "dy"), V(dx, "dx"), p);
    }
}
