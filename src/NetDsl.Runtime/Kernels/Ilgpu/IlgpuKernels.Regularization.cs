using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The regularization family on ILGPU (kernels in GpuKernels.Regularization.cs).
public sealed partial class IlgpuKernels
{
    public void Dropout2dForward(Tensor<float> x, Tensor<float> mask, Tensor<float> y, float p, ulong seed)
    {
        BlockDropout(x, mask, y, p, seed, KernelContract.Dropout2dForward(x, mask, y, p));
    }

    public void StochasticDepthForward(Tensor<float> x, Tensor<float> mask, Tensor<float> y, float p, ulong seed)
    {
        BlockDropout(x, mask, y, p, seed, KernelContract.StochasticDepthForward(x, mask, y, p));
    }

    private void BlockDropout(Tensor<float> x, Tensor<float> mask, Tensor<float> y, float p, ulong seed, int block)
    {
        if (x.Length == 0 || block == 0) return;
        float scale = p >= 1 ? 0f : 1f / (1f - p);
        ulong threshold = p >= 1 ? ulong.MaxValue : (ulong)((double)p * 9007199254740992.0);
        ulong key = SplitMix64(seed ^ 0x6A09E667F3BCC909UL);
        Launch(GpuKernels.BlockDropout, x.Length, V(x, "x"), V(mask, "mask"), V(y, "y"), block, key, threshold, scale);
    }

    public void PenaltyForward(ReadOnlySpan<Tensor<float>> weights, float l1, float l2, Tensor<float> loss)
    {
        KernelContract.PenaltyForward(loss);
        Fill(loss.View(0, 1), 0f);
        var lv = V(loss, "loss");
        foreach (var w in weights)
            if (w.Length > 0) Launch(GpuKernels.PenaltySum, 1, V(w, "weights"), lv, w.Length, l1, l2, 1);
    }

    public void PenaltyBackward(Tensor<float> dy, Tensor<float> w, float l1, float l2, Tensor<float> dw)
    {
        KernelContract.PenaltyBackward(dy, w, dw);
        if (w.Length == 0) return;
        Launch(GpuKernels.PenaltyBackward, w.Length, V(dy, "dy"), V(w, "w"), V(dw, "dw"), l1, l2);
    }
}
