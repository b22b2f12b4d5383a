using System.Linq;
using NetDsl.Compiler;

namespace NetDsl.Compiler.Tests;

/// <summary>Compile-time evaluation: blocks, shape patterns, loops, ifs and names.</summary>
public class ElaborationTests
{
    private static CompiledNetwork Compile(string text)
    {
        var r = NetCompiler.Compile("e.net", text);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        return r.Networks.Single();
    }

    [Fact]
    public void Block_shape_patterns_bind_unknown_dims_and_check_known_ones()
    {
        var net = Compile("""
            block Proj(out: int)(x: [N, D]) {
                return x |> linear(D) |> relu |> linear(out)
            }
            network P {
                input x: [N, 12]
                output y = x |> Proj(5)
            }
            """);
        Assert.Equal(12 * 12 + 12 + 12 * 5 + 5, net.Summary.TotalParameters);
        var bad = NetCompiler.Compile("e.net", """
            block Sq()(x: [N, 4]) { return x |> relu }
            network P {
                input x: [N, 5]
                output y = x |> Sq()
            }
            """);
        Assert.Contains(bad.Diagnostics, d => d.Id == "NDSL0101" && d.Message.Contains("expects x: [N, 4], got [N, 5]"));
    }

    [Fact]
    public void Loops_unroll_and_compile_time_ifs_choose()
    {
        var net = Compile("""
            network L(deep: bool = true) {
                input x: [N, 8]
                for w in [16, 32] { x = x |> linear(w) |> relu }
                repeat 2 * 1 + 1 { x = x |> linear(8) }
                if deep { x = x |> linear(4) } else { x = x |> linear(2) }
                output y = if dim(x, 1) == 4 then x |> tanh else x |> sigmoid
            }
            """);
        var ops = net.Summary.Rows.Select(r => r.Layer).ToList();
        Assert.Equal(["fc1", "relu1", "fc2", "relu2", "fc3", "fc4", "fc5", "fc6", "tanh1"], ops);
        Assert.Equal("[N, 4]", net.Summary.Rows.Last().OutputShape);
    }

    [Fact]
    public void Block_calls_scope_parameter_names_and_name_overrides_them()
    {
        var net = Compile("""
            block Two(c: int)(x) { return x |> linear(c) |> relu |> linear(c) }
            network B {
                input x: [N, 4]
                y = x |> Two(4) |> Two(4, name: "layer1.0")
                output z = y |> linear(2, name: "head")
            }
            """);
        var layers = net.Summary.Rows.Where(r => r.Parameters > 0).Select(r => r.Layer).ToList();
        Assert.Equal(["two1.fc1", "two1.fc2", "layer1.0.fc1", "layer1.0.fc2", "head"], layers);
        Assert.Contains("public LayerParameters<T> Layer1_0_Fc2 { get; }", net.Source);
        Assert.Contains("AddParameter(\"head.weight\"", net.Source);
    }

    [Fact]
    public void Several_outputs_become_a_named_tuple()
    {
        var net = Compile("""
            network Two {
                input x: [N, 4]
                h = x |> linear(8) |> relu
                output a = h |> linear(2)
                output b = h |> linear(3)
            }
            """);
        Assert.Contains("public (Tensor<T> A, Tensor<T> B) Forward(Tensor<T> x)", net.Source);
    }

    [Fact]
    public void Recursion_is_stopped_with_a_diagnostic()
    {
        var r = NetCompiler.Compile("e.net", """
            block R()(x) { return x |> R() }
            network N1 { input x: [N, 4]
              output y = x |> R() }
            """);
        Assert.Contains(r.Diagnostics, d => d.Id == "NDSL0212");
    }
}
