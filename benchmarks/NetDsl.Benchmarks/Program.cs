// NetDsl benchmark suite (BenchmarkDotNet). Run from the repository root:
//   dotnet run -c Release --project benchmarks/NetDsl.Benchmarks                      # everything (NetDsl alone)
//   dotnet run -c Release --project benchmarks/NetDsl.Benchmarks -- --filter '*Gemm*' --job short   # a subset, quickly
// Own options (the rest goes to BenchmarkDotNet): --wait-quiet <minutes> (wait for a 1-minute load average below 0.5; if it
// does not come, exit 3 without measuring, or with --allow-load measure and mark the summary "measured under load"),
// --memory-probe <model> (internal: the child process that measures one model's memory).
// The comparison with PyTorch, TorchSharp and ONNX Runtime is benchmarks/NetDsl.SideBySide.
// Writes each class's BenchmarkDotNet table and <date>-benchmarkdotnet-summary.md (machine, targets, all tables) to benchmarks/results/.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using NetDsl.Benchmarks;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var argList = args.ToList();
if (TakeOption(argList, "--memory-probe") is { } probeModel)
{
    Console.WriteLine(JsonSerializer.Serialize(MemoryProbe.Run(probeModel)));
    return 0;
}
bool allowLoad = TakeFlag(argList, "--allow-load");
TakeFlag(argList, "--no-pytorch");   // accepted for old command lines: this suite no longer runs PyTorch
string loadNote = "";
if (TakeOption(argList, "--wait-quiet") is { } waitText && !WaitQuiet(double.Parse(waitText)))
{
    string l = File.ReadAllText("/proc/loadavg").Trim();
    if (!allowLoad)
    {
        Console.Error.WriteLine($"NetDsl.Benchmarks: the machine did not become quiet within {waitText} min (load average {l}, need < 0.5); not measuring. Pass --allow-load to measure anyway (the summary is then marked).");
        return 3;
    }
    loadNote = $"measured under load: the load average did not fall below 0.5 within {waitText} min ({l})";
}
if (!argList.Contains("--filter")) argList.AddRange(["--filter", "*"]);

string resultsDir = Path.Combine("benchmarks", "results");
Directory.CreateDirectory(resultsDir);
var load0 = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
var started = DateTime.UtcNow;
var config = DefaultConfig.Instance.WithArtifactsPath(Path.Combine(resultsDir, "artifacts"));
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Machine).Assembly).Run(argList.ToArray(), config).ToList();
foreach (var s in summaries)
{
    var md = Directory.GetFiles(s.ResultsDirectoryPath, "*-report-github.md").FirstOrDefault(f => f.Contains(s.Title.Split('-')[0]));
    if (md is null) continue;
    var target = Path.Combine(resultsDir, $"{started:yyyy-MM-dd}-{Path.GetFileName(md).Replace("-report-github", "")}");
    File.WriteAllText(target, $"# {s.Title}\n\nMeasured {started:yyyy-MM-dd HH:mm} UTC on {Environment.MachineName} ({Environment.ProcessorCount} cores).\n\n" + File.ReadAllText(md));
    Console.WriteLine($"results: {target}");
}

var results = Results.From(summaries);
bool trainingRan = results.Has("TrainingStep");
List<JsonElement>? torch = null; string? torchError = null;
Dictionary<string, MemoryProbe.Result> netMemory = [];
if (trainingRan)
{
    // PyTorch is compared in benchmarks/NetDsl.SideBySide (interleaved rounds, the same statistics on both sides, peers at
    // their best settings); this suite times NetDsl alone
    torchError = "see benchmarks/NetDsl.SideBySide (interleaved side-by-side run)" + (loadNote == "" ? "" : "; " + loadNote);
    foreach (var m in new[] { "lenet5", "mlp", "resnet20", "transformer" })
        foreach (var variant in new[] { m, m + "/sig" })   // SGD with its own momentum buffers, and with the momentum in the gradients
            if (MemoryProbe.InChild(variant) is { } r) netMemory[variant] = r;
}
var load1 = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
var summaryPath = Path.Combine(resultsDir, $"{started:yyyy-MM-dd}-benchmarkdotnet-summary.md");   // apart from the side-by-side summary of the same day
File.WriteAllText(summaryPath, SummaryWriter.Write(results, torch, torchError, netMemory, started, load0, load1, summaries.FirstOrDefault()));
Console.WriteLine($"summary: {summaryPath}");
return 0;

static string? TakeOption(List<string> a, string name)
{
    int i = a.IndexOf(name);
    if (i < 0 || i + 1 >= a.Count) return null;
    var v = a[i + 1]; a.RemoveRange(i, 2); return v;
}
static bool TakeFlag(List<string> a, string name) => a.Remove(name);

/// <summary>Waits up to <paramref name="minutes"/> for a 1-minute load average below 0.5; false if it never came.</summary>
static bool WaitQuiet(double minutes)
{
    if (!File.Exists("/proc/loadavg")) return true;
    var until = DateTime.UtcNow.AddMinutes(minutes);
    while (true)
    {
        double l = double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        if (l < 0.5) return true;
        if (DateTime.UtcNow >= until) return false;
        Console.WriteLine($"waiting for a quiet machine: load average {l:F2}");
        Thread.Sleep(15_000);
    }
}

/// <summary>Medians (ns) of the benchmark cases, keyed "Type.Method" or "Type.Method[param]".</summary>
sealed class Results
{
    private readonly Dictionary<string, double> _median = [];
    public static Results From(IEnumerable<Summary> summaries)
    {
        var r = new Results();
        foreach (var s in summaries)
            foreach (var rep in s.Reports)
            {
                if (rep.ResultStatistics is null) continue;
                var c = rep.BenchmarkCase;
                string key = c.Descriptor.Type.Name + "." + c.Descriptor.WorkloadMethod.Name;
                if (c.Parameters.Count > 0) key += "[" + string.Join(",", c.Parameters.Items.Select(p => p.Value?.ToString())) + "]";
                r._median[key] = rep.ResultStatistics.Median;
            }
        return r;
    }
    public bool Has(string type) => _median.Keys.Any(k => k.StartsWith(type + ".", StringComparison.Ordinal));
    public double? Ns(string key) => _median.TryGetValue(key, out var v) ? v : null;
}
