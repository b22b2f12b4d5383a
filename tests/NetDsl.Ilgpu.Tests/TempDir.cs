using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;

namespace NetDsl.Tests;

public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "netdsl-test-" + Guid.NewGuid().ToString("N"));
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}
