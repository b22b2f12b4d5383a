using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// The host side of the group reductions (GpuKernels.Reductions.cs): one group per reduced output.
public sealed partial class IlgpuKernels
{
    private int _reduceGroup;
    /// <summary>
    /// <paramref name="groups"/> groups of the reduction width: the largest power of two within the accelerator's group
    /// limit and <see cref="ReduceGroup.Max"/>, halved while it exceeds the reduced length (no idle threads on tiny sums).
    /// </summary>
    internal KernelConfig ReduceConfig(int groups, long reducedLength)
    {
        if (_reduceGroup == 0)
        {
            int g = 1;
            while (g * 2 <= Math.Min(ReduceGroup.Max, _acc.MaxNumThreadsPerGroup)) g *= 2;
            _reduceGroup = g;
        }
        int t = _reduceGroup;
        while (t > 1 && t / 2 >= reducedLength) t /= 2;
        return new KernelConfig(new Index3D(groups, 1, 1), new Index3D(t, 1, 1));
    }

    private void BatchNormStatsReduce(ArrayView<float> x, ArrayView<float> rm, ArrayView<float> rv, ArrayView<float> mean, ArrayView<float> invStd, NormParams p)
    {
        LaunchGrouped(GpuKernels.BatchNormStatsGroup, ReduceConfig(p.C, p.Training != 0 ? (long)p.N * p.Inner : 1), x, rm, rv, mean, invStd, p);
    }

    private void NormChannelGradsReduce(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> dweight, ArrayView<float> dbias, NormParams p)
    {
        LaunchGrouped(GpuKernels.NormChannelGradsGroup, ReduceConfig(p.C, (long)p.N * p.Inner), dy, x, mean, invStd, dweight, dbias, p);
    }

    private void RowStatsReduce(int rows, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, NormParams p)
    {
        LaunchGrouped(GpuKernels.RowStatsGroup, ReduceConfig(rows, p.RowLen), x, mean, invStd, p);
    }

    private void ChannelSums(ArrayView<float> dy, ArrayView<float> db, int n, int channels, int plane)
    {
        LaunchGrouped(GpuKernels.ChannelSumsGroup, ReduceConfig(channels, (long)n * plane), dy, db, n, channels, plane);
    }

    private void ColumnSums(ArrayView<float> dy, ArrayView<float> db, int m, int o)
    {
        LaunchGrouped(GpuKernels.ColumnSumsGroup, ReduceConfig(o, m), dy, db, m, o);
    }

    /// <summary>loss[0] = Σ rows[0..count) / (divisor[0], or count when <paramref name="divisor"/> is null).</summary>
    private void LossSum(ArrayView<float> rows, ArrayView<float>? divisor, ArrayView<float> loss, int count)
    {
        LaunchGrouped(GpuKernels.LossSumGroup, ReduceConfig(1, count), rows, divisor ?? rows, loss, count, divisor is null ? 0 : 1);
    }
}
