using System.Globalization;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

namespace NetDsl.Runtime.Tests;

/// <summary>A linear model y = x·Wᵀ + b written by hand (no generated code): softmax cross-entropy or squared error.</summary>
internal sealed class LinearModel
{
    public readonly Parameter<float> W, B;
    public readonly int In, Out;
    public bool Classification;
    public LinearModel(int inputs, int outputs, bool classification, int seed = 1)
    {
        In = inputs; Out = outputs; Classification = classification;
        W = Parameter<float>.Create(Device.Cpu, "fc.weight", [outputs, inputs]);
        B = Parameter<float>.Create(Device.Cpu, "fc.bias", [outputs]);
        Init.Apply([W, B], (ulong)seed);
    }
    public Parameter<float>[] Parameters => [W, B];

    public Tensor<float> Forward(Tensor<float> x)
    {
        int n = x.Shape[0];
        var y = Tensor<float>.Zeros(n, Out);
        var xs = x.AsSpan(); var ys = y.AsSpan(); var w = W.Value.AsSpan(); var b = B.Value.AsSpan();
        for (int i = 0; i < n; i++)
            for (int o = 0; o < Out; o++)
            {
                float s = b[o];
                for (int k = 0; k < In; k++) s += xs[i * In + k] * w[o * In + k];
                ys[i * Out + o] = s;
            }
        return y;
    }

    /// <summary>Forward, loss, gradients, optimizer step; returns the mean loss.</summary>
    public float TrainStep(Tensor<float> x, Tensor<int>? labels, Tensor<float>? targets, Optimizer<float> opt)
    {
        int n = x.Shape[0];
        var y = Forward(x).AsSpan();
        var dy = new float[y.Length];
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            var row = y.Slice(i * Out, Out);
            if (Classification)
            {
                float max = float.NegativeInfinity;
                foreach (var v in row) max = Math.Max(max, v);
                double s = 0;
                foreach (var v in row) s += Math.Exp(v - max);
                int l = labels!.AsSpan()[i];
                loss += max + Math.Log(s) - row[l];
                for (int o = 0; o < Out; o++) dy[i * Out + o] = (float)((Math.Exp(row[o] - max) / s - (o == l ? 1 : 0)) / n);
            }
            else
                for (int o = 0; o < Out; o++)
                {
                    double d = row[o] - targets!.AsSpan()[i * Out + o];
                    loss += d * d / Out;
                    dy[i * Out + o] = (float)(2 * d / Out / n);
                }
        }
        var gw = W.Grad.AsSpan(); var gb = B.Grad.AsSpan(); var xs = x.AsSpan();
        gw.Clear(); gb.Clear();
        for (int i = 0; i < n; i++)
            for (int o = 0; o < Out; o++)
            {
                gb[o] += dy[i * Out + o];
                for (int k = 0; k < In; k++) gw[o * In + k] += dy[i * Out + o] * xs[i * In + k];
            }
        opt.Step();
        return (float)(loss / n);
    }
}

public class TrainerTests
{
    /// <summary>Three Gaussian blobs in 2-D: "x" float [2], "y" int.</summary>
    internal static TensorDataset Blobs(int n, int seed)
    {
        var rng = new SplitMix64((ulong)seed);
        var x = new float[n * 2]; var y = new int[n];
        double[][] centers = [[0, 2], [2, -1], [-2, -1]];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            y[i] = c;
            x[2 * i] = (float)(centers[c][0] + 0.6 * rng.NextGaussian());
            x[2 * i + 1] = (float)(centers[c][1] + 0.6 * rng.NextGaussian());
        }
        return new TensorDataset().Add("x", x, 2).Add("y", y);
    }

    /// <summary>t = 1.5·x0 − 2·x1 + 0.5·x2 + 0.3 + noise: "x" float [3], "t" float [1].</summary>
    internal static TensorDataset Linear(int n, int seed)
    {
        var rng = new SplitMix64((ulong)seed);
        var x = new float[n * 3]; var t = new float[n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < 3; k++) x[3 * i + k] = (float)rng.NextGaussian();
            t[i] = (float)(1.5 * x[3 * i] - 2 * x[3 * i + 1] + 0.5 * x[3 * i + 2] + 0.3 + 0.05 * rng.NextGaussian());
        }
        return new TensorDataset().Add("x", x, 3).Add("t", t, 1);
    }

    private static ProgressReporter Plain(int epochs, StringWriter w) => new(epochs, plainOut: w, interactive: false);

    [Fact]
    public void Classification_fit_reaches_high_accuracy_and_writes_csv_curves_checkpoints()
    {
        var dir = Directory.CreateTempSubdirectory("netdsl-trainer-");
        try
        {
            var model = new LinearModel(2, 3, classification: true);
            var opt = new Sgd<float>(model.Parameters, lr: 0.2, momentum: 0.9);
            var text = new StringWriter();
            var cm = new ConfusionMatrix(3, ["north", "east", "west"]);
            var trainer = new Trainer<float, TensorBatch>(opt, b => model.TrainStep(b.Float("x"), b.Int("y"), null, opt))
            {
                Epochs = 8,
                Schedule = new CosineAnnealingLR(opt, tMax: 8),
                Predict = b => model.Forward(b.Float("x")),
                Labels = b => b.Int("y"),
                Metrics = { new AccuracyMetric(), new TopKAccuracy(2), cm },
                Callbacks = { new CsvLogger(Path.Combine(dir.FullName, "log.csv")), new CurvePlot(Path.Combine(dir.FullName, "curves")), new ModelCheckpoint(dir.FullName) },
                Progress = Plain(8, text),
            };
            var history = trainer.Fit(new TensorLoader(Blobs(600, 1), 32, seed: 1), new TensorLoader(Blobs(300, 2), 100, shuffle: false));

            Assert.Equal(8, history.Epochs.Count);
            Assert.True(history.Epochs[^1]["val_accuracy"] > 0.95, $"val_accuracy {history.Epochs[^1]["val_accuracy"]}");
            Assert.Equal(1.0, history.Epochs[^1]["val_top2_accuracy"], 2);
            Assert.True(history.Epochs[^1]["val_loss"] < history.Epochs[0]["val_loss"]);
            Assert.InRange(history.Epochs[^1]["val_f1"], 0.9, 1.0);
            long total = 0; foreach (var c in cm.Counts) total += c;
            Assert.Equal(300, total);

            var csv = File.ReadAllLines(Path.Combine(dir.FullName, "log.csv"));
            Assert.Equal("epoch,loss,lr,val_loss,val_accuracy,val_top2_accuracy,val_precision,val_recall,val_f1,time_s", csv[0]);
            Assert.Equal(9, csv.Length);
            var row = csv[8].Split(',');
            Assert.Equal(history.Epochs[7]["val_accuracy"], double.Parse(row[4], CultureInfo.InvariantCulture));
            Assert.Equal(0.2 * (1 + Math.Cos(Math.PI * 7 / 8)) / 2, double.Parse(row[2], CultureInfo.InvariantCulture), 12); // lr of epoch 8

            var png = File.ReadAllBytes(Path.Combine(dir.FullName, "curves.png"));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir.FullName, "curves.svg")));
            Assert.True(File.Exists(Path.Combine(dir.FullName, "best.ckpt")) && File.Exists(Path.Combine(dir.FullName, "last.optim.ckpt")));

            var output = text.ToString();
            Assert.Contains("val_accuracy", output);
            Assert.Contains("confusion matrix", output);
            Assert.Contains("north", output);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Regression_progress_shows_only_regression_metrics()
    {
        var model = new LinearModel(3, 1, classification: false);
        var opt = new Adam<float>(model.Parameters, lr: 0.05);
        var text = new StringWriter();
        var trainer = new Trainer<float, TensorBatch>(opt, b => model.TrainStep(b.Float("x"), null, b.Float("t"), opt))
        {
            Epochs = 15,
            Predict = b => model.Forward(b.Float("x")),
            Targets = b => b.Float("t"),
            Metrics = { new MeanSquaredError(), new MeanAbsoluteError() },
            Progress = Plain(15, text),
        };
        var history = trainer.Fit(new TensorLoader(Linear(512, 1), 32, seed: 3), new TensorLoader(Linear(200, 2), 50, shuffle: false));
        var output = text.ToString();
        Assert.DoesNotContain("accuracy", output);
        Assert.Contains("val_mae", output);
        Assert.True(history.Epochs[^1]["val_mse"] < 0.02, $"val_mse {history.Epochs[^1]["val_mse"]}");
        Assert.Equal(history.Epochs[^1]["val_mse"], history.Epochs[^1]["val_loss"], 12);
        Assert.Equal(1.5f, model.W.Value.AsSpan()[0], 1);
    }

    [Fact]
    public void A_nan_loss_stops_training_naming_epoch_batch_and_step()
    {
        var model = new LinearModel(2, 3, classification: true);
        var opt = new Sgd<float>(model.Parameters, lr: 0.1);
        int calls = 0;
        var trainer = new Trainer<float, TensorBatch>(opt, b => ++calls == 23 ? float.PositiveInfinity : model.TrainStep(b.Float("x"), b.Int("y"), null, opt))
        {
            Epochs = 5, Quiet = true,
        };
        var loader = new TensorLoader(Blobs(320, 1), 32); // 10 batches per epoch: call 23 is epoch 3, batch 3
        var e = Assert.Throws<NonFiniteLossException>(() => trainer.Fit(loader));
        Assert.Contains("epoch 3, batch 3/10 (step 23)", e.Message);
        Assert.Contains("loss is ∞", e.Message.Replace("Infinity", "∞"));
        Assert.Equal(2, e.Epoch);
        Assert.Equal(23, e.Step);
    }

    [Fact]
    public void Early_stopping_stops_after_patience_and_restores_best_weights()
    {
        var model = new LinearModel(2, 3, classification: true);
        var opt = new Sgd<float>(model.Parameters, lr: 0.5, momentum: 0.9);
        var stop = new EarlyStopping("val_loss", patience: 2, restoreBestWeights: true);
        float[]? bestW = null;
        int epoch = 0;
        // the "validation loss" is made to be best at epoch 3 and worse afterwards
        double[] fake = [5, 4, 3, 3.5, 3.6, 3.7, 3.8, 3.9];
        var trainer = new Trainer<float, TensorBatch>(opt, b => model.TrainStep(b.Float("x"), b.Int("y"), null, opt))
        {
            Epochs = 8, Quiet = true,
            Callbacks = { new FakeValLoss(fake, () => { if (++epoch == 3) bestW = model.W.Value.AsSpan().ToArray(); }), stop },
        };
        var history = trainer.Fit(new TensorLoader(Blobs(300, 1), 30));
        Assert.Equal(5, history.Epochs.Count);
        Assert.Equal(5, stop.StoppedEpoch);
        Assert.Equal(3, stop.BestEpoch);
        Assert.Contains("has not improved for 2 epochs", history.StopReason);
        Assert.Equal(bestW, model.W.Value.AsSpan().ToArray());
    }

    private sealed class FakeValLoss(double[] values, Action onEpoch) : Callback
    {
        public override void OnEpochEnd(TrainerContext context, EpochLog log) { onEpoch(); log.Set("val_loss", values[log.Epoch - 1]); }
    }

    [Fact]
    public void Schedule_steps_per_batch_or_per_epoch()
    {
        foreach (var interval in new[] { ScheduleInterval.Batch, ScheduleInterval.Epoch })
        {
            var model = new LinearModel(2, 3, classification: true);
            var opt = new Sgd<float>(model.Parameters, lr: 0.1);
            var lrs = new List<double>();
            var trainer = new Trainer<float, TensorBatch>(opt, b => { lrs.Add(opt.LearningRate); return model.TrainStep(b.Float("x"), b.Int("y"), null, opt); })
            {
                Epochs = 3, Quiet = true, Schedule = new StepLR(opt, stepSize: 4, gamma: 0.5), ScheduleInterval = interval,
            };
            trainer.Fit(new TensorLoader(Blobs(100, 1), 10)); // 10 batches per epoch
            Assert.Equal(30, lrs.Count);
            for (int s = 0; s < 30; s++)
            {
                int position = interval == ScheduleInterval.Batch ? s : s / 10;
                Assert.Equal(0.1 * Math.Pow(0.5, position / 4), lrs[s], 15);
            }
        }
    }

    [Fact]
    public void Trainer_resumed_from_checkpoint_equals_uninterrupted_run()
    {
        var dir = Directory.CreateTempSubdirectory("netdsl-trainer-");
        try
        {
            float[] Run(int epochs, int initial, string? resumeFrom, string? saveTo)
            {
                var model = new LinearModel(2, 3, classification: true);
                var opt = new Adam<float>(model.Parameters, lr: 0.05);
                var sched = new CosineAnnealingLR(opt, tMax: 4);
                if (resumeFrom is not null)
                {
                    Checkpoint.Load(resumeFrom, model.Parameters);
                    OptimizerCheckpoint.Load(ModelCheckpoint.OptimizerPath(resumeFrom), opt, sched);
                }
                var t = new Trainer<float, TensorBatch>(opt, b => model.TrainStep(b.Float("x"), b.Int("y"), null, opt)) { Epochs = epochs, Schedule = sched, Quiet = true };
                if (saveTo is not null) t.Callbacks.Add(new ModelCheckpoint(saveTo, saveBest: false));
                t.Fit(new TensorLoader(Blobs(200, 1), 16, seed: 7), initialEpoch: initial);
                return [.. model.W.Value.AsSpan(), .. model.B.Value.AsSpan()];
            }
            var full = Run(4, 0, null, null);
            Run(2, 0, null, dir.FullName);
            var resumed = Run(4, 2, Path.Combine(dir.FullName, "last.ckpt"), null);
            Assert.Equal(full, resumed);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Epoch_result_without_held_out_samples_shows_no_accuracy()
    {
        var text = new StringWriter();
        var r = new ProgressReporter(1, plainOut: text, interactive: false);
        var stats = r.RunEpoch(0, 1, p => p.Batch(0.25, 8));
        r.EpochResult(stats, 0, 0, 0);
        Assert.DoesNotContain("accuracy", text.ToString());
        Assert.Contains("train loss 0.2500", text.ToString());
    }

    [Fact]
    public void Metrics_count_correctly()
    {
        // 4 samples, 3 classes: predictions 0, 2, 1, 1; labels 0, 1, 1, 2
        double[] outputs = [3, 1, 0, /**/ 0, 1, 2, /**/ 0, 5, 1, /**/ 1, 3, 2];
        int[] labels = [0, 1, 1, 2];
        var acc = new AccuracyMetric(); acc.Update(outputs, 3, labels, []);
        Assert.Equal(0.5, acc.Value);
        var top2 = new TopKAccuracy(2); top2.Update(outputs, 3, labels, []);
        Assert.Equal(1.0, top2.Value); // the label is always among the two largest
        var cm = new ConfusionMatrix(3); cm.Update(outputs, 3, labels, []);
        Assert.Equal(1, cm.Counts[1, 2]);
        Assert.Equal(1, cm.Counts[2, 1]);
        Assert.Equal(0.5, cm.Precision(1)); Assert.Equal(0.5, cm.Recall(1)); Assert.Equal(0.0, cm.F1(2));
        Assert.Equal((1 + 0.5 + 0) / 3, cm.MacroF1, 12);
        var mse = new MeanSquaredError(); mse.Update([1, 2, 3], 1, [], [1, 0, 6]);
        Assert.Equal((0 + 4 + 9) / 3.0, mse.Results().Single().Value);
        var mae = new MeanAbsoluteError(); mae.Update([1, 2, 3], 1, [], [1, 0, 6]);
        Assert.Equal(5 / 3.0, mae.Results().Single().Value, 12);
        Assert.Throws<ArgumentException>(() => acc.Update(outputs, 3, [0, 1, 7, 0], []));
    }
}
