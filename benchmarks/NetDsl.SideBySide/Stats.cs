using System.Globalization;

namespace NetDsl.SideBySide;

/// <summary>Per-step times of one side over all rounds: median and p10/p90 by the nearest-rank rule, the same for every side.</summary>
public sealed class Samples
{
    public readonly List<double> Ms = [];
    public readonly List<double> RoundMedians = [];
    public void AddRound(IReadOnlyList<double> ms)
    {
        Ms.AddRange(ms);
        var s = ms.Order().ToArray();
        RoundMedians.Add(Quantile(s, 0.5));
    }
    public int Count => Ms.Count;
    public double Median => Quantile(Ms.Order().ToArray(), 0.5);
    public double P10 => Quantile(Ms.Order().ToArray(), 0.1);
    public double P90 => Quantile(Ms.Order().ToArray(), 0.9);

    /// <summary>Linear interpolation between closest ranks (numpy's default), on sorted data.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return double.NaN;
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    public string Text() => string.Create(CultureInfo.InvariantCulture, $"{F(Median)} ({F(P10)}–{F(P90)})");
    public static string F(double ms) => ms >= 100 ? ms.ToString("F0", CultureInfo.InvariantCulture)
        : ms >= 10 ? ms.ToString("F1", CultureInfo.InvariantCulture)
        : ms >= 1 ? ms.ToString("F2", CultureInfo.InvariantCulture) : ms.ToString("F3", CultureInfo.InvariantCulture);
}

/// <summary>The machine: CPU model, cores, load average.</summary>
public static class Machine
{
    public static string Cpu()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/cpuinfo");
            var model = lines.FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "?";
            var flags = lines.FirstOrDefault(l => l.StartsWith("flags"))?.Split(':', 2)[1].Split(' ') ?? [];
            string isa = flags.Contains("avx512f") ? "AVX-512" : flags.Contains("avx2") ? "AVX2" : "no AVX2";
            if (flags.Contains("amx_tile")) isa += ", AMX";
            var vendor = lines.FirstOrDefault(l => l.StartsWith("vendor_id"))?.Split(':', 2)[1].Trim() ?? "?";
            return $"{model} ({vendor}, {isa}), {Environment.ProcessorCount} logical CPUs";
        }
        catch (IOException) { return $"{Environment.ProcessorCount} logical CPUs"; }
    }
    public static string LoadText() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
    public static double Load1() => File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture) : 0;

    /// <summary>CPU-seconds all threads of a process have run, in nanosecond precision: the sum of the first field of
    /// /proc/PID/task/*/schedstat (time on a CPU). Threads that exited are not counted (the benchmark's pools are long-lived).</summary>
    public static double ProcessCpuSeconds(int pid)
    {
        long ns = 0;
        try
        {
            foreach (var t in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try { ns += long.Parse(File.ReadAllText(Path.Combine(t, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture); }
                catch (IOException) { }   // the thread ended while being read
            }
        }
        catch (IOException) { }
        return ns * 1e-9;
    }

    /// <summary>Waits (at most <paramref name="maxMs"/>) until this process uses less than <paramref name="cores"/> cores over
    /// a 20 ms window, so the threads a side left spinning after its turn stop before the next side is timed. Returns the
    /// milliseconds waited.</summary>
    public static double Settle(double cores = 0.1, int maxMs = 1000)
    {
        int self = Environment.ProcessId;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < maxMs)
        {
            double c0 = ProcessCpuSeconds(self); var t0 = sw.Elapsed.TotalSeconds;
            Thread.Sleep(20);
            if ((ProcessCpuSeconds(self) - c0) / (sw.Elapsed.TotalSeconds - t0) < cores) break;
        }
        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>Peak and current resident set size of this process (bytes), from /proc/self/status.</summary>
    public static (long peak, long current) Rss()
    {
        long hwm = 0, rss = 0;
        foreach (var l in File.ReadAllLines("/proc/self/status"))
        {
            if (l.StartsWith("VmHWM:")) hwm = long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            if (l.StartsWith("VmRSS:")) rss = long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        return (hwm, rss);
    }
}

