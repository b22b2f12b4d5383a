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

    /// <summary>
    /// torchvision's RandomCrop(size = the image size, padding = <paramref name="padding"/>, zero fill): each image of
    /// [B, C, H, W] is padded by <paramref name="padding"/> on every side and an H×W window is cut at a random offset,
    /// deterministic in (<paramref name="seed"/>, image index).
    /// </summary>
    public static void RandomCrop(Tensor<float> images, int padding, ulong seed)
    {
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"padding must be >= 0, got {padding}");
        // cutting at offset (oy, ox) ∈ [0, 2p]² of the padded image is a shift by (p − oy, p − ox) with zero fill
        RandomShift(images, padding, SplitMix64.Mix(seed ^ 0xC209_0000UL));
    }

    /// <summary>Mirrors each image of [B, C, H, W] left-right with probability <paramref name="p"/> (deterministic in the seed and index).</summary>
    public static void RandomHorizontalFlip(Tensor<float> images, ulong seed, double p = 0.5)
    {
        if (images.Rank != 4) throw new ArgumentException($"images: expected shape [B, C, H, W], got {Tensor<float>.Format(images.Shape)}", nameof(images));
        int b = images.Shape[0], c = images.Shape[1], h = images.Shape[2], w = images.Shape[3];
        var data = images.AsSpan();
        for (int i = 0; i < b; i++)
        {
            ulong r = SplitMix64.Mix(seed ^ 0xF11B_0000_0000UL ^ (ulong)i * 0x9E3779B97F4A7C15UL);
            if ((r >> 11) * (1.0 / (1UL << 53)) >= p) continue;
            for (int row = 0; row < c * h; row++) data.Slice((i * c * h + row) * w, w).Reverse();
        }
    }

    /// <summary>Per-channel normalization in place: x ← (x − mean[c]) / std[c] for images [B, C, ...].</summary>
    public static void Normalize(Tensor<float> images, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (images.Rank < 2) throw new ArgumentException($"images: expected shape [B, C, ...], got {Tensor<float>.Format(images.Shape)}", nameof(images));
        int b = images.Shape[0], c = images.Shape[1], plane = images.Length / Math.Max(1, b * c);
        if (mean.Length != c || std.Length != c) throw new ArgumentException($"normalization needs {c} means and standard deviations (one per channel), got {mean.Length} and {std.Length}");
        foreach (var s in std) if (!(s > 0)) throw new ArgumentException($"standard deviations must be positive, got {s}");
        var data = images.AsSpan();
        for (int i = 0; i < b; i++)
            for (int ch = 0; ch < c; ch++)
            {
                float m = mean[ch], inv = 1f / std[ch];
                var x = data.Slice((i * c + ch) * plane, plane);
                for (int k = 0; k < x.Length; k++) x[k] = (x[k] - m) * inv;
            }
    }

    /// <summary>The per-channel mean and (population) standard deviation of samples [C, ...] stored back to back.</summary>
    public static (float[] Mean, float[] Std) ChannelStats(ReadOnlySpan<float> samples, int[] sampleShape)
    {
        if (sampleShape.Length < 1) throw new ArgumentException("samples need a channel dimension", nameof(sampleShape));
        int c = sampleShape[0], size = Tensor<float>.ShapeLength(sampleShape), plane = size / c;
        if (samples.Length % size != 0) throw new ArgumentException($"{samples.Length} values are not a whole number of samples of shape {Tensor<float>.Format(sampleShape)}");
        var sum = new double[c]; var sq = new double[c];
        long n = samples.Length / size;
        for (long i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                foreach (var v in samples.Slice((int)(i * size + ch * plane), plane)) { sum[ch] += v; sq[ch] += (double)v * v; }
        var mean = new float[c]; var std = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double count = (double)n * plane, m = sum[ch] / count;
            mean[ch] = (float)m;
            std[ch] = (float)Math.Sqrt(Math.Max(0, sq[ch] / count - m * m));
        }
        return (mean, std);
    }
}
