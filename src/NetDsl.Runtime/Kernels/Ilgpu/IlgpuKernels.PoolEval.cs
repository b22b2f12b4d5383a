using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// Max pooling at inference on the GPU: MaxPoolForward's maxima without the argmax store.
public sealed partial class IlgpuKernels
{
    public void MaxPool2dInference(Tensor<float> x, Tensor<float> y, PoolGeometry g)
    {
        var p = Params(KernelContract.Pool2d(x, y, g, "x", "y"), g);
        if (y.Length == 0) return;
        Launch(MaxPoolInferenceKernel, y.Length, V(x, "x"), V(y, "y"), p);
    }

    /// <summary>One thread per output: the window's maximum, NaN if the window has one.</summary>
    private static void MaxPoolInferenceKernel(Index1D index, ArrayView<float> x, ArrayView<float> y, PoolParams p)
    {
        int i = index;
        int ow = i % p.OW; int t = i / p.OW;
        int oh = t % p.OH; int plane = t / p.OH;
        int h0 = oh * p.SH - p.PH, w0 = ow * p.SW - p.PW;
        int hs = h0 < 0 ? 0 : h0, he = h0 + p.KH < p.H ? h0 + p.KH : p.H;
        int ws = w0 < 0 ? 0 : w0, we = w0 + p.KW < p.W ? w0 + p.KW : p.W;
        int xo = plane * p.H * p.W;
        float best = float.NegativeInfinity;
        for (int a = hs; a < he; a++)
            for (int c = ws; c < we; c++)
            {
                float v = x[xo + a * p.W + c];
                if (v > best || float.IsNaN(v)) best = v;
                if (float.IsNaN(best)) { y[i] = best; return; }
            }
        y[i] = best;
    }
}
