using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// Normalization on ILGPU (GpuKernels.Normalization.cs): statistics and parameter gradients are group reductions, one group
// per channel or row (GpuKernels.Reductions.cs); outputs one thread per element.
public sealed partial class IlgpuKernels
{
    private static (int N, int C, int Inner) NormDims(Tensor<float> x, string op, int minRank = 2)
    {
        Check(x.Rank >= minRank, "x", minRank == 2 ? $"[N, C] or [N, C, *] for {op}" : $"[N, C, *] ({minRank}-D or more) for {op}", x.Shape);
        int inner = 1;
        for (int i = 2; i < x.Rank; i++) inner *= x.Shape[i];
        return (x.Shape[0], x.Shape[1], inner);
    }

    private static void CheckVec(Tensor<float>? t, string name, int n)
    {
        if (t is not null) Check(t.Length == n, name, $"[{n}]", t.Shape);
    }

    private static void CheckLike(Tensor<float>? t, string name, Tensor<float> like)
    {
        if (t is not null) t.CheckShape(name, like.Shape);
    }

    // ------------------------------------------------------------------ batchnorm
    public void BatchNormForward(Tensor<float> x, Tensor<float> weight, Tensor<float> bias, Tensor<float> runningMean, Tensor<float> runningVar,
        Tensor<float> y, Tensor<float> mean, Tensor<float> invStd, bool training, float eps, float momentum)
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        CheckLike(y, "y", x);
        CheckVec(weight, "weight", c); CheckVec(bias, "bias", c); CheckVec(runningMean, "runningMean", c); CheckVec(runningVar, "runningVar", c);
        CheckVec(mean, "mean", c); CheckVec(invStd, "invStd", c);
        if (training && (long)n * inner < 2)
            throw new ArgumentException($"x: batchnorm in training mode needs more than 1 value per channel, got {Tensor<float>.Format(x.Shape)}", nameof(x));
        if (c == 0) return;
        var p = new NormParams { N = n, C = c, Inner = inner, HasAffine = 1, Training = training ? 1 : 0, Eps = eps, Momentum = momentum };
        BatchNormStatsReduce(V(x, "x"), V(runningMean, "runningMean"), V(runningVar, "runningVar"), V(mean, "mean"), V(invStd, "invStd"), p);
        if (x.Length == 0) return;
        Launch(GpuKernels.NormApplyChannels, x.Length, V(x, "x"), V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), V(weight, "weight"), V(bias, "bias"), p);
    }

    public void BatchNormApply<TEpi, TGpuEpi>(Tensor<float> x, Tensor<float> weight, Tensor<float> bias, Tensor<float> mean, Tensor<float> invStd, Tensor<float> y,
        TEpi epilogue, TGpuEpi gpuEpilogue) where TEpi : struct, IMap1<float> where TGpuEpi : struct, IGpuMap1
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        CheckLike(y, "y", x);
        CheckVec(weight, "weight", c); CheckVec(bias, "bias", c); CheckVec(mean, "mean", c); CheckVec(invStd, "invStd", c);
        if (c == 0 || x.Length == 0) return;
        var p = new NormParams { N = n, C = c, Inner = inner, HasAffine = 1 };
        Launch(GpuKernels.NormApplyChannels, x.Length, V(x, "x"), V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), V(weight, "weight"), V(bias, "bias"), p);
        if (typeof(TGpuEpi) != typeof(Identity<float>)) Map(y, y, epilogue, gpuEpilogue);   // in place, element by element
    }

    public void BatchNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dx, Tensor<float> dweight, Tensor<float> dbias, bool training)
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        CheckLike(dy, "dy", x); CheckLike(dx, "dx", x);
        CheckVec(weight, "weight", c); CheckVec(mean, "mean", c); CheckVec(invStd, "invStd", c); CheckVec(dweight, "dweight", c); CheckVec(dbias, "dbias", c);
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
        CheckLike(a, "a", x);
        var dy = BnDy(dyOut, x);
        Map(a, b, dy, prologue, gpuPrologue);
        BatchNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, training);
    }

    public void BatchNormBackward<TOp, TGpuOp>(Tensor<float> a, Tensor<float> b, Tensor<float> c, Tensor<float> x, Tensor<float> weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dyOut, Tensor<float>? dx, Tensor<float> dweight, Tensor<float> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap3<float> where TGpuOp : struct, IGpuMap3
    {
        CheckLike(a, "a", x);
        var dy = BnDy(dyOut, x);
        Map(a, b, c, dy, prologue, gpuPrologue);
        BatchNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, training);
    }

    // ------------------------------------------------------------------ layernorm
    private static (int Rows, int D) LayerNormCheck(Tensor<float> x, Tensor<float>? weight, Tensor<float>? bias, Tensor<float> mean, Tensor<float> invStd, int dims)
    {
        if (dims < 1 || dims > x.Rank)
            throw new ArgumentException($"dims: layernorm of x {Tensor<float>.Format(x.Shape)} normalizes 1 to {x.Rank} trailing dims, got {dims}", nameof(dims));
        var lead = x.Shape[..(x.Rank - dims)];
        var tail = x.Shape[(x.Rank - dims)..];
        weight?.CheckShape("weight", tail);
        bias?.CheckShape("bias", tail);
        mean.CheckShape("mean", lead);
        invStd.CheckShape("invStd", lead);
        int d = Tensor<float>.ShapeLength(tail);
        return (Tensor<float>.ShapeLength(lead), d);
    }

    public void LayerNormForward(Tensor<float> x, Tensor<float>? weight, Tensor<float>? bias, Tensor<float> y, Tensor<float> mean, Tensor<float> invStd, int dims, float eps)
    {
        var (rows, d) = LayerNormCheck(x, weight, bias, mean, invStd, dims);
        CheckLike(y, "y", x);
        if ((weight is null) != (bias is null)) throw new ArgumentException("weight and bias: give both or neither");
        if (rows == 0 || d == 0) return;
        var p = new NormParams { N = rows, RowLen = d, HasAffine = weight is null ? 0 : 1, Eps = eps };
        RowStatsReduce(rows, V(x, "x"), V(mean, "mean"), V(invStd, "invStd"), p);
        var xv = V(x, "x");
        Launch(GpuKernels.LayerNormApply, x.Length, xv, V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), weight is null ? xv : V(weight, "weight"), bias is null ? xv : V(bias, "bias"), p);
    }

    public void LayerNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float>? weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dx, Tensor<float>? dweight, Tensor<float>? dbias, int dims)
    {
        var (rows, d) = LayerNormCheck(x, weight, null, mean, invStd, dims);
        CheckLike(dy, "dy", x); CheckLike(dx, "dx", x);
        if (weight is not null) { CheckLike(dweight, "dweight", weight); CheckLike(dbias, "dbias", weight); }
        else if (dweight is not null || dbias is not null) throw new ArgumentException("dweight and dbias need the weight (layernorm without affine parameters has no weight gradient)");
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
    private static NormParams GroupNormCheck(Tensor<float> x, Tensor<float>? weight, Tensor<float>? bias, Tensor<float> mean, Tensor<float> invStd, int groups)
    {
        var (n, c, inner) = NormDims(x, "groupnorm");
        if (groups < 1 || c % groups != 0)
            throw new ArgumentException($"groups: {groups} must divide the {c} channels of x {Tensor<float>.Format(x.Shape)}", nameof(groups));
        CheckVec(weight, "weight", c); CheckVec(bias, "bias", c);
        mean.CheckShape("mean", [n, groups]); invStd.CheckShape("invStd", [n, groups]);
        int cg = c / groups;
        return new NormParams { N = n, C = c, Inner = inner, Cg = cg, Groups = groups, RowLen = cg * inner, HasAffine = weight is null ? 0 : 1 };
    }

    public void GroupNormForward(Tensor<float> x, Tensor<float>? weight, Tensor<float>? bias, Tensor<float> y, Tensor<float> mean, Tensor<float> invStd, int groups, float eps)
    {
        var p = GroupNormCheck(x, weight, bias, mean, invStd, groups);
        CheckLike(y, "y", x);
        if ((weight is null) != (bias is null)) throw new ArgumentException("weight and bias: give both or neither");
        if (x.Length == 0) return;
        p.Eps = eps;
        RowStatsReduce(p.N * groups, V(x, "x"), V(mean, "mean"), V(invStd, "invStd"), p);
        var xv = V(x, "x");
        Launch(GpuKernels.NormApplyChannels, x.Length, xv, V(y, "y"), V(mean, "mean"), V(invStd, "invStd"), weight is null ? xv : V(weight, "weight"), bias is null ? xv : V(bias, "bias"), p);
    }

    public void GroupNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float>? weight, Tensor<float> mean, Tensor<float> invStd,
        Tensor<float>? dx, Tensor<float>? dweight, Tensor<float>? dbias, int groups)
    {
        var p = GroupNormCheck(x, weight, null, mean, invStd, groups);
        CheckLike(dy, "dy", x); CheckLike(dx, "dx", x);
        if (weight is not null) { CheckVec(dweight, "dweight", p.C); CheckVec(dbias, "dbias", p.C); }
        else if (dweight is not null || dbias is not null) throw new ArgumentException("dweight and dbias need the weight (no affine parameters, no weight gradient)");
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
        var (n, c, inner) = NormDims(x, "lrn", 3);
        if (size < 1) throw new ArgumentException($"size: the lrn window must hold at least 1 channel, got {size}", nameof(size));
        CheckLike(y, "y", x); CheckLike(scale, "scale", x);
        if (x.Length == 0) return;
        Launch(GpuKernels.LrnForward, x.Length, V(x, "x"), V(y, "y"), V(scale, "scale"), new NormParams { N = n, C = c, Inner = inner }, size, alpha, beta, k);
    }

    public void LocalResponseNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> y, Tensor<float> scale, Tensor<float> dx, int size, float alpha, float beta)
    {
        var (n, c, inner) = NormDims(x, "lrn", 3);
        if (size < 1) throw new ArgumentException($"size: the lrn window must hold at least 1 channel, got {size}", nameof(size));
        CheckLike(dy, "dy", x); CheckLike(y, "y", x); CheckLike(scale, "scale", x); CheckLike(dx, "dx", x);
        if (x.Length == 0) return;
        Launch(GpuKernels.LrnBackward, x.Length, V(dy, "dy"), V(x, "x"), V(y, "y"), V(scale, "scale"), V(dx, "dx"), new NormParams { N = n, C = c, Inner = inner }, size, alpha, beta);
    }
}
