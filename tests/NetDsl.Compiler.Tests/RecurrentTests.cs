using System.Linq;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>The recurrent family (Ops/Recurrent.cs): shape rules, PyTorch's parameter names and counts, located diagnostics naming both sides, generated calls.</summary>
public class RecurrentTests
{
    private static readonly Dim N = Dim.Sym("N");
    private static readonly Dim T = Dim.Sym("T");

    private static CompileResult Compile(string body) => NetCompiler.Compile("t.net", "network R {\n" + body + "\n}");

    private static Diagnostic Single(string body)
    {
        var e = Compile(body).Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();
        Assert.True(e.Length == 1, "expected one error, got:\n" + string.Join("\n", e.Select(x => x.ToString())));
        return e[0];
    }

    private static CompiledNetwork Network(string body)
    {
        var r = Compile(body);
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        return r.Networks.Single();
    }

    [Fact]
    public void Shape_rules_keep_batch_and_time_and_multiply_hidden_by_directions()
    {
        Assert.Equal(Shape.Of(N, T, Dim.Of(20)), ShapeRules.Recurrent("lstm", Shape.Of(N, T, Dim.Of(10)), 20, 2, false).Shape);
        Assert.Equal(Shape.Of(N, Dim.Of(7), Dim.Of(40)), ShapeRules.Recurrent("gru", Shape.Of(N, Dim.Of(7), Dim.Of(10)), 20, 1, true).Shape);
        Assert.Equal(Shape.Of(N, T, Dim.Of(8)), ShapeRules.Embedding(Shape.Of(N, T), 30, 8).Shape);
        Assert.Equal(Shape.Of(Dim.Of(5), Dim.Of(3)), ShapeRules.Embedding(Shape.Of(5), 9, 3).Shape);
        var r = ShapeRules.Recurrent("lstm", Shape.Of(N, Dim.Of(10)), 20, 1, false);
        Assert.Equal(DiagnosticIds.RankMismatch, r.ErrorId);
        Assert.Equal("lstm expects a 3-D input [N, T, features] (batch first), got [N, 10] (2-D); a sequence needs a time axis (reshape [N, D] to [N, 1, D] for one step)", r.Error);
        Assert.Equal(DiagnosticIds.SymbolicDimNotAllowed, ShapeRules.Recurrent("rnn", Shape.Of(N, T, Dim.Sym("D")), 4, 1, false).ErrorId);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.Recurrent("gru", Shape.Of(N, T, Dim.Of(3)), 0, 1, false).ErrorId);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.Recurrent("gru", Shape.Of(N, T, Dim.Of(3)), 4, 0, false).ErrorId);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.Embedding(Shape.Of(N), 0, 4).ErrorId);
        Assert.True(ShapeRules.Recurrent("lstm", Shape.Unknown, 4, 1, false).Shape.IsUnknown);
    }

    [Theory]
    [InlineData("lstm", 15040)]   // nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    [InlineData("gru", 11280)]    // nn.GRU(10, 20, num_layers=2, bidirectional=True)
    [InlineData("rnn", 3760)]     // nn.RNN(10, 20, num_layers=2, bidirectional=True)
    public void Parameter_names_and_counts_match_pytorch(string op, long count)
    {
        var net = Network($"""
            input x: [N, T, 10]
            output h = x |> {op}(20, layers: 2, bidirectional: true)
            """);
        Assert.Equal(count, net.Summary.TotalParameters);
        var row = net.Summary.Rows.Single(r => r.Op == op);
        Assert.Equal($"{op}1", row.Layer);
        Assert.Equal("[N, T, 40]", row.OutputShape);
        foreach (var l in new[] { "l0", "l1" })
            foreach (var sfx in new[] { "", "_reverse" })
                foreach (var p in new[] { "weight_ih", "weight_hh", "bias_ih", "bias_hh" })
                    Assert.Contains($"\"{op}1.{p}_{l}{sfx}\"", net.Source);
    }

    [Fact]
    public void Embedding_counts_vocab_times_dim_and_feeds_a_recurrent_layer()
    {
        var net = Network("""
            input ids: int[N, T]
            e = ids |> embedding(30, 8)
            output h = e |> lstm(16)
            """);
        Assert.Equal(30 * 8 + 4 * 16 * (8 + 16 + 2), net.Summary.TotalParameters);   // nn.Embedding(30, 8) + nn.LSTM(8, 16)
        Assert.Contains("\"embedding1.weight\", new[] { 30, 8 }, InitKind.Normal", net.Source);
        Assert.Contains("K.EmbeddingForward(", net.Source);
        Assert.Contains("K.RnnForward(RnnCell.Lstm,", net.Source);
        Assert.Contains("InitKind.PyTorchDefault, 16)", net.Source);   // U(±1/√hidden) like PyTorch
    }

    [Fact]
    public void Backward_runs_bptt_per_direction_accumulating_dx_and_skips_dx_of_inputs()
    {
        var net = Network("""
            input ids: int[N, 5]
            input label: int[N]
            h = ids |> embedding(7, 3) |> gru(4, bidirectional: true)
            output o = h |> flatten |> linear(3)
            loss = cross_entropy(o, label)
            """);
        var calls = net.Source.Split('\n').Where(l => l.Contains("K.RnnBackward(")).ToList();
        Assert.Single(calls);
        Assert.Contains(", 0, false);", calls[0]);
        Assert.Contains(", 1, true);", calls[0]);         // the reverse direction adds its dx
        Assert.Contains("K.EmbeddingBackward(", net.Source);
        var net2 = Network("""
            input x: [N, 5, 3]
            input label: int[N]
            output o = x |> lstm(4) |> flatten |> linear(3)
            loss = cross_entropy(o, label)
            """);
        var call = net2.Source.Split('\n').Single(l => l.Contains("K.RnnBackward("));
        Assert.Contains("_work_", call);
        Assert.Matches(@"_work_\d+, null, ", call);   // x is a network input: no dx
    }

    [Fact]
    public void Mistakes_are_located_at_the_call_and_name_both_sides()
    {
        var d = Single("""
            input x: [N, 10]
            output h = x |> lstm(20)
            """);
        Assert.Equal(("NDSL0103", 3, 17), (d.Id, d.Span.Line, d.Span.Column));
        Assert.Contains("lstm expects a 3-D input [N, T, features] (batch first), got [N, 10] (2-D)", d.Message);

        d = Single("""
            input x: [N, 4, 3]
            output e = x |> embedding(10, 4)
            """);
        Assert.Equal(("NDSL0206", 3), (d.Id, d.Span.Line));
        Assert.Equal("embedding needs int ids (declare `input ids: int[N, T]`), got a float tensor [N, 4, 3]", d.Message);

        d = Single("""
            input ids: int[N, 4]
            output h = ids |> gru(8)
            """);
        Assert.Equal(("NDSL0206", 3), (d.Id, d.Span.Line));
        Assert.Contains("gru needs a float sequence [N, T, features], got int ids [N, 4] (embed them first", d.Message);

        d = Single("""
            input x: [N, T, 3]
            output h = x |> rnn(8, nonlinearity: "sigmoid")
            """);
        Assert.Equal(("NDSL0206", 3), (d.Id, d.Span.Line));
        Assert.Equal("rnn nonlinearity must be \"tanh\" or \"relu\" (as nn.RNN), got \"sigmoid\"", d.Message);

        d = Single("""
            input x: [N, T, 3]
            output h = x |> gru(8, layers: 0)
            """);
        Assert.Equal(("NDSL0106", 3), (d.Id, d.Span.Line));
        Assert.Equal("gru needs layers >= 1, got 0", d.Message);

        // one mistake, one diagnostic: the layers after a failed rnn stay silent
        d = Single("""
            input x: [N, 3, 4, 5]
            h = x |> lstm(8) |> gru(4)
            output o = h |> flatten |> linear(2)
            """);
        Assert.Contains("lstm expects a 3-D input", d.Message);
        Assert.Contains("flatten the feature dims first", d.Message);
    }

    [Fact]
    public void The_char_rnn_example_states_pytorch_parameter_counts()
    {
        var path = System.IO.Path.Combine(RepoPaths.Examples, "CharRnn", "charlm.net");
        var text = System.IO.File.ReadAllText(path);
        var r = NetCompiler.Compile(path, text);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        // PyTorch 1.13: nn.Embedding + nn.LSTM / nn.GRU + nn.Linear of the same configuration (the file header states them)
        var expected = new (string Name, long Count)[] { ("CharLstm", 324704), ("CharGru", 250464), ("CharLstmSampler", 324704), ("CharGruSampler", 250464), ("HelloLstm", 1764), ("HelloGru", 1348) };
        foreach (var (name, count) in expected)
        {
            Assert.Equal(count, r.Networks.Single(n => n.Name == name).Summary.TotalParameters);
            if (!name.EndsWith("Sampler")) Assert.Contains($"{name}: ", text);
        }
        Assert.Contains("324,704", text); Assert.Contains("250,464", text); Assert.Contains("1,764", text); Assert.Contains("1,348", text);
        Assert.Equal("[2048, 96]", r.Networks.Single(n => n.Name == "CharLstm").Summary.Rows.Single(x => x.Layer == "fc1").OutputShape);
        Assert.Equal("[T, 96]", r.Networks.Single(n => n.Name == "CharGruSampler").Summary.Rows.Single(x => x.Layer == "fc1").OutputShape);
    }
}
