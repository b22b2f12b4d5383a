using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;
using Xunit;

namespace NetDsl.Tests;

/// <summary>The Trainer with a generated network (LeNet-5 on real digits): it learns, and a run resumed from ModelCheckpoint equals the uninterrupted one.</summary>
public class TrainerNetworkTests
{
    private static (TensorDataset Train, TensorDataset Test) Data()
    {
        var all = TensorDataset.FromImages(TestData.Mnist10k);
        var (train, rest) = all.Split(seed: 1, trainCount: 1200);
        return (train, rest.Select(Enumerable.Range(0, 400).ToArray()));
    }

    private static (LeNet5 Net, Adam<float> Opt, CosineAnnealingLR Sched, Trainer<float, TensorBatch> Trainer) Make(int epochs, TensorDataset test)
    {
        var net = new LeNet5(Device.Cpu, seed: 5);
        var adam = new Adam<float>(net.Parameters, lr: 2e-3);
        var sched = new CosineAnnealingLR(adam, tMax: 3);
        var trainer = new Trainer<float, TensorBatch>(adam, b => net.TrainStep(b.Float("image"), b.Int("label"), adam))
        {
            Epochs = epochs, Network = net, Schedule = sched, Quiet = true,
            Predict = b => net.Forward(b.Float("image")), Labels = b => b.Int("label"),
            Metrics = { new AccuracyMetric() },
        };
        return (net, adam, sched, trainer);
    }

    [Fact]
    public void LeNet5_learns_and_resumes_bit_for_bit_from_a_checkpoint()
    {
        var (train, test) = Data();
        TensorLoader Loader() => new(train, 50, seed: 2) { Transform = b => Augment.RandomShift(b.Float("image"), 1, (ulong)(b.Epoch * 1000 + b.Index)) };
        var dir = Directory.CreateTempSubdirectory("netdsl-fit-");
        try
        {
            var full = Make(3, test);
            var history = full.Trainer.Fit(Loader(), new TensorLoader(test, 200, shuffle: false));
            Assert.True(history.Epochs[^1]["val_accuracy"] > 0.85, $"val_accuracy {history.Epochs[^1]["val_accuracy"]}");
            Assert.True(history.Epochs[^1]["loss"] < history.Epochs[0]["loss"]);

            var first = Make(2, test);
            first.Trainer.Callbacks.Add(new ModelCheckpoint(dir.FullName, monitor: "val_accuracy"));
            first.Trainer.Fit(Loader(), new TensorLoader(test, 200, shuffle: false));

            var resumed = Make(3, test);
            int done = ModelCheckpoint.Resume(Path.Combine(dir.FullName, "last.ckpt"), resumed.Net, resumed.Opt, resumed.Sched);
            Assert.Equal(2, done);
            var rest = resumed.Trainer.Fit(Loader(), new TensorLoader(test, 200, shuffle: false), initialEpoch: done);
            Assert.Single(rest.Epochs);
            for (int j = 0; j < full.Net.Parameters.Count; j++)
                Assert.Equal(full.Net.Parameters[j].Value.AsSpan().ToArray(), resumed.Net.Parameters[j].Value.AsSpan().ToArray());
            Assert.Equal(history.Epochs[^1]["val_accuracy"], rest.Epochs[^1]["val_accuracy"]);
        }
        finally { dir.Delete(recursive: true); }
    }
}
