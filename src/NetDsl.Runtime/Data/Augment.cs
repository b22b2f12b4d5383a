namespace NetDsl.Runtime.Data;

/// <summary>Data augmentation on CPU batches, in place and without allocation.</summary>
public static class Augment
{
    /// <summary>
    /// Shifts each image of <paramref name="images"/> [B, C, H, W] by a random whole-pixel offset in
    /// [−<paramref name="maxShift"/>, <paramref name="maxShift"/>] on each axis (zero fill), deterministic in <paramref name="seed"/>.
    /// </summary>
    public static void RandomShift(Tensor<float> images, int maxShift, ulong seed)
    {
        if (images.Rank != 4) throw new ArgumentException($"images: expected shape [B, C, H, W], got {Tensor<float>.Format(images.Shape)}", nameof(images));
        if (maxShift < 0) throw new ArgumentOutOfRangeException(nameof(maxShift), $"maxShift must be >= 0, got {maxShift}");
        if (maxShift == 0) return;
        int b = images.Shape[0], c = images.Shape[1], h = images.Shape[2], w = images.Shape[3];
        var data = images.AsSpan();
        Span<float> plane = h * w <= 4096 ? stackalloc float[h * w] : new float[h * w];
        int span = 2 * maxShift + 1;
        for (int i = 0; i < b; i++)
        {
            ulong r = SplitMix64.Mix(seed + (ulong)i * 0x9E3779B97F4A7C15UL);
            int dy = (int)(r % (ulong)span) - maxShift;
            int dx = (int)((r >> 32) % (ulong)span) - maxShift;
            if (dx == 0 && dy == 0) continue;
            for (int ch = 0; ch < c; ch++)
            {
                var img = data.Slice((i * c + ch) * h * w, h * w);
                img.CopyTo(plane);
                img.Clear();
                for (int y = 0; y < h; y++)
                {
                    int sy = y - dy;
                    if ((uint)sy >= (uint)h) continue;
                    int x0 = Math.Max(0, dx), x1 = Math.Min(w, w + dx);
                    if (x1 <= x0) continue;
                    plane.Slice(sy * w + x0 - dx, x1 - x0).CopyTo(img.Slice(y * w + x0, x1 - x0));
                }
            }
        }
    }
}
