using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// The character-level language models of examples/CharRnn/charlm.net on the notes' example: trained on "hello" (inputs
/// h e l l, targets e l l o), greedy decoding from 'h' must give "hello" exactly (the second 'l' is followed by 'o', not
/// 'l', so the recurrent state has to remember how many l's it has seen). The samplers take a sequence of any length T.
/// </summary>
public class CharRnnTests(ITestOutputHelper output)
{
    private const string Chars = "helo";

    private static string Greedy(Func<Tensor<int>, Tensor<float>> logits, int length)
    {
        var seq = new List<int> { 0 };
        for (int i = 0; i < length; i++)
        {
            var x = Tensor<int>.FromArray(seq.ToArray(), 1, seq.Count);
            var y = logits(x).CopyToHost();
            Assert.Equal(seq.Count * 4, y.Length);
            var last = y.AsSpan((seq.Count - 1) * 4, 4).ToArray();
            seq.Add(Array.IndexOf(last, last.Max()));
        }
        return new string(seq.Select(i => Chars[i]).ToArray());
    }

    private string Train(NetworkBase<float> net, NetworkBase<float> sampler, Func<Tensor<int>, Tensor<int>, Optimizer<float>, float> step,
        Func<Tensor<int>, Tensor<float>> logits, out float first, out float last)
    {
        var ids = Tensor<int>.FromArray([0, 1, 2, 2], 1, 4);      // h e l l
        var next = Tensor<int>.FromArray([1, 2, 2, 3], 4);        // e l l o
        var adam = new Adam<float>(net.Parameters, lr: 0.02);
        first = last = float.NaN;
        string decoded = "";
        sampler.Eval();
        foreach (var p in net.Parameters) sampler.GetParameter(p.Name).Value.CopyFromHost(p.Value.CopyToHost());
        Assert.NotEqual("hello", Greedy(logits, 4));   // the untrained network does not know it yet
        for (int i = 1; i <= 400; i++)
        {
            last = step(ids, next, adam);
            if (i == 1) first = last;
            if (i % 10 != 0) continue;
            foreach (var p in net.Parameters) sampler.GetParameter(p.Name).Value.CopyFromHost(p.Value.CopyToHost());
            decoded = Greedy(logits, 4);
            if (decoded == "hello")
            {
                output.WriteLine($"{net.GetType().Name}: \"hello\" after {i} steps, loss {first:F4} -> {last:F4}");
                return decoded;
            }
        }
        output.WriteLine($"{net.GetType().Name}: \"{decoded}\" after 400 steps, loss {first:F4} -> {last:F4}");
        return decoded;
    }

    [Fact]
    public void Lstm_learns_hello_and_greedy_decoding_from_h_reproduces_it()
    {
        var net = new HelloLstm(Device.Cpu, seed: 3);
        var sampler = new HelloLstmSampler(Device.Cpu, seed: 99);
        Assert.Equal(1764, HelloLstm.ParameterCount);   // nn.Embedding(4, 8) + nn.LSTM(8, 16) + nn.Linear(16, 4)
        var decoded = Train(net, sampler, net.TrainStep, sampler.Forward, out var first, out var last);
        Assert.Equal("hello", decoded);
        Assert.True(last < 0.5 * first, $"loss {first} -> {last}");
    }

    [Fact]
    public void Gru_learns_hello_and_greedy_decoding_from_h_reproduces_it()
    {
        var net = new HelloGru(Device.Cpu, seed: 3);
        var sampler = new HelloGruSampler(Device.Cpu, seed: 99);
        Assert.Equal(1348, HelloGru.ParameterCount);    // nn.Embedding(4, 8) + nn.GRU(8, 16) + nn.Linear(16, 4)
        var decoded = Train(net, sampler, net.TrainStep, sampler.Forward, out var first, out var last);
        Assert.Equal("hello", decoded);
        Assert.True(last < 0.5 * first, $"loss {first} -> {last}");
    }

    [Fact]
    public void The_sampler_gives_the_training_networks_logits_for_every_prefix()
    {
        var net = new HelloLstm(Device.Cpu, seed: 7);
        var sampler = new HelloLstmSampler(Device.Cpu, seed: 8);
        foreach (var p in net.Parameters) sampler.GetParameter(p.Name).Value.CopyFromHost(p.Value.CopyToHost());
        int[] ids = [0, 1, 2, 2];
        var full = net.Forward(Tensor<int>.FromArray(ids, 1, 4)).CopyToHost();
        Assert.Equal(16, full.Length);
        for (int t = 1; t <= 4; t++)
        {
            // a causal model: the logits after the prefix of length t do not depend on what follows
            var y = sampler.Forward(Tensor<int>.FromArray(ids[..t], 1, t)).CopyToHost();
            for (int i = 0; i < 4 * t; i++) Assert.True(Math.Abs(full[i] - y[i]) <= 1e-5f * (1 + Math.Abs(full[i])), $"T = {t}: logit {i}: {full[i]} vs {y[i]}");
        }
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Forward(Tensor<int>.FromArray([0, 4], 1, 2)));
        Assert.Contains("id 4", bad.Message);
    }
}
