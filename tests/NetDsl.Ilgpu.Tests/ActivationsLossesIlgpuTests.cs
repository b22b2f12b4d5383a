using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>
/// The activations, losses and regularization kernels: ILGPU (simulator) against the naive <see cref="ReferenceKernels{T}"/>
/// in float, and the CPU kernels against the same reference in double, on odd sizes.
/// </summary>
[Collection("ilgpu")]
public class ActivationsLossesIlgpuTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;

    /// <summary>Runs <paramref name="run"/> on three kernel sets (ILGPU float, reference float, CPU double, reference double) and compares.</summary>
    private void Compare(int seed, int[][] floatShapes, int[] labels, int labelRange, Action<IKernels<float>, Func<int, Tensor<float>>, Tensor<int>> runF,
        Action<IKernels<double>, Func<int, Tensor<double>>, Tensor<int>> runD, int[] outputs, string what)
    {
        // inputs: tensor i of floatShapes, filled from one random stream; outputs (by index) start zeroed
        var rng = new SplitMix64((ulong)seed);
        var data = floatShapes.Select(s => Enumerable.Range(0, Tensor<float>.ShapeLength(s)).Select(_ => rng.NextDouble() * 2 - 1).ToArray()).ToArray();
        var lab = labels.Length == 0 ? Enumerable.Range(0, 0).ToArray() : labels;
        Tensor<float>[] Make(Device d) => floatShapes.Select((s, i) => { var t = d.Allocate<float>(s); t.CopyFromHost(data[i].Select(v => (float)v).ToArray()); return t; }).ToArray();
        Tensor<double>[] MakeD() => floatShapes.Select((s, i) => Tensor<double>.FromArray((double[])data[i].Clone(), s)).ToArray();
        var g = Make(_dev); var rf = Make(Device.Cpu); var cd = MakeD(); var rd = MakeD();
        Tensor<int> L(Device d) { var t = d.Allocate<int>(lab.Length); t.CopyFromHost(lab); return t; }
        runF(_dev.Kernels<float>(), i => g[i], L(_dev));
        runF(ReferenceKernels<float>.Instance, i => rf[i], L(Device.Cpu));
        runD(CpuKernels<double>.Instance, i => cd[i], L(Device.Cpu));
        runD(ReferenceKernels<double>.Instance, i => rd[i], L(Device.Cpu));
        foreach (int o in outputs)
        {
            var a = g[o].CopyToHost(); var b = rf[o].CopyToHost(); var c = cd[o].CopyToHost(); var e = rd[o].CopyToHost();
            double norm = Math.Sqrt(e.Sum(v => v * v) / Math.Max(1, e.Length)) + 1e-6;
            for (int i = 0; i < a.Length; i++)
            {
                Assert.True(Math.Abs(a[i] - b[i]) <= 2e-5 * (Math.Abs(b[i]) + norm), $"{what} output {o}[{i}]: ILGPU {a[i]}, reference {b[i]}");
                Assert.True(Math.Abs(c[i] - e[i]) <= 1e-12 * (Math.Abs(e[i]) + norm), $"{what} output {o}[{i}]: CPU {c[i]}, reference {e[i]}");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PRelu(bool channels)
    {
        int[] x = [3, 5, 7], s = [channels ? 5 : 1];
        Compare(1, [x, s, x, x, x, s], [], 0,
            (k, t, _) => { k.PReluForward(t(0), t(1), t(2)); k.PReluBackward(t(3), t(0), t(1), t(4), t(5)); },
            (k, t, _) => { k.PReluForward(t(0), t(1), t(2)); k.PReluBackward(t(3), t(0), t(1), t(4), t(5)); }, [2, 4, 5], "prelu");
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(0, true)]
    public void Softmax(int axis, bool log)
    {
        int[] x = [3, 7, 5];
        Compare(2, [x, x, x, x], [], 0,
            (k, t, _) => { k.SoftmaxForward(t(0), t(1), axis, log); k.SoftmaxBackward(t(2), t(1), t(3), axis, log); },
            (k, t, _) => { k.SoftmaxForward(t(0), t(1), axis, log); k.SoftmaxBackward(t(2), t(1), t(3), axis, log); }, [1, 3], "softmax");
    }

    [Fact]
    public void Maxout()
    {
        int[] x = [2, 6, 3, 5], y = [2, 2, 3, 5];
        void RunF(IKernels<float> k, Func<int, Tensor<float>> t, Tensor<int> _)
        {
            var am = (t(0).Device).Allocate<int>(y);
            k.MaxoutForward(t(0), t(1), am, 3); k.MaxoutBackward(t(2), am, t(3), 3);
        }
        void RunD(IKernels<double> k, Func<int, Tensor<double>> t, Tensor<int> _)
        {
            var am = Tensor<int>.Zeros(y);
            k.MaxoutForward(t(0), t(1), am, 3); k.MaxoutBackward(t(2), am, t(3), 3);
        }
        Compare(3, [x, y, y, x], [], 0, RunF, RunD, [1, 3], "maxout");
    }

    private static readonly int[] Lab = [0, 4, 2, 4, 1];

    [Theory]
    [InlineData(0.0, false, LossReduction.Mean)]
    [InlineData(0.1, true, LossReduction.Mean)]
    [InlineData(0.2, true, LossReduction.Sum)]
    public void Cross_entropy_and_nll(double eps, bool weighted, LossReduction red)
    {
        int[] x = [5, 6];
        float[] wf = weighted ? [1f, 2f, 0.5f, 1.5f, 0.75f, 1.25f] : [];
        double[] wd = wf.Select(v => (double)v).ToArray();
        Compare(4, [x, x, [1], [1], x, [1], x], Lab, 6,
            (k, t, l) =>
            {
                k.Fill(t(3), 0.7f);
                k.CrossEntropyForward(t(0), l, wf, (float)eps, red, t(1), t(2));
                k.CrossEntropyBackward(t(3), t(1), l, wf, (float)eps, red, t(4));
                k.NllLossForward(t(0), l, wf, red, t(5));
                k.NllLossBackward(t(3), l, wf, red, t(6));
            },
            (k, t, l) =>
            {
                k.Fill(t(3), 0.7);
                k.CrossEntropyForward(t(0), l, wd, eps, red, t(1), t(2));
                k.CrossEntropyBackward(t(3), t(1), l, wd, eps, red, t(4));
                k.NllLossForward(t(0), l, wd, red, t(5));
                k.NllLossBackward(t(3), l, wd, red, t(6));
            }, [1, 2, 4, 5, 6], "cross_entropy/nll");
    }

    [Theory]
    [InlineData(false, LossReduction.Mean)]
    [InlineData(true, LossReduction.Sum)]
    public void Hinge_and_focal(bool squared, LossReduction red)
    {
        int[] x = [5, 6];
        Compare(5, [x, [1], [1], x, x, [1], x], Lab, 6,
            (k, t, l) =>
            {
                k.Fill(t(2), 1.3f);
                k.MultiMarginForward(t(0), l, 0.8f, squared, red, t(1));
                k.MultiMarginBackward(t(2), t(0), l, 0.8f, squared, red, t(3));
                k.FocalLossForward(t(0), l, 1.5f, 0.4f, red, t(4), t(5));
                k.FocalLossBackward(t(2), t(4), l, 1.5f, 0.4f, red, t(6));
            },
            (k, t, l) =>
            {
                k.Fill(t(2), 1.3);
                k.MultiMarginForward(t(0), l, 0.8, squared, red, t(1));
                k.MultiMarginBackward(t(2), t(0), l, 0.8, squared, red, t(3));
                k.FocalLossForward(t(0), l, 1.5, 0.4, red, t(4), t(5));
                k.FocalLossBackward(t(2), t(4), l, 1.5, 0.4, red, t(6));
            }, [1, 3, 4, 5, 6], "hinge/focal");
    }

    [Theory]
    [InlineData(RegressionLoss.Mse, LossReduction.Mean)]
    [InlineData(RegressionLoss.L1, LossReduction.Sum)]
    [InlineData(RegressionLoss.SmoothL1, LossReduction.Mean)]
    public void Regression(RegressionLoss kind, LossReduction red)
    {
        int[] x = [3, 7];
        Compare(6, [x, x, [1], [1], x], [], 0,
            (k, t, _) => { k.Fill(t(3), 0.9f); k.RegressionLossForward(kind, t(0), t(1), 0.4f, red, t(2)); k.RegressionLossBackward(kind, t(3), t(0), t(1), 0.4f, red, t(4)); },
            (k, t, _) => { k.Fill(t(3), 0.9); k.RegressionLossForward(kind, t(0), t(1), 0.4, red, t(2)); k.RegressionLossBackward(kind, t(3), t(0), t(1), 0.4, red, t(4)); },
            [2, 4], "regression");
    }

    [Fact]
    public void Penalties_and_block_dropout()
    {
        int[] a = [3, 5], b = [7], x = [4, 3, 2, 5];
        Compare(7, [a, b, [1], [1], a, x, x, x, x, x], [], 0,
            (k, t, _) =>
            {
                k.Fill(t(3), 0.6f);
                k.PenaltyForward([t(0), t(1)], 0.3f, 0.2f, t(2));
                k.PenaltyBackward(t(3), t(0), 0.3f, 0.2f, t(4));
                k.Dropout2dForward(t(5), t(6), t(7), 0.4f, 99);
                k.StochasticDepthForward(t(5), t(8), t(9), 0.5f, 7);
            },
            (k, t, _) =>
            {
                k.Fill(t(3), 0.6);
                k.PenaltyForward([t(0), t(1)], 0.3, 0.2, t(2));
                k.PenaltyBackward(t(3), t(0), 0.3, 0.2, t(4));
                k.Dropout2dForward(t(5), t(6), t(7), 0.4, 99);
                k.StochasticDepthForward(t(5), t(8), t(9), 0.5, 7);
            }, [2, 4, 6, 7, 8, 9], "penalty/dropout");
    }

    [Fact]
    public void ReadScalar_returns_element_zero_and_a_bad_label_is_reported()
    {
        var k = _dev.Kernels<float>();
        var t = _dev.Allocate<float>(3);
        t.CopyFromHost([2.5f, 1f, 0f]);
        Assert.Equal(2.5f, k.ReadScalar(t));
        var lab = _dev.Allocate<int>(2); lab.CopyFromHost([0, 9]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => k.CrossEntropyForward(_dev.Allocate<float>(2, 3), lab, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, _dev.Allocate<float>(2, 3), _dev.Allocate<float>(1)));
        Assert.Contains("label 9 at index 1", e.Message);
    }
}
