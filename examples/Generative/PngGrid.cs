// A minimal grayscale PNG writer (no image library needed): a grid of equally sized images, values mapped from [lo, hi]
// to 0..255, zlib-compressed with System.IO.Compression. Shared by examples/Vae and examples/Dcgan.
using System.IO.Compression;

namespace NetDsl.Examples;

public static class PngGrid
{
    /// <summary>Writes <paramref name="count"/> images of rows×cols (row-major, consecutive in <paramref name="pixels"/>) as a grid of <paramref name="columns"/> per row, each pixel scaled by <paramref name="zoom"/>.</summary>
    public static void Write(string path, ReadOnlySpan<float> pixels, int count, int rows, int cols, int columns, float lo = 0f, float hi = 1f, int zoom = 2, int gap = 2)
    {
        int gridRows = (count + columns - 1) / columns;
        int width = columns * (cols * zoom + gap) + gap, height = gridRows * (rows * zoom + gap) + gap;
        var image = new byte[height * width];
        for (int k = 0; k < count; k++)
        {
            int ox = gap + (k % columns) * (cols * zoom + gap), oy = gap + (k / columns) * (rows * zoom + gap);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    float v = (pixels[k * rows * cols + r * cols + c] - lo) / (hi - lo);
                    byte b = (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
                    for (int dy = 0; dy < zoom; dy++)
                        for (int dx = 0; dx < zoom; dx++) image[(oy + r * zoom + dy) * width + ox + c * zoom + dx] = b;
                }
        }
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BigEndian(header, 0, width); BigEndian(header, 4, height);
        header[8] = 8; header[9] = 0; // 8-bit grayscale; compression, filter, interlace 0
        Chunk(file, "IHDR", header);
        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
                for (int y = 0; y < height; y++) { z.WriteByte(0); z.Write(image, y * width, width); } // filter 0 per scanline
            Chunk(file, "IDAT", raw.ToArray());
        }
        Chunk(file, "IEND", []);
    }

    private static void BigEndian(byte[] b, int o, int v) { b[o] = (byte)(v >> 24); b[o + 1] = (byte)(v >> 16); b[o + 2] = (byte)(v >> 8); b[o + 3] = (byte)v; }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4]; BigEndian(len, 0, data.Length);
        s.Write(len);
        var body = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++) body[i] = (byte)type[i];
        data.CopyTo(body, 4);
        s.Write(body);
        var crc = new byte[4]; BigEndian(crc, 0, (int)Crc32(body));
        s.Write(crc);
    }

    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
