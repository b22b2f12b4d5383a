using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// examples/Generative: header parameter counts (= PyTorch 1.13, reference_counts.py), the small instances train, and the
/// multi-network design: a generator's gradient obtained through a discriminator (D.ImageGrad → G.Backward) equals fp64
/// finite differences of D's loss with respect to G's parameters; D is untouched by G's update; the CycleGAN pair trains
/// through CycleLoss → F → G.
/// </summary>
public class GenerativeNetworkTests(ITestOutputHelper output)
{
    private static Tensor<T> Tensor<T>(double[] values, params int[] shape) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var t = Device.Cpu.Allocate<T>(shape);
        t.CopyFromHost(values.Select(v => T.CreateChecked(v)).ToArray());
        return t;
    }

    private static double[] Uniform01(int n, int seed) => TestData.Random(n, seed).Select(v => 0.5 + 0.5 * Math.Tanh(v)).ToArray();

    [Theory]
    [InlineData("autoencoder.net", "435,536 parameters", Autoencoder.ParameterCount)]
    [InlineData("vae.net", "652,824 parameters", Vae.ParameterCount)]
    [InlineData("vae.net", "322,784 parameters", VaeDecoder.ParameterCount)]
    [InlineData("dcgan.net", "Generator 759,681 parameters", DcganGenerator.ParameterCount)]
    [InlineData("dcgan.net", "discriminator 138,689", DcganDiscriminator.ParameterCount)]
    [InlineData("cyclegan.net", "194,115 parameters", CycleGenerator.ParameterCount)]
    public void Header_counts_are_the_generated_counts(string file, string header, long count)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "Generative", file));
        Assert.Contains(header, text);
        var number = new string(header.SkipWhile(c => !char.IsDigit(c)).TakeWhile(c => char.IsDigit(c) || c == ',').ToArray()).Replace(",", "");
        Assert.Equal(long.Parse(number), count);
    }

    [Fact]
    public void Autoencoder_and_vae_small_instances_train()
    {
        var x = Tensor<float>(Uniform01(8 * 16, 1).Select(v => v > 0.5 ? 1.0 : 0.0).ToArray(), 8, 16); // binary "images"
        var ae = new AutoencoderSmall(seed: 1);
        var adam = new Adam<float>(ae.Parameters, lr: 0.02f);
        float first = ae.TrainStep(x, adam), last = first;
        for (int i = 0; i < 150; i++) last = ae.TrainStep(x, adam);
        output.WriteLine($"autoencoder: {first} -> {last}");
        Assert.True(last < 0.6 * first, $"autoencoder loss {first} -> {last}");

        var vae = new VaeSmall(seed: 1);
        adam = new Adam<float>(vae.Parameters, lr: 0.02f);
        var losses = new List<float>();
        for (int i = 0; i < 150; i++) losses.Add(vae.TrainStep(x, adam));
        output.WriteLine($"vae: {losses[0]} -> {losses[^1]}");
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses.TakeLast(10).Average() < 0.75 * losses.Take(5).Average(), $"vae loss {losses[0]} -> {losses[^1]}");

        // the decoder takes the trained weights by name (fc3, fc4) and decodes like the VAE: at eval, Vae's recon for x with
        // the same z would need mu; here: every decoder parameter exists in the VAE with the same shape
        var dec = new VaeDecoderSmall();
        foreach (var p in dec.Parameters) Assert.Equal(p.Shape, vae.GetParameter(p.Name).Shape);
    }

    [Fact]
    public void Vae_samples_differ_per_step_and_are_reproducible()
    {
        var x = Tensor<double>(Uniform01(4 * 16, 2), 4, 16);
        var a = new VaeSmall<double>(Device.Cpu, seed: 3);
        var b = new VaeSmall<double>(Device.Cpu, seed: 3);
        double la1 = a.ComputeLoss(x), la2 = a.ComputeLoss(x);
        double lb1 = b.ComputeLoss(x), lb2 = b.ComputeLoss(x);
        Assert.NotEqual(la1, la2);            // fresh noise every forward
        Assert.Equal(la1, lb1);               // same seed, same calls: same noise
        Assert.Equal(la2, lb2);
    }

    /// <summary>D's loss on G(z) as a function of G's parameters (both in training mode: batch statistics).</summary>
    private static double GanLoss(DcganGeneratorSmall<double> g, DcganDiscriminatorSmall<double> d, Tensor<double> z, Tensor<double> ones) =>
        d.ComputeLoss(g.Forward(z), ones);

    [Fact]
    public void Generator_gradient_through_the_discriminator_matches_finite_differences()
    {
        var g = new DcganGeneratorSmall<double>(Device.Cpu, seed: 4);
        var d = new DcganDiscriminatorSmall<double>(Device.Cpu, seed: 5);
        var z = Tensor<double>(TestData.Random(3 * 8, 6), 3, 8);
        var ones = Tensor<double>(Enumerable.Repeat(1.0, 3).ToArray(), 3, 1);

        var fake = g.Forward(z);
        var dBefore = d.Parameters.Select(p => p.Value.CopyToHost()).ToList();
        d.TrainStep(fake, ones);                       // non-saturating generator loss −log D(G(z))
        var dImage = d.ImageGrad.CopyToHost();
        g.Backward(Tensor<double>(dImage, d.ImageGrad.Shape)); // into G
        var analytic = g.Parameters.Select(p => p.Grad.CopyToHost()).ToList();
        for (int i = 0; i < d.Parameters.Count; i++) Assert.Equal(dBefore[i], d.Parameters[i].Value.CopyToHost()); // D is frozen (no optimizer)

        const double h = 1e-6;
        int checkedCount = 0;
        for (int pi = 0; pi < g.Parameters.Count; pi++)
        {
            var p = g.Parameters[pi];
            var v = p.Value.CopyToHost();
            foreach (int i in new[] { 0, v.Length / 3, v.Length - 1 }.Distinct())
            {
                double old = v[i];
                v[i] = old + h; p.Value.CopyFromHost(v); double lp = GanLoss(g, d, z, ones);
                v[i] = old - h; p.Value.CopyFromHost(v); double lm = GanLoss(g, d, z, ones);
                v[i] = old; p.Value.CopyFromHost(v);
                double fd = (lp - lm) / (2 * h), an = analytic[pi][i];
                Assert.True(Math.Abs(fd - an) <= 1e-5 * (Math.Abs(fd) + 1e-3), $"{p.Name}[{i}]: finite difference {fd:G10}, G.Backward(D.ImageGrad) {an:G10}");
                checkedCount++;
            }
        }
        output.WriteLine($"{checkedCount} generator gradients through the discriminator match finite differences");
    }

    [Fact]
    public void Generator_update_through_the_discriminator_on_ilgpu_matches_the_cpu()
    {
        using var gpu = IlgpuDevice.CreateCpuSimulator();
        var grads = new List<float[][]>();
        foreach (Device dev in new Device[] { Device.Cpu, gpu })
        {
            var g = new DcganGeneratorSmall(dev, seed: 4);
            var d = new DcganDiscriminatorSmall(dev, seed: 5);
            var z = dev.Allocate<float>(3, 8); z.CopyFromHost(TestData.Random(3 * 8, 6).Select(v => (float)v).ToArray());
            var ones = dev.Allocate<float>(3, 1); ones.CopyFromHost([1f, 1f, 1f]);
            d.TrainStep(g.Forward(z), ones);
            g.Backward(d.ImageGrad);
            grads.Add(g.Parameters.Select(p => p.Grad.CopyToHost()).ToArray());
        }
        for (int k = 0; k < grads[0].Length; k++)
        {
            var a = grads[0][k]; var b = grads[1][k];
            double norm = Math.Sqrt(a.Sum(v => (double)v * v) / a.Length);
            for (int i = 0; i < a.Length; i++)
                Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4 * (Math.Abs(a[i]) + norm + 1e-6), $"parameter {k} grad[{i}]: CPU {a[i]}, ILGPU {b[i]}");
        }
    }

    [Fact]
    public void Dcgan_small_instances_train_in_alternation()
    {
        var g = new DcganGeneratorSmall(seed: 1);
        var d = new DcganDiscriminatorSmall(seed: 2);
        var gOpt = new Adam<float>(g.Parameters, lr: 2e-3f, beta1: 0.5f);
        var dOpt = new Adam<float>(d.Parameters, lr: 2e-3f, beta1: 0.5f);
        var acc = new GradientAccumulator<float>(d.Parameters);
        var real = Tensor<float>(TestData.Random(4 * 784, 7).Select(v => Math.Tanh(v)).ToArray(), 4, 1, 28, 28);
        var ones = Tensor<float>(Enumerable.Repeat(1.0, 4).ToArray(), 4, 1);
        var zeros = Tensor<float>(new double[4], 4, 1);
        var z = Device.Cpu.Allocate<float>(4, 8);
        var rng = new Random(3);
        var dLosses = new List<float>();
        for (int step = 0; step < 15; step++)
        {
            z.CopyFromHost(Enumerable.Range(0, 32).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
            var fake = g.Forward(z);
            float lr = d.TrainStep(real, ones); acc.Add();
            float lf = d.TrainStep(fake, zeros); acc.Add();
            acc.Apply(); dOpt.Step();
            dLosses.Add(lr + lf);
            var gBefore = d.Parameters.Select(p => p.Value.CopyToHost()).ToList();
            fake = g.Forward(z);
            float lg = d.TrainStep(fake, ones);
            g.Backward(d.ImageGrad, gOpt);
            for (int i = 0; i < d.Parameters.Count; i++) Assert.Equal(gBefore[i], d.Parameters[i].Value.CopyToHost());
            Assert.True(float.IsFinite(lg));
        }
        output.WriteLine($"D loss {dLosses[0]} -> {dLosses[^1]}");
        Assert.True(dLosses.TakeLast(3).Average() < dLosses[0], "the discriminator learns to tell real from fake");
    }

    [Fact]
    public void A_frozen_teacher_distills_into_a_student()
    {
        var teacher = new DistillTeacher(seed: 3);
        teacher.Eval();
        var student = new OpDistill(seed: 4);
        var adam = new Adam<float>(student.Parameters, lr: 0.05f);   // the student's parameters only: the teacher is frozen
        var x = Tensor<float>(TestData.Random(16 * 6, 11), 16, 6);
        var before = teacher.Parameters.Select(p => p.Value.CopyToHost()).ToList();
        var t = Device.Cpu.Allocate<float>(16, 5);
        teacher.Forward(x).CopyToHost().AsSpan().CopyTo(t.AsSpan());
        float first = student.TrainStep(x, t, adam), last = first;
        for (int i = 0; i < 100; i++) last = student.TrainStep(x, t, adam);
        output.WriteLine($"distillation loss {first} -> {last}");
        Assert.True(last < 0.5 * first, $"distillation loss {first} -> {last}");
        for (int i = 0; i < before.Count; i++) Assert.Equal(before[i], teacher.Parameters[i].Value.CopyToHost());
    }

    [Fact]
    public void Cyclegan_pair_trains_on_the_cycle_loss_through_two_networks()
    {
        var gAB = new CycleGeneratorSmall(seed: 1);
        var fBA = new CycleGeneratorSmall(seed: 2);
        var loss = new CycleLossSmall();
        var optG = new Adam<float>(gAB.Parameters, lr: 5e-3f);
        var optF = new Adam<float>(fBA.Parameters, lr: 5e-3f);
        var a = Tensor<float>(TestData.Random(2 * 2 * 64, 9).Select(v => Math.Tanh(v)).ToArray(), 2, 2, 8, 8);
        var losses = new List<float>();
        for (int step = 0; step < 25; step++)
        {
            var fakeB = gAB.Forward(a);
            var rec = fBA.Forward(fakeB);
            losses.Add(loss.TrainStep(rec, a));
            fBA.Backward(loss.ReconstructedGrad, optF);   // F's parameters, and F.XGrad = dloss/dfakeB
            gAB.Backward(fBA.XGrad, optG);                 // into G
        }
        output.WriteLine($"cycle loss {losses[0]} -> {losses[^1]}");
        Assert.True(losses.TakeLast(3).Average() < 0.8 * losses[0], $"cycle loss {losses[0]} -> {losses[^1]}");
    }
}
