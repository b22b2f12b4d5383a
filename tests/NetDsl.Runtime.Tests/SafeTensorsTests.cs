using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using NetDsl.Runtime.Serialization;

namespace NetDsl.Runtime.Tests;

/// <summary>The safetensors reader and writer: round trips, dtype conversion, and every kind of bad file.</summary>
public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"netdsl-st-{Guid.NewGuid():N}");

    public SafeTensorsTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File_(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Round_trip_keeps_names_shapes_values_and_metadata_in_every_float_dtype()
    {
        var values = new float[] { 1.5f, -2.25f, 0f, 3.140625f, 1e-3f, -65504f };
        var t = Tensor<float>.FromArray(values, 2, 3);
        var path = File_("a.safetensors");
        SafeTensors.Write(path,
        [
            SafeTensorsEntry.FromTensor("w32", t, SafeTensorsDType.F32),
            SafeTensorsEntry.FromTensor("w64", t, SafeTensorsDType.F64),
            SafeTensorsEntry.FromTensor("w16", t, SafeTensorsDType.F16),
            SafeTensorsEntry.FromTensor("wbf", t, SafeTensorsDType.BF16),
            SafeTensorsEntry.Int64("bn.num_batches_tracked", [], [123456789012L]),
        ], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode" });

        var f = SafeTensorsFile.Open(path);
        Assert.Equal(["w32", "w64", "w16", "wbf", "bn.num_batches_tracked"], f.Tensors.Select(x => x.Name));
        Assert.Equal("ünïcode", f.Metadata["note"]);
        Assert.Equal(SafeTensorsDType.BF16, f["wbf"].DType);
        Assert.Equal([2, 3], f["w16"].Shape);
        Assert.Empty(f["bn.num_batches_tracked"].Shape);
        Assert.Equal(values, f.Read<float>("w32"));
        Assert.Equal(values.Select(v => (double)v), f.Read<double>("w64"));
        Assert.Equal(values.Select(v => (float)(Half)v), f.Read<float>("w16"));
        // bfloat16 keeps 8 bits of mantissa: these values are exact except 1e-3 and 3.140625 (rounded to nearest even).
        var bf = f.Read<float>("wbf");
        for (int i = 0; i < values.Length; i++) Assert.True(Math.Abs(bf[i] - values[i]) <= Math.Abs(values[i]) / 256, $"{bf[i]} vs {values[i]}");
        Assert.Equal(3.140625f, bf[3]);
        Assert.Equal(123456789012L, f.Read<long>("bn.num_batches_tracked")[0]);
        // The header is padded to a multiple of 8 bytes, as the reference writer does.
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path)) % 8);
    }

    [Fact]
    public void Bfloat16_rounds_to_nearest_even()
    {
        Assert.Equal(0x3F80, SafeTensorsEntry_ToBf(1f));
        Assert.Equal(0x3F80, SafeTensorsEntry_ToBf(BitConverter.UInt32BitsToSingle(0x3F808000))); // tie, even stays
        Assert.Equal(0x3F82, SafeTensorsEntry_ToBf(BitConverter.UInt32BitsToSingle(0x3F818000))); // tie, odd rounds up
        Assert.Equal(0x3F81, SafeTensorsEntry_ToBf(BitConverter.UInt32BitsToSingle(0x3F808001)));
    }

    private ushort SafeTensorsEntry_ToBf(float f)
    {
        var path = File_($"bf{Guid.NewGuid():N}.safetensors");
        SafeTensors.Write(path, [SafeTensorsEntry.FromTensor("x", Tensor<float>.FromArray([f], 1), SafeTensorsDType.BF16)]);
        var bytes = File.ReadAllBytes(path);
        return BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(bytes.Length - 2));
    }

    /// <summary>A file with a hand-written header and data section.</summary>
    private string Raw(string header, int dataBytes, ulong? headerLength = null, int cut = 0)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        var path = File_($"bad{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - cut).ToArray());
        return path;
    }

    private static void Bad(string path, params string[] expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        foreach (var x in expected) Assert.Contains(x, e.Message);
    }

    [Fact]
    public void A_file_shorter_than_the_length_prefix_is_truncated()
    {
        var path = File_("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Bad(path, "3 bytes", "truncated");
    }

    [Fact]
    public void A_header_longer_than_the_file_is_truncated() =>
        Bad(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, headerLength: 5000), "header length 5000", "truncated");

    [Fact]
    public void A_huge_header_length_is_refused_before_allocating() =>
        Bad(Raw("{}", 0, headerLength: ulong.MaxValue - 3), "exceeds", "limit");

    [Fact]
    public void Truncated_tensor_data_is_reported() =>
        Bad(Raw("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 16, cut: 3), "'a'", "past the end", "truncated");

    [Fact]
    public void Offsets_out_of_range_are_reported() =>
        Bad(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[100,104]}}""", 4), "'a'", "[100, 104]");

    [Fact]
    public void Overlapping_offsets_are_reported() =>
        Bad(Raw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "'b'", "overlap");

    [Fact]
    public void A_hole_in_the_data_section_is_reported() =>
        Bad(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "hole");

    [Fact]
    public void Offsets_that_disagree_with_the_shape_are_reported() =>
        Bad(Raw("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "'a'", "needs 12 bytes", "hold 8");

    [Fact]
    public void An_unknown_dtype_is_reported() =>
        Bad(Raw("""{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}""", 1), "unsupported dtype 'F8_E4M3'");

    [Fact]
    public void A_numeric_dtype_is_not_taken_for_an_enum_value() =>
        Bad(Raw("""{"a":{"dtype":"1","shape":[1],"data_offsets":[0,4]}}""", 4), "unsupported dtype '1'");

    [Fact]
    public void Deeply_nested_json_is_refused() =>
        Bad(Raw("{\"a\":" + new string('[', 100_000) + new string(']', 100_000) + "}", 0), "not valid JSON", "depth");

    [Fact]
    public void Json_that_is_not_an_object_of_tensors_is_reported()
    {
        Bad(Raw("[1,2,3]", 0), "expected an object");
        Bad(Raw("not json at all", 0), "not valid JSON");
        Bad(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"code":"import os"}}""", 4), "unknown field 'code'");
        Bad(Raw("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "non-negative");
        Bad(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "twice");
        Bad(Raw("""{"__metadata__":{"k":1}}""", 0), "__metadata__", "expected a string");
    }

    [Fact]
    public void A_missing_file_names_the_file()
    {
        var path = File_("nope.safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, e.Message);
    }

    /// <summary>A file written by Python with struct + json only (the format, not the safetensors package) loads.</summary>
    [Fact]
    public void A_file_written_by_a_python_writer_loads()
    {
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var path = File_("py.safetensors");
        const string script = """
            import json, struct, sys
            path = sys.argv[1]
            f32 = struct.pack('<4f', 1.0, -2.5, 0.375, 1024.0)
            f16 = struct.pack('<3e', 0.5, -3.0, 65504.0)
            bf16 = bytes([0x80, 0x3f, 0xc0, 0xbf])          # 1.0, -1.5
            f64 = struct.pack('<2d', 0.1, -1e300)
            i64 = struct.pack('<q', 7)
            blobs = [('conv.weight', 'F32', [2, 2], f32), ('half', 'F16', [3], f16), ('bf', 'BF16', [2], bf16),
                     ('dbl', 'F64', [2, 1], f64), ('bn.num_batches_tracked', 'I64', [], i64)]
            header, off = {'__metadata__': {'format': 'pt'}}, 0
            for name, dt, shape, b in blobs:
                header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(b)]}
                off += len(b)
            h = json.dumps(header).encode()
            h += b' ' * (-len(h) % 8)
            with open(path, 'wb') as out:
                out.write(struct.pack('<Q', len(h)) + h + b''.join(b for _, _, _, b in blobs))
            """;
        var psi = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-");
        psi.ArgumentList.Add(path);
        using (var p = Process.Start(psi)!)
        {
            p.StandardInput.Write(script.Replace("\r", ""));
            p.StandardInput.Close();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err);
        }
        var f = SafeTensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal([1f, -2.5f, 0.375f, 1024f], f.Read<float>("conv.weight"));
        Assert.Equal([0.5, -3.0, 65504.0], f.Read<double>("half"));
        Assert.Equal([1f, -1.5f], f.Read<float>("bf"));
        Assert.Equal([0.1, -1e300], f.Read<double>("dbl"));
        Assert.Equal(float.NegativeInfinity, f.Read<float>("dbl")[1]); // F64 → F32 rounds as a cast (as PyTorch's .float())
        Assert.Equal(7L, f.Read<long>("bn.num_batches_tracked")[0]);
    }
}
