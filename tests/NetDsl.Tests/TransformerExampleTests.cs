using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// The small instances of examples/Transformers/*.net train with falling loss; the GPT-style decoder, trained on a repeating
/// sequence, reproduces it by greedy sampling; the encoder-decoder Transformer learns to reverse short sequences.
/// </summary>
public class TransformerExampleTests(ITestOutputHelper output)
{
    /// <summary>One-hot [n, t, vocab] of token ids (row-major ids[n·t]).</summary>
    private static Tensor<float> OneHot(int[] ids, int n, int t, int vocab)
    {
        var v = new float[n * t * vocab];
        for (int i = 0; i < ids.Length; i++) v[i * vocab + ids[i]] = 1f;
        return Tensor<float>.FromArray(v, n, t, vocab);
    }

    private List<float> Train(Func<float> step, Adam<float> adam, int steps, string name)
    {
        var losses = new List<float>();
        for (int i = 0; i < steps; i++) { losses.Add(step()); adam.Step(); }
        output.WriteLine($"{name}: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        return losses;
    }

    [Fact]
    public void EncoderTiny_trains()
    {
        var net = new EncoderTiny<float>(Device.Cpu, seed: 1);
        Assert.Equal(2_292, net.Parameters.Sum(p => p.Length));
        var x = Tensor<float>.FromArray(TestData.Random(4 * 8 * 16, 3).Select(v => (float)v).ToArray(), 4, 8, 16);
        var label = Tensor<int>.FromArray([0, 1, 2, 3], 4);
        net.Eval();
        var losses = Train(() => net.TrainStep(x, label), new Adam<float>(net.Parameters, lr: 3e-3), 15, "EncoderTiny");
        Assert.True(losses.TakeLast(3).Average() < 0.7 * losses[0], $"loss {losses[0]:F3} -> {losses[^1]:F3}");
    }

    [Fact]
    public void BertTiny_trains()
    {
        var net = new BertTiny<float>(Device.Cpu, seed: 1);
        var rng = new Random(5);
        var ids = Enumerable.Range(0, 4 * 8).Select(_ => rng.Next(12)).ToArray();
        var tokens = Tensor<int>.FromArray(ids, 4, 8);
        var label = Tensor<int>.FromArray([0, 1, 2, 1], 4);
        net.Eval();
        var losses = Train(() => net.TrainStep(tokens, label), new Adam<float>(net.Parameters, lr: 3e-3), 15, "BertTiny");
        Assert.True(losses.TakeLast(3).Average() < 0.7 * losses[0], $"loss {losses[0]:F3} -> {losses[^1]:F3}");
    }

    [Fact]
    public void ViTTiny_trains()
    {
        var net = new ViTTiny<float>(Device.Cpu, seed: 1);
        var image = Tensor<float>.FromArray(TestData.Random(4 * 3 * 8 * 8, 7).Select(v => (float)v).ToArray(), 4, 3, 8, 8);
        var label = Tensor<int>.FromArray([0, 1, 2, 3], 4);
        net.Eval();
        var losses = Train(() => net.TrainStep(image, label), new Adam<float>(net.Parameters, lr: 3e-3), 15, "ViTTiny");
        Assert.True(losses.TakeLast(3).Average() < 0.7 * losses[0], $"loss {losses[0]:F3} -> {losses[^1]:F3}");
    }

    [Fact]
    public void GptTiny_learns_a_sequence_and_greedy_sampling_reproduces_it()
    {
        const int V = 6, T = 8, B = 6;
        // the pattern 0 1 2 3 4 5 0 1 2 ...: the window at every offset predicts its own shift by one
        int[] Window(int o) => Enumerable.Range(o, T).Select(i => i % V).ToArray();
        var ids = Enumerable.Range(0, B).SelectMany(Window).ToArray();
        var next = Enumerable.Range(1, B).SelectMany(Window).ToArray();
        var net = new GptTiny<float>(Device.Cpu, seed: 1);
        net.Eval();
        var (tokens, targets) = (Tensor<int>.FromArray(ids, B, T), Tensor<int>.FromArray(next, B, T));
        var losses = Train(() => net.TrainStep(tokens, targets), new Adam<float>(net.Parameters, lr: 1e-2), 60, "GptTiny");
        Assert.True(losses[^1] < 0.2 * losses[0], $"loss {losses[0]:F3} -> {losses[^1]:F3}");

        // greedy decoding from the prompt [2]: the causal mask makes the padding after position t irrelevant to its logits
        var seq = new List<int> { 2 };
        while (seq.Count < T)
        {
            var padded = seq.Concat(Enumerable.Repeat(0, T - seq.Count)).ToArray();
            var logits = net.Forward(Tensor<int>.FromArray(padded, 1, T)).CopyToHost();
            var row = logits.AsSpan((seq.Count - 1) * V, V).ToArray();
            seq.Add(Array.IndexOf(row, row.Max()));
        }
        output.WriteLine("greedy: " + string.Join(" ", seq));
        Assert.Equal(Enumerable.Range(2, T).Select(i => i % V), seq);
    }

    [Fact]
    public void GptTiny_causal_mask_makes_earlier_logits_independent_of_later_tokens()
    {
        var net = new GptTiny<float>(Device.Cpu, seed: 2);
        net.Eval();
        var a = net.Forward(Tensor<int>.FromArray([1, 2, 3, 4, 5, 0, 1, 2], 1, 8)).CopyToHost();
        var b = net.Forward(Tensor<int>.FromArray([1, 2, 3, 4, 0, 0, 0, 0], 1, 8)).CopyToHost();
        for (int i = 0; i < 4 * 6; i++) Assert.Equal(a[i], b[i], 5);
        Assert.NotEqual(a[4 * 6], b[4 * 6]);
    }

    [Fact]
    public void TransformerTiny_learns_to_reverse_sequences()
    {
        const int V = 7, L = 5, B = 4, Bos = 6;
        var rng = new Random(3);
        var src = Enumerable.Range(0, B * L).Select(_ => rng.Next(6)).ToArray();
        var tgt = new int[B * L]; var nxt = new int[B * L];
        for (int n = 0; n < B; n++)
            for (int t = 0; t < L; t++)
            {
                nxt[n * L + t] = src[n * L + L - 1 - t];
                tgt[n * L + t] = t == 0 ? Bos : src[n * L + L - t];
            }
        var net = new TransformerTiny<float>(Device.Cpu, seed: 1);
        net.Eval();
        var (s, g, x) = (OneHot(src, B, L, V), OneHot(tgt, B, L, V), OneHot(nxt, B, L, V));
        var losses = Train(() => net.TrainStep(s, g, x), new Adam<float>(net.Parameters, lr: 1e-2), 40, "TransformerTiny");
        Assert.True(losses.TakeLast(3).Average() < 0.5 * losses[0], $"loss {losses[0]:F3} -> {losses[^1]:F3}");
    }
}
