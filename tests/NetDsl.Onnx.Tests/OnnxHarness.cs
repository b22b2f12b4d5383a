using System.Diagnostics;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using DenseTensorInt = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<int>;
using DenseTensorFloat = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;

namespace NetDsl.Onnx.Tests;

/// <summary>Creates generated networks by name, makes inputs from their declared shapes, trains a few steps, and runs a model in ONNX Runtime.</summary>
internal static class OnnxHarness
{
    public static NetworkBase<float> Create(string network, int seed)
    {
        var type = typeof(OnnxHarness).Assembly.GetTypes().SingleOrDefault(t => t.Name == network && !t.IsGenericType)
            ?? throw new InvalidOperationException($"no generated class {network}");
        return (NetworkBase<float>)Activator.CreateInstance(type, Device.Cpu, seed)!;
    }

    /// <summary>
    /// Inputs for the parameters of <paramref name="method"/>: symbolic dim N = batch, any other symbol (T…) 3, from the
    /// network's own forward graph; floats in [-1, 1), ints (i·7 + seed) % 2 (valid labels and token ids).
    /// </summary>
    public static object[] Inputs(NetworkBase<float> net, MethodInfo method, int batch, int seed)
    {
        var rng = new Random(seed);
        var type = net.GetType();
        string Const(string name) => (string)type.GetField(name, BindingFlags.Public | BindingFlags.Static | BindingFlags.FlattenHierarchy)!.GetValue(null)!;
        var graph = OnnxExporter.ForwardGraph("test.net", Const("NetSource"), Const("NetworkName"));
        return method.GetParameters().Select(p =>
        {
            var declared = graph.Inputs.Single(i => i.Name == p.Name).Value.Shape;
            var shape = declared.Dims.Select(d => d.IsKnown ? d.Value : d.Symbol == "N" ? batch : 3).ToArray();
            int n = shape.Aggregate(1, (a, b) => a * b);
            if (p.ParameterType == typeof(Tensor<int>) && p.Name == "lengths")   // key lengths in [1, T]
                return (object)Tensor<int>.FromArray(Enumerable.Range(0, n).Select(i => 1 + (i * 3 + seed) % 4).ToArray(), shape);
            if (p.ParameterType == typeof(Tensor<int>)) return (object)Tensor<int>.FromArray(Enumerable.Range(0, n).Select(i => (i * 7 + seed) % 2).ToArray(), shape);
            return Tensor<float>.FromArray(Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), shape);
        }).ToArray();
    }

    public static MethodInfo Forward(NetworkBase<float> net) => net.GetType().GetMethods().Single(m => m.Name == "Forward");

    /// <summary>
    /// A few Adam steps (lr 1e-3) in training mode (TrainStep when the network has a loss, otherwise training-mode forwards), so that
    /// parameters move away from their initialization and batchnorm running statistics are not the initial 0 and 1.
    /// </summary>
    public static void Train(NetworkBase<float> net, int steps, int batch)
    {
        net.Train();
        var train = net.GetType().GetMethods().FirstOrDefault(m => m.Name == "TrainStep" && m.GetParameters().All(p => p.ParameterType.Name.StartsWith("Tensor", StringComparison.Ordinal)));
        var opt = new Adam<float>(net.Parameters, lr: 1e-3);
        for (int s = 0; s < steps; s++)
        {
            if (train != null) { train.Invoke(net, Inputs(net, train, batch, 100 + s)); opt.Step(); }
            else Forward(net).Invoke(net, Inputs(net, Forward(net), batch, 100 + s));
        }
        net.Eval();
    }

    /// <summary>The eval-mode outputs of NetDsl's own Forward, by .net output name (copied: Forward returns views).</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> NetForward(NetworkBase<float> net, object[] inputs, IReadOnlyList<string> outputNames)
    {
        var result = Forward(net).Invoke(net, inputs)!;
        var tensors = result is Tensor<float> t ? new[] { t }
            : result.GetType().GetFields().Select(f => (Tensor<float>)f.GetValue(result)!).ToArray();
        Assert.Equal(outputNames.Count, tensors.Length);
        return outputNames.Select((n, i) => (n, tensors[i])).ToDictionary(x => x.n, x => (x.Item2.Shape, x.Item2.CopyToHost()));
    }

    /// <summary>Runs an .onnx file in ONNX Runtime (CPU provider) with the inputs bound by the forward method's parameter names.</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> RunOrt(string path, MethodInfo forward, object[] inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(path, options);
        var feeds = new List<NamedOnnxValue>();
        var ps = forward.GetParameters();
        for (int i = 0; i < ps.Length; i++)
        {
            switch (inputs[i])
            {
                case Tensor<float> f: feeds.Add(NamedOnnxValue.CreateFromTensor(ps[i].Name!, new DenseTensorFloat(f.CopyToHost(), f.Shape))); break;
                case Tensor<int> n: feeds.Add(NamedOnnxValue.CreateFromTensor(ps[i].Name!, new DenseTensorInt(n.CopyToHost(), n.Shape))); break;
            }
        }
        Assert.Equal(ps.Select(p => p.Name!).OrderBy(x => x), session.InputMetadata.Keys.OrderBy(x => x));
        using var results = session.Run(feeds);
        return results.ToDictionary(r => r.Name, r =>
        {
            var t = r.AsTensor<float>();
            return (t.Dimensions.ToArray(), t.ToArray());
        });
    }

    private static string? _python;
    private static bool _pythonProbed;

    /// <summary>A python3 that can import onnx (Debian's python3-onnx is in /usr/bin/python3), or null.</summary>
    public static string? PythonWithOnnx()
    {
        if (_pythonProbed) return _python;
        _pythonProbed = true;
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var (code, _, _) = RunProcess(candidate, "-c \"import onnx\"");
                if (code == 0) return _python = candidate;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return null;
    }

    public static (int Code, string Out, string Err) RunProcess(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"{file} {args} did not finish in 120 s"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact that needs python3-onnx (onnx.checker); skipped with the reason when it is not importable.</summary>
public sealed class OnnxCheckerFactAttribute : FactAttribute
{
    public OnnxCheckerFactAttribute()
    {
        if (OnnxHarness.PythonWithOnnx() is null)
            Skip = "python3-onnx is not importable (apt-get install python3-onnx; .ci/run installs it), so onnx.checker cannot run";
    }
}
