using System.Diagnostics;

namespace NetDsl.Runtime;

/// <summary>
/// Per-kernel wall time of generated networks compiled with profiling on (`netdsl bench --profile`; the source generator
/// never emits these calls). Each generated kernel call reports its label and FLOPs here; not thread-safe, meant for one
/// network stepping on one thread.
/// </summary>
public static class KernelProfile
{
    /// <summary>One kernel's totals since the last <see cref="Reset"/>.</summary>
    public sealed record Entry(string Network, int Kernel, string Label)
    {
        public long Calls { get; internal set; }
        public long Ticks { get; internal set; }
        public long Flops { get; internal set; }
        public double Milliseconds => Ticks * 1000.0 / Stopwatch.Frequency;
    }

    private static readonly Dictionary<(string, int, string), Entry> s_entries = new();

    /// <summary>Turns recording on or off (on by default once profiled code runs).</summary>
    public static bool Enabled { get; set; } = true;

    public static void Record(string network, int kernel, string label, long flops, long startTimestamp)
    {
        if (!Enabled) return;
        long ticks = Stopwatch.GetTimestamp() - startTimestamp;
        var key = (network, kernel, label);
        if (!s_entries.TryGetValue(key, out var e)) s_entries[key] = e = new Entry(network, kernel, label);
        e.Calls++; e.Ticks += ticks; e.Flops += flops;
    }

    /// <summary>Entries in the order kernels first ran.</summary>
    public static IReadOnlyList<Entry> Entries => s_entries.Values.ToList();

    public static void Reset() => s_entries.Clear();
}
