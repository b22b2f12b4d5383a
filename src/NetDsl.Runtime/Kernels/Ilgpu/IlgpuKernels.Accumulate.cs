using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

public sealed partial class IlgpuKernels
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _linearBackwardFilterAcc;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int, int>? _columnSumsAcc;

    public void LinearBackwardFilterAccumulate(Tensor<float> dy, Tensor<float> x, Tensor<float> dw, Tensor<float>? db)
    {
        var (m, k, o) = CheckLinear(x, dw, "x");
        CpuKernels<float>.CheckLeading(x.Shape, dy.Shape, o, "x", "dy");
        db?.CheckShape("db", [o]);
        if (dw.Length > 0)
        {
            _linearBackwardFilterAcc ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(GpuKernels.LinearBackwardFilterAccumulate);
            _linearBackwardFilterAcc(dw.Length, V(dy, "dy"), V(x, "x"), V(dw, "dw"), m, k, o);
        }
        if (db is not null && o > 0)
        {
            _columnSumsAcc ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(GpuKernels.ColumnSumsAccumulate);
            _columnSumsAcc(o, V(dy, "dy"), V(db, "db"), m, o);
        }
    }
}
