// NetDsl benchmark suite (BenchmarkDotNet). Run from the repository root:
//   dotnet run -c Release --project benchmarks/NetDsl.Benchmarks                      # everything, with PyTorch side by side
//   dotnet run -c Release --project benchmarks/NetDsl.Benchmarks -- --filter '*Gemm*' --job short   # a subset, quickly
// Own options (the rest goes to BenchmarkDotNet): --no-pytorch, --wait-quiet <minutes> (wait for a 1-minute load average
// below 0.5 before measuring), --memory-probe <model> (internal: the child process that measures one model's memory).
// Writes each class's BenchmarkDotNet table and <date>-summary.md (machine, targets, all tables) to benchmarks/results/.
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
    return;
}
bool noPytorch = TakeFlag(argList, "--no-pytorch");
if (TakeOption(argList, "--wait-quiet") is { } waitText) WaitQuiet(double.Parse(waitText));
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
    if (noPytorch) torchError = "skipped (--no-pytorch)";
    else (torch, torchError) = PyTorch.Run();
    foreach (var m in new[] { "lenet5", "mlp", "resnet20", "transformer" })
        foreach (var variant in new[] { m, m + "/sig" })   // SGD with its own momentum buffers, and with the momentum in the gradients
            if (MemoryProbe.InChild(variant) is { } r) netMemory[variant] = r;
}
var load1 = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
var summaryPath = Path.Combine(resultsDir, $"{started:yyyy-MM-dd}-summary.md");
File.WriteAllText(summaryPath, SummaryWriter.Write(results, torch, torchError, netMemory, started, load0, load1, summaries.FirstOrDefault()));
Console.WriteLine($"summary: {summaryPath}");

static string? TakeOption(List<string> a, string name)
{
    int i = a.IndexOf(name);
    if (i < 0 || i + 1 >= a.Count) return null;
    var v = a[i + 1]; a.RemoveRange(i, 2); return v;
}
static bool TakeFlag(List<string> a, string name) => a.Remove(name);

static void WaitQuiet(double minutes)
{
    var until = DateTime.UtcNow.AddMinutes(minutes);
    while (DateTime.UtcNow < until && File.Exists("/proc/loadavg"))
    {
        double l = double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        if (l < 0.5) return;
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

static class PyTorch
{
    /// <summary>Runs benchmarks/pytorch/train_step.py with 2 threads and OPENBLAS_CORETYPE=SkylakeX; one JSON object per model.</summary>
    public static (List<JsonElement>? rows, string? error) Run()
    {
        string script = Path.Combine("benchmarks", "pytorch", "train_step.py");
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        if (!File.Exists(script)) return (null, $"{script} not found (run from the repository root)");
        var psi = new ProcessStartInfo(python, [script, "--threads", "2"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        try
        {
            Console.WriteLine("PyTorch: running benchmarks/pytorch/train_step.py ...");
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var rows = new List<JsonElement>();
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null)
            {
                Console.WriteLine("  " + line);
                if (line.StartsWith('{')) rows.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
            p.WaitForExit();
            if (p.ExitCode != 0 || rows.Count == 0)
            {
                var err = stderr.Result.Trim().Split('\n').LastOrDefault() ?? "";
                return (rows.Count > 0 ? rows : null, $"python3 exited with {p.ExitCode}: {err}");
            }
            return (rows, null);
        }
        catch (Exception e) { return (null, $"python3 could not be started: {e.Message}"); }
    }
}
