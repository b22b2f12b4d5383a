namespace NetDsl.Generator.Tests;

public sealed class SnapshotTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netdsl-snap-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Missing_WritesReceived_AndFails()
    {
        var ex = Assert.ThrowsAny<Exception>(() => Snapshot.Match("n", "class A {}\n", _dir, accept: false, ci: false));
        Assert.Contains("NETDSL_ACCEPT=1", ex.Message);
        Assert.Equal("class A {}\n", File.ReadAllText(Path.Combine(_dir, "n.received.cs")));
        Assert.False(File.Exists(Path.Combine(_dir, "n.verified.cs")));
    }

    [Fact]
    public void MissingUnderCi_Fails_EvenWhenAccepting()
    {
        var ex = Assert.ThrowsAny<Exception>(() => Snapshot.Match("n", "class A {}\n", _dir, accept: true, ci: true));
        Assert.Contains("CI", ex.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "n.verified.cs")));
    }

    [Fact]
    public void Accept_WritesVerified_ThenMatches()
    {
        Snapshot.Match("n", "class A {}\r\n", _dir, accept: true, ci: false);
        Assert.Equal("class A {}\n", File.ReadAllText(Path.Combine(_dir, "n.verified.cs")));
        Snapshot.Match("n", "class A {}\n", _dir, accept: false, ci: true);
        Assert.False(File.Exists(Path.Combine(_dir, "n.received.cs")));
    }

    [Fact]
    public void Mismatch_WritesReceived_AndFailsWithADiffHint()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "n.verified.cs"), "line1\nline2\n");
        var ex = Assert.ThrowsAny<Exception>(() => Snapshot.Match("n", "line1\nline2 changed\n", _dir, accept: false, ci: false));
        Assert.Contains("diff -u", ex.Message);
        Assert.Contains("line 2", ex.Message);
        Assert.Equal("line1\nline2 changed\n", File.ReadAllText(Path.Combine(_dir, "n.received.cs")));

        // A later match removes the stale received file.
        Snapshot.Match("n", "line1\r\nline2\r\n", _dir, accept: false, ci: false);
        Assert.False(File.Exists(Path.Combine(_dir, "n.received.cs")));
    }

    [Fact]
    public void LeNet5_GeneratedCode()
    {
        var result = GeneratorHarness.Run(new InMemoryAdditionalText(RepoPaths.LeNet5, File.ReadAllText(RepoPaths.LeNet5)));
        Assert.Empty(result.Diagnostics);
        var tree = Assert.Single(result.GeneratedTrees);
        Snapshot.Match("LeNet5", tree.ToString());
    }
}
