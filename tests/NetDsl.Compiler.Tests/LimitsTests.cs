using NetDsl.Compiler;

namespace NetDsl.Compiler.Tests;

/// <summary>
/// The compiler's resource limits (docs/language.md#limits) and the inputs that used to crash, hang or give internal
/// errors: each is now a located diagnostic, or compiles.
/// </summary>
public class LimitsTests
{
    private static CompileResult Compile(string text) => NetCompiler.Compile("limits.net", text);

    private static Diagnostic SingleError(CompileResult r)
    {
        Assert.DoesNotContain(r.Diagnostics, d => d.Id == DiagnosticIds.InternalError);
        return r.Diagnostics.First(d => d.Severity == Severity.Error);
    }

    [Fact]
    public void A_huge_repeat_count_is_a_located_error_not_a_hang()
    {
        var r = Compile("network R {\n    input x: [N, 8]\n    y = x |> linear(8)\n    repeat 9223372036854775807 { y = y |> relu }\n    output o = y\n}\n");
        var d = SingleError(r);
        Assert.Equal(DiagnosticIds.ResourceLimit, d.Id);
        Assert.Equal(4, d.Span.Line);
    }

    [Fact]
    public void Loops_that_add_no_layers_still_stop_at_the_iteration_limit()
    {
        var r = Compile("network R {\n    input x: [N, 8]\n    y = x |> linear(8)\n    repeat 100000 { repeat 100000 { k = 1 } }\n    output o = y\n}\n");
        var d = SingleError(r);
        Assert.Equal(DiagnosticIds.UnrollLimit, d.Id);
        Assert.Equal(4, d.Span.Line);
        Assert.Contains("1,000,000", d.Message);
    }

    [Fact]
    public void A_chain_longer_than_the_limit_is_a_located_syntax_error()
    {
        var r = Compile("network R {\n    input x: [N, 8]\n    output o = x |> linear(8)" + string.Concat(Enumerable.Repeat(" |> relu", 20_000)) + "\n}\n");
        var d = SingleError(r);
        Assert.Equal(DiagnosticIds.SyntaxError, d.Id);
        Assert.Equal(3, d.Span.Line);
        Assert.Contains("10,000", d.Message);
    }

    [Theory]
    [InlineData(" |> relu")]
    [InlineData(" + y")]
    public void A_chain_of_thousands_of_steps_compiles_without_deep_recursion(string step)
    {
        // 9,000 steps: the parser, elaborator and fuser walk it with loops (it took down the C# compiler with a stack overflow)
        var r = Compile("network R {\n    input x: [N, 8]\n    y = x |> linear(8)\n    output o = y" + string.Concat(Enumerable.Repeat(step, 9_000)) + "\n}\n");
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        Assert.Contains("public Tensor<T> Forward(", r.Networks[0].Source);
    }

    [Fact]
    public void Ten_thousand_unrolled_layers_compile()
    {
        var r = Compile("network R {\n    input x: [N, 8]\n    y = x |> linear(8)\n    repeat 10000 { y = y |> relu }\n    output o = y\n}\n");
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        // element-wise chains are cut into loops of at most MaxFusedOps ops
        // (a kernel call is K.Map(…) or, in a network this big, a shared MapRelu…(…) call: CallOutliner)
        Assert.True(System.Text.RegularExpressions.Regex.Matches(r.Networks[0].Source, @"^\s*(K\.Map|Map\w*)\(", System.Text.RegularExpressions.RegexOptions.Multiline).Count >= 10_000 / 32);
    }

    [Fact]
    public void A_channel_count_beyond_the_tensor_limit_is_a_located_error()
    {
        var r = Compile("network R {\n    input x: [N, 3, 8, 8]\n    output o = x |> conv(2147483647, 3)\n}\n");
        var d = SingleError(r);
        Assert.Equal(DiagnosticIds.SizeOverflow, d.Id);
        Assert.Equal(3, d.Span.Line);
    }

    [Fact]
    public void Integer_overflow_in_shape_arithmetic_is_a_located_error()
    {
        var r = Compile("network R {\n    input x: [N, 3, 8, 8]\n    output o = x |> conv(4, 3, pad: 2147483647)\n}\n");
        var d = SingleError(r);
        Assert.Equal(DiagnosticIds.SizeOverflow, d.Id);
        Assert.Equal(3, d.Span.Line);
    }

    [Fact]
    public void Compile_time_integer_overflow_is_a_located_error()
    {
        var r = Compile("network R {\n    input x: [N, 8]\n    k = 9223372036854775807 + 1\n    output o = x |> linear(8)\n}\n");
        var d = SingleError(r);
        Assert.Equal(DiagnosticIds.SizeOverflow, d.Id);
        Assert.Equal(3, d.Span.Line);
    }

    [Fact]
    public void A_split_size_beyond_int_is_a_located_error()
    {
        var r = Compile("network R {\n    input x: [N, 8]\n    a, b = split(x, 2147483648)\n    output o = a |> linear(2)\n}\n");
        var d = SingleError(r);
        Assert.Equal(DiagnosticIds.SizeOverflow, d.Id);
        Assert.Equal(3, d.Span.Line);
    }

    [Fact]
    public void A_value_read_twice_by_one_op_in_a_loop_compiles()
    {
        // was KeyNotFoundException (NDSL0999): the fuser substituted one of x + x's two reads of a fused producer
        var r = Compile("network R {\n    input x: [N, 8]\n    for q in [1, 1] { x = x + x }\n    output o = x |> linear(2)\n}\n");
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
    }

    [Fact]
    public void A_name_longer_than_the_limit_is_a_located_error()
    {
        var name = new string('a', Names.MaxLength + 1);
        var r = Compile($"network R {{\n    input {name}: [N, 8]\n    output o = {name} |> linear(2)\n}}\n");
        var d = SingleError(r);
        Assert.Equal(2, d.Span.Line);
        Assert.Contains($"at most {Names.MaxLength}", d.Message);
    }

    [Fact]
    public void Name_rule_accepts_pytorch_paths_and_rejects_everything_else()
    {
        Assert.Null(Names.CheckLayerName("layer1.0.conv1"));
        Assert.Null(Names.CheckLayerName("features.0"));
        Assert.Null(Names.CheckLayerName("_private"));
        foreach (var bad in new[] { "", "1fc", "a..b", ".a", "a.", "a b", "a\"b", "a\nb", "a\u0085b", "a/b", "\uff41", new string('a', 129) })
            Assert.NotNull(Names.CheckLayerName(bad));
        Assert.Equal("@class", Names.Identifier("class"));
        Assert.Equal("_1fc", Names.Identifier("1fc"));
        Assert.Equal("a_b", Names.Identifier("a\"b"));
        Assert.Equal("\"a\\\"b\\\\c\\n\\u2028\"", Names.Literal("a\"b\\c\n\u2028"));
        Assert.Equal("a\"\"b\\c d e f g", Names.VerbatimLine("a\"b\\c\nd\re\u2028f\u0085g"));
        Assert.DoesNotContain('\n', Names.Comment("a\nb\u0085c\u2028d"));
    }
}
