using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace NetDsl.Benchmarks;

/// <summary>
/// The machine's ceilings, measured in the same run as everything else: the FMA peak (12 independent Vector512 FMA chains,
/// so latency is hidden; Vector256 where AVX-512 is not accelerated) on 1 and 2 threads, and copy bandwidth on 1 thread.
/// </summary>
public class Machine
{
    /// <summary>Loop trips per thread: each trip is 12 FMAs of one vector (2 flops per lane).</summary>
    public const long FmaTrips = 4_000_000;
    public static int Lanes => Shared.FmaPeak.Lanes;
    public static double FmaFlopsPerThread => FmaTrips * 12.0 * Lanes * 2;
    /// <summary>Elements copied (64 MB of floats, far beyond the caches); bytes moved = read + written.</summary>
    public const int CopyElements = 1 << 24;
    public const double CopyBytes = 2.0 * CopyElements * sizeof(float);

    private float[] _src = null!, _dst = null!;
    private Thread? _worker;
    private readonly SemaphoreSlim _go = new(0), _done = new(0);
    private volatile bool _stop;
    private float _workerResult;

    [GlobalSetup]
    public void Setup()
    {
        _src = new float[CopyElements]; _dst = new float[CopyElements];
        new Random(1).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_src.AsSpan()));
        _worker = new Thread(() =>
        {
            while (true)
            {
                _go.Wait();
                if (_stop) return;
                _workerResult = FmaLoop(FmaTrips);
                _done.Release();
            }
        }) { IsBackground = true };
        _worker.Start();
    }

    [GlobalCleanup]
    public void Cleanup() { _stop = true; _go.Release(); _worker?.Join(); }

    [Benchmark(Description = "FMA peak, 1 thread")]
    public float Fma1() => FmaLoop(FmaTrips);

    /// <summary>The same loop on this thread and on a persistent second thread at once.</summary>
    [Benchmark(Description = "FMA peak, 2 threads")]
    public float Fma2()
    {
        _go.Release();
        float r = FmaLoop(FmaTrips);
        _done.Wait();
        return r + _workerResult;
    }

    [Benchmark(Description = "copy 64 MB, 1 thread")]
    public void Copy() => _src.AsSpan().CopyTo(_dst);

    public static float FmaLoop(long trips) => Shared.FmaPeak.Loop(trips);
}
