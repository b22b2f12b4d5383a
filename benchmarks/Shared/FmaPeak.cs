using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Benchmarks.Shared;

/// <summary>
/// The machine's FMA peak: 12 independent FMA chains per thread (so latency is hidden), Vector512 where AVX-512 is
/// accelerated, else Vector256. Shared by NetDsl.Benchmarks' Machine benchmark and the side-by-side GEMM row.
/// </summary>
public static class FmaPeak
{
    public static int Lanes => Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count;

    /// <summary>GFLOP/s of <see cref="Loop"/> on this thread and a second one at once.</summary>
    public static double MeasureTwoThreads(long trips = 20_000_000)
    {
        float r1 = 0;
        var t = new Thread(() => r1 = Loop(trips));
        var sw = Stopwatch.StartNew();
        t.Start();
        float r0 = Loop(trips);
        t.Join();
        double s = sw.Elapsed.TotalSeconds;
        GC.KeepAlive(r0 + r1);
        return 2.0 * trips * 12 * Lanes * 2 / s / 1e9;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static float Loop(long trips)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var a = Vector512.Create(0.999999f); var b = Vector512.Create(1e-7f);
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
                             c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
            for (long i = 0; i < trips; i++)
            {
                c0 = Vector512.FusedMultiplyAdd(a, c0, b); c1 = Vector512.FusedMultiplyAdd(a, c1, b); c2 = Vector512.FusedMultiplyAdd(a, c2, b);
                c3 = Vector512.FusedMultiplyAdd(a, c3, b); c4 = Vector512.FusedMultiplyAdd(a, c4, b); c5 = Vector512.FusedMultiplyAdd(a, c5, b);
                c6 = Vector512.FusedMultiplyAdd(a, c6, b); c7 = Vector512.FusedMultiplyAdd(a, c7, b); c8 = Vector512.FusedMultiplyAdd(a, c8, b);
                c9 = Vector512.FusedMultiplyAdd(a, c9, b); c10 = Vector512.FusedMultiplyAdd(a, c10, b); c11 = Vector512.FusedMultiplyAdd(a, c11, b);
            }
            return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        else
        {
            var a = Vector256.Create(0.999999f); var b = Vector256.Create(1e-7f);
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
                             c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
            for (long i = 0; i < trips; i++)
            {
                c0 = Vector256.FusedMultiplyAdd(a, c0, b); c1 = Vector256.FusedMultiplyAdd(a, c1, b); c2 = Vector256.FusedMultiplyAdd(a, c2, b);
                c3 = Vector256.FusedMultiplyAdd(a, c3, b); c4 = Vector256.FusedMultiplyAdd(a, c4, b); c5 = Vector256.FusedMultiplyAdd(a, c5, b);
                c6 = Vector256.FusedMultiplyAdd(a, c6, b); c7 = Vector256.FusedMultiplyAdd(a, c7, b); c8 = Vector256.FusedMultiplyAdd(a, c8, b);
                c9 = Vector256.FusedMultiplyAdd(a, c9, b); c10 = Vector256.FusedMultiplyAdd(a, c10, b); c11 = Vector256.FusedMultiplyAdd(a, c11, b);
            }
            return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
    }
}
