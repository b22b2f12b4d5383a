using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

public sealed partial class IlgpuKernels
{
    public void LinearBackwardFilterAccumulate(Tensor<float> dy, Tensor<float> x, Tensor<float> dw, Tensor<float>? db)
    {
        var (m, k, o) = KernelContract.LinearBackwardFilter(dy, x, dw, db);
        if (dw.Length > 0)
        {
            Launch(GpuKernels.LinearBackwardFilterAccumulate, dw.Length, V(dy, "dy"), V(x, "x"), V(dw, "dw"), m, k, o);
        }
        if (db is not null && o > 0)
        {
            Launch(GpuKernels.ColumnSumsAccumulate, o, V(dy, "dy"), V(db, "db"), m, o);
        }
    }
}
