using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;
using Spectre.Console;

namespace NetDsl.Tests;

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
