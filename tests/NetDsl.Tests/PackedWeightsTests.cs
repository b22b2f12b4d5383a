using System.Reflection;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;

namespace NetDsl.Tests;

/// <summary>
/// Eval-mode Forward keeps each parameter (or folded) weight of a GEMM linear layer packed between calls and repacks it when
/// a write to the network's parameters or buffers is recorded (the fold cache's key). Serial: the key is partly process-wide.
/// </summary>
[Collection(SerialCollection.Name)]
public class PackedWeightsTests
{
    private static List<PackedWeights<T>> Slots<T>(object net) where T : unmanaged =>
        net.GetType().GetFields(BindingFlags.Instance | BindingFlags.NonPublic)
            .Where(f => f.FieldType == typeof(PackedWeights<T>)).Select(f => (PackedWeights<T>)f.GetValue(net)!).ToList();

    /// <summary>The eval output with packing per call (no slot used), as training packs: the packed GEMM panels must give the same bits.</summary>
    private static T[] Unpacked<T>(NetworkBase<T> net, Tensor<T> x) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        PackedWeights<T>.Enabled = false;
        try { return ((Tensor<T>)((dynamic)net).Forward(x)).CopyToHost(); }
        finally { PackedWeights<T>.Enabled = true; }
    }

    /// <summary>A network of the same class with the same parameters and buffers, never run: its first eval call packs afresh.</summary>
    private static T[] Fresh<T>(NetworkBase<T> net, Tensor<T> x) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var other = (NetworkBase<T>)Activator.CreateInstance(net.GetType(), Device.Cpu, 99)!;
        for (int i = 0; i < net.Parameters.Count; i++) other.Parameters[i].Value.CopyFromHost(net.Parameters[i].Value.CopyToHost());
        for (int i = 0; i < net.Buffers.Count; i++) other.Buffers[i].Value.CopyFromHost(net.Buffers[i].Value.CopyToHost());
        other.Eval();
        return ((Tensor<T>)((dynamic)other).Forward(x)).CopyToHost();
    }

    private static void Check<T>(NetworkBase<T> net, Tensor<T> x, object[] trainInputs, string weight, int expectSlots)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        dynamic dn = net;
        T[] Forward() => ((Tensor<T>)dn.Forward(x)).CopyToHost();
        var slots = Slots<T>(net);
        if (expectSlots >= 0) Assert.Equal(expectSlots, slots.Count);
        net.Eval();
        var y0 = Forward();
        var counts = slots.Select(s => s.PackCount).ToList();
        Assert.All(counts, c => Assert.InRange(c, 0, 1));       // packed once (a narrow head on AVX-512 reads w directly: 0)
        Assert.True(counts.Sum() >= 2, "the wide layers pack into their slots");
        Assert.Equal(y0, Forward());
        Assert.Equal(counts, slots.Select(s => s.PackCount)); // ... and reused
        Assert.Equal(Unpacked(net, x), y0);
        Assert.Equal(y0, Fresh(net, x));

        var w = net.Parameters.First(p => p.Name == weight);
        var original = w.Value.CopyToHost();
        // a span write is seen after MarkModified
        var span = w.Value.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] *= T.CreateChecked(-1.5);
        net.MarkModified();
        var y1 = Forward();
        Assert.NotEqual(y0, y1);
        Assert.Equal(Unpacked(net, x), y1);
        Assert.Equal(Fresh(net, x), y1);
        // CopyFromHost of the original weights gives the first output again
        w.Value.CopyFromHost(original);
        Assert.Equal(y0, Forward());
        int packs = slots.Sum(s => s.PackCount);
        Assert.Equal(y0, Forward());
        Assert.Equal(packs, slots.Sum(s => s.PackCount));
        // an optimizer step is seen
        var sgd = new Sgd<T>(net.Parameters, lr: 0.5);
        OpReferenceTests.TrainStep(net, trainInputs);
        sgd.Step();
        var y2 = Forward();
        Assert.NotEqual(y0, y2);
        Assert.Equal(Unpacked(net, x), y2);
        Assert.Equal(Fresh(net, x), y2);
    }

    [Fact]
    public void Linear_weights_stay_packed_until_a_write_double() => Linear<double>();

    [Fact]
    public void Linear_weights_stay_packed_until_a_write_float() => Linear<float>();

    private static void Linear<T>() where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var x = Tensor<T>.FromArray(TestData.Random(64 * 200, 7).Select(T.CreateChecked).ToArray(), [64, 200]);
        var label = Tensor<int>.FromArray(Enumerable.Range(0, 64).Select(i => i % 10).ToArray(), [64]);
        // slots: the 1024-wide layer (plain), the 72-wide one (folded with its batchnorm) and the 10-wide head (the
        // dot-product path with AVX-512: its slot stays empty); write the plain layer's weight, then the folded one's
        foreach (int weight in new[] { 0, 2 })
        {
            var net = new PackedMlp<T>(Device.Cpu, seed: 2);
            foreach (var b in net.Buffers)   // running statistics away from 0 / 1, so the folded layer's weights differ from its parameter
                b.Value.CopyFromHost(Enumerable.Range(0, b.Length).Select(i => T.CreateChecked(b.Name.EndsWith("var") ? 0.5 + 0.1 * (i % 5) : 0.2 * Math.Sin(i))).ToArray());
            Check(net, x, [x, label], net.Parameters[weight].Name, expectSlots: 3);
            // a batch past the GEMM's fused-B limit (256 rows: B packed per K block, the 12-row micro-kernel) reads the same slots
            var big = Tensor<T>.FromArray(TestData.Random(300 * 200, 8).Select(T.CreateChecked).ToArray(), [300, 200]);
            var yBig = ((Tensor<T>)((dynamic)net).Forward(big)).CopyToHost();
            Assert.Equal(Unpacked(net, big), yBig);
            Assert.Equal(Fresh(net, big), yBig);
        }
    }

    [Fact]
    public void LeNet5_convolution_and_linear_weights_stay_packed_until_a_write()
    {
        var net = new LeNet5<double>(Device.Cpu, seed: 3);
        var x = Tensor<double>.FromArray(TestData.Random(16 * 28 * 28, 5), [16, 1, 28, 28]);
        var label = Tensor<int>.FromArray(Enumerable.Range(0, 16).Select(i => i % 10).ToArray(), [16]);
        // slots: the two convolutions (direct kernels) and the three linear layers; write a convolution's weight, then a linear one's
        Check(net, x, [x, label], net.Parameters[0].Name, expectSlots: 5);
        net = new LeNet5<double>(Device.Cpu, seed: 3);
        Check(net, x, [x, label], net.Parameters[4].Name, expectSlots: 5);
    }

    [Fact]
    public void ResNetTiny_folded_convolution_weights_stay_packed_until_a_write()
    {
        var net = OpReferenceTests.Create<double>("ResNetTiny", Device.Cpu, seed: 4);
        int[] shape = ((int[])net.GetType().GetProperty("ImageShape")!.GetValue(null)!).Select(d => d < 0 ? 2 : d).ToArray();
        var x = Tensor<double>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), 5), shape);
        foreach (var b in net.Buffers)   // running statistics away from their initial 0 / 1, so folding changes the numbers
            b.Value.CopyFromHost(Enumerable.Range(0, b.Length).Select(i => b.Name.EndsWith("var") ? 0.5 + 0.1 * (i % 5) : 0.2 * Math.Sin(i)).ToArray());
        Check(net, x, [x, Tensor<int>.FromArray([1, 0], [2])], "conv1.weight", expectSlots: -1);
    }
}
