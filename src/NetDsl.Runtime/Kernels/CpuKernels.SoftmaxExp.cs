using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// exp for float vectors, inlined into the attention softmax (the function itself is VMath.ExpF, which every float exp of the
// CPU kernels and generated functors uses). Vector512.Exp/Vector256.Exp of the base library call generic
// helpers (VectorMath.ExpSingle, Widen, Narrow: they compute in double) that stayed tier-0 code for the whole run when
// called from these AggressiveOptimization kernels (perf, .NET 10.0.12, 2026-12-07): 35-40 % of the attention forward
// pass's time. This is the classic Cephes-style polynomial (range reduction by n·ln 2, degree-6 polynomial, 2ⁿ built in
// the exponent bits), accurate to about 2 ulp on [−87.3, 87.7]; below that it returns 0 (so −∞ gives 0) and NaN stays NaN.
public sealed partial class CpuKernels<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpF(Vector512<float> x) => VMath.ExpF(x);
}
