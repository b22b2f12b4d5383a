using System.Linq;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>Initial and final states of the recurrent layers (truncated BPTT, docs/ops/recurrent.md): shape rule, located diagnostics, generated calls.</summary>
public class RecurrentStateTests
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
    public void State_shape_rule_is_layers_times_dirs_batch_hidden()
    {
        var x = Shape.Of(N, Dim.Of(5), Dim.Of(3));
        Assert.False(ShapeRules.RecurrentState("lstm", "h0", x, Shape.Of(Dim.Of(4), N, Dim.Of(8)), 8, 2, 2).IsError);
        var r = ShapeRules.RecurrentState("lstm", "h0", x, Shape.Of(Dim.Of(2), N, Dim.Of(8)), 8, 2, 2);
        Assert.Equal(DiagnosticIds.ShapeMismatch, r.ErrorId);
        Assert.Contains("[4, N, 8]", r.Error);
        Assert.Contains("got [2, N, 8]", r.Error);
        Assert.True(ShapeRules.RecurrentState("gru", "h0", x, Shape.Of(Dim.Of(1), Dim.Sym("B"), Dim.Of(8)), 8, 1, 1).IsError); // another batch symbol
    }

    [Fact]
    public void Initial_and_final_states_generate_slots_and_slices()
    {
        var r = Compile("""
            input x: [N, 6, 3]
            input h0: [4, N, 5]
            input c0: [4, N, 5]
            y, hn, cn = lstm(x, 5, layers: 2, bidirectional: true, h0: h0, c0: c0, state: true)
            output o = y
            output hnext = hn
            output cnext = cn
            """);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        var src = r.Networks.Single().Source;
        // slot = layer·dirs + dir
        foreach (var slot in new[] { 0, 1, 2, 3 }) Assert.Contains($", _h0_1, _c0_2, {slot});", src);
        Assert.Contains("public (Tensor<T> O, Tensor<T> Hnext, Tensor<T> Cnext) Forward(Tensor<T> x, Tensor<T> h0, Tensor<T> c0)", src);
        Assert.Contains("K.Slice(", src);   // direction 0 at t = 5, the reverse one at t = 0
        Assert.Contains(", 1, 5, 1);", src);
        Assert.Contains(", 1, 0, 1);", src);
    }

    [Fact]
    public void State_mistakes_are_located_diagnostics_naming_both_sides()
    {
        var d = Single("""
            input x: [N, 6, 3]
            input h0: [1, N, 4]
            y, hn = gru(x, 5, h0: h0, state: true)
            output o = y
            """);
        Assert.Equal(("NDSL0101", 4), (d.Id, d.Span.Line));
        Assert.Equal("gru h0 must be [layers·dirs, N, hidden] = [1, N, 5] for the input [N, 6, 3] (1 layer(s), 1 direction(s), hidden 5), got [1, N, 4]", d.Message);

        d = Single("""
            input x: [N, 6, 3]
            input h0: [1, N, 5]
            output y = lstm(x, 5, h0: h0)
            """);
        Assert.Equal(("NDSL0203", 4), (d.Id, d.Span.Line));
        Assert.Contains("lstm needs both initial states or neither (as nn.LSTM(x, (h0, c0))): h0 given without c0", d.Message);

        d = Single("""
            input x: [N, T, 3]
            y, hn = rnn(x, 5, state: true)
            output o = y
            """);
        Assert.Equal(("NDSL0107", 3), (d.Id, d.Span.Line));
        Assert.Contains("rnn(…, state: true) needs a known sequence length to take the final states, got the input [N, T, 3]", d.Message);

        d = Single("""
            input x: [N, 6, 3]
            input h0: int[1, N, 5]
            output y = x |> rnn(5, h0: h0)
            """);
        Assert.Equal(("NDSL0206", 4), (d.Id, d.Span.Line));
        Assert.Contains("rnn h0 must be a float tensor", d.Message);

        // c0 is the LSTM's only
        d = Single("""
            input x: [N, 6, 3]
            input h0: [1, N, 5]
            output y = x |> gru(5, h0: h0, c0: h0)
            """);
        Assert.Equal(("NDSL0204", 4), (d.Id, d.Span.Line));
    }

    [Fact]
    public void The_documented_truncated_bptt_example_compiles()
    {
        var doc = System.IO.File.ReadAllText(System.IO.Path.Combine(RepoPaths.Root, "docs", "ops", "recurrent.md"));
        int i = doc.IndexOf("network Lm(", System.StringComparison.Ordinal);
        var src = doc.Substring(i, doc.IndexOf("```", i, System.StringComparison.Ordinal) - i);
        var r = NetCompiler.Compile("lm.net", src);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        Assert.Contains("Forward(Tensor<T> x, Tensor<T> h0, Tensor<T> c0)", r.Networks.Single().Source);
    }

}
