using System.CommandLine;
using System.Diagnostics;
using System.Text;
using NetDsl.Fuzz;

// The compiler's fuzz harness: mutated .net files through NetCompiler in child processes, with timeouts, minimised
// reproducers and a summary. See docs/fuzzing.md.
var root = new RootCommand("NetDsl compiler fuzzer: mutated .net files must give no crash, no hang, no NDSL0999 and no invalid C#");

var count = new Option<long>("--count") { Description = "inputs to run", DefaultValueFactory = _ => 100_000 };
var seed = new Option<int>("--seed") { Description = "run seed (input i is a function of seed and i)", DefaultValueFactory = _ => 1 };
var from = new Option<long>("--from") { Description = "first input index", DefaultValueFactory = _ => 0 };
var jobs = new Option<int>("--jobs") { Description = "child processes at once", DefaultValueFactory = _ => Environment.ProcessorCount };
var slow = new Option<int>("--slow-ms") { Description = "an input slower than this is reported", DefaultValueFactory = _ => 1000 };
var hang = new Option<int>("--hang-ms") { Description = "a child silent this long on one input is killed (a hang)", DefaultValueFactory = _ => 20_000 };
var outDir = new Option<DirectoryInfo>("--out") { Description = "where reproducers and the summary go", DefaultValueFactory = _ => new DirectoryInfo("fuzz-out") };
var corpus = new Option<DirectoryInfo[]>("--corpus") { Description = "folders of .net files to mutate (default: examples and tests/NetDsl.Tests/Networks)", AllowMultipleArgumentsPerToken = true };

var run = new Command("run", "run the fuzzer (the default)") { count, seed, from, jobs, slow, hang, outDir, corpus };
run.SetAction(p => Harness.Run(p.GetValue(count), p.GetValue(seed), p.GetValue(from), p.GetValue(jobs), p.GetValue(slow), p.GetValue(hang),
    p.GetValue(outDir)!, Harness.CorpusRoots(p.GetValue(corpus))));
root.Subcommands.Add(run);

var to = new Option<long>("--to") { Required = true };
var worker = new Command("worker", "(internal) compile inputs [from, to) and report each on stdout") { seed, from, to, slow, corpus };
worker.SetAction(p => Harness.Worker(p.GetValue(seed), p.GetValue(from), p.GetValue(to), p.GetValue(slow), Harness.CorpusRoots(p.GetValue(corpus))));
root.Subcommands.Add(worker);

var file = new Argument<FileInfo>("file");
var check = new Command("check", "(internal) compile one file; exit 0 if fine, 1 with the verdict otherwise") { file, slow };
check.SetAction(p =>
{
    var (v, detail, _) = Oracle.Check(File.ReadAllText(p.GetValue(file)!.FullName), p.GetValue(slow));
    Console.WriteLine(v + " " + detail);
    return v == Verdict.Ok ? 0 : 1;
});
root.Subcommands.Add(check);

var input = new Command("input", "print input i of a run (to reproduce it)") { seed, new Argument<long>("index") };
input.SetAction(p =>
{
    var m = new Mutator(Mutator.LoadCorpus(Harness.CorpusRoots(p.GetValue(corpus))), p.GetValue(seed));
    Console.Out.Write(m.Input(p.GetValue((Argument<long>)input.Arguments[0])));
});
root.Subcommands.Add(input);

root.SetAction(p => Harness.Run(100_000, 1, 0, Environment.ProcessorCount, 1000, 20_000, new DirectoryInfo("fuzz-out"), Harness.CorpusRoots(null)));
return root.Parse(args).Invoke();

internal static class Harness
{
    public static string[] CorpusRoots(DirectoryInfo[]? dirs)
    {
        if (dirs is { Length: > 0 }) return dirs.Select(d => d.FullName).ToArray();
        var repo = AppContext.BaseDirectory;
        while (repo != null && !File.Exists(Path.Combine(repo, "NetDsl.sln"))) repo = Path.GetDirectoryName(repo);
        repo ??= Directory.GetCurrentDirectory();
        return [Path.Combine(repo, "examples"), Path.Combine(repo, "tests", "NetDsl.Tests", "Networks")];
    }

    /// <summary>Child: compiles inputs [from, to), writing "B i" before and "E i verdict ms detail" after each.</summary>
    public static int Worker(int seed, long from, long to, int slowMs, string[] corpus)
    {
        var m = new Mutator(Mutator.LoadCorpus(corpus), seed);
        var stdout = Console.Out;
        for (long i = from; i < to; i++)
        {
            stdout.WriteLine($"B {i}"); stdout.Flush();
            var (v, detail, ms) = Oracle.Check(m.Input(i), slowMs);
            stdout.WriteLine($"E {i} {v} {ms} {detail.Replace('\n', ' ').Replace('\r', ' ')}"); stdout.Flush();
        }
        return 0;
    }

    private sealed class Stats
    {
        public long Done, Crashes, Hangs, Ice, InvalidCs, Slow, MaxMs, TotalMs;
        public readonly List<string> Findings = new();
    }

    public static int Run(long count, int seed, long start, int jobs, int slowMs, int hangMs, DirectoryInfo outDir, string[] corpus)
    {
        outDir.Create();
        var mutator = new Mutator(Mutator.LoadCorpus(corpus), seed);
        var stats = new Stats();
        var sw = Stopwatch.StartNew();
        const long Chunk = 20_000;
        var chunks = new Queue<(long, long)>();
        for (long a = start; a < start + count; a += Chunk) chunks.Enqueue((a, Math.Min(start + count, a + Chunk)));
        var threads = Enumerable.Range(0, Math.Max(1, jobs)).Select(_ => new Thread(() =>
        {
            while (true)
            {
                (long a, long b) c;
                lock (chunks) { if (chunks.Count == 0) return; c = chunks.Dequeue(); }
                RunChunk(c.a, c.b);
            }
        })).ToList();
        var progress = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(30_000);
                lock (stats) Console.Error.WriteLine($"[{sw.Elapsed:hh\\:mm\\:ss}] {stats.Done:N0}/{count:N0}: crashes {stats.Crashes}, hangs {stats.Hangs}, NDSL0999 {stats.Ice}, invalid C# {stats.InvalidCs}, over {slowMs} ms {stats.Slow}");
            }
        }) { IsBackground = true };
        progress.Start();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var summary = new StringBuilder();
        summary.AppendLine($"# NetDsl fuzz run, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        summary.AppendLine();
        summary.AppendLine($"seed {seed}, inputs {start:N0}–{start + count - 1:N0}, {jobs} child processes, {Environment.ProcessorCount} cores, load {LoadAverage()}");
        summary.AppendLine();
        summary.AppendLine("| inputs | crashes | hangs | NDSL0999 | invalid C# | over " + slowMs + " ms | slowest | mean | wall time |");
        summary.AppendLine("|---|---|---|---|---|---|---|---|---|");
        summary.AppendLine($"| {stats.Done:N0} | {stats.Crashes} | {stats.Hangs} | {stats.Ice} | {stats.InvalidCs} | {stats.Slow} | {stats.MaxMs} ms | {(stats.Done == 0 ? 0 : (double)stats.TotalMs / stats.Done):F1} ms | {sw.Elapsed:hh\\:mm\\:ss} |");
        summary.AppendLine();
        foreach (var f in stats.Findings) summary.AppendLine("- " + f);
        File.WriteAllText(Path.Combine(outDir.FullName, "summary.md"), summary.ToString());
        Console.WriteLine(summary);
        return stats.Crashes + stats.Hangs + stats.Ice + stats.InvalidCs + stats.Slow == 0 ? 0 : 1;

        void RunChunk(long a, long b)
        {
            long next = a;
            while (next < b)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                psi.ArgumentList.Add(typeof(Harness).Assembly.Location);
                foreach (var s in new[] { "worker", "--seed", seed.ToString(), "--from", next.ToString(), "--to", b.ToString(), "--slow-ms", slowMs.ToString() }) psi.ArgumentList.Add(s);
                foreach (var c in corpus) { psi.ArgumentList.Add("--corpus"); psi.ArgumentList.Add(c); }
                using var p = Process.Start(psi)!;
                p.ErrorDataReceived += (_, _) => { };
                p.BeginErrorReadLine();
                long begun = -1;
                var lines = new System.Collections.Concurrent.BlockingCollection<string?>();
                var reader = new Thread(() => { string? l; while ((l = p.StandardOutput.ReadLine()) != null) lines.Add(l); lines.Add(null); }) { IsBackground = true };
                reader.Start();
                string kind = "";
                while (true)
                {
                    if (!lines.TryTake(out var line, hangMs)) { kind = "hang"; try { p.Kill(true); } catch { } break; }
                    if (line == null) { p.WaitForExit(); kind = p.ExitCode == 0 ? "" : "crash"; break; }
                    if (line.StartsWith("B ")) { begun = long.Parse(line.AsSpan(2)); continue; }
                    var parts = line.Split(' ', 5);
                    long i = long.Parse(parts[1]); var v = Enum.Parse<Verdict>(parts[2]); long ms = long.Parse(parts[3]);
                    lock (stats)
                    {
                        stats.Done++; stats.TotalMs += ms; stats.MaxMs = Math.Max(stats.MaxMs, ms);
                        if (v == Verdict.InternalError) stats.Ice++;
                        if (v == Verdict.InvalidCSharp) stats.InvalidCs++;
                        if (v == Verdict.Slow) stats.Slow++;
                    }
                    if (v != Verdict.Ok) Record(i, v.ToString(), parts.Length > 4 ? parts[4] : "");
                    next = i + 1;
                    begun = -1;
                }
                if (kind.Length == 0) { next = b; continue; }
                if (begun < 0) { next = b; continue; }   // died between inputs: nothing to blame
                lock (stats) { stats.Done++; if (kind == "hang") stats.Hangs++; else stats.Crashes++; }
                Record(begun, kind, kind == "hang" ? $"no answer in {hangMs} ms" : "the process died");
                next = begun + 1;
            }
        }

        void Record(long i, string kind, string detail)
        {
            var text = mutator.Input(i);
            var path = Path.Combine(outDir.FullName, $"{kind}-{i}.net");
            File.WriteAllText(path, text);
            // a slow input is its own reproducer (timing does not minimise reliably); NDSL0999 and invalid C# are minimised
            // in-process, crashes and hangs in child processes
            string? min = kind switch
            {
                nameof(Verdict.Slow) => null,
                nameof(Verdict.InternalError) or nameof(Verdict.InvalidCSharp) => Minimize(text, t => Oracle.Check(t, int.MaxValue).Verdict.ToString() == kind, 400),
                _ => Minimize(text, t => StillFails(t, kind, slowMs, hangMs), 60),
            };
            if (min != null) File.WriteAllText(Path.Combine(outDir.FullName, $"{kind}-{i}.min.net"), min);
            lock (stats) stats.Findings.Add($"{kind} at input {i}: {detail} ({Path.GetFileName(path)}{(min == null ? "" : $", minimised to {min.Length} characters")})");
        }
    }

    /// <summary>Re-runs one text in a child process (crashes and hangs cannot be caught in-process).</summary>
    private static bool StillFails(string text, string kind, int slowMs, int hangMs)
    {
        var tmp = Path.GetTempFileName();
        File.WriteAllText(tmp, text);
        try
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(typeof(Harness).Assembly.Location);
            psi.ArgumentList.Add("check"); psi.ArgumentList.Add(tmp); psi.ArgumentList.Add("--slow-ms"); psi.ArgumentList.Add(slowMs.ToString());
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(hangMs)) { try { p.Kill(true); } catch { } return kind == "hang"; }
            if (kind == "crash") return p.ExitCode != 0 && p.ExitCode != 1;
            return output.Result.StartsWith(kind, StringComparison.Ordinal);
        }
        finally { File.Delete(tmp); }
    }

    /// <summary>Delta debugging: drop lines, then character runs, while the failure persists (at most <paramref name="maxTrials"/> trials).</summary>
    private static string Minimize(string text, Func<string, bool> fails, int maxTrials)
    {
        int trials = 0;
        foreach (var unit in new[] { "line", "char" })
        {
            var parts = unit == "line" ? text.Split('\n').Select(l => l + "\n").ToList() : text.Select(c => c.ToString()).ToList();
            for (int size = parts.Count / 2; size >= 1 && trials < maxTrials; size /= 2)
                for (int at = 0; at + size <= parts.Count && trials < maxTrials;)
                {
                    var candidate = string.Concat(parts.Take(at).Concat(parts.Skip(at + size)));
                    trials++;
                    if (fails(candidate)) { parts.RemoveRange(at, size); text = candidate; }
                    else at += size;
                }
        }
        return text;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
