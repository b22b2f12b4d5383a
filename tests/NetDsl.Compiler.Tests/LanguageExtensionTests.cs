using System.IO;
using System.Linq;
using NetDsl.Compiler;

namespace NetDsl.Compiler.Tests;

/// <summary>
/// What issue 11 added to the language on top of the op registry: conv_transpose1d, the batch dim inside blocks, the
/// unused-binding warning and recurrent MACs stated per time step. (Numerics of conv_transpose1d against PyTorch and its
/// finite-difference gradients: NetDsl.Tests' OpReferenceTests, case OpConvTranspose1d.)
/// </summary>
public class LanguageExtensionTests
{
    private static CompileResult Compile(string text) => NetCompiler.Compile("x.net", text);

    [Fact]
    public void Conv_transpose1d_has_PyTorchs_shape_and_parameters()
    {
        var r = Compile("""
            network D {
                input x: [N, 4, 5]
                output y = x |> conv_transpose1d(6, 3, stride: 2, pad: 1, output_pad: 1, groups: 2, dilation: 2)
            }
            """);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        var row = r.Networks.Single().Summary.Rows.Single();
        Assert.Equal("deconv1", row.Layer);
        Assert.Equal("conv_transpose1d", row.Op);
        Assert.Equal("[N, 6, 12]", row.OutputShape);          // (5−1)·2 − 2·1 + 2·(3−1) + 1 + 1
        Assert.Equal(4 * 3 * 3 + 6, row.Parameters);            // weight [4, 6/2, 1, 3] (PyTorch's [4, 3, 3]) + bias [6]
    }

    [Fact]
    public void Conv_transpose1d_errors_are_located_and_name_the_shape()
    {
        var r = Compile("""
            network D {
                input x: [N, 4, 5, 5]
                output y = x |> conv_transpose1d(6, 3)
            }
            """);
        var d = Assert.Single(r.Diagnostics, d => d.Severity == Severity.Error);
        Assert.Equal(DiagnosticIds.RankMismatch, d.Id);
        Assert.Equal(3, d.Span.Line);
        Assert.Contains("[N, 4, 5, 5]", d.Message);
    }

    [Fact]
    public void A_block_can_name_the_batch_dim()
    {
        // NDSL0202 before: N was only a value in the network's own scope (the workaround was dim(x, 0))
        var r = Compile("""
            block heads(h: int)(x) {
                return x |> reshape([N, h, -1])
            }
            network B {
                input x: [N, 8, 4]
                output y = x |> heads(2)
            }
            """);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        Assert.Equal("[N, 2, 16]", r.Networks.Single().Summary.Rows.Last().OutputShape);
    }

    [Fact]
    public void A_name_that_is_not_a_dim_is_still_unknown_in_a_block()
    {
        var r = Compile("""
            block b(x) {
                return x |> reshape([M, -1])
            }
            network B {
                input x: [N, 8]
                output y = x |> b
            }
            """);
        Assert.Contains(r.Diagnostics, d => d.Id == DiagnosticIds.UnknownName && d.Message.Contains("'M'"));
    }

    [Fact]
    public void A_binding_nothing_uses_is_a_warning_at_its_line()
    {
        var r = Compile("""
            network U {
                input x: [N, 8]
                input label: int[N]
                h = x |> linear(16) |> relu
                unused = h |> linear(32)
                output y = h |> linear(3)
                loss = cross_entropy(y, label)
            }
            """);
        Assert.True(r.Success);
        var w = Assert.Single(r.Diagnostics, d => d.Id == DiagnosticIds.UnusedBinding);
        Assert.Equal(Severity.Warning, w.Severity);
        Assert.Equal(5, w.Span.Line);
        Assert.Contains("'unused'", w.Message);
        Assert.Contains("544 parameters", w.Message);   // linear(32) on 16 features: 16·32 + 32
    }

    [Fact]
    public void Bindings_used_in_some_evaluation_of_a_block_or_loop_are_not_warned()
    {
        var r = Compile("""
            block res(x) {
                y = x |> linear(8) |> relu
                return x + y
            }
            network L {
                input x: [N, 8]
                h = x
                for i in [1, 2, 3] { h = h |> res }
                output y = h
            }
            """);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        Assert.DoesNotContain(r.Diagnostics, d => d.Id == DiagnosticIds.UnusedBinding);
    }

    [Fact]
    public void No_example_has_an_unused_binding()
    {
        foreach (var file in Directory.GetFiles(TestPaths.Examples, "*.net", SearchOption.AllDirectories))
        {
            var r = NetCompiler.Compile(file, File.ReadAllText(file));
            Assert.DoesNotContain(r.Diagnostics, d => d.Id == DiagnosticIds.UnusedBinding);
        }
    }

    [Fact]
    public void Recurrent_MACs_over_a_symbolic_length_are_stated_per_time_step()
    {
        var r = Compile("""
            network R {
                input x: [N, T, 8]
                output y = x |> lstm(16)
            }
            """);
        var row = r.Networks.Single().Summary.Rows.Single();
        Assert.Equal("T", row.MacsPerStepOf);
        Assert.Equal(4L * 16 * (8 + 16), row.Macs);               // one step: the four gates' input and hidden projections
        Assert.EndsWith("per step of T", row.MacsText);
        var known = Compile("""
            network R {
                input x: [N, 5, 8]
                output y = x |> lstm(16)
            }
            """).Networks.Single().Summary.Rows.Single();
        Assert.Null(known.MacsPerStepOf);
        Assert.Equal(5L * 4 * 16 * (8 + 16), known.Macs);
    }
}

public class RecurrentBiasTests
{
    [Theory]
    [InlineData("lstm", 4)]
    [InlineData("gru", 3)]
    [InlineData("rnn", 1)]
    public void Bias_false_drops_both_bias_vectors_as_PyTorch(string op, int gates)
    {
        string Net(bool bias) => $$"""
            network R {
                input x: [N, 5, 8]
                output y = x |> {{op}}(16, layers: 2, bidirectional: true{{(bias ? "" : ", bias: false")}})
            }
            """;
        var with = NetCompiler.Compile("r.net", Net(true)).Networks.Single().Summary;
        var without = NetCompiler.Compile("r.net", Net(false)).Networks.Single().Summary;
        // nn.LSTM(8, 16, num_layers=2, bidirectional=True, bias=False): per layer and direction G·H·(D_l + H)
        long expected = 2L * gates * 16 * (8 + 16) + 2L * gates * 16 * (32 + 16);
        Assert.Equal(expected, without.TotalParameters);
        Assert.Equal(expected + 2L * 2 * 2 * gates * 16, with.TotalParameters);
        Assert.True(NetCompiler.Compile("r.net", Net(false)).Success);
    }
}

public class LineDirectivePathTests
{
    [Theory]
    [InlineData("a\"b.net")]
    [InlineData("a\nb.net")]
    [InlineData("a\u2028b.net")]
    [InlineData("a\u0085b.net")]
    public void A_path_that_cannot_be_a_line_directive_gets_none(string path) => Assert.Null(Names.LineDirectivePath(path));

    [Fact]
    public void An_ordinary_path_is_kept() => Assert.Equal("/src/nets/a b.net", Names.LineDirectivePath("/src/nets/a b.net"));
}
