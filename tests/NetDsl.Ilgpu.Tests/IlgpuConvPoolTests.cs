using NetDsl.Runtime;
using NetDsl.Runtime.Data;

namespace NetDsl.Tests;

/// <summary>The conv/pool family's ILGPU kernels (on the simulator by default) against the naive ReferenceKernels.</summary>
[Collection("ilgpu")]
public class IlgpuConvPoolTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;

    [Theory]
    // n, cin, h, w, cout/groups, kh, kw, sh, sw, ph, pw, output_pad h, w, dh, dw, groups
    [InlineData(2, 4, 3, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)]
    [InlineData(2, 4, 3, 4, 3, 3, 2, 2, 3, 1, 0, 1, 2, 2, 1, 2)]
    public void Conv_transpose_matches_the_reference(int n, int cin, int h, int w, int cog, int kh, int kw, int sh, int sw, int ph, int pw, int oph, int opw, int dh, int dw, int groups)
    {
        var g = new ConvGeometry(sh, sw, ph, pw, dh, dw, groups) { ExtraPadH = -oph, ExtraPadW = -opw };
        int cout = cog * groups, oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1, ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
        var x = _dev.Pair(1, n, cin, h, w); var wt = _dev.Pair(2, cin, cog, kh, kw); var b = _dev.Pair(3, cout);
        var y = _dev.EmptyPair(n, cout, oh, ow);
        K.ConvTranspose2dForward(x.Gpu, wt.Gpu, b.Gpu, y.Gpu, g);
        R.ConvTranspose2dForward(x.Cpu, wt.Cpu, b.Cpu, y.Cpu, g);
        Close(y.Cpu, y.Gpu, "y");
        var dy = _dev.Pair(4, n, cout, oh, ow);
        var dx = _dev.EmptyPair(n, cin, h, w);
        K.ConvTranspose2dBackwardData(dy.Gpu, wt.Gpu, dx.Gpu, g);
        R.ConvTranspose2dBackwardData(dy.Cpu, wt.Cpu, dx.Cpu, g);
        Close(dx.Cpu, dx.Gpu, "dx");
        var dwt = _dev.EmptyPair(cin, cog, kh, kw); var db = _dev.EmptyPair(cout);
        K.ConvTranspose2dBackwardFilter(dy.Gpu, x.Gpu, dwt.Gpu, db.Gpu, g);
        R.ConvTranspose2dBackwardFilter(dy.Cpu, x.Cpu, dwt.Cpu, db.Cpu, g);
        Close(dwt.Cpu, dwt.Gpu, "dw");
        Close(db.Cpu, db.Gpu, "db");
        var e = Assert.Throws<ArgumentException>(() => K.ConvTranspose2dForward(x.Gpu, wt.Gpu, null, _dev.Allocate<float>(n, cout, oh + 1, ow), g));
        Assert.Contains($"[{n}, {cout}, {oh}, {ow}]", e.Message);
    }

    [Fact]
    public void Asymmetric_padding_conv_matches_the_reference()
    {
        var g = new ConvGeometry(1, 2, 1, 2, 1, 1, 1) { ExtraPadH = -1, ExtraPadW = 1 };
        int n = 2, c = 3, h = 5, w = 6, k = 4, kh = 2, kw = 3, oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var x = _dev.Pair(5, n, c, h, w); var wt = _dev.Pair(6, k, c, kh, kw);
        var y = _dev.EmptyPair(n, k, oh, ow);
        K.Conv2dForward(x.Gpu, wt.Gpu, null, y.Gpu, g, default(Identity<float>), new Identity<float>());
        R.Conv2dForward(x.Cpu, wt.Cpu, null, y.Cpu, g, default(Identity<float>), new Identity<float>());
        Close(y.Cpu, y.Gpu, "y");
        var dy = _dev.Pair(7, n, k, oh, ow); var dx = _dev.EmptyPair(n, c, h, w);
        K.Conv2dBackwardData(dy.Gpu, wt.Gpu, dx.Gpu, g);
        R.Conv2dBackwardData(dy.Cpu, wt.Cpu, dx.Cpu, g);
        Close(dx.Cpu, dx.Gpu, "dx");
    }

    [Theory]
    [InlineData(7, 7, 2, 2, 2, 2, 1, 1, true, false)]
    [InlineData(8, 7, 3, 2, 2, 2, 1, 1, true, true)]
    [InlineData(8, 8, 3, 3, 2, 2, 0, 0, true, false)]
    public void Ceil_mode_and_count_pad_pools_match_the_reference(int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, bool ceil, bool exclude)
    {
        var g = new PoolGeometry(kh, kw, sh, sw, ph, pw) { Ceil = ceil, ExcludePad = exclude };
        int n = 2, c = 3, oh = g.OutH(h), ow = g.OutW(w);
        var x = _dev.Pair(8, n, c, h, w);
        var y = _dev.EmptyPair(n, c, oh, ow);
        K.AvgPool2dForward(x.Gpu, y.Gpu, g);
        R.AvgPool2dForward(x.Cpu, y.Cpu, g);
        Close(y.Cpu, y.Gpu, "avg y");
        var dy = _dev.Pair(9, n, c, oh, ow); var dx = _dev.EmptyPair(n, c, h, w);
        K.AvgPool2dBackward(dy.Gpu, dx.Gpu, g);
        R.AvgPool2dBackward(dy.Cpu, dx.Cpu, g);
        Close(dx.Cpu, dx.Gpu, "avg dx");
        var arg = (_dev.Allocate<int>(n, c, oh, ow), Tensor<int>.Zeros(n, c, oh, ow));
        K.MaxPool2dForward(x.Gpu, y.Gpu, arg.Item1, g);
        R.MaxPool2dForward(x.Cpu, y.Cpu, arg.Item2, g);
        Close(y.Cpu, y.Gpu, "max y");
        Assert.Equal(arg.Item2.AsSpan().ToArray(), arg.Item1.CopyToHost());
    }

    [Fact]
    public void Adaptive_pool_unpool_and_upsample_match_the_reference()
    {
        int n = 2, c = 3, h = 7, w = 5;
        var x = _dev.Pair(10, n, c, h, w);
        foreach (var (oh, ow) in new[] { (3, 2), (4, 4), (9, 11) })
        {
            var y = _dev.EmptyPair(n, c, oh, ow);
            K.AdaptiveAvgPool2dForward(x.Gpu, y.Gpu); R.AdaptiveAvgPool2dForward(x.Cpu, y.Cpu);
            Close(y.Cpu, y.Gpu, $"adaptive {oh}x{ow}");
            var dy = _dev.Pair(11, n, c, oh, ow); var dx = _dev.EmptyPair(n, c, h, w);
            K.AdaptiveAvgPool2dBackward(dy.Gpu, dx.Gpu); R.AdaptiveAvgPool2dBackward(dy.Cpu, dx.Cpu);
            Close(dx.Cpu, dx.Gpu, $"adaptive dx {oh}x{ow}");
        }

        // non-overlapping windows: with overlap two outputs can share an argmax and which one lands is unordered (as in PyTorch)
        var g = new PoolGeometry(2, 2, 2, 2, 0, 0) { Ceil = true };
        int ph = g.OutH(h), pw = g.OutW(w);
        var arg = Tensor<int>.Zeros(n, c, ph, pw);
        R.MaxPool2dForward(x.Cpu, Tensor<float>.Zeros(n, c, ph, pw), arg, g);
        var argGpu = _dev.Allocate<int>(n, c, ph, pw);
        argGpu.CopyFromHost(arg.AsSpan());
        var v = _dev.Pair(12, n, c, ph, pw); var u = _dev.EmptyPair(n, c, h, w);
        K.MaxUnpool2dForward(v.Gpu, argGpu, u.Gpu); R.MaxUnpool2dForward(v.Cpu, arg, u.Cpu);
        Close(u.Cpu, u.Gpu, "unpool");
        var du = _dev.Pair(13, n, c, h, w); var dv = _dev.EmptyPair(n, c, ph, pw);
        K.MaxUnpool2dBackward(du.Gpu, argGpu, dv.Gpu); R.MaxUnpool2dBackward(du.Cpu, arg, dv.Cpu);
        Close(dv.Cpu, dv.Gpu, "unpool dx");

        foreach (var (sh, sw, align) in new[] { (2, 2, false), (2, 3, false), (3, 2, true) })
        {
            int oh = h * sh, ow = w * sw;
            var y = _dev.EmptyPair(n, c, oh, ow); var dy = _dev.Pair(14, n, c, oh, ow); var dx = _dev.EmptyPair(n, c, h, w);
            K.UpsampleNearest2dForward(x.Gpu, y.Gpu); R.UpsampleNearest2dForward(x.Cpu, y.Cpu);
            Close(y.Cpu, y.Gpu, $"nearest {sh}x{sw}");
            K.UpsampleNearest2dBackward(dy.Gpu, dx.Gpu); R.UpsampleNearest2dBackward(dy.Cpu, dx.Cpu);
            Close(dx.Cpu, dx.Gpu, $"nearest dx {sh}x{sw}");
            K.UpsampleBilinear2dForward(x.Gpu, y.Gpu, align); R.UpsampleBilinear2dForward(x.Cpu, y.Cpu, align);
            Close(y.Cpu, y.Gpu, $"bilinear {sh}x{sw} {align}");
            K.UpsampleBilinear2dBackward(dy.Gpu, dx.Gpu, align); R.UpsampleBilinear2dBackward(dy.Cpu, dx.Cpu, align);
            Close(dx.Cpu, dx.Gpu, $"bilinear dx {sh}x{sw} {align}");
        }
    }
}
