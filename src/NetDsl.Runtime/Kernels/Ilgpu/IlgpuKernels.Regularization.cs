using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The regularization family on ILGPU (kernels in GpuKernels.Regularization.cs).
public sealed partial class IlgpuKernels
{
    public void Dropout2dForward(Tensor<float> x, Tensor<float> mask, Tensor<float> y, float p, ulong seed)
    {
        Check(x.Rank == 4, "x", "[N, C, H, W]", x.Shape);
        BlockDropout(x, mask, y, p, seed, x.Shape[2] * x.Shape[3]);
    }

    public void StochasticDepthForward(Tensor<float> x, Tensor<float> mask, Tensor<float> y, float p, ulong seed)
    {
        Check(x.Rank >= 1, "x", "[N, ...]", x.Shape);
        BlockDropout(x, mask, y, p, seed, x.Shape[0] == 0 ? 0 : x.Length / x.Shape[0]);
    }

    private void BlockDropout(Tensor<float> x, Tensor<float> mask, Tensor<float> y, float p, ulong seed, int block)
    {
        mask.CheckShape("mask", x.Shape);
        y.CheckShape("y", x.Shape);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"drop probability must be in [0, 1], got {p}");
        if (x.Length == 0 || block == 0) return;
        float scale = p >= 1 ? 0f : 1f / (1f - p);
        ulong threshold = p >= 1 ? ulong.MaxValue : (ulong)((double)p * 9007199254740992.0);
        ulong key = SplitMix64(seed ^ 0x6A09E667F3BCC909UL);
        Launch(GpuKernels.BlockDropout, x.Length, V(x, "x"), V(mask, "mask"), V(y, "y"), block, key, threshold, scale);
    }

    public void PenaltyForward(ReadOnlySpan<Tensor<float>> weights, float l1, float l2, Tensor<float> loss)
    {
        Check(loss.Length >= 1, "loss", "[1]", loss.Shape);
        Fill(loss.View(0, 1), 0f);
        var lv = V(loss, "loss");
        foreach (var w in weights)
            if (w.Length > 0) Launch(GpuKernels.PenaltySum, 1, V(w, "weights"), lv, w.Length, l1, l2, 1);
    }

    public void PenaltyBackward(Tensor<float> dy, Tensor<float> w, float l1, float l2, Tensor<float> dw)
    {
        dw.CheckShape("dw", w.Shape);
        CheckUpstream(dy);
        if (w.Length == 0) return;
        Launch(GpuKernels.PenaltyBackward, w.Length, V(dy, "dy"), V(w, "w"), V(dw, "dw"), l1, l2);
    }
}
