using System.Numerics;
using System.Reflection;
using System.Text.Json;
using NetDsl.Runtime;
using NetDsl.Runtime.Ilgpu;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// Every operator's small networks (Networks/ops_*.net) against PyTorch 1.13 (Fixtures/torch_*.json, made by
/// Fixtures/torch_*.py with torchref.py): output, loss and every parameter's gradient in fp64 (1e-9) and fp32
/// (1e-5 relative); the backward pass against fp64 finite differences; and the ILGPU path against the CPU path.
/// A new case is a network in an ops_*.net file plus its PyTorch twin; the tests find it through the fixture.
/// </summary>
public class OpReferenceTests(ITestOutputHelper output)
{
    private static readonly Lazy<List<JsonElement>> s_cases = new(() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures"), "torch_*.json")
            .Where(f => !f.EndsWith("torch_reference.json", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal)
            .SelectMany(f => { using var d = JsonDocument.Parse(File.ReadAllText(f)); return d.RootElement.EnumerateArray().Select(e => e.Clone()).ToList(); })
            .ToList());

    public static IEnumerable<object[]> Cases() =>
        s_cases.Value.Select(f => new object[] { f.GetProperty("network").GetString()!, f.GetProperty("dtype").GetString()! });

    public static IEnumerable<object[]> Networks() =>
        s_cases.Value.Select(f => f.GetProperty("network").GetString()!).Distinct().Select(n => new object[] { n });

    private static JsonElement Case(string network, string dtype = "float64") =>
        s_cases.Value.Single(x => x.GetProperty("network").GetString() == network && x.GetProperty("dtype").GetString() == dtype);

    /// <summary>The generated class NetDsl.Tests.{network}&lt;T&gt; on <paramref name="device"/>.</summary>
    internal static NetworkBase<T> Create<T>(string network, Device device, int seed = 0) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var open = typeof(OpReferenceTests).Assembly.GetType($"NetDsl.Tests.{network}`1")
            ?? throw new InvalidOperationException($"no generated class {network}<T>: is the network in Networks/ops_*.net and did it compile?");
        return (NetworkBase<T>)Activator.CreateInstance(open.MakeGenericType(typeof(T)), device, seed)!;
    }

    /// <summary>Parameters from the fixture formula (file order k): sin(0.731 i + 1.37 k) / sqrt(fan-in), 0.1 scale for biases (names ending in "bias").</summary>
    internal static void SetParameters<T>(NetworkBase<T> net) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int k = 0;
        foreach (var p in net.Parameters)
        {
            bool bias = p.Name.EndsWith("bias", StringComparison.Ordinal);   // as torchref.py: also nn.MultiheadAttention's in_proj_bias
            double scale = bias ? 0.1 : 1 / Math.Sqrt(p.Shape.Skip(1).Aggregate(1, (a, b) => a * b));
            var host = new T[p.Length];
            for (int i = 0; i < host.Length; i++) host[i] = T.CreateChecked(Math.Sin(0.731 * i + 1.37 * k) * scale);
            p.Value.CopyFromHost(host);
            k++;
        }
    }

    /// <summary>The fixture's inputs in file order: float input j from sin(0.1 i + 0.7 j) + 0.5 cos(0.37 i + 0.3 j), ints as listed.</summary>
    internal static object[] Inputs<T>(JsonElement f, Device device) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var result = new List<object>();
        int j = 0;
        foreach (var spec in f.GetProperty("inputs").EnumerateArray())
        {
            var shape = spec.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (spec.TryGetProperty("int", out var ints))
            {
                var t = device.Allocate<int>(shape);
                t.CopyFromHost(ints.EnumerateArray().Select(e => e.GetInt32()).ToArray());
                result.Add(t);
            }
            else
            {
                int n = shape.Aggregate(1, (a, b) => a * b), jj = j++;
                var t = device.Allocate<T>(shape);
                t.CopyFromHost(Enumerable.Range(0, n).Select(i => T.CreateChecked(Math.Sin(0.1 * i + 0.7 * jj) + 0.5 * Math.Cos(0.37 * i + 0.3 * jj))).ToArray());
                result.Add(t);
            }
        }
        return result.ToArray();
    }

    private static MethodInfo Method(object net, string name, int args) =>
        net.GetType().GetMethods().Single(m => m.Name == name && m.GetParameters().Length == args && m.GetParameters().All(p => p.ParameterType.Name.StartsWith("Tensor", StringComparison.Ordinal)));

    internal static T TrainStep<T>(NetworkBase<T> net, object[] inputs) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        (T)Method(net, "TrainStep", inputs.Length).Invoke(net, inputs)!;

    internal static T ComputeLoss<T>(NetworkBase<T> net, object[] inputs) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        (T)Method(net, "ComputeLoss", inputs.Length).Invoke(net, inputs)!;

    /// <summary>Forward with the inputs it takes (by name); the first output.</summary>
    internal static Tensor<T> Forward<T>(NetworkBase<T> net, JsonElement f, object[] inputs) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var names = f.GetProperty("inputs").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList();
        var m = net.GetType().GetMethods().Single(m => m.Name == "Forward");
        var args = m.GetParameters().Select(p => inputs[names.IndexOf(p.Name!)]).ToArray();
        var r = m.Invoke(net, args)!;
        return r as Tensor<T> ?? (Tensor<T>)((System.Runtime.CompilerServices.ITuple)r)[0]!;
    }

    private static void SetMode<T>(NetworkBase<T> net, JsonElement f) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (f.TryGetProperty("mode", out var m) && m.GetString() == "train") net.Train(); else net.Eval();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_PyTorch(string network, string dtype)
    {
        var f = Case(network, dtype);
        if (dtype == "float64") Run<double>(network, f, 1e-9); else Run<float>(network, f, 1e-5);
    }

    private void Run<T>(string network, JsonElement f, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var net = Create<T>(network, Device.Cpu);
        SetParameters(net);
        SetMode(net, f);
        var inputs = Inputs<T>(f, Device.Cpu);
        var y = Forward(net, f, inputs).CopyToHost().Select(double.CreateChecked).ToArray();
        var expected = f.GetProperty("output").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(expected.Length, y.Length);
        double ynorm = Math.Sqrt(expected.Sum(v => v * v) / Math.Max(1, expected.Length));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - y[i]) <= tol * (Math.Abs(expected[i]) + ynorm + 1e-3), $"output[{i}]: PyTorch {expected[i]:G12}, NetDsl {y[i]:G12}");

        net = Create<T>(network, Device.Cpu); // a fresh network: Forward in training mode may have moved running statistics
        SetParameters(net);
        SetMode(net, f);
        T loss = TrainStep(net, inputs);
        double el = f.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(el - double.CreateChecked(loss)) <= tol * (1 + Math.Abs(el)), $"loss: PyTorch {el:G12}, NetDsl {loss:G12}");

        foreach (var g in f.GetProperty("grads").EnumerateObject())
        {
            var grad = net.GetParameter(g.Name).Grad.CopyToHost().Select(double.CreateChecked).ToArray();
            double sumsq = g.Value.GetProperty("sumsq").GetDouble();
            Assert.True(Math.Abs(sumsq - grad.Sum(v => v * v)) <= tol * 10 * (1e-12 + sumsq), $"{g.Name} gradient sum of squares: PyTorch {sumsq:G12}, NetDsl {grad.Sum(v => v * v):G12}");
            double norm = Math.Sqrt(sumsq / grad.Length);
            foreach (var s in g.Value.GetProperty("samples").EnumerateArray())
            {
                int i = s[0].GetInt32(); double e = s[1].GetDouble();
                Assert.True(Math.Abs(e - grad[i]) <= tol * 10 * (Math.Abs(e) + norm + 1e-12), $"{g.Name}.grad[{i}]: PyTorch {e:G12}, NetDsl {grad[i]:G12}");
            }
        }
        output.WriteLine($"{network} {typeof(T).Name}: loss {loss} (PyTorch {el:G10}), {f.GetProperty("grads").EnumerateObject().Count()} gradients match");
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Gradients_match_finite_differences(string network)
    {
        var f = Case(network);
        var net = Create<double>(network, Device.Cpu, seed: 11);
        SetMode(net, f);
        var inputs = Inputs<double>(f, Device.Cpu);
        GradientCheckTests.Check(net, () => ComputeLoss(net, inputs), () => TrainStep(net, inputs), output);
    }

    /// <summary>
    /// AccumulateGradients adds this batch's gradients to whatever Parameter.Grad held (PyTorch's backward semantics), for every
    /// op network's parameter-gradient kernels: the in-GEMM accumulation of linear layers and the scratch path of the others.
    /// </summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void Accumulated_gradients_add_to_the_existing_ones(string network)
    {
        var f = Case(network);
        var fresh = Create<double>(network, Device.Cpu, seed: 3);
        var acc = Create<double>(network, Device.Cpu, seed: 3);
        SetMode(fresh, f); SetMode(acc, f);
        var inputs = Inputs<double>(f, Device.Cpu);
        double lf = TrainStep(fresh, inputs);
        var before = acc.Parameters.Select((p, j) => Enumerable.Range(0, p.Length).Select(i => Math.Sin(0.3 * i + j)).ToArray()).ToArray();
        for (int j = 0; j < before.Length; j++) acc.Parameters[j].Grad.CopyFromHost(before[j]);
        double la = (double)Method(acc, "AccumulateGradients", inputs.Length).Invoke(acc, inputs)!;
        Assert.Equal(lf, la, 12);
        for (int j = 0; j < before.Length; j++)
        {
            var g = fresh.Parameters[j].Grad.CopyToHost(); var a = acc.Parameters[j].Grad.CopyToHost();
            for (int i = 0; i < g.Length; i++)
                Assert.True(Math.Abs(before[j][i] + g[i] - a[i]) <= 1e-12 * (1 + Math.Abs(a[i])), $"{acc.Parameters[j].Name}.grad[{i}]: {before[j][i]} + {g[i]} != {a[i]}");
        }
    }

    private static readonly Lazy<IlgpuDevice> s_gpu = new(() => IlgpuDevice.CreateCpuSimulator());

    [Theory]
    [MemberData(nameof(Networks))]
    public void Ilgpu_path_matches_the_CPU_path(string network)
    {
        var f = Case(network, "float32");
        var gpu = s_gpu.Value;
        var onCpu = Create<float>(network, Device.Cpu, seed: 5);
        var onGpu = Create<float>(network, gpu, seed: 5);
        SetMode(onCpu, f); SetMode(onGpu, f);
        float lc = TrainStep(onCpu, Inputs<float>(f, Device.Cpu));
        float lg = TrainStep(onGpu, Inputs<float>(f, gpu));
        Assert.True(Math.Abs(lc - lg) <= 1e-4 * (1 + Math.Abs(lc)), $"loss: CPU {lc}, ILGPU {lg}");
        foreach (var (a, b) in onCpu.Parameters.Zip(onGpu.Parameters))
        {
            var ea = a.Grad.CopyToHost(); var eb = b.Grad.CopyToHost();
            double norm = Math.Sqrt(ea.Sum(v => (double)v * v) / ea.Length);
            for (int i = 0; i < ea.Length; i++)
                Assert.True(Math.Abs(ea[i] - eb[i]) <= 1e-4 * (Math.Abs(ea[i]) + norm + 1e-6), $"{a.Name}.grad[{i}]: CPU {ea[i]:G9}, ILGPU {eb[i]:G9}");
        }
    }
}
