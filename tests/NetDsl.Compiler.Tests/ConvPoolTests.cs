using System.Linq;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;
using Xunit;

namespace NetDsl.Compiler.Tests;

/// <summary>The conv/pool family: shape rules against PyTorch's formulas, and diagnostics located at the call naming both sides.</summary>
public class ConvPoolTests
{
    private static readonly Dim N = Dim.Sym("N");
    private static Shape S(params int[] d) => Shape.Of(new[] { N }.Concat(d.Select(Dim.Of)).ToArray());

    private static Diagnostic[] Errors(string body, string input = "[N, 4, 8, 8]") =>
        NetCompiler.Compile("models/bad.net", $"network Bad {{\n    input x: {input}\n    {body}\n}}\n").Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();

    private static Diagnostic Single(string body, string input = "[N, 4, 8, 8]")
    {
        var e = Errors(body, input);
        Assert.True(e.Length == 1, "expected one error, got:\n" + string.Join("\n", e.Select(x => x.ToString())));
        return e[0];
    }

    private static string Summary(string body, string input = "[N, 4, 8, 8]")
    {
        var r = NetCompiler.Compile("models/ok.net", $"network Ok {{\n    input x: {input}\n    {body}\n}}\n");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        var rows = r.Networks.Single().Summary.Rows;
        return string.Join("; ", rows.Select(x => $"{x.Layer} {x.Op} {x.OutputShape} {x.Parameters} {x.Macs}"));
    }

    [Theory]
    // h, w, kernel, stride, pad (t, b, l, r), dilation, expected oh, ow: PyTorch's ⌊(H + pt + pb − d(k−1) − 1)/s⌋ + 1
    [InlineData(9, 9, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 4, 4)]
    [InlineData(5, 6, 2, 3, 1, 1, 1, 0, 2, 1, 1, 1, 5, 7)]
    [InlineData(7, 5, 3, 2, 2, 1, 1, 1, 0, 0, 1, 2, 4, 3)]
    [InlineData(224, 224, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 112, 112)]
    public void Conv_output_size_follows_pytorch(int h, int w, int kh, int kw, int sh, int sw, int pt, int pb, int pl, int pr, int dh, int dw, int oh, int ow)
    {
        var r = ShapeRules.Conv(S(4, h, w), 8, new[] { kh, kw }, new[] { sh, sw }, new[] { pt, pb, pl, pr }, new[] { dh, dw }, 2);
        Assert.False(r.IsError, r.Error);
        Assert.Equal(S(8, oh, ow), r.Shape);
    }

    [Theory]
    // ceil mode: the last window must start inside the input or the left padding
    [InlineData(8, 3, 2, 0, false, 3)]
    [InlineData(8, 3, 2, 0, true, 4)]
    [InlineData(7, 2, 2, 1, true, 4)]   // ⌈7/2⌉ + 1 = 5 would start at 8 = H + p: dropped
    [InlineData(7, 2, 2, 1, false, 4)]
    [InlineData(112, 3, 2, 1, true, 57)]
    public void Pool_output_size_in_floor_and_ceil_mode(int h, int k, int s, int p, bool ceil, int expected)
    {
        Assert.Equal(expected, ShapeRules.PoolOut(h, k, s, p, ceil));
        Assert.Equal(S(3, expected, expected), ShapeRules.Pool("maxpool", S(3, h, h), new[] { k, k }, new[] { s, s }, new[] { p, p }, ceil).Shape);
    }

    [Fact]
    public void Conv_transpose_adaptive_unpool_and_upsample_shapes()
    {
        Assert.Equal(S(3, 6, 6), ShapeRules.ConvTranspose(S(4, 3, 3), 3, new[] { 3, 3 }, new[] { 2, 2 }, new[] { 1, 1 }, new[] { 1, 1 }, new[] { 1, 1 }, 1).Shape);
        Assert.Equal(S(6, 8, 13), ShapeRules.ConvTranspose(S(4, 3, 4), 6, new[] { 3, 2 }, new[] { 2, 3 }, new[] { 1, 0 }, new[] { 1, 2 }, new[] { 2, 1 }, 2).Shape);
        Assert.Equal(S(3, 5, 9), ShapeRules.AdaptiveAvgPool(S(3, 7, 5), new[] { 5, 9 }).Shape);
        Assert.Equal(S(3, 6, 6), ShapeRules.MaxUnpool(S(3, 3, 3), S(3, 3, 3), S(3, 6, 6)).Shape);
        Assert.Equal(S(3, 6, 12), ShapeRules.Upsample(S(3, 3, 4), new[] { 2, 3 }, "bilinear", true).Shape);
    }

    [Fact]
    public void Summary_counts_grouped_macs_and_parameters_and_conv1d_is_one_row()
    {
        // conv1d: 6·5·4·3 = 360 MACs. depthwise 3x3 on 4 channels: weight [4, 1, 3, 3] + bias 4 = 40 parameters, 4·8·8·1·9 = 2,304 MACs
        Assert.Equal("conv1 conv2d [N, 4, 8, 8] 40 2304", Summary("output y = x |> conv(4, 3, pad: 1, groups: 4)"));
        // grouped: out 8, groups 2, in/groups 2, 3x3, output 8x8: 8·64·2·9 = 9,216 MACs; 8·2·9 + 8 = 152 parameters
        Assert.Equal("conv1 conv2d [N, 8, 8, 8] 152 9216", Summary("output y = x |> conv(8, 3, pad: 1, groups: 2)"));
        Assert.Equal("conv1 conv1d [N, 6, 5] 78 360", Summary("output y = x |> conv1d(6, 3, stride: 2, pad: 1)", "[N, 4, 10]"));
        Assert.Equal("deconv1 conv_transpose2d [N, 2, 16, 16] 34 2048", Summary("output y = x |> conv_transpose(2, 2, stride: 2)"));
        Assert.Equal("maxpool1 maxpool2d [N, 4, 4, 4] 0 0; max_unpool1 max_unpool2d [N, 4, 8, 8] 0 0",
            Summary("p = x |> maxpool(2)\n    output y = max_unpool(p, p)"));
    }

    [Theory]
    [InlineData("output y = x |> conv(6, 3, groups: 3)", "NDSL0106", 3, 21, "conv groups 3 must divide both the input channels and the out channels: input [N, 4, 8, 8] has 4 channels, out is 6")]
    [InlineData("output y = x |> conv(8, 3, groups: 3)", "NDSL0106", 3, 21, "has 4 channels, out is 8")]
    [InlineData("output y = x |> conv(8, (3, 9))", "NDSL0106", 3, 21, "conv 3x9 (stride 1, pad 0) does not fit input [N, 4, 8, 8]: output would be 6x0")]
    [InlineData("output y = x |> conv(8, 3, dilation: 4)", "NDSL0106", 3, 21, "conv 3x3 (stride 1, pad 0, dilation 4) does not fit input [N, 4, 8, 8]: output would be 0x0")]
    [InlineData("output y = x |> conv(8, 3, pad: (1, 2, 3))", "NDSL0106", 3, 37, "conv argument 'pad' needs 1 int, 2 (h, w) or 4 (top, bottom, left, right), got 3")]
    [InlineData("output y = x |> conv(8, (1, 2, 3))", "NDSL0106", 3, 29, "conv argument 'kernel' needs 1 or 2 ints, got 3")]
    [InlineData("output y = x |> conv1d(8, 3)", "NDSL0103", 3, 21, "conv1d expects a 3-D input [N, C, L], got [N, 4, 8, 8] (4-D)")]
    [InlineData("output y = x |> conv_transpose(8, 3, stride: 2, output_pad: 2)", "NDSL0106", 3, 21, "conv_transpose output_pad 2 must be smaller than the stride 2 or the dilation 1")]
    [InlineData("output y = x |> conv_transpose(6, 3, groups: 4)", "NDSL0106", 3, 21, "conv_transpose groups 4 must divide both the input channels and the out channels: input [N, 4, 8, 8] has 4 channels, out is 6")]
    [InlineData("output y = x |> maxpool((2, 4), pad: (1, 3))", "NDSL0106", 3, 21, "maxpool needs kernel, stride > 0 and 0 <= pad <= kernel/2, got kernel (2, 4), stride (2, 4), pad (1, 3)")]
    [InlineData("output y = x |> avgpool(9)", "NDSL0106", 3, 21, "avgpool 9x9 (stride 9, pad 0) does not fit input [N, 4, 8, 8]")]
    [InlineData("output y = x |> adaptive_avgpool((0, 2))", "NDSL0106", 3, 21, "adaptive_avgpool needs an output size > 0, got (0, 2)")]
    [InlineData("output y = max_unpool(x, x)", "NDSL0206", 3, 30, "max_unpool needs 'pooled' to be the output of a maxpool (it scatters to that pool's argmax positions), got a network input [N, 4, 8, 8]")]
    [InlineData("a = x |> avgpool(2)\n    output y = max_unpool(a, a)", "NDSL0206", 4, 30, "got the output of avgpool2d avgpool1 [N, 4, 4, 4]")]
    [InlineData("p = x |> maxpool(2)\n    output y = max_unpool(x, p)", "NDSL0101", 4, 16, "max_unpool needs x shaped like the max pool output it unpools: x is [N, 4, 8, 8], pooled is [N, 4, 4, 4]")]
    [InlineData("output y = x |> upsample(2, mode: \"bicubic\")", "NDSL0106", 3, 21, "upsample mode must be \"nearest\" or \"bilinear\", got \"bicubic\"")]
    [InlineData("output y = x |> upsample(2, align_corners: true)", "NDSL0106", 3, 21, "upsample align_corners applies to mode \"bilinear\" only")]
    public void Mistakes_are_located_diagnostics_naming_both_sides(string body, string id, int line, int col, string message)
    {
        var d = Single(body);
        Assert.Equal(id, d.Id);
        Assert.Equal((line, col), (d.Span.Line, d.Span.Column));
        Assert.Contains(message, d.Message);
    }

    [Fact]
    public void A_broken_pool_is_reported_once_and_later_layers_stay_quiet()
    {
        var e = Errors("p = x |> maxpool(3, pad: 2)\n    output y = max_unpool(p |> upsample(2), p) |> conv(8, 3)");
        Assert.Single(e);
        Assert.Contains("pad <= kernel/2", e[0].Message);
    }
}
