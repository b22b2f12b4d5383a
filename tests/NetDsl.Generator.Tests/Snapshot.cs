using System.Runtime.CompilerServices;
using System.Text;
using Xunit.Sdk;

namespace NetDsl.Generator.Tests;

/// <summary>
/// Golden-file snapshots (a small stand-in for Verify): <c>Snapshot.Match(name, actual)</c> compares
/// <paramref name="actual"/> with <c>Snapshots/{name}.verified.cs</c> in this test project.
/// <list type="bullet">
/// <item>On a mismatch or a missing file it writes <c>{name}.received.cs</c> beside it and fails with a diff hint.</item>
/// <item>With NETDSL_ACCEPT=1 it (over)writes the verified file instead and passes.</item>
/// <item>Under CI (CI=true) a missing verified file fails (it is never created there).</item>
/// </list>
/// Line endings are normalized to \n before comparing.
/// </summary>
public static class Snapshot
{
    public static string Directory([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Snapshots");

    public static bool Accepting => IsTrue(Environment.GetEnvironmentVariable("NETDSL_ACCEPT"));
    public static bool IsCi => IsTrue(Environment.GetEnvironmentVariable("CI"));

    public static void Match(string name, string actual) => Match(name, actual, Directory(), Accepting, IsCi);

    /// <summary>The testable core: explicit directory and modes.</summary>
    public static void Match(string name, string actual, string directory, bool accept, bool ci)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"invalid snapshot name '{name}'", nameof(name));

        System.IO.Directory.CreateDirectory(directory);
        var verifiedPath = Path.Combine(directory, name + ".verified.cs");
        var receivedPath = Path.Combine(directory, name + ".received.cs");
        actual = Normalize(actual);

        if (accept && !ci)
        {
            File.WriteAllText(verifiedPath, actual, Utf8NoBom);
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }

        if (!File.Exists(verifiedPath))
        {
            File.WriteAllText(receivedPath, actual, Utf8NoBom);
            throw new XunitException(
                $"Snapshot '{name}' has no verified file{(ci ? " (CI=true: snapshots are never created in CI)" : "")}.\n" +
                $"  received: {receivedPath}\n" +
                $"  Review it, then accept with: NETDSL_ACCEPT=1 dotnet test tests/NetDsl.Generator.Tests\n" +
                $"  (or: mv \"{receivedPath}\" \"{verifiedPath}\")");
        }

        var expected = Normalize(File.ReadAllText(verifiedPath));
        if (expected == actual)
        {
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, actual, Utf8NoBom);
        throw new XunitException(
            $"Snapshot '{name}' does not match.\n" +
            $"  verified: {verifiedPath}\n" +
            $"  received: {receivedPath}\n" +
            $"  diff:     diff -u \"{verifiedPath}\" \"{receivedPath}\"\n" +
            $"  accept:   NETDSL_ACCEPT=1 dotnet test tests/NetDsl.Generator.Tests\n" +
            FirstDifference(expected, actual));
    }

    private static readonly Encoding Utf8NoBom = new UTF8Encoding(false);

    private static bool IsTrue(string? v) =>
        v != null && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase));

    private static string Normalize(string s) => s.Replace("\r\n", "\n").Replace('\r', '\n');

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var el = i < e.Length ? e[i] : "<end of file>";
            var al = i < a.Length ? a[i] : "<end of file>";
            if (el != al)
                return $"  first difference at line {i + 1}:\n    - {el}\n    + {al}";
        }
        return "";
    }
}
