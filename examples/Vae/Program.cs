// Trains the variational autoencoder of examples/Generative/vae.net (Kingma & Welling's 784-400-20 MNIST setup, compiled to
// C# at build time) on real MNIST digits with the Trainer (progress, held-out loss per epoch, CSV log and loss curves
// beside the grid: NAME_curves.png/.svg, NAME_log.csv) and writes a PNG grid of digits decoded from z ~ N(0, 1) by
// VaeDecoder, which takes the trained decoder's weights by name.
//
//   dotnet run -c Release --project examples/Vae [-- --epochs 10 --batch 128 --lr 0.001 --seed 1 --data data/mnist --out vae_samples.png]
using System.Diagnostics;
using NetDsl.Examples;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

return Options.Run("Train a VAE on real MNIST digits and write a grid of generated digits.", args,
    new Options(10, 128, 1e-3f, 1, Options.DefaultDataDir, "vae_samples.png"), o =>
{
    var clock = Stopwatch.StartNew();
    var all = Mnist.Load(Mnist.EnsureDownloaded(o.DataDir, Console.Out));
    var (train, test) = all.Split(seed: 1, trainCount: 8000);
    var device = Device.Default;
    var vae = new Vae(device, seed: o.Seed);
    Console.WriteLine($"VAE from {Vae.SourceFile}: {Vae.ParameterCount:N0} parameters on {device.Name}; {train.Count:N0} train / {test.Count:N0} held-out digits; batch {o.Batch}, Adam lr {o.LearningRate}, {o.Epochs} epochs");
    Console.WriteLine("loss per image = BCE summed over the 784 pixels + KL(q(z|x) || N(0, I)) (nats)");

    var adam = new Adam<float>(vae.Parameters, lr: o.LearningRate);
    var loader = new DataLoader(train, o.Batch, device, shuffle: true, seed: o.Seed);
    var testLoader = new DataLoader(test, 500, device, shuffle: false);
    string curves = Options.CurvesPath(o.Output);
    var trainer = new Trainer<float, Batch>(adam, b => vae.TrainStep(b.Images.View(0, b.Size, Mnist.ImageSize), adam))
    {
        Epochs = o.Epochs,
        Network = vae,
        // sample_normal still samples at eval (the default): the held-out loss is a one-sample estimate
        Validate = _ =>
        {
            double sum = 0; int seen = 0;
            foreach (var b in testLoader.Epoch(0)) { sum += vae.ComputeLoss(b.Images.View(0, b.Size, Mnist.ImageSize)) * b.Size; seen += b.Size; }
            return [("val_loss", sum / seen)];
        },
        Callbacks = { new CsvLogger(curves.Replace("_curves", "_log") + ".csv"), new CurvePlot(curves, "VAE on MNIST: loss per image (nats)") },
    };
    trainer.Fit(loader);

    // decode z ~ N(0, 1) with the trained decoder weights (fc3, fc4: the same names in VaeDecoder)
    var decoder = new VaeDecoder(device);
    foreach (var p in decoder.Parameters) p.Value.CopyFromHost(vae.GetParameter(p.Name).Value.CopyToHost());
    decoder.Eval();
    const int Samples = 64;
    var rng = new Random(o.Seed);
    var zHost = new float[Samples * 20];
    for (int i = 0; i < zHost.Length; i++) zHost[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
    var z = device.Allocate<float>(Samples, 20);
    z.CopyFromHost(zHost);
    var images = decoder.Forward(z).CopyToHost();
    PngGrid.Write(o.Output, images, Samples, 28, 28, columns: 8);
    Console.WriteLine($"wrote {Samples} digits decoded from z ~ N(0, I) to {Path.GetFullPath(o.Output)}, curves to {Path.GetFullPath(curves)}.png/.svg; {clock.Elapsed.TotalSeconds:F1} s in all");
    return 0;
});
