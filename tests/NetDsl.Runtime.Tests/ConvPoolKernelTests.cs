using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The conv/pool family's CPU kernels against naive loops written from the definitions (fp64 and fp32, odd sizes, sizes
/// that take the parallel paths); backward kernels by the adjoint identity ⟨F(x), r⟩ = ⟨x, Fᵀ(r)⟩ (every op here but max
/// pooling is linear in the differentiated argument), which checks them exactly, not to a finite-difference step.
/// </summary>
public class ConvPoolKernelTests
{
    private static readonly IKernels<double> K64 = CpuKernels<double>.Instance;
    private static readonly IKernels<float> K32 = CpuKernels<float>.Instance;

    // ------------------------------------------------------------------ naive references
    /// <summary>y[n,k,oh,ow] = b[k] + Σ x[n, q·Cg + c, oh·sh − pt + u·dh, ow·sw − pl + v·dw]·w[k,c,u,v], q = k / Kg.</summary>
    private static double[] Conv(double[] x, double[] w, double[]? b, int n, int c, int h, int wd, int k, int kh, int kw, ConvGeometry g, out int oh, out int ow)
    {
        oh = g.OutH(h, kh); ow = g.OutW(wd, kw);
        int cg = c / g.Groups, kg = k / g.Groups;
        var y = new double[n * k * oh * ow];
        for (int i = 0; i < n; i++)
        for (int o = 0; o < k; o++)
        for (int p = 0; p < oh; p++)
        for (int q = 0; q < ow; q++)
        {
            double s = b?[o] ?? 0;
            for (int ci = 0; ci < cg; ci++)
            for (int u = 0; u < kh; u++)
            for (int v = 0; v < kw; v++)
            {
                int ih = p * g.StrideH - g.PadH + u * g.DilationH, iw = q * g.StrideW - g.PadW + v * g.DilationW;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                s += x[((i * c + (o / kg) * cg + ci) * h + ih) * wd + iw] * w[((o * cg + ci) * kh + u) * kw + v];
            }
            y[((i * k + o) * oh + p) * ow + q] = s;
        }
        return y;
    }

    /// <summary>PyTorch's ConvTranspose2d as a scatter: y[n, q·Cog + c, ih·s − p + u·d, …] += x[n, ci, ih, iw]·w[ci, c, u, v].</summary>
    private static double[] ConvTranspose(double[] x, double[] w, double[]? b, int n, int cin, int h, int wd, int cog, int kh, int kw, ConvGeometry g, out int oh, out int ow)
    {
        oh = (h - 1) * g.StrideH - g.PadH - g.PadBottom + g.DilationH * (kh - 1) + 1;
        ow = (wd - 1) * g.StrideW - g.PadW - g.PadRight + g.DilationW * (kw - 1) + 1;
        int cout = cog * g.Groups, kg = cin / g.Groups;
        var y = new double[n * cout * oh * ow];
        for (int i = 0; i < n; i++)
        for (int co = 0; co < cout; co++)
        for (int t = 0; t < oh * ow; t++) y[(i * cout + co) * oh * ow + t] = b?[co] ?? 0;
        for (int i = 0; i < n; i++)
        for (int ci = 0; ci < cin; ci++)
        for (int ih = 0; ih < h; ih++)
        for (int iw = 0; iw < wd; iw++)
        for (int c = 0; c < cog; c++)
        for (int u = 0; u < kh; u++)
        for (int v = 0; v < kw; v++)
        {
            int p = ih * g.StrideH - g.PadH + u * g.DilationH, q = iw * g.StrideW - g.PadW + v * g.DilationW;
            if (p < 0 || p >= oh || q < 0 || q >= ow) continue;
            y[((i * cout + (ci / kg) * cog + c) * oh + p) * ow + q] += x[((i * cin + ci) * h + ih) * wd + iw] * w[((ci * cog + c) * kh + u) * kw + v];
        }
        return y;
    }

    private static Tensor<double> T64(double[] data, params int[] shape) => Tensor<double>.FromArray((double[])data.Clone(), shape);
    private static Tensor<float> T32(double[] data, params int[] shape) => Tensor<float>.FromArray(data.Select(v => (float)v).ToArray(), shape);

    // ------------------------------------------------------------------ convolution with groups, dilation, asymmetric padding
    public static IEnumerable<object[]> ConvCases =>
    [
        // n, c, h, w, k, kh, kw, sh, sw, pt, pl, extraH, extraW, dh, dw, groups
        [2, 4, 9, 9, 6, 3, 3, 2, 2, 1, 1, 0, 0, 2, 2, 2],      // strided + dilated + grouped
        [3, 3, 6, 7, 6, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 3],      // depthwise (multiplier 2)
        [2, 2, 5, 6, 3, 2, 3, 1, 1, 1, 2, -1, -1, 1, 1, 1],    // asymmetric pad (1, 0, 2, 1), non-square kernel
        [2, 3, 7, 5, 4, 3, 2, 2, 1, 1, 0, 0, 0, 1, 2, 1],      // non-square stride and dilation
        [2, 4, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 2, 1, 1, 2],      // 1×1 grouped with extra bottom/right padding (not the direct path)
        [6, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 4],  // big enough for the parallel paths
        [3, 8, 12, 12, 8, 3, 3, 1, 1, 2, 2, 0, 0, 2, 2, 8],    // depthwise, dilated
    ];

    private static ConvGeometry G(int sh, int sw, int pt, int pl, int eh, int ew, int dh, int dw, int groups) =>
        new ConvGeometry(sh, sw, pt, pl, dh, dw, groups) { ExtraPadH = eh, ExtraPadW = ew };

    [Theory, MemberData(nameof(ConvCases))]
    public void Grouped_dilated_asymmetric_conv_matches_the_reference_and_its_adjoints(int n, int c, int h, int w, int k, int kh, int kw,
        int sh, int sw, int pt, int pl, int eh, int ew, int dh, int dwl, int groups)
    {
        var g = G(sh, sw, pt, pl, eh, ew, dh, dwl, groups);
        var rng = new Random(n * 31 + c * 7 + k);
        int cg = c / groups;
        var x = TU.RandArray(rng, n * c * h * w); var wt = TU.RandArray(rng, k * cg * kh * kw); var b = TU.RandArray(rng, k);
        var expected = Conv(x, wt, b, n, c, h, w, k, kh, kw, g, out int oh, out int ow);
        Assert.True(oh > 0 && ow > 0);
        var y = TU.Empty<double>(rng, n, k, oh, ow);
        K64.Conv2dForward(T64(x, n, c, h, w), T64(wt, k, cg, kh, kw), T64(b, k), y, g, default(Identity<double>), default(Identity<double>));
        TU.Close(expected, y, 1e-12, "conv fp64");
        var y32 = TU.Empty<float>(rng, n, k, oh, ow);
        K32.Conv2dForward(T32(x, n, c, h, w), T32(wt, k, cg, kh, kw), T32(b, k), y32, g, default(Identity<float>), default(Identity<float>));
        TU.Close(expected, y32, 2e-5, "conv fp32");

        // adjoints: ⟨conv(x, w), r⟩ = ⟨x, dx(r)⟩ = ⟨w, dw(r, x)⟩ (no bias), db = Σ r
        var r = TU.RandArray(rng, n * k * oh * ow);
        double lhs = TU.Dot(Conv(x, wt, null, n, c, h, w, k, kh, kw, g, out _, out _), r);
        var dx = TU.Empty<double>(rng, n, c, h, w);
        K64.Conv2dBackwardData(T64(r, n, k, oh, ow), T64(wt, k, cg, kh, kw), dx, g);
        Assert.Equal(lhs, TU.Dot(x, TU.D(dx)), 1e-9 * (1 + Math.Abs(lhs)));
        TU.CheckGuards(dx);
        var dw = TU.Empty<double>(rng, k, cg, kh, kw); var db = TU.Empty<double>(rng, k);
        K64.Conv2dBackwardFilter(T64(r, n, k, oh, ow), T64(x, n, c, h, w), dw, db, g);
        Assert.Equal(lhs, TU.Dot(wt, TU.D(dw)), 1e-9 * (1 + Math.Abs(lhs)));
        for (int o = 0; o < k; o++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) for (int t = 0; t < oh * ow; t++) s += r[(i * k + o) * oh * ow + t];
            Assert.Equal(s, TU.D(db)[o], 1e-10);
        }
        // fp32 backward agrees with fp64
        var dx32 = TU.Empty<float>(rng, n, c, h, w);
        K32.Conv2dBackwardData(T32(r, n, k, oh, ow), T32(wt, k, cg, kh, kw), dx32, g);
        TU.Close(TU.D(dx), dx32, 2e-5, "dx fp32");
        var dw32 = TU.Empty<float>(rng, k, cg, kh, kw);
        K32.Conv2dBackwardFilter(T32(r, n, k, oh, ow), T32(x, n, c, h, w), dw32, null, g);
        TU.Close(TU.D(dw), dw32, 2e-5, "dw fp32");
    }

    [Fact]
    public void Conv_rejects_groups_that_do_not_divide_and_wrong_weight_shapes()
    {
        var x = Tensor<double>.Zeros(1, 4, 5, 5); var y = Tensor<double>.Zeros(1, 6, 3, 3);
        var g = new ConvGeometry(1, 1, 0, 0, 1, 1, 3);
        Assert.ThrowsAny<ArgumentException>(() => K64.Conv2dForward(x, Tensor<double>.Zeros(6, 1, 3, 3), null, y, g, default(Identity<double>), default(Identity<double>)));
        TU.ThrowsShapes(() => K64.Conv2dForward(x, Tensor<double>.Zeros(6, 4, 3, 3), null, y, new ConvGeometry(1, 1, 0, 0, 1, 1, 2), default(Identity<double>), default(Identity<double>)),
            "[6, 2, 3, 3]", "[6, 4, 3, 3]");
    }

    // ------------------------------------------------------------------ transposed convolution
    [Theory]
    // n, cin, h, w, cout/groups, kh, kw, sh, sw, ph, pw, output_pad h, w, dh, dw, groups
    [InlineData(2, 4, 3, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)]
    [InlineData(2, 4, 3, 4, 3, 3, 2, 2, 3, 1, 0, 1, 2, 2, 1, 2)]
    [InlineData(1, 3, 5, 4, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1)]
    [InlineData(4, 16, 8, 8, 4, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 4)]
    public void Conv_transpose_matches_pytorchs_scatter_definition_and_its_adjoints(int n, int cin, int h, int w, int cog, int kh, int kw,
        int sh, int sw, int ph, int pw, int oph, int opw, int dh, int dw, int groups)
    {
        var g = new ConvGeometry(sh, sw, ph, pw, dh, dw, groups) { ExtraPadH = -oph, ExtraPadW = -opw };
        var rng = new Random(cin * 13 + h);
        int cout = cog * groups;
        var x = TU.RandArray(rng, n * cin * h * w); var wt = TU.RandArray(rng, cin * cog * kh * kw); var b = TU.RandArray(rng, cout);
        var expected = ConvTranspose(x, wt, b, n, cin, h, w, cog, kh, kw, g, out int oh, out int ow);
        Assert.Equal((h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1, oh);
        var y = TU.Empty<double>(rng, n, cout, oh, ow);
        K64.ConvTranspose2dForward(T64(x, n, cin, h, w), T64(wt, cin, cog, kh, kw), T64(b, cout), y, g);
        TU.Close(expected, y, 1e-12, "conv_transpose fp64");
        var y32 = TU.Empty<float>(rng, n, cout, oh, ow);
        K32.ConvTranspose2dForward(T32(x, n, cin, h, w), T32(wt, cin, cog, kh, kw), T32(b, cout), y32, g);
        TU.Close(expected, y32, 2e-5, "conv_transpose fp32");

        var r = TU.RandArray(rng, n * cout * oh * ow);
        double lhs = TU.Dot(ConvTranspose(x, wt, null, n, cin, h, w, cog, kh, kw, g, out _, out _), r);
        var dx = TU.Empty<double>(rng, n, cin, h, w);
        K64.ConvTranspose2dBackwardData(T64(r, n, cout, oh, ow), T64(wt, cin, cog, kh, kw), dx, g);
        Assert.Equal(lhs, TU.Dot(x, TU.D(dx)), 1e-9 * (1 + Math.Abs(lhs)));
        var dwt = TU.Empty<double>(rng, cin, cog, kh, kw); var db = TU.Empty<double>(rng, cout);
        K64.ConvTranspose2dBackwardFilter(T64(r, n, cout, oh, ow), T64(x, n, cin, h, w), dwt, db, g);
        Assert.Equal(lhs, TU.Dot(wt, TU.D(dwt)), 1e-9 * (1 + Math.Abs(lhs)));
        Assert.Equal(r.Sum(), TU.D(db).Sum(), 1e-9);
        TU.CheckGuards(db);
    }

    [Fact]
    public void Conv_transpose_names_the_expected_output_shape()
    {
        var g = new ConvGeometry(2, 2, 1, 1) { ExtraPadH = -1, ExtraPadW = -1 };
        TU.ThrowsShapes(() => K64.ConvTranspose2dForward(Tensor<double>.Zeros(1, 4, 3, 3), Tensor<double>.Zeros(4, 3, 3, 3), null, Tensor<double>.Zeros(1, 3, 5, 5), g),
            "[1, 3, 6, 6]", "[1, 3, 5, 5]");
    }

    // ------------------------------------------------------------------ pooling: ceil mode, rectangular windows, count_pad
    [Theory]
    // h, w, kh, kw, sh, sw, ph, pw, ceil, excludePad
    [InlineData(8, 8, 3, 3, 2, 2, 0, 0, true, false)]
    [InlineData(7, 7, 2, 2, 2, 2, 1, 1, true, false)]   // the last ceil window would start in the right padding: dropped
    [InlineData(8, 7, 3, 2, 2, 2, 1, 1, true, true)]
    [InlineData(7, 6, 3, 2, 2, 1, 1, 1, false, true)]
    [InlineData(9, 11, 2, 2, 2, 2, 0, 0, true, false)]  // 2×2/2 with odd sizes: not the fast path
    public void Ceil_mode_and_count_pad_pools_match_the_reference(int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, bool ceil, bool exclude)
    {
        var g = new PoolGeometry(kh, kw, sh, sw, ph, pw) { Ceil = ceil, ExcludePad = exclude };
        var rng = new Random(h * 100 + w);
        int n = 2, c = 3;
        var x = TU.RandArray(rng, n * c * h * w);
        int oh = g.OutH(h), ow = g.OutW(w);
        // PyTorch's rule, written out: ⌈(h + 2p − k)/s⌉ + 1, minus one if that window starts at or past h + p
        int Expect(int size, int k, int s, int p) { int o = (size + 2 * p - k + (ceil ? s - 1 : 0)) / s + 1; if (ceil && (o - 1) * s >= size + p) o--; return o; }
        Assert.Equal((Expect(h, kh, sh, ph), Expect(w, kw, sw, pw)), (oh, ow));

        var (ey, earg) = Ref.MaxPool(x, n, c, h, w, g);
        var y = TU.Empty<double>(rng, n, c, oh, ow); var arg = Tensor<int>.Zeros(n, c, oh, ow);
        K64.MaxPool2dForward(T64(x, n, c, h, w), y, arg, g);
        TU.Close(ey, y, 0, "maxpool");
        Assert.Equal(earg, arg.AsSpan().ToArray());
        var y32 = TU.Empty<float>(rng, n, c, oh, ow);
        K32.MaxPool2dForward(T32(x, n, c, h, w), y32, arg, g);
        Assert.Equal(earg, arg.AsSpan().ToArray());

        var ya = TU.Empty<double>(rng, n, c, oh, ow);
        K64.AvgPool2dForward(T64(x, n, c, h, w), ya, g);
        TU.Close(Ref.AvgPool(x, n, c, h, w, g), ya, 1e-12, "avgpool");
        var r = TU.RandArray(rng, n * c * oh * ow);
        var dx = TU.Empty<double>(rng, n, c, h, w);
        K64.AvgPool2dBackward(T64(r, n, c, oh, ow), dx, g);
        double lhs = TU.Dot(Ref.AvgPool(x, n, c, h, w, g), r);
        Assert.Equal(lhs, TU.Dot(x, TU.D(dx)), 1e-10 * (1 + Math.Abs(lhs)));
    }

    // ------------------------------------------------------------------ adaptive average pooling
    [Theory]
    [InlineData(7, 5, 3, 2)]
    [InlineData(6, 6, 4, 4)]   // overlapping windows
    [InlineData(3, 4, 5, 7)]   // output bigger than the input
    [InlineData(5, 5, 1, 1)]
    public void Adaptive_avg_pool_uses_pytorchs_windows(int h, int w, int oh, int ow)
    {
        var rng = new Random(h * 10 + oh);
        int n = 2, c = 3;
        var x = TU.RandArray(rng, n * c * h * w);
        var expected = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            int hs = (int)Math.Floor((double)i * h / oh), he = (int)Math.Ceiling((double)(i + 1) * h / oh);
            int ws = (int)Math.Floor((double)j * w / ow), we = (int)Math.Ceiling((double)(j + 1) * w / ow);
            double s = 0;
            for (int a = hs; a < he; a++) for (int b = ws; b < we; b++) s += x[(p * h + a) * w + b];
            expected[(p * oh + i) * ow + j] = s / ((he - hs) * (we - ws));
        }
        var y = TU.Empty<double>(rng, n, c, oh, ow);
        K64.AdaptiveAvgPool2dForward(T64(x, n, c, h, w), y);
        TU.Close(expected, y, 1e-12, "adaptive_avgpool");
        var r = TU.RandArray(rng, expected.Length);
        var dx = TU.Empty<double>(rng, n, c, h, w);
        K64.AdaptiveAvgPool2dBackward(T64(r, n, c, oh, ow), dx);
        Assert.Equal(TU.Dot(expected, r), TU.Dot(x, TU.D(dx)), 1e-10);
        TU.ThrowsShapes(() => K64.AdaptiveAvgPool2dForward(T64(x, n, c, h, w), Tensor<double>.Zeros(n, c + 1, oh, ow)), $"[{n}, {c}, OH, OW]", $"[{n}, {c + 1}, {oh}, {ow}]");
    }

    // ------------------------------------------------------------------ max unpooling
    [Fact]
    public void Max_unpool_scatters_to_the_argmax_and_gathers_back()
    {
        var rng = new Random(5);
        int n = 2, c = 3, h = 7, w = 6;
        var g = new PoolGeometry(3, 2, 2, 2, 1, 0) { Ceil = true };
        int oh = g.OutH(h), ow = g.OutW(w);
        var x = TU.RandArray(rng, n * c * h * w);
        var arg = Tensor<int>.Zeros(n, c, oh, ow);
        K64.MaxPool2dForward(T64(x, n, c, h, w), Tensor<double>.Zeros(n, c, oh, ow), arg, g);
        var v = TU.RandArray(rng, n * c * oh * ow);
        var y = TU.Empty<double>(rng, n, c, h, w);
        K64.MaxUnpool2dForward(T64(v, n, c, oh, ow), arg, y);
        var expected = new double[n * c * h * w];
        var a = arg.AsSpan();
        for (int p = 0; p < n * c; p++) for (int i = 0; i < oh * ow; i++) expected[p * h * w + a[p * oh * ow + i]] = v[p * oh * ow + i];
        TU.Close(expected, y, 0, "max_unpool");
        var dy = TU.RandArray(rng, n * c * h * w);
        var dx = TU.Empty<double>(rng, n, c, oh, ow);
        K64.MaxUnpool2dBackward(T64(dy, n, c, h, w), arg, dx);
        for (int p = 0; p < n * c; p++) for (int i = 0; i < oh * ow; i++) Assert.Equal(dy[p * h * w + a[p * oh * ow + i]], TU.D(dx)[p * oh * ow + i]);
        a[3] = h * w;   // out of range
        Assert.ThrowsAny<ArgumentException>(() => K64.MaxUnpool2dForward(T64(v, n, c, oh, ow), arg, y));
    }

    // ------------------------------------------------------------------ upsampling
    [Theory]
    [InlineData(3, 4, 2, 2, false)]
    [InlineData(3, 4, 2, 3, false)]
    [InlineData(5, 2, 3, 4, true)]
    [InlineData(1, 3, 2, 2, true)]   // a single row: align_corners divides by OH − 1 = 1
    public void Upsample_matches_interpolate_and_its_backward_is_the_adjoint(int h, int w, int sh, int sw, bool alignCorners)
    {
        var rng = new Random(h * 7 + sw);
        int n = 2, c = 2, oh = h * sh, ow = w * sw;
        var x = TU.RandArray(rng, n * c * h * w);
        // nearest: source ⌊i/s⌋
        var near = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) near[(p * oh + i) * ow + j] = x[(p * h + i / sh) * w + j / sw];
        var y = TU.Empty<double>(rng, n, c, oh, ow);
        K64.UpsampleNearest2dForward(T64(x, n, c, h, w), y);
        TU.Close(near, y, 0, "nearest");
        var r = TU.RandArray(rng, near.Length);
        var dx = TU.Empty<double>(rng, n, c, h, w);
        K64.UpsampleNearest2dBackward(T64(r, n, c, oh, ow), dx);
        Assert.Equal(TU.Dot(near, r), TU.Dot(x, TU.D(dx)), 1e-10);

        // bilinear, F.interpolate's source index
        (int, int, double) Taps(int d, int input, int output)
        {
            double src = alignCorners ? (output > 1 ? d * (input - 1.0) / (output - 1) : 0) : Math.Max(0, (d + 0.5) / ((double)output / input) - 0.5);
            int i0 = Math.Min((int)Math.Floor(src), input - 1);
            return (i0, Math.Min(i0 + 1, input - 1), src - i0);
        }
        var bil = new double[near.Length];
        for (int p = 0; p < n * c; p++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            var (h0, h1, lh) = Taps(i, h, oh); var (w0, w1, lw) = Taps(j, w, ow);
            double X(int a, int b) => x[(p * h + a) * w + b];
            bil[(p * oh + i) * ow + j] = (1 - lh) * ((1 - lw) * X(h0, w0) + lw * X(h0, w1)) + lh * ((1 - lw) * X(h1, w0) + lw * X(h1, w1));
        }
        K64.UpsampleBilinear2dForward(T64(x, n, c, h, w), y, alignCorners);
        TU.Close(bil, y, 1e-12, "bilinear");
        var y32 = TU.Empty<float>(rng, n, c, oh, ow);
        K32.UpsampleBilinear2dForward(T32(x, n, c, h, w), y32, alignCorners);
        TU.Close(bil, y32, 1e-5, "bilinear fp32");
        K64.UpsampleBilinear2dBackward(T64(r, n, c, oh, ow), dx, alignCorners);
        Assert.Equal(TU.Dot(bil, r), TU.Dot(x, TU.D(dx)), 1e-10);
    }
}
