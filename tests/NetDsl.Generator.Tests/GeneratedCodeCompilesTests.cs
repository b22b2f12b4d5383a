using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetDsl.Generator.Tests;

public class GeneratedCodeCompilesTests
{
    [Fact]
    public void LeNet5_GeneratedCode_CompilesAgainstTheRuntime()
    {
        // NetDsl.Runtime and its dependencies are copied beside the test assembly.
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

        var driver = GeneratorHarness.CreateDriver([new InMemoryAdditionalText(RepoPaths.LeNet5, File.ReadAllText(RepoPaths.LeNet5))]);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);

        Assert.Empty(generatorDiagnostics);
        Assert.NotEmpty(output.SyntaxTrees.Skip(1));
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, "generated code does not compile:\n" + string.Join("\n", errors));
    }
}
