using System.Numerics;

namespace NetDsl.Runtime.Training;

/// <summary>Classification accuracy: argmax of logits [N, C] against labels [N].</summary>
public static class Accuracy
{
    /// <summary>Index of the largest of <paramref name="row"/> (the first one on ties; NaN never wins).</summary>
    public static int ArgMax<T>(ReadOnlySpan<T> row) where T : unmanaged, INumber<T>
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++)
            if (row[j] > row[best] || T.IsNaN(row[best])) best = j;
        return best;
    }

    /// <summary>Number of rows of <paramref name="logits"/> (row-major [labels.Length, classes]) whose argmax is the label.</summary>
    public static int CountCorrect<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels) where T : unmanaged, INumber<T>
    {
        if (classes <= 0) throw new ArgumentOutOfRangeException(nameof(classes), $"classes must be positive, got {classes}");
        if (logits.Length != labels.Length * classes)
            throw new ArgumentException($"logits: expected {labels.Length}×{classes} = {labels.Length * classes} values for {labels.Length} labels, got {logits.Length}");
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
            if (ArgMax(logits.Slice(i * classes, classes)) == labels[i]) correct++;
        return correct;
    }

    /// <summary>Correct predictions of logits [N, C] vs labels [N] (either may live on any device; copied to the host if needed).</summary>
    public static int CountCorrect<T>(Tensor<T> logits, Tensor<int> labels) where T : unmanaged, INumber<T>
    {
        if (logits.Rank != 2) throw new ArgumentException($"logits: expected shape [N, C], got {Tensor<T>.Format(logits.Shape)}");
        labels.CheckShape(nameof(labels), [logits.Shape[0]]);
        ReadOnlySpan<T> l = logits.Device.IsCpu ? logits.AsSpan() : logits.CopyToHost();
        ReadOnlySpan<int> y = labels.Device.IsCpu ? labels.AsSpan() : labels.CopyToHost();
        return CountCorrect(l, logits.Shape[1], y);
    }

    /// <summary>Fraction of correct predictions (0 for an empty batch).</summary>
    public static double Of<T>(Tensor<T> logits, Tensor<int> labels) where T : unmanaged, INumber<T> =>
        logits.Shape[0] == 0 ? 0 : (double)CountCorrect(logits, labels) / logits.Shape[0];
}

/// <summary>Accumulates correct/total over several batches.</summary>
public sealed class AccuracyMeter
{
    public int Correct { get; private set; }
    public int Total { get; private set; }
    public double Value => Total == 0 ? 0 : (double)Correct / Total;

    public void Add<T>(Tensor<T> logits, Tensor<int> labels) where T : unmanaged, INumber<T>
    {
        Correct += Accuracy.CountCorrect(logits, labels);
        Total += logits.Shape[0];
    }

    public void Add(int correct, int total) { Correct += correct; Total += total; }
    public void Reset() { Correct = 0; Total = 0; }
    public override string ToString() => $"{Value * 100:F2}% ({Correct}/{Total})";
}
