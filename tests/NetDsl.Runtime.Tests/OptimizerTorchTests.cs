using System.Text.Json;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit.Abstractions;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// Every optimizer, schedule, clipping mode and parameter grouping follows torch.optim (PyTorch 1.13): the same parameters
/// after 100 steps on the same gradients, to 1e-6 in fp32 and 1e-12 in fp64 (fixture: Fixtures/torch_optim.py).
/// </summary>
public class OptimizerTorchTests(ITestOutputHelper output)
{
    public const int Steps = 100, Epoch = 10;
    private static readonly (string Name, int[] Shape)[] Shapes = [("layer.weight", [5, 6]), ("layer.bias", [6]), ("norm.weight", [4])];
    private static readonly Lazy<JsonElement> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch_optim.json"))).RootElement);

    public static IEnumerable<object[]> Cases() =>
        Fixture.Value.GetProperty("cases").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! });

    /// <summary>The fixture's parameters: tensor k, element i = 0.5·cos(1.3i + 0.7k) + 0.1k (float64, then cast).</summary>
    public static Parameter<T>[] InitialParameters<T>() where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> =>
        Shapes.Select((s, k) =>
        {
            var p = Parameter<T>.Create(Device.Cpu, s.Name, s.Shape);
            var v = p.Value.AsSpan();
            for (int i = 0; i < v.Length; i++) v[i] = T.CreateChecked(0.5 * Math.Cos(1.3 * i + 0.7 * k) + 0.1 * k);
            return p;
        }).ToArray();

    /// <summary>The fixture's gradient at step t (1-based): 0.3·p + sin(0.37i + 0.91t + 1.7k)·(1 + 0.5·cos(0.13t)).</summary>
    public static void SetGradients<T>(Parameter<T>[] ps, int t) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        for (int k = 0; k < ps.Length; k++)
        {
            var v = ps[k].Value.AsSpan();
            var g = ps[k].Grad.AsSpan();
            for (int i = 0; i < v.Length; i++)
                g[i] = T.CreateChecked(0.3 * double.CreateChecked(v[i]) + Math.Sin(0.37 * i + 0.91 * t + 1.7 * k) * (1 + 0.5 * Math.Cos(0.13 * t)));
        }
    }

    private static readonly double[] PlateauMetrics = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7];

    private static ParamGroup<T>[] Split<T>(Parameter<T>[] ps, double? lr1, double? wd1, double? lr2, double? wd2) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> =>
        [new ParamGroup<T>([ps[0]], lr1, wd1), new ParamGroup<T>([ps[1], ps[2]], lr2, wd2)];

    /// <summary>The same set-ups as torch_optim.py's CASES.</summary>
    public static (Optimizer<T> Optimizer, LrScheduler? Schedule, bool PerBatch) Make<T>(string name, Parameter<T>[] ps) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        Optimizer<T> o;
        switch (name)
        {
            case "sgd": return (new Sgd<T>(ps, lr: 0.1), null, false);
            case "sgd_momentum": return (new Sgd<T>(ps, lr: 0.05, momentum: 0.9), null, false);
            case "sgd_dampening_wd": return (new Sgd<T>(ps, lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 1e-2), null, false);
            case "sgd_nesterov_wd": return (new Sgd<T>(ps, lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3), null, false);
            case "adam": return (new Adam<T>(ps, lr: 1e-2), null, false);
            case "adam_wd": return (new Adam<T>(ps, lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 1e-2), null, false);
            case "adam_amsgrad": return (new Adam<T>(ps, lr: 1e-2, amsgrad: true), null, false);
            case "adamw": return (new AdamW<T>(ps, lr: 1e-2, weightDecay: 0.1), null, false);
            case "rmsprop": return (new RmsProp<T>(ps, lr: 1e-2), null, false);
            case "rmsprop_centered_momentum_wd": return (new RmsProp<T>(ps, lr: 1e-2, alpha: 0.9, centered: true, momentum: 0.9, weightDecay: 1e-3), null, false);
            case "adagrad": return (new Adagrad<T>(ps, lr: 0.1, lrDecay: 1e-2, weightDecay: 1e-3, initialAccumulator: 0.1), null, false);
            case "step_epoch": o = new Sgd<T>(ps, lr: 0.05, momentum: 0.9); return (o, new StepLR(o, stepSize: 3, gamma: 0.5), false);
            case "multistep_batch": o = new Adam<T>(ps, lr: 1e-2); return (o, new MultiStepLR(o, [30, 60, 80], gamma: 0.3), true);
            case "exponential_epoch": o = new RmsProp<T>(ps, lr: 1e-2); return (o, new ExponentialLR(o, gamma: 0.8), false);
            case "cosine_epoch": o = new Sgd<T>(ps, lr: 0.1); return (o, new CosineAnnealingLR(o, tMax: 10, etaMin: 1e-3), false);
            case "cosine_warmup_batch": o = new AdamW<T>(ps, lr: 1e-2, weightDecay: 0.05); return (o, LinearWarmup.Cosine(o, warmupSteps: 10, totalSteps: 100, startFactor: 0.1), true);
            case "onecycle_batch": o = new Sgd<T>(ps, lr: 0.1, momentum: 0.9, nesterov: true); return (o, new OneCycleLR(o, maxLr: 0.1, totalSteps: 100), true);
            case "plateau_epoch": o = new Adam<T>(ps, lr: 1e-2); return (o, new ReduceLROnPlateau(o, factor: 0.5, patience: 1), false);
            case "clip_norm": return (new Sgd<T>(ps, lr: 0.05, momentum: 0.9) { ClipGradNorm = 1.0 }, null, false);
            case "clip_value": return (new Adam<T>(ps, lr: 1e-2) { ClipGradValue = 0.5 }, null, false);
            case "groups_adamw_no_decay_cosine":
                o = new AdamW<T>(Split(ps, null, 0.1, 5e-3, 0.0), lr: 1e-2);
                return (o, new CosineAnnealingLR(o, tMax: 100), true);
            case "groups_sgd": return (new Sgd<T>(Split(ps, null, 1e-2, 0.02, 0.0), lr: 0.1, momentum: 0.9), null, false);
            default: throw new ArgumentException($"unknown case {name}");
        }
    }

    /// <summary>Runs a case for <paramref name="steps"/> steps (schedule per batch or every <see cref="Epoch"/> steps); returns the learning rates used.</summary>
    public static List<double> Run<T>(Optimizer<T> o, LrScheduler? s, bool perBatch, Parameter<T>[] ps, int from, int to) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var lrs = new List<double>();
        for (int t = from; t <= to; t++)
        {
            SetGradients(ps, t);
            lrs.Add(o.GroupLearningRate(0));
            o.Step();
            if (s is not null && (perBatch || t % Epoch == 0))
            {
                if (s is ReduceLROnPlateau) s.Step(PlateauMetrics[t / Epoch - 1]);
                else s.Step();
            }
        }
        return lrs;
    }

    private double Check<T>(string name, string dtype, double tolerance) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var c = Fixture.Value.GetProperty("cases").EnumerateArray().First(e => e.GetProperty("name").GetString() == name);
        var ps = InitialParameters<T>();
        var (o, s, perBatch) = Make(name, ps);
        var lrs = Run(o, s, perBatch, ps, 1, Steps);
        double maxErr = 0;
        var expected = c.GetProperty(dtype).EnumerateArray().ToArray();
        for (int k = 0; k < ps.Length; k++)
        {
            var want = expected[k].EnumerateArray().Select(x => x.GetDouble()).ToArray();
            var got = ps[k].Value.AsSpan();
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++)
            {
                double err = Math.Abs(double.CreateChecked(got[i]) - want[i]);
                Assert.False(double.IsNaN(err), $"{name} {dtype}: {ps[k].Name}[{i}] is NaN");
                maxErr = Math.Max(maxErr, err);
                Assert.True(err <= tolerance, $"{name} {dtype}: {ps[k].Name}[{i}] = {got[i]} after {Steps} steps, torch has {want[i]} (|error| {err:E2} > {tolerance:E0})");
            }
        }
        if (c.TryGetProperty("lrs", out var torchLrs))
        {
            var want = torchLrs.EnumerateArray().Select(x => x.GetDouble()).ToArray();
            for (int t = 0; t < Steps; t++)
                Assert.True(Math.Abs(lrs[t] - want[t]) <= 1e-12 * Math.Max(1e-3, Math.Abs(want[t])), $"{name}: lr at step {t + 1} is {lrs[t]}, torch's is {want[t]}");
        }
        output.WriteLine($"{name} {dtype}: max |param − torch| after {Steps} steps = {maxErr:E2}");
        return maxErr;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32_trajectory_matches_torch(string name) => Check<float>(name, "float32", 1e-6);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float64_trajectory_matches_torch(string name) => Check<double>(name, "float64", 1e-12);
}
