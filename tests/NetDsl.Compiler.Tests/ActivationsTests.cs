using System.Linq;
using System.Text.RegularExpressions;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>The activations family in the compiler: shape rules, located diagnostics naming both sides, parameters, fusion.</summary>
public class ActivationsTests
{
    private static readonly Dim N = Dim.Sym("N");
    private static Shape S(params int[] d) => Shape.Of(new[] { N }.Concat(d.Select(Dim.Of)).ToArray());

    private static Diagnostic[] Errors(string body) =>
        NetCompiler.Compile("a.net", "network A {\n    input x: [N, 6, 4, 4]\n" + body + "\n}").Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();

    private static Diagnostic Single(string body)
    {
        var e = Errors(body);
        Assert.True(e.Length == 1, "expected one error, got:\n" + string.Join("\n", e.Select(x => x.ToString())));
        return e[0];
    }

    private static string Source(string body) =>
        NetCompiler.Compile("f.net", "network F {\n" + body + "\n}").Networks.Single().Source;

    [Fact]
    public void Shape_rules_of_softmax_maxout_and_prelu()
    {
        Assert.Equal(S(6, 4, 4), ShapeRules.Softmax("softmax", S(6, 4, 4), -1).Shape);
        Assert.Equal(S(6, 4, 4), ShapeRules.Softmax("softmax", S(6, 4, 4), 1).Shape);
        var r = ShapeRules.Softmax("log_softmax", S(6), 2);
        Assert.Equal(DiagnosticIds.RankMismatch, r.ErrorId);
        Assert.Contains("axis 2 is out of range for [N, 6]", r.Error);
        Assert.Equal(DiagnosticIds.SymbolicDimNotAllowed, ShapeRules.Softmax("softmax", S(6), 0).ErrorId);
        Assert.Equal(3, ShapeRules.NormalizeAxis(-1, 4));
        Assert.Equal(-1, ShapeRules.NormalizeAxis(-5, 4));

        Assert.Equal(S(2, 4, 4), ShapeRules.Maxout(S(6, 4, 4), 3).Shape);
        Assert.Equal(S(3), ShapeRules.Maxout(S(12), 4).Shape);
        var m = ShapeRules.Maxout(S(6, 4, 4), 4);
        Assert.Equal(DiagnosticIds.InvalidGeometry, m.ErrorId);
        Assert.Contains("maxout(4) needs channels divisible by 4, got 6 channels in [N, 6, 4, 4]", m.Error);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.Maxout(Shape.Of(N), 2).ErrorId);

        Assert.Equal(S(6, 4, 4), ShapeRules.PRelu(S(6, 4, 4), channels: true).Shape);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.PRelu(Shape.Of(N), channels: true).ErrorId);
        Assert.False(ShapeRules.PRelu(Shape.Of(N), channels: false).IsError);
    }

    [Fact]
    public void Maxout_with_indivisible_channels_is_located_at_maxout_and_names_both()
    {
        var d = Single("    output y = x |> maxout(4)");
        Assert.Equal("NDSL0106", d.Id);
        Assert.Equal((3, 21), (d.Span.Line, d.Span.Column));
        Assert.Contains("maxout(4) needs channels divisible by 4, got 6 channels in [N, 6, 4, 4]", d.Message);
    }

    [Fact]
    public void Softmax_axis_out_of_range_names_the_shape()
    {
        var d = Single("    output y = x |> softmax(axis: 4)");
        Assert.Equal("NDSL0103", d.Id);
        Assert.Equal((3, 21), (d.Span.Line, d.Span.Column));
        Assert.Contains("softmax axis 4 is out of range for [N, 6, 4, 4] (4-D; axes -4..3)", d.Message);
    }

    [Theory]
    [InlineData("    output y = x |> gelu(approximate: \"fast\")", "NDSL0206", "gelu approximate must be \"none\" or \"tanh\"")]
    [InlineData("    output y = x |> softplus(beta: 0.0)", "NDSL0106", "softplus beta must be > 0")]
    [InlineData("    output y = x |> elu(alpha: true)", "NDSL0206", "argument 'alpha' of elu must be float")]
    [InlineData("    output y = x |> maxout(0)", "NDSL0106", "maxout needs pieces >= 1")]
    [InlineData("    output y = x |> flatten |> linear(3) |> prelu(channels: 1)", "NDSL0206", "argument 'channels' of prelu must be bool")]
    public void Each_mistake_has_its_id_and_message(string body, string id, string message)
    {
        var d = Single(body);
        Assert.Equal(id, d.Id);
        Assert.Contains(message, d.Message);
        Assert.Equal(3, d.Span.Line);
    }

    [Fact]
    public void Prelu_has_one_learned_slope_or_one_per_channel_initialized_to_a_quarter()
    {
        var s = Source("""
            input x: [N, 6, 4, 4]
            a = x |> prelu
            output y = a |> prelu(channels: true)
            """);
        Assert.Contains("AddParameter(\"prelu1.weight\", new[] { 1 }, InitKind.PReluSlope, 1)", s);
        Assert.Contains("AddParameter(\"prelu2.weight\", new[] { 6 }, InitKind.PReluSlope, 1)", s);
        Assert.Contains("public const long ParameterCount = 7;", s);
    }

    [Fact]
    public void Activations_whose_gradient_reads_the_output_stay_conv_epilogues_in_training_and_the_others_do_not()
    {
        string Net(string act) => Source($"""
            input x: [N, 2, 6, 6]
            input y: int[N]
            output o = x |> conv(4, 3) |> {act} |> flatten |> linear(3)
            loss = cross_entropy(o, y)
            """);
        foreach (var (act, functor) in new[] { ("elu", "EluOp"), ("selu", "SeluOp"), ("hard_sigmoid", "HardSigmoidOp"), ("hardsigmoid", "HardSigmoidOp"), ("relu6", "Relu6Op"), ("leaky_relu(0.2)", "LeakyReluOp") })
        {
            var s = Net(act);
            Assert.Matches(@"K\.Conv2dForward\([^;]*new " + functor + @"\(\), new " + functor + @"Gpu\(\)\);", s);
            Assert.DoesNotMatch(@"K\.Map\(_\w+, _\w+, new " + functor + @"\(\)", s);
        }
        foreach (var (act, functor) in new[] { ("gelu", "GeluOp"), ("gelu(approximate: \"tanh\")", "GeluTanhOp"), ("silu", "SiluOp"), ("softplus", "SoftplusOp"), ("elu(alpha: -1.0)", "EluOp"), ("hardswish", "HardswishOp") })
        {
            var s = Net(act);
            Assert.Contains("default(Identity<T>), default(Identity<T>));", s.Split("K.Conv2dForward(")[1].Split('\n')[0]);
            Assert.Matches(@"K\.Map\(_conv1_\w+, _\w+, new " + functor + @"\(\)", s);
        }
        // without a loss (no backward), gelu is an epilogue too
        var inference = Source("""
            input x: [N, 2, 6, 6]
            output o = x |> conv(4, 3) |> gelu
            """);
        Assert.Contains("new GeluOp(), new GeluOpGpu());", inference.Split("K.Conv2dForward(")[1].Split('\n')[0]);
        // and hardswish fuses with the element-wise op after it into one loop in training
        var loop = Source("""
            input x: [N, 2, 6, 6]
            input y: int[N]
            output o = x |> conv(4, 3) |> hardswish |> hardsigmoid |> flatten |> linear(3)
            loss = cross_entropy(o, y)
            """);
        Assert.Contains("hardswish hardswish1 + hard_sigmoid hardsigmoid1", loop);
    }

    [Fact]
    public void Swish_is_silu_and_the_functors_are_written_from_the_expressions()
    {
        var s = Source("""
            input x: [N, 8]
            output o = x |> swish |> gelu |> softplus(beta: 2.0, threshold: 10.0)
            """);
        Assert.Contains("SiluGeluSoftplusOp", s);
        // each form from the ops' expressions (Ops/Activations.cs): VMath's vectorized sigmoid, Φ, exp and log1p; the softplus
        // argument βx, read three times, computed once; the attributes as constants of each flavor
        Assert.Contains("var t0 = a * VMath.Sigmoid(a);", s);
        Assert.Contains("var t1 = t0 * VMath.NormalCdfGpu(t0);", s);
        Assert.Contains("var t2 = 2.0f * t1;", s);
        Assert.Contains("var t3 = t2 > 10.0f ? t1 : ((t2 > 0f ? t2 : 0f) + VMath.Log1pGpu(MathF.Exp(-MathF.Abs(t2)))) / 2.0f;", s);
        Assert.Contains("var t3 = Vector512.ConditionalSelect(Vector512.GreaterThan(t2, Vector512.Create(T.CreateChecked(10.0))), t1, "
            + "(Vector512.Max(t2, Vector512<T>.Zero) + VMath.Log1p(VMath.Exp(-Vector512.Abs(t2)))) / Vector512.Create(T.CreateChecked(2.0)));", s);
    }

    [Fact]
    public void Softmax_and_maxout_are_library_kernels_with_their_backward()
    {
        var s = Source("""
            input x: [N, 6, 4, 4]
            input y: int[N]
            h = x |> conv(6, 1) |> maxout(3) |> softmax(axis: 1) |> flatten
            output o = h |> linear(3) |> log_softmax
            loss = nll_loss(o, y)
            """);
        Assert.Contains("K.MaxoutForward(", s);
        Assert.Contains(", 3);", s);
        Assert.Contains("K.SoftmaxForward(_maxout1_", s);
        Assert.Contains(", 1, log: false);", s);
        Assert.Contains(", 1, log: true);", s);   // log_softmax of [N, 3]: axis -1 normalized to 1
        Assert.Contains("K.SoftmaxBackward(", s);
        Assert.Contains("K.MaxoutBackward(", s);
        Assert.Equal(2, Regex.Matches(s, @"K\.SoftmaxBackward\(").Count);
    }
}
