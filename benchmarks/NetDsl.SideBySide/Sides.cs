using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.SideBySide;

/// <summary>One contender: NetDsl, a PyTorch setting (subprocess), TorchSharp or ONNX Runtime. Workloads are named
/// "train:model" or "infer:model:batch".</summary>
public interface ISide : IDisposable
{
    string Name { get; }
    bool IsNetDsl { get; }
    bool Supports(string workload);
    /// <summary>Builds the workload and runs it for at least <paramref name="seconds"/> and <paramref name="minSteps"/> steps.</summary>
    int Warmup(string workload, double seconds, int minSteps);
    /// <summary>Times <paramref name="steps"/> steps one by one (ms each).</summary>
    double[] Run(string workload, int steps);
    /// <summary>Frees the workload's model and data.</summary>
    void Release(string workload);
}

/// <summary>A side that runs in this process: a factory makes one step per workload.</summary>
public abstract class LocalSide : ISide
{
    private readonly Dictionary<string, (Action step, IDisposable? owner)> _steps = [];
    public abstract string Name { get; }
    public virtual bool IsNetDsl => false;
    public abstract bool Supports(string workload);
    protected abstract (Action step, IDisposable? owner) Create(string workload);

    private Action Get(string w)
    {
        if (!_steps.TryGetValue(w, out var s)) _steps[w] = s = Create(w);
        return s.step;
    }
    public int Warmup(string workload, double seconds, int minSteps)
    {
        var step = Get(workload);
        var sw = Stopwatch.StartNew(); int n = 0;
        // at least `seconds` and minSteps steps, but a slow model stops after 3 steps once 20 s have passed (a step of a big
        // network calls every kernel method many times, far past tiered compilation's 30 calls)
        while ((n < minSteps || sw.Elapsed.TotalSeconds < seconds) && !(n >= 3 && sw.Elapsed.TotalSeconds >= Math.Max(20, seconds))) { step(); n++; }
        return n;
    }
    public double[] Run(string workload, int steps)
    {
        var step = Get(workload);
        var ms = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            step();
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        return ms;
    }
    public void Release(string workload)
    {
        if (_steps.Remove(workload, out var s)) s.owner?.Dispose();
        GC.Collect(); GC.WaitForPendingFinalizers();
    }
    public virtual void Dispose() { foreach (var w in _steps.Keys.ToList()) Release(w); }
}

public static class Workload
{
    public static (string kind, string model, int batch) Parse(string w)
    {
        var p = w.Split(':');
        return (p[0], p[1], p.Length > 2 ? int.Parse(p[2]) : TrainBatch(p[1]));
    }
    /// <summary>The pseudo-model "gemm": y = x·wᵀ with x, w of 1024×1024 (the GEMM row, 2·1024³ flops a step).</summary>
    public const int GemmSize = 1024;
    public static int TrainBatch(string model) => model switch { "gemm" => GemmSize, "lenet5" => 64, "mlp" => 128, "resnet20" => 64, "transformer" => 16, "resnet50" => 16, _ => throw new ArgumentException($"unknown model '{model}' (lenet5, mlp, resnet20, transformer, resnet50)") };
    /// <summary>Input shape without the batch.</summary>
    public static int[] Shape(string model) => model switch { "lenet5" => [1, 28, 28], "mlp" => [784], "resnet20" => [3, 32, 32], "transformer" => [128, 256], "resnet50" => [3, 224, 224], _ => throw new ArgumentException(model) };
    public static int Classes(string model) => model == "resnet50" ? 1000 : 10;
    public static float[] Uniform(int n, int seed = 1)
    {
        var r = new Random(seed); var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)r.NextDouble();
        return a;
    }
    public static int[] Labels(int batch, int classes) => Enumerable.Range(0, batch).Select(i => i % classes).ToArray();
}

/// <summary>NetDsl's generated classes on the CPU path (SGD lr 0.01 momentum 0.9, the default optimizer settings).</summary>
public sealed class NetDslSide : LocalSide
{
    public override string Name => "NetDsl";
    public override bool IsNetDsl => true;
    public override bool Supports(string workload) => true;

    public static NetworkBase<float> Build(string model) => model switch
    {
        "lenet5" => new LeNet5(Device.Cpu, seed: 1),
        "mlp" => new Mlp(Device.Cpu, seed: 1),
        "resnet20" => new ResNet20(Device.Cpu, seed: 1),
        "transformer" => new TransformerBench(Device.Cpu, seed: 1),
        "resnet50" => new ResNet50(Device.Cpu, seed: 1),
        _ => throw new ArgumentException(model),
    };

    protected override (Action, IDisposable?) Create(string workload)
    {
        var (kind, model, batch) = Workload.Parse(workload);
        if (model == "gemm")
        {
            int n = Workload.GemmSize;
            var a = Tensor<float>.FromArray(Workload.Uniform(n * n, 1), n, n);
            var w = Tensor<float>.FromArray(Workload.Uniform(n * n, 2), n, n);
            var c = Tensor<float>.Zeros(n, n);
            return (() => CpuKernels<float>.Instance.LinearForward(a, w, null, c, default(Identity<float>), default(Identity<float>)), null);
        }
        var net = Build(model);
        int[] shape = [batch, .. Workload.Shape(model)];
        var x = Tensor<float>.FromArray(Workload.Uniform(shape.Aggregate(1, (a, b) => a * b)), shape);
        if (kind == "infer")
        {
            net.Eval();
            Func<Tensor<float>> fwd = net switch
            {
                LeNet5 n => () => n.Forward(x),
                Mlp n => () => n.Forward(x),
                ResNet20 n => () => n.Forward(x),
                TransformerBench n => () => n.Forward(x),
                ResNet50 n => () => n.Forward(x),
                _ => throw new ArgumentException(model),
            };
            return (() => fwd(), null);
        }
        var y = Tensor<int>.FromArray(Workload.Labels(batch, Workload.Classes(model)), batch);
        var sgd = new Sgd<float>(net.Parameters, lr: 0.01, momentum: 0.9);
        Func<float> step = net switch
        {
            LeNet5 n => () => n.TrainStep(x, y, sgd),
            Mlp n => () => n.TrainStep(x, y, sgd),
            ResNet20 n => () => n.TrainStep(x, y, sgd),
            TransformerBench n => () => n.TrainStep(x, y, sgd),
            ResNet50 n => () => n.TrainStep(x, y, sgd),
            _ => throw new ArgumentException(model),
        };
        return (() => step(), null);
    }

    /// <summary>Multiply-accumulates per sample of the forward pass (the compiler's count: convolutions, linear layers,
    /// matmuls), the same arithmetic every side does.</summary>
    public static long Macs(string model) => model switch
    {
        "lenet5" => LeNet5<float>.Macs,
        "mlp" => Mlp<float>.Macs,
        "resnet20" => ResNet20<float>.Macs,
        "transformer" => TransformerBench<float>.Macs,
        "resnet50" => ResNet50<float>.Macs,
        _ => throw new ArgumentException(model),
    };

    /// <summary>MACs per sample of the layer that reads the input (`netdsl summary`; the transformer: the attention's q/k/v
    /// projection): no side computes its input gradient, so a training step's work is 2·(3·MACs − these).</summary>
    public static long InputLayerMacs(string model) => model switch
    {
        "lenet5" => 117_600, "mlp" => 802_816, "resnet20" => 442_368, "transformer" => 25_165_824, "resnet50" => 118_013_952,
        _ => throw new ArgumentException(model),
    };

    /// <summary>The eval-only plan's arena bytes for <paramref name="batch"/> samples (chunked where the compiler chunks)
    /// against the training plan's arena bytes for the same batch.</summary>
    public static (long eval, long train) EvalAndTrainingArenas(string model, int batch) => model switch
    {
        "lenet5" => (LeNet5<float>.EvalPlannedBytes(batch), LeNet5<float>.PlannedBytesPerSample * batch),
        "mlp" => (Mlp<float>.EvalPlannedBytes(batch), Mlp<float>.PlannedBytesPerSample * batch),
        "resnet20" => (ResNet20<float>.EvalPlannedBytes(batch), ResNet20<float>.PlannedBytesPerSample * batch),
        "transformer" => (TransformerBench<float>.EvalPlannedBytes(batch), TransformerBench<float>.PlannedBytesPerSample * batch),
        "resnet50" => (ResNet50<float>.EvalPlannedBytes(batch), ResNet50<float>.PlannedBytesPerSample * batch),
        _ => throw new ArgumentException(model),
    };

    /// <summary>Planned bytes of a training step: arenas (PlannedBytesPerSample × batch) + parameters, gradients, momentum.</summary>
    public static long PlannedTrainingBytes(string model, int batch) => model switch
    {
        "lenet5" => LeNet5<float>.PlannedBytesPerSample * batch + 3 * LeNet5<float>.ParameterCount * 4,
        "mlp" => Mlp<float>.PlannedBytesPerSample * batch + 3 * Mlp<float>.ParameterCount * 4,
        "resnet20" => ResNet20<float>.PlannedBytesPerSample * batch + 3 * ResNet20<float>.ParameterCount * 4,
        "transformer" => TransformerBench<float>.PlannedBytesPerSample * batch + 3 * TransformerBench<float>.ParameterCount * 4,
        "resnet50" => ResNet50<float>.PlannedBytesPerSample * batch + 3 * ResNet50<float>.ParameterCount * 4,
        _ => throw new ArgumentException(model),
    };
}

/// <summary>A peer in its own process, one per setting, speaking JSON lines on stdin/stdout (warmup, run, info, quit): a
/// PyTorch setting (benchmarks/pytorch/peer.py) or a TorchSharp setting (this harness with --serve-torchsharp). Its own
/// process lets each setting have its own threading environment and lets the harness stop it outside its turns.</summary>
public sealed class TorchPeer : ISide
{
    public sealed record Setting(string Name, int Threads, Dictionary<string, string> Env);

    /// <summary>The standard settings a user would try (all with OPENBLAS_CORETYPE=SkylakeX).</summary>
    public static readonly Setting[] All =
    [
        new("default", 2, []),
        new("GOMP_SPINCOUNT=10000", 2, new() { ["GOMP_SPINCOUNT"] = "10000" }),
        new("OMP_WAIT_POLICY=PASSIVE", 2, new() { ["OMP_WAIT_POLICY"] = "PASSIVE" }),
        new("OMP_WAIT_POLICY=ACTIVE", 2, new() { ["OMP_WAIT_POLICY"] = "ACTIVE" }),
        new("1 thread", 1, []),
        new("libopenblas0-openmp", 2, new() { ["LD_LIBRARY_PATH"] = OpenMpBlasDir }),
        new("libopenblas0-openmp + GOMP_SPINCOUNT=10000", 2, new() { ["LD_LIBRARY_PATH"] = OpenMpBlasDir, ["GOMP_SPINCOUNT"] = "10000" }),
    ];

    /// <summary>TorchSharp's settings: libtorch's bundled OpenMP runtime reads the same variables.</summary>
    public static readonly Setting[] TorchSharpSettings =
    [
        new("default", 2, []),
        new("GOMP_SPINCOUNT=10000", 2, new() { ["GOMP_SPINCOUNT"] = "10000" }),
        new("OMP_WAIT_POLICY=ACTIVE", 2, new() { ["OMP_WAIT_POLICY"] = "ACTIVE" }),
        new("OMP_WAIT_POLICY=PASSIVE", 2, new() { ["OMP_WAIT_POLICY"] = "PASSIVE" }),
        new("1 thread", 1, []),
    ];
    public const string OpenMpBlasDir = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
    public const string Python = "/usr/bin/python3";

    private readonly Process _p;
    public Setting Config { get; }
    public string Kind { get; }
    public string Name => Kind + " " + Config.Name;
    public bool IsNetDsl => false;
    public string Info { get; }

    /// <summary>A PyTorch setting.</summary>
    public TorchPeer(Setting s, string script) : this(s, "PyTorch", (Python, [script, "serve", "--threads", s.Threads.ToString()])) { }

    public TorchPeer(Setting s, string kind, (string file, string[] args) command)
    {
        Config = s; Kind = kind;
        var psi = new ProcessStartInfo(command.file, command.args)
        { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false };
        // the setting alone decides the threading environment (not whatever the harness was started with)
        foreach (var k in new[] { "GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS", "LD_LIBRARY_PATH", "OPENBLAS_NUM_THREADS", "KMP_BLOCKTIME", "MKL_NUM_THREADS" }) psi.Environment.Remove(k);
        psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        psi.Environment["PYTHONWARNINGS"] = "ignore";
        foreach (var (k, v) in s.Env) psi.Environment[k] = v;
        _p = Process.Start(psi) ?? throw new InvalidOperationException($"{command.file} could not be started");
        Info = Ask(new JsonObject { ["cmd"] = "info" }).ToJsonString();
    }

    [DllImport("libc", SetLastError = true)] private static extern int kill(int pid, int sig);
    private const int SigStop = 19, SigCont = 18;   // x86-64 Linux

    /// <summary>Outside its own turns the peer process is stopped (SIGSTOP): an OpenMP pool with OMP_WAIT_POLICY=ACTIVE
    /// spins on its idle threads indefinitely (measured: 0.66 CPU-seconds per second while idle, on a loaded machine), which
    /// would take a core from whichever side is timed next. Stopped, it takes nothing; it is continued before its request.</summary>
    private void Pause() { if (!_p.HasExited) kill(_p.Id, SigStop); }
    private void Resume() { if (!_p.HasExited) kill(_p.Id, SigCont); }

    /// <summary>CPU-seconds this peer process used since it was started (utime + stime of /proc/PID/stat).</summary>
    public double CpuSeconds() => Machine.ProcessCpuSeconds(_p.Id);

    public static bool Usable(Setting s) => !s.Env.TryGetValue("LD_LIBRARY_PATH", out var d) || Directory.Exists(d);

    private JsonNode Ask(JsonObject req)
    {
        Resume();
        _p.StandardInput.WriteLine(req.ToJsonString());
        _p.StandardInput.Flush();
        var line = _p.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{Name}: the peer process exited (code {(_p.HasExited ? _p.ExitCode : -1)})");
        Pause();
        var node = JsonNode.Parse(line)!;
        if (node["error"] is { } e) throw new InvalidOperationException($"{Name}: {e}");
        return node;
    }

    public bool Supports(string workload) => workload.StartsWith("train:", StringComparison.Ordinal);
    public int Warmup(string workload, double seconds, int minSteps) =>
        (int)Ask(new JsonObject { ["cmd"] = "warmup", ["model"] = Workload.Parse(workload).model, ["seconds"] = seconds, ["min_steps"] = minSteps })["steps"]!;
    public double[] Run(string workload, int steps) =>
        Ask(new JsonObject { ["cmd"] = "run", ["model"] = Workload.Parse(workload).model, ["steps"] = steps })["ms"]!.AsArray().Select(n => (double)n!).ToArray();
    public void Release(string workload) { }
    public void Dispose()
    {
        try { Resume(); _p.StandardInput.WriteLine("{\"cmd\":\"quit\"}"); _p.StandardInput.Flush(); if (!_p.WaitForExit(5000)) _p.Kill(); }
        catch (Exception) { }
        _p.Dispose();
    }
}

/// <summary>NetDsl with the batch-1 inference paths switched off (the packed GEMM for linear layers with few rows; one
/// core per image for im2col and 1×1 convolutions): the "before" of an A/B run in the same process (--ab).</summary>
public sealed class NetDslBaselineSide : ISide
{
    private readonly NetDslSide _inner = new();
    public string Name => "NetDsl (batch-1 paths off)";
    public bool IsNetDsl => false;
    public bool Supports(string workload) => workload.StartsWith("infer:", StringComparison.Ordinal);
    private static T Off<T>(Func<T> f)
    {
        int gemv = CpuKernels<float>.GemvMaxRows; bool split = CpuKernels<float>.SplitWithinImages;
        CpuKernels<float>.GemvMaxRows = 0; CpuKernels<float>.SplitWithinImages = false;
        try { return f(); }
        finally { CpuKernels<float>.GemvMaxRows = gemv; CpuKernels<float>.SplitWithinImages = split; }
    }
    public int Warmup(string workload, double seconds, int minSteps) => Off(() => _inner.Warmup(workload, seconds, minSteps));
    public double[] Run(string workload, int steps) => Off(() => _inner.Run(workload, steps));
    public void Release(string workload) => _inner.Release(workload);
    public void Dispose() => _inner.Dispose();
}
