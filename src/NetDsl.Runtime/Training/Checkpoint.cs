using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using NetDsl.Runtime.Optim;

namespace NetDsl.Runtime.Training;

/// <summary>One tensor read from a checkpoint file.</summary>
public sealed record CheckpointEntry<T>(string Name, int[] Shape, T[] Data) where T : unmanaged;

/// <summary>
/// Saves and loads named parameter values in a small binary file (little-endian):
/// <code>
/// magic "NDSLCKPT" (8 bytes) | int32 version (1, or 2 with metadata) | int32 element type (1 = float32, 2 = float64) | int32 count
/// [version 2: int32 metadata count | that many × { int32 key length | UTF-8 key | int32 value length | UTF-8 value }]
/// count × { int32 name length | UTF-8 name | int32 rank | rank × int32 dim | elements }
/// uint64 FNV-1a hash of all preceding bytes
/// </code>
/// Saving writes a temporary file and renames it, so a crash never leaves a half-written checkpoint under the name.
/// Loading a truncated, corrupt or mismatched file throws <see cref="InvalidDataException"/> naming the file and the problem.
/// </summary>
public static class Checkpoint
{
    /// <summary>The version written without metadata (2 is written when metadata is given; both are read).</summary>
    public const int Version = 1;
    public const int MetadataVersion = 2;
    private static ReadOnlySpan<byte> Magic => "NDSLCKPT"u8;
    private const int MaxNameBytes = 4096, MaxRank = 16;

    public static void Save<T>(string path, IEnumerable<Parameter<T>> parameters) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Save(path, parameters.Select(p => (p.Name, p.Value)));

    public static void Save<T>(string path, IEnumerable<(string Name, Tensor<T> Tensor)> tensors) where T : unmanaged => Save(path, tensors, null);

    /// <summary>Saves named tensors and string metadata (e.g. an optimizer's step count and learning rate).</summary>
    public static void Save<T>(string path, IEnumerable<(string Name, Tensor<T> Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata) where T : unmanaged
    {
        int typeCode = TypeCode<T>();
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in list)
            if (string.IsNullOrEmpty(name) || !names.Add(name)) throw new ArgumentException($"checkpoint '{path}': tensor name '{name}' is empty or repeated");

        var buf = new ArrayBufferWriter<byte>();
        buf.Write(Magic);
        WriteInt(buf, metadata is null ? Version : MetadataVersion);
        WriteInt(buf, typeCode);
        WriteInt(buf, list.Count);
        if (metadata is not null)
        {
            WriteInt(buf, metadata.Count);
            foreach (var (k, v) in metadata)
            {
                foreach (var str in new[] { k, v })
                {
                    var b = Encoding.UTF8.GetBytes(str);
                    WriteInt(buf, b.Length);
                    buf.Write(b);
                }
            }
        }
        foreach (var (name, tensor) in list)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            if (nameBytes.Length > MaxNameBytes) throw new ArgumentException($"checkpoint '{path}': tensor name '{name[..40]}…' is longer than {MaxNameBytes} bytes");
            WriteInt(buf, nameBytes.Length);
            buf.Write(nameBytes);
            WriteInt(buf, tensor.Rank);
            foreach (var d in tensor.Shape) WriteInt(buf, d);
            ReadOnlySpan<T> data = tensor.Device.IsCpu ? tensor.AsSpan() : tensor.CopyToHost();
            buf.Write(MemoryMarshal.AsBytes(data));
        }
        Span<byte> hash = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(hash, Fnv1a(buf.WrittenSpan));
        buf.Write(hash);

        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(buf.WrittenSpan);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>Reads every tensor of a checkpoint written for element type <typeparamref name="T"/>.</summary>
    public static IReadOnlyList<CheckpointEntry<T>> Read<T>(string path) where T : unmanaged => Read<T>(path, out _);

    /// <summary>Reads every tensor and the metadata (empty for a version-1 file).</summary>
    public static IReadOnlyList<CheckpointEntry<T>> Read<T>(string path, out Dictionary<string, string> metadata) where T : unmanaged
    {
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new FileNotFoundException($"checkpoint '{path}' does not exist", path, e); }
        var r = new Reader(bytes, path);
        int headerBytes = Magic.Length + 12 + 8;
        if (bytes.Length < headerBytes) throw r.Bad($"only {bytes.Length} bytes, too short for a checkpoint (truncated or not a checkpoint)");
        if (!bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw r.Bad("bad magic header: not a NetDsl checkpoint");
        r.Pos = Magic.Length;
        int version = r.Int("version");
        if (version != Version && version != MetadataVersion) throw r.Bad($"unsupported version {version} (this runtime reads versions {Version} and {MetadataVersion})");
        bool checksumOk = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)) == Fnv1a(bytes.AsSpan(0, bytes.Length - 8));
        int typeCode = r.Int("element type");
        if (typeCode != TypeCode<T>()) throw r.Bad($"holds {TypeName(typeCode)} tensors, expected {TypeName(TypeCode<T>())}");
        int count = r.Int("tensor count");
        if (count < 0) throw r.Bad($"negative tensor count {count}");
        r.End = bytes.Length - 8;
        if (version == MetadataVersion)
        {
            int metaCount = r.Int("metadata count");
            if (metaCount < 0 || metaCount > 1_000_000) throw r.Bad($"invalid metadata count {metaCount}");
            for (int i = 0; i < metaCount; i++)
            {
                var kv = new string[2];
                for (int j = 0; j < 2; j++)
                {
                    int len = r.Int($"length of metadata entry #{i}");
                    if (len < 0 || len > 1 << 20) throw r.Bad($"metadata entry #{i}: invalid length {len}");
                    try { kv[j] = new UTF8Encoding(false, true).GetString(r.Bytes(len, $"metadata entry #{i}")); }
                    catch (DecoderFallbackException) { throw r.Bad($"metadata entry #{i} is not valid UTF-8"); }
                }
                metadata[kv[0]] = kv[1];
            }
        }
        var entries = new List<CheckpointEntry<T>>(Math.Min(count, 1024));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            int nameLen = r.Int($"name length of tensor #{i}");
            if (nameLen <= 0 || nameLen > MaxNameBytes) throw r.Bad($"tensor #{i}: invalid name length {nameLen}");
            string name;
            try { name = new UTF8Encoding(false, true).GetString(r.Bytes(nameLen, $"name of tensor #{i}")); }
            catch (DecoderFallbackException) { throw r.Bad($"tensor #{i}: name is not valid UTF-8"); }
            if (!names.Add(name)) throw r.Bad($"tensor '{name}' appears twice");
            int rank = r.Int($"rank of '{name}'");
            if (rank < 0 || rank > MaxRank) throw r.Bad($"tensor '{name}': invalid rank {rank}");
            var shape = new int[rank];
            long n = 1;
            for (int k = 0; k < rank; k++)
            {
                shape[k] = r.Int($"shape of '{name}'");
                if (shape[k] < 0) throw r.Bad($"tensor '{name}': negative dimension {shape[k]}");
                n *= shape[k];
                if (n > int.MaxValue) throw r.Bad($"tensor '{name}': shape too large");
            }
            long byteCount = n * Marshal.SizeOf<T>();
            if (byteCount > r.End - r.Pos)
                throw r.Bad($"tensor '{name}' {Tensor<float>.Format(shape)} needs {byteCount} bytes but only {r.End - r.Pos} remain (file truncated)");
            var data = new T[n];
            r.Bytes((int)byteCount, name).CopyTo(MemoryMarshal.AsBytes(data.AsSpan()));
            entries.Add(new CheckpointEntry<T>(name, shape, data));
        }
        if (r.Pos != r.End) throw r.Bad($"{r.End - r.Pos} unexpected bytes after the last tensor");
        if (!checksumOk) throw r.Bad("checksum mismatch: the file is corrupt");
        return entries;
    }

    /// <summary>
    /// Loads values into <paramref name="parameters"/> by name. The file must hold exactly these names with the same shapes
    /// (with <paramref name="strict"/> false, extra tensors in the file are ignored).
    /// </summary>
    public static void Load<T>(string path, IEnumerable<Parameter<T>> parameters, bool strict = true) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Load(path, parameters.Select(p => (p.Name, p.Value)), strict);

    public static void Load<T>(string path, IEnumerable<(string Name, Tensor<T> Tensor)> tensors, bool strict = true) where T : unmanaged
    {
        var entries = Read<T>(path).ToDictionary(e => e.Name, StringComparer.Ordinal);
        var targets = tensors.ToList();
        var missing = targets.Where(t => !entries.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"checkpoint '{path}' does not match the model: missing {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? $" and {missing.Count - 10} more" : "")}");
        foreach (var (name, tensor) in targets)
        {
            var e = entries[name];
            if (!e.Shape.AsSpan().SequenceEqual(tensor.Shape))
                throw new InvalidDataException($"checkpoint '{path}' does not match the model: '{name}' has shape {Tensor<float>.Format(e.Shape)} in the file but {Tensor<float>.Format(tensor.Shape)} in the model");
        }
        if (strict)
        {
            var wanted = targets.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            var extra = entries.Keys.Where(k => !wanted.Contains(k)).ToList();
            if (extra.Count > 0)
                throw new InvalidDataException($"checkpoint '{path}' does not match the model: unexpected {string.Join(", ", extra.Take(10))}{(extra.Count > 10 ? $" and {extra.Count - 10} more" : "")}");
        }
        foreach (var (name, tensor) in targets) tensor.CopyFromHost(entries[name].Data);
    }

    private static int TypeCode<T>() =>
        typeof(T) == typeof(float) ? 1 : typeof(T) == typeof(double) ? 2
        : throw new NotSupportedException($"checkpoints hold float or double tensors, not {typeof(T).Name}");

    private static string TypeName(int code) => code switch { 1 => "float32", 2 => "float64", _ => $"unknown element type {code}" };

    private static void WriteInt(ArrayBufferWriter<byte> buf, int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buf.GetSpan(4), v);
        buf.Advance(4);
    }

    internal static ulong Fnv1a(ReadOnlySpan<byte> data)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (var b in data) { h ^= b; h *= 0x100000001B3UL; }
        return h;
    }

    private sealed class Reader(byte[] bytes, string path)
    {
        public int Pos;
        public int End = bytes.Length;

        public InvalidDataException Bad(string problem) => new($"checkpoint '{path}' is invalid: {problem}");

        public int Int(string what)
        {
            if (End - Pos < 4) throw Bad($"file ends while reading the {what} (truncated)");
            int v = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Pos));
            Pos += 4;
            return v;
        }

        public ReadOnlySpan<byte> Bytes(int n, string what)
        {
            if (End - Pos < n) throw Bad($"file ends while reading the {what} (truncated)");
            var s = bytes.AsSpan(Pos, n);
            Pos += n;
            return s;
        }
    }
}
