using System.Linq;
using System.Text.RegularExpressions;
using NetDsl.Compiler;

namespace NetDsl.Compiler.Tests;

/// <summary>What the fuser groups, seen in the generated code.</summary>
public class FusionTests
{
    private static string Source(string body) =>
        NetCompiler.Compile("f.net", "network F {\n" + body + "\n}").Networks.Single().Source;

    private static int Count(string source, string pattern) => Regex.Matches(source, pattern).Count;

    [Fact]
    public void Conv_and_linear_take_their_activation_as_an_epilogue()
    {
        var s = Source("""
            input x: [N, 2, 8, 8]
            input y: int[N]
            h = x |> conv(4, 3) |> relu |> flatten |> linear(5) |> sigmoid
            output o = h |> linear(3)
            loss = cross_entropy(o, y)
            """);
        Assert.Contains("K.Conv2dForward(_x_0, Conv1.Weight.Value, Conv1.Bias!.Value, _relu1_", s);
        Assert.Contains("new ReluOp(), new ReluOpGpu());", s);
        Assert.Contains("new SigmoidOp(), new SigmoidOpGpu());", s);
        Assert.Equal(0, Count(s, @"K\.Map\(_\w+, _\w+, new (Relu|Sigmoid)Op\(\)")); // no separate activation loop
        Assert.Contains("// k0: conv2d conv1 + relu relu1 (f.net line 4)", s);
    }

    [Fact]
    public void Batchnorm_backward_takes_the_relu_gradient_as_a_prologue()
    {
        // a residual block: relu after bn1 (its gradient feeds only bn1's backward: no buffer), and relu(bn2 + x), whose
        // gradient feeds bn2's backward and the shortcut (the fused kernel also writes it)
        var s = Source("""
            input x: [N, 4, 6, 6]
            input y: int[N]
            z = x |> conv(4, 3, pad: 1)
            h = z |> conv(4, 3, pad: 1, bias: false) |> batchnorm |> relu |> conv(4, 3, pad: 1, bias: false) |> batchnorm
            r = relu(h + z)
            output o = r |> globalavgpool |> linear(3)
            loss = cross_entropy(o, y)
            """);
        Assert.Contains("// k2: batchnorm bn1 + relu relu1 (f.net line 5)", s);                // forward: the relu is bn1's epilogue
        Assert.Matches(@"K\.BatchNormForward\([^;]*training, [^;]*, new ReluOp\(\), new ReluOpGpu\(\)\);", s);
        // the inner relu's gradient feeds only bn1's backward: fused, no loop and no buffer (dyOut null)
        Assert.Equal(1, Count(s, @"K\.BatchNormBackward\([^;]*new ReluBwdOp\(\), new ReluBwdOpGpu\(\)\);"));
        Assert.Matches(@"// k\d+: relu_bwd \+ batchnorm_bwd \(f\.net line 5\)", s);
        Assert.Matches(@"line 5\)[^\n]*\n\s*K\.BatchNormBackward\((?:[^,;]+, ){6}null, ", s);   // a, b, x, weight, mean, invstd, then dyOut
        // relu(h + z)'s gradient also feeds the shortcut: it stays its own loop (FuseSharedDy is off), bn2's backward reads it
        Assert.Equal(1, Count(s, @"K\.Map\([^;]*new ReluBwdOp\(\)"));
        Assert.DoesNotMatch(@"relu_bwd \+ batchnorm_bwd \(f\.net line 5,6\)", s);
    }

    [Fact]
    public void Elementwise_chains_become_one_loop_with_up_to_three_inputs()
    {
        var s = Source("""
            input a: [N, 16]
            input b: [N, 16]
            output o = relu(a + b) |> tanh
            """);
        Assert.Equal(1, Count(GeneratedSource.WithoutEval(s), @"K\.Map\("));
        Assert.Equal(1, Count(GeneratedSource.Eval(s), @"K\.Map\("));
        Assert.Contains("K.Map(_a_0, _b_1, _tanh1_", s);
        Assert.Contains("AddReluTanhOp", s);
        Assert.Contains("var t0 = a + b;", s);
    }

    [Fact]
    public void Gradient_accumulation_of_a_value_used_three_times_is_one_loop()
    {
        var s = Source("""
            input x: [N, 8]
            input y: int[N]
            h = x |> linear(8)
            o = (h |> linear(3)) + (h |> linear(3)) + (h |> linear(3))
            output logits = o
            loss = cross_entropy(logits, y)
            """);
        // forward o = (A + B) + C and backward dh = dfc4 + dfc3 + dfc2: each one three-input loop instead of two
        Assert.Equal(2, Count(GeneratedSource.WithoutEval(s), @"new AddAddOp\(\)"));
        Assert.Equal(0, Count(s, @"new AddOp\(\)"));
    }

    [Fact]
    public void Each_functor_is_emitted_once_and_shared()
    {
        var s = Source("""
            input x: [N, 8]
            output o = x |> linear(8) |> relu |> linear(8) |> relu |> linear(8) |> relu
            """);
        Assert.Equal(1, Count(s, "private readonly struct ReluOp "));
        Assert.Equal(3, Count(GeneratedSource.WithoutEval(s), "new ReluOp\\(\\)"));
        Assert.Equal(3, Count(GeneratedSource.Eval(s), "new ReluOp\\(\\)"));   // the eval program shares the functor
    }
}
