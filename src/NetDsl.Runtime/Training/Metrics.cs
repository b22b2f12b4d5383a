using System.Globalization;
using Spectre.Console;

namespace NetDsl.Runtime.Training;

/// <summary>One value a metric reports: its name (e.g. "accuracy", "f1"), the value, and whether it reads as a percentage.</summary>
public readonly record struct MetricValue(string Name, double Value, bool Percent = false, bool HigherIsBetter = true);

/// <summary>
/// A metric accumulated over the batches of an evaluation (Keras' metrics): the trainer passes each batch's outputs
/// (row-major [n, columns], read as double) and either class labels [n] (classification) or float targets [n·columns]
/// (regression); the other span is empty.
/// </summary>
public interface IMetric
{
    void Reset();
    void Update(ReadOnlySpan<double> outputs, int columns, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets);
    IEnumerable<MetricValue> Results();
}

internal static class MetricChecks
{
    public static void Labels(string metric, int columns, ReadOnlySpan<int> labels, int rows)
    {
        if (labels.Length != rows)
            throw new ArgumentException($"{metric} needs one class label per output row: {rows} rows, {labels.Length} labels (is this a regression task? use MSE/MAE)");
        foreach (var l in labels)
            if ((uint)l >= (uint)columns) throw new ArgumentException($"{metric}: label {l} is outside the model's {columns} classes 0..{columns - 1}");
    }

    public static int ArgMax(ReadOnlySpan<double> row) => Accuracy.ArgMax(row);
}

/// <summary>Top-1 accuracy: the argmax of each output row equals the label.</summary>
public sealed class AccuracyMetric : IMetric
{
    private long _correct, _total;
    public void Reset() { _correct = 0; _total = 0; }
    public void Update(ReadOnlySpan<double> outputs, int columns, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets)
    {
        int rows = outputs.Length / columns;
        MetricChecks.Labels("accuracy", columns, labels, rows);
        for (int i = 0; i < rows; i++)
            if (MetricChecks.ArgMax(outputs.Slice(i * columns, columns)) == labels[i]) _correct++;
        _total += rows;
    }
    public double Value => _total == 0 ? double.NaN : (double)_correct / _total;
    public IEnumerable<MetricValue> Results() => [new("accuracy", Value, Percent: true)];
}

/// <summary>Top-k accuracy: the label is among the k largest outputs (ties broken toward the lower class, as argmax).</summary>
public sealed class TopKAccuracy(int k) : IMetric
{
    private long _correct, _total;
    public int K { get; } = k > 0 ? k : throw new ArgumentOutOfRangeException(nameof(k), $"k must be positive, got {k}");
    public void Reset() { _correct = 0; _total = 0; }
    public void Update(ReadOnlySpan<double> outputs, int columns, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets)
    {
        int rows = outputs.Length / columns;
        MetricChecks.Labels($"top-{K} accuracy", columns, labels, rows);
        for (int i = 0; i < rows; i++)
        {
            var row = outputs.Slice(i * columns, columns);
            double mine = row[labels[i]];
            int better = 0; // classes ranked above the label
            for (int j = 0; j < columns; j++)
                if (row[j] > mine || (row[j] == mine && j < labels[i]) || double.IsNaN(mine)) better++;
            if (better < K) _correct++;
        }
        _total += rows;
    }
    public double Value => _total == 0 ? double.NaN : (double)_correct / _total;
    public IEnumerable<MetricValue> Results() => [new($"top{K}_accuracy", Value, Percent: true)];
}

/// <summary>
/// The confusion matrix (rows: true class, columns: predicted) and the per-class and macro-averaged precision, recall and F1
/// derived from it. <see cref="ToTable"/> renders it as a Spectre.Console table.
/// </summary>
public sealed class ConfusionMatrix(int classes, IReadOnlyList<string>? classNames = null) : IMetric
{
    public int Classes { get; } = classes > 1 ? classes : throw new ArgumentOutOfRangeException(nameof(classes), $"need at least 2 classes, got {classes}");
    public IReadOnlyList<string> ClassNames { get; } = classNames ?? Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    /// <summary>Counts[true, predicted].</summary>
    public long[,] Counts { get; } = new long[classes, classes];
    /// <summary>Report precision/recall/F1 (macro averages) among the results (default true).</summary>
    public bool ReportF1 { get; init; } = true;

    public void Reset() => Array.Clear(Counts);
    public void Update(ReadOnlySpan<double> outputs, int columns, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets)
    {
        if (columns != Classes) throw new ArgumentException($"confusion matrix for {Classes} classes, but the model outputs {columns} columns");
        int rows = outputs.Length / columns;
        MetricChecks.Labels("confusion matrix", columns, labels, rows);
        for (int i = 0; i < rows; i++) Counts[labels[i], MetricChecks.ArgMax(outputs.Slice(i * columns, columns))]++;
    }

    public double Precision(int c) { long tp = Counts[c, c], col = 0; for (int t = 0; t < Classes; t++) col += Counts[t, c]; return col == 0 ? 0 : (double)tp / col; }
    public double Recall(int c) { long tp = Counts[c, c], row = 0; for (int p = 0; p < Classes; p++) row += Counts[c, p]; return row == 0 ? 0 : (double)tp / row; }
    public double F1(int c) { double p = Precision(c), r = Recall(c); return p + r == 0 ? 0 : 2 * p * r / (p + r); }
    public double MacroPrecision => Enumerable.Range(0, Classes).Average(Precision);
    public double MacroRecall => Enumerable.Range(0, Classes).Average(Recall);
    public double MacroF1 => Enumerable.Range(0, Classes).Average(F1);

    public IEnumerable<MetricValue> Results() => ReportF1
        ? [new("precision", MacroPrecision, Percent: true), new("recall", MacroRecall, Percent: true), new("f1", MacroF1, Percent: true)]
        : [];

    /// <summary>The matrix with per-class recall, precision and F1, as a Spectre.Console table.</summary>
    public Table ToTable(string title = "confusion matrix (rows: true class, columns: predicted)")
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(title)) };
        table.AddColumn("true \\ pred");
        foreach (var n in ClassNames) table.AddColumn(new TableColumn(Markup.Escape(n)).RightAligned());
        table.AddColumn(new TableColumn("recall").RightAligned());
        table.AddColumn(new TableColumn("precision").RightAligned());
        table.AddColumn(new TableColumn("F1").RightAligned());
        for (int t = 0; t < Classes; t++)
        {
            var cells = new List<string> { Markup.Escape(ClassNames[t]) };
            for (int p = 0; p < Classes; p++)
                cells.Add(t == p ? $"[bold]{Counts[t, p]}[/]" : Counts[t, p] == 0 ? "[grey]0[/]" : Counts[t, p].ToString(CultureInfo.InvariantCulture));
            cells.Add(string.Create(CultureInfo.InvariantCulture, $"{Recall(t) * 100:F1}%"));
            cells.Add(string.Create(CultureInfo.InvariantCulture, $"{Precision(t) * 100:F1}%"));
            cells.Add(string.Create(CultureInfo.InvariantCulture, $"{F1(t) * 100:F1}%"));
            table.AddRow(cells.ToArray());
        }
        return table;
    }
}

/// <summary>Mean squared error between outputs and float targets (regression).</summary>
public sealed class MeanSquaredError : IMetric
{
    private double _sum; private long _n;
    public void Reset() { _sum = 0; _n = 0; }
    public void Update(ReadOnlySpan<double> outputs, int columns, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets)
    {
        if (targets.Length != outputs.Length) throw new ArgumentException($"mse needs one float target per output: {outputs.Length} outputs, {targets.Length} targets");
        for (int i = 0; i < outputs.Length; i++) { double d = outputs[i] - targets[i]; _sum += d * d; }
        _n += outputs.Length;
    }
    public IEnumerable<MetricValue> Results() => [new("mse", _n == 0 ? double.NaN : _sum / _n, HigherIsBetter: false)];
}

/// <summary>Mean absolute error between outputs and float targets (regression).</summary>
public sealed class MeanAbsoluteError : IMetric
{
    private double _sum; private long _n;
    public void Reset() { _sum = 0; _n = 0; }
    public void Update(ReadOnlySpan<double> outputs, int columns, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets)
    {
        if (targets.Length != outputs.Length) throw new ArgumentException($"mae needs one float target per output: {outputs.Length} outputs, {targets.Length} targets");
        for (int i = 0; i < outputs.Length; i++) _sum += Math.Abs(outputs[i] - targets[i]);
        _n += outputs.Length;
    }
    public IEnumerable<MetricValue> Results() => [new("mae", _n == 0 ? double.NaN : _sum / _n, HigherIsBetter: false)];
}
