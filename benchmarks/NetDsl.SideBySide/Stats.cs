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
