using System.Linq;
using NetDsl.Compiler;

namespace NetDsl.Compiler.Tests;

/// <summary>`network B = A(p: v)`: a second class from one declaration with other parameter values (a small instance for tests).</summary>
public class NetworkInstanceTests
{
    private const string Source = """
        network Mlp(hidden: int = 32, size: int = 8) {
            input x: [N, 1, size, size]
            input label: int[N]
            output y = x |> flatten |> linear(hidden) |> relu |> linear(3)
            loss = cross_entropy(y, label)
        }
        network MlpSmall = Mlp(hidden: 4, size: 4)
        """;

    [Fact]
    public void An_instance_is_the_same_network_with_other_parameter_values()
    {
        var r = NetCompiler.Compile("mlp.net", Source);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        Assert.Equal(new[] { "Mlp", "MlpSmall" }, r.Networks.Select(n => n.Name));
        Assert.Equal(64 * 32 + 32 + 32 * 3 + 3, r.Networks[0].Summary.TotalParameters);
        Assert.Equal(16 * 4 + 4 + 4 * 3 + 3, r.Networks[1].Summary.TotalParameters);
        Assert.Contains("public partial class MlpSmall<T>", r.Networks[1].Source);
        Assert.Contains("[N, 1, 4, 4]", r.Networks[1].Source);
    }

    [Fact]
    public void Unknown_network_or_parameter_is_a_located_diagnostic()
    {
        var r = NetCompiler.Compile("mlp.net", Source + "\nnetwork A = Mpl(hidden: 4)\nnetwork B = Mlp(hiden: 4)\nnetwork C = Mlp(4)\n");
        var errors = r.Diagnostics.Where(d => d.Severity == Severity.Error).ToList();
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, d => d.Id == "NDSL0202" && d.Span.Line == 8 && d.Message.Contains("'Mpl'") && d.Message.Contains("Mlp"));
        Assert.Contains(errors, d => d.Id == "NDSL0204" && d.Span.Line == 9 && d.Message.Contains("hiden") && d.Message.Contains("hidden, size"));
        Assert.Contains(errors, d => d.Span.Line == 10 && d.Message.Contains("named"));
        Assert.Equal(new[] { "Mlp", "MlpSmall" }, r.Networks.Select(n => n.Name));
    }
}

/// <summary>Bounds on symbolic dims: `T <= 8` in an input's shape.</summary>
public class SymbolBoundTests
{
    [Fact]
    public void A_bound_must_be_a_positive_int_and_the_same_wherever_the_symbol_is_bounded()
    {
        var r = NetCompiler.Compile("b.net", "network B {\n    input x: [N, T <= 0, 4]\n    input y: [N, T <= 4, 2]\n    input z: [N, T <= 5, 2]\n    output o = x\n}\n");
        var errors = r.Diagnostics.Where(d => d.Severity == Severity.Error).ToList();
        Assert.Contains(errors, d => d.Span.Line == 2 && d.Message.Contains("the bound of symbolic dim T must be a positive int, got 0"));
        Assert.Contains(errors, d => d.Span.Line == 4 && d.Message.Contains("symbolic dim T is bounded twice: 4 and 5"));
    }

    [Fact]
    public void A_bounded_symbol_is_a_symbol_with_a_constant_and_a_run_time_check()
    {
        var r = NetCompiler.Compile("b.net", "network B {\n    input x: [N, T <= 16, 4]\n    output o = x |> relu\n}\n");
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        var src = r.Networks.Single().Source;
        Assert.Contains("public const int MaxT = 16;", src);
        Assert.Contains("if (T > 16) throw new ArgumentException(", src);
        Assert.Contains("[N, T, 4]", src);
    }
}
