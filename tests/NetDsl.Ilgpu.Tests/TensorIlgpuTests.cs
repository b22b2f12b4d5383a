using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>The ILGPU tensor-op kernels (GpuKernels.Tensor.cs) on the simulator against the naive ReferenceKernels.</summary>
[Collection("ilgpu")]
public class TensorIlgpuTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;

    [Fact]
    public void Broadcast_sum_to_and_broadcast_to_match_the_reference()
    {
        var a = _dev.Pair(1, 2, 3, 1, 5); var b = _dev.Pair(2, 4, 1); var y = _dev.EmptyPair(2, 3, 4, 5);
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul })
        {
            K.BroadcastBinary(a.Gpu, b.Gpu, y.Gpu, op); R.BroadcastBinary(a.Cpu, b.Cpu, y.Cpu, op);
            Close(y.Cpu, y.Gpu, op.ToString());
        }
        var s = _dev.EmptyPair(3, 1, 5);
        K.SumTo(y.Gpu, s.Gpu, 0.5f); R.SumTo(y.Cpu, s.Cpu, 0.5f);
        Close(s.Cpu, s.Gpu, "sum_to");
        var t = _dev.EmptyPair(2, 3, 4, 5);
        K.BroadcastTo(s.Gpu, t.Gpu, 2f); R.BroadcastTo(s.Cpu, t.Cpu, 2f);
        Close(t.Cpu, t.Gpu, "broadcast_to");
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 2, 3, 5, 6 })]
    [InlineData(new[] { 3, 4, 5 }, new[] { 5, 6 })]
    [InlineData(new[] { 4, 5 }, new[] { 2, 1, 5, 3 })]
    public void Matmul_and_its_gradients_match_the_reference(int[] sa, int[] sb)
    {
        var a = _dev.Pair(3, sa); var b = _dev.Pair(4, sb);
        var yc = Tensor<float>.Zeros(Batch(sa, sb).Concat(new[] { sa[^2], sb[^1] }).ToArray());
        var yg = _dev.Allocate<float>(yc.Shape);
        K.MatMul(a.Gpu, b.Gpu, yg); R.MatMul(a.Cpu, b.Cpu, yc);
        Close(yc, yg, "matmul");
        var dy = _dev.Pair(5, yc.Shape);
        var da = _dev.EmptyPair(sa); var db = _dev.EmptyPair(sb);
        K.MatMulBackwardA(dy.Gpu, b.Gpu, da.Gpu); R.MatMulBackwardA(dy.Cpu, b.Cpu, da.Cpu);
        K.MatMulBackwardB(a.Gpu, dy.Gpu, db.Gpu); R.MatMulBackwardB(a.Cpu, dy.Cpu, db.Cpu);
        Close(da.Cpu, da.Gpu, "da"); Close(db.Cpu, db.Gpu, "db");
    }

    private static int[] Batch(int[] a, int[] b)
    {
        var ba = a[..^2]; var bb = b[..^2]; int r = Math.Max(ba.Length, bb.Length);
        return Enumerable.Range(0, r).Select(i => Math.Max(i - (r - ba.Length) >= 0 ? ba[i - (r - ba.Length)] : 1, i - (r - bb.Length) >= 0 ? bb[i - (r - bb.Length)] : 1)).ToArray();
    }

    [Fact]
    public void Permute_slice_concat_and_gram_match_the_reference()
    {
        var x = _dev.Pair(6, 2, 3, 4, 5);
        var p = _dev.EmptyPair(4, 2, 5, 3);
        K.Permute(x.Gpu, p.Gpu, [2, 0, 3, 1]); R.Permute(x.Cpu, p.Cpu, [2, 0, 3, 1]);
        Close(p.Cpu, p.Gpu, "permute");
        var s = _dev.EmptyPair(2, 3, 2, 5);
        K.Slice(x.Gpu, s.Gpu, 2, 1, 2); R.Slice(x.Cpu, s.Cpu, 2, 1, 2);
        Close(s.Cpu, s.Gpu, "slice");
        var dx = _dev.EmptyPair(2, 3, 4, 5);
        K.SliceBackward(s.Gpu, dx.Gpu, 2, 1, 2); R.SliceBackward(s.Cpu, dx.Cpu, 2, 1, 2);
        Close(dx.Cpu, dx.Gpu, "slice_bwd");
        var q = _dev.Pair(7, 2, 3, 4, 2); var c = _dev.EmptyPair(2, 3, 4, 7);
        K.Concat([x.Gpu, q.Gpu], c.Gpu, 3); R.Concat([x.Cpu, q.Cpu], c.Cpu, 3);
        Close(c.Cpu, c.Gpu, "concat");
        var d0 = _dev.EmptyPair(2, 3, 4, 5); var d1 = _dev.EmptyPair(2, 3, 4, 2);
        K.ConcatBackward(c.Gpu, [d0.Gpu, d1.Gpu], 3); R.ConcatBackward(c.Cpu, [d0.Cpu, d1.Cpu], 3);
        Close(d0.Cpu, d0.Gpu, "concat_bwd 0"); Close(d1.Cpu, d1.Gpu, "concat_bwd 1");
        var g = _dev.EmptyPair(2, 3, 3);
        K.Gram(x.Gpu, g.Gpu); R.Gram(x.Cpu, g.Cpu);
        Close(g.Cpu, g.Gpu, "gram");
        var dg = _dev.Pair(8, 2, 3, 3); var gx = _dev.EmptyPair(2, 3, 4, 5);
        K.GramBackward(dg.Gpu, x.Gpu, gx.Gpu); R.GramBackward(dg.Cpu, x.Cpu, gx.Cpu);
        Close(gx.Cpu, gx.Gpu, "gram_bwd");
    }
}
