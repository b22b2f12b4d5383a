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
        Check(t.Length >= 1, "t", "[1]", t.Shape);
        Span<float> r = stackalloc float[1];
        V(t, "t").SubView(0, 1).CopyToCPU(r);
        return r[0];
    }

    private static void CheckUpstream(Tensor<float> dy) => Check(dy.Length == 1, "dy", "[1] (the loss gradient)", dy.Shape);

    private static (int N, int C) CheckClass(Tensor<float> scores, Tensor<int> labels, int weights, string name)
    {
        Check(scores.Rank >= 2, name, "[N, C] or [N, …, C]", scores.Shape);
        int c = scores.Shape[^1], n = c == 0 ? 0 : scores.Length / c;
        labels.CheckShape("labels", scores.Shape.AsSpan(0, scores.Rank - 1));
        if (weights != 0 && weights != c)
            throw new ArgumentException($"weights: expected {c} class weights (or none) for {name} {Tensor<float>.Format(scores.Shape)}, got {weights}", nameof(weights));
        return (n, c);
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
        var (n, c) = CheckClass(logits, labels, weights.Length, "logits");
        probs.CheckShape("probs", logits.Shape);
        Check(loss.Length >= 1, "loss", "[1]", loss.Shape);
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
        var (n, c) = CheckClass(probs, labels, weights.Length, "probs");
        dlogits.CheckShape("dlogits", probs.Shape);
        CheckUpstream(dy);
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
        var (n, c) = CheckClass(logp, labels, weights.Length, "logp");
        Check(loss.Length >= 1, "loss", "[1]", loss.Shape);
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
        var (n, c) = CheckClass(dlogp, labels, weights.Length, "dlogp");
        CheckUpstream(dy);
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
        var (n, c) = CheckClass(x, labels, 0, "x");
        Check(loss.Length >= 1, "loss", "[1]", loss.Shape);
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
        var (n, c) = CheckClass(x, labels, 0, "x");
        dx.CheckShape("dx", x.Shape);
        CheckUpstream(dy);
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
        var (n, c) = CheckClass(logits, labels, 0, "logits");
        probs.CheckShape("probs", logits.Shape);
        Check(loss.Length >= 1, "loss", "[1]", loss.Shape);
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
        var (n, c) = CheckClass(probs, labels, 0, "probs");
        dlogits.CheckShape("dlogits", probs.Shape);
        CheckUpstream(dy);
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
        target.CheckShape("target", y.Shape);
        Check(loss.Length >= 1, "loss", "[1]", loss.Shape);
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
        target.CheckShape("target", y.Shape);
        dpred.CheckShape("dpred", y.Shape);
        CheckUpstream(dy);
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
