// A grid of equally sized grayscale images written as a PNG with StbImageWriteSharp (values mapped from [lo, hi] to 0..255).
// Shared by examples/Vae and examples/Dcgan.
using StbImageWriteSharp;

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
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var file = File.Create(path);
        new ImageWriter().WritePng(image, width, height, ColorComponents.Grey, file);
    }
}
