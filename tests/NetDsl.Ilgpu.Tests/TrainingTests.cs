using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;
using Spectre.Console;

namespace NetDsl.Tests;

public class AccuracyTests
{
    [Fact]
    public void Argmax_against_labels()
    {
        var logits = Tensor<float>.FromArray([0.1f, 0.9f, 0.0f, 2f, 1f, 3f, 5f, 5f, 1f, -1f, -2f, -0.5f], 4, 3);
        var labels = Tensor<int>.FromArray([1, 2, 0, 0], 4);
        Assert.Equal(3, Accuracy.CountCorrect(logits, labels)); // row 3's argmax is 2 (-0.5)
        Assert.Equal(0.75, Accuracy.Of(logits, labels));
        var meter = new AccuracyMeter();
        meter.Add(logits, labels);
        meter.Add(1, 4);
        Assert.Equal(0.5, meter.Value);
        Assert.Throws<ArgumentException>(() => Accuracy.CountCorrect(logits, Tensor<int>.FromArray([1, 2], 2)));
    }
}

public class CheckpointTests
{
    private static Parameter<float>[] Model(int hidden = 3)
    {
        var ps = new[]
        {
            Parameter<float>.Create(Device.Cpu, "conv1.weight", [2, 1, 3, 3]),
            Parameter<float>.Create(Device.Cpu, "conv1.bias", [2]),
            Parameter<float>.Create(Device.Cpu, "fc.weight", [hidden, 4]),
        };
        return ps;
    }

    [Fact]
    public void Round_trip()
    {
        using var tmp = new TempDir();
        var a = Model(); Init.Apply(a, 5);
        var path = tmp.File("m.ckpt");
        Checkpoint.Save(path, a);
        var b = Model();
        Checkpoint.Load(path, b);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i].Value.AsSpan().ToArray(), b[i].Value.AsSpan().ToArray());
        var entries = Checkpoint.Read<float>(path);
        Assert.Equal(["conv1.weight", "conv1.bias", "fc.weight"], entries.Select(e => e.Name));
        Assert.Equal([2, 1, 3, 3], entries[0].Shape);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Theory]
    [InlineData("truncated", "truncated")]
    [InlineData("flipped", "checksum")]
    [InlineData("magic", "magic")]
    [InlineData("empty", "too short")]
    public void Corrupt_file_throws_naming_the_file_and_problem(string damage, string expected)
    {
        using var tmp = new TempDir();
        var a = Model(); Init.Apply(a, 5);
        var path = tmp.File("m.ckpt");
        Checkpoint.Save(path, a);
        var bytes = File.ReadAllBytes(path);
        bytes = damage switch
        {
            "truncated" => bytes[..(bytes.Length - 30)],
            "flipped" => Flip(bytes, bytes.Length - 20),
            "magic" => Flip(bytes, 0),
            _ => [],
        };
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, Model()));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    private static byte[] Flip(byte[] b, int i) { b[i] ^= 0x40; return b; }

    [Fact]
    public void Mismatched_model_throws_naming_the_tensor()
    {
        using var tmp = new TempDir();
        var path = tmp.File("m.ckpt");
        var a = Model(); Init.Apply(a, 5);
        Checkpoint.Save(path, a);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, Model(hidden: 5)));
        Assert.Contains("fc.weight", e.Message);
        Assert.Contains("[3, 4]", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, Model().Take(2)));
        Assert.Contains("unexpected fc.weight", e.Message);
        Checkpoint.Load(path, Model().Take(2), strict: false);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, [.. Model(), Parameter<float>.Create(Device.Cpu, "extra", [1])]));
        Assert.Contains("missing extra", e.Message);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Read<double>(path));
        Assert.Contains("float32", ex.Message);
    }
}

public class ProgressReporterTests
{
    [Fact]
    public void Plain_output_when_redirected()
    {
        var sw = new StringWriter();
        var r = new ProgressReporter(epochs: 2, plainOut: sw);
        Assert.False(r.Interactive);
        var stats = r.RunEpoch(0, 3, p => { p.Batch(1.0, 10); p.Batch(2.0, 10); p.Batch(3.0, 20); });
        Assert.Equal(40, stats.Samples);
        Assert.Equal(2.25, stats.MeanLoss, 10);
        r.EpochResult(stats, 0.975, 1950, 2000, learningRate: 0.01);
        var text = sw.ToString();
        Assert.Contains("epoch 1/2", text);
        Assert.Contains("loss  2.2500", text);
        Assert.Contains("held-out accuracy 97.50% (1950/2000)", text);
        Assert.DoesNotContain("\u001b[", text);
    }

    [Fact]
    public void Live_progress_renders_through_spectre()
    {
        var sw = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(sw),
        });
        var r = new ProgressReporter(epochs: 3, console: console, interactive: true);
        Assert.True(r.Interactive);
        var stats = r.RunEpoch(1, 2, p => { p.Batch(0.5, 8); p.Batch(0.25, 8); });
        r.EpochResult(stats, 0.5, 1, 2);
        var text = sw.ToString();
        Assert.Contains("epoch 2/3", text);
        Assert.Contains("held-out accuracy 50.00% (1/2)", text);
        Assert.Equal(0.375, stats.MeanLoss, 10);
    }
}
