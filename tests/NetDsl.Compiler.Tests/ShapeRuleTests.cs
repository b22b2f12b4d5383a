using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>One shape rule per op, checked against PyTorch's output-size formulas.</summary>
public class ShapeRuleTests
{
    private static readonly Dim N = Dim.Sym("N");
    private static Shape S(params int[] d) => Shape.Of(new[] { N }.Concat(d.Select(Dim.Of)).ToArray());

    [Theory]
    [InlineData(28, 5, 1, 2, 28)]
    [InlineData(14, 5, 1, 0, 10)]
    [InlineData(224, 7, 2, 3, 112)]
    [InlineData(56, 3, 2, 1, 28)]
    [InlineData(7, 3, 2, 0, 3)]
    public void Conv_output_size_is_floor_of_h_plus_2p_minus_k_over_s_plus_1(int h, int k, int s, int p, int expected)
    {
        var r = ShapeRules.Conv2d(S(3, h, h), 16, k, s, p);
        Assert.False(r.IsError, r.Error);
        Assert.Equal(S(16, expected, expected), r.Shape);
    }

    [Fact]
    public void Conv_rejects_wrong_rank_and_oversized_kernels()
    {
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.Conv2d(S(3), 8, 3, 1, 0).ErrorId);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.Conv2d(S(3, 2, 2), 8, 3, 1, 0).ErrorId);
    }

    [Theory]
    [InlineData("maxpool", 28, 2, 2, 0, 14)]
    [InlineData("maxpool", 112, 3, 2, 1, 56)]
    [InlineData("avgpool", 8, 3, 2, 1, 4)]
    [InlineData("avgpool", 7, 2, 2, 0, 3)]
    public void Pool_output_size_uses_floor_mode(string op, int h, int k, int s, int p, int expected)
    {
        Assert.Equal(S(6, expected, expected), ShapeRules.Pool2d(op, S(6, h, h), k, s, p).Shape);
    }

    [Fact]
    public void Global_average_pool_flatten_and_linear()
    {
        Assert.Equal(S(512), ShapeRules.GlobalAvgPool(S(512, 7, 7)).Shape);
        Assert.Equal(S(400), ShapeRules.Flatten(S(16, 5, 5)).Shape);
        Assert.Equal(S(10), ShapeRules.Linear(S(84), 10).Shape);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.Linear(S(16, 5, 5), 10).ErrorId);
    }

    [Fact]
    public void Add_requires_equal_shapes_and_concat_sums_channels()
    {
        Assert.Equal(S(4, 8, 8), ShapeRules.Add(S(4, 8, 8), S(4, 8, 8)).Shape);
        Assert.Equal(DiagnosticIds.AddShapeMismatch, ShapeRules.Add(S(4, 8, 8), S(8, 8, 8)).ErrorId);
        Assert.Equal(S(256, 28, 28), ShapeRules.Concat(new[] { S(64, 28, 28), S(128, 28, 28), S(32, 28, 28), S(32, 28, 28) }, 1).Shape);
        Assert.Equal(DiagnosticIds.ConcatMismatch, ShapeRules.Concat(new[] { S(64, 28, 28), S(64, 14, 14) }, 1).ErrorId);
    }

    [Fact]
    public void Cross_entropy_needs_matching_batch_and_gives_a_scalar()
    {
        Assert.Equal(Shape.Of(1), ShapeRules.CrossEntropy(S(10), Shape.Of(N)).Shape);
        Assert.True(ShapeRules.CrossEntropy(S(10), Shape.Of(Dim.Sym("M"))).IsError);
    }

    [Fact]
    public void Unknown_inputs_give_unknown_outputs_without_a_second_error()
    {
        Assert.False(ShapeRules.Linear(Shape.Unknown, 10).IsError);
        Assert.True(ShapeRules.Linear(Shape.Unknown, 10).Shape.IsUnknown);
    }
}
