using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using CsvHelper;
using CsvHelper.Configuration;

namespace NetDsl.Runtime.Data;

/// <summary>A data file that is truncated or corrupt: the message names the file, the record and the problem.</summary>
public sealed class DataFormatException(string path, string message, Exception? inner = null) : IOException(message, inner)
{
    public string FilePath { get; } = path;
}

/// <summary>
/// The IDX format of the original MNIST and Fashion-MNIST files (<c>train-images-idx3-ubyte[.gz]</c>): magic 0x00 0x00, an
/// element-type byte, a rank byte, big-endian int32 dimensions, then the elements big-endian. Gzipped files are read as such.
/// </summary>
public static class Idx
{
    /// <summary>Reads an IDX file (gzip or plain): its dimensions and elements as doubles.</summary>
    public static (int[] Shape, double[] Data) Read(string path)
    {
        byte[] bytes = ReadMaybeGzip(path);
        if (bytes.Length < 4) throw Bad(path, $"only {bytes.Length} bytes: too short for an IDX header");
        if (bytes[0] != 0 || bytes[1] != 0) throw Bad(path, $"bad magic 0x{bytes[0]:X2}{bytes[1]:X2}{bytes[2]:X2}{bytes[3]:X2}: not an IDX file");
        int type = bytes[2], rank = bytes[3];
        int size = type switch { 0x08 or 0x09 => 1, 0x0B => 2, 0x0C or 0x0D => 4, 0x0E => 8, _ => throw Bad(path, $"unknown element type 0x{type:X2} in the header") };
        if (rank == 0) throw Bad(path, "rank 0 in the header");
        if (bytes.Length < 4 + 4 * rank) throw Bad(path, $"the header declares {rank} dimensions but the file ends after {bytes.Length} bytes");
        var shape = new int[rank];
        long n = 1;
        for (int d = 0; d < rank; d++)
        {
            shape[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (shape[d] < 0) throw Bad(path, $"dimension {d} is negative ({shape[d]})");
            n *= shape[d];
        }
        long recordSize = rank > 1 ? n / Math.Max(1, shape[0]) * size : size;
        int offset = 4 + 4 * rank;
        long have = bytes.Length - offset;
        if (have < n * size)
        {
            long complete = recordSize == 0 ? 0 : have / recordSize;
            throw Bad(path, $"truncated: the header declares {shape[0]} records of {recordSize} bytes, but record #{complete} (0-based) ends after {have - complete * recordSize} of its bytes ({have} data bytes in all, {n * size} expected)");
        }
        if (have > n * size) throw Bad(path, $"{have - n * size} unexpected bytes after the {shape[0]} records the header declares");
        var data = new double[n];
        var s = bytes.AsSpan(offset);
        for (long i = 0; i < n; i++)
        {
            var e = s.Slice((int)(i * size), size);
            data[i] = type switch
            {
                0x08 => e[0],
                0x09 => (sbyte)e[0],
                0x0B => BinaryPrimitives.ReadInt16BigEndian(e),
                0x0C => BinaryPrimitives.ReadInt32BigEndian(e),
                0x0D => BinaryPrimitives.ReadSingleBigEndian(e),
                _ => BinaryPrimitives.ReadDoubleBigEndian(e),
            };
        }
        return (shape, data);
    }

    /// <summary>
    /// Loads an MNIST-style pair (images [N, H, W] ubyte, labels [N] ubyte) as a dataset with "image" float [1, H, W] in [0, 1]
    /// and "label" int. Throws <see cref="DataFormatException"/> naming the file and record on a count or label problem.
    /// </summary>
    public static TensorDataset LoadImages(string imagesPath, string labelsPath, int classes = 10)
    {
        var (ishape, pixels) = Read(imagesPath);
        var (lshape, labels) = Read(labelsPath);
        if (ishape.Length != 3) throw Bad(imagesPath, $"expected images [N, rows, cols] (rank 3), the header says rank {ishape.Length}");
        if (lshape.Length != 1) throw Bad(labelsPath, $"expected labels [N] (rank 1), the header says rank {lshape.Length}");
        if (ishape[0] != lshape[0]) throw Bad(labelsPath, $"holds {lshape[0]} labels but '{imagesPath}' holds {ishape[0]} images");
        var images = new float[pixels.Length];
        for (int i = 0; i < images.Length; i++) images[i] = (float)(pixels[i] / 255.0);
        var ids = new int[labels.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            double l = labels[i];
            if (l < 0 || l >= classes || l != Math.Floor(l)) throw Bad(labelsPath, $"record #{i}: label {l} is not a class in 0..{classes - 1}");
            ids[i] = (int)l;
        }
        return new TensorDataset().Add("image", images, 1, ishape[1], ishape[2]).Add("label", ids);
    }

    /// <summary>Writes an IDX file of unsigned bytes (gzip when the name ends in .gz): for tests and converters.</summary>
    public static void WriteBytes(string path, int[] shape, ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream();
        ms.Write([0, 0, 0x08, (byte)shape.Length]);
        Span<byte> d = stackalloc byte[4];
        foreach (var s in shape) { BinaryPrimitives.WriteInt32BigEndian(d, s); ms.Write(d); }
        ms.Write(data);
        using var file = File.Create(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) { using var gz = new GZipStream(file, CompressionLevel.Fastest); ms.Position = 0; ms.CopyTo(gz); }
        else { ms.Position = 0; ms.CopyTo(file); }
    }

    internal static byte[] ReadMaybeGzip(string path)
    {
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new FileNotFoundException($"data file '{path}' does not exist", path, e); }
        if (raw.Length >= 2 && raw[0] == 0x1F && raw[1] == 0x8B)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                return ms.ToArray();
            }
            catch (InvalidDataException e) { throw Bad(path, $"corrupt gzip data ({e.Message})", e); }
            catch (EndOfStreamException e) { throw Bad(path, "the gzip stream is truncated", e); }
        }
        return raw;
    }

    private static DataFormatException Bad(string path, string problem, Exception? inner = null) => new(path, $"IDX file '{path}': {problem}", inner);
}

/// <summary>
/// The CIFAR-10 and CIFAR-100 binary versions (<c>data_batch_1.bin</c>…, <c>train.bin</c>): records of a label byte
/// (CIFAR-100: coarse then fine label byte) and 3,072 pixel bytes (1,024 red, green, blue, row-major 32×32).
/// </summary>
public static class Cifar
{
    public const int Pixels = 3 * 32 * 32;

    /// <summary>
    /// Loads CIFAR-10 batch files (or, with <paramref name="cifar100"/>, CIFAR-100 files) into "image" float [3, 32, 32] in [0, 1]
    /// and "label" int (CIFAR-100: the fine label, and "coarse_label"). Throws <see cref="DataFormatException"/> naming the
    /// file and record of a truncated file or an out-of-range label.
    /// </summary>
    public static TensorDataset Load(IEnumerable<string> paths, bool cifar100 = false)
    {
        int labelBytes = cifar100 ? 2 : 1, record = labelBytes + Pixels;
        var images = new List<float>();
        var labels = new List<int>();
        var coarse = new List<int>();
        foreach (var path in paths)
        {
            var bytes = Idx.ReadMaybeGzip(path);
            if (bytes.Length == 0) throw new DataFormatException(path, $"CIFAR file '{path}' is empty");
            if (bytes.Length % record != 0)
                throw new DataFormatException(path, $"CIFAR file '{path}': truncated or not a CIFAR-{(cifar100 ? 100 : 10)} binary file: record #{bytes.Length / record} has only {bytes.Length % record} of its {record} bytes");
            int n = bytes.Length / record;
            for (int i = 0; i < n; i++)
            {
                var r = bytes.AsSpan(i * record, record);
                int fine = r[labelBytes - 1];
                if (cifar100)
                {
                    if (r[0] >= 20) throw new DataFormatException(path, $"CIFAR file '{path}': record #{i}: coarse label {r[0]} is not in 0..19");
                    if (fine >= 100) throw new DataFormatException(path, $"CIFAR file '{path}': record #{i}: fine label {fine} is not in 0..99");
                    coarse.Add(r[0]);
                }
                else if (fine >= 10) throw new DataFormatException(path, $"CIFAR file '{path}': record #{i}: label {fine} is not a CIFAR-10 class (0..9); is this a CIFAR-100 file?");
                labels.Add(fine);
                foreach (var b in r[labelBytes..]) images.Add(b / 255f);
            }
        }
        var ds = new TensorDataset().Add("image", images.ToArray(), 3, 32, 32).Add("label", labels.ToArray());
        if (cifar100) ds.Add("coarse_label", coarse.ToArray());
        return ds;
    }

    public static TensorDataset Load(string path, bool cifar100 = false) => Load([path], cifar100);
}

/// <summary>How a CSV column of text categories becomes numbers.</summary>
public enum CategoricalEncoding { OneHot, Ids }

/// <summary>The result of <see cref="CsvData.Load"/>: the dataset and how its columns were made.</summary>
public sealed class CsvTable
{
    public required TensorDataset Dataset { get; init; }
    /// <summary>Names of the "features" vector's entries (a one-hot column gives "color=red", "color=blue"…).</summary>
    public required IReadOnlyList<string> FeatureNames { get; init; }
    /// <summary>The categories of each categorical column (and of a class target), in id order: reuse them for a test file.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Categories { get; init; }
}

/// <summary>
/// CSV with a header row (CsvHelper): chosen feature columns become one float vector "features" (numbers as they are,
/// categorical columns one-hot), categorical columns encoded as ids become int columns of their own name, and the target
/// becomes "target" float [k] (regression) or "label" int (classification, categories in order of first appearance
/// unless given).
/// </summary>
public static class CsvData
{
    public static CsvTable Load(string path, IReadOnlyList<string> features, IReadOnlyList<string> targets, bool classification = false,
        IReadOnlyDictionary<string, CategoricalEncoding>? categorical = null, IReadOnlyDictionary<string, IReadOnlyList<string>>? categories = null,
        char delimiter = ',')
    {
        categorical ??= new Dictionary<string, CategoricalEncoding>();
        if (features.Count == 0 && categorical.Count == 0) throw new ArgumentException("choose at least one feature column");
        if (targets.Count == 0) throw new ArgumentException("choose at least one target column");
        if (classification && targets.Count != 1) throw new ArgumentException($"a classification target is one column, got {targets.Count}");
        List<string[]> rows = new();
        string[] header;
        var config = new CsvConfiguration(CultureInfo.InvariantCulture) { Delimiter = delimiter.ToString(), DetectColumnCountChanges = true, TrimOptions = TrimOptions.Trim };
        try
        {
            using var reader = new StreamReader(path);
            using var csv = new CsvReader(reader, config);
            if (!csv.Read() || !csv.ReadHeader()) throw new DataFormatException(path, $"CSV file '{path}' is empty: no header row");
            header = csv.HeaderRecord!;
            while (csv.Read()) rows.Add(csv.Parser.Record!);
        }
        catch (FileNotFoundException e) { throw new FileNotFoundException($"CSV file '{path}' does not exist", path, e); }
        catch (BadDataException e) { throw new DataFormatException(path, $"CSV file '{path}', line {e.Context?.Parser?.RawRow}: malformed field ({e.Message.Split('\n')[0]})", e); }
        catch (CsvHelperException e)
        {
            throw new DataFormatException(path, $"CSV file '{path}', line {e.Context?.Parser?.RawRow}: {(e.Message.Contains("column count", StringComparison.OrdinalIgnoreCase) ? $"the row has {e.Context?.Parser?.Count} fields but the header has {e.Context?.Reader?.HeaderRecord?.Length}" : e.Message.Split('\n')[0])}", e);
        }
        if (rows.Count == 0) throw new DataFormatException(path, $"CSV file '{path}' has a header but no data rows");

        int Col(string name)
        {
            int i = Array.IndexOf(header, name);
            return i >= 0 ? i : throw new DataFormatException(path, $"CSV file '{path}' has no column '{name}' (its header: {string.Join(", ", header)})");
        }
        var cats = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        List<string> Vocabulary(string name, int col)
        {
            if (categories is not null && categories.TryGetValue(name, out var given)) return given.ToList();
            return rows.Select(r => r[col]).Distinct(StringComparer.Ordinal).ToList();
        }
        // line numbers: the header is line 1, record r (0-based) is line r + 2 when no field spans lines
        double Number(int r, int col, string name)
        {
            var s = rows[r][col];
            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return v;
            throw new DataFormatException(path, $"CSV file '{path}', record {r + 1} (line {r + 2}), column '{name}': '{s}' is not a number (declare it categorical to encode text)");
        }

        // features: numeric columns and one-hot columns, in the order given (categorical ones not in `features` go last)
        var featureNames = new List<string>();
        var plan = new List<(string Name, int Col, List<string>? OneHot)>();
        foreach (var name in features.Concat(categorical.Keys.Where(k => !features.Contains(k))))
        {
            int col = Col(name);
            if (categorical.TryGetValue(name, out var enc))
            {
                var vocab = Vocabulary(name, col);
                cats[name] = vocab;
                if (enc == CategoricalEncoding.Ids) continue;
                plan.Add((name, col, vocab));
                featureNames.AddRange(vocab.Select(v => $"{name}={v}"));
            }
            else { plan.Add((name, col, null)); featureNames.Add(name); }
        }
        var ds = new TensorDataset();
        int f = featureNames.Count;
        if (f > 0)
        {
            var x = new float[rows.Count * f];
            for (int r = 0; r < rows.Count; r++)
            {
                int k = 0;
                foreach (var (name, col, oneHot) in plan)
                {
                    if (oneHot is null) { x[r * f + k++] = (float)Number(r, col, name); continue; }
                    int id = oneHot.IndexOf(rows[r][col]);
                    if (id < 0) throw new DataFormatException(path, $"CSV file '{path}', record {r + 1} (line {r + 2}), column '{name}': category '{rows[r][col]}' is not among the given categories ({string.Join(", ", oneHot)})");
                    x[r * f + k + id] = 1;
                    k += oneHot.Count;
                }
            }
            ds.Add("features", x, f);
        }
        foreach (var (name, enc) in categorical)
        {
            if (enc != CategoricalEncoding.Ids) continue;
            int col = Col(name);
            var vocab = cats[name];
            var ids = new int[rows.Count];
            for (int r = 0; r < rows.Count; r++)
            {
                ids[r] = vocab.ToList().IndexOf(rows[r][col]);
                if (ids[r] < 0) throw new DataFormatException(path, $"CSV file '{path}', record {r + 1} (line {r + 2}), column '{name}': category '{rows[r][col]}' is not among the given categories");
            }
            ds.Add(name, ids);
        }
        if (classification)
        {
            string name = targets[0];
            int col = Col(name);
            var vocab = Vocabulary(name, col);
            cats[name] = vocab;
            var labels = new int[rows.Count];
            for (int r = 0; r < rows.Count; r++)
            {
                labels[r] = vocab.IndexOf(rows[r][col]);
                if (labels[r] < 0) throw new DataFormatException(path, $"CSV file '{path}', record {r + 1} (line {r + 2}), column '{name}': class '{rows[r][col]}' is not among the given classes ({string.Join(", ", vocab)})");
            }
            ds.Add("label", labels);
        }
        else
        {
            var cols = targets.Select(Col).ToArray();
            var t = new float[rows.Count * cols.Length];
            for (int r = 0; r < rows.Count; r++)
                for (int k = 0; k < cols.Length; k++) t[r * cols.Length + k] = (float)Number(r, cols[k], targets[k]);
            ds.Add("target", t, cols.Length);
        }
        return new CsvTable { Dataset = ds, FeatureNames = featureNames, Categories = cats };
    }
}

/// <summary>
/// Images in one folder per class (torchvision's ImageFolder): <c>root/cat/001.png</c>, <c>root/dog/a.jpg</c>… decoded with
/// StbImageSharp (PNG, JPEG, BMP, GIF, TGA), classes in ordinal order of the folder names.
/// </summary>
public static class ImageFolder
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga"];

    /// <summary>
    /// Loads every image as "image" float [channels, H, W] in [0, 1] (channels 1: grey, 3: RGB) and "label" int; all images must
    /// have one size. Returns the dataset and the class names. A file that does not decode, or of another size, throws
    /// <see cref="DataFormatException"/> naming it.
    /// </summary>
    public static (TensorDataset Dataset, string[] Classes) Load(string root, int channels = 3)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), $"channels is 1 (grey) or 3 (RGB), got {channels}");
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"image folder '{root}' does not exist");
        var classes = Directory.GetDirectories(root).Select(d => Path.GetFileName(d)!).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new DataFormatException(root, $"image folder '{root}' has no class folders (expected root/CLASS/image.png)");
        var pixels = new List<float>();
        var labels = new List<int>();
        int w = -1, h = -1;
        string? first = null;
        for (int c = 0; c < classes.Length; c++)
        {
            var files = Directory.GetFiles(Path.Combine(root, classes[c]!))
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).OrderBy(f => f, StringComparer.Ordinal);
            foreach (var file in files)
            {
                StbImageSharp.ImageResult img;
                try
                {
                    using var s = File.OpenRead(file);
                    img = StbImageSharp.ImageResult.FromStream(s, channels == 1 ? StbImageSharp.ColorComponents.Grey : StbImageSharp.ColorComponents.RedGreenBlue);
                }
                catch (Exception e) when (e is not IOException and not OutOfMemoryException)
                {
                    throw new DataFormatException(file, $"image '{file}' (class '{classes[c]}') could not be decoded: {e.Message}", e);
                }
                if (w < 0) { w = img.Width; h = img.Height; first = file; }
                else if (img.Width != w || img.Height != h)
                    throw new DataFormatException(file, $"image '{file}' is {img.Width}×{img.Height} but '{first}' is {w}×{h}: all images must have one size");
                // interleaved HWC bytes → CHW floats
                var d = img.Data;
                int plane = w * h, start = pixels.Count;
                pixels.AddRange(new float[channels * plane]);
                var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pixels).Slice(start, channels * plane);
                for (int p = 0; p < plane; p++)
                    for (int ch = 0; ch < channels; ch++) span[ch * plane + p] = d[p * channels + ch] / 255f;
                labels.Add(c);
            }
        }
        if (labels.Count == 0) throw new DataFormatException(root, $"image folder '{root}' has class folders ({string.Join(", ", classes)}) but no images ({string.Join(", ", Extensions)})");
        return (new TensorDataset().Add("image", pixels.ToArray(), channels, h, w).Add("label", labels.ToArray()), classes!);
    }
}
