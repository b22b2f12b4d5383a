using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Serialization;
using Xunit;

namespace NetDsl.Tests;

/// <summary><c>SaveWeights</c>/<c>LoadWeights</c> on generated networks: PyTorch state_dict names, strictness, name maps.</summary>
public sealed class SafeTensorsWeightsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"netdsl-w-{Guid.NewGuid():N}");
    public SafeTensorsWeightsTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (Tensor<float> X, Tensor<int> Y) Batch(int n = 6)
    {
        var x = Tensor<float>.FromArray(TestData.Random(n * 64, 5).Select(v => (float)v).ToArray(), n, 1, 8, 8);
        var y = Tensor<int>.FromArray(Enumerable.Range(0, n).Select(i => i % 3).ToArray(), n);
        return (x, y);
    }

    private static SmallBn Trained(int steps = 3)
    {
        var (x, y) = Batch();
        var net = new SmallBn(Device.Cpu, seed: 1);
        var sgd = new Sgd<float>(net.Parameters, lr: 0.1, momentum: 0.9);
        for (int i = 0; i < steps; i++) net.TrainStep(x, y, sgd);
        return net;
    }

    [Fact]
    public void Saved_weights_use_state_dict_names_and_reload_to_the_same_eval_logits()
    {
        var (x, _) = Batch();
        var net = Trained();
        net.Eval();
        var expected = net.Forward(x).CopyToHost();
        var path = Path.Combine(_dir, "small.safetensors");
        net.SaveWeights(path);

        var f = SafeTensorsFile.Open(path);
        Assert.Equal(["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "head.weight", "head.bias",
                      "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"], f.Tensors.Select(t => t.Name));
        Assert.Equal(SafeTensorsDType.I64, f["bn1.num_batches_tracked"].DType);
        Assert.Equal(3L, f.Read<long>("bn1.num_batches_tracked")[0]);
        Assert.Equal("pt", f.Metadata["format"]);
        // running statistics moved away from their initial 0 / 1 during training, and are in the file
        Assert.Contains(f.Read<float>("bn1.running_mean"), v => v != 0);

        var loaded = new SmallBn(Device.Cpu, seed: 99);
        loaded.Eval();
        Assert.NotEqual(expected, loaded.Forward(x).CopyToHost());
        var result = loaded.LoadWeights(path);
        Assert.True(result.IsExact, result.ToString());
        Assert.Equal(8, result.LoadedKeys.Count);
        Assert.Equal(expected, loaded.Forward(x).CopyToHost());
        Assert.Equal(3L, loaded.BatchesTracked);
    }

    [Fact]
    public void Double_networks_load_float_files_and_half_precision_files_load_approximately()
    {
        var (x, _) = Batch();
        var net = Trained();
        net.Eval();
        var expected = net.Forward(x).CopyToHost();
        var f32 = Path.Combine(_dir, "f32.safetensors");
        var bf16 = Path.Combine(_dir, "bf16.safetensors");
        net.SaveWeights(f32);
        net.SaveWeights(bf16, SafeTensorsDType.BF16);
        Assert.True(new FileInfo(bf16).Length < new FileInfo(f32).Length * 0.6);

        var d = new SmallBn<double>(Device.Cpu, seed: 5);
        d.LoadWeights(f32);
        Assert.Equal(net.GetParameter("conv1.weight").Value.CopyToHost().Select(v => (double)v), d.GetParameter("conv1.weight").Value.CopyToHost());

        var h = new SmallBn(Device.Cpu, seed: 5);
        h.LoadWeights(bf16);
        h.Eval();
        var got = h.Forward(x).CopyToHost();
        double scale = expected.Max(v => Math.Abs(v));
        for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(got[i] - expected[i]) < 0.05 * scale, $"logit {i}: {got[i]} vs {expected[i]}");
    }

    [Fact]
    public void Strict_loading_lists_missing_unexpected_and_mismatched_keys_and_changes_nothing()
    {
        var path = Path.Combine(_dir, "ten.safetensors");
        Trained().SaveWeights(path);
        var three = new SmallBn3(Device.Cpu, seed: 7);
        var before = three.GetParameter("conv1.weight").Value.CopyToHost();
        var e = Assert.Throws<InvalidDataException>(() => three.LoadWeights(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("shape mismatches (2): head.weight: [10, 64] in the file, [3, 64] in the model", e.Message);
        Assert.Contains("head.bias: [10] in the file, [3] in the model", e.Message);
        Assert.Equal(before, three.GetParameter("conv1.weight").Value.CopyToHost());

        // A file whose names differ: each renamed tensor is both missing and unexpected.
        var renamed = Path.Combine(_dir, "renamed.safetensors");
        var src = Trained();
        SafeTensors.Write(renamed, src.StateDict().Select(kv => SafeTensorsEntry.FromTensor(kv.Key.Replace("head.", "fc."), kv.Value, SafeTensorsDType.F32)));
        e = Assert.Throws<InvalidDataException>(() => new SmallBn(Device.Cpu).LoadWeights(renamed));
        Assert.Contains("missing keys (2): head.weight, head.bias", e.Message);
        Assert.Contains("unexpected keys (2): fc.weight, fc.bias", e.Message);

        // ... and a name map fixes it.
        var mapped = new SmallBn(Device.Cpu);
        var r = mapped.LoadWeights(renamed, new Dictionary<string, string> { ["fc.weight"] = "head.weight", ["fc.bias"] = "head.bias" });
        Assert.True(r.IsExact, r.ToString());
        Assert.Equal(src.GetParameter("head.weight").Value.CopyToHost(), mapped.GetParameter("head.weight").Value.CopyToHost());
    }

    [Fact]
    public void Non_strict_loading_fills_the_backbone_and_keeps_the_new_head()
    {
        var path = Path.Combine(_dir, "ten.safetensors");
        var src = Trained();
        src.SaveWeights(path);
        var three = new SmallBn3(Device.Cpu, seed: 7);
        var head = three.GetParameter("head.weight").Value.CopyToHost();
        var r = three.LoadWeights(path, strict: false);
        Assert.Equal(["head.weight", "head.bias"], r.ShapeMismatches.Select(m => m.Key));
        Assert.Empty(r.MissingKeys);
        Assert.Empty(r.UnexpectedKeys);
        Assert.Equal(6, r.LoadedKeys.Count);
        Assert.Equal(src.GetParameter("conv1.weight").Value.CopyToHost(), three.GetParameter("conv1.weight").Value.CopyToHost());
        Assert.Equal(src.GetBuffer("bn1.running_var").Value.CopyToHost(), three.GetBuffer("bn1.running_var").Value.CopyToHost());
        Assert.Equal(head, three.GetParameter("head.weight").Value.CopyToHost());
    }

    [Fact]
    public void A_name_map_can_drop_tensors_and_a_map_that_merges_two_names_is_an_error()
    {
        var path = Path.Combine(_dir, "ten.safetensors");
        Trained().SaveWeights(path);
        var r = new SmallBn3(Device.Cpu).LoadWeights(path, strict: false, nameMap: k => k.StartsWith("head.") ? null : k);
        Assert.Empty(r.ShapeMismatches);
        Assert.Equal(["head.weight", "head.bias"], r.MissingKeys);
        var e = Assert.Throws<InvalidDataException>(() => new SmallBn(Device.Cpu).LoadWeights(path, nameMap: k => k == "conv1.bias" ? "conv1.weight" : k));
        Assert.Contains("both 'conv1.weight' and 'conv1.bias'", e.Message);
    }

    [Fact]
    public void A_corrupt_weights_file_names_the_file()
    {
        var path = Path.Combine(_dir, "cut.safetensors");
        Trained().SaveWeights(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        var e = Assert.Throws<InvalidDataException>(() => new SmallBn(Device.Cpu).LoadWeights(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }
}
