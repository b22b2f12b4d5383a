using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>
/// The group reductions (GpuKernels.Reductions.cs) on reduced lengths well past the group width (16 threads on the
/// simulator, so each thread strides over several elements and the shared-memory tree has several levels): batchnorm
/// statistics and gradients, groupnorm channel gradients, layernorm row statistics, the linear bias gradient and the
/// cross-entropy mean, against the naive reference loops.
/// </summary>
[Collection("ilgpu")]
public class IlgpuReductionTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;

    [Fact]
    public void Batchnorm_statistics_and_gradients_over_long_channels()
    {
        int[] s = [4, 3, 7, 5]; // 140 values per channel
        var x = _dev.Pair(1, s); var w = _dev.Pair(2, 3); var b = _dev.Pair(3, 3); var rm = _dev.Pair(4, 3);
        var rv = _dev.EmptyPair(3);
        K.Fill(rv.Gpu, 1.25f); R.Fill(rv.Cpu, 1.25f);
        var y = _dev.EmptyPair(s); var m = _dev.EmptyPair(3); var inv = _dev.EmptyPair(3);
        K.BatchNormForward(x.Gpu, w.Gpu, b.Gpu, rm.Gpu, rv.Gpu, y.Gpu, m.Gpu, inv.Gpu, true, 1e-5f, 0.1f);
        R.BatchNormForward(x.Cpu, w.Cpu, b.Cpu, rm.Cpu, rv.Cpu, y.Cpu, m.Cpu, inv.Cpu, true, 1e-5f, 0.1f);
        Close(m.Cpu, m.Gpu, "mean"); Close(inv.Cpu, inv.Gpu, "invstd"); Close(rm.Cpu, rm.Gpu, "running mean"); Close(rv.Cpu, rv.Gpu, "running var");
        Close(y.Cpu, y.Gpu, "y");
        var dy = _dev.Pair(6, s); var dx = _dev.EmptyPair(s); var dw = _dev.EmptyPair(3); var db = _dev.EmptyPair(3);
        K.BatchNormBackward(dy.Gpu, x.Gpu, w.Gpu, m.Gpu, inv.Gpu, dx.Gpu, dw.Gpu, db.Gpu, true);
        R.BatchNormBackward(dy.Cpu, x.Cpu, w.Cpu, m.Cpu, inv.Cpu, dx.Cpu, dw.Cpu, db.Cpu, true);
        Close(dw.Cpu, dw.Gpu, "dweight"); Close(db.Cpu, db.Gpu, "dbias"); Close(dx.Cpu, dx.Gpu, "dx");
    }

    [Fact]
    public void Groupnorm_and_layernorm_over_long_rows()
    {
        int[] s = [2, 6, 11, 7]; // groupnorm rows of 3·77, channel gradients over 2·77
        var x = _dev.Pair(1, s); var w = _dev.Pair(2, 6); var b = _dev.Pair(3, 6);
        var y = _dev.EmptyPair(s); var m = _dev.EmptyPair(2, 2); var inv = _dev.EmptyPair(2, 2);
        K.GroupNormForward(x.Gpu, w.Gpu, b.Gpu, y.Gpu, m.Gpu, inv.Gpu, 2, 1e-5f);
        R.GroupNormForward(x.Cpu, w.Cpu, b.Cpu, y.Cpu, m.Cpu, inv.Cpu, 2, 1e-5f);
        Close(m.Cpu, m.Gpu, "groupnorm mean"); Close(inv.Cpu, inv.Gpu, "groupnorm invstd"); Close(y.Cpu, y.Gpu, "groupnorm y");
        var dy = _dev.Pair(6, s); var dx = _dev.EmptyPair(s); var dw = _dev.EmptyPair(6); var db = _dev.EmptyPair(6);
        K.GroupNormBackward(dy.Gpu, x.Gpu, w.Gpu, m.Gpu, inv.Gpu, dx.Gpu, dw.Gpu, db.Gpu, 2);
        R.GroupNormBackward(dy.Cpu, x.Cpu, w.Cpu, m.Cpu, inv.Cpu, dx.Cpu, dw.Cpu, db.Cpu, 2);
        Close(dw.Cpu, dw.Gpu, "groupnorm dweight"); Close(db.Cpu, db.Gpu, "groupnorm dbias"); Close(dx.Cpu, dx.Gpu, "groupnorm dx");

        var lx = _dev.Pair(7, 5, 77); var lw = _dev.Pair(8, 77); var lb = _dev.Pair(9, 77);
        var ly = _dev.EmptyPair(5, 77); var lm = _dev.EmptyPair(5); var li = _dev.EmptyPair(5);
        K.LayerNormForward(lx.Gpu, lw.Gpu, lb.Gpu, ly.Gpu, lm.Gpu, li.Gpu, 1, 1e-5f);
        R.LayerNormForward(lx.Cpu, lw.Cpu, lb.Cpu, ly.Cpu, lm.Cpu, li.Cpu, 1, 1e-5f);
        Close(lm.Cpu, lm.Gpu, "layernorm mean"); Close(li.Cpu, li.Gpu, "layernorm invstd"); Close(ly.Cpu, ly.Gpu, "layernorm y");
    }

    [Fact]
    public void Linear_bias_gradient_and_loss_mean_over_many_rows()
    {
        int m = 37, k = 4, o = 10;
        var x = _dev.Pair(1, m, k); var dy = _dev.Pair(2, m, o);
        var dw = _dev.EmptyPair(o, k); var db = _dev.EmptyPair(o);
        K.LinearBackwardFilter(dy.Gpu, x.Gpu, dw.Gpu, db.Gpu);
        R.LinearBackwardFilter(dy.Cpu, x.Cpu, dw.Cpu, db.Cpu);
        Close(db.Cpu, db.Gpu, "db"); Close(dw.Cpu, dw.Gpu, "dw");

        var logits = _dev.Pair(3, m, o);
        var labels = Enumerable.Range(0, m).Select(i => i * 7 % o).ToArray();
        var gl = _dev.Allocate<int>(m); gl.CopyFromHost(labels);
        var cl = Tensor<int>.FromArray(labels, m);
        var probs = _dev.EmptyPair(m, o); var loss = _dev.EmptyPair(1);
        K.CrossEntropyForward(logits.Gpu, gl, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, probs.Gpu, loss.Gpu);
        R.CrossEntropyForward(logits.Cpu, cl, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, probs.Cpu, loss.Cpu);
        float lg = K.ReadScalar(loss.Gpu), lc = R.ReadScalar(loss.Cpu);
        Assert.True(Math.Abs(lg - lc) <= 1e-5f * (1 + Math.Abs(lc)), $"loss: reference {lc}, ILGPU {lg}");
        Close(loss.Cpu, loss.Gpu, "loss tensor");
    }
}
