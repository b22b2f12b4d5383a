using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;

namespace NetDsl.Tests;

/// <summary>
/// Eval-mode Forward folds batchnorm into the weights once and reuses them until a write to one of its parameters or buffers
/// (their WriteVersion) or a network-level event (<see cref="ParameterWrites"/>) is recorded. Serial: the version is process-wide, so a parallel test's write would refold in the middle of the assertions.
/// </summary>
[Collection(SerialCollection.Name)]
public class FoldCacheTests
{
    [Fact]
    public void Folded_weights_are_reused_until_a_parameter_write_is_recorded()
    {
        var net = OpReferenceTests.Create<double>("ResNetTiny", Device.Cpu, seed: 4);
        int[] shape = ((int[])net.GetType().GetProperty("ImageShape")!.GetValue(null)!).Select(d => d < 0 ? 2 : d).ToArray();
        var x = Tensor<double>.FromArray(TestData.Random(shape.Aggregate(1, (a, b) => a * b), 5), shape);
        object[] inputs = [x, Tensor<int>.FromArray([1, 0], [2])];
        dynamic dn = net;
        double[] Forward() => ((Tensor<double>)dn.Forward(x)).CopyToHost();
        foreach (var b in net.Buffers)   // running statistics away from their initial 0 / 1, so folding changes the numbers
            b.Value.CopyFromHost(Enumerable.Range(0, b.Length).Select(i => b.Name.EndsWith("var") ? 0.5 + 0.1 * (i % 5) : 0.2 * Math.Sin(i)).ToArray());
        net.Eval();
        var y0 = Forward();
        Assert.Equal(y0, Forward());

        var w = net.Parameters.First(p => p.Name == "conv1.weight");
        var original = w.Value.CopyToHost();
        var span = w.Value.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] *= 2;
        // a write through a span is not seen: the folded weights of the first call are reused (the documented contract) ...
        Assert.Equal(y0, Forward());
        // ... and copying an input (as every inference loop does) does not refold either
        x.CopyFromHost(x.CopyToHost());
        Assert.Equal(y0, Forward());
        // ... until the network is told
        net.MarkModified();
        var y1 = Forward();
        Assert.NotEqual(y0, y1);
        // CopyFromHost into a parameter is seen: the original weights give the first output again
        w.Value.CopyFromHost(original);
        Assert.Equal(y0, Forward());
        // so is a host write into a batchnorm buffer through the indexer
        var rv = net.Buffers.First(b => b.Name.EndsWith("running_var"));
        double v0 = rv.Value[0];
        rv.Value[0] = v0 * 4;
        Assert.NotEqual(y0, Forward());
        rv.Value[0] = v0;
        Assert.Equal(y0, Forward());
        // an optimizer step is seen (fine-tuning in eval mode, batchnorm statistics frozen)
        var sgd = new Sgd<double>(net.Parameters, lr: 0.1);
        OpReferenceTests.TrainStep(net, inputs);
        sgd.Step();
        var y2 = Forward();
        Assert.NotEqual(y0, y2);
        // Train/Eval refold: the same weights give the same numbers
        net.Train(); net.Eval();
        Assert.Equal(y2, Forward());
    }
}
