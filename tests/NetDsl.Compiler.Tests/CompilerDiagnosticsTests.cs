using System.Linq;
using NetDsl.Compiler;
using Xunit;

namespace NetDsl.Compiler.Tests;

/// <summary>The mistakes users make, reported as located diagnostics naming the op and both shapes.</summary>
public class CompilerDiagnosticsTests
{
    private static Diagnostic[] Errors(string text, string path = "models/bad.net") =>
        NetCompiler.Compile(path, text).Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();

    private static Diagnostic Single(string text)
    {
        var errors = Errors(text);
        Assert.True(errors.Length == 1, "expected one error, got:\n" + string.Join("\n", errors.Select(e => e.ToString())));
        return errors[0];
    }

    [Fact]
    public void Adding_tensors_with_different_channels_names_both_shapes_at_the_add()
    {
        var d = Single("""
            network Bad {
                input x: [N, 3, 32, 32]
                a = x |> conv(16, 3, pad: 1)
                b = x |> conv(32, 3, pad: 1)
                output y = a + b
            }
            """);
        Assert.Equal("NDSL0102", d.Id);
        Assert.Equal((5, 16), (d.Span.Line, d.Span.Column));
        Assert.Equal("models/bad.net(5,16): error NDSL0102: cannot add [N, 16, 32, 32] and [N, 32, 32, 32]: shapes differ in dim 1 (does the shortcut need a 1x1 projection to match channels?)", d.ToString());
    }

    [Fact]
    public void Adding_tensors_with_different_spatial_size_suggests_a_strided_projection()
    {
        var d = Single("""
            network Bad {
                input x: [N, 64, 56, 56]
                y = x |> conv(64, 3, stride: 2, pad: 1)
                output z = add(y, x)
            }
            """);
        Assert.Equal("NDSL0102", d.Id);
        Assert.Equal((4, 16), (d.Span.Line, d.Span.Column));
        Assert.Contains("cannot add [N, 64, 28, 28] and [N, 64, 56, 56]: shapes differ in dims 2, 3 (does the shortcut need a stride-2 projection?)", d.Message);
    }

    [Fact]
    public void Linear_fed_a_4d_tensor_is_located_at_linear_and_suggests_flatten()
    {
        var d = Single("""
            network Bad {
                input x: [N, 3, 32, 32]
                output y = x |> conv(8, 3) |> linear(10)
            }
            """);
        Assert.Equal("NDSL0103", d.Id);
        Assert.Equal((3, 35), (d.Span.Line, d.Span.Column));
        Assert.Equal("linear expects a 2-D input [N, features], got [N, 8, 30, 30] (4-D); insert flatten before linear", d.Message);
    }

    [Fact]
    public void Unknown_layer_is_located_and_suggests_the_nearest_name()
    {
        var d = Single("""
            network Bad {
                input x: [N, 3, 32, 32]
                output y = x |> convv(8, 3)
            }
            """);
        Assert.Equal("NDSL0201", d.Id);
        Assert.Equal((3, 21), (d.Span.Line, d.Span.Column));
        Assert.Contains("unknown layer or block 'convv' (did you mean 'conv'?)", d.Message);
    }

    [Fact]
    public void Syntax_error_is_NDSL0001_at_its_position()
    {
        var d = Errors("""
            network Bad {
                input x: [N, 3, 32, 32]
                output y = x |> conv(8, 3
            }
            """)[0];
        Assert.Equal("NDSL0001", d.Id);
        Assert.Equal(4, d.Span.Line);
    }

    [Fact]
    public void Block_called_without_a_required_argument_lists_its_signature()
    {
        var d = Single("""
            block Basic(c: int, stride: int = 1)(x) {
                return x |> conv(c, 3, stride: stride, pad: 1) |> relu
            }
            network Bad {
                input x: [N, 3, 32, 32]
                output y = x |> Basic(stride: 2)
            }
            """);
        Assert.Equal("NDSL0203", d.Id);
        Assert.Equal((6, 21), (d.Span.Line, d.Span.Column));
        Assert.Contains("Basic is missing argument 'c'", d.Message);
        Assert.Contains("stride: int", d.Message);
    }

    [Fact]
    public void Independent_mistakes_are_all_reported_in_one_compilation()
    {
        var errors = Errors("""
            network Bad {
                input x: [N, 3, 32, 32]
                a = x |> convv(8, 3)
                b = x |> linear(10)
                c = x |> conv(8, 3, padd: 1)
                output y = x |> conv(8, 3) |> relu
            }
            """);
        Assert.Equal(["NDSL0201", "NDSL0103", "NDSL0204"], errors.Select(e => e.Id));
        Assert.Equal([3, 4, 5], errors.Select(e => e.Span.Line));
        Assert.Contains("did you mean 'pad'", errors[2].Message);
    }

    [Fact]
    public void An_error_does_not_cascade_into_later_layers()
    {
        var errors = Errors("""
            network Bad {
                input x: [N, 3, 32, 32]
                y = x |> linear(10) |> relu |> linear(5) |> relu
                output z = y + y
            }
            """);
        Assert.Single(errors);
    }

    [Fact]
    public void Shape_assertions_are_checked()
    {
        var d = Single("""
            network Bad {
                input x: [N, 3, 32, 32]
                y: [N, 8, 32, 32] = x |> conv(8, 3)
                output z = y
            }
            """);
        Assert.Equal("NDSL0104", d.Id);
        Assert.Contains("'y' is asserted to have shape [N, 8, 32, 32] but has [N, 8, 30, 30]", d.Message);
    }

    [Theory]
    [InlineData("output y = x |> conv(8, 7, stride: 1)", "NDSL0106", "does not fit input [N, 3, 4, 4]")]
    [InlineData("output y = x |> maxpool(2, pad: 3)", "NDSL0106", "pad <= kernel/2")]
    [InlineData("output y = x |> dropout(1.5)", "NDSL0106", "drop probability")]
    [InlineData("output y = x |> conv(8, 3, bias: 1)", "NDSL0206", "argument 'bias' of conv must be bool")]
    [InlineData("output y = x |> conv(8, 3, 1, 1, 1, 1, true, 5)", "NDSL0205", "too many arguments to conv")]
    [InlineData("output y = concat(x, x |> conv(4, 1, stride: 2))", "NDSL0105", "cannot concat [N, 3, 4, 4] and [N, 4, 2, 2]")]
    [InlineData("output y = z", "NDSL0202", "unknown name 'z'")]
    [InlineData("repeat 1.5 { x = x |> relu }\n output y = x", "NDSL0206", "repeat needs an int count")]
    [InlineData("loss = x |> relu\n output y = x", "NDSL0211", "loss must be a loss function")]
    public void Each_kind_of_mistake_has_its_id_and_message(string body, string id, string message)
    {
        var errors = Errors("network Bad {\n input x: [N, 3, 4, 4]\n " + body + "\n}");
        Assert.Contains(errors, e => e.Id == id && e.Message.Contains(message));
    }

    [Fact]
    public void A_network_without_output_is_an_error()
    {
        Assert.Equal("NDSL0210", Single("network Empty {\n input x: [N, 3]\n}").Id);
    }

    [Fact]
    public void Garbage_and_truncated_files_never_crash_the_compiler()
    {
        string source = System.IO.File.ReadAllText(System.IO.Path.Combine(RepoPaths.Examples, "Models", "resnet18.net"));
        var rng = new System.Random(1);
        for (int i = 0; i < 300; i++)
        {
            string text = i % 2 == 0 ? source.Substring(0, rng.Next(source.Length)) : source.Remove(rng.Next(source.Length - 10), rng.Next(1, 10));
            var result = NetCompiler.Compile("fuzz.net", text);
            Assert.DoesNotContain(result.Diagnostics, d => d.Id == "NDSL0999");
        }
    }
}
