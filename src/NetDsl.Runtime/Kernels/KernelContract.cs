namespace NetDsl.Runtime;

/// <summary>The dims of a 2-D convolution x [N, C, H, W] by w [K, C/groups, KH, KW] into y [N, K, OH, OW].</summary>
internal readonly record struct ConvDims(int N, int C, int H, int W, int K, int KH, int KW, int OH, int OW)
{
    public int CRS => C * KH * KW;
    /// <summary>Per-group dims (C and K divided by the group count).</summary>
    public ConvDims Group(int groups) => this with { C = C / groups, K = K / groups };
    public int P => OH * OW;
    public bool Is1x1Direct(ConvGeometry g) => KH == 1 && KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.ExtraPadH == 0 && g.ExtraPadW == 0;
}

/// <summary>The dims of a 2-D pooling x [N, C, H, W] into y [N, C, OH, OW].</summary>
internal readonly record struct PoolDims(int N, int C, int H, int W, int OH, int OW);

/// <summary>
/// The kernel contract: the shape and argument checks of each <see cref="IKernels{T}"/> method, written once and called by
/// every implementation (<see cref="CpuKernels{T}"/> and <see cref="Ilgpu.IlgpuKernels"/>) before it touches data, so both
/// reject the same calls with the same message. A check names the argument and states the expected and the actual shape
/// (<c>y: expected shape [2, 6, 5, 5], got [2, 6, 4, 4]</c>); it returns the dims the kernel needs. Checks run once per
/// call, never per element. The families' checks live next to this file (KernelContract.*.cs); the tensor operators' are
/// <see cref="TensorLayout"/>, attention's <see cref="AttentionLayout"/> and the recurrent kernels' <see cref="RnnChecks"/>.
/// </summary>
internal static partial class KernelContract
{
    internal static string F(ReadOnlySpan<int> shape) => Tensor<int>.Format(shape);

    /// <summary>Throws "<paramref name="name"/>: expected shape <paramref name="expected"/>, got <paramref name="actual"/>" unless <paramref name="ok"/>.</summary>
    internal static void Require(bool ok, string name, string expected, int[] actual)
    {
        if (!ok) throw Mismatch(name, expected, actual);
    }

    /// <summary>The error of a bad shape; build <paramref name="expected"/> only on failure (no string per call).</summary>
    internal static ArgumentException Mismatch(string name, string expected, int[] actual) =>
        new($"{name}: expected shape {expected}, got {F(actual)}", name);

    internal static void Rank<T>(Tensor<T> t, int rank, string name, string dims) where T : unmanaged => Require(t.Rank == rank, name, dims, t.Shape);

    // ------------------------------------------------------------------ convolution
    private static void CheckGeometry(ConvGeometry g)
    {
        if (g.Groups < 1 || g.DilationH < 1 || g.DilationW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ArgumentException($"invalid convolution geometry {g}", "g");
    }

    /// <summary>x [N, C, H, W], w [K, C/groups, kh, kw], b [K] or null, y [N, K, OH, OW] (x, y named as the caller's arguments).</summary>
    public static ConvDims Conv2d<T>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, string xName, string yName, string wName = "w", string bName = "b")
        where T : unmanaged
    {
        CheckGeometry(g);
        Rank(x, 4, xName, "[N, C, H, W]");
        Rank(w, 4, wName, "[K, C/groups, kh, kw]");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int k = w.Shape[0], kh = w.Shape[2], kw = w.Shape[3];
        if (c % g.Groups != 0 || k % g.Groups != 0)
            throw new ArgumentException($"channels {c} and filters {k} must be divisible by groups {g.Groups}", "g");
        if (w.Shape[1] != c / g.Groups) throw Mismatch(wName, $"[{k}, {c / g.Groups}, {kh}, {kw}] (input has {c} channels, {g.Groups} groups)", w.Shape);
        b?.CheckShape(bName, [k]);
        int oh = g.OutH(h, kh), ow = g.OutW(wd, kw);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"convolution of {F(x.Shape)} by {F(w.Shape)} with {g} has an empty output", xName);
        y.CheckShape(yName, [n, k, oh, ow]);
        return new ConvDims(n, c, h, wd, k, kh, kw, oh, ow);
    }

    /// <summary>
    /// x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw], b [Cout] or null, y [N, Cout, OH, OW] with
    /// OH = (H−1)·s − pt − pb + d·(kh−1) + 1. Returns the dims of the convolution it is the adjoint of (input y, output x).
    /// </summary>
    public static ConvDims ConvTranspose2d<T>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, string xName, string yName, string bName = "b")
        where T : unmanaged
    {
        CheckGeometry(g);
        Rank(x, 4, xName, "[N, C, H, W]");
        Rank(w, 4, "w", "[Cin, Cout/groups, kh, kw]");
        int n = x.Shape[0], cin = x.Shape[1], h = x.Shape[2], wd = x.Shape[3], kh = w.Shape[2], kw = w.Shape[3];
        if (w.Shape[0] != cin) throw Mismatch("w", $"[{cin}, Cout/{g.Groups}, {kh}, {kw}] (input has {cin} channels)", w.Shape);
        if (cin % g.Groups != 0) throw new ArgumentException($"input channels {cin} must be divisible by groups {g.Groups}", "g");
        int oh = (h - 1) * g.StrideH - g.PadH - g.PadBottom + g.DilationH * (kh - 1) + 1;
        int ow = (wd - 1) * g.StrideW - g.PadW - g.PadRight + g.DilationW * (kw - 1) + 1;
        y.CheckShape(yName, [n, w.Shape[1] * g.Groups, oh, ow]);
        b?.CheckShape(bName, [y.Shape[1]]);
        return Conv2d(y, w, null, x, g, yName, xName);
    }

    // ------------------------------------------------------------------ linear: x [M, K] or [N, T, K], w [O, K], y like x with K → O
    /// <summary>Rows of a linear operand [..., K] (a sequence [N, T, K] is N·T rows); 2-D or 3-D.</summary>
    public static int LinearRows(int[] shape, string name, string dims)
    {
        if (shape.Length < 2 || shape.Length > 3) throw new ArgumentException($"{name}: expected shape {dims} (or [N, T, ...]), got {F(shape)}", name);
        return shape.Length == 2 ? shape[0] : shape[0] * shape[1];
    }

    /// <summary>y must be x with its last dim replaced by <paramref name="last"/>.</summary>
    public static void Leading(int[] x, int[] y, int last, string xName, string yName)
    {
        bool ok = y.Length == x.Length && y[^1] == last && x.AsSpan(0, x.Length - 1).SequenceEqual(y.AsSpan(0, y.Length - 1));
        if (!ok)
        {
            var e = (int[])x.Clone(); e[^1] = last;
            throw new ArgumentException($"{yName}: expected shape {F(e)} for {xName} {F(x)}, got {F(y)}", yName);
        }
    }

    /// <summary>x [.., K], w [O, K], b [O] or null, y [.., O]. Returns (M rows, K, O).</summary>
    public static (int M, int K, int O) LinearForward<T>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y) where T : unmanaged
    {
        int m = LinearRows(x.Shape, "x", "[M, K]");
        Rank(w, 2, "w", "[O, K]");
        int k = x.Shape[^1], o = w.Shape[0];
        w.CheckShape("w", [o, k]);
        b?.CheckShape("b", [o]);
        Leading(x.Shape, y.Shape, o, "x", "y");
        return (m, k, o);
    }

    public static (int M, int K, int O) LinearBackwardData<T>(Tensor<T> dy, Tensor<T> w, Tensor<T> dx) where T : unmanaged
    {
        int m = LinearRows(dy.Shape, "dy", "[M, O]");
        Rank(w, 2, "w", "[O, K]");
        int o = dy.Shape[^1], k = w.Shape[1];
        w.CheckShape("w", [o, k]);
        Leading(dy.Shape, dx.Shape, k, "dy", "dx");
        return (m, k, o);
    }

    /// <summary>Also <see cref="IKernels{T}.LinearBackwardFilterAccumulate"/>'s contract.</summary>
    public static (int M, int K, int O) LinearBackwardFilter<T>(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db) where T : unmanaged
    {
        int m = LinearRows(dy.Shape, "dy", "[M, O]");
        int o = dy.Shape[^1], k = x.Shape[^1];
        Leading(dy.Shape, x.Shape, k, "dy", "x");
        dw.CheckShape("dw", [o, k]);
        db?.CheckShape("db", [o]);
        return (m, k, o);
    }

    // ------------------------------------------------------------------ pooling
    /// <summary>x [N, C, H, W], y [N, C, OH, OW] for the window <paramref name="g"/>.</summary>
    public static PoolDims Pool2d<T>(Tensor<T> x, Tensor<T> y, PoolGeometry g, string xName, string yName) where T : unmanaged
    {
        if (g.KernelH < 1 || g.KernelW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ArgumentException($"invalid pooling geometry {g}", "g");
        Rank(x, 4, xName, "[N, C, H, W]");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int oh = g.OutH(h), ow = g.OutW(w);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"pooling {F(x.Shape)} with {g} has an empty output", xName);
        y.CheckShape(yName, [n, c, oh, ow]);
        return new PoolDims(n, c, h, w, oh, ow);
    }

    public static PoolDims MaxPool2dForward<T>(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, PoolGeometry g) where T : unmanaged
    {
        var d = Pool2d(x, y, g, "x", "y");
        argmax.CheckShape("argmax", y.Shape);
        return d;
    }

    /// <summary>dy, argmax [N, C, OH, OW]; dx [N, C, H, W].</summary>
    public static void MaxPool2dBackward<T>(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx) where T : unmanaged
    {
        Rank(dy, 4, "dy", "[N, C, OH, OW]");
        argmax.CheckShape("argmax", dy.Shape);
        if (dx.Rank != 4 || dx.Shape[0] != dy.Shape[0] || dx.Shape[1] != dy.Shape[1]) throw Mismatch("dx", $"[{dy.Shape[0]}, {dy.Shape[1]}, H, W]", dx.Shape);
    }

    /// <summary>x [N, C, H, W] (the plane side), pooled [N, C] (named as the caller's arguments).</summary>
    public static void GlobalAvgPool<T>(Tensor<T> planes, Tensor<T> pooled, string planesName, string pooledName) where T : unmanaged
    {
        Rank(planes, 4, planesName, "[N, C, H, W]");
        pooled.CheckShape(pooledName, [planes.Shape[0], planes.Shape[1]]);
    }

    // ------------------------------------------------------------------ element-wise, concat, dropout, optimizers
    /// <summary><paramref name="a"/> has as many elements as <paramref name="y"/> (element-wise drivers read flat storage).</summary>
    public static void SameLength<T>(Tensor<T> a, Tensor<T> y, string aName, string yName) where T : unmanaged
    {
        if (a.Length != y.Length)
            throw new ArgumentException($"{aName}: expected {y.Length} elements like {yName} {F(y.Shape)}, got shape {F(a.Shape)}", aName);
    }

    /// <summary>
    /// Concatenation along dim 1: every part has y's rank and dims except dim 1, and the parts' dim 1 sum to y's.
    /// Returns (N, the elements per channel).
    /// </summary>
    public static (int N, int Inner) Concat<T>(ReadOnlySpan<Tensor<T>> parts, Tensor<T> y, string partsName, string yName) where T : unmanaged
    {
        if (y.Rank < 2) throw new ArgumentException($"{yName}: expected rank ≥ 2 [N, C, ...], got {F(y.Shape)}", yName);
        int channels = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var p = parts[i];
            if (p.Rank != y.Rank || !p.Shape.AsSpan(2).SequenceEqual(y.Shape.AsSpan(2)) || p.Shape[0] != y.Shape[0])
            {
                var expected = (int[])y.Shape.Clone();
                if (p.Rank >= 2) expected[1] = p.Shape[1];
                throw Mismatch($"{partsName}[{i}]", $"{F(expected)} (like {yName} except dim 1)", p.Shape);
            }
            channels += p.Shape[1];
        }
        if (channels != y.Shape[1])
        {
            var expected = (int[])y.Shape.Clone(); expected[1] = channels;
            y.CheckShape(yName, expected);
        }
        int n = y.Shape[0];
        return (n, n == 0 || y.Shape[1] == 0 ? 0 : y.Length / (n * y.Shape[1]));
    }

    /// <summary>mask and y shaped like x; 0 ≤ p ≤ 1.</summary>
    public static void Dropout<T>(Tensor<T> x, Tensor<T> mask, Tensor<T> y, double p) where T : unmanaged
    {
        mask.CheckShape("mask", x.Shape);
        y.CheckShape("y", x.Shape);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"dropout probability must be in [0, 1], got {p}");
    }

    public static void SgdStep<T>(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity) where T : unmanaged
    {
        grad.CheckShape("grad", param.Shape);
        velocity.CheckShape("velocity", param.Shape);
    }

    public static void AdamStep<T>(Tensor<T> param, Tensor<T> grad, Tensor<T> m, Tensor<T> v, int step) where T : unmanaged
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"Adam step counts from 1, got {step}");
        grad.CheckShape("grad", param.Shape);
        m.CheckShape("m", param.Shape);
        v.CheckShape("v", param.Shape);
    }
}
