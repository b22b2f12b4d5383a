using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>
/// <see cref="IKernels{T}"/> for float on an <see cref="IlgpuDevice"/>: ILGPU kernels (<see cref="GpuKernels"/>), a
/// shared-memory tiled GEMM for linear, convolution (implicit GEMM) and matmul (IlgpuKernels.Gemm.cs), group reductions
/// for statistics and bias gradients (IlgpuKernels.Reductions.cs), one thread per output element elsewhere. Each kernel is
/// compiled on its first launch (per functor type for the generic ones) and cached for the device's lifetime. Launches are asynchronous on the accelerator's default stream,
/// except where a result is read back to the host (<see cref="ReadScalar"/>, the label checks of the class losses).
/// </summary>
public sealed partial class IlgpuKernels : IKernels<float>, IDisposable
{
    private readonly IlgpuDevice _device;
    private readonly Accelerator _acc;
    private readonly object _scratchLock = new();

    internal IlgpuKernels(IlgpuDevice device)
    {
        _device = device;
        _acc = device.Accelerator;
        SplitK = _acc.AcceleratorType != AcceleratorType.CPU;
    }

    public void Dispose()
    {
        _kernels.Clear();
    }

    private ArrayView<float> V(Tensor<float> t, string name) => _device.View(t, name);
    private ArrayView<int> V(Tensor<int> t, string name) => _device.View(t, name);

    // ------------------------------------------------------------------ shape checks
    private static void Check(bool ok, string name, string expected, int[] actual)
    {
        if (!ok) throw new ArgumentException($"{name}: expected shape {expected}, got {Tensor<float>.Format(actual)}", name);
    }

    /// <summary>The ILGPU kernels' parameters for a convolution the contract checked.</summary>
    private static ConvParams Params(ConvDims d, ConvGeometry g) => new()
    {
        N = d.N, C = d.C, H = d.H, W = d.W, K = d.K, Cg = d.C / g.Groups, Kg = d.K / g.Groups, KH = d.KH, KW = d.KW, OH = d.OH, OW = d.OW,
        SH = g.StrideH, SW = g.StrideW, PH = g.PadH, PW = g.PadW, DH = g.DilationH, DW = g.DilationW,
    };

    private static PoolParams Params(PoolDims d, PoolGeometry g) => new()
    {
        H = d.H, W = d.W, OH = d.OH, OW = d.OW, KH = g.KernelH, KW = g.KernelW, SH = g.StrideH, SW = g.StrideW, PH = g.PadH, PW = g.PadW,
        ExcludePad = g.ExcludePad ? 1 : 0,
    };

    // ------------------------------------------------------------------ convolution
    public void Conv2dForward<TEpi, TGpuEpi>(Tensor<float> x, Tensor<float> w, Tensor<float>? b, Tensor<float> y, ConvGeometry g, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<float> where TGpuEpi : struct, IGpuMap1
    {
        var p = Params(KernelContract.Conv2d(x, w, b, y, g, "x", "y"), g);
        if (y.Length == 0) return;
        var wv = V(w, "w");
        ConvForwardTiled(V(x, "x"), wv, b is null ? wv : V(b, "b"), b is not null, V(y, "y"), p, gpuEpilogue);
    }

    public void Conv2dBackwardData(Tensor<float> dy, Tensor<float> w, Tensor<float> dx, ConvGeometry g)
    {
        var p = Params(KernelContract.Conv2d(dx, w, null, dy, g, "dx", "dy"), g);
        if (dx.Length == 0) return;
        ConvBackwardDataTiled(V(dy, "dy"), V(w, "w"), V(dx, "dx"), p);
    }

    public void Conv2dBackwardFilter(Tensor<float> dy, Tensor<float> x, Tensor<float> dw, Tensor<float>? db, ConvGeometry g)
    {
        var p = Params(KernelContract.Conv2d(x, dw, db, dy, g, "x", "dy", "dw", "db"), g);
        if (dw.Length > 0)
        {
            ConvBackwardFilterTiled(V(dy, "dy"), V(x, "x"), V(dw, "dw"), p);
        }
        if (db is not null && db.Length > 0)
        {
            ChannelSums(V(dy, "dy"), V(db, "db"), p.N, p.K, p.OH * p.OW);
        }
    }

    // ------------------------------------------------------------------ linear
    public void LinearForward<TEpi, TGpuEpi>(Tensor<float> x, Tensor<float> w, Tensor<float>? b, Tensor<float> y, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<float> where TGpuEpi : struct, IGpuMap1
    {
        var (m, k, o) = KernelContract.LinearForward(x, w, b, y);
        if (y.Length == 0) return;
        var xv = V(x, "x");
        LinearForwardTiled(xv, V(w, "w"), b is null ? xv : V(b, "b"), b is not null, V(y, "y"), m, k, o, gpuEpilogue);
    }

    public void LinearBackwardData(Tensor<float> dy, Tensor<float> w, Tensor<float> dx)
    {
        var (m, k, o) = KernelContract.LinearBackwardData(dy, w, dx);
        if (dx.Length == 0) return;
        LinearBackwardDataTiled(V(dy, "dy"), V(w, "w"), V(dx, "dx"), m, k, o);
    }

    public void LinearBackwardFilter(Tensor<float> dy, Tensor<float> x, Tensor<float> dw, Tensor<float>? db)
    {
        var (m, k, o) = KernelContract.LinearBackwardFilter(dy, x, dw, db);
        if (dw.Length > 0)
        {
            LinearBackwardFilterTiled(V(dy, "dy"), V(x, "x"), V(dw, "dw"), m, k, o);
        }
        if (db is not null && o > 0)
        {
            ColumnSums(V(dy, "dy"), V(db, "db"), m, o);
        }
    }

    // ------------------------------------------------------------------ pooling
    public void MaxPool2dForward(Tensor<float> x, Tensor<float> y, Tensor<int> argmax, PoolGeometry g)
    {
        var p = Params(KernelContract.MaxPool2dForward(x, y, argmax, g), g);
        if (y.Length == 0) return;
        Launch(GpuKernels.MaxPoolForward, y.Length, V(x, "x"), V(y, "y"), V(argmax, "argmax"), p);
    }

    public void MaxPool2dBackward(Tensor<float> dy, Tensor<int> argmax, Tensor<float> dx)
    {
        KernelContract.MaxPool2dBackward(dy, argmax, dx);
        if (dx.Length == 0) return;
        var dxv = V(dx, "dx");
        dxv.MemSetToZero();
        if (dy.Length == 0) return;
        Launch(GpuKernels.MaxPoolBackward, dy.Length, V(dy, "dy"), V(argmax, "argmax"), dxv, dy.Shape[2] * dy.Shape[3], dx.Shape[2] * dx.Shape[3]);
    }

    public void AvgPool2dForward(Tensor<float> x, Tensor<float> y, PoolGeometry g)
    {
        var p = Params(KernelContract.Pool2d(x, y, g, "x", "y"), g);
        if (y.Length == 0) return;
        Launch(GpuKernels.AvgPoolForward, y.Length, V(x, "x"), V(y, "y"), p);
    }

    public void AvgPool2dBackward(Tensor<float> dy, Tensor<float> dx, PoolGeometry g)
    {
        var p = Params(KernelContract.Pool2d(dx, dy, g, "dx", "dy"), g);
        if (dx.Length == 0) return;
        Launch(GpuKernels.AvgPoolBackward, dx.Length, V(dy, "dy"), V(dx, "dx"), p);
    }

    public void GlobalAvgPoolForward(Tensor<float> x, Tensor<float> y)
    {
        KernelContract.GlobalAvgPool(x, y, "x", "y");
        if (y.Length == 0) return;
        Launch(GpuKernels.GlobalAvgPoolForward, y.Length, V(x, "x"), V(y, "y"), x.Shape[2] * x.Shape[3]);
    }

    public void GlobalAvgPoolBackward(Tensor<float> dy, Tensor<float> dx)
    {
        KernelContract.GlobalAvgPool(dx, dy, "dx", "dy");
        if (dx.Length == 0) return;
        Launch(GpuKernels.GlobalAvgPoolBackward, dx.Length, V(dy, "dy"), V(dx, "dx"), dx.Shape[2] * dx.Shape[3]);
    }

    private static ArgumentOutOfRangeException BadLabel(Tensor<int> labels, int classes)
    {
        var host = labels.CopyToHost();
        for (int i = 0; i < host.Length; i++)
            if ((uint)host[i] >= (uint)classes)
                return new ArgumentOutOfRangeException(nameof(labels), $"label {host[i]} at index {i} is out of range 0..{classes - 1}");
        return new ArgumentOutOfRangeException(nameof(labels), $"a label is out of range 0..{classes - 1}");
    }

    // ------------------------------------------------------------------ dropout
    public void DropoutForward(Tensor<float> x, Tensor<float> mask, Tensor<float> y, float p, ulong seed)
    {
        KernelContract.Dropout(x, mask, y, p);
        if (x.Length == 0) return;
        // Same stream as CpuKernels: dropped iff (splitmix64(key + i·φ) >> 11) < p·2^53.
        float scale = p >= 1 ? 0f : 1f / (1f - p);
        ulong threshold = p >= 1 ? ulong.MaxValue : (ulong)((double)p * 9007199254740992.0);
        ulong key = SplitMix64(seed ^ 0x6A09E667F3BCC909UL);
        Launch(GpuKernels.Dropout, x.Length, V(x, "x"), V(mask, "mask"), V(y, "y"), key, threshold, scale);
    }

    private static ulong SplitMix64(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // ------------------------------------------------------------------ concat
    public void Concat(ReadOnlySpan<Tensor<float>> inputs, Tensor<float> y)
    {
        var (_, inner) = KernelContract.Concat(inputs, y, "inputs", "y");
        if (y.Length == 0) return;
        var yv = V(y, "y");
        int yRow = y.Shape[1] * inner, off = 0;
        foreach (var t in inputs)
        {
            int rowLen = t.Shape[1] * inner;
            if (t.Length > 0) Launch(GpuKernels.ConcatForward, t.Length, V(t, "inputs"), yv, rowLen, yRow, off);
            off += rowLen;
        }
    }

    public void ConcatBackward(Tensor<float> dy, ReadOnlySpan<Tensor<float>> dxs)
    {
        var (_, inner) = KernelContract.Concat(dxs, dy, "dxs", "dy");
        if (dy.Length == 0) return;
        var dyv = V(dy, "dy");
        int yRow = dy.Shape[1] * inner, off = 0;
        foreach (var t in dxs)
        {
            int rowLen = t.Shape[1] * inner;
            if (t.Length > 0) Launch(GpuKernels.ConcatBackward, t.Length, dyv, V(t, "dxs"), rowLen, yRow, off);
            off += rowLen;
        }
    }

    // ------------------------------------------------------------------ element-wise drivers
    public void Map<TOp, TGpuOp>(Tensor<float> a, Tensor<float> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap1<float> where TGpuOp : struct, IGpuMap1
    {
        KernelContract.SameLength(a, y, "a", "y");
        if (y.Length == 0) return;
        Launch(GpuKernels.Map1<TGpuOp>, y.Length, V(a, "a"), V(y, "y"), gpuOp);
    }

    public void Map<TOp, TGpuOp>(Tensor<float> a, Tensor<float> b, Tensor<float> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap2<float> where TGpuOp : struct, IGpuMap2
    {
        KernelContract.SameLength(a, b, "a", "b"); KernelContract.SameLength(a, y, "a", "y");
        if (y.Length == 0) return;
        Launch(GpuKernels.Map2<TGpuOp>, y.Length, V(a, "a"), V(b, "b"), V(y, "y"), gpuOp);
    }

    public void Map<TOp, TGpuOp>(Tensor<float> a, Tensor<float> b, Tensor<float> c, Tensor<float> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap3<float> where TGpuOp : struct, IGpuMap3
    {
        KernelContract.SameLength(a, b, "a", "b"); KernelContract.SameLength(a, c, "a", "c"); KernelContract.SameLength(a, y, "a", "y");
        if (y.Length == 0) return;
        Launch(GpuKernels.Map3<TGpuOp>, y.Length, V(a, "a"), V(b, "b"), V(c, "c"), V(y, "y"), gpuOp);
    }

    public void Fill(Tensor<float> y, float value)
    {
        if (y.Length == 0) return;
        if (value == 0f && !float.IsNegative(value)) { V(y, "y").MemSetToZero(); return; }
        Launch(GpuKernels.Fill, y.Length, V(y, "y"), value);
    }

    public void Copy(Tensor<float> src, Tensor<float> dst)
    {
        KernelContract.SameLength(src, dst, "src", "dst");
        if (dst.Length == 0) return;
        V(src, "src").CopyTo(V(dst, "dst"));
    }

    public void Accumulate(Tensor<float> src, Tensor<float> dst)
    {
        KernelContract.SameLength(src, dst, "src", "dst");
        if (dst.Length == 0) return;
        Launch(GpuKernels.Accumulate, dst.Length, V(src, "src"), V(dst, "dst"));
    }

    // ------------------------------------------------------------------ optimizers
    public void SgdStep(Tensor<float> param, Tensor<float> grad, Tensor<float> velocity, float lr, float momentum, float weightDecay, bool nesterov)
    {
        KernelContract.SgdStep(param, grad, velocity);
        if (param.Length == 0) return;
        Launch(GpuKernels.SgdStep, param.Length, V(param, "param"), V(grad, "grad"), V(velocity, "velocity"), lr, momentum, weightDecay, nesterov ? 1 : 0);
    }

    public void AdamStep(Tensor<float> param, Tensor<float> grad, Tensor<float> m, Tensor<float> v, float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        KernelContract.AdamStep(param, grad, m, v, step);
        if (param.Length == 0) return;
        var p = new AdamParams
        {
            Lr = lr, Beta1 = beta1, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay,
            BiasCorrection1 = 1f - MathF.Pow(beta1, step),
            BiasCorrection2 = 1f - MathF.Pow(beta2, step),
        };
        Launch(GpuKernels.AdamStep, param.Length, V(param, "param"), V(grad, "grad"), V(m, "m"), V(v, "v"), p);
    }
}
