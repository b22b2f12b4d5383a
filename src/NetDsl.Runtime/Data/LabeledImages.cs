namespace NetDsl.Runtime.Data;

/// <summary>
/// An in-memory image classification set: <see cref="Images"/> holds <see cref="Count"/> samples of
/// <see cref="SampleShape"/> (e.g. [1, 28, 28]) back to back, row-major; <see cref="Labels"/> one class per sample.
/// </summary>
public sealed class LabeledImages
{
    public float[] Images { get; }
    public int[] Labels { get; }
    public int[] SampleShape { get; }
    public int SampleSize { get; }
    public int Count => Labels.Length;

    public LabeledImages(float[] images, int[] labels, params int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        SampleShape = (int[])sampleShape.Clone();
        SampleSize = Tensor<float>.ShapeLength(sampleShape);
        if ((long)SampleSize * labels.Length != images.Length)
            throw new ArgumentException($"{images.Length} image values do not make {labels.Length} samples of shape {Tensor<float>.Format(sampleShape)} ({(long)SampleSize * labels.Length} values)");
        Images = images;
        Labels = labels;
    }

    /// <summary>The pixels of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Image(int index) => Images.AsSpan(checked(index * SampleSize), SampleSize);

    /// <summary>Shape of the whole set as a batch, e.g. [n, 1, 28, 28].</summary>
    public int[] BatchShape(int n) => [n, .. SampleShape];

    /// <summary>The samples at <paramref name="indices"/>, in that order (a copy).</summary>
    public LabeledImages Select(ReadOnlySpan<int> indices)
    {
        var images = new float[(long)indices.Length * SampleSize];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int s = indices[i];
            if ((uint)s >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"sample index {s} out of range 0..{Count - 1}");
            Images.AsSpan(s * SampleSize, SampleSize).CopyTo(images.AsSpan(i * SampleSize, SampleSize));
            labels[i] = Labels[s];
        }
        return new LabeledImages(images, labels, SampleShape);
    }

    /// <summary>
    /// Deterministic shuffle (SplitMix64 seeded with <paramref name="seed"/>) then split into the first
    /// <paramref name="trainCount"/> samples and the rest (e.g. 8,000 train / 2,000 held out of MNIST's 10,000).
    /// </summary>
    public (LabeledImages Train, LabeledImages Test) Split(int seed, int trainCount)
    {
        var order = SplitMix64.SplitOrder(seed, Count, trainCount);
        return (Select(order.AsSpan(0, trainCount)), Select(order.AsSpan(trainCount)));
    }

    /// <summary>Number of samples per class (labels must be in 0..classes-1).</summary>
    public int[] ClassCounts(int classes)
    {
        var counts = new int[classes];
        foreach (var l in Labels) counts[l]++;
        return counts;
    }
}
