using System.Globalization;
using NetDsl.Compiler;
using NetDsl.Onnx;
using NetDsl.Runtime;

namespace NetDsl.Tool;

/// <summary>
/// `netdsl export FILE [--network NAME] [--weights FILE] [--seed S] -o model.onnx`: the network's eval-mode forward pass as
/// ONNX (opset 17). The generated class is compiled with Roslyn and instantiated (parameters from --seed, as
/// <c>new Net(seed: S)</c>), the weights file is loaded into it with the network's own <c>Load</c>, and the instance is
/// exported with <c>net.ExportOnnx</c>, so the CLI and the API write the same model.
/// </summary>
internal static class Export
{
    public static int Run(FileInfo file, string? network, FileInfo? weights, string? output, int seed, CliOutput o)
    {
        if (string.IsNullOrWhiteSpace(output)) { o.Err.WriteLine("netdsl: export needs -o FILE.onnx"); return NetDslCli.ExitUsage; }
        if (!Commands.TryCompile(file, o, out var result)) return result is null ? NetDslCli.ExitUsage : NetDslCli.ExitErrors;
        if (!Commands.TrySelect(result, network, file, o, out var selected)) return NetDslCli.ExitUsage;
        if (selected.Count != 1)
        {
            o.Err.WriteLine($"netdsl: {file.FullName} declares {selected.Count} networks ({string.Join(", ", selected.Select(n => n.Name))}); choose one with --network NAME");
            return NetDslCli.ExitUsage;
        }
        var compiled = selected[0];
        if (weights != null && !weights.Exists) { o.Err.WriteLine($"netdsl: weights file {weights.FullName} does not exist"); return NetDslCli.ExitUsage; }

        // the ops first: no point compiling C# for a network ONNX cannot express
        var text = File.ReadAllText(file.FullName);
        var graph = OnnxExporter.ForwardGraph(file.FullName, text, compiled.Name);
        var problems = OnnxExporter.Check(graph);
        if (problems.Count > 0)
        {
            o.Err.WriteLine($"netdsl: {compiled.Name} cannot be exported to ONNX:");
            foreach (var p in problems) o.Err.WriteLine($"{file.FullName}: {p}");
            return NetDslCli.ExitErrors;
        }
        if (compiled.Source.Length == 0) { o.Err.WriteLine($"netdsl: no code was generated for {compiled.Name} (see the warnings above)"); return NetDslCli.ExitErrors; }

        // one Roslyn compilation per generated source in a process (tests export the same network several times)
        System.Reflection.Assembly? asm;
        lock (Compiled)
        {
            if (!Compiled.TryGetValue(compiled.Source, out asm))
            {
                asm = Bench.Load(selected, o);
                if (asm is null) return NetDslCli.ExitErrors;
                Compiled[compiled.Source] = asm;
            }
        }
        var type = asm.GetTypes().First(t => t.Name == compiled.Name && !t.IsGenericType);
        var net = (NetworkBase<float>)Activator.CreateInstance(type, Device.Cpu, seed)!;
        if (weights != null)
        {
            try
            {
                // NDSLCKPT (net.Save) by its magic, safetensors (net.SaveWeights, or PyTorch's state_dict) otherwise
                var head = new byte[8];
                using (var f = File.OpenRead(weights.FullName)) f.ReadExactly(head, 0, Math.Min(8, (int)Math.Min(8, f.Length)));
                if (System.Text.Encoding.ASCII.GetString(head) == "NDSLCKPT") net.Load(weights.FullName);
                else net.LoadWeights(weights.FullName, strict: true);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or ArgumentException or KeyNotFoundException or FormatException or UnauthorizedAccessException)
            {
                o.Err.WriteLine($"netdsl: cannot load weights: {ex.Message}");
                return NetDslCli.ExitUsage;
            }
        }
        net.Eval();
        try
        {
            net.ExportOnnx(output);
        }
        catch (Exception ex) when (ex is OnnxExportException or IOException or UnauthorizedAccessException)
        {
            o.Err.WriteLine($"netdsl: {ex.Message}");
            return ex is OnnxExportException ? NetDslCli.ExitErrors : NetDslCli.ExitUsage;
        }
        string Shapes(IEnumerable<(string Name, Compiler.Graph.TValue Value)> vs) => string.Join(", ", vs.Select(v => v.Name + " " + v.Value.Shape.ToDisplay()));
        var size = new FileInfo(output).Length;
        o.Out.WriteLine($"wrote {output} ({size.ToString("N0", CultureInfo.InvariantCulture)} bytes): {compiled.Name}, ONNX opset {OnnxExporter.Opset}, eval mode, "
            + (weights != null ? $"weights from {weights.Name}" : $"initial weights (seed {seed})"));
        o.Out.WriteLine($"  inputs:  {Shapes(graph.Inputs.Where(i => UsedInputs(graph).Contains(i.Name)))}");
        o.Out.WriteLine($"  outputs: {Shapes(graph.Outputs)}");
        return NetDslCli.ExitOk;
    }

    private static readonly Dictionary<string, System.Reflection.Assembly> Compiled = new(StringComparer.Ordinal);

    private static HashSet<string> UsedInputs(Compiler.Graph.NetGraph g)
    {
        var need = new HashSet<Compiler.Graph.TValue>(g.Outputs.Select(o => o.Value));
        foreach (var n in g.ForwardNodes.Reverse())
            if (n.Outputs.Any(need.Contains)) foreach (var i in n.Inputs) need.Add(i);
        return g.Inputs.Where(i => need.Contains(i.Value)).Select(i => i.Name).ToHashSet();
    }
}
