// Trains the DCGAN of examples/Generative/dcgan.net (two networks compiled to C# at build time) on real MNIST digits
// (scaled to [-1, 1]), prints the losses per epoch and writes a PNG grid of generated digits from a fixed z.
// Each step: the discriminator D on a real batch (target 1) and a generated batch (target 0), gradients summed with a
// GradientAccumulator, one Adam step; then the generator G with the non-saturating loss −log D(G(z)): D.TrainStep(fake, 1)
// gives D.ImageGrad, G.Backward(D.ImageGrad, gAdam) carries it through G. D's optimizer does not step then: D is frozen.
//
//   dotnet run -c Release --project examples/Dcgan [-- --epochs 5 --batch 64 --lr 0.0002 --seed 1 --data data/mnist --out dcgan_samples.png]
using System.Diagnostics;
using NetDsl.Examples;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

return Options.Run("Train a DCGAN on real MNIST digits and write a grid of generated digits.", args,
    new Options(5, 64, 2e-4f, 1, Options.DefaultDataDir, "dcgan_samples.png"), o =>
{
var clock = Stopwatch.StartNew();
var digits = Mnist.Load(Mnist.EnsureDownloaded(o.DataDir, Console.Out));
var device = Device.Default;
const int Latent = 100;
var g = new DcganGenerator(device, seed: o.Seed);
var d = new DcganDiscriminator(device, seed: o.Seed + 1000);
Console.WriteLine($"DCGAN from {DcganGenerator.SourceFile}: generator {DcganGenerator.ParameterCount:N0} parameters, discriminator {DcganDiscriminator.ParameterCount:N0}, on {device.Name}");
Console.WriteLine($"{digits.Count:N0} MNIST digits in [-1, 1], batch {o.Batch}, Adam lr {o.LearningRate} beta1 0.5, {o.Epochs} epochs");

var gAdam = new Adam<float>(g.Parameters, lr: o.LearningRate, beta1: 0.5);
var dAdam = new Adam<float>(d.Parameters, lr: o.LearningRate, beta1: 0.5);
var dGrads = new GradientAccumulator<float>(d.Parameters);
var loader = new DataLoader(digits, o.Batch, device, shuffle: true, seed: o.Seed, dropLast: true)
{
    HostTransform = (images, _, _) => { var s = images.AsSpan(); for (int i = 0; i < s.Length; i++) s[i] = 2 * s[i] - 1; },
};
var ones = device.Allocate<float>(o.Batch, 1); ones.CopyFromHost(Enumerable.Repeat(1f, o.Batch).ToArray());
var zeros = device.Allocate<float>(o.Batch, 1); zeros.CopyFromHost(new float[o.Batch]);
var z = device.Allocate<float>(o.Batch, Latent);
var zHost = new float[o.Batch * Latent];
var rng = new Random(o.Seed);
float Normal() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));

var history = new TrainingHistory();
string curves = Options.CurvesPath(o.Output);
for (int epoch = 0; epoch < o.Epochs; epoch++)
{
    var t0 = clock.Elapsed;
    g.Train(); d.Train();
    double dSum = 0, gSum = 0; int steps = 0;
    foreach (var b in loader.Epoch(epoch))
    {
        for (int i = 0; i < zHost.Length; i++) zHost[i] = Normal();
        z.CopyFromHost(zHost);
        var fake = g.Forward(z);
        // discriminator: −log D(x) − log(1 − D(G(z))), the two batches' gradients summed
        float lReal = d.TrainStep(b.Images, ones); dGrads.Add();
        float lFake = d.TrainStep(fake, zeros); dGrads.Add();
        dGrads.Apply(); dAdam.Step();
        // generator: −log D(G(z)) through the updated D into G (G's activations are those of the forward above)
        float lGen = d.TrainStep(fake, ones);
        g.Backward(d.ImageGrad, gAdam);
        dSum += lReal + lFake; gSum += lGen; steps++;
    }
    Console.WriteLine($"epoch {epoch + 1,2}/{o.Epochs}: D loss {dSum / steps:F3} (real + fake), G loss {gSum / steps:F3} (−log D(G(z))), {steps} steps, {(clock.Elapsed - t0).TotalSeconds:F1} s");
    var log = new EpochLog();
    log.Set("epoch", epoch + 1); log.Set("d_loss", dSum / steps); log.Set("g_loss", gSum / steps);
    history.Epochs.Add(log);
    CurvePlot.Draw(history, curves + ".png", curves + ".svg", "DCGAN on MNIST: discriminator and generator losses");
}

// 64 digits from a fixed z, in eval mode (batchnorm running statistics)
g.Eval();
const int Samples = 64;
var zs = device.Allocate<float>(Samples, Latent);
var fixedRng = new Random(12345);
zs.CopyFromHost(Enumerable.Range(0, Samples * Latent).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - fixedRng.NextDouble())) * Math.Cos(2 * Math.PI * fixedRng.NextDouble()))).ToArray());
var images = g.Forward(zs).CopyToHost();
PngGrid.Write(o.Output, images, Samples, 28, 28, columns: 8, lo: -1f, hi: 1f);
Console.WriteLine($"wrote {Samples} generated digits to {Path.GetFullPath(o.Output)}, curves to {Path.GetFullPath(curves)}.png/.svg; {clock.Elapsed.TotalSeconds:F1} s in all");
return 0;
});
