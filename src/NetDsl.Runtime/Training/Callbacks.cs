using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using NetDsl.Runtime.Optim;

namespace NetDsl.Runtime.Training;

/// <summary>Whether a smaller or a larger value of a monitored quantity is better ("auto": smaller for losses and errors).</summary>
public enum MonitorMode { Auto, Min, Max }

internal static class Monitor
{
    public static bool Minimize(string name, MonitorMode mode) => mode switch
    {
        MonitorMode.Min => true,
        MonitorMode.Max => false,
        _ => name.EndsWith("loss", StringComparison.Ordinal) || name.EndsWith("mse", StringComparison.Ordinal) || name.EndsWith("mae", StringComparison.Ordinal),
    };

    public static double Read(EpochLog log, string monitor) =>
        log.TryGetValue(monitor, out var v) ? v
        : throw new InvalidOperationException($"the monitored value '{monitor}' is not logged (logged: {string.Join(", ", log.Order)}); pass validation data or monitor \"loss\"");
}

/// <summary>
/// Keras' EarlyStopping: stops when <see cref="Monitor"/> has not improved by more than <c>minDelta</c> for
/// <c>patience</c> epochs; with <c>restoreBestWeights</c> the weights of the best epoch are put back at the end.
/// </summary>
public sealed class EarlyStopping(string monitor = "val_loss", int patience = 5, double minDelta = 0, MonitorMode mode = MonitorMode.Auto, bool restoreBestWeights = false) : Callback
{
    public string Monitor { get; } = monitor;
    public int Patience { get; } = patience >= 0 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), $"patience must be >= 0, got {patience}");
    public double MinDelta { get; } = Math.Abs(minDelta);
    public bool RestoreBestWeights { get; } = restoreBestWeights;
    public double Best { get; private set; }
    public int BestEpoch { get; private set; }
    /// <summary>The epoch (1-based) after which training stopped, or 0.</summary>
    public int StoppedEpoch { get; private set; }
    private int _wait;
    private bool _min;
    private Action? _restore;

    public override void OnTrainBegin(TrainerContext context)
    {
        _min = Training.Monitor.Minimize(Monitor, mode);
        Best = _min ? double.PositiveInfinity : double.NegativeInfinity;
        _wait = 0; StoppedEpoch = 0; BestEpoch = 0; _restore = null;
    }

    public override void OnEpochEnd(TrainerContext context, EpochLog log)
    {
        double v = Training.Monitor.Read(log, Monitor);
        bool better = _min ? v < Best - MinDelta : v > Best + MinDelta;
        if (better)
        {
            Best = v; BestEpoch = log.Epoch; _wait = 0;
            if (RestoreBestWeights) _restore = context.SnapshotWeights();
            return;
        }
        if (++_wait >= Patience)
        {
            StoppedEpoch = log.Epoch;
            context.StopTraining = true;
            context.StopReason = string.Create(CultureInfo.InvariantCulture,
                $"early stopping after epoch {log.Epoch}: {Monitor} has not improved for {_wait} epochs (best {Best:G5} at epoch {BestEpoch})");
        }
    }

    public override void OnTrainEnd(TrainerContext context)
    {
        if (_restore is null) return;
        _restore();
        context.Log($"restored the weights of epoch {BestEpoch} ({Monitor} {Best.ToString("G5", CultureInfo.InvariantCulture)})");
    }
}

/// <summary>
/// Saves checkpoints into <c>directory</c>: <c>last.ckpt</c> after every epoch and <c>best.ckpt</c> when <c>monitor</c>
/// improves, each with its optimizer and schedule state beside it (<c>last.optim.ckpt</c>, <c>best.optim.ckpt</c>, holding the
/// epoch), so a run can resume with <see cref="Resume"/>.
/// </summary>
public sealed class ModelCheckpoint(string directory, string monitor = "val_loss", MonitorMode mode = MonitorMode.Auto, bool saveBest = true, bool saveLast = true) : Callback
{
    public string Directory { get; } = directory;
    public string Monitor { get; } = monitor;
    public double Best { get; private set; }
    public int BestEpoch { get; private set; }
    private bool _min;

    public string LastPath => Path.Combine(Directory, "last.ckpt");
    public string BestPath => Path.Combine(Directory, "best.ckpt");
    /// <summary>The optimizer-state file beside a model checkpoint.</summary>
    public static string OptimizerPath(string modelPath) => Path.ChangeExtension(modelPath, ".optim.ckpt");

    public override void OnTrainBegin(TrainerContext context)
    {
        System.IO.Directory.CreateDirectory(Directory);
        _min = Training.Monitor.Minimize(Monitor, mode);
        Best = _min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    public override void OnEpochEnd(TrainerContext context, EpochLog log)
    {
        var extra = new Dictionary<string, string> { ["epoch"] = log.Epoch.ToString(CultureInfo.InvariantCulture) };
        if (saveLast) Save(context, LastPath, extra);
        if (!saveBest) return;
        double v = Training.Monitor.Read(log, Monitor);
        if (_min ? v < Best : v > Best)
        {
            Best = v; BestEpoch = log.Epoch;
            Save(context, BestPath, extra);
        }
    }

    private static void Save(TrainerContext context, string path, IReadOnlyDictionary<string, string> extra)
    {
        context.SaveModel(path);
        context.SaveOptimizer?.Invoke(OptimizerPath(path), extra);
    }

    /// <summary>
    /// Loads a checkpoint written by this callback into <paramref name="network"/>, <paramref name="optimizer"/> and
    /// <paramref name="schedule"/>; returns the number of epochs done (pass it to <c>Fit(…, initialEpoch)</c>).
    /// </summary>
    public static int Resume<T>(string modelPath, NetworkBase<T> network, Optimizer<T> optimizer, LrScheduler? schedule = null)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        network.Load(modelPath);
        var extra = OptimizerCheckpoint.Load(OptimizerPath(modelPath), optimizer, schedule);
        return extra.TryGetValue("epoch", out var e) ? int.Parse(e, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"optimizer checkpoint '{OptimizerPath(modelPath)}' does not record its epoch");
    }
}

/// <summary>Keras' CSVLogger: one row per epoch (epoch, loss, lr, val_…, time_s) written with CsvHelper, flushed every epoch.</summary>
public sealed class CsvLogger(string path, bool append = false) : Callback
{
    public string Path { get; } = path;
    private List<string>? _columns;

    public override void OnTrainBegin(TrainerContext context)
    {
        _columns = null;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (dir is not null) System.IO.Directory.CreateDirectory(dir);
        if (!append && File.Exists(Path)) File.Delete(Path);
    }

    public override void OnEpochEnd(TrainerContext context, EpochLog log)
    {
        bool header = _columns is null && (!File.Exists(Path) || new FileInfo(Path).Length == 0);
        _columns ??= log.Order.ToList();
        using var writer = new StreamWriter(Path, append: true);
        using var csv = new CsvWriter(writer, new CsvConfiguration(CultureInfo.InvariantCulture));
        if (header)
        {
            foreach (var c in _columns) csv.WriteField(c);
            csv.NextRecord();
        }
        foreach (var c in _columns)
            csv.WriteField(log.TryGetValue(c, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
        csv.NextRecord();
    }
}

/// <summary>
/// Writes the loss and metric curves per epoch as <c>{pathWithoutExtension}.png</c> and <c>.svg</c> (ScottPlot), redrawn after
/// every epoch: losses on the left axis, percentage metrics (accuracy…) on the right.
/// </summary>
public sealed class CurvePlot(string pathWithoutExtension, string title = "training curves", int width = 800, int height = 500) : Callback
{
    public string PngPath => pathWithoutExtension + ".png";
    public string SvgPath => pathWithoutExtension + ".svg";

    public override void OnEpochEnd(TrainerContext context, EpochLog log) => Draw(context.History, PngPath, SvgPath, title, width, height);

    /// <summary>Draws <paramref name="history"/> to a PNG and an SVG file.</summary>
    public static void Draw(TrainingHistory history, string pngPath, string svgPath, string title = "training curves", int width = 800, int height = 500)
    {
        if (history.Epochs.Count == 0) return;
        var plot = new ScottPlot.Plot();
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel("loss");
        double[] epochs = history.Series("epoch");
        var last = history.Epochs[^1];
        bool anyPercent = false;
        var palette = new ScottPlot.Palettes.Category10();
        int color = 0;
        foreach (var name in last.Order)
        {
            if (name is "epoch" or "time_s" or "lr") continue;
            var ys = history.Series(name);
            if (ys.All(double.IsNaN)) continue;
            bool percent = last.Percent.Contains(name);
            if (percent) ys = ys.Select(v => v * 100).ToArray();
            var s = plot.Add.Scatter(epochs, ys, palette.GetColor(color++));
            s.LegendText = percent ? name + " (%)" : name;
            s.MarkerSize = epochs.Length > 30 ? 0 : 4;
            // validation curves: square markers (a dashed line pattern is not supported by the SVG backend)
            if (name.Contains("val", StringComparison.Ordinal)) s.MarkerShape = ScottPlot.MarkerShape.OpenSquare;
            if (percent)
            {
                s.Axes.YAxis = plot.Axes.Right;
                anyPercent = true;
            }
        }
        if (anyPercent) plot.Axes.Right.Label.Text = "%";
        plot.ShowLegend(ScottPlot.Alignment.MiddleRight);
        foreach (var p in new[] { pngPath, svgPath })
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(p));
            if (dir is not null) Directory.CreateDirectory(dir);
        }
        plot.SavePng(pngPath, width, height);
        plot.SaveSvg(svgPath, width, height);
    }
}
