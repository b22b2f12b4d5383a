using System.Linq;
using NetDsl.Compiler;
using Xunit;

namespace NetDsl.Compiler.Tests;

/// <summary>
/// The normalization family in the compiler: shape rules and their diagnostics (line, column, both sides), parameter and
/// buffer declarations, auto names, and the generated kernel calls.
/// </summary>
public class NormalizationTests
{
    private static CompileResult Compile(string text) => NetCompiler.Compile("models/norm.net", text);

    private static Diagnostic SingleError(string text)
    {
        var errors = Compile(text).Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();
        Assert.True(errors.Length == 1, "expected one error, got:\n" + string.Join("\n", errors.Select(e => e.ToString())));
        return errors[0];
    }

    private static CompiledNetwork Net(string body, string input = "[N, 8, 6, 6]") =>
        Compile($$"""
            network Net {
                input x: {{input}}
                input label: int[N]
                {{body}}
                loss = cross_entropy(y, label)
            }
            """).Networks.Single();

    [Fact]
    public void Every_norm_keeps_the_shape_and_declares_its_parameters_with_torch_names()
    {
        var net = Net("output y = x |> batchnorm |> layernorm(dims: 3) |> instancenorm(affine: true) |> groupnorm(4) |> lrn |> instancenorm |> flatten |> linear(3)");
        var rows = net.Summary.Rows;
        Assert.Equal(new[] { "bn1", "ln1", "inorm1", "gn1", "lrn1", "inorm2" }, rows.Take(6).Select(r => r.Layer));
        Assert.All(rows.Take(6), r => Assert.Equal("[N, 8, 6, 6]", r.OutputShape));
        // batchnorm 2·C (running statistics are buffers, not parameters), layernorm 2·C·H·W, instancenorm affine 2·C, groupnorm 2·C
        Assert.Equal(new long[] { 16, 2 * 288, 16, 16, 0, 0 }, rows.Take(6).Select(r => r.Parameters));
        Assert.Equal(16 + 576 + 16 + 16 + 288 * 3 + 3, net.Summary.TotalParameters);
        var src = net.Source;
        Assert.Contains("AddParameter(\"ln1.weight\", new[] { 8, 6, 6 }, InitKind.Ones, 1)", src);
        Assert.Contains("AddParameter(\"gn1.bias\", new[] { 8 }, InitKind.Zeros, 1)", src);
        Assert.Contains("AddBuffer(\"bn1.running_mean\", new[] { 8 }, 0)", src);
        Assert.Contains("K.LayerNormForward(", src);
        Assert.Contains(", 3, T.CreateChecked(1E-05));", src);                           // dims 3
        Assert.Contains("K.GroupNormForward(", src);
        Assert.Contains(", 8, T.CreateChecked(1E-05));", src);                           // instancenorm = groupnorm with C groups
        Assert.Contains(", 4, T.CreateChecked(1E-05));", src);                           // groupnorm(4)
        Assert.Contains("K.LocalResponseNormForward(", src);
        Assert.Contains("5, T.CreateChecked(0.0001), T.CreateChecked(0.75), T.CreateChecked(2));", src);
        Assert.Contains("K.BatchNormForward(", src);
        Assert.Contains("training, T.CreateChecked(1E-05), T.CreateChecked(0.1));", src);
        // batchnorm reads the input directly: its backward computes no dx
        Assert.Contains("K.BatchNormBackward(", src);
        Assert.Matches(@"K\.BatchNormBackward\([^;]*, null, [^;]*, Training\);", src);
        // the plain instancenorm has no parameters: its backward has no weight gradient
        Assert.Matches(@"K\.GroupNormBackward\([^;]*, null, [^;]*, null, null, 8\);", src);
    }

    [Fact]
    public void A_network_with_batchnorm_generates_a_class_and_no_warning()
    {
        var r = Compile("""
            network B {
                input x: [N, 4]
                input label: int[N]
                output y = x |> linear(6, bias: false) |> batchnorm(momentum: 0.2) |> relu |> linear(2)
                loss = cross_entropy(y, label)
            }
            """);
        Assert.Empty(r.Diagnostics);
        var src = r.Networks.Single().Source;
        Assert.Contains("public BatchnormLayer Bn1 { get; }", src);
        Assert.Contains("public Buffer<T> RunningVar => Buffers[1];", src);
        Assert.Contains("T.CreateChecked(0.2), new ReluOp(), new ReluOpGpu());", src);   // momentum, then the fused relu
        // the running statistics are not planned buffers: the kernel reads the layer's tensors
        Assert.Contains("Bn1.RunningMean.Value, Bn1.RunningVar.Value", src);
        Assert.DoesNotContain("_bn1_running_mean", src);
    }

    [Theory]
    [InlineData("batchnorm", "[N, 8, 6]", "NDSL0103", "batchnorm expects [N, C] or [N, C, H, W], got [N, 8, 6] (3-D)")]
    [InlineData("batchnorm(eps: 0.0)", "[N, 8, 6, 6]", "NDSL0106", "batchnorm eps is added to the variance inside the square root and must be > 0, got 0")]
    [InlineData("batchnorm(momentum: 1.5)", "[N, 8, 6, 6]", "NDSL0106", "batchnorm momentum is the weight of the new batch in the running statistics and must be in [0, 1], got 1.5")]
    [InlineData("layernorm(dims: 4)", "[N, 8, 6, 6]", "NDSL0106", "layernorm dims = 4 must be between 1 and 3 (the dims after the batch dim) for [N, 8, 6, 6]")]
    [InlineData("instancenorm", "[N, 8]", "NDSL0103", "instancenorm expects a 4-D input [N, C, H, W], got [N, 8] (2-D)")]
    [InlineData("instancenorm", "[N, 8, 1, 1]", "NDSL0106", "instancenorm normalizes each [H, W] plane and needs more than one element in it, got [N, 8, 1, 1]")]
    [InlineData("groupnorm(3)", "[N, 8, 6, 6]", "NDSL0106", "groupnorm groups = 3 must divide the channel count 8 of [N, 8, 6, 6]")]
    [InlineData("lrn", "[N, 8]", "NDSL0103", "lrn expects [N, C, H, W] or [N, C, L] (3-D or more), got [N, 8] (2-D)")]
    [InlineData("lrn(0)", "[N, 8, 6, 6]", "NDSL0106", "lrn size = 0 (channels in the window) must be >= 1 for [N, 8, 6, 6]")]
    public void Mistakes_are_located_diagnostics_naming_the_shapes(string call, string input, string id, string message)
    {
        var d = SingleError($$"""
            network Bad {
                input x: {{input}}
                output y = x |> {{call}}
            }
            """);
        Assert.Equal(id, d.Id);
        Assert.Equal(3, d.Span.Line);
        Assert.Equal(message, d.Message);
    }

    [Fact]
    public void Layernorm_needs_known_normalized_dims_and_the_error_is_at_the_call()
    {
        var d = SingleError("""
            network Bad {
                input x: [N, T, 16]
                output y = x |> layernorm(dims: 2)
            }
            """);
        Assert.Equal("NDSL0107", d.Id);
        Assert.Equal((3, 21), (d.Span.Line, d.Span.Column));
        Assert.Equal("layernorm normalizes the last 2 dim(s) of [N, T, 16] and needs them known (they shape its weight), but dim 1 is T", d.Message);
        // over the last dim only, a symbolic sequence length is fine: statistics per (n, t)
        var ok = Compile("""
            network Ok {
                input x: [N, T, 16]
                output y = x |> layernorm
            }
            """);
        Assert.Empty(ok.Diagnostics);
        Assert.Contains("AddParameter(\"ln1.weight\", new[] { 16 }", ok.Networks.Single().Source);
    }

    [Fact]
    public void An_earlier_mistake_gives_one_diagnostic_not_a_cascade()
    {
        var d = SingleError("""
            network Bad {
                input x: [N, 3, 8, 8]
                output y = x |> conv(4, 9) |> batchnorm |> groupnorm(2) |> layernorm |> lrn |> instancenorm
            }
            """);
        Assert.Equal("NDSL0106", d.Id);
    }
}
