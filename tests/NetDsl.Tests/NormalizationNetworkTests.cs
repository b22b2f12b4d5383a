using System.Numerics;
using System.Text.Json;
using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;
using NetDsl.Runtime.Training;
using Xunit;

namespace NetDsl.Tests;

/// <summary>
/// batchnorm's state end to end (Networks/ops_normalization.net): the running statistics after one TrainStep and the
/// eval-mode output that uses them against PyTorch (Fixtures/torch_normalization.json), buffers on the network's device,
/// and checkpoints that save and restore them.
/// </summary>
public class NormalizationNetworkTests
{
    private static readonly Lazy<List<JsonElement>> s_fixture = new(() =>
    {
        using var d = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch_normalization.json")));
        return d.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    });

    private static JsonElement Case(string network, string dtype) =>
        s_fixture.Value.Single(c => c.GetProperty("network").GetString() == network && c.GetProperty("dtype").GetString() == dtype);

    private static void Close(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double tol, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        double norm = Math.Sqrt(expected.Sum(v => v * v) / Math.Max(1, expected.Count));
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (Math.Abs(expected[i]) + norm + 1e-12), $"{what}[{i}]: PyTorch {expected[i]:G12}, NetDsl {actual[i]:G12}");
    }

    private static double[] D<T>(Tensor<T> t) where T : unmanaged, IBinaryFloatingPointIeee754<T> => t.CopyToHost().Select(double.CreateChecked).ToArray();

    public static IEnumerable<object[]> TrainCases() =>
        from n in new[] { "OpBatchNormTrain", "OpBatchNorm1d", "OpBatchNormInput" } from dt in new[] { "float64", "float32" } select new object[] { n, dt };

    [Theory]
    [MemberData(nameof(TrainCases))]
    public void Running_statistics_after_one_TrainStep_match_PyTorch(string network, string dtype)
    {
        if (dtype == "float64") RunningStats<double>(network, Case(network, dtype), 1e-9); else RunningStats<float>(network, Case(network, dtype), 1e-5);
    }

    private static void RunningStats<T>(string network, JsonElement f, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var net = OpReferenceTests.Create<T>(network, Device.Cpu);
        OpReferenceTests.SetParameters(net);
        net.Train();
        var inputs = OpReferenceTests.Inputs<T>(f, Device.Cpu);
        // before any step: running_mean 0, running_var 1
        Assert.All(D(net.GetBuffer("bn1.running_mean").Value), v => Assert.Equal(0.0, v));
        Assert.All(D(net.GetBuffer("bn1.running_var").Value), v => Assert.Equal(1.0, v));
        OpReferenceTests.TrainStep(net, inputs);
        foreach (var b in f.GetProperty("buffers").EnumerateObject())
            Close(b.Value.EnumerateArray().Select(e => e.GetDouble()).ToList(), D(net.GetBuffer(b.Name).Value), tol, b.Name);
        // eval mode now normalizes with those statistics
        net.Eval();
        var y = D(OpReferenceTests.Forward(net, f, inputs));
        Close(f.GetProperty("eval_output").EnumerateArray().Select(e => e.GetDouble()).ToList(), y, tol, "eval output");
    }

    [Fact]
    public void Eval_mode_leaves_the_running_statistics_unchanged()
    {
        var f = Case("OpBatchNormEval", "float64");
        var net = new OpBatchNormEval<double>(Device.Cpu, seed: 2);
        net.Eval();
        var inputs = OpReferenceTests.Inputs<double>(f, Device.Cpu);
        net.TrainStep((Tensor<double>)inputs[0], (Tensor<int>)inputs[1]);
        net.Forward((Tensor<double>)inputs[0]);
        Assert.All(net.Bn1.RunningMean.Value.CopyToHost(), v => Assert.Equal(0.0, v));
        Assert.All(net.Bn1.RunningVar.Value.CopyToHost(), v => Assert.Equal(1.0, v));
        // and the PyTorch fixture agrees (eval-mode running statistics stay at their initial values)
        Assert.All(f.GetProperty("buffers").GetProperty("bn1.running_var").EnumerateArray(), e => Assert.Equal(1.0, e.GetDouble()));
    }

    [Fact]
    public void Buffers_are_named_typed_enumerated_and_not_parameters()
    {
        var net = new OpBatchNormTrain(Device.Cpu);
        Assert.Equal(["bn1.running_mean", "bn1.running_var"], net.Buffers.Select(b => b.Name));
        Assert.Same(net.Buffers[0], net.Bn1.RunningMean);
        Assert.Same(net.Buffers[1], net.Bn1.RunningVar);
        Assert.Equal([4], net.Bn1.RunningMean.Shape);
        Assert.Equal(net.Bn1.Buffers, net.Buffers);
        Assert.DoesNotContain(net.Parameters, p => p.Name.Contains("running", StringComparison.Ordinal));
        Assert.Equal("bn1.weight", net.Bn1.Weight.Name);
        Assert.Equal("bn1.bias", net.Bn1.Bias!.Name);
        Assert.Equal(2 * 4 + 3 * 4 * 1 * 1 + 3 * 100 + 3, OpBatchNormTrain.ParameterCount); // bn 8, conv 12, fc 303: buffers not counted
        var ex = Assert.Throws<KeyNotFoundException>(() => net.GetBuffer("bn2.running_mean"));
        Assert.Contains("bn1.running_mean", ex.Message);
        // ResetBuffers returns them to 0 and 1
        net.Bn1.RunningMean.Value.CopyFromHost([1f, 2, 3, 4]);
        net.ResetBuffers();
        Assert.Equal([0f, 0, 0, 0], net.Bn1.RunningMean.Value.CopyToHost());
        // a network without buffers has none
        Assert.Empty(new OpLrn(Device.Cpu).Buffers);
    }

    [Fact]
    public void Buffers_live_on_the_network_device_and_ILGPU_updates_them_like_the_CPU()
    {
        using var gpu = IlgpuDevice.CreateCpuSimulator();
        var f = Case("OpBatchNormTrain", "float32");
        var onCpu = new OpBatchNormTrain(Device.Cpu, seed: 3);
        var onGpu = new OpBatchNormTrain(gpu, seed: 3);
        Assert.Same(gpu, onGpu.Bn1.RunningMean.Device);
        Assert.Same(gpu, onGpu.Bn1.RunningVar.Value.Device);
        var ic = OpReferenceTests.Inputs<float>(f, Device.Cpu);
        var ig = OpReferenceTests.Inputs<float>(f, gpu);
        for (int step = 0; step < 2; step++)
        {
            onCpu.TrainStep((Tensor<float>)ic[0], (Tensor<int>)ic[1]);
            onGpu.TrainStep((Tensor<float>)ig[0], (Tensor<int>)ig[1]);
        }
        foreach (var (a, b) in onCpu.Buffers.Zip(onGpu.Buffers))
        {
            var ea = a.Value.CopyToHost(); var eb = b.Value.CopyToHost();
            Assert.NotEqual(a.Initial, ea[0]);
            for (int i = 0; i < ea.Length; i++) Assert.True(Math.Abs(ea[i] - eb[i]) <= 1e-5 * (1 + Math.Abs(ea[i])), $"{a.Name}[{i}]: CPU {ea[i]}, ILGPU {eb[i]}");
        }
    }

    [Fact]
    public void A_checkpoint_round_trip_restores_the_running_statistics()
    {
        var path = Path.Combine(Path.GetTempPath(), $"netdsl-bn-{Guid.NewGuid():N}.ckpt");
        try
        {
            var f = Case("OpBatchNormTrain", "float64");
            var inputs = OpReferenceTests.Inputs<double>(f, Device.Cpu);
            var x = (Tensor<double>)inputs[0]; var label = (Tensor<int>)inputs[1];
            var trained = new OpBatchNormTrain<double>(Device.Cpu, seed: 1);
            for (int i = 0; i < 3; i++) trained.TrainStep(x, label);
            trained.Eval();
            var expected = trained.Forward(x).CopyToHost();
            var mean = trained.Bn1.RunningMean.Value.CopyToHost();
            var var = trained.Bn1.RunningVar.Value.CopyToHost();
            trained.Save(path);
            Assert.Contains("bn1.running_var", Checkpoint.Read<double>(path).Select(e => e.Name));

            var loaded = new OpBatchNormTrain<double>(Device.Cpu, seed: 99);
            loaded.Eval();
            Assert.NotEqual(mean, loaded.Bn1.RunningMean.Value.CopyToHost());
            loaded.Load(path);
            Assert.Equal(mean, loaded.Bn1.RunningMean.Value.CopyToHost());
            Assert.Equal(var, loaded.Bn1.RunningVar.Value.CopyToHost());
            Assert.Equal(expected, loaded.Forward(x).CopyToHost());

            // the parameters alone (running statistics missing): the error names the file and the missing buffers
            Checkpoint.Save(path, trained.Parameters);
            var ex = Assert.Throws<InvalidDataException>(() => loaded.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("bn1.running_mean", ex.Message);
            Assert.Contains("bn1.running_var", ex.Message);

            // a wrong buffer shape names the buffer and both shapes
            Checkpoint.Save(path, trained.Parameters.Select(p => (p.Name, p.Value))
                .Append(("bn1.running_mean", Tensor<double>.Zeros(5))).Append(("bn1.running_var", Tensor<double>.Zeros(4))));
            ex = Assert.Throws<InvalidDataException>(() => loaded.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("'bn1.running_mean' has shape [5] in the file but [4] in the model", ex.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Checkpoints_of_networks_without_buffers_keep_their_format()
    {
        // what Save wrote before buffers existed (the parameters by name) still loads, and Save writes the same tensors
        var path = Path.Combine(Path.GetTempPath(), $"netdsl-lrn-{Guid.NewGuid():N}.ckpt");
        try
        {
            var a = new OpLrn(Device.Cpu, seed: 1);
            Checkpoint.Save(path, a.Parameters);
            var b = new OpLrn(Device.Cpu, seed: 2);
            b.Load(path);
            foreach (var (p, q) in a.Parameters.Zip(b.Parameters)) Assert.Equal(p.Value.CopyToHost(), q.Value.CopyToHost());
            a.Save(path);
            Assert.Equal(a.Parameters.Select(p => p.Name), Checkpoint.Read<float>(path).Select(e => e.Name));
        }
        finally { File.Delete(path); }
    }
}
