using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;

namespace NetDsl.Runtime.Training;

/// <summary>When a schedule steps: after every optimizer step, or after every epoch.</summary>
public enum ScheduleInterval { Epoch, Batch }

/// <summary>The values logged for one epoch, by name: "epoch" (1-based), "loss", "lr", "time_s", then "val_loss" and "val_…" metrics.</summary>
public sealed class EpochLog : Dictionary<string, double>
{
    public EpochLog() : base(StringComparer.Ordinal) { }
    /// <summary>The names in the order they were added (the CSV column order).</summary>
    public List<string> Order { get; } = new();
    /// <summary>Which values read as percentages (accuracy-like).</summary>
    public HashSet<string> Percent { get; } = new(StringComparer.Ordinal);
    public void Set(string name, double value, bool percent = false)
    {
        if (!ContainsKey(name)) Order.Add(name);
        this[name] = value;
        if (percent) Percent.Add(name);
    }
    public int Epoch => (int)this["epoch"];
}

/// <summary>Every epoch's log of a <see cref="Trainer{T, TBatch}.Fit"/> run (Keras' History).</summary>
public sealed class TrainingHistory
{
    public List<EpochLog> Epochs { get; } = new();
    /// <summary>Why training ended before the last epoch (early stopping), or null.</summary>
    public string? StopReason { get; internal set; }
    /// <summary>The values of <paramref name="name"/> per epoch (NaN where missing).</summary>
    public double[] Series(string name) => Epochs.Select(e => e.TryGetValue(name, out var v) ? v : double.NaN).ToArray();
    public bool Has(string name) => Epochs.Any(e => e.ContainsKey(name));
}

/// <summary>Thrown when a training step returns a NaN or infinite loss: names the epoch, the batch and the global step.</summary>
public sealed class NonFiniteLossException(string message, int epoch, int batch, long step, double loss) : Exception(message)
{
    public int Epoch { get; } = epoch;
    public int Batch { get; } = batch;
    public long Step { get; } = step;
    public double Loss { get; } = loss;
}

/// <summary>What a callback sees of the run and may change.</summary>
public sealed class TrainerContext
{
    internal TrainerContext(IOptimizer optimizer, LrScheduler? schedule, TrainingHistory history, int epochs, ProgressReporter? progress,
        Action<string> saveModel, Func<Action> snapshot)
    {
        Optimizer = optimizer; Schedule = schedule; History = history; Epochs = epochs; Progress = progress; _saveModel = saveModel; _snapshot = snapshot;
    }
    private readonly Action<string> _saveModel;
    private readonly Func<Action> _snapshot;
    public IOptimizer Optimizer { get; }
    public LrScheduler? Schedule { get; }
    public TrainingHistory History { get; }
    public int Epochs { get; }
    /// <summary>The epoch running or just finished (0-based).</summary>
    public int Epoch { get; internal set; }
    public ProgressReporter? Progress { get; }
    /// <summary>Set by a callback to end training after this epoch.</summary>
    public bool StopTraining { get; set; }
    public string? StopReason { get; set; }
    /// <summary>Writes the model (network parameters and buffers, or the optimizer's parameters) to <paramref name="path"/>.</summary>
    public void SaveModel(string path) => _saveModel(path);
    /// <summary>Saves the optimizer and schedule state next to a model file (see <see cref="OptimizerCheckpoint"/>).</summary>
    public Action<string, IReadOnlyDictionary<string, string>>? SaveOptimizer { get; internal set; }
    /// <summary>Copies the current weights in memory; calling the returned action puts them back.</summary>
    public Action SnapshotWeights() => _snapshot();
    /// <summary>Prints a line through the progress display (or the console).</summary>
    public void Log(string line) { if (Progress is { } p) p.Line(line); else Console.WriteLine(line); }
}

/// <summary>Hooks into <see cref="Trainer{T, TBatch}.Fit"/> (Keras callbacks).</summary>
public abstract class Callback
{
    public virtual void OnTrainBegin(TrainerContext context) { }
    public virtual void OnEpochEnd(TrainerContext context, EpochLog log) { }
    public virtual void OnTrainEnd(TrainerContext context) { }
}

/// <summary>
/// A fit loop (Keras' <c>model.fit</c>, a PyTorch training loop written once): epochs over a batch source, the network's
/// training step, a learning-rate schedule stepped per batch or per epoch, evaluation on validation data with
/// <see cref="Metrics"/>, <see cref="Callbacks"/> (early stopping, checkpoints, CSV log, curves) and Spectre progress.
/// A NaN or infinite loss stops training with a <see cref="NonFiniteLossException"/> naming the epoch and step.
/// </summary>
/// <example><code>
/// var trainer = new Trainer&lt;float, Batch&gt;(adam, b =&gt; net.TrainStep(b.Images, b.Labels, adam))
/// {
///     Epochs = 10, Network = net, Schedule = new CosineAnnealingLR(adam, 10),
///     Predict = b =&gt; net.Forward(b.Images), Labels = b =&gt; b.Labels,
///     Metrics = { new AccuracyMetric() }, Callbacks = { new EarlyStopping("val_loss", patience: 3), new CsvLogger("log.csv") },
/// };
/// var history = trainer.Fit(trainLoader, testLoader);
/// </code></example>
public sealed class Trainer<T, TBatch> where T : unmanaged, IBinaryFloatingPointIeee754<T> where TBatch : IBatch
{
    private readonly Func<TBatch, T> _trainStep;

    /// <param name="optimizer">The optimizer <paramref name="trainStep"/> steps (the trainer reads and schedules its learning rate).</param>
    /// <param name="trainStep">One training step on a batch, returning its loss, e.g. <c>b =&gt; net.TrainStep(b.Images, b.Labels, optimizer)</c>.</param>
    public Trainer(Optimizer<T> optimizer, Func<TBatch, T> trainStep)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _trainStep = trainStep ?? throw new ArgumentNullException(nameof(trainStep));
    }

    public Optimizer<T> Optimizer { get; }
    public int Epochs { get; init; } = 1;
    public LrScheduler? Schedule { get; init; }
    public ScheduleInterval ScheduleInterval { get; init; } = ScheduleInterval.Epoch;
    /// <summary>The value a <see cref="ReduceLROnPlateau"/> schedule is stepped with ("val_loss", or "loss" without validation data).</summary>
    public string PlateauMonitor { get; init; } = "val_loss";
    /// <summary>The network: switched to training/evaluation mode around each phase, and saved by checkpoints. Optional.</summary>
    public NetworkBase<T>? Network { get; init; }
    /// <summary>The model's output for a batch, in evaluation mode (e.g. <c>b =&gt; net.Forward(b.Images)</c>): for metrics and val_loss.</summary>
    public Func<TBatch, Tensor<T>>? Predict { get; init; }
    /// <summary>Class labels of a batch (classification: val_loss is the cross-entropy of the outputs).</summary>
    public Func<TBatch, Tensor<int>>? Labels { get; init; }
    /// <summary>Float targets of a batch (regression: val_loss is the mean squared error of the outputs).</summary>
    public Func<TBatch, Tensor<float>>? Targets { get; init; }
    public List<IMetric> Metrics { get; init; } = new();
    /// <summary>
    /// Extra values computed after each epoch with the network in evaluation mode (e.g. a held-out loss the network computes
    /// itself, as a VAE's <c>ComputeLoss</c>): added to the epoch's log (and so to the progress line, CSV and curves).
    /// </summary>
    public Func<int, IEnumerable<(string Name, double Value)>>? Validate { get; init; }
    public List<Callback> Callbacks { get; init; } = new();
    /// <summary>The progress display (default: a <see cref="ProgressReporter"/> for <see cref="Epochs"/>); null with <see cref="Quiet"/>.</summary>
    public ProgressReporter? Progress { get; init; }
    public bool Quiet { get; init; }

    /// <summary>
    /// Trains for <see cref="Epochs"/> epochs starting at <paramref name="initialEpoch"/> (to resume), evaluating on
    /// <paramref name="validation"/> after each epoch when given. Returns every epoch's log.
    /// </summary>
    public TrainingHistory Fit(IBatchSource<TBatch> train, IBatchSource<TBatch>? validation = null, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (Epochs <= 0) throw new ArgumentOutOfRangeException(nameof(Epochs), $"epochs must be positive, got {Epochs}");
        if (train.BatchesPerEpoch == 0) throw new ArgumentException("the training data yields no batches (empty dataset, or dropLast with fewer samples than a batch)", nameof(train));
        if (validation is not null && Predict is null) throw new InvalidOperationException("validation data needs Predict (the model's outputs for a batch)");
        if (validation is not null && Labels is null && Targets is null) throw new InvalidOperationException("validation data needs Labels (classification) or Targets (regression)");
        var progress = Quiet ? null : Progress ?? new ProgressReporter(Epochs);
        var history = new TrainingHistory();
        var ctx = new TrainerContext(Optimizer, Schedule, history, Epochs, progress, SaveModel, Snapshot)
        {
            SaveOptimizer = (path, extra) => OptimizerCheckpoint.Save(path, Optimizer, Schedule, extra),
        };
        foreach (var c in Callbacks) c.OnTrainBegin(ctx);
        long globalStep = (long)initialEpoch * train.BatchesPerEpoch;
        for (int epoch = initialEpoch; epoch < Epochs; epoch++)
        {
            ctx.Epoch = epoch;
            var clock = Stopwatch.StartNew();
            double lr = Optimizer.LearningRate;
            Network?.Train();
            double lastFinite = double.NaN;
            EpochStats stats;
            void Body(EpochProgress? p, ref double lossSum, ref int samples)
            {
                foreach (var batch in train.Epoch(epoch))
                {
                    if (batch.Size <= 0) throw new InvalidDataException($"epoch {epoch + 1}, batch {batch.Index + 1}: the batch is empty");
                    double loss = double.CreateTruncating(_trainStep(batch));
                    globalStep++;
                    if (!double.IsFinite(loss))
                        throw new NonFiniteLossException(
                            string.Create(CultureInfo.InvariantCulture,
                                $"training diverged: the loss is {loss} at epoch {epoch + 1}, batch {batch.Index + 1}/{train.BatchesPerEpoch} (step {globalStep}); ") +
                            (double.IsNaN(lastFinite) ? "it was not finite from the first batch of the epoch" : string.Create(CultureInfo.InvariantCulture, $"the previous batch's loss was {lastFinite:G5}")) +
                            string.Create(CultureInfo.InvariantCulture, $", learning rate {Optimizer.LearningRate:G4}. Lower the learning rate, clip gradients (optimizer.ClipGradNorm) or check the data for NaN/Inf."),
                            epoch, batch.Index, globalStep, loss);
                    lastFinite = loss;
                    lossSum += loss * batch.Size;
                    samples += batch.Size;
                    p?.Batch(loss, batch.Size);
                    if (Schedule is not null && ScheduleInterval == ScheduleInterval.Batch && Schedule is not ReduceLROnPlateau) StepSchedule(Schedule);
                }
            }
            double sum = 0; int n = 0;
            if (progress is not null) stats = progress.RunEpoch(epoch, train.BatchesPerEpoch, p => Body(p, ref sum, ref n));
            else { Body(null, ref sum, ref n); stats = new EpochStats(epoch, train.BatchesPerEpoch, n, sum / n, clock.Elapsed); }

            var log = new EpochLog();
            log.Set("epoch", epoch + 1);
            log.Set("loss", stats.MeanLoss);
            log.Set("lr", lr);
            if (validation is not null)
                foreach (var (name, value, percent) in Evaluate(validation, "val_")) log.Set(name, value, percent);
            if (Validate is not null)
            {
                Network?.Eval();
                foreach (var (name, value) in Validate(epoch)) log.Set(name, value);
                Network?.Train();
            }
            log.Set("time_s", clock.Elapsed.TotalSeconds);
            history.Epochs.Add(log);

            if (Schedule is ReduceLROnPlateau plateau) // always per epoch, on the monitored value
            {
                string monitor = log.ContainsKey(PlateauMonitor) ? PlateauMonitor : "loss";
                plateau.Step(log[monitor]);
            }
            else if (Schedule is not null && ScheduleInterval == ScheduleInterval.Epoch) StepSchedule(Schedule);

            progress?.EpochSummary(stats, log);
            foreach (var c in Callbacks) c.OnEpochEnd(ctx, log);
            if (ctx.StopTraining)
            {
                history.StopReason = ctx.StopReason ?? "stopped by a callback";
                progress?.Line(history.StopReason);
                break;
            }
        }
        foreach (var c in Callbacks) c.OnTrainEnd(ctx);
        if (progress is not null)
            foreach (var cm in Metrics.OfType<ConfusionMatrix>()) progress.Write(cm.ToTable());
        return history;
    }

    private void StepSchedule(LrScheduler schedule)
    {
        schedule.Step();
        // a schedule built without the optimizer still drives it
        if (schedule.Optimizer is null) Optimizer.LearningRate = schedule.Current;
    }

    /// <summary>Evaluates <see cref="Predict"/> on <paramref name="data"/>: the loss (cross-entropy or MSE) and every metric.</summary>
    public IReadOnlyList<(string Name, double Value, bool Percent)> Evaluate(IBatchSource<TBatch> data, string prefix = "")
    {
        if (Predict is null) throw new InvalidOperationException("Evaluate needs Predict (the model's outputs for a batch)");
        bool classification = Labels is not null;
        if (!classification && Targets is null) throw new InvalidOperationException("Evaluate needs Labels (classification) or Targets (regression)");
        Network?.Eval();
        foreach (var m in Metrics) m.Reset();
        double lossSum = 0; long rows = 0;
        foreach (var batch in data.Epoch(0))
        {
            if (batch.Size <= 0) throw new InvalidDataException($"evaluation batch {batch.Index + 1} is empty");
            var output = Predict(batch);
            int columns = output.Rank == 1 ? 1 : output.Length / output.Shape[0];
            var outHost = output.Device.IsCpu ? output.AsSpan() : output.CopyToHost();
            var outputs = new double[outHost.Length];
            for (int i = 0; i < outputs.Length; i++) outputs[i] = double.CreateTruncating(outHost[i]);
            int[] labels = [];
            double[] targets = [];
            if (classification)
            {
                var l = Labels!(batch);
                labels = l.Device.IsCpu ? l.AsSpan().ToArray() : l.CopyToHost();
                if (labels.Length * columns != outputs.Length)
                    throw new InvalidOperationException($"the model's output {Tensor<T>.Format(output.Shape)} does not have one row per label ({labels.Length} labels)");
                for (int i = 0; i < labels.Length; i++)
                {
                    if ((uint)labels[i] >= (uint)columns) throw new InvalidDataException($"label {labels[i]} in evaluation batch {batch.Index + 1} is outside the model's {columns} classes");
                    var row = outputs.AsSpan(i * columns, columns);
                    double max = double.NegativeInfinity;
                    foreach (var v in row) max = Math.Max(max, v);
                    double s = 0;
                    foreach (var v in row) s += Math.Exp(v - max);
                    lossSum += max + Math.Log(s) - row[labels[i]];
                }
                rows += labels.Length;
            }
            else
            {
                var t = Targets!(batch);
                var th = t.Device.IsCpu ? t.AsSpan() : t.CopyToHost();
                if (th.Length != outputs.Length)
                    throw new InvalidOperationException($"the model's output {Tensor<T>.Format(output.Shape)} and the targets {Tensor<float>.Format(t.Shape)} differ in size");
                targets = new double[th.Length];
                for (int i = 0; i < targets.Length; i++) { targets[i] = th[i]; double d = outputs[i] - targets[i]; lossSum += d * d; }
                rows += targets.Length;
            }
            foreach (var m in Metrics) m.Update(outputs, columns, labels, targets);
        }
        Network?.Train();
        var result = new List<(string, double, bool)> { (prefix + "loss", rows == 0 ? double.NaN : lossSum / rows, false) };
        foreach (var m in Metrics)
            foreach (var v in m.Results()) result.Add((prefix + v.Name, v.Value, v.Percent));
        return result;
    }

    private void SaveModel(string path)
    {
        if (Network is not null) Network.Save(path);
        else Checkpoint.Save(path, Optimizer.Parameters);
    }

    private Action Snapshot()
    {
        var tensors = Network is not null
            ? Network.Parameters.Select(p => p.Value).Concat(Network.Buffers.Select(b => b.Value)).ToArray()
            : Optimizer.Parameters.Select(p => p.Value).ToArray();
        var copies = tensors.Select(t => t.CopyToHost()).ToArray();
        return () => { for (int i = 0; i < tensors.Length; i++) tensors[i].CopyFromHost(copies[i]); };
    }
}
