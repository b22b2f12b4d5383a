using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The generative family on ILGPU (kernels in GpuKernels.Generative.cs). Loss forwards write per-element or per-row terms into
// the losses family's scratch rows, then the one-thread reduction divides by a device divisor; backwards are one thread per
// gradient element (per row for NT-Xent, whose rows need the whole normalized batch, kept in a scratch buffer).
public sealed partial class IlgpuKernels
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _genScratch;
    public void RandomFill(Tensor<float> y, RandomKind kind, float a, float b, ulong seed)
    {
        if (y.Length == 0) return;
        Launch(GpuKernels.RandomFillK, y.Length, V(y, "y"), (int)kind, a, b, CpuKernels<float>.SplitMix64(seed ^ CpuKernels<float>.NoiseSalt));
    }

    public void SampleNormalForward(Tensor<float> mu, Tensor<float> logvar, Tensor<float> noise, Tensor<float> z, bool sample, ulong seed)
    {
        KernelContract.SampleNormalForward(mu, logvar, noise, z);
        if (mu.Length == 0) return;
        if (!sample) { Copy(mu, z); Fill(noise, 0f); return; }
        Launch(GpuKernels.SampleNormalK, mu.Length, V(mu, "mu"), V(logvar, "logvar"), V(noise, "noise"), V(z, "z"), CpuKernels<float>.SplitMix64(seed ^ CpuKernels<float>.NoiseSalt));
    }

    private static float GenDivisor(GenReduction r, Tensor<float> a) => r switch
    {
        GenReduction.Sum => 1f,
        GenReduction.BatchMean => Math.Max(a.Shape[0], 1),
        _ => Math.Max(a.Length, 1),
    };

    /// <summary>loss[0] = Σ rows[0..count) / divisor (under _scratchLock, rows filled by <paramref name="fill"/>); the caller checked the contract.</summary>
    private void ReduceRows(int count, float divisor, Tensor<float> loss, Action<ArrayView<float>> fill)
    {
        if (count == 0) { Fill(loss.View(0, 1), 0f); return; }
        lock (_scratchLock)
        {
            Scratch(count, ReadOnlySpan<float>.Empty);
            fill(_lossRows!.View);
            Launch(GpuKernels.SetScalar, 1, _lossDivisor!.View.AsContiguous(), divisor);
            LossSum(_lossRows.View, _lossDivisor.View, V(loss, "loss"), count);
        }
    }

    public void PointwiseLossForward(PointwiseLoss kind, Tensor<float> a, Tensor<float> b, GenReduction reduction, Tensor<float> loss)
    {
        KernelContract.PointwiseLossForward(a, b, loss);
        ReduceRows(a.Length, GenDivisor(reduction, a), loss, rows => Launch(GpuKernels.PointwiseTermsK, a.Length, V(a, "a"), V(b, "b"), rows, (int)kind));
    }

    public void PointwiseLossBackward(PointwiseLoss kind, Tensor<float> dy, Tensor<float> a, Tensor<float> b, GenReduction reduction, Tensor<float> da, Tensor<float>? db)
    {
        KernelContract.PointwiseLossBackward(dy, a, b, da, db);
        if (a.Length == 0) return;
        Launch(GpuKernels.PointwiseBackwardK, a.Length, V(dy, "dy"), V(a, "a"), V(b, "b"), V(da, "da"), db is null ? V(da, "da") : V(db, "db"), (int)kind, GenDivisor(reduction, a), db is null ? 0 : 1);
    }

    private static float RowsDivisor(GenReduction r, int rows) => r == GenReduction.Sum ? 1f : Math.Max(rows, 1);

    public void TripletMarginForward(Tensor<float> anchor, Tensor<float> positive, Tensor<float> negative, float margin, GenReduction reduction, Tensor<float> loss)
    {
        var (n, d) = KernelContract.TripletMarginForward(anchor, positive, negative, loss);
        ReduceRows(n, RowsDivisor(reduction, n), loss, rows => Launch(GpuKernels.TripletRowsK, n, V(anchor, "anchor"), V(positive, "positive"), V(negative, "negative"), rows, d, margin));
    }

    public void TripletMarginBackward(Tensor<float> dy, Tensor<float> anchor, Tensor<float> positive, Tensor<float> negative, float margin, GenReduction reduction, Tensor<float> danchor, Tensor<float> dpositive, Tensor<float> dnegative)
    {
        var (n, d) = KernelContract.TripletMarginBackward(dy, anchor, positive, negative, danchor, dpositive, dnegative);
        if (anchor.Length == 0) return;
        Launch(GpuKernels.TripletBackwardK, anchor.Length, V(dy, "dy"), V(anchor, "anchor"), V(positive, "positive"), V(negative, "negative"), V(danchor, "danchor"), V(dpositive, "dpositive"), V(dnegative, "dnegative"), d, margin, RowsDivisor(reduction, n));
    }

    /// <summary>The NT-Xent scratch (u, norms, log-sum-exps, du) for 2N rows of D, normalized and with the lse computed.</summary>
    private ArrayView<float> NtXentPrepare(Tensor<float> z1, Tensor<float> z2, int n, int d, float tau, ArrayView<float> rows)
    {
        int m = 2 * n, size = 2 * m * d + 2 * m;
        if (_genScratch is null || _genScratch.Length < size) { _genScratch?.Dispose(); _genScratch = _acc.Allocate1D<float>(Math.Max(size, 256)); }
        Launch(GpuKernels.NtXentNormK, m, V(z1, "z1"), V(z2, "z2"), _genScratch.View.AsContiguous(), n, d);
        Launch(GpuKernels.NtXentLseK, m, _genScratch.View.AsContiguous(), rows, n, d, tau);
        return _genScratch.View;
    }

    public void NtXentForward(Tensor<float> z1, Tensor<float> z2, float temperature, GenReduction reduction, Tensor<float> loss)
    {
        var (n, d) = KernelContract.NtXentForward(z1, z2, loss);
        ReduceRows(2 * n, RowsDivisor(reduction, 2 * n), loss, rows => NtXentPrepare(z1, z2, n, d, temperature, rows));
    }

    public void NtXentBackward(Tensor<float> dy, Tensor<float> z1, Tensor<float> z2, float temperature, GenReduction reduction, Tensor<float> dz1, Tensor<float> dz2)
    {
        var (n, d) = KernelContract.NtXentBackward(dy, z1, z2, dz1, dz2);
        if (n == 0) return;
        lock (_scratchLock)
        {
            Scratch(2 * n, ReadOnlySpan<float>.Empty);
            var s = NtXentPrepare(z1, z2, n, d, temperature, _lossRows!.View);
            Launch(GpuKernels.NtXentBackwardK, 2 * n, V(dy, "dy"), s, V(dz1, "dz1"), V(dz2, "dz2"), n, d, temperature, RowsDivisor(reduction, 2 * n));
        }
    }

    public void DistillForward(Tensor<float> student, Tensor<float> teacher, float temperature, GenReduction reduction, Tensor<float> loss)
    {
        var (n, c) = KernelContract.DistillForward(student, teacher, loss);
        ReduceRows(n, RowsDivisor(reduction, n), loss, rows => Launch(GpuKernels.DistillRowsK, n, V(student, "student"), V(teacher, "teacher"), rows, c, temperature));
    }

    public void DistillBackward(Tensor<float> dy, Tensor<float> student, Tensor<float> teacher, float temperature, GenReduction reduction, Tensor<float> dstudent)
    {
        var (n, c) = KernelContract.DistillBackward(dy, student, teacher, dstudent);
        if (student.Length == 0) return;
        Launch(GpuKernels.DistillBackwardK, student.Length, V(dy, "dy"), V(student, "student"), V(teacher, "teacher"), V(dstudent, "dstudent"), c, temperature, RowsDivisor(reduction, n));
    }
}
