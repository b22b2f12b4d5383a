using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetDsl.Generator.Tests;

/// <summary>ResNet-18 (batchnorm: parameters, buffers and layer classes) through the real generator and the C# compiler.</summary>
public class ResNet18CompilesTests
{
    [Fact]
    public void ResNet18_GeneratedCode_CompilesAgainstTheRuntime_WithoutDiagnostics()
    {
        var runtime = typeof(NetDsl.Runtime.Device).Assembly.Location;
        var bin = Path.GetDirectoryName(runtime)!;
        var references = GeneratorHarness.BasicReferences
            .Append(MetadataReference.CreateFromFile(runtime))
            .Concat(Directory.GetFiles(bin, "ILGPU*.dll").Select(p => MetadataReference.CreateFromFile(p)))
            .Concat(Directory.GetFiles(bin, "Spectre*.dll").Select(p => MetadataReference.CreateFromFile(p)));
        var compilation = CSharpCompilation.Create("Generated",
            [CSharpSyntaxTree.ParseText("namespace App { public class C { } }", GeneratorHarness.ParseOptions)],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

        var path = Path.Combine(RepoPaths.Root, "examples", "Models", "resnet18.net");
        var driver = GeneratorHarness.CreateDriver([new InMemoryAdditionalText(path, File.ReadAllText(path))]);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);

        Assert.Empty(generatorDiagnostics);
        var generated = Assert.Single(output.SyntaxTrees.Skip(1));
        Assert.Contains("public const long ParameterCount = 11689512;", generated.ToString());
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.True(problems.Count == 0, "generated code does not compile cleanly:\n" + string.Join("\n", problems));
    }
}
