using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace NetDsl.Generator.Tests;

/// <summary>
/// Debug mode through the generator: the MSBuild property NetDslDebug (build_property.NetDslDebug) turns on `#line`
/// directives into the .net file and a plan without buffer reuse; the code compiles cleanly and a stack trace from a kernel
/// lands on the .net line.
/// </summary>
public class DebugModeTests
{
    private static string Generate(string? netDslDebug)
    {
        var driver = GeneratorHarness.CreateDriver([new InMemoryAdditionalText(RepoPaths.LeNet5, File.ReadAllText(RepoPaths.LeNet5))], netDslDebug: netDslDebug);
        var result = driver.RunGenerators(GeneratorHarness.CreateCompilation("namespace App { public class C { } }")).GetRunResult();
        Assert.Empty(result.Diagnostics);
        return Assert.Single(result.GeneratedTrees).ToString();
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("false", false)]
    [InlineData("true", true)]
    [InlineData("True", true)]
    public void NetDslDebug_turns_on_line_directives_into_the_net_file(string? value, bool debug)
    {
        var s = Generate(value);
        Assert.Equal(debug, s.Contains($"#line 7 \"{RepoPaths.LeNet5}\""));
        Assert.Equal(debug, s.Contains("#line default"));
        Assert.Equal(debug, !s.Contains("shares memory with"));
    }

    [Fact]
    public void Changing_NetDslDebug_recompiles_the_files()
    {
        var a = new InMemoryAdditionalText("/m/a.net", "network A {\n    input x: [N, 4]\n    output y = x |> linear(2)\n}\n");
        var compilation = GeneratorHarness.CreateCompilation("namespace App { public class C { } }");
        var driver = GeneratorHarness.CreateDriver([a]).RunGenerators(compilation);
        driver = driver.WithUpdatedAnalyzerConfigOptions(new TestAnalyzerConfigOptionsProvider(
            new Dictionary<string, string> { ["build_property.RootNamespace"] = GeneratorHarness.RootNamespace, ["build_property.NetDslDebug"] = "true" }));
        var result = driver.RunGenerators(compilation).GetRunResult();
        var debug = result.Results[0].TrackedSteps[TrackingNames.Debug].SelectMany(s => s.Outputs).Single();
        Assert.Equal(true, debug.Value);
        Assert.Equal(IncrementalStepRunReason.Modified, debug.Reason);
        Assert.Contains("#line 3 \"/m/a.net\"", Assert.Single(result.GeneratedTrees).ToString());
    }

    /// <summary>Compiles LeNet-5 generated in debug mode with a portable PDB and loads it.</summary>
    private static Assembly CompileAndLoad()
    {
        var runtime = typeof(NetDsl.Runtime.Device).Assembly.Location;
        var bin = Path.GetDirectoryName(runtime)!;
        var references = GeneratorHarness.BasicReferences
            .Append(MetadataReference.CreateFromFile(runtime))
            .Concat(Directory.GetFiles(bin, "ILGPU*.dll").Select(p => MetadataReference.CreateFromFile(p)))
            .Concat(Directory.GetFiles(bin, "Spectre*.dll").Select(p => MetadataReference.CreateFromFile(p)));
        var compilation = CSharpCompilation.Create("DebugLeNet" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText("namespace App { public class C { } }", GeneratorHarness.ParseOptions)],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable,
                optimizationLevel: OptimizationLevel.Debug));
        var driver = GeneratorHarness.CreateDriver([new InMemoryAdditionalText(RepoPaths.LeNet5, File.ReadAllText(RepoPaths.LeNet5))], netDslDebug: "true");
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics);
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.True(problems.Count == 0, "debug-mode code does not compile cleanly:\n" + string.Join("\n", problems));
        using var pe = new MemoryStream();
        using var pdb = new MemoryStream();
        var emitted = output.Emit(pe, pdb, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb));
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        return Assembly.Load(pe.ToArray(), pdb.ToArray());
    }

    [Fact]
    public void A_stack_trace_from_a_kernel_lands_on_the_net_line()
    {
        var asm = CompileAndLoad();
        var type = asm.GetTypes().Single(t => t.Name == "LeNet5" && !t.IsGenericType);
        dynamic net = Activator.CreateInstance(type, NetDsl.Runtime.Device.Cpu, 1)!;
        net.CheckFinite = true;   // a NaN in the input makes a kernel's check throw
        var x = new float[2 * 28 * 28];
        x[5] = float.NaN;
        var images = NetDsl.Runtime.Tensor<float>.FromArray(x, [2, 1, 28, 28]);
        foreach (bool training in new[] { true, false })
        {
            if (training) net.Train(); else net.Eval();
            var ex = Assert.ThrowsAny<Exception>(() => { net.Forward(images); });
            // the message names the kernel that saw the NaN and its .net line; the generated method's frame is at that line of the .net file
            var line = Regex.Match(ex.Message, @"\(lenet5\.net line (\d+)").Groups[1].Value;
            Assert.True(line.Length > 0, ex.Message);
            var frame = ex.StackTrace!.Split('\n').First(l => l.Contains(training ? ".RunForward(" : ".RunEval("));
            Assert.True(Regex.IsMatch(frame, @"in " + Regex.Escape(RepoPaths.LeNet5) + ":line " + line + @"\s*$"), frame + "\n" + ex.Message);
        }
    }
}
