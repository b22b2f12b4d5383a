using System.Reflection;
using System.Runtime.InteropServices;

namespace NetDsl.Distributed;

/// <summary>
/// Where the MPI library comes from, and the few MPI C calls MPI.NET does not expose in the form we need: allreduce on a
/// span (MPI.NET takes managed arrays, our gradients are views into shared arrays) and the non-blocking MPI_Iallreduce with
/// MPI_Test/MPI_Wait (MPI.NET 1.4 has no non-blocking collectives). Both layers load the same library: MPI.NET binds
/// MS-MPI's <c>msmpi.dll</c>, whose ABI is MPICH's, so on Linux the name is mapped to an MPICH-ABI library
/// (MPICH, Intel MPI, Cray MPICH, MVAPICH). Open MPI has a different ABI (handles are pointers) and cannot be used.
/// </summary>
internal static unsafe class MpiNative
{
    private const string Lib = "msmpi.dll";

    // MPICH ABI handles (mpi.h of MPICH 4; identical in MS-MPI, Intel MPI, MVAPICH, Cray MPICH)
    public const int CommWorld = 0x44000000;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;
    public const int Sum = 0x58000003;
    public const int Max = 0x58000001;
    public const int RequestNull = 0x2c000000;
    public const int ErrorsReturn = 0x54000001;
    public static readonly IntPtr StatusIgnore = (IntPtr)1;

    private static int _registered;
    private static IntPtr _handle;

    /// <summary>The library candidates, in order: <c>NETDSL_MPI_LIBRARY</c>, then MPICH-ABI sonames.</summary>
    public static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable("NETDSL_MPI_LIBRARY");
        if (!string.IsNullOrWhiteSpace(env)) yield return env;
        if (OperatingSystem.IsWindows()) { yield return "msmpi.dll"; yield break; }
        yield return "libmpich.so.12";   // MPICH, Cray MPICH, MVAPICH2
        yield return "libmpi.so.12";     // Intel MPI (MPICH ABI; Open MPI's libmpi is .so.40)
        yield return "libmpich.so";
    }

    /// <summary>Maps MPI.NET's and this assembly's <c>msmpi.dll</c> to the MPICH-ABI library (once per process).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(MPI.Environment).Assembly, Resolve);
        NativeLibrary.SetDllImportResolver(typeof(MpiNative).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!name.Contains("mpi", StringComparison.OrdinalIgnoreCase)) return IntPtr.Zero;
        if (_handle != IntPtr.Zero) return _handle;
        var tried = new List<string>();
        foreach (var c in Candidates())
        {
            if (NativeLibrary.TryLoad(c, out var h)) { _handle = h; return h; }
            tried.Add(c);
        }
        throw new DllNotFoundException(
            $"no MPICH-ABI MPI library found (tried {string.Join(", ", tried)}). Install MPICH (Debian/Ubuntu: apt-get install mpich libmpich-dev) " +
            "or point NETDSL_MPI_LIBRARY at an MPICH-ABI libmpi (Intel MPI, Cray MPICH, MVAPICH). Open MPI's ABI differs and does not work.");
    }

    [DllImport(Lib)] public static extern int MPI_Allreduce(void* send, void* recv, int count, int datatype, int op, int comm);
    [DllImport(Lib)] public static extern int MPI_Iallreduce(void* send, void* recv, int count, int datatype, int op, int comm, int* request);
    [DllImport(Lib)] public static extern int MPI_Test(int* request, int* flag, IntPtr status);
    [DllImport(Lib)] public static extern int MPI_Wait(int* request, IntPtr status);
    [DllImport(Lib)] public static extern int MPI_Comm_set_errhandler(int comm, int handler);
    [DllImport(Lib)] public static extern int MPI_Abort(int comm, int code);
    [DllImport(Lib)] public static extern int MPI_Error_string(int code, byte* text, int* length);

    public static string ErrorString(int code)
    {
        byte* buf = stackalloc byte[512];
        int len = 0;
        return MPI_Error_string(code, buf, &len) == 0 ? System.Text.Encoding.ASCII.GetString(buf, len) : $"MPI error {code}";
    }

    public static void Check(int rc, string what)
    {
        if (rc != 0) throw new DistributedException($"{what} failed: {ErrorString(rc)}");
    }
}

/// <summary>A failure of the distributed run (a mismatch between ranks, a lost rank, an MPI error), with the rank that saw it.</summary>
public sealed class DistributedException(string message) : Exception(message);
