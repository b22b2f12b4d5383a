using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The losses family on ILGPU (kernels in GpuKernels.Losses.cs). Forward: per-sample terms, a device divisor, a one-thread
// reduction, then a label check (the only host wait besides ReadScalar). Class weights are copied into a device buffer.
public sealed partial class IlgpuKernels
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _lossRows, _lossDivisor, _classWeights;
    private MemoryBuffer1D<int, Stride1D.Dense>? _lossError;
    public float ReadScalar(Tensor<float> t)
    {
        KernelContract.ReadScalar(t);
        Span<float> r = stackalloc float[1];
        V(t, "t").SubView(0, 1).CopyToCPU(r);
        return r[0];
    }

    /// <summary>Grows the scratch buffers (under _scratchLock) and uploads the class weights; returns the weights view.</summary>
    private ArrayView<float> Scratch(int rows, ReadOnlySpan<float> weights)
    {
        if (_lossRows is null || _lossRows.Length < rows) { _lossRows?.Dispose(); _lossRows = _acc.Allocate1D<float>(Math.Max(rows, 256)); }
        _lossDivisor ??= _acc.Allocate1D<float>(1);
        _lossError ??= _acc.Allocate1D<int>(1);
        if (_classWeights is null || _classWeights.Length < Math.Max(1, weights.Length)) { _classWeights?.Dispose(); _classWeights = _acc.Allocate1D<float>(Math.Max(weights.Length, 64)); }
        if (weights.Length > 0) ((ArrayView<float>)_classWeights.View).SubView(0, weights.Length).CopyFromCPU(weights);
        return _classWeights.View;
    }

    private static int Mode(LossReduction r, bool weighted) => r == LossReduction.Sum ? 0 : weighted ? 2 : 1;

    /// <summary>Divisor, reduction into loss[0], then the label check (waits for the device).</summary>
    private void FinishClassLoss(Tensor<int> labels, ArrayView<float> w, Tensor<float> loss, LossParams p)
    {
        Launch(GpuKernels.LossDivisor, 1, V(labels, "labels"), w, _lossDivisor!.View.AsContiguous(), p);
        LossSum(_lossRows!.View, _lossDivisor.View, V(loss, "loss"), p.N);
        Span<int> error = stackalloc int[1];
        ((ArrayView<int>)_lossError!.View).CopyToCPU(error);
        if (error[0] != 0) throw BadLabel(labels, p.C);
    }

    public void CrossEntropyForward(Tensor<float> logits, Tensor<int> labels, ReadOnlySpan<float> weights, float smoothing, LossReduction reduction, Tensor<float> probs, Tensor<float> loss)
    {
        var (n, c) = KernelContract.CrossEntropyForward(logits, labels, weights.Length, probs, loss);
        if (n == 0 || c == 0) { Fill(loss, 0f); return; }
        var p = new LossParams { N = n, C = c, HasWeights = weights.Length > 0 ? 1 : 0, Mode = Mode(reduction, weights.Length > 0), Eps = smoothing };
        lock (_scratchLock)
        {
            var w = Scratch(n, weights);
            _lossError!.View.MemSetToZero();
            Launch(GpuKernels.CrossEntropyRows, n, V(logits, "logits"), V(labels, "labels"), w, V(probs, "probs"), _lossRows!.View.AsContiguous(), _lossError.View.AsContiguous(), p);
            FinishClassLoss(labels, w, loss, p);
        }
    }

    public void CrossEntropyBackward(Tensor<float> dy, Tensor<float> probs, Tensor<int> labels, ReadOnlySpan<float> weights, float smoothing, LossReduction reduction, Tensor<float> dlogits)
    {
        var (n, c) = KernelContract.CrossEntropyBackward(dy, probs, labels, weights.Length, dlogits);
        if (probs.Length == 0) return;
        var p = new LossParams { N = n, C = c, HasWeights = weights.Length > 0 ? 1 : 0, Mode = Mode(reduction, weights.Length > 0), Eps = smoothing };
        lock (_scratchLock)
        {
            var w = Scratch(n, weights);
            Launch(GpuKernels.LossDivisor, 1, V(labels, "labels"), w, _lossDivisor!.View.AsContiguous(), p);
            Launch(GpuKernels.CrossEntropyBackward, probs.Length, V(dy, "dy"), V(probs, "probs"), V(labels, "labels"), w, _lossDivisor.View.AsContiguous(), V(dlogits, "dlogits"), p);
        }
    }

    public void NllLossForward(Tensor<float> logp, Tensor<int> labels, ReadOnlySpan<float> weights, LossReduction reduction, Tensor<float> loss)
    {
        var (n, c) = KernelContract.NllLossForward(logp, labels, weights.Length, loss);
        if (n == 0 || c == 0) { Fill(loss, 0f); return; }
        var p = new LossParams { N = n, C = c, HasWeights = weights.Length > 0 ? 1 : 0, Mode = Mode(reduction, weights.Length > 0) };
        lock (_scratchLock)
        {
            var w = Scratch(n, weights);
            _lossError!.View.MemSetToZero();
            Launch(GpuKernels.NllRows, n, V(logp, "logp"), V(labels, "labels"), w, _lossRows!.View.AsContiguous(), _lossError.View.AsContiguous(), p);
            FinishClassLoss(labels, w, loss, p);
        }
    }

    public void NllLossBackward(Tensor<float> dy, Tensor<int> labels, ReadOnlySpan<float> weights, LossReduction reduction, Tensor<float> dlogp)
    {
        var (n, c) = KernelContract.NllLossBackward(dy, labels, weights.Length, dlogp);
        if (dlogp.Length == 0) return;
        var p = new LossParams { N = n, C = c, HasWeights = weights.Length > 0 ? 1 : 0, Mode = Mode(reduction, weights.Length > 0) };
        lock (_scratchLock)
        {
            var w = Scratch(n, weights);
            Launch(GpuKernels.LossDivisor, 1, V(labels, "labels"), w, _lossDivisor!.View.AsContiguous(), p);
            Launch(GpuKernels.NllBackward, dlogp.Length, V(dy, "dy"), V(labels, "labels"), w, _lossDivisor.View.AsContiguous(), V(dlogp, "dlogp"), p);
        }
    }

    public void MultiMarginForward(Tensor<float> x, Tensor<int> labels, float margin, bool squared, LossReduction reduction, Tensor<float> loss)
    {
        var (n, c) = KernelContract.MultiMarginForward(x, labels, loss);
        if (n == 0 || c == 0) { Fill(loss, 0f); return; }
        var p = new LossParams { N = n, C = c, Mode = Mode(reduction, false), Margin = margin, Squared = squared ? 1 : 0 };
        lock (_scratchLock)
        {
            var w = Scratch(n, ReadOnlySpan<float>.Empty);
            _lossError!.View.MemSetToZero();
            Launch(GpuKernels.MultiMarginRows, n, V(x, "x"), V(labels, "labels"), _lossRows!.View.AsContiguous(), _lossError.View.AsContiguous(), p);
            FinishClassLoss(labels, w, loss, p);
        }
    }

    public void MultiMarginBackward(Tensor<float> dy, Tensor<float> x, Tensor<int> labels, float margin, bool squared, LossReduction reduction, Tensor<float> dx)
    {
        var (n, c) = KernelContract.MultiMarginBackward(dy, x, labels, dx);
        if (x.Length == 0) return;
        var p = new LossParams { N = n, C = c, Mode = Mode(reduction, false), Margin = margin, Squared = squared ? 1 : 0 };
        lock (_scratchLock)
        {
            var w = Scratch(n, ReadOnlySpan<float>.Empty);
            Launch(GpuKernels.LossDivisor, 1, V(labels, "labels"), w, _lossDivisor!.View.AsContiguous(), p);
            Launch(GpuKernels.MultiMarginBackward, x.Length, V(dy, "dy"), V(x, "x"), V(labels, "labels"), _lossDivisor.View.AsContiguous(), V(dx, "dx"), p);
        }
    }

    public void FocalLossForward(Tensor<float> logits, Tensor<int> labels, float gamma, float alpha, LossReduction reduction, Tensor<float> probs, Tensor<float> loss)
    {
        var (n, c) = KernelContract.FocalLossForward(logits, labels, probs, loss);
        if (n == 0 || c == 0) { Fill(loss, 0f); return; }
        var p = new LossParams { N = n, C = c, Mode = Mode(reduction, false), Gamma = gamma, Alpha = alpha };
        lock (_scratchLock)
        {
            var w = Scratch(n, ReadOnlySpan<float>.Empty);
            _lossError!.View.MemSetToZero();
            Launch(GpuKernels.FocalRows, n, V(logits, "logits"), V(labels, "labels"), V(probs, "probs"), _lossRows!.View.AsContiguous(), _lossError.View.AsContiguous(), p);
            FinishClassLoss(labels, w, loss, p);
        }
    }

    public void FocalLossBackward(Tensor<float> dy, Tensor<float> probs, Tensor<int> labels, float gamma, float alpha, LossReduction reduction, Tensor<float> dlogits)
    {
        var (n, c) = KernelContract.FocalLossBackward(dy, probs, labels, dlogits);
        if (probs.Length == 0) return;
        var p = new LossParams { N = n, C = c, Mode = Mode(reduction, false), Gamma = gamma, Alpha = alpha };
        lock (_scratchLock)
        {
            var w = Scratch(n, ReadOnlySpan<float>.Empty);
            Launch(GpuKernels.LossDivisor, 1, V(labels, "labels"), w, _lossDivisor!.View.AsContiguous(), p);
            Launch(GpuKernels.FocalBackward, probs.Length, V(dy, "dy"), V(probs, "probs"), V(labels, "labels"), _lossDivisor.View.AsContiguous(), V(dlogits, "dlogits"), p);
        }
    }

    public void RegressionLossForward(RegressionLoss kind, Tensor<float> y, Tensor<float> target, float beta, LossReduction reduction, Tensor<float> loss)
    {
        KernelContract.RegressionLossForward(y, target, loss);
        if (y.Length == 0) { Fill(loss, 0f); return; }
        var p = new LossParams { N = y.Length, Kind = (int)kind, Beta = beta };
        lock (_scratchLock)
        {
            Scratch(y.Length, ReadOnlySpan<float>.Empty);
            Launch(GpuKernels.RegressionTerms, y.Length, V(y, "y"), V(target, "target"), _lossRows!.View.AsContiguous(), p);
            Launch(GpuKernels.SetScalar, 1, _lossDivisor!.View.AsContiguous(), reduction == LossReduction.Sum ? 1f : y.Length);
            LossSum(_lossRows.View, _lossDivisor.View, V(loss, "loss"), y.Length);
        }
    }

    public void RegressionLossBackward(RegressionLoss kind, Tensor<float> dy, Tensor<float> y, Tensor<float> target, float beta, LossReduction reduction, Tensor<float> dpred)
    {
        KernelContract.RegressionLossBackward(dy, y, target, dpred);
        if (y.Length == 0) return;
        var p = new LossParams { N = y.Length, Kind = (int)kind, Beta = beta };
        lock (_scratchLock)
        {
            Scratch(1, ReadOnlySpan<float>.Empty);
            Launch(GpuKernels.SetScalar, 1, _lossDivisor!.View.AsContiguous(), reduction == LossReduction.Sum ? 1f : y.Length);
            Launch(GpuKernels.RegressionBackward, y.Length, V(dy, "dy"), V(y, "y"), V(target, "target"), _lossDivisor.View.AsContiguous(), V(dpred, "dpred"), p);
        }
    }
}
