namespace NetDsl.Runtime.Tests;

/// <summary>
/// The CPU recurrent and embedding kernels (CpuKernels.Recurrent.cs) in fp64 on odd sizes and views at random offsets (NaN
/// filled, so unwritten outputs show): the forward pass against a step-by-step loop of PyTorch's equations written here,
/// the backward pass (BPTT) against finite differences of the forward, both directions, and the shape and id errors.
/// </summary>
public class RecurrentKernelTests
{
    private static readonly CpuKernels<double> K = CpuKernels<double>.Instance;

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>PyTorch's equations, one sequence and step at a time: y[n, t, dir·H + j].</summary>
    private static double[] NaiveForward(RnnCell cell, double[] x, double[] wih, double[] whh, double[] bih, double[] bhh, int N, int T, int D, int H, int dir, int dirs)
    {
        int G = RnnLayout.Gates(cell);
        var y = new double[N * T * dirs * H];
        for (int n = 0; n < N; n++)
        {
            var h = new double[H]; var c = new double[H];
            for (int s = 0; s < T; s++)
            {
                int t = dir == 1 ? T - 1 - s : s;
                double Pre(int k, bool hidden)
                {
                    double v = hidden ? bhh[k] : bih[k];
                    if (hidden) for (int j = 0; j < H; j++) v += whh[k * H + j] * h[j];
                    else for (int i = 0; i < D; i++) v += wih[k * D + i] * x[(n * T + t) * D + i];
                    return v;
                }
                var hn = new double[H];
                for (int j = 0; j < H; j++)
                {
                    switch (cell)
                    {
                        case RnnCell.RnnTanh: hn[j] = Math.Tanh(Pre(j, false) + Pre(j, true)); break;
                        case RnnCell.RnnRelu: hn[j] = Math.Max(0, Pre(j, false) + Pre(j, true)); break;
                        case RnnCell.Lstm:
                        {
                            double i = Sig(Pre(j, false) + Pre(j, true)), f = Sig(Pre(H + j, false) + Pre(H + j, true));
                            double g = Math.Tanh(Pre(2 * H + j, false) + Pre(2 * H + j, true)), o = Sig(Pre(3 * H + j, false) + Pre(3 * H + j, true));
                            c[j] = f * c[j] + i * g;
                            hn[j] = o * Math.Tanh(c[j]);
                            break;
                        }
                        case RnnCell.Gru:
                        {
                            double r = Sig(Pre(j, false) + Pre(j, true)), z = Sig(Pre(H + j, false) + Pre(H + j, true));
                            double nn = Math.Tanh(Pre(2 * H + j, false) + r * Pre(2 * H + j, true));
                            hn[j] = (1 - z) * nn + z * h[j];
                            break;
                        }
                    }
                }
                h = hn;
                for (int j = 0; j < H; j++) y[(n * T + t) * dirs * H + dir * H + j] = h[j];
            }
        }
        return y;
    }

    private sealed record Layer(Tensor<double>[] Wih, Tensor<double>[] Whh, Tensor<double>[] Bih, Tensor<double>[] Bhh);

    private static Layer Weights(Random rng, RnnCell cell, int D, int H, int dirs)
    {
        int gh = RnnLayout.Gates(cell) * H;
        Tensor<double> R(params int[] s) { var t = TU.Rand<double>(rng, s); var a = t.AsSpan(); for (int i = 0; i < a.Length; i++) a[i] *= 0.7; return t; }
        return new Layer(Enumerable.Range(0, dirs).Select(_ => R(gh, D)).ToArray(), Enumerable.Range(0, dirs).Select(_ => R(gh, H)).ToArray(),
            Enumerable.Range(0, dirs).Select(_ => R(gh)).ToArray(), Enumerable.Range(0, dirs).Select(_ => R(gh)).ToArray());
    }

    private static (Tensor<double> Y, Tensor<double>? Saved) Forward(Random rng, RnnCell cell, Tensor<double> x, Layer w, int H, int dirs)
    {
        int N = x.Shape[0], T = x.Shape[1], S = RnnLayout.Saved(cell);
        var y = TU.Empty<double>(rng, N, T, dirs * H);
        var saved = S > 0 ? TU.Empty<double>(rng, N, T, dirs * S * H) : null;
        for (int d = 0; d < dirs; d++) K.RnnForward(cell, x, w.Wih[d], w.Whh[d], w.Bih[d], w.Bhh[d], y, saved, d);
        return (y, saved);
    }

    private static double[] A(Tensor<double> t) => t.AsSpan().ToArray();

    public static IEnumerable<object[]> Cells() =>
        from cell in new[] { RnnCell.RnnTanh, RnnCell.RnnRelu, RnnCell.Lstm, RnnCell.Gru }
        from dirs in new[] { 1, 2 }
        select new object[] { cell, dirs };

    [Theory]
    [MemberData(nameof(Cells))]
    public void Forward_matches_the_step_by_step_equations(RnnCell cell, int dirs)
    {
        var rng = new Random((int)cell * 7 + dirs);
        // H = 9: two vectors of 4 doubles and a tail of one; also a size big enough for the parallel GEMM path
        foreach (var (N, T, D, H) in new[] { (3, 4, 5, 9), (1, 1, 2, 3), (70, 3, 5, 64) })
        {
            var x = TU.Rand<double>(rng, N, T, D);
            var w = Weights(rng, cell, D, H, dirs);
            var (y, _) = Forward(rng, cell, x, w, H, dirs);
            var got = A(y);
            for (int d = 0; d < dirs; d++)
            {
                var e = NaiveForward(cell, A(x), A(w.Wih[d]), A(w.Whh[d]), A(w.Bih[d]), A(w.Bhh[d]), N, T, D, H, d, dirs);
                for (int n = 0; n < N; n++)
                    for (int t = 0; t < T; t++)
                        for (int j = 0; j < H; j++)
                        {
                            int i = (n * T + t) * dirs * H + d * H + j;
                            Assert.True(Math.Abs(e[i] - got[i]) <= 1e-12 * (1 + Math.Abs(e[i])), $"{cell} dirs {dirs} [{N},{T},{D}] H {H}: y[{n},{t},{d * H + j}] expected {e[i]}, got {got[i]}");
                        }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Backward_matches_finite_differences(RnnCell cell, int dirs)
    {
        var rng = new Random(100 + (int)cell * 7 + dirs);
        int N = 2, T = 4, D = 3, H = 5, W = RnnLayout.Work(cell);
        var x = TU.Rand<double>(rng, N, T, D);
        var w = Weights(rng, cell, D, H, dirs);
        var dy = TU.Rand<double>(rng, N, T, dirs * H);
        double Loss() { var (y, _) = Forward(rng, cell, x, w, H, dirs); double s = 0; var a = y.AsSpan(); var b = dy.AsSpan(); for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

        var (y0, saved) = Forward(rng, cell, x, w, H, dirs);
        var work = TU.Empty<double>(rng, N, T, dirs * W * H);
        var dx = TU.Empty<double>(rng, N, T, D);
        var g = Enumerable.Range(0, dirs).Select(d => new[] { TU.Empty<double>(rng, w.Wih[d].Shape), TU.Empty<double>(rng, w.Whh[d].Shape), TU.Empty<double>(rng, w.Bih[d].Shape), TU.Empty<double>(rng, w.Bhh[d].Shape) }).ToArray();
        for (int d = 0; d < dirs; d++)
            K.RnnBackward(cell, dy, x, y0, saved, w.Wih[d], w.Whh[d], work, dx, g[d][0], g[d][1], g[d][2], g[d][3], d, d > 0);

        void Check(Tensor<double> p, Tensor<double> grad, string name)
        {
            var ps = p.AsSpan().Length;
            for (int i = 0; i < ps; i++)
            {
                double v = p.AsSpan()[i], h = 1e-6;
                p.AsSpan()[i] = v + h; double lp = Loss();
                p.AsSpan()[i] = v - h; double lm = Loss();
                p.AsSpan()[i] = v;
                double fd = (lp - lm) / (2 * h), an = grad.AsSpan()[i];
                Assert.True(Math.Abs(fd - an) <= 1e-6 * (1 + Math.Abs(fd)), $"{cell} dirs {dirs}: {name}[{i}] finite difference {fd}, backward {an}");
            }
        }
        Check(x, dx, "dx");
        for (int d = 0; d < dirs; d++)
        {
            Check(w.Wih[d], g[d][0], $"dwih{d}"); Check(w.Whh[d], g[d][1], $"dwhh{d}");
            Check(w.Bih[d], g[d][2], $"dbih{d}"); Check(w.Bhh[d], g[d][3], $"dbhh{d}");
        }
    }

    [Fact]
    public void Single_step_sequences_have_no_hidden_weight_gradient()
    {
        var rng = new Random(5);
        var x = TU.Rand<double>(rng, 3, 1, 2);
        var w = Weights(rng, RnnCell.Gru, 2, 4, 1);
        var (y, saved) = Forward(rng, RnnCell.Gru, x, w, 4, 1);
        var dwhh = TU.Empty<double>(rng, 12, 4);
        K.RnnBackward(RnnCell.Gru, TU.Rand<double>(rng, 3, 1, 4), x, y, saved, w.Wih[0], w.Whh[0], TU.Empty<double>(rng, 3, 1, 28), null,
            TU.Empty<double>(rng, 12, 2), dwhh, TU.Empty<double>(rng, 12), TU.Empty<double>(rng, 12), 0, false);
        Assert.All(A(dwhh), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Embedding_gathers_rows_and_scatter_adds_repeated_ids()
    {
        var rng = new Random(9);
        var ids = Tensor<int>.FromArray([4, 0, 4, 2, 4, 1], 2, 3);
        var w = TU.Rand<double>(rng, 5, 7);
        var y = TU.Empty<double>(rng, 2, 3, 7);
        K.EmbeddingForward(ids, w, y);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 7; j++) Assert.Equal(w.AsSpan()[ids.AsSpan()[i] * 7 + j], y.AsSpan()[i * 7 + j]);
        var dy = TU.Rand<double>(rng, 2, 3, 7);
        var dw = TU.Empty<double>(rng, 5, 7);
        K.EmbeddingBackward(dy, ids, dw);
        for (int v = 0; v < 5; v++)
            for (int j = 0; j < 7; j++)
            {
                double e = 0;
                for (int i = 0; i < 6; i++) if (ids.AsSpan()[i] == v) e += dy.AsSpan()[i * 7 + j];
                Assert.True(Math.Abs(e - dw.AsSpan()[v * 7 + j]) <= 1e-14, $"dw[{v},{j}]: expected {e}, got {dw.AsSpan()[v * 7 + j]}");
            }
        Assert.All(Enumerable.Range(0, 7), j => Assert.Equal(0.0, dw.AsSpan()[3 * 7 + j])); // id 3 never appears
    }

    [Fact]
    public void Out_of_range_ids_and_wrong_shapes_throw_naming_them()
    {
        var w = Tensor<double>.Zeros(5, 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => K.EmbeddingForward(Tensor<int>.FromArray([1, 5], 2), w, Tensor<double>.Zeros(2, 2)));
        Assert.Contains("id 5 at index 1", e.Message); Assert.Contains("vocab of 5", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => K.EmbeddingBackward(Tensor<double>.Zeros(1, 2), Tensor<int>.FromArray([-1], 1), w));
        var s = Assert.Throws<ArgumentException>(() => K.EmbeddingForward(Tensor<int>.FromArray([1, 2], 2), w, Tensor<double>.Zeros(2, 3)));
        Assert.Contains("[2, 2]", s.Message); Assert.Contains("[2, 3]", s.Message);

        var x = Tensor<double>.Zeros(2, 3, 4);
        var a = Assert.Throws<ArgumentException>(() => K.RnnForward(RnnCell.Lstm, x, Tensor<double>.Zeros(20, 3), Tensor<double>.Zeros(20, 5),
            Tensor<double>.Zeros(20), Tensor<double>.Zeros(20), Tensor<double>.Zeros(2, 3, 5), Tensor<double>.Zeros(2, 3, 25), 0));
        Assert.Contains("wih", a.Message); Assert.Contains("[20, 4]", a.Message); Assert.Contains("[20, 3]", a.Message);
        var b = Assert.Throws<ArgumentException>(() => K.RnnForward(RnnCell.Gru, x, Tensor<double>.Zeros(15, 4), Tensor<double>.Zeros(15, 5),
            Tensor<double>.Zeros(15), Tensor<double>.Zeros(15), Tensor<double>.Zeros(2, 3, 5), Tensor<double>.Zeros(2, 3, 25), 0));
        Assert.Contains("saved", b.Message); Assert.Contains("[2, 3, 20]", b.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => K.RnnForward(RnnCell.RnnTanh, x, Tensor<double>.Zeros(5, 4), Tensor<double>.Zeros(5, 5),
            Tensor<double>.Zeros(5), Tensor<double>.Zeros(5), Tensor<double>.Zeros(2, 3, 5), null, 1));
    }
}
