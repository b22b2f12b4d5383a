using NetDsl.Runtime;
using Xunit;

namespace NetDsl.Tests;

/// <summary>
/// Truncated BPTT end to end (Networks/tbptt.net, docs/ops/recurrent.md): a sequence of 2T steps run in one call equals two
/// chunks of T steps with the final states (h_n, c_n) copied into the next chunk's h0, c0 — every output step and the final
/// states, in fp64 to 1e-12 — and a training loop over chunks with the state carried learns.
/// </summary>
public class TbpttTests
{
    private static double[] Values(int n, int seed) => Enumerable.Range(0, n).Select(i => Math.Sin(0.37 * i + seed) * 0.9).ToArray();

    /// <summary>x [N, steps, D] → the steps lo..lo+len of every sequence.</summary>
    private static double[] Steps(double[] x, int n, int steps, int d, int lo, int len)
    {
        var r = new double[n * len * d];
        for (int b = 0; b < n; b++)
            Array.Copy(x, (b * steps + lo) * d, r, b * len * d, len * d);
        return r;
    }

    private static void Close(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12, $"{what}[{i}]: one call {expected[i]:G17}, chunks {actual[i]:G17}");
    }

    [Fact]
    public void Lstm_two_chunks_with_carried_state_equal_one_call()
    {
        const int N = 3, D = 3, H = 5, L = 2;
        var whole = new TbpttWhole<double>(seed: 7);
        var chunk = new TbpttChunk<double>(seed: 1);
        foreach (var p in whole.Parameters) chunk.GetParameter(p.Name).Value.CopyFromHost(p.Value.CopyToHost());
        var x = Values(N * 8 * D, 1);
        var h0 = Values(L * N * H, 2); var c0 = Values(L * N * H, 3);
        var (o, hn, cn) = whole.Forward(Tensor<double>.FromArray(x, N, 8, D), Tensor<double>.FromArray(h0, L, N, H), Tensor<double>.FromArray(c0, L, N, H));
        double[] yAll = o.CopyToHost(), hAll = hn.CopyToHost(), cAll = cn.CopyToHost();
        Assert.Contains(hAll, v => Math.Abs(v) > 1e-3);

        double[] h = h0, c = c0;
        for (int k = 0; k < 2; k++)
        {
            var (ok, hk, ck) = chunk.Forward(Tensor<double>.FromArray(Steps(x, N, 8, D, 4 * k, 4), N, 4, D), Tensor<double>.FromArray(h, L, N, H), Tensor<double>.FromArray(c, L, N, H));
            Close(Steps(yAll, N, 8, H, 4 * k, 4), ok.CopyToHost(), $"y (chunk {k})");
            h = hk.CopyToHost(); c = ck.CopyToHost();
        }
        Close(hAll, h, "h_n");
        Close(cAll, c, "c_n");

        // the state matters: chunk 2 from zero states differs
        var (o2, _, _) = chunk.Forward(Tensor<double>.FromArray(Steps(x, N, 8, D, 4, 4), N, 4, D), Tensor<double>.Zeros(L, N, H), Tensor<double>.Zeros(L, N, H));
        var y2 = o2.CopyToHost(); var e2 = Steps(yAll, N, 8, H, 4, 4);
        Assert.Contains(Enumerable.Range(0, y2.Length), i => Math.Abs(y2[i] - e2[i]) > 1e-6);
    }

    [Fact]
    public void Gru_two_chunks_with_carried_state_equal_one_call()
    {
        const int N = 2, D = 2, H = 4;
        var whole = new TbpttGruWhole<double>(seed: 3);
        var chunk = new TbpttGruChunk<double>(seed: 4);
        foreach (var p in whole.Parameters) chunk.GetParameter(p.Name).Value.CopyFromHost(p.Value.CopyToHost());
        var x = Values(N * 6 * D, 5); var h0 = Values(N * H, 6);
        var (o, hn) = whole.Forward(Tensor<double>.FromArray(x, N, 6, D), Tensor<double>.FromArray(h0, 1, N, H));
        double[] yAll = o.CopyToHost(), hAll = hn.CopyToHost();
        double[] h = h0;
        for (int k = 0; k < 2; k++)
        {
            var (ok, hk) = chunk.Forward(Tensor<double>.FromArray(Steps(x, N, 6, D, 3 * k, 3), N, 3, D), Tensor<double>.FromArray(h, 1, N, H));
            Close(Steps(yAll, N, 6, H, 3 * k, 3), ok.CopyToHost(), $"y (chunk {k})");
            h = hk.CopyToHost();
        }
        Close(hAll, h, "h_n");
    }

    [Fact]
    public void Training_over_chunks_with_carried_state_learns()
    {
        const int N = 3, D = 3, H = 5, L = 2;
        var net = new TbpttChunk<double>(seed: 2);
        var adam = new NetDsl.Runtime.Optim.Adam<double>(net.Parameters, lr: 0.05);
        var x = Values(N * 16 * D, 8);
        var label = Tensor<int>.FromArray([0, 1, 2], N);
        double first = 0, last = 0;
        for (int epoch = 0; epoch < 80; epoch++)
        {
            double[] h = new double[L * N * H], c = new double[L * N * H];
            double sum = 0;
            for (int k = 0; k < 4; k++)
            {
                var xs = Tensor<double>.FromArray(Steps(x, N, 16, D, 4 * k, 4), N, 4, D);
                var h0 = Tensor<double>.FromArray(h, L, N, H); var c0 = Tensor<double>.FromArray(c, L, N, H);
                sum += net.TrainStep(xs, h0, c0, label, adam);
                var (_, hn, cn) = net.Forward(xs, h0, c0); // the state after this chunk (new parameters), carried into the next
                h = hn.CopyToHost(); c = cn.CopyToHost();
            }
            if (epoch == 0) first = sum / 4;
            last = sum / 4;
        }
        Assert.True(last < 0.5 * first, $"mean chunk loss {first} -> {last}");
    }
}
