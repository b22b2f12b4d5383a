using System.Buffers.Binary;
using System.IO.Compression;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;

namespace NetDsl.Runtime.Tests;

/// <summary>Each reader on small files written here in the real format, and on truncated or corrupt ones.</summary>
public sealed class DataReaderTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("netdsl-data-");
    public void Dispose() => _dir.Delete(recursive: true);
    private string P(string name) => Path.Combine(_dir.FullName, name);

    // ---- IDX (MNIST's original format), written byte by byte: magic 00 00 08 rank, big-endian dims, bytes ----
    private static byte[] IdxBytes(int[] shape, byte[] data)
    {
        var b = new byte[4 + 4 * shape.Length + data.Length];
        b[2] = 0x08; b[3] = (byte)shape.Length;
        for (int d = 0; d < shape.Length; d++) BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4 + 4 * d), shape[d]);
        data.CopyTo(b, 4 + 4 * shape.Length);
        return b;
    }

    private static void Gzip(string path, byte[] bytes)
    {
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Optimal);
        gz.Write(bytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_reads_mnist_style_images_and_labels(bool gzip)
    {
        var pixels = Enumerable.Range(0, 5 * 4 * 3).Select(i => (byte)(i * 4)).ToArray();
        byte[] labels = [3, 1, 4, 1, 5];
        string ip = P(gzip ? "images-idx3-ubyte.gz" : "images-idx3-ubyte"), lp = P(gzip ? "labels-idx1-ubyte.gz" : "labels-idx1-ubyte");
        if (gzip) { Gzip(ip, IdxBytes([5, 4, 3], pixels)); Gzip(lp, IdxBytes([5], labels)); }
        else { File.WriteAllBytes(ip, IdxBytes([5, 4, 3], pixels)); File.WriteAllBytes(lp, IdxBytes([5], labels)); }
        var ds = Idx.LoadImages(ip, lp);
        Assert.Equal(5, ds.Count);
        Assert.Equal([1, 4, 3], ds["image"].SampleShape);
        Assert.Equal(labels.Select(l => (int)l), ds["label"].Ints);
        Assert.Equal(pixels.Select(p => p / 255f), ds["image"].Floats);
    }

    [Fact]
    public void Idx_truncated_or_mismatched_files_name_file_and_record()
    {
        var full = IdxBytes([5, 4, 3], new byte[60]);
        string ip = P("t-images"), lp = P("t-labels");
        File.WriteAllBytes(ip, full[..^5]);
        File.WriteAllBytes(lp, IdxBytes([5], [0, 1, 2, 3, 4]));
        var e = Assert.Throws<DataFormatException>(() => Idx.LoadImages(ip, lp));
        Assert.Contains(ip, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("record #4", e.Message);

        File.WriteAllBytes(ip, full);
        File.WriteAllBytes(lp, IdxBytes([4], [0, 1, 2, 3]));
        e = Assert.Throws<DataFormatException>(() => Idx.LoadImages(ip, lp));
        Assert.Contains("holds 4 labels but", e.Message);

        File.WriteAllBytes(lp, IdxBytes([5], [0, 1, 12, 3, 4]));
        e = Assert.Throws<DataFormatException>(() => Idx.LoadImages(ip, lp));
        Assert.Contains("record #2: label 12", e.Message);

        File.WriteAllBytes(ip, [0x50, 0x4B, 3, 4, 0, 0]);
        e = Assert.Throws<DataFormatException>(() => Idx.LoadImages(ip, lp));
        Assert.Contains("bad magic", e.Message);

        string gz = P("cut.gz");
        Gzip(gz, full);
        var bytes = File.ReadAllBytes(gz);
        File.WriteAllBytes(gz, bytes[..(bytes.Length / 2)]);
        e = Assert.Throws<DataFormatException>(() => Idx.Read(gz));
        Assert.Contains(gz, e.Message);
    }

    // ---- CIFAR binary: label byte(s) then 1024 R, 1024 G, 1024 B ----
    private static byte[] CifarRecord(int[] labels, byte r, byte g, byte b) =>
        [.. labels.Select(l => (byte)l), .. Enumerable.Repeat(r, 1024), .. Enumerable.Repeat(g, 1024), .. Enumerable.Repeat(b, 1024)];

    [Fact]
    public void Cifar10_and_100_binary_records_load_with_channel_planes()
    {
        string p10 = P("data_batch_1.bin");
        File.WriteAllBytes(p10, [.. CifarRecord([6], 255, 0, 51), .. CifarRecord([9], 0, 102, 0), .. CifarRecord([0], 1, 2, 3)]);
        var ds = Cifar.Load(p10);
        Assert.Equal(3, ds.Count);
        Assert.Equal([6, 9, 0], ds["label"].Ints);
        Assert.Equal([3, 32, 32], ds["image"].SampleShape);
        var img = ds["image"].Floats;
        Assert.Equal(1f, img[0]); Assert.Equal(0f, img[1024]); Assert.Equal(0.2f, img[2048 + 5], 6);
        Assert.Equal(0.4f, img[3072 + 1024 + 77], 6);

        string p100 = P("train.bin");
        File.WriteAllBytes(p100, [.. CifarRecord([11, 87], 9, 9, 9), .. CifarRecord([19, 3], 0, 0, 0)]);
        var c100 = Cifar.Load(p100, cifar100: true);
        Assert.Equal([87, 3], c100["label"].Ints);
        Assert.Equal([11, 19], c100["coarse_label"].Ints);
    }

    [Fact]
    public void Cifar_truncated_file_or_bad_label_names_file_and_record()
    {
        string p = P("cut.bin");
        File.WriteAllBytes(p, [.. CifarRecord([1], 0, 0, 0), .. CifarRecord([2], 0, 0, 0), .. CifarRecord([3], 0, 0, 0)[..100]]);
        var e = Assert.Throws<DataFormatException>(() => Cifar.Load(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("record #2 has only 100 of its 3073 bytes", e.Message);
        File.WriteAllBytes(p, [.. CifarRecord([1], 0, 0, 0), .. CifarRecord([12], 0, 0, 0)]);
        e = Assert.Throws<DataFormatException>(() => Cifar.Load(p));
        Assert.Contains("record #1: label 12", e.Message);
    }

    // ---- CSV with a header ----
    private const string Houses = """
        age,color,city,rooms,price
        10,red,paris,3,250.5
        3,blue,lyon,2,180
        25,red,lyon,4,310.25
        7,green,paris,1,99
        """;

    [Fact]
    public void Csv_regression_with_one_hot_and_id_columns()
    {
        string p = P("houses.csv");
        File.WriteAllText(p, Houses);
        var t = CsvData.Load(p, features: ["age", "rooms"], targets: ["price"],
            categorical: new Dictionary<string, CategoricalEncoding> { ["color"] = CategoricalEncoding.OneHot, ["city"] = CategoricalEncoding.Ids });
        Assert.Equal(["age", "rooms", "color=red", "color=blue", "color=green"], t.FeatureNames);
        Assert.Equal([10f, 3, 1, 0, 0, /**/ 3, 2, 0, 1, 0, /**/ 25, 4, 1, 0, 0, /**/ 7, 1, 0, 0, 1], t.Dataset["features"].Floats);
        Assert.Equal([0, 1, 1, 0], t.Dataset["city"].Ints);
        Assert.Equal([250.5f, 180, 310.25f, 99], t.Dataset["target"].Floats);
        Assert.Equal(["paris", "lyon"], t.Categories["city"]);

        var c = CsvData.Load(p, features: ["age", "price"], targets: ["color"], classification: true);
        Assert.Equal([0, 1, 0, 2], c.Dataset["label"].Ints);
        Assert.Equal(["red", "blue", "green"], c.Categories["color"]);
    }

    [Fact]
    public void Csv_errors_name_file_record_line_and_column()
    {
        string p = P("bad.csv");
        File.WriteAllText(p, Houses.Replace("25,red", "2x5,red"));
        var e = Assert.Throws<DataFormatException>(() => CsvData.Load(p, ["age"], ["price"]));
        Assert.Contains(p, e.Message);
        Assert.Contains("record 3 (line 4), column 'age': '2x5' is not a number", e.Message);

        e = Assert.Throws<DataFormatException>(() => CsvData.Load(p, ["size"], ["price"]));
        Assert.Contains("no column 'size'", e.Message);
        Assert.Contains("age, color, city, rooms, price", e.Message);

        File.WriteAllText(p, Houses.Replace("3,blue,lyon,2,180", "3,blue,lyon,2"));
        e = Assert.Throws<DataFormatException>(() => CsvData.Load(p, ["age"], ["price"]));
        Assert.Contains("line 3", e.Message);

        File.WriteAllText(p, "");
        e = Assert.Throws<DataFormatException>(() => CsvData.Load(p, ["age"], ["price"]));
        Assert.Contains("empty", e.Message);
    }

    // ---- image folders: PNG and JPEG written with StbImageWriteSharp ----
    private static void WriteImage(string path, int w, int h, Func<int, int, int, byte> pixel, bool jpeg = false)
    {
        var data = new byte[w * h * 3];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = pixel(x, y, c);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        var writer = new StbImageWriteSharp.ImageWriter();
        if (jpeg) writer.WriteJpg(data, w, h, StbImageWriteSharp.ColorComponents.RedGreenBlue, f, 100);
        else writer.WritePng(data, w, h, StbImageWriteSharp.ColorComponents.RedGreenBlue, f);
    }

    [Fact]
    public void Image_folder_reads_one_folder_per_class()
    {
        string root = P("pets");
        WriteImage(Path.Combine(root, "dog", "a.png"), 4, 3, (x, y, c) => (byte)(c == 0 ? 10 * x : c == 1 ? 50 * y : 200));
        WriteImage(Path.Combine(root, "cat", "b.png"), 4, 3, (_, _, _) => 0);
        WriteImage(Path.Combine(root, "cat", "c.jpg"), 4, 3, (_, _, _) => 255, jpeg: true);
        File.WriteAllText(Path.Combine(root, "cat", "notes.txt"), "not an image");
        var (ds, classes) = ImageFolder.Load(root);
        Assert.Equal(["cat", "dog"], classes);
        Assert.Equal([0, 0, 1], ds["label"].Ints);
        Assert.Equal([3, 3, 4], ds["image"].SampleShape);
        var img = ds["image"].Floats;
        int s = 36;
        Assert.All(img[s..(2 * s)], v => Assert.InRange(v, 0.98f, 1f)); // the white JPEG
        Assert.Equal(30 / 255f, img[2 * s + 0 * 12 + 1 * 4 + 3], 6);  // dog, red plane, y 1, x 3
        Assert.Equal(100 / 255f, img[2 * s + 1 * 12 + 2 * 4 + 0], 6); // green plane, y 2
        Assert.Equal(200 / 255f, img[2 * s + 2 * 12], 6);              // blue plane
        var (grey, _) = ImageFolder.Load(root, channels: 1);
        Assert.Equal([1, 3, 4], grey["image"].SampleShape);
    }

    [Fact]
    public void Image_folder_corrupt_or_odd_sized_image_is_named()
    {
        string root = P("broken");
        WriteImage(Path.Combine(root, "a", "ok.png"), 4, 3, (_, _, _) => 1);
        var bad = Path.Combine(root, "b", "bad.png");
        Directory.CreateDirectory(Path.GetDirectoryName(bad)!);
        File.WriteAllBytes(bad, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        var e = Assert.Throws<DataFormatException>(() => ImageFolder.Load(root));
        Assert.Contains(bad, e.Message);
        Assert.Contains("could not be decoded", e.Message);
        File.Delete(bad);
        WriteImage(Path.Combine(root, "b", "big.png"), 5, 5, (_, _, _) => 1);
        e = Assert.Throws<DataFormatException>(() => ImageFolder.Load(root));
        Assert.Contains("is 5×5 but", e.Message);
    }

    // ---- transforms and the loader ----
    private static Tensor<float> Ramp(int b, int c, int h, int w) =>
        Tensor<float>.FromArray(Enumerable.Range(0, b * c * h * w).Select(i => (float)i).ToArray(), b, c, h, w);

    [Fact]
    public void Flip_crop_are_seeded_and_do_what_they_say()
    {
        var a = Ramp(64, 2, 3, 5); var b = Ramp(64, 2, 3, 5); var orig = Ramp(64, 2, 3, 5);
        Augment.RandomHorizontalFlip(a, seed: 7); Augment.RandomHorizontalFlip(b, seed: 7);
        Assert.Equal(a.AsSpan().ToArray(), b.AsSpan().ToArray());
        int flipped = 0;
        for (int i = 0; i < 64; i++)
        {
            var got = a.AsSpan().Slice(i * 30, 30).ToArray(); var src = orig.AsSpan().Slice(i * 30, 30).ToArray();
            bool isFlipped = !got.SequenceEqual(src);
            if (isFlipped) { flipped++; for (int r = 0; r < 6; r++) Assert.Equal(src.Skip(r * 5).Take(5).Reverse(), got.Skip(r * 5).Take(5)); }
        }
        Assert.InRange(flipped, 20, 44);
        var c1 = Ramp(8, 1, 6, 6); var c2 = Ramp(8, 1, 6, 6);
        Augment.RandomCrop(c1, 2, seed: 3); Augment.RandomCrop(c2, 2, seed: 3);
        Assert.Equal(c1.AsSpan().ToArray(), c2.AsSpan().ToArray());
        Assert.NotEqual(Ramp(8, 1, 6, 6).AsSpan().ToArray(), c1.AsSpan().ToArray());
    }

    [Fact]
    public void Normalization_with_computed_channel_statistics_gives_zero_mean_unit_std()
    {
        var rng = new SplitMix64(5);
        var data = new float[20 * 3 * 4 * 4];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(((i / 16) % 3) * 2 + 0.5 * rng.NextGaussian());
        var (mean, std) = Augment.ChannelStats(data, [3, 4, 4]);
        Assert.Equal(2f, mean[1], 1);
        var t = Tensor<float>.FromArray((float[])data.Clone(), 20, 3, 4, 4);
        Augment.Normalize(t, mean, std);
        var (m2, s2) = Augment.ChannelStats(t.AsSpan(), [3, 4, 4]);
        Assert.All(m2, m => Assert.Equal(0f, m, 4));
        Assert.All(s2, s => Assert.Equal(1f, s, 4));
    }

    [Fact]
    public void Loader_prefetches_on_a_worker_with_the_same_batches()
    {
        var x = Enumerable.Range(0, 103 * 2 * 3 * 3).Select(i => (float)i).ToArray();
        var ds = new TensorDataset().Add("x", x, 2, 3, 3).Add("id", Enumerable.Range(0, 103).ToArray());
        int main = Environment.CurrentManagedThreadId, onWorker = 0;
        List<float[]> Epoch(bool prefetch)
        {
            var loader = new TensorLoader(ds, 10, seed: 4, shuffle: true)
            {
                Prefetch = prefetch,
                Transform = b => { if (Environment.CurrentManagedThreadId != main) Interlocked.Increment(ref onWorker); Augment.RandomHorizontalFlip(b.Float("x"), (ulong)(b.Epoch * 1000 + b.Index)); },
            };
            var ids = new List<int>();
            // the consumer "trains" 20 ms per batch: time for the worker to prepare the next one
            var r = loader.Epoch(2).Select(b => { ids.AddRange(b.Int("id").AsSpan().ToArray()); var v = b.Float("x").AsSpan().ToArray(); Thread.Sleep(20); return v; }).ToList();
            Assert.Equal(Enumerable.Range(0, 103), ids.Order());
            return r;
        }
        var with = Epoch(true);
        Assert.True(onWorker > 0);
        var without = Epoch(false);
        Assert.Equal(11, with.Count);
        for (int i = 0; i < with.Count; i++) Assert.Equal(without[i], with[i]);
    }
}
