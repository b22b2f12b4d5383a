using System.Linq;
using System.Text.RegularExpressions;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>Losses and regularization in the compiler: shape rules, diagnostics, the loss as a scalar expression, penalties.</summary>
public class LossesTests
{
    private static readonly Dim N = Dim.Sym("N");
    private static Shape S(params int[] d) => Shape.Of(new[] { N }.Concat(d.Select(Dim.Of)).ToArray());

    private const string Head = "network L {\n    input x: [N, 6]\n    input label: int[N]\n    input target: [N, 4]\n";

    private static Diagnostic[] Errors(string body) =>
        NetCompiler.Compile("l.net", Head + body + "\n}").Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();

    private static Diagnostic Single(string body)
    {
        var e = Errors(body);
        Assert.True(e.Length == 1, "expected one error, got:\n" + string.Join("\n", e.Select(x => x.ToString())));
        return e[0];
    }

    private static string Source(string body)
    {
        var r = NetCompiler.Compile("l.net", Head + body + "\n}");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        return r.Networks.Single().Source;
    }

    [Fact]
    public void Shape_rules_of_losses()
    {
        Assert.Equal(Shape.Of(1), ShapeRules.ClassLoss("hinge", S(4), Shape.Of(N)).Shape);
        var r = ShapeRules.ClassLoss("focal", S(4), Shape.Of(3));
        Assert.Equal(DiagnosticIds.ShapeMismatch, r.ErrorId);
        Assert.Contains("focal expects labels int[N] for scores [N, 4] (classes on the last axis), got [3]", r.Error);
        // per position: scores [N, T, V] with labels [N, T]
        Assert.Equal(Shape.Of(1), ShapeRules.ClassLoss("cross_entropy", S(4, 2), S(4)).Shape);
        var seq = ShapeRules.ClassLoss("nll_loss", S(4, 2), Shape.Of(N));
        Assert.Equal(DiagnosticIds.ShapeMismatch, seq.ErrorId);
        Assert.Contains("expects labels int[N, 4] for scores [N, 4, 2]", seq.Error);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.ClassLoss("nll_loss", Shape.Of(N), Shape.Of(N)).ErrorId);
        Assert.Equal(Shape.Of(1), ShapeRules.Regression("mse", S(4), S(4)).Shape);
        var m = ShapeRules.Regression("mse", S(4), S(5));
        Assert.Contains("mse expects a target shaped like the prediction [N, 4], got [N, 5]", m.Error);
        var w = ShapeRules.ClassWeights("cross_entropy", S(4), new[] { 1.0, 2.0 });
        Assert.Contains("weights has 2 entries but scores [N, 4] have 4 classes", w.Error);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.ClassWeights("nll_loss", S(2), new[] { 1.0, -1.0 }).ErrorId);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.Dropout2d(S(4)).ErrorId);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.DropProbability("stochastic_depth", 1.0).ErrorId);
    }

    [Theory]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = cross_entropy(y, label, reduction: \"avg\")", "NDSL0206", "cross_entropy reduction must be \"mean\" or \"sum\", got \"avg\"", 7, 47)]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = cross_entropy(y, label, weights: [1.0, 2.0])", "NDSL0101", "cross_entropy weights has 2 entries but scores [N, 4] have 4 classes", 7, 12)]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = cross_entropy(y, label, weights: 2.0)", "NDSL0206", "argument 'weights' of cross_entropy must be floats", 7, 45)]
    [InlineData("    y = x |> linear(5)\n    output o = y\n    loss = mse(y, target)", "NDSL0101", "mse expects a target shaped like the prediction [N, 5], got [N, 4]", 7, 12)]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = mse(y, label)", "NDSL0206", "mse needs a float target", 7, 12)]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = focal(y, target)", "NDSL0206", "focal needs int labels", 7, 12)]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = y |> linear(1)", "NDSL0211", "or a scalar [1] expression of losses and penalties, got linear of shape [N, 1]", 7, 12)]
    [InlineData("    loss = l2_penalty(0.1)\n    output o = x |> linear(4)", "NDSL0211", "l2_penalty penalizes the weights of the conv and linear layers declared before it, and there are none yet", 5, 12)]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = mse(y, target) + elastic_net(-1.0, 0.1)", "NDSL0106", "elastic_net coefficients must be >= 0", 7, 29)]
    [InlineData("    output o = x |> dropout2d(0.5)", "NDSL0103", "dropout2d expects a 4-D input [N, C, H, W], got [N, 6] (2-D)", 5, 21)]
    [InlineData("    output o = x |> stochastic_depth(1.5)", "NDSL0106", "stochastic_depth p is the drop probability and must be in [0, 1), got 1.5", 5, 38)]
    [InlineData("    y = x |> linear(4)\n    output o = y\n    loss = smooth_l1(y, target, beta: -1.0)", "NDSL0106", "smooth_l1 beta must be >= 0", 7, 39)]
    public void Each_mistake_is_located_and_names_both_sides(string body, string id, string message, int line, int column)
    {
        var d = Single(body);
        Assert.Equal(id, d.Id);
        Assert.Contains(message, d.Message);
        Assert.Equal((line, column), (d.Span.Line, d.Span.Column));
    }

    [Fact]
    public void The_loss_is_any_scalar_expression_read_after_the_forward_pass_and_seeded_with_ones()
    {
        var s = Source("""
                h = x |> linear(5) |> tanh
                output o = h |> linear(4)
                loss = cross_entropy(o, label, smoothing: 0.1) + l2_penalty(1e-4)
            """);
        Assert.Contains("_lossValue = K.ReadScalar(_add1_", s);
        Assert.Matches(@"K\.Fill\(_dadd1_\w+, T\.One\); // the seed of the backward pass", s);
        Assert.Contains("K.PenaltyForward([Fc1.Weight.Value, Fc2.Weight.Value], T.CreateChecked(0), T.CreateChecked(0.0001), ", s);
        Assert.Contains("K.PenaltyBackward(", s);
        Assert.Contains("K.CrossEntropyForward(_fc2_", s);
        Assert.Contains("ReadOnlySpan<T>.Empty, T.CreateChecked(0.1), LossReduction.Mean", s);
        Assert.DoesNotContain("_lossValue = K.CrossEntropy", s);
    }

    [Fact]
    public void Penalties_cover_conv_and_linear_weights_declared_before_them_only()
    {
        var r = NetCompiler.Compile("p.net", """
            network P {
                input x: [N, 1, 6, 6]
                input label: int[N]
                h = x |> conv(2, 3) |> prelu |> flatten
                pen = elastic_net(0.01, 0.02)
                output o = h |> linear(3)
                loss = cross_entropy(o, label) + pen
            }
            """);
        var s = r.Networks.Single().Source;
        // conv1.weight only: not conv1.bias, not the prelu slope, not fc1 (declared after the penalty)
        Assert.Contains("K.PenaltyForward([Conv1.Weight.Value], T.CreateChecked(0.01), T.CreateChecked(0.02), ", s);
        Assert.Single(Regex.Matches(s, @"K\.PenaltyBackward\("));
    }

    [Fact]
    public void A_number_times_a_loss_is_the_scale_op_and_differentiates_through()
    {
        var s = Source("""
                y = x |> linear(4)
                output o = y
                loss = 0.5 * mse(y, target) + smooth_l1(y, target) / 4 + l1_loss(y * 2, target, reduction: "sum")
            """);
        Assert.Contains("ScaleOp", s);
        Assert.Contains("T.CreateChecked(0.5)", s);
        Assert.Contains("T.CreateChecked(0.25)", s);
        Assert.Contains("K.RegressionLossForward(RegressionLoss.Mse, ", s);
        Assert.Contains("K.RegressionLossForward(RegressionLoss.L1, ", s);
        Assert.Contains("LossReduction.Sum", s);
        Assert.Contains("K.RegressionLossBackward(RegressionLoss.SmoothL1, ", s);
    }

    [Fact]
    public void Class_weights_are_a_stack_span_and_a_target_that_needs_a_gradient_gets_the_negated_one()
    {
        var s = Source("""
                y = x |> linear(4)
                t = x |> linear(4)
                output o = y
                loss = cross_entropy(y, label, weights: [1, 2.5, 0.5, 1]) + mse(y, t)
            """);
        Assert.Contains("[T.CreateChecked(1), T.CreateChecked(2.5), T.CreateChecked(0.5), T.CreateChecked(1)]", s);
        // d(mse)/d(t) = −d(mse)/d(y): a scale by −1 of the prediction gradient
        Assert.Contains("T.CreateChecked(-1.0)", s);
    }

    [Fact]
    public void Dropout_like_ops_draw_their_mask_in_training_and_copy_at_eval()
    {
        var r = NetCompiler.Compile("d.net", """
            network D {
                input x: [N, 2, 4, 4]
                input label: int[N]
                h = x |> conv(3, 1) |> dropout2d(0.2) |> stochastic_depth(0.1) |> flatten
                output o = h |> linear(2)
                loss = cross_entropy(o, label)
            }
            """);
        var s = r.Networks.Single().Source;
        Assert.Matches(@"if \(training\) K\.Dropout2dForward\(_conv1_\w+, _dropout2d1_mask_\w+, _dropout2d1_\w+, T\.CreateChecked\(0\.2\), DropoutSeed\(\d+, 3L\)\); else \{ K\.Copy", s);
        Assert.Contains("K.StochasticDepthForward(", s);
        Assert.Contains("DropoutBwdOp", s);
    }
}
