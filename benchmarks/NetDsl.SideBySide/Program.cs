// Side-by-side benchmark: NetDsl against its peers at their best, interleaved rounds in one run. From the repository root:
//   dotnet run -c Release --project benchmarks/NetDsl.SideBySide -- [options]
// See benchmarks/README.md for the method and the options.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NetDsl.SideBySide;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var a = args.ToList();
if (a.Remove("--serve-torchsharp")) return ServeTorchSharp(int.Parse(Opt(a, "--threads") ?? "2"));
if (Opt(a, "--memory-child") is { } childSpec) return MemoryChild(childSpec, int.Parse(Opt(a, "--steps") ?? "3"));

var suites = (Opt(a, "--suite") ?? "train,infer").Split(',');
bool memoryOnly = a.Remove("--memory-only");   // only the fresh-process memory table
if (memoryOnly) suites = [];
var models = (Opt(a, "--models") ?? "lenet5,mlp,resnet20,transformer,resnet50").Split(',');
int rounds = int.Parse(Opt(a, "--rounds") ?? "5");
double roundMs = double.Parse(Opt(a, "--round-ms") ?? "400");
double warmupSeconds = double.Parse(Opt(a, "--warmup-seconds") ?? "2");
int keepTorch = int.Parse(Opt(a, "--keep-torch") ?? "0");
double screenFactor = double.Parse(Opt(a, "--screen-factor") ?? "3");
double maxRoundSeconds = double.Parse(Opt(a, "--max-round-seconds") ?? "5");
var settingNames = Opt(a, "--torch-settings");
var torchSharpNames = Opt(a, "--torchsharp-settings");
int memorySteps = int.Parse(Opt(a, "--memory-steps") ?? "3");
var waitQuiet = Opt(a, "--wait-quiet");
double maxLoad = double.Parse(Opt(a, "--max-load") ?? "0.5");
bool ab = Flag(a, "--ab"), allowLoad = Flag(a, "--allow-load"), noTorch = Flag(a, "--no-pytorch"), noTorchSharp = Flag(a, "--no-torchsharp"), noOrt = Flag(a, "--no-ort");
var outPath = Opt(a, "--out") ?? Path.Combine("benchmarks", "results", $"{DateTime.UtcNow:yyyy-MM-dd}-side-by-side.md");
string script = Path.Combine("benchmarks", "pytorch", "peer.py");
if (a.Count > 0) { Console.Error.WriteLine($"side-by-side: unknown option(s) {string.Join(' ', a)} (see benchmarks/README.md)"); return 2; }
if (!File.Exists(script)) { Console.Error.WriteLine($"side-by-side: {script} not found: run from the repository root"); return 2; }

// a quiet machine, or an explicit, recorded decision to measure under load
string loadNote = "";
if (waitQuiet is not null)
{
    var until = DateTime.UtcNow.AddMinutes(double.Parse(waitQuiet));
    while (Machine.Load1() >= maxLoad && DateTime.UtcNow < until) { Console.WriteLine($"waiting for load average < {maxLoad}: {Machine.LoadText()}"); Thread.Sleep(15_000); }
    if (Machine.Load1() >= maxLoad)
    {
        if (!allowLoad) { Console.Error.WriteLine($"side-by-side: the machine did not become quiet within {waitQuiet} min (load average {Machine.LoadText()}, need < {maxLoad}); not measuring. Pass --allow-load to measure anyway (the tables are then marked)."); return 3; }
        loadNote = $"**Measured under load**: the load average did not fall below {maxLoad} within {waitQuiet} min.";
    }
}
else if (Machine.Load1() >= maxLoad)
{
    if (!allowLoad) { Console.Error.WriteLine($"side-by-side: load average {Machine.LoadText()} ≥ {maxLoad}; pass --wait-quiet <min> to wait for a quiet machine, or --allow-load to measure under load (the tables are then marked)."); return 3; }
    loadNote = $"**Measured under load** (load average {Machine.LoadText()} at the start, ≥ {maxLoad}; the machine is shared): absolute times are inflated and noisy; the interleaved ratios are the result.";
}

var sides = new List<ISide> { new NetDslSide() };
if (ab && suites.Contains("infer")) sides.Add(new NetDslBaselineSide());
var torchPeers = new List<TorchPeer>();
if (!noTorch && suites.Contains("train"))
    foreach (var s in TorchPeer.All.Where(s => settingNames is null || settingNames.Split(',').Contains(s.Name)))
    {
        if (!TorchPeer.Usable(s)) { Console.WriteLine($"skipping PyTorch setting '{s.Name}' (not installed)"); continue; }
        var p = new TorchPeer(s, script); torchPeers.Add(p); sides.Add(p);
        Console.WriteLine($"{p.Name}: {p.Info}");
    }
if (!noTorchSharp && suites.Contains("train"))
    foreach (var s in TorchPeer.TorchSharpSettings.Where(s => torchSharpNames is null || torchSharpNames.Split(',').Contains(s.Name)))
    {
        var p = new TorchPeer(s, "TorchSharp", SelfCommand(["--serve-torchsharp", "--threads", s.Threads.ToString()])); torchPeers.Add(p); sides.Add(p);
        Console.WriteLine($"{p.Name}: {p.Info}");
    }
string onnxDir = Path.Combine("benchmarks", "results", "onnx");   // written at bench time, git-ignored
if (!noOrt && suites.Contains("infer"))
{
    var psi = new ProcessStartInfo(TorchPeer.Python, [script, "export", "--out", onnxDir]) { RedirectStandardError = true };
    psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX"; psi.Environment["PYTHONWARNINGS"] = "ignore";
    using (var p = Process.Start(psi)!) { var err = p.StandardError.ReadToEnd(); p.WaitForExit(); if (p.ExitCode != 0) { Console.Error.WriteLine($"side-by-side: ONNX export failed: {err.Trim().Split('\n').Last()}"); return 4; } }
    sides.Add(new OrtSide(onnxDir));
}

var started = DateTime.UtcNow;
var md = new StringBuilder();
md.AppendLine($"# NetDsl side by side ({started:yyyy-MM-dd HH:mm} UTC)\n");
md.AppendLine($"- Machine: {Machine.Cpu()}; load average at the start {Machine.LoadText()}.");
md.AppendLine($"- NetDsl: CPU path, .NET {Environment.Version}, tiered JIT with dynamic PGO (the default; no ReadyToRun), warm-up ≥ {warmupSeconds} s and ≥ 30 steps per side and workload before the rounds (a model slower than that stops warming up after 20 s and ≥ 3 steps), the same for every side.");
foreach (var p in torchPeers) md.AppendLine($"- {p.Kind} `{p.Config.Name}`: {p.Info}");
if (torchPeers.Any(p => p.Kind == "TorchSharp")) md.AppendLine($"- {TorchSharpSide.Version}, 1 inter-op thread, one child process of this harness per setting (`--serve-torchsharp`), each with its own OpenMP environment.");
if (sides.OfType<OrtSide>().Any()) md.AppendLine($"- {OrtSide.Version}, CPU provider, 2 intra-op threads, ORT_ENABLE_ALL, in this process; models exported by `peer.py export` (torch.onnx.export, opset 17, eval mode).");
md.AppendLine($"- Method: {rounds} interleaved rounds (the order of the sides rotates each round); in a round every side runs the same number of steps, each timed alone; median and p10–p90 over all timed steps. Ratio = fastest peer's median / NetDsl's median (> 1: NetDsl faster); the range is the min–max of the per-round ratios (NetDsl's round median / that peer's round median).");
md.AppendLine("- Isolation: a PyTorch peer process is stopped (SIGSTOP) outside its own requests, so its idle OpenMP/OpenBLAS threads cannot spin while another side is timed (an idle `OMP_WAIT_POLICY=ACTIVE` peer otherwise keeps a core busy); after every side's turn the harness waits until its own process is idle (< 0.1 cores over 20 ms, at most 1 s), so threads TorchSharp, ONNX Runtime or NetDsl left spinning stop before the next side. Both are checked per row (\"Isolation checks\" below the table).");
md.AppendLine($"- PyTorch settings screened per workload: after warm-up, a setting more than {screenFactor}× slower than the fastest setting (median of 5 probe steps){(keepTorch > 0 ? $", or not among the {keepTorch} fastest," : "")} skips the rounds; its probe median is listed with \"(screened)\". Steps per round: about {roundMs} ms of NetDsl, at most {maxRoundSeconds} s of the slowest remaining side, at least 2.");
if (loadNote != "") md.AppendLine($"- {loadNote}");
md.AppendLine();
void Save() { Directory.CreateDirectory(Path.GetDirectoryName(outPath)!); File.WriteAllText(outPath, md.ToString()); }
Save();

var targets = new Dictionary<string, double>
{
    ["train:lenet5"] = 3, ["train:mlp"] = 2, ["train:resnet20"] = 1.5, ["train:transformer"] = 1.5, ["train:resnet50"] = 1.3,
};
double Target(string w) { var (k, m, b) = Workload.Parse(w); return k == "train" ? targets.GetValueOrDefault(w, 1) : b == 1 ? 1.2 : 1.0; }   // the GEMM row's target is its % of peak (below the table)

var fairness = new List<string>();
var rooflineNotes = new List<string>();
foreach (var suite in suites)
{
    var workloads = suite == "train" ? models.Select(m => $"train:{m}").ToList()
        : models.SelectMany(m => new[] { $"infer:{m}:1", $"infer:{m}:{(m == "resnet50" ? 8 : 64)}" }).ToList();
    md.AppendLine(suite == "train"
        ? "## Training step (forward, cross-entropy, backward, SGD lr 0.01 momentum 0.9), ms\n"
        : "## Inference (eval-mode forward), ms\n");
    md.AppendLine("| workload | batch | steps | NetDsl | fastest peer | peer | ratio (per-round range) | target | other peers (median) | load during |");
    md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
    foreach (var w in workloads)
    {
        var (kind, model, batch) = Workload.Parse(w);
        var ws = sides.Where(s => s.Supports(w)).ToList();
        if (ws.Count < 2) { Console.WriteLine($"{w}: no peer"); continue; }
        string load0 = Machine.LoadText();
        Console.WriteLine($"{w}: warming up {ws.Count} sides (load {load0})");
        var warm = new Dictionary<ISide, double>();
        foreach (var s in ws)
        {
            s.Warmup(w, warmupSeconds, 30);
            warm[s] = Samples.Quantile(s.Run(w, 5).Order().ToArray(), 0.5);   // a short probe, also used to size the rounds
            Console.WriteLine($"  {s.Name}: {warm[s]:F3} ms after warm-up");
        }
        var screened = new List<ISide>();
        var torchByTime = ws.OfType<TorchPeer>().OrderBy(p => warm[p]).ToList();
        if (torchByTime.Count > 0)
        {
            // a setting more than screenFactor× slower than the fastest setting after warm-up cannot be the fastest peer
            double fastest = warm[torchByTime[0]];
            screened = torchByTime.Where((p, i) => (keepTorch > 0 && i >= keepTorch) || warm[p] > screenFactor * fastest).Cast<ISide>().ToList();
            ws = ws.Except(screened).ToList();
        }
        var net = ws.First(s => s.IsNetDsl);
        double slowest = ws.Max(s => warm[s]);
        int steps = (int)Math.Clamp(Math.Min(roundMs / Math.Max(warm[net], 1e-3), maxRoundSeconds * 1000 / Math.Max(slowest, 1e-3)), 2, 200);
        var samples = ws.ToDictionary(s => s, _ => new Samples());
        double othersCpu = 0, settleMs = 0;
        var peaks = new List<double>();   // the 2-thread FMA peak, once per round, in the same run
        var lows = new List<double>();    // the worst of the same 3 measurements: far below the best when the VM's two vCPUs shared one core for a while
        for (int r = 0; r < rounds; r++)
        {
            var order = ws.Skip(r % ws.Count).Concat(ws.Take(r % ws.Count)).ToList();
            // every row's % of peak: the best of 3 short measurements (a ceiling; a single one dips when the VM's vCPUs are busy)
            var fma = Enumerable.Range(0, 3).Select(_ => NetDsl.Benchmarks.Shared.FmaPeak.MeasureTwoThreads()).ToArray(); Machine.Settle();
            peaks.Add(fma.Max()); lows.Add(fma.Min());
            foreach (var s in order)
            {
                // every other peer process is stopped outside its turn; what they still use during this turn is recorded
                var idlePeers = sides.OfType<TorchPeer>().Where(p => p != s).ToList();
                double c0 = idlePeers.Sum(p => p.CpuSeconds()); var t0 = Stopwatch.GetTimestamp();
                samples[s].AddRound(s.Run(w, steps));
                double secs = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                othersCpu = Math.Max(othersCpu, (idlePeers.Sum(p => p.CpuSeconds()) - c0) / secs);
                settleMs = Math.Max(settleMs, Machine.Settle());   // threads this side left spinning stop before the next side
            }
            Console.WriteLine($"  round {r + 1}: " + string.Join(", ", ws.Select(s => $"{s.Name} {samples[s].RoundMedians[^1]:F3}")));
        }
        foreach (var s in ws) s.Release(w);
        string load1 = Machine.LoadText();
        var nd = samples[net];
        var best = ws.Where(s => !s.IsNetDsl && s is not NetDslBaselineSide).MinBy(s => samples[s].Median)!;
        var bs = samples[best];
        double ratio = bs.Median / nd.Median;
        var perRound = Enumerable.Range(0, rounds).Select(i => bs.RoundMedians[i] / nd.RoundMedians[i]).ToArray();
        double target = Target(w);
        string others = string.Join("; ", ws.Where(s => !s.IsNetDsl && s != best && s is not NetDslBaselineSide).Select(s => $"{s.Name} {Samples.F(samples[s].Median)}")
            .Concat(screened.Select(s => $"{s.Name} {Samples.F(warm[s])} (screened)")));
        string abText = ws.OfType<NetDslBaselineSide>().FirstOrDefault() is { } bl ? $"before (batch-1 paths off) {samples[bl].Text()}: before/after {samples[bl].Median / nd.Median:F2}×" : "";
        others = string.Join("; ", new[] { others, abText }.Where(t => t != ""));
        md.AppendLine($"| {model} | {batch} | {steps}×{rounds} | {nd.Text()} | {best.Name} | {bs.Text()} | **{ratio:F2}×** ({perRound.Min():F2}–{perRound.Max():F2}) | ≥ {target:0.0#}×: {(ratio >= target ? "met" : "missed")} | {others} | {load0} → {load1} |");
        if (model == "gemm")
        {
            double peak = Samples.Quantile(peaks.Order().ToArray(), 0.5), flops = 2.0 * Math.Pow(Workload.GemmSize, 3);
            string Pct(ISide s) => $"{s.Name} {flops / (samples[s].Median * 1e-3) / 1e9:F0} GFLOP/s = {100 * flops / (samples[s].Median * 1e-3) / 1e9 / peak:F0} %";
            rooflineNotes.Add($"GEMM {Workload.GemmSize}³ (y = x·wᵀ, fp32), median of each side against the median 2-thread FMA peak of the same run ({peak:F1} GFLOP/s; per round, best of 3 {string.Join(", ", peaks.Select(p => p.ToString("F0")))}; worst of 3 {string.Join(", ", lows.Select(p => p.ToString("F0")))}): " +
                string.Join("; ", ws.Select(Pct)) + ". Target: NetDsl ≥ 85 %.");
        }
        else
        {
            // the roofline: the work of a call (2·MACs) or a training step (forward, input and weight gradients: 6·MACs,
            // less the input layer's input gradient that no side computes), each side's rate, and what the target needs
            long macs = NetDslSide.Macs(model), inMacs = NetDslSide.InputLayerMacs(model);
            double peak = Samples.Quantile(peaks.Order().ToArray(), 0.5), flops = (kind == "train" ? 2.0 * (3 * macs - inMacs) : 2.0 * macs) * batch;
            double Rate(double ms) => flops / (ms * 1e-3) / 1e9;
            double needMs = bs.Median / target;
            rooflineNotes.Add($"{w}: {flops / 1e9:F3} GFLOP per {(kind == "train" ? $"step (2·(3·{macs:N0} − {inMacs:N0}) FLOPs per sample)" : $"call (2·{macs:N0} FLOPs per sample)")}; median 2-thread FMA peak {peak:F0} GFLOP/s (per round, best of 3 {string.Join(", ", peaks.Select(p => p.ToString("F0")))}; worst of 3 {string.Join(", ", lows.Select(p => p.ToString("F0")))}); " +
                $"NetDsl {Rate(nd.Median):F0} GFLOP/s = {100 * Rate(nd.Median) / peak:F0} %, {best.Name} {Rate(bs.Median):F0} GFLOP/s = {100 * Rate(bs.Median) / peak:F0} %; " +
                $"the target ≥ {target:0.0#}× needs NetDsl at ≤ {needMs:F3} ms = {Rate(needMs):F0} GFLOP/s = {100 * Rate(needMs) / peak:F0} % of the peak.");
        }
        Console.WriteLine($"{w}: NetDsl {nd.Text()} vs {best.Name} {bs.Text()} = {ratio:F2}×; idle peers used at most {othersCpu:F3} cores during a timed turn; longest settle {settleMs:F0} ms");
        fairness.Add($"{w}: stopped peer processes used at most {othersCpu:F3} cores during another side's timed turn; the longest wait for this process's threads to go idle after a turn was {settleMs:F0} ms");
        Save();
    }
    md.AppendLine();
    if (rooflineNotes.Count > 0) md.AppendLine("Work and peak (each row's FLOPs, from the compiler's MAC count, against the 2-thread FMA peak measured once per round in the same run):\n");
    foreach (var g in rooflineNotes) md.AppendLine("- " + g);
    if (rooflineNotes.Count > 0) md.AppendLine();
    rooflineNotes.Clear();
    if (fairness.Count > 0) { md.AppendLine("Isolation checks:"); foreach (var f in fairness) md.AppendLine($"- {f}"); md.AppendLine(); fairness.Clear(); }
    Save();
}

// memory: peak RSS of fresh processes that build the model and run N training steps, the same way on every side
if (memorySteps > 0 && (suites.Contains("train") || memoryOnly))
{
    md.AppendLine($"## Peak memory of a training step (fresh process: build the model, run {memorySteps} steps), MB\n");
    md.AppendLine("Peak RSS (VmHWM) of the whole process, and in brackets its growth over the RSS just before the model is built " +
        "(after the runtime and torch are loaded). NetDsl's planned bytes (arenas + parameters, gradients, momentum) and live managed bytes after the steps are beside it. " +
        $"PyTorch (2 threads) and TorchSharp run with the harness's environment (OPENBLAS_CORETYPE=SkylakeX, GOMP_SPINCOUNT={Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") ?? "unset"}).\n");
    md.AppendLine("The last column is the compiler's eval-only plan (inference arenas, chunked where legal) against the training plan's arenas at the training batch (target ≤ 0.5×).\n");
    md.AppendLine("| model | batch | NetDsl peak RSS (growth) | NetDsl planned / live managed | PyTorch peak RSS (growth) | TorchSharp peak RSS (growth) | NetDsl / PyTorch (growth ratio) | target ≤ 0.7× (growth) | eval / training plan |");
    md.AppendLine("|---|---|---|---|---|---|---|---|---|");
    foreach (var model in models.Where(m => m != "gemm"))
    {
        var nd = RunChild(SelfCommand(["--memory-child", $"netdsl:{model}", "--steps", memorySteps.ToString()]));
        var pt = noTorch ? null : RunChild((TorchPeer.Python, [script, "memory", "--model", model, "--steps", memorySteps.ToString()]));
        var ts = noTorchSharp ? null : RunChild(SelfCommand(["--memory-child", $"torchsharp:{model}", "--steps", memorySteps.ToString()]));
        static string Mb(long b) => (b / 1e6).ToString("F1", CultureInfo.InvariantCulture);
        static string Rss(JsonElement? e) => e is { } j ? $"{Mb(j.GetProperty("peak_rss").GetInt64())} ({Mb(j.GetProperty("peak_rss").GetInt64() - j.GetProperty("base_rss").GetInt64())})" : "—";
        static long Growth(JsonElement j) => j.GetProperty("peak_rss").GetInt64() - j.GetProperty("base_rss").GetInt64();
        string ratio = nd is { } n && pt is { } p ? $"{(double)n.GetProperty("peak_rss").GetInt64() / p.GetProperty("peak_rss").GetInt64():F2}× ({(double)Growth(n) / Growth(p):F2}×)" : "—";
        string verdict = nd is { } n2 && pt is { } p2 ? ((double)Growth(n2) / Growth(p2) <= 0.7 ? "met" : "missed") : "—";
        string planned = nd is { } n3 ? $"{Mb(n3.GetProperty("planned").GetInt64())} / {Mb(n3.GetProperty("live_managed").GetInt64())}" : "—";
        var (evalArena, trainArena) = NetDslSide.EvalAndTrainingArenas(model, Workload.TrainBatch(model));
        string evalPlan = $"{(double)evalArena / trainArena:F2}× ({Mb(evalArena)} / {Mb(trainArena)} MB)";
        md.AppendLine($"| {model} | {Workload.TrainBatch(model)} | {Rss(nd)} | {planned} | {Rss(pt)} | {Rss(ts)} | {ratio} | {verdict} | {evalPlan} |");
        Console.WriteLine($"memory {model}: NetDsl {Rss(nd)}, PyTorch {Rss(pt)}, TorchSharp {Rss(ts)}");
        Save();
    }
    md.AppendLine();
}
md.AppendLine($"Finished {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average at the end {Machine.LoadText()}.");
Save();
foreach (var s in sides) s.Dispose();
Console.WriteLine($"results: {outPath}");
return 0;

static string? Opt(List<string> a, string name)
{
    int i = a.IndexOf(name);
    if (i < 0) return null;
    if (i + 1 >= a.Count) throw new ArgumentException($"{name} needs a value");
    var v = a[i + 1]; a.RemoveRange(i, 2); return v;
}
static bool Flag(List<string> a, string name) => a.Remove(name);

static (string file, string[] args) SelfCommand(string[] rest)
{
    var self = Environment.ProcessPath!;
    return Path.GetFileNameWithoutExtension(self) == "dotnet" ? (self, [typeof(Samples).Assembly.Location, .. rest]) : (self, rest);
}

static JsonElement? RunChild((string file, string[] args) cmd)
{
    var psi = new ProcessStartInfo(cmd.file, cmd.args) { RedirectStandardOutput = true, RedirectStandardError = true };
    psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX"; psi.Environment["PYTHONWARNINGS"] = "ignore";
    using var p = Process.Start(psi)!;
    var err = p.StandardError.ReadToEndAsync();
    var lines = p.StandardOutput.ReadToEnd().Trim().Split('\n');
    p.WaitForExit();
    if (p.ExitCode != 0 || !lines[^1].StartsWith('{')) { Console.WriteLine($"memory child {string.Join(' ', cmd.args)} failed ({p.ExitCode}): {err.Result.Trim().Split('\n').Last()}"); return null; }
    return JsonDocument.Parse(lines[^1]).RootElement.Clone();
}

/// <summary>A TorchSharp peer in its own process (one per setting): the JSON-lines protocol of benchmarks/pytorch/peer.py serve.</summary>
static int ServeTorchSharp(int threads)
{
    using var ts = new TorchSharpSide(threads);
    string? line, last = null;
    while ((line = Console.In.ReadLine()) is not null)
    {
        var req = System.Text.Json.Nodes.JsonNode.Parse(line)!;
        string cmd = (string)req["cmd"]!;
        if (cmd == "quit") break;
        if (req["model"] is { } m && $"train:{(string)m!}" != last)
        {
            if (last is not null) ts.Release(last);   // one model at a time, as peer.py
            last = $"train:{(string)m!}";
        }
        object resp = cmd switch
        {
            "info" => new { torchsharp = TorchSharpSide.Version, threads, env = new[] { "GOMP_SPINCOUNT", "OMP_WAIT_POLICY" }.ToDictionary(k => k, k => Environment.GetEnvironmentVariable(k) ?? "") },
            "warmup" => new { steps = ts.Warmup($"train:{(string)req["model"]!}", (double)req["seconds"]!, (int)req["min_steps"]!) },
            "run" => new { ms = ts.Run($"train:{(string)req["model"]!}", (int)req["steps"]!) },
            _ => (object)new { error = $"unknown command {cmd}" },
        };
        Console.Out.WriteLine(JsonSerializer.Serialize(resp)); Console.Out.Flush();
    }
    return 0;
}

/// <summary>A fresh process: build one model, run N training steps, print peak RSS (and NetDsl's planned/live figures).</summary>
static int MemoryChild(string spec, int steps)
{
    var (side, model) = (spec.Split(':')[0], spec.Split(':')[1]);
    string w = $"train:{model}";
    if (side == "torchsharp")
    {
        var ts = new TorchSharpSide();
        long baseRss = Machine.Rss().current;
        ts.Warmup(w, 0, steps);
        Console.WriteLine(JsonSerializer.Serialize(new { peak_rss = Machine.Rss().peak, base_rss = baseRss }));
        return 0;
    }
    long liveBefore = GC.GetTotalMemory(true);
    long base0 = Machine.Rss().current;
    var nd = new NetDslSide();
    nd.Warmup(w, 0, steps);
    long live = GC.GetTotalMemory(true) - liveBefore;
    Console.WriteLine(JsonSerializer.Serialize(new { peak_rss = Machine.Rss().peak, base_rss = base0, live_managed = live, planned = NetDslSide.PlannedTrainingBytes(model, Workload.TrainBatch(model)) }));
    GC.KeepAlive(nd);
    return 0;
}
