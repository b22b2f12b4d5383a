using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// Normalization on ILGPU (GpuKernels.Normalization.cs): statistics and parameter gradients are group reductions, one group
// per channel or row (GpuKernels.Reductions.cs); outputs one thread per element.
public sealed partial class IlgpuKernels
{
    // ------------------------------------------------------------------ batchnorm
    public void BatchNormForward(Tensor<float> x, Tensor<float> weight, Tensor<float> bias, Tensor<float> runningMean, Tensor<float> runningVar,
        Tensor<float> y, Tensor<float> mean, Tensor<float> invStd, bool training, float eps, float momentum)
    {
        var (n, c, inner) = KernelContract.BatchNormForward(x, weight, bias, runningMean, runningVar, y, mean, invStd, training);
        if (c == 0) return;
        var p = new NormParams { N = n, C = c, Inner = inner, HasAffine = 1, Training = training ? 1 : 0, Eps = eps, Momentum = momentum };
        BatchNormStatsReduce(V(x, "x"), V(runningMean, "runningMean"), V(runningVar, "runningVar"), V(mean, "mean"), V(invStd, "invStd"), p);
        if (x.Length == 0) return;
        Launch(GpuKernels.NormApplyChannels, x.Length, V(x, "x"), V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), V(weight, "weight"), V(bias, "bias"), p);
    }

    public void BatchNormApply<TEpi, TGpuEpi>(Tensor<float> x, Tensor<float> weight, Tensor<float> bias, Tensor<float> mean, Tensor<float> invStd, Tensor<float> y,
        TEpi epilogue, TGpuEpi gpuEpilogue) where TEpi : struct, IMap1<float> where TGpuEpi : struct, IGpuMap1
    {
        var (n, c, inner) = KernelContract.BatchNormApply(x, weight, bias, mean, invStd, y);
        if (c == 0 || x.Length == 0) return;
        var p = new NormParams { N = n, C = c, Inner = inner, HasAffine = 1 };
        Launch(GpuKernels.NormApplyChannels, x.Length, V(x, "x"), V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), V(weight, "weight"), V(bias, "bias"), p);
        if (typeof(TGpuEpi) != typeof(Identity<float>)) Map(y, y, epilogue, gpuEpilogue);   // in place, element by element
    }

    public void BatchNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dx, Tensor<float> dweight, Tensor<float> dbias, bool training)
    {
        var (n, c, inner) = KernelContract.BatchNormBackward(dy, "dy", null, null, x, weight, mean, invStd, null, dx, dweight, dbias);
        if (c == 0) return;
        var p = new NormParams { N = n, C = c, Inner = inner, HasAffine = 1, Training = training ? 1 : 0 };
        NormChannelGradsReduce(V(dy, "dy"), V(x, "x"), V(mean, "mean"), V(invStd, "invStd"), V(dweight, "dweight"), V(dbias, "dbias"), p);
        if (dx is null || x.Length == 0) return;
        Launch(GpuKernels.BatchNormBackwardData, x.Length, V(dy, "dy"), V(x, "x"), V(weight, "weight"), V(mean, "mean"), V(invStd, "invStd"), V(dweight, "dweight"), V(dbias, "dbias"), V(dx, "dx"), p);
    }

    public void BatchNormForward<TEpi, TGpuEpi>(Tensor<float> x, Tensor<float> weight, Tensor<float> bias, Tensor<float> runningMean, Tensor<float> runningVar,
        Tensor<float> y, Tensor<float> mean, Tensor<float> invStd, bool training, float eps, float momentum, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<float> where TGpuEpi : struct, IGpuMap1
    {
        BatchNormForward(x, weight, bias, runningMean, runningVar, y, mean, invStd, training, eps, momentum);
        Map(y, y, epilogue, gpuEpilogue);   // the epilogue as its own in-place pass on the device
    }

    private Tensor<float>? _bnDyScratch;

    /// <summary>The fused prologue's dy: dyOut when given, else a device scratch tensor kept for the next call (grown on demand).</summary>
    private Tensor<float> BnDy(Tensor<float>? dyOut, Tensor<float> x)
    {
        if (dyOut is not null) return dyOut;
        if (_bnDyScratch is null || !_bnDyScratch.Shape.AsSpan().SequenceEqual(x.Shape)) _bnDyScratch = _device.Allocate<float>((int[])x.Shape.Clone());
        return _bnDyScratch;
    }

    // ILGPU runs the prologue as its own element-wise pass into dyOut or a scratch buffer, then the batchnorm backward.
    public void BatchNormBackward<TOp, TGpuOp>(Tensor<float> a, Tensor<float> b, Tensor<float> x, Tensor<float> weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dyOut, Tensor<float>? dx, Tensor<float> dweight, Tensor<float> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap2<float> where TGpuOp : struct, IGpuMap2
    {
        KernelContract.BatchNormBackward(a, "a", b, null, x, weight, mean, invStd, dyOut, dx, dweight, dbias);
        var dy = BnDy(dyOut, x);
        Map(a, b, dy, prologue, gpuPrologue);
        BatchNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, training);
    }

    public void BatchNormBackward<TOp, TGpuOp>(Tensor<float> a, Tensor<float> b, Tensor<float> c, Tensor<float> x, Tensor<float> weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dyOut, Tensor<float>? dx, Tensor<float> dweight, Tensor<float> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap3<float> where TGpuOp : struct, IGpuMap3
    {
        KernelContract.BatchNormBackward(a, "a", b, c, x, weight, mean, invStd, dyOut, dx, dweight, dbias);
        var dy = BnDy(dyOut, x);
        Map(a, b, c, dy, prologue, gpuPrologue);
        BatchNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, training);
    }

    // ------------------------------------------------------------------ layernorm
    public void LayerNormForward(Tensor<float> x, Tensor<float>? weight, Tensor<float>? bias, Tensor<float> y, Tensor<float> mean, Tensor<float> invStd, int dims, float eps)
    {
        var (rows, d) = KernelContract.LayerNormForward(x, weight, bias, y, mean, invStd, dims);
        if (rows == 0 || d == 0) return;
        var p = new NormParams { N = rows, RowLen = d, HasAffine = weight is null ? 0 : 1, Eps = eps };
        RowStatsReduce(rows, V(x, "x"), V(mean, "mean"), V(invStd, "invStd"), p);
        var xv = V(x, "x");
        Launch(GpuKernels.LayerNormApply, x.Length, xv, V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), weight is null ? xv : V(weight, "weight"), bias is null ? xv : V(bias, "bias"), p);
    }

    public void LayerNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float>? weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dx, Tensor<float>? dweight, Tensor<float>? dbias, int dims)
    {
        var (rows, d) = KernelContract.LayerNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, dims);
        if (rows == 0 || d == 0) return;
        var p = new NormParams { N = rows, RowLen = d, HasAffine = weight is null ? 0 : 1, Cg = 0 };
        var xv = V(x, "x");
        if (dx is not null)
        {
            Launch(GpuKernels.RowNormBackward, rows, V(dy, "dy"), xv, weight is null ? xv : V(weight, "weight"), V(mean, "mean"), V(invStd, "invStd"), V(dx, "dx"), p);
        }
        if (dweight is not null && dbias is not null)
        {
            Launch(GpuKernels.LayerNormWeightGrad, d, V(dy, "dy"), xv, V(mean, "mean"), V(invStd, "invStd"), V(dweight, "dweight"), V(dbias, "dbias"), p);
        }
    }

    // ------------------------------------------------------------------ groupnorm and instancenorm
    /// <summary>The ILGPU kernels' parameters for a groupnorm the contract checked.</summary>
    private static NormParams GroupNormParams((int N, int C, int Inner, int Cg) d, int groups, bool affine) =>
        new() { N = d.N, C = d.C, Inner = d.Inner, Cg = d.Cg, Groups = groups, RowLen = d.Cg * d.Inner, HasAffine = affine ? 1 : 0 };

    public void GroupNormForward(Tensor<float> x, Tensor<float>? weight, Tensor<float>? bias, Tensor<float> y, Tensor<float> mean, Tensor<float> invStd, int groups, float eps)
    {
        var p = GroupNormParams(KernelContract.GroupNormForward(x, weight, bias, y, mean, invStd, groups), groups, weight is not null);
        if (x.Length == 0) return;
        p.Eps = eps;
        RowStatsReduce(p.N * groups, V(x, "x"), V(mean, "mean"), V(invStd, "invStd"), p);
        var xv = V(x, "x");
        Launch(GpuKernels.NormApplyChannels, x.Length, xv, V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), weight is null ? xv : V(weight, "weight"), bias is null ? xv : V(bias, "bias"), p);
    }

    public void GroupNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float>? weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dx, Tensor<float>? dweight, Tensor<float>? dbias, int groups)
    {
        var p = GroupNormParams(KernelContract.GroupNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, groups), groups, weight is not null);
        if (x.Length == 0) return;
        var xv = V(x, "x");
        if (dx is not null)
        {
            Launch(GpuKernels.RowNormBackward, p.N * groups, V(dy, "dy"), xv, weight is null ? xv : V(weight, "weight"), V(mean, "mean"), V(invStd, "invStd"), V(dx, "dx"), p);
        }
        if (dweight is not null && dbias is not null)
        {
            NormChannelGradsReduce(V(dy, "dy"), xv, V(mean, "mean"), V(invStd, "invStd"), V(dweight, "dweight"), V(dbias, "dbias"), p);
        }
    }

    // ------------------------------------------------------------------ local response normalization
    public void LocalResponseNormForward(Tensor<float> x, Tensor<float> y, Tensor<float> scale, int size, float alpha, float beta, float k)
    {
        var (n, c, inner) = KernelContract.LocalResponseNormForward(x, y, scale, size);
        if (x.Length == 0) return;
        Launch(GpuKernels.LrnForward, x.Length, V(x, "x"), V(y, "y"), V(scale, "scale"), new NormParams { N = n, C = c, Inner = inner }, size, alpha, beta, k);
    }

    public void LocalResponseNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> y, Tensor<float> scale, Tensor<float> dx, int size, float alpha, float beta)
    {
        var (n, c, inner) = KernelContract.LocalResponseNormBackward(dy, x, y, scale, dx, size);
        if (x.Length == 0) return;
        Launch(GpuKernels.LrnBackward, x.Length, V(dy, "dy"), V(x, "x"), V(y, "y"), V(scale, "scale"), V(dx, "dx"), new NormParams { N = n, C = c, Inner = inner }, size, alpha, beta);
    }
}
