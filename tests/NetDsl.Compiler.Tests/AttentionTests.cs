using System.IO;
using System.Linq;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>The attention family (Ops/Attention.cs): shape rules, located diagnostics naming both shapes, parameters and
/// names of the layers, and the transformer examples' parameter counts (PyTorch 1.13, examples/Transformers/reference_counts.py).</summary>
public class AttentionTests
{
    private static readonly Dim N = Dim.Sym("N");
    private static Shape S(params int[] d) => Shape.Of(new[] { N }.Concat(d.Select(Dim.Of)).ToArray());

    private static Diagnostic[] Errors(string body) =>
        NetCompiler.Compile("t.net", "network Net {\n" + body + "\n}").Diagnostics.Where(d => d.Severity == Severity.Error).ToArray();

    private static Diagnostic Single(string body)
    {
        var e = Errors(body);
        Assert.True(e.Length == 1, "expected one error, got:\n" + string.Join("\n", e.Select(x => x.ToString())));
        return e[0];
    }

    private static CompiledNetwork Net(string body)
    {
        var r = NetCompiler.Compile("t.net", "network Net {\n" + body + "\n}");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        return r.Networks.Single();
    }

    [Fact]
    public void Attention_shape_rule_keeps_the_query_rows_and_takes_the_value_width()
    {
        Assert.Equal(S(2, 4, 5), ShapeRules.Attention(S(2, 4, 3), S(2, 7, 3), S(2, 7, 5), "none").Shape);
        Assert.Equal(S(4, 3), ShapeRules.Attention(S(4, 3), S(6, 3), S(6, 3), "causal").Shape);
        Assert.Equal(S(2, 4, 7), ShapeRules.AttentionProbs(S(2, 4, 3), S(2, 7, 3)));
        var r = ShapeRules.Attention(S(4, 3), S(6, 5), S(6, 3), "none");
        Assert.Equal(DiagnosticIds.ShapeMismatch, r.ErrorId);
        Assert.Equal("attention needs q and k of the same feature size: q [N, 4, 3] has 3, k [N, 6, 5] has 5", r.Error);
        r = ShapeRules.Attention(S(4, 3), S(6, 3), S(5, 3), "none");
        Assert.Equal("attention needs a value per key: k [N, 6, 3] has 6 keys, v [N, 5, 3] has 5", r.Error);
        r = ShapeRules.Attention(S(2, 4, 3), S(3, 4, 3), S(3, 4, 3), "none");
        Assert.Equal("attention: k [N, 3, 4, 3] and q [N, 2, 4, 3] differ in the batch dims ([N, 3] vs [N, 2])", r.Error);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.Attention(S(3), S(3), S(3), "none").ErrorId);
        Assert.Equal(DiagnosticIds.InvalidGeometry, ShapeRules.Attention(S(4, 3), S(4, 3), S(4, 3), "future").ErrorId);
    }

    [Fact]
    public void Multihead_and_sequence_rules()
    {
        Assert.Equal(S(5, 8), ShapeRules.MultiheadAttention(S(5, 8), S(7, 8), 2).Shape);
        Assert.Equal("multi-head attention needs D divisible by heads: D = 8 ([N, 5, 8]), heads = 3", ShapeRules.MultiheadAttention(S(5, 8), null, 3).Error);
        Assert.Equal("cross-attention needs kv [N, S, 8] for x [N, 5, 8], got [N, 7, 6]", ShapeRules.MultiheadAttention(S(5, 8), S(7, 6), 2).Error);
        Assert.Equal(S(16, 32), ShapeRules.PatchEmbed(S(3, 16, 16), 4, 32).Shape);
        Assert.Equal("patch_embed needs H and W divisible by the patch: [N, 3, 16, 18] and patch 4", ShapeRules.PatchEmbed(S(3, 16, 18), 4, 32).Error);
        Assert.Equal("learned_positions has 4 positions (max_len) but the sequence [N, 6, 8] has 6", ShapeRules.LearnedPositions(S(6, 8), 4).Error);
        Assert.Equal(S(6), ShapeRules.AdditiveAttention(S(5), S(4, 6), 3).Shape);
        Assert.Equal("additive_attention: query [M, 5] and keys [N, 4, 6] differ in the batch dim",
            ShapeRules.AdditiveAttention(Shape.Of(Dim.Sym("M"), Dim.Of(5)), S(4, 6), 3).Error);
    }

    [Fact]
    public void Diagnostics_are_located_at_the_call_and_name_both_shapes()
    {
        var d = Single("input x: [N, 4, 6]\ninput y: [N, 5, 3]\na = attention(x, y, y)\noutput o = a");
        Assert.Equal(DiagnosticIds.ShapeMismatch, d.Id);
        Assert.Equal((4, 5), (d.Span.Line, d.Span.Column));
        Assert.Contains("q [N, 4, 6] has 6, k [N, 5, 3] has 3", d.Message);

        d = Single("input x: [N, 4, 6]\noutput o = x |> attention(4)");
        Assert.Equal(DiagnosticIds.InvalidGeometry, d.Id);
        Assert.Equal(3, d.Span.Line);
        Assert.Contains("D = 6 ([N, 4, 6]), heads = 4", d.Message);

        d = Single("input x: [N, 4, 6]\ninput m: [N, 5, 8]\noutput o = multihead_attention(x, 2, kv: m)");
        Assert.Contains("cross-attention needs kv [N, S, 6] for x [N, 4, 6], got [N, 5, 8]", d.Message);

        d = Single("input x: [N, 4, 6]\ninput len: int[M]\noutput o = attention(x, x, x, lengths: len)");
        Assert.Contains("attention lengths must be int[N] (one per sample of [N, 4, 6]), got [M]", d.Message);
        d = Single("input x: [N, 4, 6]\ninput len: [N]\noutput o = attention(x, x, x, lengths: len)");
        Assert.Equal(DiagnosticIds.TypeMismatch, d.Id);

        d = Single("input x: [N, 4, 6]\noutput o = attention(x, x)");
        Assert.Equal(DiagnosticIds.MissingArgument, d.Id);
        d = Single("input x: [N, 4, 6]\noutput o = attention(x, x, x, heads: 2)");
        Assert.Equal(DiagnosticIds.TooManyArguments, d.Id);
        d = Single("input x: [N, 4, 6]\noutput o = x |> attention(2, dropout: 1.5)");
        Assert.Equal(DiagnosticIds.InvalidGeometry, d.Id);
        d = Single("input x: [N, 4, 6]\noutput o = attention(x, x, x, mask: \"future\")");
        Assert.Contains("\"none\" or \"causal\"", d.Message);
        d = Single("input x: [N, 3, 8, 9]\noutput o = x |> patch_embed(4, 16)");
        Assert.Equal(DiagnosticIds.InvalidGeometry, d.Id);
        d = Single("input x: [N, 6]\noutput o = x |> positional_encoding");
        Assert.Equal(DiagnosticIds.RankMismatch, d.Id);
        // one mistake, one diagnostic: layers after a failed attention are not reported again
        Assert.Single(Errors("input x: [N, 4, 6]\na = x |> attention(4)\nb = a |> attention(2) |> linear(3)\noutput o = b"));
    }

    [Fact]
    public void Multihead_attention_has_nn_MultiheadAttention_parameters_and_one_summary_row()
    {
        var net = Net("input x: [N, 4, 8]\ninput m: [N, 6, 8]\nh = x |> attention(2)\noutput o = multihead_attention(h, 4, kv: m, bias: false)");
        var ps = net.Summary.Rows;
        var self = Assert.Single(ps, r => r.Layer == "attn1");
        Assert.Equal(4 * 8 * 8 + 4 * 8, self.Parameters);
        Assert.Equal("self_attention", self.Op);
        // in-projection 4·3·64, scores and values 2 heads · 4·4·(4 + 4), out-projection 4·64
        Assert.Equal(4 * 3 * 64 + 2 * 4 * 4 * 8 + 4 * 64, self.Macs);
        var cross = Assert.Single(ps, r => r.Layer == "attn2");
        Assert.Equal(4 * 8 * 8, cross.Parameters);
        Assert.Equal(4 * 8 * 8 + 4 * 8 + 4 * 8 * 8, net.Summary.TotalParameters);
        Assert.Contains("\"attn1.in_proj_weight\", new[] { 24, 8 }", net.Source);
        Assert.Contains("\"attn1.in_proj_bias\", new[] { 24 }", net.Source);
        Assert.Contains("\"attn1.out_proj.weight\", new[] { 8, 8 }", net.Source);
        Assert.DoesNotContain("attn2.in_proj_bias", net.Source);
        // the fused kernel: one call forward, one backward (no separate softmax)
        Assert.Equal(2, GeneratedSource.WithoutEval(net.Source).Split("K.AttentionForward(").Length - 1);
    }

    [Fact]
    public void Language_md_encoder_block_compiles()
    {
        var r = NetCompiler.Compile("e.net", @"
block Encoder(heads: int, ff: int, p: float = 0.1)(x: [N, T, D]) {
    x = x + (x |> layernorm |> attention(heads) |> dropout(p))
    x = x + (x |> layernorm |> linear(ff) |> gelu |> linear(D) |> dropout(p))
    return x
}
network E {
    input x: [N, 16, 32]
    output y = x |> Encoder(4, 64)
}");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        Assert.Equal(4 * 32 * 32 + 4 * 32 + 2 * 64 + 32 * 64 + 64 + 64 * 32 + 32, r.Networks.Single().Summary.TotalParameters);
    }

    private static CompileResult Example(string file) =>
        NetCompiler.Compile(file, File.ReadAllText(Path.Combine(RepoPaths.Examples, "Transformers", file)));

    // counts from PyTorch 1.13 modules of the same configuration (torchvision 0.14 for ViT): examples/Transformers/reference_counts.py
    [Theory]
    [InlineData("encoder.net", "EncoderBlock", 792_330L, 109_054_464L)]
    [InlineData("encoder.net", "EncoderTiny", 2_292L, 18_496L)]
    [InlineData("gpt.net", "Gpt", 163_037_184L, 145_824_153_600L)]
    [InlineData("gpt.net", "GptTiny", 6_912L, 54_016L)]
    [InlineData("bert.net", "Bert", 109_482_242L, 11_174_217_216L)]
    [InlineData("bert.net", "BertTiny", 5_123L, 37_168L)]
    [InlineData("vit.net", "ViT", 86_567_656L, 17_563_828_224L)]
    [InlineData("vit.net", "ViTTiny", 5_428L, 25_216L)]
    [InlineData("transformer.net", "Transformer", 45_677_544L, 1_477_312_512L)]
    [InlineData("transformer.net", "TransformerTiny", 5_975L, 29_680L)]
    public void Transformer_examples_have_pytorch_parameter_counts(string file, string network, long parameters, long macs)
    {
        var result = Example(file);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        var net = Assert.Single(result.Networks, n => n.Name == network);
        Assert.Equal(parameters, net.Summary.TotalParameters);
        Assert.Equal(parameters, net.Summary.Rows.Sum(r => r.Parameters));
        Assert.Equal(macs, net.Summary.TotalMacs);
    }

    [Fact]
    public void The_base_transformer_core_matches_nn_Transformer()
    {
        // nn.Transformer(512, 8, 6, 6, 2048) has 44,140,544 parameters; ours adds two 1000x512 embeddings and a 512->1000 head
        var net = Example("transformer.net").Networks.Single(n => n.Name == "Transformer");
        long extra = 2L * 1000 * 512 + 512 * 1000 + 1000;
        Assert.Equal(44_140_544L, net.Summary.TotalParameters - extra);
    }
}
