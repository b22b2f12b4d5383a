using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;
using NetDsl.Runtime.Data;

namespace NetDsl.Tests;

/// <summary>The ILGPU normalization kernels against the naive reference loops (ReferenceKernels.Normalization.cs).</summary>
[Collection("ilgpu")]
public class IlgpuNormalizationTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNorm_forward_and_backward_match_the_reference(bool training)
    {
        int[] s = [3, 5, 2, 3];
        var x = _dev.Pair(1, s); var w = _dev.Pair(2, 5); var b = _dev.Pair(3, 5); var rm = _dev.Pair(4, 5);
        var rv = _dev.PairOf(Seeded.Floats(5, 5).Select(v => 1.5f + v).ToArray(), 5);
        var y = _dev.EmptyPair(s); var m = _dev.EmptyPair(5); var inv = _dev.EmptyPair(5);
        K.BatchNormForward(x.Gpu, w.Gpu, b.Gpu, rm.Gpu, rv.Gpu, y.Gpu, m.Gpu, inv.Gpu, training, 1e-5f, 0.1f);
        R.BatchNormForward(x.Cpu, w.Cpu, b.Cpu, rm.Cpu, rv.Cpu, y.Cpu, m.Cpu, inv.Cpu, training, 1e-5f, 0.1f);
        Close(y.Cpu, y.Gpu, "y"); Close(rm.Cpu, rm.Gpu, "running mean"); Close(rv.Cpu, rv.Gpu, "running var"); Close(inv.Cpu, inv.Gpu, "invstd");
        var dy = _dev.Pair(6, s); var dx = _dev.EmptyPair(s); var dw = _dev.EmptyPair(5); var db = _dev.EmptyPair(5);
        K.BatchNormBackward(dy.Gpu, x.Gpu, w.Gpu, m.Gpu, inv.Gpu, dx.Gpu, dw.Gpu, db.Gpu, training);
        R.BatchNormBackward(dy.Cpu, x.Cpu, w.Cpu, m.Cpu, inv.Cpu, dx.Cpu, dw.Cpu, db.Cpu, training);
        Close(dx.Cpu, dx.Gpu, "dx"); Close(dw.Cpu, dw.Gpu, "dweight"); Close(db.Cpu, db.Gpu, "dbias");
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(6, false)]
    public void GroupNorm_forward_and_backward_match_the_reference(int groups, bool affine)
    {
        int[] s = [2, 6, 3, 2];
        var x = _dev.Pair(1, s); var w = _dev.Pair(2, 6); var b = _dev.Pair(3, 6);
        var y = _dev.EmptyPair(s); var m = _dev.EmptyPair(2, groups); var inv = _dev.EmptyPair(2, groups);
        K.GroupNormForward(x.Gpu, affine ? w.Gpu : null, affine ? b.Gpu : null, y.Gpu, m.Gpu, inv.Gpu, groups, 1e-5f);
        R.GroupNormForward(x.Cpu, affine ? w.Cpu : null, affine ? b.Cpu : null, y.Cpu, m.Cpu, inv.Cpu, groups, 1e-5f);
        Close(y.Cpu, y.Gpu, "y"); Close(m.Cpu, m.Gpu, "mean");
        var dy = _dev.Pair(6, s); var dx = _dev.EmptyPair(s); var dw = _dev.EmptyPair(6); var db = _dev.EmptyPair(6);
        K.GroupNormBackward(dy.Gpu, x.Gpu, affine ? w.Gpu : null, m.Gpu, inv.Gpu, dx.Gpu, affine ? dw.Gpu : null, affine ? db.Gpu : null, groups);
        R.GroupNormBackward(dy.Cpu, x.Cpu, affine ? w.Cpu : null, m.Cpu, inv.Cpu, dx.Cpu, affine ? dw.Cpu : null, affine ? db.Cpu : null, groups);
        Close(dx.Cpu, dx.Gpu, "dx");
        if (affine) { Close(dw.Cpu, dw.Gpu, "dweight"); Close(db.Cpu, db.Gpu, "dbias"); }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void LayerNorm_forward_and_backward_match_the_reference(int dims, bool affine)
    {
        int[] s = [3, 4, 5];
        var tail = s[^dims..]; var lead = s[..^dims];
        var x = _dev.Pair(1, s); var w = _dev.Pair(2, tail); var b = _dev.Pair(3, tail);
        var y = _dev.EmptyPair(s); var m = _dev.EmptyPair(lead); var inv = _dev.EmptyPair(lead);
        K.LayerNormForward(x.Gpu, affine ? w.Gpu : null, affine ? b.Gpu : null, y.Gpu, m.Gpu, inv.Gpu, dims, 1e-5f);
        R.LayerNormForward(x.Cpu, affine ? w.Cpu : null, affine ? b.Cpu : null, y.Cpu, m.Cpu, inv.Cpu, dims, 1e-5f);
        Close(y.Cpu, y.Gpu, "y"); Close(inv.Cpu, inv.Gpu, "invstd");
        var dy = _dev.Pair(6, s); var dx = _dev.EmptyPair(s); var dw = _dev.EmptyPair(tail); var db = _dev.EmptyPair(tail);
        K.LayerNormBackward(dy.Gpu, x.Gpu, affine ? w.Gpu : null, m.Gpu, inv.Gpu, dx.Gpu, affine ? dw.Gpu : null, affine ? db.Gpu : null, dims);
        R.LayerNormBackward(dy.Cpu, x.Cpu, affine ? w.Cpu : null, m.Cpu, inv.Cpu, dx.Cpu, affine ? dw.Cpu : null, affine ? db.Cpu : null, dims);
        Close(dx.Cpu, dx.Gpu, "dx");
        if (affine) { Close(dw.Cpu, dw.Gpu, "dweight"); Close(db.Cpu, db.Gpu, "dbias"); }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void Lrn_forward_and_backward_match_the_reference(int size)
    {
        int[] s = [2, 6, 2, 3];
        var x = _dev.Pair(1, s); var y = _dev.EmptyPair(s); var scale = _dev.EmptyPair(s);
        K.LocalResponseNormForward(x.Gpu, y.Gpu, scale.Gpu, size, 0.5f, 0.75f, 2f);
        R.LocalResponseNormForward(x.Cpu, y.Cpu, scale.Cpu, size, 0.5f, 0.75f, 2f);
        Close(y.Cpu, y.Gpu, "y"); Close(scale.Cpu, scale.Gpu, "scale");
        var dy = _dev.Pair(6, s); var dx = _dev.EmptyPair(s);
        K.LocalResponseNormBackward(dy.Gpu, x.Gpu, y.Gpu, scale.Gpu, dx.Gpu, size, 0.5f, 0.75f);
        R.LocalResponseNormBackward(dy.Cpu, x.Cpu, y.Cpu, scale.Cpu, dx.Cpu, size, 0.5f, 0.75f);
        Close(dx.Cpu, dx.Gpu, "dx");
    }

    [Fact]
    public void Kernels_reject_wrong_shapes_naming_expected_and_actual()
    {
        var x = _dev.Allocate<float>(2, 3, 4); var c3 = _dev.Allocate<float>(3);
        var e = Assert.Throws<ArgumentException>(() => K.BatchNormForward(x, _dev.Allocate<float>(4), c3, c3, c3, _dev.Allocate<float>(2, 3, 4), c3, c3, true, 1e-5f, 0.1f));
        Assert.Contains("weight", e.Message); Assert.Contains("[3]", e.Message); Assert.Contains("[4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K.GroupNormForward(x, null, null, _dev.Allocate<float>(2, 3, 4), _dev.Allocate<float>(2, 2), _dev.Allocate<float>(2, 2), 2, 1e-5f));
        Assert.Contains("3 channels", e.Message);
    }
}

/// <summary>relu as a kernel epilogue (public: ILGPU compiles only public types).</summary>
public readonly struct TestReluEpi : IMap1<float>, IGpuMap1
{
    public float Apply(float a) => MathF.Max(a, 0f);
    public System.Runtime.Intrinsics.Vector256<float> Apply(System.Runtime.Intrinsics.Vector256<float> a) => System.Runtime.Intrinsics.Vector256.Max(a, System.Runtime.Intrinsics.Vector256<float>.Zero);
    public System.Runtime.Intrinsics.Vector512<float> Apply(System.Runtime.Intrinsics.Vector512<float> a) => System.Runtime.Intrinsics.Vector512.Max(a, System.Runtime.Intrinsics.Vector512<float>.Zero);
}

[Collection("ilgpu")]
public class IlgpuBatchNormApplyTests(IlgpuFixture fixture)
{
    [Fact]
    public void BatchNormApply_with_a_relu_epilogue_matches_the_reference()
    {
        var dev = fixture.Device;
        var K = dev.Kernels<float>();
        var R = ReferenceKernels<float>.Instance;
        int[] s = [3, 5, 2, 3];
        var rng = new Random(5);
        float[] D(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        (Tensor<float> G, Tensor<float> C) P(float[] d, params int[] shape) { var g = dev.Allocate<float>(shape); g.CopyFromHost(d); return (g, Tensor<float>.FromArray((float[])d.Clone(), shape)); }
        var x = P(D(90), s); var w = P(D(5), 5); var b = P(D(5), 5); var m = P(D(5), 5);
        var inv = P(D(5).Select(v => 1.5f + v).ToArray(), 5);
        var y = (G: dev.Allocate<float>(s), C: Tensor<float>.Zeros(s));
        K.BatchNormApply(x.G, w.G, b.G, m.G, inv.G, y.G, default(TestReluEpi), default(TestReluEpi));
        R.BatchNormApply(x.C, w.C, b.C, m.C, inv.C, y.C, default(TestReluEpi), default(TestReluEpi));
        var e = y.C.AsSpan().ToArray(); var a = y.G.CopyToHost();
        Assert.Contains(e, v => v == 0f);
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - a[i]) <= 1e-5f * (1 + Math.Abs(e[i])), $"y[{i}]: reference {e[i]}, ILGPU {a[i]}");
    }
}
