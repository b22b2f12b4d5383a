using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using NetDsl.Runtime;

namespace NetDsl.Distributed;

/// <summary>
/// Gradients grouped into buckets of about <c>bucketBytes</c> in the order the backward pass makes them final (the generated
/// class's <see cref="NetworkBase{T}.GradientOrder"/>, planned at compile time; reverse declaration order otherwise). Each
/// bucket is a native buffer: when its last gradient is final (the generated backward calls
/// <see cref="NetworkBase{T}.GradientReadyHook"/>) the gradients are copied in, scaled by the rank's share of the global
/// batch, and a non-blocking MPI_Iallreduce starts while the backward pass goes on; later gradient-ready calls drive MPI's
/// progress with MPI_Test. <see cref="Finish"/> waits for all buckets and copies the sums back.
/// </summary>
internal sealed unsafe class GradientBuckets<T> : IDisposable where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly NetworkBase<T> _net;
    private readonly DistributedContext _ctx;
    private readonly bool _active, _overlap;
    private readonly int[] _bucketOf, _offsetOf;           // per parameter index
    private readonly List<int>[] _members;
    private readonly T*[] _buffers;
    private readonly int[] _lengths, _remaining, _requests;
    private readonly bool[] _started;
    private T _scale;
    private readonly Action<int> _hook;

    public List<IReadOnlyList<string>> Plan { get; } = new();
    public long Bytes { get; }

    public GradientBuckets(NetworkBase<T> net, DistributedContext ctx, long bucketBytes, bool overlap)
    {
        _net = net; _ctx = ctx;
        _active = ctx.IsMpi && ctx.Size > 1;
        var ps = net.Parameters;
        var order = net.GradientOrder is { Count: > 0 } o && o.Count == ps.Count && o.Distinct().Count() == ps.Count
            ? o.ToArray()
            : Enumerable.Range(0, ps.Count).Reverse().ToArray();
        _overlap = overlap && net.GradientOrder is { Count: > 0 };
        _bucketOf = new int[ps.Count]; _offsetOf = new int[ps.Count];
        var members = new List<List<int>>();
        long bytes = 0;
        var cur = new List<int>();
        long curBytes = 0;
        foreach (int i in order)
        {
            cur.Add(i);
            long b = (long)ps[i].Length * sizeof(T);
            curBytes += b; bytes += b;
            if (curBytes >= bucketBytes) { members.Add(cur); cur = new List<int>(); curBytes = 0; }
        }
        if (cur.Count > 0) members.Add(cur);
        Bytes = bytes;
        _members = members.ToArray();
        int nb = _members.Length;
        _buffers = new T*[nb]; _lengths = new int[nb]; _remaining = new int[nb]; _requests = new int[nb]; _started = new bool[nb];
        for (int b = 0; b < nb; b++)
        {
            int off = 0;
            foreach (int i in _members[b]) { _bucketOf[i] = b; _offsetOf[i] = off; off += ps[i].Length; }
            _lengths[b] = off;
            if (_active) _buffers[b] = (T*)NativeMemory.AlignedAlloc((nuint)Math.Max(off, 1) * (nuint)sizeof(T), 64);
            Plan.Add(_members[b].Select(i => ps[i].Name).ToArray());
        }
        _hook = Ready;
    }

    public void Begin(T scale)
    {
        if (!_active) return;
        _scale = scale;
        for (int b = 0; b < _members.Length; b++) { _remaining[b] = _members[b].Count; _started[b] = false; _requests[b] = MpiNative.RequestNull; }
        if (_overlap) _net.GradientReadyHook = _hook;
    }

    private void Ready(int index)
    {
        if ((uint)index >= (uint)_bucketOf.Length) return;
        int b = _bucketOf[index];
        if (--_remaining[b] == 0) Start(b);
        else Progress();
    }

    /// <summary>Lets MPI advance the started allreduces (MPICH has no progress thread by default).</summary>
    private void Progress()
    {
        for (int b = 0; b < _started.Length; b++)
        {
            if (!_started[b] || _requests[b] == MpiNative.RequestNull) continue;
            int flag = 0;
            fixed (int* r = &_requests[b]) MpiNative.MPI_Test(r, &flag, MpiNative.StatusIgnore);
        }
    }

    private void Start(int b)
    {
        var ps = _net.Parameters;
        T* dst = _buffers[b];
        foreach (int i in _members[b])
        {
            var g = ps[i].Grad.AsSpan();
            var d = new Span<T>(dst + _offsetOf[i], g.Length);
            Scale(g, d, _scale);
        }
        _started[b] = true;
        int rc;
        fixed (int* r = &_requests[b])
            rc = MpiNative.MPI_Iallreduce((void*)-1, dst, _lengths[b], DistributedContext.DataType<T>(), MpiNative.Sum, MpiNative.CommWorld, r);
        if (rc != 0) throw Lost(rc, $"starting the allreduce of gradient bucket {b}");
    }

    /// <summary>Starts the buckets not started yet, waits for all and copies the sums into the gradients: (wait ms, total ms).</summary>
    public (double WaitMs, double TotalMs) Finish()
    {
        if (!_active) return (0, 0);
        var total = Stopwatch.StartNew();
        _net.GradientReadyHook = null;
        for (int b = 0; b < _members.Length; b++) if (!_started[b]) Start(b);
        double wait = 0;
        var ps = _net.Parameters;
        for (int b = 0; b < _members.Length; b++)
        {
            var sw = Stopwatch.StartNew();
            fixed (int* r = &_requests[b]) _ctx.Wait(r, $"the allreduce of gradient bucket {b}");
            wait += sw.Elapsed.TotalMilliseconds;
            foreach (int i in _members[b])
                new ReadOnlySpan<T>(_buffers[b] + _offsetOf[i], ps[i].Length).CopyTo(ps[i].Grad.AsSpan());
        }
        return (wait, total.Elapsed.TotalMilliseconds);
    }

    private DistributedException Lost(int rc, string what) =>
        new($"rank {_ctx.Rank}: {what} failed ({MpiNative.ErrorString(rc)}): another rank has probably died");

    private static void Scale(ReadOnlySpan<T> src, Span<T> dst, T s)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vs = new Vector<T>(s);
            for (; i <= src.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(src.Slice(i)) * vs).CopyTo(dst.Slice(i));
        }
        for (; i < src.Length; i++) dst[i] = src[i] * s;
    }

    public void Dispose()
    {
        for (int b = 0; b < _buffers.Length; b++)
            if (_buffers[b] != null) { NativeMemory.AlignedFree(_buffers[b]); _buffers[b] = null; }
    }
}
