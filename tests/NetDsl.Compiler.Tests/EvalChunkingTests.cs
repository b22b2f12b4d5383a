using System.Linq;
using NetDsl.Compiler;
using Xunit.Abstractions;

namespace NetDsl.Compiler.Tests;

/// <summary>
/// Chunked inference: the compiler runs eval-mode Forward in chunks of samples only when no eval kernel mixes samples, plans
/// the chunk arenas for one chunk and the outputs for the whole batch, and states the decision in the generated header.
/// </summary>
public class EvalChunkingTests(ITestOutputHelper output)
{
    private static CompiledNetwork CompileText(string text)
    {
        var r = NetCompiler.Compile("c.net", text);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        return r.Networks.Single();
    }

    private const string Mlp = """
        network M {
            input x: [N, 784]
            input label: int[N]
            h = x |> linear(1024) |> relu |> linear(1024) |> relu
            output logits = h |> linear(10)
            loss = cross_entropy(logits, label)
        }
        """;

    [Fact]
    public void A_per_sample_network_is_chunked_and_its_eval_plan_is_measured_for_the_whole_batch()
    {
        var net = CompileText(Mlp);
        var s = net.Summary;
        output.WriteLine($"rows {s.EvalChunkRows}: {s.EvalChunkReason}; eval {s.EvalPlannedBytes(64):N0} vs training {s.PlannedBytes(64):N0} bytes at N = 64");
        // the outputs (logits [N, 10]) are the only whole-batch values
        Assert.Equal(10 * 4, s.EvalWholeBatchBytesPerSample);
        // at or below a chunk the plan is the unchunked one; above, the chunk arenas stop growing
        Assert.Equal(s.EvalPlannedBytesPerSample * 5, s.EvalPlannedBytes(5));
        long perChunk = s.EvalPlannedBytesPerSample - s.EvalWholeBatchBytesPerSample;
        Assert.True(NetworkSummary.ChunkRows(1000, s.EvalChunkRows) <= s.EvalChunkRows);
        Assert.Equal(perChunk * NetworkSummary.ChunkRows(1000, s.EvalChunkRows) + 40L * 1000, s.EvalPlannedBytes(1000));
        // 7.5 MB of weights streamed once per chunk: chunks of 64 rows at least (so batch 64 runs whole, as fast as before)
        Assert.Equal(64, s.EvalChunkRows);
        Assert.Equal(s.EvalPlannedBytesPerSample * 64, s.EvalPlannedBytes(64));
        Assert.True(s.EvalPlannedBytes(128) <= 0.5 * s.PlannedBytes(128), $"eval {s.EvalPlannedBytes(128)}, training {s.PlannedBytes(128)}");
        Assert.Contains($"public const int EvalChunkRows = {s.EvalChunkRows};", net.Source);
        Assert.Contains("// chunked inference: every op is per sample at inference", net.Source);
        Assert.Contains("RunEvalChunks(training: false);", net.Source);
    }

    [Fact]
    public void A_small_convolutional_network_gets_chunks_whose_activations_fit_the_L2_cache()
    {
        // LeNet-5: 23,560 eval bytes per sample, 93 KFLOP per kernel call per sample, 247 KB of weights. By FLOPs alone it
        // would run in chunks of 128 (3 MB of activations); rule (c) halves them while they exceed 1 MiB and a call keeps
        // >= 2 MFLOP: 32 rows (753 KB), so its eval plan at batch 64 is half of the training plan or less
        var net = CompileText("""
            network L {
                input image: [N, 1, 28, 28]
                input label: int[N]
                x = image |> conv(6, 5, pad: 2) |> relu |> maxpool(2) |> conv(16, 5) |> relu |> maxpool(2)
                x = x |> flatten |> linear(120) |> relu |> linear(84) |> relu
                output logits = x |> linear(10)
                loss = cross_entropy(logits, label)
            }
            """);
        var s = net.Summary;
        output.WriteLine($"rows {s.EvalChunkRows}: {s.EvalChunkReason}; eval {s.EvalPlannedBytes(64):N0} vs training {s.PlannedBytes(64):N0} bytes at N = 64");
        Assert.Equal(32, s.EvalChunkRows);
        long perChunk = s.EvalPlannedBytesPerSample - s.EvalWholeBatchBytesPerSample;
        Assert.True(perChunk * s.EvalChunkRows <= 1 << 20);
        Assert.True(perChunk * s.EvalChunkRows * 2 > 1 << 20);   // the largest such power of two
        Assert.True(s.EvalPlannedBytes(64) <= 0.5 * s.PlannedBytes(64), $"eval {s.EvalPlannedBytes(64)}, training {s.PlannedBytes(64)}");
    }

    [Fact]
    public void Balanced_chunks_never_leave_a_tiny_remainder()
    {
        Assert.Equal(5, NetworkSummary.ChunkRows(5, 16));
        Assert.Equal(16, NetworkSummary.ChunkRows(16, 16));
        Assert.Equal(9, NetworkSummary.ChunkRows(17, 16));    // 9 + 8, not 16 + 1
        Assert.Equal(16, NetworkSummary.ChunkRows(64, 16));
        Assert.Equal(15, NetworkSummary.ChunkRows(100, 16));  // 7 chunks: 15 × 2 + 14 × 5
        Assert.Equal(100, NetworkSummary.ChunkRows(100, 0));
    }

    [Theory]
    // a reduction over the batch dim as an output
    [InlineData("output s = sum(x |> linear(8), 0, keepdim: true)", "sum")]
    // centering over the batch (a mean over N, broadcast back)
    [InlineData("h = x |> linear(8)\n    output c = h - mean(h, 0)", "mean")]
    // the batch moved off dim 0
    [InlineData("output t = permute(x |> linear(8), (1, 0))", "permute")]
    public void A_network_with_an_op_that_mixes_samples_is_not_chunked(string body, string reason)
    {
        var net = CompileText("network X {\n    input x: [N, 16]\n    " + body + "\n}");
        var s = net.Summary;
        output.WriteLine(s.EvalChunkReason);
        Assert.Equal(0, s.EvalChunkRows);
        Assert.Contains(reason, s.EvalChunkReason);
        Assert.Equal(s.EvalPlannedBytesPerSample * 64, s.EvalPlannedBytes(64));
        Assert.Contains("public const int EvalChunkRows = 0;", net.Source);
        Assert.Contains("// inference runs the whole batch at once (not chunked: ", net.Source);
        Assert.DoesNotContain("RunEvalChunks", net.Source);
    }

    [Fact]
    public void Debug_mode_does_not_chunk()
    {
        var r = NetCompiler.Compile("c.net", Mlp, new CompileOptions { Debug = true });
        Assert.Equal(0, r.Networks.Single().Summary.EvalChunkRows);
    }
}
