using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>
/// The recurrent kernels with initial states (h0, c0 [slots, N, H] read at a slot), a gradient into the saved cell states
/// (dsaved: c_n in a loss) and the initial states' gradients (dh0, dc0): ILGPU on the simulator and the CPU kernels against
/// the naive reference, every cell, both directions, odd sizes.
/// </summary>
[Collection("ilgpu")]
public class RecurrentStateIlgpuTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;
    private static readonly CpuKernels<float> C = CpuKernels<float>.Instance;

    private sealed record Trio(Tensor<float> Gpu, Tensor<float> Ref, Tensor<float> Cpu);

    private Trio Rand(int seed, double scale, params int[] shape)
    {
        var rng = new Random(seed);
        var data = Enumerable.Range(0, Tensor<float>.ShapeLength(shape)).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        var g = _dev.Allocate<float>(shape);
        g.CopyFromHost(data);
        return new Trio(g, Tensor<float>.FromArray((float[])data.Clone(), shape), Tensor<float>.FromArray((float[])data.Clone(), shape));
    }

    private Trio Zeros(params int[] shape) => new(_dev.Allocate<float>(shape), Tensor<float>.Zeros(shape), Tensor<float>.Zeros(shape));

    [Theory]
    [InlineData(RnnCell.RnnTanh, 1)]
    [InlineData(RnnCell.RnnRelu, 2)]
    [InlineData(RnnCell.Lstm, 1)]
    [InlineData(RnnCell.Lstm, 2)]
    [InlineData(RnnCell.Gru, 1)]
    [InlineData(RnnCell.Gru, 2)]
    public void Initial_states_and_their_gradients_match_the_reference(RnnCell cell, int dirs)
    {
        int N = 3, T = 4, D = 3, H = 5, G = RnnLayout.Gates(cell), S = RnnLayout.Saved(cell), layer = 1, slots = 2 * dirs;
        bool lstm = cell == RnnCell.Lstm;
        var x = Rand(1, 1, N, T, D);
        var h0 = Rand(2, 0.8, slots, N, H);
        var c0 = lstm ? Rand(3, 0.8, slots, N, H) : null;
        var w = Enumerable.Range(0, dirs).Select(d => (Wih: Rand(10 + d, 0.6, G * H, D), Whh: Rand(20 + d, 0.6, G * H, H), Bih: Rand(30 + d, 0.3, G * H), Bhh: Rand(40 + d, 0.3, G * H))).ToArray();
        var y = Zeros(N, T, dirs * H);
        var saved = S > 0 ? Zeros(N, T, dirs * S * H) : null;
        for (int d = 0; d < dirs; d++)
        {
            int slot = layer * dirs + d;
            K.RnnForward(cell, x.Gpu, w[d].Wih.Gpu, w[d].Whh.Gpu, w[d].Bih.Gpu, w[d].Bhh.Gpu, y.Gpu, saved?.Gpu, d, h0.Gpu, c0?.Gpu, slot);
            R.RnnForward(cell, x.Ref, w[d].Wih.Ref, w[d].Whh.Ref, w[d].Bih.Ref, w[d].Bhh.Ref, y.Ref, saved?.Ref, d, h0.Ref, c0?.Ref, slot);
            C.RnnForward(cell, x.Cpu, w[d].Wih.Cpu, w[d].Whh.Cpu, w[d].Bih.Cpu, w[d].Bhh.Cpu, y.Cpu, saved?.Cpu, d, h0.Cpu, c0?.Cpu, slot);
        }
        CloseToNorm(y.Ref, y.Gpu, $"{cell} y (ILGPU)", nonZero: true); CloseToNorm(y.Ref, y.Cpu, $"{cell} y (CPU)", nonZero: true);
        if (saved != null) { CloseToNorm(saved.Ref, saved.Gpu, $"{cell} saved (ILGPU)", nonZero: true); CloseToNorm(saved.Ref, saved.Cpu, $"{cell} saved (CPU)", nonZero: true); }
        // the initial state matters: from zero states y differs
        var y0 = Tensor<float>.Zeros(N, T, dirs * H); var s0 = S > 0 ? Tensor<float>.Zeros(N, T, dirs * S * H) : null;
        C.RnnForward(cell, x.Cpu, w[0].Wih.Cpu, w[0].Whh.Cpu, w[0].Bih.Cpu, w[0].Bhh.Cpu, y0, s0, 0);
        Assert.Contains(Enumerable.Range(0, y0.Length), i => Math.Abs(y0.AsSpan()[i] - y.Cpu.AsSpan()[i]) > 1e-4);

        var dy = Rand(50, 1, N, T, dirs * H);
        var dsaved = lstm ? Rand(60, 1, N, T, dirs * S * H) : null;
        var work = Zeros(N, T, dirs * RnnLayout.Work(cell) * H);
        var dx = Zeros(N, T, D);
        var dh0 = Rand(70, 1, slots, N, H); // garbage: the dir-0 call clears it
        var dc0 = lstm ? Rand(71, 1, slots, N, H) : null;
        var g = Enumerable.Range(0, dirs).Select(_ => (Wih: Zeros(G * H, D), Whh: Zeros(G * H, H), Bih: Zeros(G * H), Bhh: Zeros(G * H))).ToArray();
        for (int d = 0; d < dirs; d++)
        {
            int slot = layer * dirs + d;
            K.RnnBackward(cell, dy.Gpu, x.Gpu, y.Gpu, saved?.Gpu, w[d].Wih.Gpu, w[d].Whh.Gpu, work.Gpu, dx.Gpu, g[d].Wih.Gpu, g[d].Whh.Gpu, g[d].Bih.Gpu, g[d].Bhh.Gpu, d, d > 0,
                h0.Gpu, c0?.Gpu, slot, dsaved?.Gpu, dh0.Gpu, dc0?.Gpu);
            R.RnnBackward(cell, dy.Ref, x.Ref, y.Ref, saved?.Ref, w[d].Wih.Ref, w[d].Whh.Ref, work.Ref, dx.Ref, g[d].Wih.Ref, g[d].Whh.Ref, g[d].Bih.Ref, g[d].Bhh.Ref, d, d > 0,
                h0.Ref, c0?.Ref, slot, dsaved?.Ref, dh0.Ref, dc0?.Ref);
            C.RnnBackward(cell, dy.Cpu, x.Cpu, y.Cpu, saved?.Cpu, w[d].Wih.Cpu, w[d].Whh.Cpu, work.Cpu, dx.Cpu, g[d].Wih.Cpu, g[d].Whh.Cpu, g[d].Bih.Cpu, g[d].Bhh.Cpu, d, d > 0,
                h0.Cpu, c0?.Cpu, slot, dsaved?.Cpu, dh0.Cpu, dc0?.Cpu);
        }
        var all = new List<(Trio, string)> { (dx, "dx"), (dh0, "dh0") };
        if (dc0 != null) all.Add((dc0, "dc0"));
        all.AddRange(g.SelectMany((q, d) => new[] { (q.Wih, $"dwih{d}"), (q.Whh, $"dwhh{d}"), (q.Bih, $"dbih{d}"), (q.Bhh, $"dbhh{d}") }));
        foreach (var (t, name) in all)
        {
            CloseToNorm(t.Ref, t.Gpu, $"{cell} {name} (ILGPU)", nonZero: true);
            CloseToNorm(t.Ref, t.Cpu, $"{cell} {name} (CPU)", nonZero: true);
        }
        // the other layer's blocks of dh0 are zero
        Assert.All(dh0.Cpu.AsSpan().Slice(0, dirs * N * H).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void State_shapes_are_checked()
    {
        var x = Tensor<float>.Zeros(2, 3, 4); var wih = Tensor<float>.Zeros(5, 4); var whh = Tensor<float>.Zeros(5, 5); var b = Tensor<float>.Zeros(5);
        var y = Tensor<float>.Zeros(2, 3, 5);
        var e = Assert.Throws<ArgumentException>(() => C.RnnForward(RnnCell.RnnTanh, x, wih, whh, b, b, y, null, 0, Tensor<float>.Zeros(1, 3, 5), null, 0));
        Assert.Contains("h0: expected shape [layers·dirs > 0, 2, 5], got [1, 3, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => C.RnnForward(RnnCell.RnnTanh, x, wih, whh, b, b, y, null, 0, Tensor<float>.Zeros(1, 2, 5), null, 1));
        Assert.Contains("h0: expected shape [layers·dirs > 1, 2, 5], got [1, 2, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => C.RnnForward(RnnCell.RnnTanh, x, wih, whh, b, b, y, null, 0, Tensor<float>.Zeros(1, 2, 5), Tensor<float>.Zeros(1, 2, 5), 0));
        Assert.Contains("c0: only the LSTM has a cell state", e.Message);
    }
}
