using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetDsl.Generator.Tests;

/// <summary>
/// A network with errors still gets its class skeleton (members that throw), so the user's C# that uses it compiles and the
/// build shows the one NDSL error, not extra CS0246 "type not found" errors.
/// </summary>
public class SkeletonTests
{
    private static (IReadOnlyList<Diagnostic> Generator, IReadOnlyList<Diagnostic> CSharp, Compilation Output) Build(string net, string userCode)
    {
        var runtime = typeof(NetDsl.Runtime.Device).Assembly.Location;
        var bin = Path.GetDirectoryName(runtime)!;
        var references = GeneratorHarness.BasicReferences
            .Append(MetadataReference.CreateFromFile(runtime))
            .Concat(Directory.GetFiles(bin, "ILGPU*.dll").Select(p => MetadataReference.CreateFromFile(p)))
            .Concat(Directory.GetFiles(bin, "Spectre*.dll").Select(p => MetadataReference.CreateFromFile(p)));
        var compilation = CSharpCompilation.Create("App",
            [CSharpSyntaxTree.ParseText(userCode, GeneratorHarness.ParseOptions, path: "Program.cs")],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var driver = GeneratorHarness.CreateDriver([new InMemoryAdditionalText("/app/models/bad.net", net)], rootNamespace: "MyApp");
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var csharp = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        return (generatorDiagnostics, csharp, output);
    }

    private const string UserCode = """
        using MyApp;
        using NetDsl.Runtime;
        using NetDsl.Runtime.Optim;
        public static class Use
        {
            public static object Run()
            {
                var net = new Broken(Device.Cpu, seed: 1);
                var x = Tensor<float>.Zeros(2, 1, 8, 8);
                var y = Tensor<int>.Zeros(2);
                float loss = net.TrainStep(x, y, new Sgd<float>(net.Parameters, lr: 0.1));
                net.Eval();
                Tensor<float> logits = net.Forward(x);
                return (loss, logits, Broken.ParameterCount, net.ComputeLoss(x, y));
            }
        }
        """;

    [Fact]
    public void One_net_mistake_gives_one_error_and_the_users_code_still_compiles()
    {
        const string net = """
            network Broken {
                input image: [N, 1, 8, 8]
                input label: int[N]
                x = image |> convv(4, 3) |> flatten
                output logits = x |> linear(3)
                loss = cross_entropy(logits, label)
            }
            """;
        var (gen, csharp, output) = Build(net, UserCode);
        var error = Assert.Single(gen, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("NDSL0201", error.Id);
        Assert.StartsWith("/app/models/bad.net(4,18): error NDSL0201", error.ToString());
        Assert.True(csharp.Count == 0, "the user's C# got errors of its own:\n" + string.Join("\n", csharp));
        var skeleton = Assert.Single(output.SyntaxTrees, t => t.FilePath.EndsWith("Broken.g.cs", StringComparison.Ordinal)).ToString();
        Assert.Contains("namespace MyApp", skeleton);
        Assert.Contains("throw new InvalidOperationException(CompileErrors)", skeleton);
    }

    [Fact]
    public void Without_the_skeleton_the_same_code_would_not_find_the_type()
    {
        // The control: a file with no network named Broken gives the CS0246 errors the skeleton prevents.
        var (_, csharp, _) = Build("network Other {\n    input x: [N, 4]\n    output y = x |> linear(2)\n}\n", UserCode);
        Assert.Contains(csharp, d => d.Id == "CS0246");
    }

    [Fact]
    public void Names_are_escaped_as_in_the_real_class()
    {
        // An input named like a C# keyword, and a layer whose property would be the skeleton's own constant's name.
        const string net = "network Odd {\n    input class: [N, 4]\n    x = class |> linear(4, name: \"compileErrors\")\n    output y = x |> linearr(2)\n}\n";
        const string user = "using MyApp;\nusing NetDsl.Runtime;\npublic static class Use { public static object Run() => new Odd(Device.Cpu).Forward(Tensor<float>.Zeros(1, 4)); }\n";
        var (gen, csharp, output) = Build(net, user);
        Assert.Contains(gen, d => d.Severity == DiagnosticSeverity.Error && d.Id == "NDSL0201");
        Assert.True(csharp.Count == 0, "the user's C# got errors of its own:\n" + string.Join("\n", csharp));
        var skeleton = Assert.Single(output.SyntaxTrees, t => t.FilePath.EndsWith("Odd.g.cs", StringComparison.Ordinal)).ToString();
        Assert.Contains("Forward(Tensor<T> @class)", skeleton);
    }
}
