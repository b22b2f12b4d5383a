using System.Linq;
using System.Text.RegularExpressions;
using NetDsl.Compiler;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Tests;

/// <summary>The tensor-op family (Ops/TensorOps.cs): shape rules, diagnostics at the call with both shapes, fusion, destructuring.</summary>
public class TensorTests
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

    private static string Source(string body)
    {
        var r = NetCompiler.Compile("t.net", "network Net {\n" + body + "\n}");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        return r.Networks.Single().Source;
    }

    [Fact]
    public void Broadcasting_aligns_from_the_right_and_stretches_ones()
    {
        Assert.Equal(S(3, 4, 5), ShapeRules.Broadcast("add", S(3, 4, 5), Shape.Of(5)).Shape);
        Assert.Equal(S(3, 4, 5), ShapeRules.Broadcast("mul", S(1, 4, 1), Shape.Of(3, 1, 5)).Shape);
        Assert.Equal(S(3), ShapeRules.Broadcast("sub", Shape.Of(Dim.Of(1), Dim.Of(3)), S(1)).Shape);
        Assert.Equal(S(2), ShapeRules.Broadcast("add", S(2), Shape.Of(N, Dim.Of(1))).Shape);
        var r = ShapeRules.Broadcast("mul", S(3, 4), Shape.Of(5, 4));
        Assert.Equal(DiagnosticIds.AddShapeMismatch, r.ErrorId);
        Assert.Equal("cannot multiply [N, 3, 4] and [5, 4]: aligned from the right, dim 1 of the result differ (3 vs 5: neither is 1, so they do not broadcast)", r.Error);
        r = ShapeRules.Broadcast("add", S(4), Shape.Of(3, 4));
        Assert.Contains("shapes differ in dim 0 (N vs 3: a symbolic dim matches only itself or 1)", r.Error);
    }

    [Fact]
    public void Broadcast_mismatch_is_located_at_the_operator_and_names_both_shapes_and_the_dim()
    {
        var d = Single("""
            input x: [N, 3, 4]
            y = x |> flatten |> linear(5)
            output o = x * y
            """);
        Assert.Equal("NDSL0102", d.Id);
        Assert.Equal((4, 12), (d.Span.Line, d.Span.Column));
        Assert.Equal("cannot multiply [N, 3, 4] and [N, 5]: aligned from the right, dims 1, 2 of the result differ (3 vs N; 4 vs 5: a symbolic dim matches only itself or 1)", d.Message);
        d = Single("""
            input x: [N, 3, 4]
            output o = sub(x, x |> permute((0, 2, 1)))
            """);
        Assert.Equal((3, 12), (d.Span.Line, d.Span.Column));
        Assert.Equal("cannot subtract [N, 3, 4] and [N, 4, 3]: shapes differ in dims 1, 2 (3 vs 4; 4 vs 3: neither is 1, so they do not broadcast)", d.Message);
    }

    [Fact]
    public void Matmul_shapes_batch_broadcasting_and_diagnostics()
    {
        Assert.Equal(S(4, 7), ShapeRules.MatMul(S(4, 6), Shape.Of(6, 7)).Shape);
        Assert.Equal(Shape.Of(N, Dim.Of(2), Dim.Of(4), Dim.Of(7)), ShapeRules.MatMul(S(1, 4, 6), Shape.Of(2, 6, 7)).Shape);
        var d = Single("""
            input x: [N, 4, 6]
            output o = matmul(x, x)
            """);
        Assert.Equal("NDSL0101", d.Id);
        Assert.Equal((3, 12), (d.Span.Line, d.Span.Column));
        Assert.Equal("cannot matmul [N, 4, 6] and [N, 4, 6]: the inner dims differ (dim 2 of the first is 6, dim 1 of the second is 4)", d.Message);
        Assert.Equal(DiagnosticIds.RankMismatch, ShapeRules.MatMul(Shape.Of(N), Shape.Of(3, 4)).ErrorId);
        Assert.Contains("do not broadcast", ShapeRules.MatMul(Shape.Of(2, 3, 4, 6), Shape.Of(2, 6, 5)).Error);
    }

    [Fact]
    public void Reshape_infers_minus_one_and_keeps_symbols()
    {
        Dim? D(int v) => v == -1 ? null : Dim.Of(v);
        Assert.Equal(S(4, 15), ShapeRules.Reshape(S(3, 4, 5), new Dim?[] { N, D(4), D(-1) }).Shape);
        Assert.Contains("the symbolic dims must stay dims of their own", ShapeRules.Reshape(S(3, 4), new Dim?[] { D(-1), D(4) }).Error);
        Assert.Contains("is not a multiple of 7", ShapeRules.Reshape(S(3, 4), new Dim?[] { N, D(7), D(-1) }).Error);
        Assert.Contains("at most one dim can be -1", ShapeRules.Reshape(S(3, 4), new Dim?[] { N, D(-1), D(-1) }).Error);
        var d = Single("""
            input x: [N, 3, 4]
            output o = x |> reshape([N, 5, 2])
            """);
        Assert.Equal("NDSL0101", d.Id);
        Assert.Equal("cannot reshape [N, 3, 4] (12 elements per N) to [N, 5, 2] (10)", d.Message);
    }

    [Fact]
    public void Permute_slice_split_reduce_gram_and_scale_channels_shapes()
    {
        Assert.Equal(S(5, 3, 4), ShapeRules.Permute(S(3, 4, 5), new[] { 0, 3, 1, 2 }, out _).Shape);
        Assert.True(ShapeRules.Permute(S(3, 4), new[] { 0, 1, 1 }, out _).IsError);
        Assert.Equal(S(3, 2), ShapeRules.Slice(S(3, 7), 2, 1, 6, 3, out var st).Shape);
        Assert.Equal(1, st);
        Assert.Equal(S(3, 3), ShapeRules.Slice(S(3, 7), -1, -3, null, 1, out st).Shape);
        Assert.Equal(4, st);
        Assert.Equal(DiagnosticIds.SymbolicDimNotAllowed, ShapeRules.Slice(S(3), 0, 0, 1, 1, out _).ErrorId);
        Assert.Contains("is empty", ShapeRules.Slice(S(3), 1, 2, 2, 1, out _).Error);
        Assert.False(ShapeRules.SplitSizes(S(5), 1, new[] { 2 }, true, out var parts).IsError);
        Assert.Equal(new[] { 2, 2, 1 }, parts);
        Assert.Contains("add up to 4, but axis 1", ShapeRules.SplitSizes(S(5), 1, new[] { 1, 3 }, false, out _).Error);
        Assert.Equal(S(3), ShapeRules.Reduce("mean", S(3, 4, 5), new[] { 2, -1 }, false, out var keep, out _).Shape);
        Assert.Equal(S(3, 1, 1), keep);
        Assert.Equal(Shape.Of(3, 4), ShapeRules.Reduce("sum", S(3, 4), new[] { 0 }, false, out _, out _).Shape);
        Assert.Contains("pass keepdim: true", ShapeRules.Reduce("sum", S(3), new[] { 0, 1 }, false, out _, out _).Error);
        Assert.Equal(S(4, 4), ShapeRules.Gram(S(4, 5, 6)).Shape);
        Assert.Equal(S(4, 5, 6), ShapeRules.ScaleChannels(S(4, 5, 6), S(4)).Shape);
        Assert.Contains("needs scales [N, 4], got [N, 5]", ShapeRules.ScaleChannels(S(4, 5, 6), S(5)).Error);
        Assert.Equal(S(3, 20), ShapeRules.Flatten(S(3, 4, 5), 2).Shape);
    }

    [Fact]
    public void Call_site_diagnostics_for_views_and_copies()
    {
        var d = Single("""
            input x: [N, 3, 4]
            output o = x |> slice(1, 0, 9, 0)
            """);
        Assert.Equal(("NDSL0106", 3, 17), (d.Id, d.Span.Line, d.Span.Column));
        Assert.Contains("slice step must be >= 1", d.Message);
        d = Single("""
            input x: [N, 3, 4]
            output o = concat(x, x |> transpose(1, 2), axis: -1)
            """);
        Assert.Equal("NDSL0105", d.Id);
        Assert.Contains("cannot concat [N, 3, 4] and [N, 4, 3] (input 2) on axis 2", d.Message);
        d = Single("""
            input x: [N, 3, 4]
            a, b = split(x, (1, 2, 1), 2)
            output o = a
            """);
        Assert.Equal("NDSL0206", d.Id);
        Assert.Equal("a, b = … needs a tuple of 2 items, got tuple of 3", d.Message);
        d = Single("""
            input x: [N, 3, 4]
            output o = x |> mean((1, 1))
            """);
        Assert.Contains("mean axes (1, 1) must be distinct dims of [N, 3, 4]", d.Message);
        d = Single("""
            input x: [N, 3, 4]
            output o = 2 / x
            """);
        Assert.Contains("a number divided by a tensor is not supported", d.Message);
    }

    [Fact]
    public void Same_shape_arithmetic_fuses_into_one_loop_and_a_scale_into_the_gemm()
    {
        var s = Source("""
            input x: [N, 8]
            input y: int[N]
            a = x |> linear(6)
            b = 0.5 * (x |> linear(6))
            c = a * b - (a - 1)
            output o = c |> linear(3)
            loss = cross_entropy(o, y)
            """);
        // 0.5 * linear(...) is the GEMM's epilogue; in a * b - (a - 1) the mul fuses into the sub (the fuser takes one producer per loop)
        Assert.Contains("new ScaleOp(), new ScaleOpGpu());", s);
        Assert.Matches(@"// k\d+: linear fc2 \+ scale", s);
        var forward = s.Substring(0, s.IndexOf("private void RunBackward", System.StringComparison.Ordinal));
        forward = forward.Substring(forward.IndexOf("private void RunForward", System.StringComparison.Ordinal));
        Assert.Equal(2, Regex.Matches(forward, @"K\.Map\(").Count);
        Assert.Contains("new MulSubOp(), new MulSubOpGpu());", forward);
        Assert.Contains("new AffineOp(), new AffineOpGpu());", forward);
        Assert.DoesNotContain("BroadcastBinary", s);
    }

    [Fact]
    public void Broadcasting_uses_library_kernels_whose_backward_sums_the_broadcast_dims()
    {
        var s = Source("""
            input x: [N, 2, 3]
            input y: int[N]
            h = x |> flatten |> linear(6) |> reshape([N, 2, 3])
            b = x |> flatten |> linear(3) |> reshape([N, 1, 3])
            output o = (h * b + b) |> flatten |> linear(3)
            loss = cross_entropy(o, y)
            """);
        Assert.Contains("BinaryOp.Mul);", s);
        Assert.Contains("BinaryOp.Add);", s);
        Assert.Matches(@"// k\d+: sum_to \(t\.net line 6\): \[N, 2, 3\] -> \[N, 1, 3\]", s);
    }

    [Fact]
    public void Split_destructures_and_multi_head_attention_compiles()
    {
        var s = Source("""
            input x: [N, 4, 6]
            input y: int[N]
            q, k, v = split(x |> flatten |> linear(72) |> reshape([N, 4, 18]), 6, 2)
            h = q |> reshape([N, 4, 2, 3]) |> transpose(1, 2)
            kk = k |> reshape([N, 4, 2, 3]) |> permute((0, 2, 3, 1))
            vv = v |> reshape([N, 4, 2, 3]) |> transpose(1, 2)
            a = matmul(h, kk) * 0.5 |> sigmoid
            z = matmul(a, vv) |> transpose(1, 2) |> reshape([N, 4, 6]) |> sum(-1)
            output o = z |> linear(3)
            loss = cross_entropy(o, y)
            """);
        Assert.Equal(3, Regex.Matches(GeneratedSource.WithoutEval(s), @"K\.Slice\(").Count);
        Assert.Equal(3, Regex.Matches(s, @"K\.SliceBackward\(").Count);
        Assert.Contains("K.Permute(", s);
        Assert.Contains("K.MatMulBackwardA(", s);
    }
}
