using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>
/// The ILGPU recurrent and embedding kernels (GpuKernels.Recurrent.cs) on the simulator against the naive ReferenceKernels
/// (step-by-step dot products and textbook BPTT), and the optimized CPU kernels against the same reference: every cell, both
/// directions of a bidirectional layer, odd sizes.
/// </summary>
[Collection("ilgpu")]
public class RecurrentIlgpuTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;
    private static readonly CpuKernels<float> C = CpuKernels<float>.Instance;

    private sealed class Trio(Tensor<float> gpu, Tensor<float> refT, Tensor<float> cpu)
    {
        public Tensor<float> Gpu { get; } = gpu; public Tensor<float> Ref { get; } = refT; public Tensor<float> Cpu { get; } = cpu;
    }

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
    public void Recurrent_forward_and_backward_match_the_reference(RnnCell cell, int dirs)
    {
        int N = 3, T = 5, D = 4, H = 5, G = RnnLayout.Gates(cell), S = RnnLayout.Saved(cell);
        var x = Rand(1, 1, N, T, D);
        var w = Enumerable.Range(0, dirs).Select(d => (Wih: Rand(10 + d, 0.6, G * H, D), Whh: Rand(20 + d, 0.6, G * H, H), Bih: Rand(30 + d, 0.3, G * H), Bhh: Rand(40 + d, 0.3, G * H))).ToArray();
        var y = Zeros(N, T, dirs * H);
        var saved = S > 0 ? Zeros(N, T, dirs * S * H) : null;
        for (int d = 0; d < dirs; d++)
        {
            K.RnnForward(cell, x.Gpu, w[d].Wih.Gpu, w[d].Whh.Gpu, w[d].Bih.Gpu, w[d].Bhh.Gpu, y.Gpu, saved?.Gpu, d);
            R.RnnForward(cell, x.Ref, w[d].Wih.Ref, w[d].Whh.Ref, w[d].Bih.Ref, w[d].Bhh.Ref, y.Ref, saved?.Ref, d);
            C.RnnForward(cell, x.Cpu, w[d].Wih.Cpu, w[d].Whh.Cpu, w[d].Bih.Cpu, w[d].Bhh.Cpu, y.Cpu, saved?.Cpu, d);
        }
        CloseToNorm(y.Ref, y.Gpu, $"{cell} y (ILGPU)"); CloseToNorm(y.Ref, y.Cpu, $"{cell} y (CPU)");
        if (saved != null) { CloseToNorm(saved.Ref, saved.Gpu, $"{cell} saved (ILGPU)"); CloseToNorm(saved.Ref, saved.Cpu, $"{cell} saved (CPU)"); }

        var dy = Rand(50, 1, N, T, dirs * H);
        var work = Zeros(N, T, dirs * RnnLayout.Work(cell) * H);
        var dx = Zeros(N, T, D);
        var g = Enumerable.Range(0, dirs).Select(_ => (Wih: Zeros(G * H, D), Whh: Zeros(G * H, H), Bih: Zeros(G * H), Bhh: Zeros(G * H))).ToArray();
        for (int d = 0; d < dirs; d++)
        {
            K.RnnBackward(cell, dy.Gpu, x.Gpu, y.Gpu, saved?.Gpu, w[d].Wih.Gpu, w[d].Whh.Gpu, work.Gpu, dx.Gpu, g[d].Wih.Gpu, g[d].Whh.Gpu, g[d].Bih.Gpu, g[d].Bhh.Gpu, d, d > 0);
            R.RnnBackward(cell, dy.Ref, x.Ref, y.Ref, saved?.Ref, w[d].Wih.Ref, w[d].Whh.Ref, work.Ref, dx.Ref, g[d].Wih.Ref, g[d].Whh.Ref, g[d].Bih.Ref, g[d].Bhh.Ref, d, d > 0);
            C.RnnBackward(cell, dy.Cpu, x.Cpu, y.Cpu, saved?.Cpu, w[d].Wih.Cpu, w[d].Whh.Cpu, work.Cpu, dx.Cpu, g[d].Wih.Cpu, g[d].Whh.Cpu, g[d].Bih.Cpu, g[d].Bhh.Cpu, d, d > 0);
        }
        foreach (var (t, name) in new[] { (dx, "dx") }.Concat(g.SelectMany((q, d) => new[] { (q.Wih, $"dwih{d}"), (q.Whh, $"dwhh{d}"), (q.Bih, $"dbih{d}"), (q.Bhh, $"dbhh{d}") })))
        {
            CloseToNorm(t.Ref, t.Gpu, $"{cell} {name} (ILGPU)");
            CloseToNorm(t.Ref, t.Cpu, $"{cell} {name} (CPU)");
        }
    }

    [Fact]
    public void Embedding_forward_and_backward_match_the_reference_and_bad_ids_throw()
    {
        int[] idsData = [3, 0, 6, 3, 1, 6, 6, 2];
        var idsG = _dev.Allocate<int>(2, 4); idsG.CopyFromHost(idsData);
        var idsR = Tensor<int>.FromArray(idsData, 2, 4);
        var w = Rand(3, 1, 7, 5);
        var y = Zeros(2, 4, 5);
        K.EmbeddingForward(idsG, w.Gpu, y.Gpu); R.EmbeddingForward(idsR, w.Ref, y.Ref);
        CloseToNorm(y.Ref, y.Gpu, "embedding");
        var dy = Rand(4, 1, 2, 4, 5); var dw = Zeros(7, 5);
        K.EmbeddingBackward(dy.Gpu, idsG, dw.Gpu); R.EmbeddingBackward(dy.Ref, idsR, dw.Ref);
        CloseToNorm(dw.Ref, dw.Gpu, "embedding dw");
        var bad = _dev.Allocate<int>(2); bad.CopyFromHost([1, 7]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => K.EmbeddingForward(bad, w.Gpu, _dev.Allocate<float>(2, 5)));
        Assert.Contains("id 7", e.Message); Assert.Contains("vocab of 7", e.Message);
    }

    [Fact]
    public void Recurrent_shape_errors_name_the_tensor()
    {
        var x = _dev.Allocate<float>(2, 3, 4);
        var e = Assert.Throws<ArgumentException>(() => K.RnnForward(RnnCell.Lstm, x, _dev.Allocate<float>(20, 4), _dev.Allocate<float>(12, 5),
            _dev.Allocate<float>(20), _dev.Allocate<float>(20), _dev.Allocate<float>(2, 3, 5), _dev.Allocate<float>(2, 3, 25), 0));
        Assert.Contains("whh", e.Message); Assert.Contains("[12, 5]", e.Message);
    }
}
