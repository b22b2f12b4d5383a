using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

public class AllocationTests
{
    [Fact]
    public void SmallKernelsDoNotAllocateAfterFirstCall()
    {
        var k = CpuKernels<float>.Instance;
        var rng = new Random(1);
        var x = TU.Rand<float>(rng, 2, 3, 8, 8); var w = TU.Rand<float>(rng, 4, 3, 3, 3); var b = TU.Rand<float>(rng, 4);
        var y = TU.Empty<float>(rng, 2, 4, 8, 8); var dx = TU.Empty<float>(rng, 2, 3, 8, 8); var dw = TU.Empty<float>(rng, 4, 3, 3, 3); var db = TU.Empty<float>(rng, 4);
        var p = TU.Empty<float>(rng, 2, 4, 4, 4); var arg = Tensor<int>.Zeros(2, 4, 4, 4); var dp = TU.Rand<float>(rng, 2, 4, 4, 4);
        var lx = TU.Rand<float>(rng, 5, 7); var lw = TU.Rand<float>(rng, 3, 7); var lb = TU.Rand<float>(rng, 3); var ly = TU.Empty<float>(rng, 5, 3);
        var ldx = TU.Empty<float>(rng, 5, 7); var ldw = TU.Empty<float>(rng, 3, 7); var ldb = TU.Empty<float>(rng, 3);
        var labels = Tensor<int>.FromArray([0, 1, 2, 0, 1], 5); var probs = TU.Empty<float>(rng, 5, 3); var loss = TU.Empty<float>(rng, 1);
        var m = Tensor<float>.Zeros(3, 7); var v = Tensor<float>.Zeros(3, 7);
        var g = ConvGeometry.Of(1, 1); var pg = PoolGeometry.Of(2, 2);
        void All()
        {
            k.Conv2dForward(x, w, b, y, g, default(ReluOp<float>), default(ReluOp<float>));
            k.Conv2dBackwardData(y, w, dx, g);
            k.Conv2dBackwardFilter(y, x, dw, db, g);
            k.MaxPool2dForward(y, p, arg, pg); k.MaxPool2dBackward(dp, arg, y);
            k.AvgPool2dForward(y, p, pg); k.AvgPool2dBackward(dp, y, pg);
            k.LinearForward(lx, lw, lb, ly, default(TanhOp<float>), default(TanhOp<float>));
            k.LinearBackwardData(ly, lw, ldx); k.LinearBackwardFilter(ly, lx, ldw, ldb);
            k.CrossEntropyForward(ly, labels, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, probs, loss); k.CrossEntropyBackward(loss, probs, labels, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, ly);
            k.Map(ly, ly, default(ReluOp<float>), default(ReluOp<float>));
            k.DropoutForward(ldx, ldx, ldx, 0.5f, 3);
            k.SgdStep(lw, ldw, m, 0.1f, 0.9f, 0, true);
            k.AdamStep(lw, ldw, m, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 1);
        }
        All(); All();
        long before = GC.GetAllocatedBytesForCurrentThread();
        All();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
