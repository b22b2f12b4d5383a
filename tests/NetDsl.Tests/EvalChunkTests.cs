using System.Numerics;
using System.Reflection;
using NetDsl.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// Chunked inference: eval-mode Forward of a network whose ops are all per sample runs the batch in chunks (EvalChunkRows,
/// or EvalChunkSize), its arenas sized for one chunk and the outputs for the whole batch. The outputs equal the unchunked
/// run's bit for bit (EvalChunkSize = 0), for batches below, at and above the chunk, not multiples of it, and batch 1.
/// </summary>
[Collection(SerialCollection.Name)]
public class EvalChunkTests(ITestOutputHelper output)
{
    private static readonly int[] Batches = [1, 3, 16, 17, 33, 50, 64, 100, 129, 200];

    private static Tensor<T> Random<T>(int[] shape, int seed) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Tensor<T>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), seed).Select(T.CreateChecked).ToArray(), shape);

    /// <summary>
    /// Each batch's eval output in chunks (the compiler's chunk size, and chunks of 16 so that the small batches split too)
    /// and whole (EvalChunkSize = 0), in alternating order: the same bits.
    /// </summary>
    private void Check<T>(NetworkBase<T> net, int[] inputShape, int[]? batches = null) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        dynamic dn = net;
        int compiled = (int)net.GetType().GetField("EvalChunkRows", BindingFlags.Public | BindingFlags.Static | BindingFlags.FlattenHierarchy)!.GetValue(null)!;
        Assert.True(compiled >= 16);
        Assert.Equal(compiled, (int)dn.EvalChunkSize);
        net.Eval();
        foreach (int chunk in new[] { compiled, 16 })
            foreach (int n in batches ?? Batches)
            {
                var x = Random<T>(inputShape.Select(d => d < 0 ? n : d).ToArray(), 100 + n);
                var before = x.CopyToHost();
                dn.EvalChunkSize = chunk;
                Tensor<T> y = dn.Forward(x);
                var chunked = y.CopyToHost();
                Assert.Equal(n, y.Shape[0]);
                dn.EvalChunkSize = 0;
                var whole = ((Tensor<T>)dn.Forward(x)).CopyToHost();
                Assert.Equal(whole, chunked);
                dn.EvalChunkSize = chunk;
                Assert.Equal(chunked, ((Tensor<T>)dn.Forward(x)).CopyToHost());   // again, after the whole-batch plan
                Assert.Equal(before, x.CopyToHost());                              // the caller's input untouched
            }
        output.WriteLine($"{net.GetType().Name}: chunks of {compiled} and 16, batches {string.Join(", ", batches ?? Batches)}: equal");
    }

    [Fact] public void LeNet5_chunked_equals_whole_float() => Check(new LeNet5<float>(Device.Cpu, seed: 1), LeNet5<float>.ImageShape);
    [Fact] public void LeNet5_chunked_equals_whole_double() => Check(new LeNet5<double>(Device.Cpu, seed: 2), LeNet5<double>.ImageShape);

    /// <summary>1024-wide layers (packed GEMM, split by columns), a folded batchnorm and a narrow head.</summary>
    [Fact]
    public void Mlp_with_a_folded_batchnorm_chunked_equals_whole()
    {
        var net = new PackedMlp<float>(Device.Cpu, seed: 3);
        // running statistics that are not the identity, so the folding matters
        net.Train();
        net.TrainStep(Random<float>([32, 200], 7), Tensor<int>.FromArray(Enumerable.Range(0, 32).Select(i => i % 10).ToArray(), [32]));
        Check(net, PackedMlp<float>.XShape);
    }

    /// <summary>The flatten of the input is a view of the caller's tensor: per chunk it views the chunk's rows.</summary>
    [Fact] public void A_view_of_the_input_follows_the_chunks() => Check(new TinyMlp<double>(Device.Cpu, seed: 4), TinyMlp<double>.XShape);

    [Fact]
    public void ResNet20_chunked_equals_whole()
    {
        var net = OpReferenceTests.Create<float>("ResNet20", Device.Cpu, seed: 5);
        Check(net, [-1, 3, 32, 32], [1, 17, 40]);
    }

    [Fact]
    public void The_eval_arenas_hold_one_chunk_and_the_outputs_the_whole_batch()
    {
        var net = new LeNet5<float>(Device.Cpu, seed: 6);
        net.Eval();
        int rows = LeNet5.EvalChunkRows;
        var y = net.Forward(Random<float>([10 * rows, 1, 28, 28], 1));
        Assert.Equal([10 * rows, 10], y.Shape);
        long elements = net.GetType().GetFields(BindingFlags.NonPublic | BindingFlags.Instance)
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(f.Name, @"^_evalArena\d+$"))
            .Sum(f => (long)((Tensor<float>)f.GetValue(net)!).Length);
        Assert.Equal(LeNet5.EvalPlannedBytes(10 * rows), 4 * elements);
        Assert.True(4 * elements < LeNet5.EvalPlannedBytesPerSample * 10 * rows / 5);
        output.WriteLine($"batch {10 * rows}: eval arenas {4 * elements:N0} bytes, training plan {LeNet5.PlannedBytesPerSample * 10 * rows:N0}");

        // a caller short of memory: chunks of 32 at batch 64 (fresh network: the arenas only grow)
        var small = new LeNet5<float>(Device.Cpu, seed: 6) { EvalChunkSize = 32 };
        small.Eval();
        small.Forward(Random<float>([64, 1, 28, 28], 2));
        long bytes = 4 * small.GetType().GetFields(BindingFlags.NonPublic | BindingFlags.Instance)
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(f.Name, @"^_evalArena\d+$"))
            .Sum(f => (long)((Tensor<float>)f.GetValue(small)!).Length);
        long whole = LeNet5.EvalPlannedBytesPerSample * 64, training = LeNet5.PlannedBytesPerSample * 64;
        output.WriteLine($"batch 64 in chunks of 32: eval arenas {bytes:N0} bytes ({(double)bytes / training:F2}x the training plan's {training:N0}; whole batch {whole:N0}, {(double)whole / training:F2}x)");
        Assert.Equal((LeNet5.EvalPlannedBytesPerSample - 40) * 32 + 40 * 64, bytes);
        Assert.True(bytes <= training / 2);
    }
}
