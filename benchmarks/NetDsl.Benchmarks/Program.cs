// NetDsl benchmarks (BenchmarkDotNet). Run from the repository root:
//   dotnet run -c Release --project benchmarks/NetDsl.Benchmarks -- --filter '*'
// Results (markdown, with the machine and date BenchmarkDotNet records) are copied to benchmarks/results/.
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

var config = DefaultConfig.Instance
    .WithArtifactsPath(Path.Combine("benchmarks", "results", "artifacts"));
var summaries = BenchmarkSwitcher.FromAssembly(typeof(NetDsl.Benchmarks.TrainingStep).Assembly).Run(args, config);
foreach (var s in summaries)
{
    var md = Directory.GetFiles(s.ResultsDirectoryPath, "*-report-github.md").FirstOrDefault(f => f.Contains(s.Title.Split('-')[0]));
    if (md is null) continue;
    var target = Path.Combine("benchmarks", "results", $"{DateTime.UtcNow:yyyy-MM-dd}-{Path.GetFileName(md).Replace("-report-github", "")}");
    File.WriteAllText(target, $"# {s.Title}\n\nMeasured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.MachineName} ({Environment.ProcessorCount} cores).\n\n" + File.ReadAllText(md));
    Console.WriteLine($"results: {target}");
}
