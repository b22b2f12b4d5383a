using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

internal static partial class GpuKernels
{
    /// <summary>dw [O,K] += dyᵀ · x (one thread per weight).</summary>
    public static void LinearBackwardFilterAccumulate(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dw, int m, int k, int o)
    {
        int i = index;
        int j = i / k, q = i % k;
        float s = 0f;
        for (int r = 0; r < m; r++) s += dy[r * o + j] * x[r * k + q];
        dw[i] += s;
    }

    /// <summary>db [O] += column sums of dy [M,O].</summary>
    public static void ColumnSumsAccumulate(Index1D j, ArrayView<float> dy, ArrayView<float> db, int m, int o)
    {
        float s = 0f;
        for (int r = 0; r < m; r++) s += dy[r * o + j];
        db[j] += s;
    }
}
