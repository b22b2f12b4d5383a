namespace NetDsl.Testing;

/// <summary>The repository the tests run from: the directory above the test binaries that holds NetDsl.sln.</summary>
public static class RepoPaths
{
    public static string Root { get; } = Find();
    public static string Examples => Path.Combine(Root, "examples");

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "NetDsl.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"NetDsl.sln not found above {AppContext.BaseDirectory}");
    }
}
