using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetDsl.Generator.Tests;

/// <summary>
/// Example files through the real generator and the C# compiler against the runtime: the generated code compiles with no
/// warnings (a user's build with warnings as errors must not fail on generated code).
/// </summary>
public class GeneratedCodeCompilesTests
{
    [Theory]
    [InlineData("Mnist/lenet5.net", 61_706L)]
    [InlineData("Models/resnet18.net", 11_689_512L)]   // batchnorm: parameters, buffers and layer classes
    [InlineData("Models/resnet.net", 25_557_032L)]     // ResNet-34 to -152: kernel calls shared by many kernels (CallOutliner)
    [InlineData("Models/inception.net", 163_696L)]      // a network without a loss
    [InlineData("Models/unet.net", 31_036_546L)]        // transposed convolutions, per-pixel loss
    [InlineData("Transformers/encoder.net", 792_330L)]
    public void Generated_code_compiles_against_the_runtime_without_warnings(string example, long firstCount)
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

        var path = Path.Combine(RepoPaths.Root, "examples", example);
        var driver = GeneratorHarness.CreateDriver([new InMemoryAdditionalText(path, File.ReadAllText(path))]);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);

        Assert.Empty(generatorDiagnostics);
        var generated = output.SyntaxTrees.Skip(1).ToList();
        Assert.NotEmpty(generated);
        Assert.Contains($"public const long ParameterCount = {firstCount};", generated[0].ToString());
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.True(problems.Count == 0, "generated code does not compile cleanly:\n" + string.Join("\n", problems));
    }
}
