using System.Linq;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;
using Xunit;

namespace NetDsl.Compiler.Tests;

/// <summary>The normalizing-flow family: shape rules, (y, logdet) tuples, parameter names, located diagnostics.</summary>
public class FlowTests
{
    private static readonly Dim N = Dim.Sym("N");

    private static CompileResult Compile(string body) => NetCompiler.Compile("t.net", "network R {\n" + body + "\n}");

    private static Diagnostic Single(string body)
    {
        var e = Compile(body).Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();
        Assert.True(e.Length == 1, "expected one error, got:\n" + string.Join("\n", e.Select(x => x.ToString())));
        return e[0];
    }

    [Fact]
    public void Shape_rules()
    {
        Assert.Equal(Shape.Of(N, Dim.Of(12), Dim.Of(2), Dim.Of(3)), ShapeRules.Squeeze(Shape.Of(N, Dim.Of(3), Dim.Of(4), Dim.Of(6))).Shape);
        Assert.Equal(Shape.Of(N, Dim.Of(3), Dim.Of(4), Dim.Of(6)), ShapeRules.Unsqueeze(Shape.Of(N, Dim.Of(12), Dim.Of(2), Dim.Of(3))).Shape);
        Assert.Equal(Shape.Of(N), ShapeRules.GaussianLogProb(Shape.Of(N, Dim.Of(3), Dim.Of(4))).Shape);
        Assert.Equal(Shape.Of(N, Dim.Of(4), Dim.Of(5), Dim.Of(5)), ShapeRules.Coupling(Shape.Of(N, Dim.Of(4), Dim.Of(5), Dim.Of(5)), 8).Shape);
        var odd = ShapeRules.Coupling(Shape.Of(N, Dim.Of(3), Dim.Of(5), Dim.Of(5)), 8);
        Assert.Equal(DiagnosticIds.InvalidGeometry, odd.ErrorId);
        Assert.Contains("even channel count, got 3 channels in [N, 3, 5, 5]", odd.Error);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.Squeeze(Shape.Of(N, Dim.Of(3), Dim.Of(5), Dim.Of(4))).ErrorId);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.FlowInput("actnorm", Shape.Of(N, Dim.Of(3))).ErrorId);
        Assert.Equal(DiagnosticIds.SymbolicDimNotAllowed, ShapeRules.FlowInput("invconv", Shape.Of(N, Dim.Of(3), Dim.Sym("H"), Dim.Of(4))).ErrorId);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.GaussianLogProb(Shape.Of(N)).ErrorId);
    }

    [Fact]
    public void Flow_layers_return_y_and_logdet_and_name_parameters_like_the_PyTorch_twin()
    {
        var r = Compile("input x: [N, 4, 4, 4]\ny, l1 = x |> actnorm\ny, l2 = y |> invconv\ny, l3 = y |> coupling(6)\nz: [N, 4, 4, 4] = y\n" +
                        "output o = z\nloss = -1 * mean(gaussian_log_prob(z) + l1 + l2 + l3, 0, keepdim: true)");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        var src = r.Networks.Single().Source;
        var expected = new[] { "actnorm1.weight", "actnorm1.bias", "invconv1.lower", "invconv1.upper", "invconv1.log_s",
            "coupling1.net.0.weight", "coupling1.net.0.bias", "coupling1.net.2.weight", "coupling1.net.2.bias", "coupling1.net.4.weight", "coupling1.net.4.bias" };
        var positions = expected.Select(n => src.IndexOf("\"" + n + "\"", System.StringComparison.Ordinal)).ToArray();
        Assert.All(positions, p => Assert.True(p >= 0));
        Assert.Equal(positions.OrderBy(p => p), positions);   // registered in file order, as the PyTorch twin
        Assert.Contains("K.InvConvWeightForward(", src);
        Assert.Contains("K.CouplingLogDetForward(", src);
        Assert.Contains("K.GaussianLogProbBackward(", src);
    }

    [Fact]
    public void Odd_channels_for_coupling_is_located_and_names_the_shape()
    {
        var d = Single("input x: [N, 3, 4, 4]\ny, ld = x |> coupling(8)\noutput o = y");
        Assert.Equal(DiagnosticIds.InvalidGeometry, d.Id);
        Assert.Equal(3, d.Span.Line);
        Assert.Contains("got 3 channels in [N, 3, 4, 4]", d.Message);
    }

    [Fact]
    public void Squeeze_of_odd_size_and_actnorm_of_a_matrix_are_diagnosed()
    {
        var d = Single("input x: [N, 2, 5, 4]\noutput o = x |> squeeze");
        Assert.Equal(DiagnosticIds.InvalidGeometry, d.Id);
        Assert.Contains("5×4", d.Message);
        var e = Single("input x: [N, 8]\ny, ld = x |> actnorm\noutput o = y");
        Assert.Equal(DiagnosticIds.RankMismatch, e.Id);
        Assert.Equal(3, e.Span.Line);
        Assert.Contains("got [N, 8] (2-D)", e.Message);
    }
}
