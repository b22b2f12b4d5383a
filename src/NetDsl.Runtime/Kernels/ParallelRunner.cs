using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace NetDsl.Runtime;

/// <summary>
/// A loop body for <see cref="ParallelRunner.For{TBody}(int, in TBody)"/>. <see cref="Run"/> is called once for every
/// index, concurrently from several threads on the same copy of the struct, so it must not mutate the struct's fields.
/// </summary>
internal interface IParallelBody
{
    void Run(int index);
}

/// <summary>
/// An allocation-free replacement for <c>Parallel.For</c> in the CPU kernels (steady state: 0 managed bytes per call).
/// <list type="bullet">
/// <item>Persistent background workers (ProcessorCount − 1, created on the first parallel loop); the calling thread takes part.</item>
/// <item>The caller runs index 0; the other indices are claimed one at a time with <see cref="Interlocked.Increment(ref int)"/>
///   (the kernels pass a handful of per-core chunks, or 32K-element blocks), so fast threads take more.</item>
/// <item>The body is a struct passed by value: it is copied into a per-<typeparamref name="TBody"/> holder object created once
///   (a sealed subclass of <see cref="Job"/>, so workers call it through one virtual call per index, without boxing).</item>
/// <item>One loop at a time: a loop started while another runs (from another thread, or nested inside a body) runs inline on
///   its own thread. That never deadlocks, and concurrent callers each still get their loop done.</item>
/// <item>An exception thrown by the body stops the claiming of new indices and is rethrown on the calling thread with its
///   original stack trace (the first one, if several bodies throw).</item>
/// </list>
/// Protocol: the caller fills the job fields, then opens the job (<c>open = 1</c>). A worker registers itself in <c>active</c>
/// and only then checks <c>open</c>; the caller closes the job (<c>open = 0</c>) and waits until <c>active == 0</c>. Both sides
/// use full fences, so a worker either sees the job closed (and leaves without touching it) or is waited for.
/// </summary>
internal static class ParallelRunner
{
    internal abstract class Job
    {
        public abstract void Run(int index);
        public abstract void Clear();
    }

    private sealed class Job<TBody> : Job where TBody : struct, IParallelBody
    {
        // One holder per body type is enough: jobs are serialized by s_busy, so only the loop that owns the runner writes it.
        public static readonly Job<TBody> Instance = new();
        public TBody Body;
        public override void Run(int index) => Body.Run(index);
        public override void Clear() => Body = default;   // do not keep the tensors of the last loop alive
    }

    private static readonly int s_workerCount = Math.Max(0, Environment.ProcessorCount - 1);
    private static Worker[]? s_workers;
    private static readonly object s_startLock = new();

    private static int s_busy;                 // 1 while a loop owns the runner
    private static int s_open;                 // 1 while workers may join the current loop
    private static int s_active;               // workers currently inside the current loop (or checking whether to join it)
    private static Job? s_job;
    private static int s_count;
    private static int s_next;
    private static Exception? s_exception;

    /// <summary>Worker threads (excluding the calling thread) that can run loop bodies.</summary>
    public static int WorkerCount => s_workerCount;

    /// <summary>Runs <c>body.Run(i)</c> for every i in [0, count), on the persistent workers and the calling thread.</summary>
    public static void For<TBody>(int count, in TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 0) return;
        if (count == 1 || s_workerCount == 0) { for (int i = 0; i < count; i++) body.Run(i); return; }
        // one-time setup before the busy check, so it happens on the first call even if that one runs inline: a later
        // call that gets the runner then allocates nothing
        var job = Job<TBody>.Instance;
        var workers = s_workers ?? StartWorkers();
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            // the runner is busy (another thread's loop, or a loop nested in a body): run this one inline
            for (int i = 0; i < count; i++) body.Run(i);
            return;
        }
        job.Body = body;
        try { Execute(job, workers, count); }
        finally
        {
            job.Clear();
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static void Execute(Job job, Worker[] workers, int count)
    {
        s_job = job;
        s_count = count;
        s_next = 1;                                     // index 0 is the caller's (below)
        s_exception = null;
        Interlocked.Exchange(ref s_open, 1);            // publishes the fields above
        int wake = Math.Min(workers.Length, count - 1);
        for (int w = 0; w < wake; w++) workers[w].Wake();

        // The calling thread always runs index 0 (the largest chunk, as Chunk splits), then claims more like the workers. So
        // every kernel call runs partly on the caller, and its per-thread scratch buffers reach their size in the first step.
        try { job.Run(0); }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref s_exception, e, null);
            Volatile.Write(ref s_next, count);
        }
        RunIndices(job, count);

        Interlocked.Exchange(ref s_open, 0);            // no worker joins from now on
        WaitForWorkers();
        s_job = null;
        var error = s_exception;
        if (error is not null)
        {
            s_exception = null;
            ExceptionDispatchInfo.Capture(error).Throw();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunIndices(Job job, int count)
    {
        int i;
        while ((i = Interlocked.Increment(ref s_next) - 1) < count)
        {
            try { job.Run(i); }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref s_exception, e, null);
                Volatile.Write(ref s_next, count);       // stop handing out indices
            }
        }
    }

    /// <summary>
    /// Waits for the workers still running an index of this loop (at most one index each: the caller ran index 0, the largest,
    /// and then claimed indices like them). It spins and yields but never blocks: a thread's first blocking wait allocates the
    /// runtime's per-thread wait state (about 0.5 KB), which would land in whichever training step first had to wait.
    /// </summary>
    private static void WaitForWorkers()
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref s_active) != 0) spin.SpinOnce(sleep1Threshold: -1);
    }

    private static Worker[] StartWorkers()
    {
        lock (s_startLock)
        {
            if (s_workers is { } existing) return existing;
            var workers = new Worker[s_workerCount];
            for (int w = 0; w < workers.Length; w++) workers[w] = new Worker(w);
            Volatile.Write(ref s_workers, workers);
            return workers;
        }
    }

    private sealed class Worker
    {
        private static readonly long s_spinTicks = Stopwatch.Frequency / 20_000;   // 50 µs
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 1);
        private int _signalled;

        public Worker(int id)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"NetDsl kernel worker {id}" };
            thread.Start();
        }

        public void Wake()
        {
            if (Interlocked.Exchange(ref _signalled, 1) == 0) _wake.Set();
        }

        private void Loop()
        {
            while (true)
            {
                // Kernel calls come in bursts (a training step is ~25 of them, microseconds apart): spin briefly before
                // blocking, like the thread pool's workers do, so the next loop does not pay a futex wake-up.
                long start = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _signalled) == 0 && Stopwatch.GetTimestamp() - start < s_spinTicks) Thread.SpinWait(16);
                _wake.Wait();
                _wake.Reset();
                Interlocked.Exchange(ref _signalled, 0);   // a Wake from now on sets the event again
                Interlocked.Increment(ref s_active);
                if (Volatile.Read(ref s_open) == 1)
                {
                    var job = s_job!;
                    RunIndices(job, s_count);
                }
                Interlocked.Decrement(ref s_active);
            }
        }
    }
}
