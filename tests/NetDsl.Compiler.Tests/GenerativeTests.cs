using System.Linq;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>The generative family in the compiler: shape rules, located diagnostics, `input x grad` / `output y grad`.</summary>
public class GenerativeTests
{
    private static readonly Dim N = Dim.Sym("N");
    private static Shape S(params int[] d) => Shape.Of(new[] { N }.Concat(d.Select(Dim.Of)).ToArray());

    private const string Head = "network G {\n    input x: [N, 6]\n    input t: [N, 4]\n    input label: int[N]\n";

    private static Diagnostic[] Errors(string text) =>
        NetCompiler.Compile("g.net", text).Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();

    private static Diagnostic Single(string body)
    {
        var e = Errors(Head + body + "\n}");
        Assert.True(e.Length == 1, "expected one error, got:\n" + string.Join("\n", e.Select(x => x.ToString())));
        return e[0];
    }

    private static string Source(string text)
    {
        var r = NetCompiler.Compile("g.net", text);
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        return string.Join("\n", r.Networks.Select(n => n.Source));
    }

    [Fact]
    public void Shape_rules()
    {
        Assert.Equal(S(4), ShapeRules.SampleNormal(S(4), S(4)).Shape);
        var r = ShapeRules.SampleNormal(S(4), S(5));
        Assert.Equal(DiagnosticIds.ShapeMismatch, r.ErrorId);
        Assert.Contains("sample_normal expects logvar shaped like mu [N, 4], got [N, 5]", r.Error);
        Assert.Equal(Shape.Of(N, Dim.Of(100)), ShapeRules.Noise("normal_noise", S(1, 28, 28), 100).Shape);
        Assert.Equal(S(1, 28, 28), ShapeRules.Noise("uniform_noise", S(1, 28, 28), 0).Shape);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.Noise("normal_noise", S(3), -1).ErrorId);
        Assert.Equal(Shape.Of(1), ShapeRules.PairLoss("bce", "p", S(4), "target", S(4), false).Shape);
        Assert.Contains("bce expects target shaped like p [N, 4], got [N, 3]", ShapeRules.PairLoss("bce", "p", S(4), "target", S(3), false).Error);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.PairLoss("nt_xent", "z1", S(4, 2), "z2", S(4, 2), true).ErrorId);
        Assert.Contains("triplet_margin expects negative shaped like anchor [N, 4], got [N, 5]", ShapeRules.Triplet(S(4), S(4), S(5)).Error);
    }

    [Fact]
    public void Mistakes_are_located_diagnostics_naming_both_sides()
    {
        var d = Single("    mu = x |> linear(4)\n    lv = x |> linear(5)\n    output z = sample_normal(mu, lv)");
        Assert.Equal(DiagnosticIds.ShapeMismatch, d.Id);
        Assert.Equal(7, d.Span.Line);
        Assert.Contains("[N, 4]", d.Message); Assert.Contains("[N, 5]", d.Message);

        d = Single("    output y = x |> linear(3) |> sigmoid\n    loss = bce(y, t)");
        Assert.Equal(DiagnosticIds.ShapeMismatch, d.Id);
        Assert.Equal(6, d.Span.Line);
        Assert.Contains("bce expects target shaped like p [N, 3], got [N, 4]", d.Message);

        d = Single("    output y = x |> linear(4)\n    loss = kl_normal(y, t, reduction: \"batchmean\")");
        Assert.Equal(DiagnosticIds.TypeMismatch, d.Id);
        Assert.Contains("kl_normal reduction must be \"mean\" or \"sum\", got \"batchmean\"", d.Message);

        d = Single("    output y = x |> linear(1)\n    loss = gan_generator_loss(y, mode: \"wasserstein\")");
        Assert.Contains("\"non_saturating\" or \"minimax\"", d.Message);

        d = Single("    output y = x |> linear(4)\n    loss = nt_xent(y, t, temperature: 0.0)");
        Assert.Equal(DiagnosticIds.InvalidGeometry, d.Id);

        d = Single("    output y = x |> linear(4)\n    loss = bce_with_logits(y, label)");
        Assert.Equal(DiagnosticIds.TypeMismatch, d.Id);

        d = Single("    output z = sample_normal(x, x, eval: \"mode\")");
        Assert.Contains("sample_normal eval must be \"sample\" or \"mean\"", d.Message);
    }

    [Fact]
    public void Grad_markers()
    {
        // int inputs cannot take a gradient; a network with a loss cannot also have a grad output
        var e = Errors("network A {\n    input k grad: int[N]\n    input x: [N, 2]\n    output y = x |> linear(2)\n}");
        Assert.Single(e);
        Assert.Equal(2, e[0].Span.Line);
        e = Errors("network B {\n    input x: [N, 2]\n    input t: [N, 2]\n    output y grad = x |> linear(2)\n    loss = mse(y, t)\n}");
        Assert.Single(e);
        Assert.Equal(DiagnosticIds.InvalidLoss, e[0].Id);
        // `grad` is still an ordinary name
        Source("network C {\n    input grad: [N, 2]\n    output y = grad |> linear(2)\n}");

        var src = Source("network D {\n    input x grad: [N, 2]\n    input t: [N, 2]\n    output y = x |> linear(2) |> tanh\n    loss = mse(y, t)\n}\n" +
                         "network E {\n    input z: [N, 3]\n    output y grad = z |> linear(2) |> tanh\n}\n" +
                         "network F {\n    input z: [N, 3]\n    output y = z |> linear(2) |> tanh\n}");
        Assert.Contains("public Tensor<T> XGrad => ", src);
        Assert.Contains("K.LinearBackwardData(", src);      // D computes the input gradient
        Assert.Contains("public void Backward(Tensor<T> dY)", src);
        Assert.Equal(1, src.Split("public void Backward(Tensor<T> dY)").Length - 1); // E only: F has no grad output
    }

    [Fact]
    public void Noise_and_sampling_calls()
    {
        var src = Source("network R {\n    input x: [N, 6]\n    mu = x |> linear(4)\n    lv = x |> linear(4)\n    z = sample_normal(mu, lv)\n" +
                         "    e = normal_noise(x, 4, std: 0.5) + uniform_noise(mu, lo: -1.0, hi: 1.0)\n    output y = z + e\n}");
        Assert.Contains("K.SampleNormalForward(", src);
        Assert.Contains("training || true, NoiseSeed(", src);
        Assert.Contains("K.RandomFill(", src);
        Assert.Contains("RandomKind.Normal", src);
        Assert.Contains("RandomKind.Uniform", src);
    }
}
