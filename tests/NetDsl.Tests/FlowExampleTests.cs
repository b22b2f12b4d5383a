using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// examples/Generative/glow.net: header counts (= the PyTorch twin, glow_reference_counts.py), the inverse network undoes the
/// forward one to 1e-10 in fp64 with perturbed parameters copied by name, and the tiny GLOW trains with falling NLL.
/// examples/Seq2Seq/seq2seq.net: counts, and the tiny attention seq2seq learns to reverse digit sequences.
/// </summary>
public class FlowExampleTests(ITestOutputHelper output)
{
    [Fact]
    public void Glow_parameter_counts_match_PyTorch()
    {
        Assert.Equal(76_096, Glow.ParameterCount);
        Assert.Equal(6_656, GlowTiny.ParameterCount);
        Assert.Equal(GlowTiny.ParameterCount, GlowTinyInverse.ParameterCount);
    }

    private static double[] Image(int n, int size, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n * size * size).Select(i => Math.Sin(0.3 * (i % size) + 0.2 * (i / size % size) + rng.NextDouble()) * 0.5).ToArray();
    }

    [Fact]
    public void GlowInverse_undoes_Glow_to_1e_10_in_fp64()
    {
        var net = new GlowTiny<double>(Device.Cpu, seed: 3);
        var inv = new GlowTinyInverse<double>(Device.Cpu, seed: 9);
        // perturb every parameter (the zero-initialized couplings and invconvs would otherwise be near the identity)
        int k = 0;
        foreach (var p in net.Parameters)
        {
            var v = p.Value.CopyToHost();
            for (int i = 0; i < v.Length; i++) v[i] += 0.2 * Math.Sin(0.37 * i + 1.1 * k);
            p.Value.CopyFromHost(v);
            inv.GetParameter(p.Name).Value.CopyFromHost(v);
            k++;
        }
        Assert.Equal(net.Parameters.Select(p => p.Name).OrderBy(s => s), inv.Parameters.Select(p => p.Name).OrderBy(s => s));
        var xs = Image(3, 8, 1);
        var x = Tensor<double>.FromArray(xs, 3, 1, 8, 8);
        var (z1, z2) = net.Forward(x);
        var back = inv.Forward(z1, z2).CopyToHost();
        double err = xs.Zip(back, (a, b) => Math.Abs(a - b)).Max();
        double moved = xs.Zip(z1.CopyToHost().Concat(z2.CopyToHost()), (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"max |x - inverse(forward(x))| = {err:E2}; the flow moved values by up to {moved:F3}");
        Assert.True(moved > 0.1, "the perturbed flow should not be the identity");
        Assert.True(err < 1e-10, $"round trip error {err:E2}");
    }

    [Fact]
    public void GlowTiny_trains_with_falling_nll()
    {
        var net = new GlowTiny<float>(Device.Cpu, seed: 1);
        var x = Tensor<float>.FromArray(Image(16, 8, 2).Select(v => (float)v).ToArray(), 16, 1, 8, 8);
        var adam = new Adam<float>(net.Parameters, lr: 2e-3);
        var losses = new List<float>();
        for (int i = 0; i < 20; i++) losses.Add(net.TrainStep(x, adam));
        output.WriteLine("GlowTiny bits/dim: " + string.Join(", ", losses.Select(l => l.ToString("F3"))));
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses.TakeLast(3).Average() < losses[0] - 0.2, $"nll {losses[0]:F3} -> {losses[^1]:F3}");
    }

    [Fact]
    public void Seq2Seq_parameter_counts_match_PyTorch()
    {
        Assert.Equal(200_907, Seq2Seq.ParameterCount);
        Assert.Equal(15_595, Seq2SeqTiny.ParameterCount);
    }

    [Fact]
    public void Seq2SeqTiny_learns_to_reverse_digit_sequences()
    {
        const int B = 16, T = 5;
        var net = new Seq2SeqTiny<float>(Device.Cpu, seed: 1);
        var adam = new Adam<float>(net.Parameters, lr: 1e-2);
        var rng = new Random(4);
        (Tensor<int> Src, Tensor<int> Dec, Tensor<int> Target, int[] Y) Batch()
        {
            var src = new int[B * T]; var dec = new int[B * T]; var y = new int[B * T];
            for (int n = 0; n < B; n++)
            {
                for (int t = 0; t < T; t++) src[n * T + t] = rng.Next(10);
                for (int t = 0; t < T; t++) y[n * T + t] = src[n * T + T - 1 - t];
                dec[n * T] = 10;
                for (int t = 1; t < T; t++) dec[n * T + t] = y[n * T + t - 1];
            }
            return (Tensor<int>.FromArray(src, B, T), Tensor<int>.FromArray(dec, B, T), Tensor<int>.FromArray(y, B * T), y);
        }
        var losses = new List<float>();
        for (int step = 0; step < 300; step++)
        {
            var (s, d, tg, _) = Batch();
            losses.Add(net.TrainStep(s, d, tg, adam));
        }
        output.WriteLine($"Seq2SeqTiny loss: {losses[0]:F3} -> {losses.TakeLast(10).Average():F3}");
        Assert.True(losses.TakeLast(10).Average() < 0.5 * losses[0]);
        // teacher-forced accuracy on fresh sequences
        net.Eval();
        var (src2, dec2, _, y2) = Batch();
        var logits = net.Forward(src2, dec2).CopyToHost();
        int correct = 0;
        for (int i = 0; i < B * T; i++)
        {
            int arg = 0;
            for (int v = 1; v < 11; v++) if (logits[i * 11 + v] > logits[i * 11 + arg]) arg = v;
            if (arg == y2[i]) correct++;
        }
        double acc = correct / (double)(B * T);
        output.WriteLine($"teacher-forced accuracy on new sequences: {acc:P1}");
        Assert.True(acc > 0.9, $"accuracy {acc:P1}");
    }
}
