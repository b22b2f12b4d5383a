using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDsl.Compiler;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Tool;

/// <summary>
/// `netdsl bench`: compiles the generated C# of a network with Roslyn, loads it, and times its training step
/// (forward, backward, SGD with momentum) and its inference forward on the CPU path at a batch size, with
/// deterministic pseudo-random inputs (labels 0). A quick measurement for a .net file; the side-by-side
/// comparisons with PyTorch are the BenchmarkDotNet suite in benchmarks/.
/// </summary>
internal static class Bench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(IReadOnlyList<CompiledNetwork> networks, int batch, int steps, bool profile, CliOutput o)
    {
        if (batch <= 0 || steps <= 0) { o.Err.WriteLine("netdsl: --batch and --steps must be positive"); return NetDslCli.ExitUsage; }
        var asm = Load(networks, o);
        if (asm is null) return NetDslCli.ExitErrors;
        o.Out.WriteLine($"{"network",-16} {"batch",5} {"train step",12} {"samples/s",11} {"GFLOP/s",8} {"forward",10}");
        foreach (var n in networks)
        {
            var type = asm.GetTypes().FirstOrDefault(t => t.Name == n.Name && !t.IsGenericType);
            if (type is null) { o.Err.WriteLine($"netdsl: {n.Name} has no generated class"); return NetDslCli.ExitErrors; }
            var net = (NetworkBase<float>)Activator.CreateInstance(type, Device.Cpu, 0)!;
            var train = type.GetMethods().FirstOrDefault(m => m.Name == "TrainStep" && m.GetParameters().All(p => p.ParameterType.Name.StartsWith("Tensor", StringComparison.Ordinal)));
            var forward = type.GetMethods().First(m => m.Name == "Forward");
            var inputs = (train ?? forward).GetParameters().Select(p => Input(type, p, batch)).ToArray();
            var forwardArgs = forward.GetParameters().Select(p => inputs[Array.FindIndex((train ?? forward).GetParameters(), q => q.Name == p.Name)]).ToArray();
            string trainText = "-", rateText = "-", flopText = "-";
            if (train != null)
            {
                var sgd = new Sgd<float>(net.Parameters, lr: 1e-3, momentum: 0.9);
                KernelProfile.Reset();
                KernelProfile.Enabled = false;
                double ms = Median(steps, () => { train.Invoke(net, inputs); sgd.Step(); }, () => KernelProfile.Enabled = profile);
                long macs = (long)type.GetField("Macs", BindingFlags.Public | BindingFlags.Static | BindingFlags.FlattenHierarchy)!.GetValue(null)!;
                trainText = ms.ToString("F2", Inv) + " ms";
                rateText = (batch / (ms / 1000)).ToString("N0", Inv);
                flopText = (6.0 * macs * batch / (ms / 1000) / 1e9).ToString("F1", Inv);
            }
            KernelProfile.Enabled = false;
            var profiled = KernelProfile.Entries;
            net.Eval();
            KernelProfile.Reset();
            double fms = Median(steps, () => forward.Invoke(net, forwardArgs), () => KernelProfile.Enabled = profile);
            KernelProfile.Enabled = false;
            var profiledForward = KernelProfile.Entries;
            o.Out.WriteLine($"{n.Name,-16} {batch,5} {trainText,12} {rateText,11} {flopText,8} {fms.ToString("F2", Inv) + " ms",10}");
            if (profile && profiled.Count > 0) PrintProfile(n.Name, "a training step", profiled, steps, o);
            if (profile && profiledForward.Count > 0) PrintProfile(n.Name, "an inference forward pass (eval mode)", profiledForward, steps, o);
        }
        o.Out.WriteLine($"median of {steps} steps after a warm-up of at least {WarmupSeconds} s and {WarmupSteps} steps (tiered JIT with dynamic PGO reaches its optimized code); "
            + $"CPU path, {Environment.ProcessorCount} threads; GFLOP/s counts 6 x MACs x batch per step (forward 2, backward 4).");
        return NetDslCli.ExitOk;
    }

    /// <summary>Per-kernel times of the training step (averaged over the timed steps), slowest first.</summary>
    private static void PrintProfile(string network, string what, IReadOnlyList<KernelProfile.Entry> entries, int steps, CliOutput o)
    {
        double total = entries.Sum(e => e.Milliseconds);
        o.Out.WriteLine();
        o.Out.WriteLine($"{network}: kernels of {what} (mean of {steps} steps; kernel times sum to {(total / steps).ToString("F2", Inv)} ms, the optimizer step is not a kernel of the network)");
        o.Out.WriteLine($"{"ms",8} {"%",6} {"GFLOP/s",8}  kernel");
        foreach (var e in entries.OrderByDescending(e => e.Ticks))
        {
            double ms = e.Milliseconds / steps;
            string gf = e.Flops == 0 || e.Ticks == 0 ? "-" : (e.Flops / (e.Milliseconds / 1000) / 1e9).ToString("F1", Inv);
            o.Out.WriteLine($"{ms.ToString("F3", Inv),8} {(100 * e.Milliseconds / total).ToString("F1", Inv),6} {gf,8}  {e.Label}");
        }
        o.Out.WriteLine();
    }

    /// <summary>Warm-up before timing: tiered compilation promotes a method to optimized (tier-1, PGO) code after 30 calls
    /// and a 100 ms quiet delay, so a few steps time tier-0 code (LeNet-5 read 3.2 ms after 100 steps, 1.5 ms after 1000).</summary>
    internal const double WarmupSeconds = 2.0;
    internal const int WarmupSteps = 50;

    private static double Median(int steps, Action step, Action? afterWarmup = null)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < WarmupSteps || warm.Elapsed.TotalSeconds < WarmupSeconds; i++) step();
        afterWarmup?.Invoke();
        var times = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            step();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[steps / 2];
    }

    private static object Input(Type type, ParameterInfo p, int batch)
    {
        var pascal = string.Join("_", p.Name!.Split('.').Select(s => char.ToUpperInvariant(s[0]) + s[1..]));
        var shape = ((int[])type.GetProperty(pascal + "Shape", BindingFlags.Public | BindingFlags.Static | BindingFlags.FlattenHierarchy)!.GetValue(null)!).Select(d => d < 0 ? batch : d).ToArray();
        int n = shape.Aggregate(1, (a, b) => a * b);
        if (p.ParameterType == typeof(Tensor<int>)) return Tensor<int>.FromArray(new int[n], shape);
        var rng = new Random(1);
        return Tensor<float>.FromArray(Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), shape);
    }

    internal static Assembly? Load(IReadOnlyList<CompiledNetwork> networks, CliOutput o)
    {
        var trees = networks.Select(n => CSharpSyntaxTree.ParseText(n.Source, new CSharpParseOptions(LanguageVersion.Latest), path: n.HintName));
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Append(typeof(Tensor<>).Assembly.Location)
            .Distinct()
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("NetDslBench", trees, refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        using var ms = new MemoryStream();
        var result = compilation.Emit(ms);
        if (!result.Success)
        {
            foreach (var d in result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10))
                o.Err.WriteLine($"netdsl: generated code does not compile: {d}");
            return null;
        }
        ms.Position = 0;
        return new AssemblyLoadContext("netdsl-bench", isCollectible: true).LoadFromStream(ms);
    }
}
