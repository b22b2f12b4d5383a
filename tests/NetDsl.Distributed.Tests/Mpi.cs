using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NetDsl.Distributed.Tests;

/// <summary>Starts the worker program alone or under <c>mpiexec.mpich -n K</c>, with a timeout, and reads what it wrote.</summary>
internal static class Mpi
{
    public const string Launcher = "mpiexec.mpich";

    /// <summary>The skip reason when MPICH's launcher is not installed (CI installs it: .ci/run).</summary>
    public static string? Missing()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, Launcher))) return null;
        return $"{Launcher} is not on PATH: install MPICH (apt-get install mpich libmpich-dev) to run the multi-rank tests";
    }

    public static string WorkerDll
    {
        get
        {
            var self = AppContext.BaseDirectory;
            var path = Path.GetFullPath(self.Replace("NetDsl.Distributed.Tests", "NetDsl.Distributed.Worker"));
            var dll = Path.Combine(path, "NetDsl.Distributed.Worker.dll");
            if (!File.Exists(dll)) throw new FileNotFoundException($"worker not built: {dll}");
            return dll;
        }
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
    {
        public string All => Stdout + "\n" + Stderr;
        public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    /// <summary>Runs the worker with <paramref name="ranks"/> MPI ranks (0: alone, no launcher); kills it after <paramref name="timeoutSeconds"/>.</summary>
    public static Result Run(int ranks, string args, int timeoutSeconds = 120, IDictionary<string, string>? env = null)
    {
        var psi = ranks > 0
            ? new ProcessStartInfo(Launcher, $"-n {ranks} dotnet \"{WorkerDll}\" {args}")
            : new ProcessStartInfo("dotnet", $"\"{WorkerDll}\" {args}");
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        // the ranks share this machine's cores: one kernel thread each (more would only contend)
        if (ranks > 0) psi.Environment["DOTNET_PROCESSOR_COUNT"] = "1";
        foreach (var key in new[] { "PMI_RANK", "PMI_FD", "PMI_SIZE", "PMIX_RANK" }) psi.Environment.Remove(key);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var so = new StringBuilder(); var se = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (so) so.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (se) se.AppendLine(e.Data); };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"worker {args} on {ranks} rank(s) did not finish in {timeoutSeconds} s (killed)\n{so}\n{se}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, so.ToString(), se.ToString(), sw.Elapsed);
    }

    /// <summary>The state file the worker writes: name → values.</summary>
    public static Dictionary<string, double[]> ReadState(string path)
    {
        var d = new Dictionary<string, double[]>();
        foreach (var line in File.ReadAllLines(path))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            d[f[0]] = f.Skip(1).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        }
        return d;
    }

    /// <summary>The largest absolute difference over all tensors, and the tensor where it is.</summary>
    public static (double Max, string Where) MaxDiff(Dictionary<string, double[]> a, Dictionary<string, double[]> b)
    {
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        double max = 0; string where = "";
        foreach (var (k, va) in a)
        {
            var vb = b[k];
            Assert.Equal(va.Length, vb.Length);
            for (int i = 0; i < va.Length; i++)
            {
                double e = Math.Abs(va[i] - vb[i]);
                if (!(e <= max)) { max = e; where = $"{k}[{i}]"; }
            }
        }
        return (max, where);
    }
}
