using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// Attention on ILGPU: the host checks shapes (AttentionLayout, shared with the CPU) and launches the simple kernels of
// GpuKernels.Attention.cs: a thread per softmax row, a thread per output element for the products.
public sealed partial class IlgpuKernels
{
    private MemoryBuffer1D<int, Stride1D.Dense>? _noLengths;

    private ArrayView<int> NoLengths()
    {
        lock (_scratchLock) _noLengths ??= _acc.Allocate1D<int>(1);
        return _noLengths.View;
    }

    public void AttentionForward(Tensor<float> q, Tensor<float> k, Tensor<float> v, Tensor<int>? lengths, Tensor<float> y, Tensor<float> probs,
        Tensor<float>? dropped, float scale, bool causal, float p, ulong seed)
    {
        var (nb, tq, tk, d, dv, per) = AttentionLayout.Check(q.Shape, k.Shape, v.Shape, y.Shape, probs.Shape, dropped?.Shape, lengths?.Shape);
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), $"attention dropout must be in [0, 1), got {p}");
        if (y.Length == 0) return;
        bool drop = dropped is not null && p > 0;
        var a = new AttnParams
        {
            Tq = tq, Tk = tk, D = d, Dv = dv, PerSample = per, Causal = causal ? 1 : 0, HasLengths = lengths is null ? 0 : 1, Drop = drop ? 1 : 0,
            Scale = scale, Keep = 1f / (1f - p), Key = SplitMix64(seed ^ 0x6A09E667F3BCC909UL), Threshold = (ulong)((double)p * 9007199254740992.0),
        };
        var pv = V(probs, "probs");
        Launch(GpuKernels.AttentionScores, nb * tq, V(q, "q"), V(k, "k"), lengths is null ? NoLengths() : V(lengths, "lengths"), pv, drop ? V(dropped!, "dropped") : pv, a);
        Launch(GpuKernels.AttentionValues, y.Length, drop ? V(dropped!, "dropped") : pv, V(v, "v"), V(y, "y"), a);
    }

    public void AttentionBackward(Tensor<float> dy, Tensor<float> q, Tensor<float> k, Tensor<float> v, Tensor<float> probs, Tensor<float>? dropped,
        Tensor<float> dq, Tensor<float> dk, Tensor<float> dv, Tensor<float> ds, float scale, float p)
    {
        var (nb, tq, tk, d, dvn, _) = AttentionLayout.Check(q.Shape, k.Shape, v.Shape, dy.Shape, probs.Shape, dropped?.Shape, null);
        dq.CheckShape("dq", q.Shape); dk.CheckShape("dk", k.Shape); dv.CheckShape("dv", v.Shape); ds.CheckShape("ds", probs.Shape);
        if (q.Length + k.Length + v.Length == 0) return;
        bool drop = dropped is not null && p > 0;
        var a = new AttnParams { Tq = tq, Tk = tk, D = d, Dv = dvn, Drop = drop ? 1 : 0, Scale = scale, Keep = 1f / (1f - p) };
        var pv = V(probs, "probs"); var dsv = V(ds, "ds");
        var src = drop ? V(dropped!, "dropped") : pv;
        if (dv.Length > 0) Launch(GpuKernels.AttentionDv, dv.Length, src, V(dy, "dy"), V(dv, "dv"), a);
        if (ds.Length > 0) Launch(GpuKernels.AttentionDs, nb * tq, V(dy, "dy"), V(v, "v"), pv, src, dsv, a);
        if (dq.Length > 0) Launch(GpuKernels.AttentionDq, dq.Length, dsv, V(k, "k"), V(dq, "dq"), a);
        if (dk.Length > 0) Launch(GpuKernels.AttentionDk, dk.Length, dsv, V(q, "q"), V(dk, "dk"), a);
    }

    public void AddPositionalEncoding(Tensor<float> x, Tensor<float> y, double @base)
    {
        AttentionLayout.CheckSequence(x.Shape, "x");
        y.CheckShape("y", x.Shape);
        if (y.Length == 0) return;
        Launch(GpuKernels.PositionalEncoding, y.Length, V(x, "x"), V(y, "y"), x.Shape[1], x.Shape[2], (float)Math.Log(@base));
    }

    public void ClassTokenForward(Tensor<float> x, Tensor<float> token, Tensor<float> y)
    {
        AttentionLayout.CheckClassToken(x.Shape, token.Shape, y.Shape, "y");
        if (y.Length == 0) return;
        Launch(GpuKernels.ClassToken, y.Length, V(x, "x"), V(token, "token"), V(y, "y"), x.Shape[1], x.Shape[2]);
    }

    public void ClassTokenBackward(Tensor<float> dy, Tensor<float> dx, Tensor<float> dtoken)
    {
        AttentionLayout.CheckClassToken(dx.Shape, dtoken.Shape, dy.Shape, "dy");
        int n = dx.Shape[0], t = dx.Shape[1], d = dx.Shape[2];
        if (dx.Length > 0)
        {
            Launch(GpuKernels.ClassTokenDx, dx.Length, V(dy, "dy"), V(dx, "dx"), t, d);
        }
        if (d > 0)
        {
            Launch(GpuKernels.ClassTokenDtoken, d, V(dy, "dy"), V(dtoken, "dtoken"), n, t, d);
        }
    }
}
