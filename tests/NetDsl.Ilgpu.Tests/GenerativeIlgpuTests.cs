using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>
/// The generative kernels: ILGPU (simulator, float) against the naive <see cref="ReferenceKernels{T}"/> in float, and the
/// CPU kernels against the same reference in double, on odd sizes; the noise streams included (same seed, same numbers).
/// </summary>
[Collection("ilgpu")]
public class GenerativeIlgpuTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;

    /// <summary>Tensors of <paramref name="shapes"/> filled from one stream (mapped by <paramref name="map"/>), run on four kernel sets, outputs compared.</summary>
    private void Compare(int seed, int[][] shapes, Func<int, double, double> map, Action<IKernels<float>, Func<int, Tensor<float>>> runF,
        Action<IKernels<double>, Func<int, Tensor<double>>> runD, int[] outputs, string what, double gpuTol = 2e-5)
    {
        var rng = new SplitMix64((ulong)seed);
        var data = shapes.Select((s, t) => Enumerable.Range(0, Tensor<float>.ShapeLength(s)).Select(_ => map(t, rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        Tensor<float>[] Make(Device d) => shapes.Select((s, i) => { var t = d.Allocate<float>(s); t.CopyFromHost(data[i].Select(v => (float)v).ToArray()); return t; }).ToArray();
        Tensor<double>[] MakeD() => shapes.Select((s, i) => Tensor<double>.FromArray((double[])data[i].Clone(), s)).ToArray();
        var g = Make(_dev); var rf = Make(Device.Cpu); var cd = MakeD(); var rd = MakeD();
        runF(_dev.Kernels<float>(), i => g[i]);
        runF(ReferenceKernels<float>.Instance, i => rf[i]);
        runD(CpuKernels<double>.Instance, i => cd[i]);
        runD(ReferenceKernels<double>.Instance, i => rd[i]);
        foreach (int o in outputs)
        {
            var a = g[o].CopyToHost(); var b = rf[o].CopyToHost(); var c = cd[o].CopyToHost(); var e = rd[o].CopyToHost();
            double norm = Math.Sqrt(e.Sum(v => v * v) / Math.Max(1, e.Length)) + 1e-6;
            for (int i = 0; i < a.Length; i++)
            {
                Assert.True(Math.Abs(a[i] - b[i]) <= gpuTol * (Math.Abs(b[i]) + norm), $"{what} output {o}[{i}]: ILGPU {a[i]}, reference {b[i]}");
                Assert.True(Math.Abs(c[i] - e[i]) <= 1e-12 * (Math.Abs(e[i]) + norm), $"{what} output {o}[{i}]: CPU {c[i]}, reference {e[i]}");
            }
        }
    }

    private static double Same(int t, double v) => v;

    [Theory]
    [InlineData(RandomKind.Normal)]
    [InlineData(RandomKind.Uniform)]
    public void Noise_streams_agree(RandomKind kind)
    {
        Compare(1, [[3, 37]], Same,
            (k, t) => k.RandomFill(t(0), kind, 0.5f, 2f, 12345UL),
            (k, t) => k.RandomFill(t(0), kind, 0.5, 2.0, 12345UL), [0], $"random {kind}", gpuTol: 1e-4);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Sample_normal(bool sample)
    {
        int[] s = [5, 7];
        Compare(2, [s, s, s, s], Same,
            (k, t) => k.SampleNormalForward(t(0), t(1), t(2), t(3), sample, 99UL),
            (k, t) => k.SampleNormalForward(t(0), t(1), t(2), t(3), sample, 99UL), [2, 3], "sample_normal", gpuTol: 1e-4);
    }

    [Theory]
    [InlineData(PointwiseLoss.Bce, GenReduction.Mean)]
    [InlineData(PointwiseLoss.BceWithLogits, GenReduction.BatchMean)]
    [InlineData(PointwiseLoss.KlNormal, GenReduction.BatchMean)]
    [InlineData(PointwiseLoss.SoftplusNeg, GenReduction.Sum)]
    [InlineData(PointwiseLoss.Softplus, GenReduction.Mean)]
    [InlineData(PointwiseLoss.NegSoftplus, GenReduction.Mean)]
    public void Pointwise_losses(PointwiseLoss kind, GenReduction red)
    {
        int[] s = [3, 11];
        // bce needs probabilities in (0, 1) and targets in [0, 1]
        Func<int, double, double> map = kind == PointwiseLoss.Bce ? (t, v) => 0.5 + 0.45 * v : (t, v) => 2 * v;
        Compare(3, [s, s, [1], s, s, [1]], (t, v) => t == 2 || t == 5 ? 0.7 : map(t, v),
            (k, t) => { k.PointwiseLossForward(kind, t(0), t(1), red, t(5)); k.PointwiseLossBackward(kind, t(2), t(0), t(1), red, t(3), t(4)); },
            (k, t) => { k.PointwiseLossForward(kind, t(0), t(1), red, t(5)); k.PointwiseLossBackward(kind, t(2), t(0), t(1), red, t(3), t(4)); },
            [3, 4, 5], $"pointwise {kind}");
    }

    [Fact]
    public void Triplet_margin()
    {
        int[] s = [5, 7];
        Compare(4, [s, s, s, [1], s, s, s, [1]], (t, v) => t == 3 ? 0.6 : v,
            (k, t) => { k.TripletMarginForward(t(0), t(1), t(2), 0.8f, GenReduction.Mean, t(7)); k.TripletMarginBackward(t(3), t(0), t(1), t(2), 0.8f, GenReduction.Mean, t(4), t(5), t(6)); },
            (k, t) => { k.TripletMarginForward(t(0), t(1), t(2), 0.8, GenReduction.Mean, t(7)); k.TripletMarginBackward(t(3), t(0), t(1), t(2), 0.8, GenReduction.Mean, t(4), t(5), t(6)); },
            [4, 5, 6, 7], "triplet");
    }

    [Theory]
    [InlineData(GenReduction.Mean)]
    [InlineData(GenReduction.Sum)]
    public void Nt_xent(GenReduction red)
    {
        int[] s = [5, 7];
        Compare(5, [s, s, [1], s, s, [1]], (t, v) => t == 2 ? 1.3 : v,
            (k, t) => { k.NtXentForward(t(0), t(1), 0.5f, red, t(5)); k.NtXentBackward(t(2), t(0), t(1), 0.5f, red, t(3), t(4)); },
            (k, t) => { k.NtXentForward(t(0), t(1), 0.5, red, t(5)); k.NtXentBackward(t(2), t(0), t(1), 0.5, red, t(3), t(4)); },
            [3, 4, 5], "nt_xent", gpuTol: 5e-5);
    }

    [Fact]
    public void Distill()
    {
        int[] s = [4, 9];
        Compare(6, [s, s, [1], s, [1]], (t, v) => t == 2 ? 0.9 : 3 * v,
            (k, t) => { k.DistillForward(t(0), t(1), 4f, GenReduction.BatchMean, t(4)); k.DistillBackward(t(2), t(0), t(1), 4f, GenReduction.BatchMean, t(3)); },
            (k, t) => { k.DistillForward(t(0), t(1), 4.0, GenReduction.BatchMean, t(4)); k.DistillBackward(t(2), t(0), t(1), 4.0, GenReduction.BatchMean, t(3)); },
            [3, 4], "distill");
    }
}
