// Data-parallel LeNet-5 on MNIST over MPI (docs/distributed.md):
//
//   mpiexec.mpich -n 2 dotnet examples/Mnist/bin/Release/net10.0/Mnist.dll --distributed --epochs 40
//
// The global batch (--batch) is split over the ranks, so the run has the single-process hyperparameters: each epoch sees
// the same sample order (DistributedSampler), the same random shifts (keyed by each sample's global position), and each step
// applies the gradient of the whole global batch (averaged with allreduce). Rank 0 alone prints progress and writes the
// checkpoint; losses and accuracies are reduced over the ranks.
using System.Diagnostics;
using NetDsl.Distributed;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

namespace NetDsl.Examples;

public static class DistributedMnist
{
    public static int Run(LabeledImages train, LabeledImages test, int epochs, int batch, float lr, int seed, int shift, string? checkpoint, double target, Stopwatch clock)
    {
        var ctx = Distributed.Distributed.Init();
        var net = new LeNet5(Device.Cpu, seed: seed);
        using var dp = new DataParallel<float>(net, ctx);
        var optimizer = new Adam<float>(net.Parameters, lr: lr);
        var schedule = new CosineAnnealingLR(lr, epochs);
        var sampler = new DistributedSampler(train.Count, batch, ctx, shuffle: true, seed: seed);
        var progress = ctx.IsMain ? new ProgressReporter(epochs) : null;
        if (ctx.IsMain)
            Console.WriteLine($"data-parallel on {ctx.Size} rank(s): global batch {batch} ({batch / ctx.Size}–{(batch + ctx.Size - 1) / ctx.Size} per rank), Adam lr {lr}, cosine decay over {epochs} epochs");
        var tensors = new Dictionary<int, (Tensor<float> X, Tensor<int> Y)>();
        (Tensor<float> X, Tensor<int> Y) For(int n) => tensors.TryGetValue(n, out var t) ? t : tensors[n] = (Tensor<float>.Zeros(n, 1, 28, 28), Tensor<int>.Zeros(n));
        double accuracy = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            optimizer.LearningRate = schedule.LearningRate(epoch);
            net.Train();
            double lossSum = 0; int seen = 0;
            var sw = Stopwatch.StartNew();
            void Body(EpochProgress? p)
            {
                foreach (var shard in sampler.Epoch(epoch))
                {
                    var (x, y) = For(shard.Size);
                    DistributedSampler.Fill(train, shard, x, y);
                    // the single-process run shifts sample i of batch b with seed (epoch·100003 + b) + i·φ: use the global position
                    if (shift > 0) Augment.RandomShift(x, shift, (ulong)(epoch * 100_003 + shard.BatchIndex) + (ulong)shard.SampleOffset * 0x9E3779B97F4A7C15UL);
                    float loss = dp.Step(() => net.TrainStep(x, y), optimizer, shard.Size, shard.GlobalBatch, shard.SampleOffset);
                    lossSum += loss * shard.GlobalBatch; seen += shard.GlobalBatch;
                    p?.Batch(loss, shard.GlobalBatch);
                }
            }
            EpochStats stats = progress != null ? progress.RunEpoch(epoch, sampler.BatchesPerEpoch, Body) : default;
            if (progress == null) Body(null);

            // held-out accuracy: each rank scores its share of the test set, the counts are summed
            net.Eval();
            var (off, n) = new DistributedSampler(test.Count, test.Count, ctx, shuffle: false).Part(test.Count, ctx.Rank);
            var part = test.Select(Enumerable.Range(off, n).ToArray());
            var meter = new AccuracyMeter();
            foreach (var b in new DataLoader(part, 500, Device.Cpu, shuffle: false).Epoch(0)) meter.Add(net.Forward(b.Images), b.Labels);
            int correct = (int)ctx.AllreduceSum(meter.Correct), total = (int)ctx.AllreduceSum(meter.Total);
            accuracy = (double)correct / total;
            progress?.EpochResult(stats, accuracy, correct, total, optimizer.LearningRate);
        }
        if (ctx.IsMain)
        {
            Console.WriteLine($"held-out accuracy {accuracy * 100:F2}% after {epochs} epochs on {ctx.Size} rank(s), {clock.Elapsed.TotalSeconds:F1} s in all (data loading included)");
            if (checkpoint != null)
            {
                net.Save(checkpoint);
                Console.WriteLine($"saved parameters to {checkpoint}");
            }
        }
        return accuracy >= target ? 0 : 1;
    }
}
