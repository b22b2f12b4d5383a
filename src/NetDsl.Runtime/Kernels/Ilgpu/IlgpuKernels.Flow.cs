using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The normalizing-flow family on ILGPU (kernels in GpuKernels.Flow.cs). The invconv permutation is uploaded into a
// small device buffer (under _scratchLock); the C×C weight kernels are tiny (one thread per element or per column).
public sealed partial class IlgpuKernels
{
    private MemoryBuffer1D<int, Stride1D.Dense>? _flowPerm;
    private static (int N, int C, int S) FlowDims(Tensor<float> x, string name)
    {
        Check(x.Rank == 4, name, "[N, C, H, W]", x.Shape);
        return (x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3]);
    }

    public void ActNormForward(Tensor<float> x, Tensor<float> scale, Tensor<float> bias, Tensor<float> y, bool inverse)
    {
        var (_, c, s) = FlowDims(x, nameof(x));
        scale.CheckShape(nameof(scale), [c]); bias.CheckShape(nameof(bias), [c]); y.CheckShape(nameof(y), x.Shape);
        if (x.Length == 0) return;
        Launch(GpuKernels.ActNormForward, x.Length, V(x, "x"), V(scale, "scale"), V(bias, "bias"), V(y, "y"), c, s, inverse ? 1 : 0);
    }

    public void ActNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> scale, Tensor<float> bias, Tensor<float>? dx, Tensor<float> dscale, Tensor<float> dbias, bool inverse)
    {
        var (n, c, s) = FlowDims(x, nameof(x));
        dy.CheckShape(nameof(dy), x.Shape); scale.CheckShape(nameof(scale), [c]); bias.CheckShape(nameof(bias), [c]);
        dscale.CheckShape(nameof(dscale), [c]); dbias.CheckShape(nameof(dbias), [c]); dx?.CheckShape(nameof(dx), x.Shape);
        if (c > 0) Launch(GpuKernels.ActNormBackwardParams, c, V(dy, "dy"), V(x, "x"), V(scale, "scale"), V(bias, "bias"), V(dscale, "dscale"), V(dbias, "dbias"), n, c, s, inverse ? 1 : 0);
        if (dx != null && x.Length > 0)
        {
            Launch(GpuKernels.ActNormBackwardData, x.Length, V(dy, "dy"), V(scale, "scale"), V(dx, "dx"), c, s, inverse ? 1 : 0);
        }
    }

    public void FlowLogDetForward(Tensor<float> p, Tensor<float> logdet, int positions, bool logAbs)
    {
        Check(p.Rank == 1, "p", "[C]", p.Shape);
        Check(logdet.Rank == 1, "logdet", "[N]", logdet.Shape);
        if (logdet.Length == 0) return;
        Launch(GpuKernels.FlowLogDetForward, logdet.Length, V(p, "p"), V(logdet, "logdet"), p.Length, positions, logAbs ? 1 : 0);
    }

    public void FlowLogDetBackward(Tensor<float> dy, Tensor<float> p, Tensor<float> dp, int positions, bool logAbs)
    {
        Check(dy.Rank == 1, "dy", "[N]", dy.Shape);
        dp.CheckShape(nameof(dp), p.Shape);
        if (p.Length == 0) return;
        Launch(GpuKernels.FlowLogDetBackward, p.Length, V(dy, "dy"), V(p, "p"), V(dp, "dp"), dy.Length, positions, logAbs ? 1 : 0);
    }

    private int CheckInvConv(Tensor<float> lower, Tensor<float> upper, Tensor<float> logs, Tensor<float> w, ReadOnlySpan<int> perm)
    {
        Check(logs.Rank == 1, "logs", "[C]", logs.Shape);
        int c = logs.Shape[0];
        lower.CheckShape(nameof(lower), [c, c]); upper.CheckShape(nameof(upper), [c, c]); w.CheckShape(nameof(w), [c, c, 1, 1]);
        if (perm.Length != c) throw new ArgumentException($"perm: expected {c} entries (a permutation of 0..{c - 1}), got {perm.Length}", nameof(perm));
        foreach (var p in perm) if ((uint)p >= (uint)c) throw new ArgumentException($"perm: entry {p} is outside 0..{c - 1}", nameof(perm));
        return c;
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
        int c = CheckInvConv(lower, upper, logs, w, perm);
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
        int c = CheckInvConv(lower, upper, logs, w, perm);
        dw.CheckShape(nameof(dw), [c, c, 1, 1]); work.CheckShape(nameof(work), [c, c]);
        dlower.CheckShape(nameof(dlower), [c, c]); dupper.CheckShape(nameof(dupper), [c, c]); dlogs.CheckShape(nameof(dlogs), [c]);
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
        var (_, c, s) = FlowDims(x, nameof(x));
        Check(c % 2 == 0, "x", "[N, C, H, W] with C even", x.Shape);
        h.CheckShape(nameof(h), x.Shape); y.CheckShape(nameof(y), x.Shape);
        if (x.Length == 0) return;
        Launch(GpuKernels.CouplingForward, x.Length, V(x, "x"), V(h, "h"), V(y, "y"), c, s, inverse ? 1 : 0);
    }

    public void CouplingBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> h, Tensor<float>? dx, Tensor<float> dh, bool inverse)
    {
        var (_, c, s) = FlowDims(x, nameof(x));
        Check(c % 2 == 0, "x", "[N, C, H, W] with C even", x.Shape);
        dy.CheckShape(nameof(dy), x.Shape); h.CheckShape(nameof(h), x.Shape); dh.CheckShape(nameof(dh), x.Shape); dx?.CheckShape(nameof(dx), x.Shape);
        if (x.Length == 0) return;
        Launch(GpuKernels.CouplingBackward, x.Length / 2, V(dy, "dy"), V(x, "x"), V(h, "h"), dx != null ? V(dx, "dx") : V(dh, "dh"), V(dh, "dh"), c, s, inverse ? 1 : 0, dx != null ? 1 : 0);
    }

    public void CouplingLogDetForward(Tensor<float> h, Tensor<float> logdet)
    {
        var (n, c, s) = FlowDims(h, nameof(h));
        logdet.CheckShape(nameof(logdet), [n]);
        if (n == 0) return;
        Launch(GpuKernels.CouplingLogDetForward, n, V(h, "h"), V(logdet, "logdet"), c, s);
    }

    public void CouplingLogDetBackward(Tensor<float> dy, Tensor<float> h, Tensor<float> dh)
    {
        var (n, c, s) = FlowDims(h, nameof(h));
        dy.CheckShape(nameof(dy), [n]); dh.CheckShape(nameof(dh), h.Shape);
        if (h.Length == 0) return;
        Launch(GpuKernels.CouplingLogDetBackward, h.Length, V(dy, "dy"), V(h, "h"), V(dh, "dh"), c, s);
    }

    public void GaussianLogProbForward(Tensor<float> z, Tensor<float> logp)
    {
        Check(z.Rank >= 2, "z", "[N, ...]", z.Shape);
        int n = z.Shape[0], d = n == 0 ? 0 : z.Length / n;
        logp.CheckShape(nameof(logp), [n]);
        if (n == 0) return;
        Launch(GpuKernels.GaussianLogProbForward, n, V(z, "z"), V(logp, "logp"), d);
    }

    public void GaussianLogProbBackward(Tensor<float> dy, Tensor<float> z, Tensor<float> dz)
    {
        Check(z.Rank >= 2, "z", "[N, ...]", z.Shape);
        int n = z.Shape[0], d = n == 0 ? 0 : z.Length / n;
        dy.CheckShape(nameof(dy), [n]); dz.CheckShape(nameof(dz), z.Shape);
        if (z.Length == 0) return;
        Launch(GpuKernels.GaussianLogProbBackward, z.Length, V(dy, "dy"), V(z, "z"), V(dz, "dz"), d);
    }
}
