using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace NetDsl.Runtime.Training;

/// <summary>Summary of one training epoch.</summary>
public readonly record struct EpochStats(int Epoch, int Batches, int Samples, double MeanLoss, TimeSpan Elapsed)
{
    public double ImagesPerSecond => Elapsed.TotalSeconds > 0 ? Samples / Elapsed.TotalSeconds : 0;
}

/// <summary>Running statistics of the epoch in progress; the training loop calls <see cref="Batch"/> after each step.</summary>
public sealed class EpochProgress
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lossSum;
    internal Action? OnBatch;

    public int Epoch { get; }
    public int TotalBatches { get; }
    public int Batches { get; private set; }
    public int Samples { get; private set; }
    /// <summary>Mean loss so far this epoch, weighted by batch size.</summary>
    public double MeanLoss => Samples > 0 ? _lossSum / Samples : double.NaN;
    public double LastLoss { get; private set; } = double.NaN;
    public TimeSpan Elapsed => _clock.Elapsed;
    public double ImagesPerSecond => _clock.Elapsed.TotalSeconds > 0 ? Samples / _clock.Elapsed.TotalSeconds : 0;

    internal EpochProgress(int epoch, int totalBatches) { Epoch = epoch; TotalBatches = totalBatches; }

    /// <summary>Records a finished batch of <paramref name="samples"/> images whose mean loss was <paramref name="loss"/>.</summary>
    public void Batch(double loss, int samples)
    {
        Batches++;
        Samples += samples;
        _lossSum += loss * samples;
        LastLoss = loss;
        OnBatch?.Invoke();
    }

    internal EpochStats Finish()
    {
        _clock.Stop();
        return new EpochStats(Epoch, Batches, Samples, MeanLoss, _clock.Elapsed);
    }
}

/// <summary>
/// Console progress for training: a Spectre.Console progress bar per epoch showing the running loss and images/s, and a
/// line per epoch with the held-out accuracy. When output is redirected (or the console is not interactive / has no ANSI
/// support) it prints plain lines instead: one every <see cref="PlainInterval"/> during an epoch and one at its end.
/// </summary>
public sealed class ProgressReporter
{
    private readonly IAnsiConsole? _console;
    private readonly TextWriter _plain;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public int Epochs { get; }
    /// <summary>True when a live progress bar is drawn; false for plain line output.</summary>
    public bool Interactive { get; }
    public TimeSpan PlainInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <param name="epochs">Total epochs (for "epoch 3/10").</param>
    /// <param name="console">Console for the live display (default <see cref="AnsiConsole.Console"/>).</param>
    /// <param name="plainOut">Writer for plain output (default <see cref="Console.Out"/>).</param>
    /// <param name="interactive">Force live (true) or plain (false) output; null detects it.</param>
    public ProgressReporter(int epochs, IAnsiConsole? console = null, TextWriter? plainOut = null, bool? interactive = null)
    {
        Epochs = epochs;
        _plain = plainOut ?? Console.Out;
        Interactive = interactive ?? (plainOut is null && DetectInteractive(console ?? AnsiConsole.Console));
        if (Interactive) _console = console ?? AnsiConsole.Console;
    }

    /// <summary>Whether <paramref name="console"/> can show a live progress bar (interactive, ANSI, not redirected).</summary>
    public static bool DetectInteractive(IAnsiConsole console)
    {
        try
        {
            var caps = console.Profile.Capabilities;
            return caps.Interactive && caps.Ansi && !Console.IsOutputRedirected
                && Environment.GetEnvironmentVariable("CI") is null && Environment.GetEnvironmentVariable("NO_COLOR") is null;
        }
        catch (Exception) { return false; }
    }

    /// <summary>Runs one epoch's <paramref name="body"/>, which calls <see cref="EpochProgress.Batch"/> after each batch.</summary>
    public EpochStats RunEpoch(int epoch, int batches, Action<EpochProgress> body)
    {
        var progress = new EpochProgress(epoch, batches);
        if (Interactive) RunLive(progress, body);
        else RunPlain(progress, body);
        return progress.Finish();
    }

    private string Title(int epoch) => $"epoch {epoch + 1}/{Epochs}";

    private string Describe(EpochProgress p) =>
        string.Create(Inv, $"{Title(p.Epoch)}  loss {p.MeanLoss,7:F4}  {p.ImagesPerSecond,7:F0} samples/s");

    private void RunLive(EpochProgress progress, Action<EpochProgress> body)
    {
        _console!.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(Title(progress.Epoch)), autoStart: true, maxValue: Math.Max(1, progress.TotalBatches));
                long lastUpdate = 0;
                progress.OnBatch = () =>
                {
                    task.Value = progress.Batches;
                    long now = Stopwatch.GetTimestamp();
                    if (Stopwatch.GetElapsedTime(lastUpdate, now) > TimeSpan.FromMilliseconds(100) || progress.Batches == progress.TotalBatches)
                    {
                        task.Description = Markup.Escape(Describe(progress));
                        lastUpdate = now;
                    }
                };
                body(progress);
                task.Description = Markup.Escape(Describe(progress));
                task.Value = task.MaxValue;
                task.StopTask();
            });
    }

    private void RunPlain(EpochProgress progress, Action<EpochProgress> body)
    {
        var last = Stopwatch.GetTimestamp();
        progress.OnBatch = () =>
        {
            long now = Stopwatch.GetTimestamp();
            if (Stopwatch.GetElapsedTime(last, now) >= PlainInterval && progress.Batches < progress.TotalBatches)
            {
                _plain.WriteLine(string.Create(Inv, $"{Describe(progress)}  batch {progress.Batches}/{progress.TotalBatches}"));
                last = now;
            }
        };
        body(progress);
        _plain.WriteLine(string.Create(Inv, $"{Describe(progress)}  {progress.Elapsed.TotalSeconds:F1} s"));
        _plain.Flush();
    }

    /// <summary>Prints the epoch's held-out accuracy (and learning rate when given); with no held-out samples, only the loss.</summary>
    public void EpochResult(EpochStats stats, double accuracy, int correct, int total, double? learningRate = null)
    {
        var line = string.Create(Inv, $"{Title(stats.Epoch)}: train loss {stats.MeanLoss:F4}")
            + (total > 0 ? string.Create(Inv, $", held-out accuracy {accuracy * 100:F2}% ({correct}/{total})") : "")
            + (learningRate is { } lr ? string.Create(Inv, $", lr {lr:G4}") : "")
            + string.Create(Inv, $", {stats.ImagesPerSecond:F0} samples/s");
        Line(line);
    }

    /// <summary>
    /// Prints the epoch's logged values, only those the run has (e.g. "loss 0.1234, val_loss 0.0812, val_accuracy 97.35%, lr 0.002"):
    /// accuracy-like values as percentages, no accuracy for a regression.
    /// </summary>
    public void EpochSummary(EpochStats stats, EpochLog log)
    {
        var parts = new List<string>();
        foreach (var name in log.Order)
        {
            if (name is "epoch" or "time_s" or "lr") continue;
            double v = log[name];
            parts.Add(log.Percent.Contains(name) ? string.Create(Inv, $"{name} {v * 100:F2}%") : string.Create(Inv, $"{name} {v:G5}"));
        }
        if (log.TryGetValue("lr", out var lr)) parts.Add(string.Create(Inv, $"lr {lr:G4}"));
        parts.Add(string.Create(Inv, $"{stats.ImagesPerSecond:F0} samples/s"));
        Line($"{Title(stats.Epoch)}: {string.Join(", ", parts)}");
    }

    /// <summary>Renders a Spectre.Console widget (e.g. a confusion matrix table); as plain text when not interactive.</summary>
    public void Write(Spectre.Console.Rendering.IRenderable widget)
    {
        if (Interactive) { _console!.Write(widget); return; }
        var plain = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(_plain), Interactive = InteractionSupport.No });
        plain.Profile.Width = 120;
        plain.Write(widget);
        _plain.Flush();
    }

    /// <summary>Prints a line of text (plain, markup-escaped in live mode).</summary>
    public void Line(string text)
    {
        if (Interactive) _console!.MarkupLine(Markup.Escape(text));
        else { _plain.WriteLine(text); _plain.Flush(); }
    }
}
