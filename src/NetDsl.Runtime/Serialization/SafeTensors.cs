using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace NetDsl.Runtime.Serialization;

/// <summary>The element types of the safetensors format that NetDsl reads (and, for F64/F32/F16/BF16/I64, writes).</summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE 754 binary64.</summary>
    F64,
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16.</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,
    /// <summary>Signed 64-bit integer (batchnorm's <c>num_batches_tracked</c>).</summary>
    I64,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>One byte, 0 or 1.</summary>
    BOOL,
}

/// <summary>One tensor's entry in a safetensors header: its name, element type, shape and byte range in the data section.</summary>
/// <param name="Name">The tensor's key (a PyTorch <c>state_dict</c> name such as <c>layer1.0.conv1.weight</c>).</param>
/// <param name="DType">The element type stored in the file.</param>
/// <param name="Shape">The dimensions (empty for a scalar).</param>
/// <param name="Begin">Offset of the first byte, relative to the start of the data section.</param>
/// <param name="End">Offset one past the last byte, relative to the start of the data section.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)
{
    /// <summary>The number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
    /// <summary>The shape as PyTorch prints it, e.g. <c>[64, 3, 7, 7]</c>.</summary>
    public override string ToString() => $"{Name} {DType} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// Reads and writes the <see href="https://github.com/huggingface/safetensors">safetensors</see> format: an unsigned 64-bit
/// little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to
/// <c>{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}</c> (plus an optional <c>"__metadata__"</c> object of
/// strings), then the raw little-endian tensor bytes, C order, back to back. The format is data only: reading it never
/// executes anything (unlike a pickled PyTorch <c>.pt</c> file).
/// </summary>
/// <remarks>
/// Reading checks everything against the file before touching tensor data: the header length against the file size and a
/// 100 MB limit, the JSON (depth ≤ 8, no duplicate names, only the known fields), every dtype, that each byte range equals
/// its shape's size and that the ranges tile the data section exactly (no overlap, no holes, nothing out of range). A
/// problem throws <see cref="InvalidDataException"/> whose message starts with the file name and states the problem.
/// </remarks>
public sealed class SafeTensorsFile
{
    /// <summary>The largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;
    private const int MaxRank = 16;

    private readonly Dictionary<string, SafeTensorInfo> _byName;

    /// <summary>The file this header was read from.</summary>
    public string Path { get; }
    /// <summary>The tensors, in the order of their data offsets.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }
    /// <summary>The <c>__metadata__</c> strings (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Where the data section starts in the file (8 + header length).</summary>
    public long DataStart { get; }

    private SafeTensorsFile(string path, List<SafeTensorInfo> tensors, Dictionary<string, string> metadata, long dataStart)
    {
        Path = path;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Metadata = metadata;
        DataStart = dataStart;
    }

    /// <summary>True when the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The header entry of <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> naming the file when absent.</summary>
    public SafeTensorInfo this[string name] =>
        _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"safetensors file '{Path}' has no tensor named '{name}'");

    /// <summary>Reads and validates the header of <paramref name="path"/> (the tensor data is read on demand by <see cref="Read{T}"/>).</summary>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var handle = OpenHandle(path);
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw Bad(path, $"the file has {fileLength} bytes, too short for the 8-byte header length (truncated, or not a safetensors file)");
        Span<byte> lenBytes = stackalloc byte[8];
        ReadExactly(handle, lenBytes, 0, path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > MaxHeaderBytes)
            throw Bad(path, $"header length {headerLength} bytes exceeds the {MaxHeaderBytes}-byte limit (corrupt, or not a safetensors file)");
        if ((long)headerLength > fileLength - 8)
            throw Bad(path, $"header length {headerLength} bytes is longer than the {fileLength - 8} bytes after it (truncated)");
        if (headerLength < 2)
            throw Bad(path, $"header length {headerLength} bytes is too short for a JSON object");
        var header = new byte[headerLength];
        ReadExactly(handle, header, 8, path);
        long dataStart = 8 + (long)headerLength;
        var (tensors, metadata) = ParseHeader(path, header, fileLength - dataStart);
        return new SafeTensorsFile(path, tensors, metadata, dataStart);
    }

    /// <summary>
    /// Reads tensor <paramref name="name"/> and converts its elements to <typeparamref name="T"/> (float, double, Half, long or int):
    /// F16 and BF16 widen exactly; F64 → float rounds to nearest; integers convert as C# casts do.
    /// </summary>
    public T[] Read<T>(string name) where T : unmanaged, INumberBase<T>
    {
        var info = this[name];
        int n = checked((int)info.ElementCount);
        var result = new T[n];
        if (n == 0) return result;
        var raw = new byte[info.End - info.Begin];
        using (var handle = OpenHandle(Path))
        {
            if (RandomAccess.GetLength(handle) < DataStart + info.End)
                throw Bad(Path, $"tensor '{name}' ends at byte {DataStart + info.End} but the file now has {RandomAccess.GetLength(handle)} bytes (changed since it was opened?)");
            ReadExactly(handle, raw, DataStart + info.Begin, Path);
        }
        Convert(raw, info.DType, result.AsSpan());
        return result;
    }

    /// <summary>Converts little-endian elements of <paramref name="dtype"/> to <typeparamref name="T"/>.</summary>
    internal static void Convert<T>(ReadOnlySpan<byte> raw, SafeTensorsDType dtype, Span<T> dst) where T : unmanaged, INumberBase<T>
    {
        if (dtype == DTypeOf<T>() && BitConverter.IsLittleEndian)
        {
            raw.CopyTo(MemoryMarshal.AsBytes(dst));
            return;
        }
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = dtype switch
            {
                SafeTensorsDType.F64 => T.CreateSaturating(BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]))),
                SafeTensorsDType.F32 => T.CreateSaturating(BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..])),
                SafeTensorsDType.F16 => T.CreateSaturating((float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..])),
                SafeTensorsDType.BF16 => T.CreateSaturating(BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16)),
                SafeTensorsDType.I64 => T.CreateSaturating(BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..])),
                SafeTensorsDType.I32 => T.CreateSaturating(BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..])),
                SafeTensorsDType.I16 => T.CreateSaturating(BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * i)..])),
                SafeTensorsDType.I8 => T.CreateSaturating((sbyte)raw[i]),
                SafeTensorsDType.U8 => T.CreateSaturating(raw[i]),
                SafeTensorsDType.BOOL => raw[i] != 0 ? T.One : T.Zero,
                _ => throw new NotSupportedException(dtype.ToString()),
            };
        }
    }

    /// <summary>The dtype whose bytes are <typeparamref name="T"/>'s in memory, or null-like BOOL when none is.</summary>
    internal static SafeTensorsDType? DTypeOf<T>() =>
        typeof(T) == typeof(float) ? SafeTensorsDType.F32
        : typeof(T) == typeof(double) ? SafeTensorsDType.F64
        : typeof(T) == typeof(Half) ? SafeTensorsDType.F16
        : typeof(T) == typeof(long) ? SafeTensorsDType.I64
        : typeof(T) == typeof(int) ? SafeTensorsDType.I32
        : null;

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F32 or SafeTensorsDType.I32 => 4,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.I16 => 2,
        _ => 1,
    };

    private static (List<SafeTensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            throw Bad(path, $"the header is not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad(path, $"the header is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, expected an object of tensors");
            var tensors = new List<SafeTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                string name = prop.Name;
                if (!seen.Add(name)) throw Bad(path, $"'{Short(name)}' appears twice in the header");
                if (name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Bad(path, $"__metadata__ '{Short(m.Name)}' is a JSON {m.Value.ValueKind.ToString().ToLowerInvariant()}, expected a string");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad(path, $"__metadata__ '{Short(m.Name)}' appears twice");
                    }
                    continue;
                }
                if (name.Length == 0) throw Bad(path, "a tensor has an empty name");
                tensors.Add(ParseEntry(path, name, prop.Value));
            }
            // The data section must be tiled exactly by the tensors: sorted by begin, each starts where the previous ended.
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expect = 0;
            foreach (var t in tensors)
            {
                if (t.End > dataLength)
                    throw Bad(path, $"tensor '{Short(t.Name)}' data_offsets [{t.Begin}, {t.End}] run past the end of the {dataLength}-byte data section (truncated)");
                if (t.Begin < expect)
                    throw Bad(path, $"tensor '{Short(t.Name)}' data_offsets [{t.Begin}, {t.End}] overlap the previous tensor's (which ends at {expect})");
                if (t.Begin > expect)
                    throw Bad(path, $"bytes {expect}..{t.Begin} of the data section belong to no tensor (a hole before '{Short(t.Name)}')");
                expect = t.End;
            }
            if (expect != dataLength)
                throw Bad(path, $"the tensors cover {expect} bytes but the data section has {dataLength} (trailing bytes after the last tensor)");
            return (tensors, metadata);
        }
    }

    private static SafeTensorInfo ParseEntry(string path, string name, JsonElement e)
    {
        string who = $"tensor '{Short(name)}'";
        if (e.ValueKind != JsonValueKind.Object) throw Bad(path, $"{who}: expected an object with dtype, shape and data_offsets, got a JSON {e.ValueKind.ToString().ToLowerInvariant()}");
        string? dtypeText = null;
        int[]? shape = null;
        long[]? offsets = null;
        foreach (var f in e.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype":
                    if (dtypeText is not null) throw Bad(path, $"{who}: dtype appears twice");
                    if (f.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"{who}: dtype must be a string");
                    dtypeText = f.Value.GetString()!;
                    break;
                case "shape":
                    if (shape is not null) throw Bad(path, $"{who}: shape appears twice");
                    shape = Ints(path, who, "shape", f.Value, MaxRank).Select(v =>
                        v <= int.MaxValue ? (int)v : throw Bad(path, $"{who}: dimension {v} is too large")).ToArray();
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Bad(path, $"{who}: data_offsets appears twice");
                    offsets = Ints(path, who, "data_offsets", f.Value, 2);
                    if (offsets.Length != 2) throw Bad(path, $"{who}: data_offsets must be [begin, end], got {offsets.Length} numbers");
                    break;
                default:
                    throw Bad(path, $"{who}: unknown field '{Short(f.Name)}' (expected dtype, shape, data_offsets)");
            }
        }
        if (dtypeText is null) throw Bad(path, $"{who}: no dtype");
        if (shape is null) throw Bad(path, $"{who}: no shape");
        if (offsets is null) throw Bad(path, $"{who}: no data_offsets");
        if (!Enum.GetNames<SafeTensorsDType>().Contains(dtypeText) || !Enum.TryParse<SafeTensorsDType>(dtypeText, out var dtype))
            throw Bad(path, $"{who}: unsupported dtype '{Short(dtypeText)}' (this reader takes {string.Join(", ", Enum.GetNames<SafeTensorsDType>())})");
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
            if (count > int.MaxValue) throw Bad(path, $"{who}: shape [{string.Join(", ", shape)}] has more than 2^31 elements");
        }
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw Bad(path, $"{who}: data_offsets [{begin}, {end}] end before they begin");
        long bytes = count * SizeOf(dtype);
        if (end - begin != bytes)
            throw Bad(path, $"{who}: shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] Ints(string path, string who, string field, JsonElement e, int max)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Bad(path, $"{who}: {field} must be an array of non-negative integers");
        int len = e.GetArrayLength();
        if (len > max) throw Bad(path, $"{who}: {field} has {len} entries (at most {max})");
        var r = new long[len];
        int i = 0;
        foreach (var v in e.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x) || x < 0)
                throw Bad(path, $"{who}: {field} must be an array of non-negative integers, got {Short(v.GetRawText())}");
            r[i++] = x;
        }
        return r;
    }

    private static string Short(string s) => s.Length <= 80 ? s : s[..80] + "…";

    internal static InvalidDataException Bad(string path, string problem, Exception? inner = null) =>
        new($"safetensors file '{path}' is invalid: {problem}", inner);

    private static SafeFileHandle OpenHandle(string path)
    {
        try { return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (FileNotFoundException e) { throw new FileNotFoundException($"safetensors file '{path}' does not exist", path, e); }
        catch (DirectoryNotFoundException e) { throw new FileNotFoundException($"safetensors file '{path}' does not exist (no such directory)", path, e); }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        while (buffer.Length > 0)
        {
            int n = RandomAccess.Read(handle, buffer, offset);
            if (n <= 0) throw Bad(path, $"the file ends at byte {offset} while reading (truncated)");
            buffer = buffer[n..];
            offset += n;
        }
    }
}

/// <summary>One tensor to write: a name, a dtype, a shape and its elements as doubles, longs or raw bytes of the dtype.</summary>
public sealed class SafeTensorsEntry
{
    /// <summary>The tensor's key.</summary>
    public string Name { get; }
    /// <summary>The element type written to the file.</summary>
    public SafeTensorsDType DType { get; }
    /// <summary>The dimensions (empty for a scalar).</summary>
    public int[] Shape { get; }
    internal Func<Stream, long> WriteData { get; }

    private SafeTensorsEntry(string name, SafeTensorsDType dtype, int[] shape, Func<Stream, long> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        DType = dtype;
        Shape = (int[])shape.Clone();
        WriteData = write;
    }

    /// <summary>A floating-point tensor written as <paramref name="dtype"/> (F32, F64, F16 or BF16; BF16 rounds to nearest even).</summary>
    public static SafeTensorsEntry FromTensor<T>(string name, Tensor<T> tensor, SafeTensorsDType dtype) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.F64 or SafeTensorsDType.F16 or SafeTensorsDType.BF16))
            throw new ArgumentException($"tensor '{name}': write floating-point tensors as F32, F64, F16 or BF16, not {dtype}", nameof(dtype));
        return new SafeTensorsEntry(name, dtype, tensor.Shape, s => WriteFloats(s, tensor.Device.IsCpu ? tensor.AsSpan().ToArray() : tensor.CopyToHost(), dtype));
    }

    /// <summary>A tensor of 64-bit integers (e.g. batchnorm's <c>num_batches_tracked</c>, shape []).</summary>
    public static SafeTensorsEntry Int64(string name, int[] shape, long[] values)
    {
        if (values.Length != Tensor<float>.ShapeLength(shape))
            throw new ArgumentException($"tensor '{name}': {values.Length} values for shape {Tensor<float>.Format(shape)}");
        return new SafeTensorsEntry(name, SafeTensorsDType.I64, shape, s =>
        {
            var bytes = new byte[8 * values.Length];
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), values[i]);
            s.Write(bytes);
            return bytes.Length;
        });
    }

    internal long ByteCount => (long)Tensor<float>.ShapeLength(Shape) * SafeTensorsFile.SizeOf(DType);

    private static long WriteFloats<T>(Stream s, T[] data, SafeTensorsDType dtype) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int size = SafeTensorsFile.SizeOf(dtype);
        const int chunk = 1 << 16;
        var buf = new byte[Math.Min(data.Length, chunk) * size];
        long total = 0;
        for (int start = 0; start < data.Length; start += chunk)
        {
            int n = Math.Min(chunk, data.Length - start);
            var span = buf.AsSpan(0, n * size);
            for (int i = 0; i < n; i++)
            {
                T v = data[start + i];
                switch (dtype)
                {
                    case SafeTensorsDType.F64: BinaryPrimitives.WriteDoubleLittleEndian(span[(8 * i)..], double.CreateChecked(v)); break;
                    case SafeTensorsDType.F32: BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], float.CreateSaturating(v)); break;
                    case SafeTensorsDType.F16: BinaryPrimitives.WriteHalfLittleEndian(span[(2 * i)..], (Half)float.CreateSaturating(v)); break;
                    default: BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], ToBFloat16(float.CreateSaturating(v))); break;
                }
            }
            s.Write(span);
            total += span.Length;
        }
        return total;
    }

    /// <summary>Round to nearest even, as PyTorch's float → bfloat16; NaN stays a quiet NaN.</summary>
    internal static ushort ToBFloat16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}

/// <summary>Writes safetensors files (see <see cref="SafeTensorsFile"/> for the format).</summary>
public static class SafeTensors
{
    /// <summary>
    /// Writes <paramref name="entries"/> in the given order to <paramref name="path"/>, with optional <c>__metadata__</c> strings.
    /// The header is padded with spaces to a multiple of 8 bytes (as the reference writer does), and the file goes to a
    /// temporary name first and is renamed, so a crash never leaves a half-written file under the name.
    /// </summary>
    public static void Write(string path, IEnumerable<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var list = entries.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in list)
            if (e.Name == "__metadata__" || !names.Add(e.Name))
                throw new ArgumentException($"safetensors file '{path}': tensor name '{e.Name}' is reserved or repeated");

        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in list)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType.ToString());
                w.WriteStartArray("shape");
                foreach (var d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += e.ByteCount;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - json.Length % 8) % 8);
        for (int i = 0; i < pad; i++) json.WriteByte((byte)' ');

        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Length);
            f.Write(len);
            json.Position = 0;
            json.CopyTo(f);
            foreach (var e in list)
            {
                long n = e.WriteData(f);
                if (n != e.ByteCount) throw new InvalidOperationException($"tensor '{e.Name}' wrote {n} bytes, expected {e.ByteCount}");
            }
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, full, overwrite: true);
    }
}
