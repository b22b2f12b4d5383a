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

    private static ConvParams CheckConv(Tensor<float> x, Tensor<float> w, Tensor<float>? b, Tensor<float> y, ConvGeometry g, string xName, string yName)
    {
        Check(x.Rank == 4, xName, "[N, C, H, W]", x.Shape);
        Check(w.Rank == 4, "w", "[K, C/groups, kh, kw]", w.Shape);
        if (g.Groups < 1 || g.StrideH < 1 || g.StrideW < 1 || g.DilationH < 1 || g.DilationW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ArgumentException($"invalid convolution geometry {g}", nameof(g));
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int k = w.Shape[0], kh = w.Shape[2], kw = w.Shape[3];
        if (c % g.Groups != 0 || k % g.Groups != 0)
            throw new ArgumentException($"channels {c} and filters {k} must be divisible by groups {g.Groups}", nameof(g));
        w.CheckShape("w", [k, c / g.Groups, kh, kw]);
        b?.CheckShape("b", [k]);
        int oh = g.OutH(h, kh), ow = g.OutW(wd, kw);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"convolution of {Tensor<float>.Format(x.Shape)} by {Tensor<float>.Format(w.Shape)} with {g} has an empty output", xName);
        y.CheckShape(yName, [n, k, oh, ow]);
        return new ConvParams
        {
            N = n, C = c, H = h, W = wd, K = k, Cg = c / g.Groups, Kg = k / g.Groups, KH = kh, KW = kw, OH = oh, OW = ow,
            SH = g.StrideH, SW = g.StrideW, PH = g.PadH, PW = g.PadW, DH = g.DilationH, DW = g.DilationW,
        };
    }

    private static PoolParams CheckPool(Tensor<float> x, Tensor<float> y, PoolGeometry g, string xName, string yName)
    {
        Check(x.Rank == 4, xName, "[N, C, H, W]", x.Shape);
        if (g.KernelH < 1 || g.KernelW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ArgumentException($"invalid pooling geometry {g}", nameof(g));
        int h = x.Shape[2], w = x.Shape[3], oh = g.OutH(h), ow = g.OutW(w);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"pooling {Tensor<float>.Format(x.Shape)} with {g} has an empty output", xName);
        y.CheckShape(yName, [x.Shape[0], x.Shape[1], oh, ow]);
        return new PoolParams { H = h, W = w, OH = oh, OW = ow, KH = g.KernelH, KW = g.KernelW, SH = g.StrideH, SW = g.StrideW, PH = g.PadH, PW = g.PadW, ExcludePad = g.ExcludePad ? 1 : 0 };
    }

    private static void CheckSameLength(Tensor<float> a, Tensor<float> y, string aName, string yName = "y")
    {
        if (a.Length != y.Length)
            throw new ArgumentException($"{aName}: expected {y.Length} elements like {yName} {Tensor<float>.Format(y.Shape)}, got shape {Tensor<float>.Format(a.Shape)}", aName);
    }

    // ------------------------------------------------------------------ convolution
    public void Conv2dForward<TEpi, TGpuEpi>(Tensor<float> x, Tensor<float> w, Tensor<float>? b, Tensor<float> y, ConvGeometry g, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<float> where TGpuEpi : struct, IGpuMap1
    {
        var p = CheckConv(x, w, b, y, g, "x", "y");
        if (y.Length == 0) return;
        var wv = V(w, "w");
        ConvForwardTiled(V(x, "x"), wv, b is null ? wv : V(b, "b"), b is not null, V(y, "y"), p, gpuEpilogue);
    }

    public void Conv2dBackwardData(Tensor<float> dy, Tensor<float> w, Tensor<float> dx, ConvGeometry g)
    {
        var p = CheckConv(dx, w, null, dy, g, "dx", "dy");
        if (dx.Length == 0) return;
        ConvBackwardDataTiled(V(dy, "dy"), V(w, "w"), V(dx, "dx"), p);
    }

    public void Conv2dBackwardFilter(Tensor<float> dy, Tensor<float> x, Tensor<float> dw, Tensor<float>? db, ConvGeometry g)
    {
        var p = CheckConv(x, dw, db, dy, g, "x", "dy");
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
    private static (int M, int K, int O) CheckLinear(Tensor<float> x, Tensor<float> w, string xName)
    {
        int m = CpuKernels<float>.LinearRows(x.Shape, xName, "[M, K]");
        Check(w.Rank == 2 && w.Shape[1] == x.Shape[^1], "w", $"[O, {x.Shape[^1]}]", w.Shape);
        return (m, x.Shape[^1], w.Shape[0]);
    }

    public void LinearForward<TEpi, TGpuEpi>(Tensor<float> x, Tensor<float> w, Tensor<float>? b, Tensor<float> y, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<float> where TGpuEpi : struct, IGpuMap1
    {
        var (m, k, o) = CheckLinear(x, w, "x");
        b?.CheckShape("b", [o]);
        CpuKernels<float>.CheckLeading(x.Shape, y.Shape, o, "x", "y");
        if (y.Length == 0) return;
        var xv = V(x, "x");
        LinearForwardTiled(xv, V(w, "w"), b is null ? xv : V(b, "b"), b is not null, V(y, "y"), m, k, o, gpuEpilogue);
    }

    public void LinearBackwardData(Tensor<float> dy, Tensor<float> w, Tensor<float> dx)
    {
        var (m, k, o) = CheckLinear(dx, w, "dx");
        CpuKernels<float>.CheckLeading(dx.Shape, dy.Shape, o, "dx", "dy");
        if (dx.Length == 0) return;
        LinearBackwardDataTiled(V(dy, "dy"), V(w, "w"), V(dx, "dx"), m, k, o);
    }

    public void LinearBackwardFilter(Tensor<float> dy, Tensor<float> x, Tensor<float> dw, Tensor<float>? db)
    {
        var (m, k, o) = CheckLinear(x, dw, "x");
        CpuKernels<float>.CheckLeading(x.Shape, dy.Shape, o, "x", "dy");
        db?.CheckShape("db", [o]);
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
        var p = CheckPool(x, y, g, "x", "y");
        argmax.CheckShape("argmax", y.Shape);
        if (y.Length == 0) return;
        Launch(GpuKernels.MaxPoolForward, y.Length, V(x, "x"), V(y, "y"), V(argmax, "argmax"), p);
    }

    public void MaxPool2dBackward(Tensor<float> dy, Tensor<int> argmax, Tensor<float> dx)
    {
        Check(dy.Rank == 4, "dy", "[N, C, OH, OW]", dy.Shape);
        argmax.CheckShape("argmax", dy.Shape);
        Check(dx.Rank == 4 && dx.Shape[0] == dy.Shape[0] && dx.Shape[1] == dy.Shape[1], "dx", $"[{dy.Shape[0]}, {dy.Shape[1]}, H, W]", dx.Shape);
        if (dx.Length == 0) return;
        var dxv = V(dx, "dx");
        dxv.MemSetToZero();
        if (dy.Length == 0) return;
        Launch(GpuKernels.MaxPoolBackward, dy.Length, V(dy, "dy"), V(argmax, "argmax"), dxv, dy.Shape[2] * dy.Shape[3], dx.Shape[2] * dx.Shape[3]);
    }

    public void AvgPool2dForward(Tensor<float> x, Tensor<float> y, PoolGeometry g)
    {
        var p = CheckPool(x, y, g, "x", "y");
        if (y.Length == 0) return;
        Launch(GpuKernels.AvgPoolForward, y.Length, V(x, "x"), V(y, "y"), p);
    }

    public void AvgPool2dBackward(Tensor<float> dy, Tensor<float> dx, PoolGeometry g)
    {
        var p = CheckPool(dx, dy, g, "dx", "dy");
        if (dx.Length == 0) return;
        Launch(GpuKernels.AvgPoolBackward, dx.Length, V(dy, "dy"), V(dx, "dx"), p);
    }

    public void GlobalAvgPoolForward(Tensor<float> x, Tensor<float> y)
    {
        Check(x.Rank == 4, "x", "[N, C, H, W]", x.Shape);
        y.CheckShape("y", [x.Shape[0], x.Shape[1]]);
        if (y.Length == 0) return;
        Launch(GpuKernels.GlobalAvgPoolForward, y.Length, V(x, "x"), V(y, "y"), x.Shape[2] * x.Shape[3]);
    }

    public void GlobalAvgPoolBackward(Tensor<float> dy, Tensor<float> dx)
    {
        Check(dx.Rank == 4, "dx", "[N, C, H, W]", dx.Shape);
        dy.CheckShape("dy", [dx.Shape[0], dx.Shape[1]]);
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
        mask.CheckShape("mask", x.Shape);
        y.CheckShape("y", x.Shape);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"dropout probability must be in [0, 1], got {p}");
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
    private static (int N, int Inner) CheckConcat(ReadOnlySpan<Tensor<float>> parts, Tensor<float> y, string partsName, string yName)
    {
        if (y.Rank < 2) throw new ArgumentException($"{yName}: expected rank 2 or more, got shape {Tensor<float>.Format(y.Shape)}", yName);
        int channels = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var t = parts[i];
            bool ok = t.Rank == y.Rank && t.Shape[0] == y.Shape[0];
            for (int d = 2; ok && d < y.Rank; d++) ok = t.Shape[d] == y.Shape[d];
            if (!ok)
            {
                var expected = (int[])y.Shape.Clone();
                expected[1] = t.Rank > 1 ? t.Shape[1] : -1;
                throw new ArgumentException($"{partsName}[{i}]: expected shape {Tensor<float>.Format(expected).Replace("-1", "C")}, got {Tensor<float>.Format(t.Shape)}", partsName);
            }
            channels += t.Shape[1];
        }
        if (channels != y.Shape[1])
            throw new ArgumentException($"{yName}: expected {channels} channels (the sum of the parts), got shape {Tensor<float>.Format(y.Shape)}", yName);
        int n = y.Shape[0];
        return (n, n == 0 || y.Shape[1] == 0 ? 0 : y.Length / (n * y.Shape[1]));
    }

    public void Concat(ReadOnlySpan<Tensor<float>> inputs, Tensor<float> y)
    {
        var (_, inner) = CheckConcat(inputs, y, "inputs", "y");
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
        var (_, inner) = CheckConcat(dxs, dy, "dxs", "dy");
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
        CheckSameLength(a, y, "a");
        if (y.Length == 0) return;
        Launch(GpuKernels.Map1<TGpuOp>, y.Length, V(a, "a"), V(y, "y"), gpuOp);
    }

    public void Map<TOp, TGpuOp>(Tensor<float> a, Tensor<float> b, Tensor<float> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap2<float> where TGpuOp : struct, IGpuMap2
    {
        CheckSameLength(a, y, "a");
        CheckSameLength(b, y, "b");
        if (y.Length == 0) return;
        Launch(GpuKernels.Map2<TGpuOp>, y.Length, V(a, "a"), V(b, "b"), V(y, "y"), gpuOp);
    }

    public void Map<TOp, TGpuOp>(Tensor<float> a, Tensor<float> b, Tensor<float> c, Tensor<float> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap3<float> where TGpuOp : struct, IGpuMap3
    {
        CheckSameLength(a, y, "a");
        CheckSameLength(b, y, "b");
        CheckSameLength(c, y, "c");
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
        CheckSameLength(src, dst, "src", "dst");
        if (dst.Length == 0) return;
        V(src, "src").CopyTo(V(dst, "dst"));
    }

    public void Accumulate(Tensor<float> src, Tensor<float> dst)
    {
        CheckSameLength(src, dst, "src", "dst");
        if (dst.Length == 0) return;
        Launch(GpuKernels.Accumulate, dst.Length, V(src, "src"), V(dst, "dst"));
    }

    // ------------------------------------------------------------------ optimizers
    public void SgdStep(Tensor<float> param, Tensor<float> grad, Tensor<float> velocity, float lr, float momentum, float weightDecay, bool nesterov)
    {
        grad.CheckShape("grad", param.Shape);
        velocity.CheckShape("velocity", param.Shape);
        if (param.Length == 0) return;
        Launch(GpuKernels.SgdStep, param.Length, V(param, "param"), V(grad, "grad"), V(velocity, "velocity"), lr, momentum, weightDecay, nesterov ? 1 : 0);
    }

    public void AdamStep(Tensor<float> param, Tensor<float> grad, Tensor<float> m, Tensor<float> v, float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"Adam step counts from 1, got {step}");
        grad.CheckShape("grad", param.Shape);
        m.CheckShape("m", param.Shape);
        v.CheckShape("v", param.Shape);
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
