using NetDsl.Compiler;
using Xunit;

namespace NetDsl.Compiler.Tests;

/// <summary>relu then max pooling is compiled as max pooling then relu (they commute), unless the relu's output is read elsewhere.</summary>
public class PoolBeforeReluTests
{
    private static string Source(string body)
    {
        var r = NetCompiler.Compile("t.net", "network Net {\n" + body + "\n}\n");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == Severity.Error);
        return r.Networks.Single().Source;
    }

    [Fact]
    public void Relu_runs_on_the_pooled_map()
    {
        var s = Source("""
            input x: [N, 3, 8, 8]
            input label: int[N]
            output y = x |> conv(4, 3, pad: 1) |> relu |> maxpool(2) |> flatten |> linear(2)
            loss = cross_entropy(y, label)
            """);
        int pool = s.IndexOf("K.MaxPool2dForward(", StringComparison.Ordinal), relu = s.IndexOf("new ReluOp()", StringComparison.Ordinal);
        Assert.True(pool > 0 && relu > pool, "max pooling runs before the relu");
        Assert.Contains("// k2: relu relu1 (t.net line 4): [N, 4, 4, 4] -> [N, 4, 4, 4]", s);
        Assert.DoesNotContain("conv2d conv1 + relu", s);   // the convolution has no relu epilogue left to fuse
    }

    [Fact]
    public void A_relu_read_by_another_layer_stays_before_the_pooling()
    {
        var s = Source("""
            input x: [N, 3, 8, 8]
            input label: int[N]
            r = x |> conv(4, 3, pad: 1) |> relu
            p = r |> maxpool(2) |> flatten |> linear(2)
            q = r |> globalavgpool |> linear(2)
            output y = p + q
            loss = cross_entropy(y, label)
            """);
        Assert.Contains("conv2d conv1 + relu relu1", s);   // relu still fused into the convolution, pooled afterwards
    }
}
