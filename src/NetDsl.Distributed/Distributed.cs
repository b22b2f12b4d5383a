using System.Numerics;
using System.Runtime.InteropServices;

namespace NetDsl.Distributed;

/// <summary>
/// Entry point of data-parallel training: <see cref="Init"/> joins the MPI job when the process was started by an MPI
/// launcher (<c>mpiexec</c>, <c>srun --mpi=pmi2</c>) and otherwise returns a single-process context (rank 0 of 1), so the
/// same program runs alone or under <c>mpiexec.mpich -n 4 dotnet app.dll</c>.
/// </summary>
public static class Distributed
{
    private static DistributedContext? _current;

    /// <summary>
    /// True when an MPI launcher started this process: the process-manager variables of MPICH's Hydra and Slurm's PMI
    /// (<c>PMI_RANK</c>, <c>PMI_FD</c>, <c>PMIX_RANK</c>) are set.
    /// </summary>
    public static bool LaunchedByMpi =>
        Env("PMI_RANK") != null || Env("PMI_FD") != null || Env("PMIX_RANK") != null;

    /// <summary>The context <see cref="Init"/> returned, or null before it.</summary>
    public static DistributedContext? Current => _current;

    /// <summary>
    /// Joins the MPI job (once per process; later calls return the same context). <paramref name="force"/>: true requires
    /// MPI (fails clearly without a launcher or library), false never starts MPI, null (default) detects the launcher.
    /// </summary>
    public static DistributedContext Init(bool? force = null)
    {
        if (_current != null) return _current;
        if (Env("OMPI_COMM_WORLD_RANK") != null)
            throw new DistributedException("this process was started by Open MPI's mpirun, whose ABI MPI.NET cannot use; launch with an MPICH-family " +
                "mpiexec (mpiexec.mpich, Intel MPI, Cray MPICH, MVAPICH) or srun --mpi=pmi2 (docs/distributed.md)");
        if (force != false && !LaunchedByMpi && int.TryParse(Env("SLURM_NTASKS"), out int tasks) && tasks > 1 && Env("SLURM_PROCID") != null)
            throw new DistributedException($"started by Slurm as task {Env("SLURM_PROCID")} of {tasks} without an MPI process manager: every task would " +
                "train alone; launch with srun --mpi=pmi2 (docs/distributed.md)");
        bool mpi = force ?? LaunchedByMpi;
        _current = mpi ? DistributedContext.StartMpi() : DistributedContext.Single();
        return _current;
    }

    internal static string? Env(string name) => System.Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}

/// <summary>
/// This process's place in the job: <see cref="Rank"/> of <see cref="Size"/>, <see cref="LocalRank"/> among the ranks on
/// its machine, and the collectives the data-parallel layer uses (sums over all ranks, broadcast from rank 0).
/// </summary>
public sealed unsafe class DistributedContext : IDisposable
{
    private readonly MPI.Environment? _env;
    private readonly MPI.Intracommunicator? _world;

    public int Rank { get; }
    public int Size { get; }
    /// <summary>Rank among the processes on this machine (same host name), e.g. to pick a GPU.</summary>
    public int LocalRank { get; private set; }
    public int LocalSize { get; private set; }
    /// <summary>True when running under MPI (even with one rank).</summary>
    public bool IsMpi => _world != null;
    /// <summary>Rank 0: the one that writes checkpoints, logs and progress.</summary>
    public bool IsMain => Rank == 0;
    public string Host { get; }

    private DistributedContext(MPI.Environment? env, MPI.Intracommunicator? world, int rank, int size, int localRank, int localSize, string host)
    {
        _env = env; _world = world; Rank = rank; Size = size; LocalRank = localRank; LocalSize = localSize; Host = host;
    }

    internal static DistributedContext Single() => new(null, null, 0, 1, 0, 1, System.Environment.MachineName);

    internal static DistributedContext StartMpi()
    {
        MpiNative.Register();
        string[] args = [];
        MPI.Environment env;
        try { env = new MPI.Environment(ref args, MPI.Threading.Serialized); }
        catch (DllNotFoundException e) { throw new DistributedException(e.Message); }
        var world = MPI.Communicator.world;
        // errors come back as return codes (a lost rank becomes a DistributedException naming it, not an abort without a message)
        MpiNative.MPI_Comm_set_errhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn);
        string host = System.Environment.MachineName;
        var ctx = new DistributedContext(env, world, world.Rank, world.Size, 0, 1, host);
        var hosts = ctx.Allgather(host);
        int local = 0, localSize = 0;
        for (int r = 0; r < hosts.Length; r++)
            if (hosts[r] == host) { if (r < world.Rank) local++; localSize++; }
        ctx.LocalRank = local; ctx.LocalSize = localSize;
        ctx.Pids = ctx.Allgather(System.Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)).Select(int.Parse).ToArray();
        ctx.Hosts = hosts;
        ctx.Timeout = TimeSpan.FromSeconds(double.TryParse(Distributed.Env("NETDSL_DISTRIBUTED_TIMEOUT"), System.Globalization.CultureInfo.InvariantCulture, out var t) && t > 0 ? t : 300);
        return ctx;
    }

    /// <summary>Process ids of the ranks (index = rank), for messages about a lost rank.</summary>
    public int[] Pids { get; private set; } = [System.Environment.ProcessId];
    public string[] Hosts { get; private set; } = [System.Environment.MachineName];

    /// <summary>
    /// How long a collective may wait for the other ranks before this rank gives up, names the rank it is waiting for when it
    /// can tell (a process on this machine that has exited or is stopped) and aborts the job (<c>NETDSL_DISTRIBUTED_TIMEOUT</c>
    /// seconds, default 300). A rank that dies is normally noticed sooner by the launcher: MPICH's Hydra ends the whole job.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>One line naming every rank's process: printed by rank 0 at start so a launcher's "PID n" names a rank.</summary>
    public string RankMap() => string.Join(", ", Enumerable.Range(0, Size).Select(r => $"rank {r} = pid {Pids[Math.Min(r, Pids.Length - 1)]} on {Hosts[Math.Min(r, Hosts.Length - 1)]}"));

    /// <summary>Sums <paramref name="data"/> over all ranks, in place (every rank gets the sum).</summary>
    public void AllreduceSum<T>(Span<T> data) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (_world == null || data.Length == 0) return;
        fixed (T* p = data)
        {
            int request;
            MpiNative.Check(MpiNative.MPI_Iallreduce((void*)-1, p, data.Length, DataType<T>(), MpiNative.Sum, MpiNative.CommWorld, &request), $"rank {Rank}: allreduce of {data.Length} values");
            Wait(&request, $"an allreduce of {data.Length} values");
        }
    }

    /// <summary>
    /// Waits for a non-blocking operation, polling with MPI_Test so a lost rank cannot hang this one forever: after
    /// <see cref="Timeout"/> it reports which rank is lost (when it can tell) and aborts the job with exit code 4.
    /// </summary>
    internal void Wait(int* request, string what)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var spin = new SpinWait();
        long nextCheck = 1000;
        while (true)
        {
            int flag = 0;
            int rc = MpiNative.MPI_Test(request, &flag, MpiNative.StatusIgnore);
            if (rc != 0) Fail($"{what} failed ({MpiNative.ErrorString(rc)}): {Suspects() ?? UnknownSuspect()}");
            if (flag != 0) return;
            long ms = sw.ElapsedMilliseconds;
            if (ms >= nextCheck)
            {
                // every second: a rank on this machine whose process has exited or stopped will never answer
                nextCheck = ms + 1000;
                if (Suspects() is { } lost) Fail($"{what} has waited {ms / 1000.0:0.#} s: {lost}");
            }
            if (sw.Elapsed > Timeout) Fail($"{what} has not completed after {Timeout.TotalSeconds:0.#} s: {Suspects() ?? UnknownSuspect()}");
            if (spin.NextSpinWillYield && ms > 50) Thread.Sleep(0);
            spin.SpinOnce(-1);
        }
    }

    private string UnknownSuspect() => "a rank on another machine is lost or stuck (ranks: " + RankMap() + ")";

    /// <summary>Ranks on this machine whose process has exited or is stopped; null when none.</summary>
    private string? Suspects()
    {
        var lost = new List<string>();
        for (int r = 0; r < Size && r < Pids.Length; r++)
        {
            if (r == Rank || Hosts[r] != Host) continue;
            string stat = $"/proc/{Pids[r]}/stat";
            string? state = null;
            try { var f = File.ReadAllText(stat); int close = f.LastIndexOf(')'); state = f.Substring(close + 2, 1); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            if (state == null || state == "Z" || state == "X") lost.Add($"lost rank {r} (pid {Pids[r]} on {Host} has exited)");
            else if (state == "T" || state == "t") lost.Add($"lost rank {r} (pid {Pids[r]} on {Host} is stopped)");
        }
        return lost.Count > 0 ? string.Join("; ", lost) : null;
    }

    private void Fail(string message)
    {
        Console.Error.WriteLine($"rank {Rank}: {message}; aborting the job");
        Console.Error.Flush();
        // give the launcher time to forward this line before MPI_Abort tears the job down (without the pause the message
        // was sometimes lost: the stopped-rank test saw exit code 4 but no reason)
        Thread.Sleep(500);
        MpiNative.MPI_Abort(MpiNative.CommWorld, 4);
        System.Environment.Exit(4);
    }

    /// <summary>The sum of <paramref name="value"/> over all ranks.</summary>
    public double AllreduceSum(double value)
    {
        Span<double> v = [value];
        AllreduceSum(v);
        return v[0];
    }

    /// <summary>The maximum of <paramref name="value"/> over all ranks.</summary>
    public double AllreduceMax(double value)
    {
        if (_world == null) return value;
        double r = 0;
        MpiNative.Check(MpiNative.MPI_Allreduce(&value, &r, 1, MpiNative.Double, MpiNative.Max, MpiNative.CommWorld), $"rank {Rank}: allreduce max");
        return r;
    }

    /// <summary>Copies rank 0's <paramref name="data"/> to every rank.</summary>
    public void Broadcast<T>(Span<T> data) where T : unmanaged
    {
        if (_world == null || data.Length == 0) return;
        fixed (T* p = data)
            MpiNative.Check(MPI_Bcast(p, data.Length * sizeof(T), 0x4c00010d /* MPI_BYTE */, 0, MpiNative.CommWorld), $"rank {Rank}: broadcast");
    }

    [DllImport("msmpi.dll")] private static extern int MPI_Bcast(void* buffer, int count, int datatype, int root, int comm);

    /// <summary>Every rank's <paramref name="value"/>, indexed by rank.</summary>
    public string[] Allgather(string value)
    {
        if (_world == null) return [value];
        // MPI.NET serializes strings with BinaryFormatter, which .NET 10 removed: gather the lengths, then the padded UTF-8 bytes
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        int[] lengths = _world.Allgather(bytes.Length);
        int max = Math.Max(1, lengths.Max());
        var send = new byte[max];
        bytes.CopyTo(send, 0);
        var recv = new byte[(long)max * Size];
        fixed (byte* s = send) fixed (byte* r = recv)
            MpiNative.Check(MPI_Allgather(s, max, 0x4c00010d, r, max, 0x4c00010d, MpiNative.CommWorld), $"rank {Rank}: allgather");
        var result = new string[Size];
        for (int i = 0; i < Size; i++) result[i] = System.Text.Encoding.UTF8.GetString(recv, i * max, lengths[i]);
        return result;
    }

    [DllImport("msmpi.dll")] private static extern int MPI_Allgather(void* send, int sendCount, int sendType, void* recv, int recvCount, int recvType, int comm);

    public void Barrier() => _world?.Barrier();

    /// <summary>Ends the whole job with <paramref name="code"/> (every rank), e.g. after an error on one rank.</summary>
    public void Abort(int code)
    {
        if (_world == null) System.Environment.Exit(code);
        MpiNative.MPI_Abort(MpiNative.CommWorld, code);
    }

    internal static int DataType<T>() => typeof(T) == typeof(float) ? MpiNative.Float
        : typeof(T) == typeof(double) ? MpiNative.Double
        : throw new NotSupportedException($"allreduce of {typeof(T).Name}: float and double only");

    public void Dispose() => _env?.Dispose();

    public override string ToString() => IsMpi ? $"rank {Rank} of {Size} (local {LocalRank} of {LocalSize} on {Host})" : "single process";
}
