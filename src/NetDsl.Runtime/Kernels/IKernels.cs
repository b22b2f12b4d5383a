using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

/// <summary>Geometry of a 2-D convolution (cross-correlation, no kernel flip, as in PyTorch).</summary>
/// <remarks>
/// <see cref="PadH"/>/<see cref="PadW"/> pad the top/left; the bottom/right get <see cref="PadH"/> + <see cref="ExtraPadH"/> and
/// <see cref="PadW"/> + <see cref="ExtraPadW"/> (asymmetric padding; a negative extra crops, which is how a transposed
/// convolution's output_padding is expressed). Kernels index with the top/left padding; the extra only changes the output size.
/// </remarks>
public readonly record struct ConvGeometry(int StrideH, int StrideW, int PadH, int PadW, int DilationH = 1, int DilationW = 1, int Groups = 1)
{
    /// <summary>Bottom padding minus top padding (0: symmetric).</summary>
    public int ExtraPadH { get; init; }
    /// <summary>Right padding minus left padding (0: symmetric).</summary>
    public int ExtraPadW { get; init; }
    public int PadBottom => PadH + ExtraPadH;
    public int PadRight => PadW + ExtraPadW;
    public static ConvGeometry Of(int stride, int pad) => new(stride, stride, pad, pad);
    public int OutH(int h, int kh) => FloorDiv(h + PadH + PadBottom - DilationH * (kh - 1) - 1, StrideH) + 1;
    public int OutW(int w, int kw) => FloorDiv(w + PadW + PadRight - DilationW * (kw - 1) - 1, StrideW) + 1;
    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// <summary>
/// Geometry of a 2-D pooling window (padding is implicit -inf for max, 0 for average). Floor mode by default; with
/// <see cref="Ceil"/>, PyTorch's ceil_mode: sizes round up, but the last window must start inside the input or the left
/// padding. Average pooling divides by the window clipped to the padded input (count_include_pad=True), or with
/// <see cref="ExcludePad"/> by the number of real inputs in the window (count_include_pad=False).
/// </summary>
public readonly record struct PoolGeometry(int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW)
{
    public bool Ceil { get; init; }
    public bool ExcludePad { get; init; }
    public static PoolGeometry Of(int kernel, int stride, int pad = 0) => new(kernel, kernel, stride, stride, pad, pad);
    public int OutH(int h) => Out(h, KernelH, StrideH, PadH, Ceil);
    public int OutW(int w) => Out(w, KernelW, StrideW, PadW, Ceil);
    /// <summary>PyTorch's pooling_output_shape: ⌊ or ⌈(size + 2p − k)/s⌉ + 1, minus one if the last window starts in the right padding.</summary>
    public static int Out(int size, int kernel, int stride, int pad, bool ceil)
    {
        int span = size + 2 * pad - kernel;
        if (span < 0) return 0;
        int o = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil && (o - 1) * stride >= size + pad) o--;
        return o;
    }
}

/// <summary>
/// A fused element-wise function of one input, for the CPU path: scalar, 256-bit and 512-bit forms must agree
/// (drivers use 512-bit vectors where AVX-512 is accelerated, 256-bit otherwise, scalars for the tail).
/// </summary>
public interface IMap1<T> where T : unmanaged
{
    T Apply(T a);
    Vector256<T> Apply(Vector256<T> a);
    Vector512<T> Apply(Vector512<T> a);
}

/// <summary>A fused element-wise function of two inputs (CPU path).</summary>
public interface IMap2<T> where T : unmanaged
{
    T Apply(T a, T b);
    Vector256<T> Apply(Vector256<T> a, Vector256<T> b);
    Vector512<T> Apply(Vector512<T> a, Vector512<T> b);
}

/// <summary>A fused element-wise function of three inputs (CPU path).</summary>
public interface IMap3<T> where T : unmanaged
{
    T Apply(T a, T b, T c);
    Vector256<T> Apply(Vector256<T> a, Vector256<T> b, Vector256<T> c);
    Vector512<T> Apply(Vector512<T> a, Vector512<T> b, Vector512<T> c);
}

/// <summary>The same fused function for ILGPU kernels (float, plain scalar code ILGPU can compile).</summary>
public interface IGpuMap1 { float Apply(float a); }
public interface IGpuMap2 { float Apply(float a, float b); }
public interface IGpuMap3 { float Apply(float a, float b, float c); }

/// <summary>The identity epilogue: a library kernel with nothing fused after it.</summary>
public readonly struct Identity<T> : IMap1<T>, IGpuMap1 where T : unmanaged
{
    public T Apply(T a) => a;
    public Vector256<T> Apply(Vector256<T> a) => a;
    public Vector512<T> Apply(Vector512<T> a) => a;
    public float Apply(float a) => a;
}

/// <summary>
/// The kernels generated code calls: the ones generation should not write (GEMM, convolution, pooling,
/// losses, optimizer steps) plus drivers for generated element-wise functors. Every output is
/// overwritten (never accumulated) unless the method name says Accumulate. Shapes are checked by the
/// compiler; implementations check them again and throw an <see cref="ArgumentException"/> naming
/// expected and actual shapes. Each fused op passes its CPU functor and its ILGPU functor: a device
/// uses the one for its path.
/// </summary>
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    // ---- convolution: x [N,C,H,W], w [K,C/groups,kh,kw], b [K] or null, y [N,K,OH,OW]
    /// <summary>y = epilogue(conv(x, w) + b).</summary>
    void Conv2dForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1;
    /// <summary>
    /// y = epilogue(conv(x, w) + b) for a weight that changes only when <paramref name="key"/> moves (inference): a backend may
    /// keep w packed in <paramref name="packed"/> and reuse it (the CPU direct kernels do); by default (ILGPU) the slot is ignored.
    /// </summary>
    void Conv2dForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, TEpi epilogue, TGpuEpi gpuEpilogue, PackedWeights<T> packed, long key)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1 => Conv2dForward(x, w, b, y, g, epilogue, gpuEpilogue);
    /// <summary>dx = gradient of conv with respect to its input (the transposed convolution of dy by w).</summary>
    void Conv2dBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g);
    /// <summary>dw = gradient with respect to the weights; db (if not null) = dy summed over N, OH, OW.</summary>
    void Conv2dBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db, ConvGeometry g);

    // ---- linear: x [M,K], w [O,K] (PyTorch layout), b [O] or null, y [M,O]
    /// <summary>y = epilogue(x·wᵀ + b).</summary>
    void LinearForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1;
    /// <summary>
    /// y = epilogue(x·wᵀ + b) for a weight that changes only when <paramref name="key"/> moves (inference): a backend may keep
    /// w in its packed layout in <paramref name="packed"/> and reuse it (the CPU GEMM path does); by default (ILGPU) the slot is ignored.
    /// </summary>
    void LinearForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, TEpi epilogue, TGpuEpi gpuEpilogue, PackedWeights<T> packed, long key)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1 => LinearForward(x, w, b, y, epilogue, gpuEpilogue);
    /// <summary>dx = dy·w.</summary>
    void LinearBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx);
    /// <summary>dw = dyᵀ·x; db (if not null) = column sums of dy.</summary>
    void LinearBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db);

    // ---- pooling: x [N,C,H,W], y [N,C,OH,OW]
    /// <summary>Max pooling; argmax [N,C,OH,OW] receives the flat index h*W+w of the chosen input in its (n,c) plane.</summary>
    void MaxPool2dForward(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, PoolGeometry g);
    /// <summary>Max pooling at inference: MaxPool2dForward's y (NaN-propagating), no argmax.</summary>
    void MaxPool2dInference(Tensor<T> x, Tensor<T> y, PoolGeometry g);
    /// <summary>dx = zeros, then dy scattered (added) to the argmax positions.</summary>
    void MaxPool2dBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx);
    /// <summary>Average pooling, padding counted in the divisor (PyTorch's count_include_pad=True).</summary>
    void AvgPool2dForward(Tensor<T> x, Tensor<T> y, PoolGeometry g);
    void AvgPool2dBackward(Tensor<T> dy, Tensor<T> dx, PoolGeometry g);
    /// <summary>y [N,C] = mean of x [N,C,H,W] over H and W.</summary>
    void GlobalAvgPoolForward(Tensor<T> x, Tensor<T> y);
    void GlobalAvgPoolBackward(Tensor<T> dy, Tensor<T> dx);

    // ---- dropout (inverted; p is the drop probability)
    /// <summary>
    /// mask = 0 with probability p else 1/(1−p), a deterministic function of (seed, element index); y = x·mask.
    /// Callers fold the training step into the seed (generated code uses NetworkBase.DropoutSeed(site)).
    /// </summary>
    void DropoutForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed);

    // ---- concat along dim 1 (channels) and its gradient
    void Concat(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> y);
    void ConcatBackward(Tensor<T> dy, ReadOnlySpan<Tensor<T>> dxs);

    // ---- element-wise drivers for generated functors (all tensors have the same length)
    void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap1<T> where TGpuOp : struct, IGpuMap1;
    void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap2<T> where TGpuOp : struct, IGpuMap2;
    void Map<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> c, Tensor<T> y, TOp op, TGpuOp gpuOp) where TOp : struct, IMap3<T> where TGpuOp : struct, IGpuMap3;
    void Fill(Tensor<T> y, T value);
    void Copy(Tensor<T> src, Tensor<T> dst);
    /// <summary>dst += src (gradient accumulation where a value fans out).</summary>
    void Accumulate(Tensor<T> src, Tensor<T> dst);

    // ---- optimizers (PyTorch's forms; see docs/language.md)
    /// <summary>g' = g + wd·θ; v = μ·v + g'; θ -= lr·v (or lr·(g' + μ·v) with Nesterov).</summary>
    void SgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity, T lr, T momentum, T weightDecay, bool nesterov);
    /// <summary>Adam with bias correction 1−βᵗ and ε outside the square root; step t starts at 1.</summary>
    void AdamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m, Tensor<T> v, T lr, T beta1, T beta2, T eps, T weightDecay, int step);
}
