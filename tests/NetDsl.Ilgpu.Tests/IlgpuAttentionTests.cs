using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>The ILGPU attention kernels (GpuKernels.Attention.cs) on the simulator against the naive ReferenceKernels.</summary>
[Collection("ilgpu")]
public class IlgpuAttentionTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;

    [Theory]
    [InlineData(false, false, 0.0f)]
    [InlineData(true, true, 0.0f)]
    [InlineData(true, true, 0.3f)]
    public void Attention_forward_and_backward_match_the_reference(bool causal, bool withLengths, float p)
    {
        // [N 2, H 3, Tq 5, D 4] against 6 keys with values of width 3; lengths 0 (no visible key) and 4
        var q = _dev.Pair(1, 2, 3, 5, 4); var k = _dev.Pair(2, 2, 3, 6, 4); var v = _dev.Pair(3, 2, 3, 6, 3); var dy = _dev.Pair(4, 2, 3, 5, 3);
        var lg = _dev.Allocate<int>(2); lg.CopyFromHost([0, 4]);
        var lc = Tensor<int>.FromArray([0, 4], 2);
        var y = _dev.EmptyPair(2, 3, 5, 3); var pr = _dev.EmptyPair(2, 3, 5, 6); var dr = _dev.EmptyPair(2, 3, 5, 6);
        K.AttentionForward(q.Gpu, k.Gpu, v.Gpu, withLengths ? lg : null, y.Gpu, pr.Gpu, p > 0 ? dr.Gpu : null, 0.6f, causal, p, 99);
        R.AttentionForward(q.Cpu, k.Cpu, v.Cpu, withLengths ? lc : null, y.Cpu, pr.Cpu, p > 0 ? dr.Cpu : null, 0.6f, causal, p, 99);
        Close(pr.Cpu, pr.Gpu, "probs"); Close(y.Cpu, y.Gpu, "y");
        if (p > 0) Close(dr.Cpu, dr.Gpu, "dropped");
        var dq = _dev.EmptyPair(2, 3, 5, 4); var dk = _dev.EmptyPair(2, 3, 6, 4); var dv = _dev.EmptyPair(2, 3, 6, 3); var ds = _dev.EmptyPair(2, 3, 5, 6);
        K.AttentionBackward(dy.Gpu, q.Gpu, k.Gpu, v.Gpu, pr.Gpu, p > 0 ? dr.Gpu : null, dq.Gpu, dk.Gpu, dv.Gpu, ds.Gpu, 0.6f, p);
        R.AttentionBackward(dy.Cpu, q.Cpu, k.Cpu, v.Cpu, pr.Cpu, p > 0 ? dr.Cpu : null, dq.Cpu, dk.Cpu, dv.Cpu, ds.Cpu, 0.6f, p);
        Close(dq.Cpu, dq.Gpu, "dq"); Close(dk.Cpu, dk.Gpu, "dk"); Close(dv.Cpu, dv.Gpu, "dv");
    }

    [Fact]
    public void Positional_encoding_and_class_token_match_the_reference()
    {
        var x = _dev.Pair(5, 2, 7, 5); var y = _dev.EmptyPair(2, 7, 5);
        K.AddPositionalEncoding(x.Gpu, y.Gpu, 10000); R.AddPositionalEncoding(x.Cpu, y.Cpu, 10000);
        Close(y.Cpu, y.Gpu, "pe");
        var tok = _dev.Pair(6, 1, 1, 5); var yc = _dev.EmptyPair(2, 8, 5);
        K.ClassTokenForward(x.Gpu, tok.Gpu, yc.Gpu); R.ClassTokenForward(x.Cpu, tok.Cpu, yc.Cpu);
        Close(yc.Cpu, yc.Gpu, "cls");
        var dy = _dev.Pair(7, 2, 8, 5); var dx = _dev.EmptyPair(2, 7, 5); var dt = _dev.EmptyPair(1, 1, 5);
        K.ClassTokenBackward(dy.Gpu, dx.Gpu, dt.Gpu); R.ClassTokenBackward(dy.Cpu, dx.Cpu, dt.Cpu);
        Close(dx.Cpu, dx.Gpu, "dx"); Close(dt.Cpu, dt.Gpu, "dtoken");
    }

    [Fact]
    public void Shape_errors_name_expected_and_actual()
    {
        var q = _dev.Allocate<float>(2, 5, 4); var k = _dev.Allocate<float>(2, 6, 3);
        var e = Assert.Throws<ArgumentException>(() => K.AttentionForward(q, k, k, null, _dev.Allocate<float>(2, 5, 3), _dev.Allocate<float>(2, 5, 6), null, 1f, false, 0f, 0));
        Assert.Contains("k: expected shape [2, Tk, 4] to match q [2, 5, 4], got [2, 6, 3]", e.Message);
    }
}
