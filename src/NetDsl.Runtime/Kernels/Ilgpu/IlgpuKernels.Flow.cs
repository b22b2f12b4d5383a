using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The normalizing-flow family on ILGPU (kernels in GpuKernels.Flow.cs). The invconv permutation is uploaded into a
// small device buffer (under _scratchLock); the C×C weight kernels are tiny (one thread per element or per column).
public sealed partial class IlgpuKernels
{
    private MemoryBuffer1D<int, Stride1D.Dense>? _flowPerm;
    public void ActNormForward(Tensor<float> x, Tensor<float> scale, Tensor<float> bias, Tensor<float> y, bool inverse)
    {
        var (_, c, s) = KernelContract.ActNormForward(x, scale, bias, y);
        if (x.Length == 0) return;
        Launch(GpuKernels.ActNormForward, x.Length, V(x, "x"), V(scale, "scale"), V(bias, "bias"), V(y, "y"), c, s, inverse ? 1 : 0);
    }

    public void ActNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> scale, Tensor<float> bias, Tensor<float>? dx, Tensor<float> dscale, Tensor<float> dbias, bool inverse)
    {
        var (n, c, s) = KernelContract.ActNormBackward(dy, x, scale, bias, dx, dscale, dbias);
        if (c > 0) Launch(GpuKernels.ActNormBackwardParams, c, V(dy, "dy"), V(x, "x"), V(scale, "scale"), V(bias, "bias"), V(dscale, "dscale"), V(dbias, "dbias"), n, c, s, inverse ? 1 : 0);
        if (dx != null && x.Length > 0)
        {
            Launch(GpuKernels.ActNormBackwardData, x.Length, V(dy, "dy"), V(scale, "scale"), V(dx, "dx"), c, s, inverse ? 1 : 0);
        }
    }

    public void FlowLogDetForward(Tensor<float> p, Tensor<float> logdet, int positions, bool logAbs)
    {
        KernelContract.FlowLogDetForward(p, logdet);
        if (logdet.Length == 0) return;
        Launch(GpuKernels.FlowLogDetForward, logdet.Length, V(p, "p"), V(logdet, "logdet"), p.Length, positions, logAbs ? 1 : 0);
    }

    public void FlowLogDetBackward(Tensor<float> dy, Tensor<float> p, Tensor<float> dp, int positions, bool logAbs)
    {
        KernelContract.FlowLogDetBackward(dy, p, dp);
        if (p.Length == 0) return;
        Launch(GpuKernels.FlowLogDetBackward, p.Length, V(dy, "dy"), V(p, "p"), V(dp, "dp"), dy.Length, positions, logAbs ? 1 : 0);
    }

    private ArrayView<int> UploadPerm(ReadOnlySpan<int> perm)
    {
        lock (_scratchLock)
        {
            if (_flowPerm is null || _flowPerm.Length < perm.Length) { _flowPerm?.Dispose(); _flowPerm = _acc.Allocate1D<int>(Math.Max(perm.Length, 64)); }
            var v = ((ArrayView<int>)_flowPerm.View).SubView(0, perm.Length);
            v.CopyFromCPU(perm);
            return v;
        }
    }

    public void InvConvWeightForward(Tensor<float> lower, Tensor<float> upper, Tensor<float> logs, Tensor<float> w, ReadOnlySpan<int> perm, bool inverse)
    {
        int c = KernelContract.InvConvWeightForward(lower, upper, logs, w, perm);
        if (c == 0) return;
        var pv = UploadPerm(perm);
        if (!inverse)
        {
            Launch(GpuKernels.InvConvWeight, c * c, V(lower, "lower"), V(upper, "upper"), V(logs, "logs"), pv, V(w, "w"), c);
        }
        else
        {
            Launch(GpuKernels.InvConvWeightInverse, c, V(lower, "lower"), V(upper, "upper"), V(logs, "logs"), pv, V(w, "w"), c);
        }
    }

    public void InvConvWeightBackward(Tensor<float> dw, Tensor<float> lower, Tensor<float> upper, Tensor<float> logs, Tensor<float> w, Tensor<float> work,
        Tensor<float> dlower, Tensor<float> dupper, Tensor<float> dlogs, ReadOnlySpan<int> perm, bool inverse)
    {
        int c = KernelContract.InvConvWeightBackward(dw, lower, upper, logs, w, work, dlower, dupper, dlogs, perm);
        if (c == 0) return;
        var pv = UploadPerm(perm);
        if (!inverse)
        {
            Launch(GpuKernels.InvConvPermuteGrad, c * c, V(dw, "dw"), pv, V(work, "work"), c);
        }
        else
        {
            Launch(GpuKernels.InvConvInverseGrad1, c * c, V(dw, "dw"), V(w, "w"), V(dupper, "dupper"), c);
            Launch(GpuKernels.InvConvInverseGrad2, c * c, V(w, "w"), V(dupper, "dupper"), pv, V(work, "work"), c);
        }
        Launch(GpuKernels.InvConvLowerGrad, c * c, V(work, "work"), V(upper, "upper"), V(logs, "logs"), V(dlower, "dlower"), c);
        Launch(GpuKernels.InvConvUpperGrad, c * c, V(work, "work"), V(lower, "lower"), V(logs, "logs"), V(dupper, "dupper"), V(dlogs, "dlogs"), c);
    }

    public void CouplingForward(Tensor<float> x, Tensor<float> h, Tensor<float> y, bool inverse)
    {
        var (_, c, s) = KernelContract.CouplingForward(x, h, y);
        if (x.Length == 0) return;
        Launch(GpuKernels.CouplingForward, x.Length, V(x, "x"), V(h, "h"), V(y, "y"), c, s, inverse ? 1 : 0);
    }

    public void CouplingBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> h, Tensor<float>? dx, Tensor<float> dh, bool inverse)
    {
        var (_, c, s) = KernelContract.CouplingBackward(dy, x, h, dx, dh);
        if (x.Length == 0) return;
        Launch(GpuKernels.CouplingBackward, x.Length / 2, V(dy, "dy"), V(x, "x"), V(h, "h"), dx != null ? V(dx, "dx") : V(dh, "dh"), V(dh, "dh"), c, s, inverse ? 1 : 0, dx != null ? 1 : 0);
    }

    public void CouplingLogDetForward(Tensor<float> h, Tensor<float> logdet)
    {
        var (n, c, s) = KernelContract.CouplingLogDetForward(h, logdet);
        if (n == 0) return;
        Launch(GpuKernels.CouplingLogDetForward, n, V(h, "h"), V(logdet, "logdet"), c, s);
    }

    public void CouplingLogDetBackward(Tensor<float> dy, Tensor<float> h, Tensor<float> dh)
    {
        var (n, c, s) = KernelContract.CouplingLogDetBackward(dy, h, dh);
        if (h.Length == 0) return;
        Launch(GpuKernels.CouplingLogDetBackward, h.Length, V(dy, "dy"), V(h, "h"), V(dh, "dh"), c, s);
    }

    public void GaussianLogProbForward(Tensor<float> z, Tensor<float> logp)
    {
        var (n, d) = KernelContract.GaussianLogProbForward(z, logp);
        if (n == 0) return;
        Launch(GpuKernels.GaussianLogProbForward, n, V(z, "z"), V(logp, "logp"), d);
    }

    public void GaussianLogProbBackward(Tensor<float> dy, Tensor<float> z, Tensor<float> dz)
    {
        var (n, d) = KernelContract.GaussianLogProbBackward(dy, z, dz);
        if (z.Length == 0) return;
        Launch(GpuKernels.GaussianLogProbBackward, z.Length, V(dy, "dy"), V(z, "z"), V(dz, "dz"), d);
    }
}
