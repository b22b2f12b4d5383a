using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

public sealed partial class IlgpuKernels
{
    public void SplitHeads(Tensor<float> x, Tensor<float> a, Tensor<float> b, Tensor<float>? c)
    {
        var (_, t, h, d) = CpuKernels<float>.CheckHeads(x, a, b, c, "x", "a", "b", "c");
        if (x.Length == 0) return;
        int parts = c is null ? 2 : 3;
        Launch(GpuKernels.SplitHeadsPart, a.Length, V(x, "x"), V(a, "a"), 0, parts, t, h, d);
        Launch(GpuKernels.SplitHeadsPart, b.Length, V(x, "x"), V(b, "b"), 1, parts, t, h, d);
        if (c is not null) Launch(GpuKernels.SplitHeadsPart, c.Length, V(x, "x"), V(c, "c"), 2, parts, t, h, d);
    }

    public void SplitHeadsBackward(Tensor<float> da, Tensor<float> db, Tensor<float>? dc, Tensor<float> dx)
    {
        var (_, t, h, d) = CpuKernels<float>.CheckHeads(dx, da, db, dc, "dx", "da", "db", "dc");
        if (dx.Length == 0) return;
        Launch(GpuKernels.SplitHeadsBackward, dx.Length, V(da, "da"), V(db, "db"), V(dc ?? db, "dc"), V(dx, "dx"), dc is null ? 2 : 3, t, h, d);
    }
}
