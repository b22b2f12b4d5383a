namespace NetDsl.Compiler.Tests;

/// <summary>The compiler tests' name for the shared <see cref="RepoPaths"/> (tests/NetDsl.TestSupport): no second search for the repository.</summary>
internal static class TestPaths
{
    public static string Root => RepoPaths.Root;
    public static string Examples => RepoPaths.Examples;
}
