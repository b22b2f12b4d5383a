using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Compiler;
using NetDsl.Compiler.Emit;

namespace NetDsl.Generator.Tests;

/// <summary>
/// A .net file is data: no name in it can become code. Hostile names (from a review that broke the generated C# with 26 of 48
/// of them and injected a Process.Start) either get a located NDSL diagnostic or generate C# that compiles with no error
/// against the runtime; injected text ends up inside a string literal or a comment.
/// </summary>
public class NamesAreDataTests
{
    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(() =>
    {
        var runtime = typeof(NetDsl.Runtime.Device).Assembly.Location;
        var bin = Path.GetDirectoryName(runtime)!;
        return GeneratorHarness.BasicReferences
            .Append(MetadataReference.CreateFromFile(runtime))
            .Concat(Directory.GetFiles(bin, "ILGPU*.dll").Select(p => MetadataReference.CreateFromFile(p)))
            .Concat(Directory.GetFiles(bin, "Spectre*.dll").Select(p => MetadataReference.CreateFromFile(p)))
            .ToList();
    });

    /// <summary>Compiles the generated sources with the C# compiler against the runtime; the errors it reports.</summary>
    internal static List<string> CSharpErrors(IEnumerable<string> sources)
    {
        var trees = sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, GeneratorHarness.ParseOptions, path: $"g{i}.cs")).ToList();
        var c = CSharpCompilation.Create("G", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        return c.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
    }

    private const string Body = "    input x: [N, 4]\n    input label: int[N]\n";

    /// <summary>Each case: a .net text that must either be rejected with a located NDSL error or generate C# that compiles.</summary>
    public static TheoryData<string, string> HostileCases()
    {
        var data = new TheoryData<string, string>();
        string[] layerNames =
        [
            "fc\"", "fc\nx", "fc\\x", "fc*/x", "fc x", "fc#x", "fc&x", "fc\0x", "fc\u0085x", "", "1fc",
            "fc/*\" + System.Diagnostics.Process.Start(\"touch\", \"pwned\").Id + \"*/",
            "fc\u2028x", "<fc>", "fc{x}", "fc..x", ".fc", "fc.", "\uff46\uff43", "forward", "trainStep", "Forward", "device", "math", "tensor",
            "system", "_arena0", "item1", "a.b", "x", "label", "Conv1", "K", "StepCount", "ToString", "layer1.0", "features.0.1",
        ];
        foreach (var n in layerNames)
            data.Add("name: " + Names.Comment(n),
                "network Net {\n" + Body + $"    output y = x |> linear(3, name: {NetString(n)})\n    loss = cross_entropy(y, label)\n}}\n");
        // network names
        foreach (var n in new[] { "@class", "class", "event", "Forward", "TrainStep", "NetworkBase", "Tensor", "System", "Device", "T", "Net_", "value", "var", "Math" })
            data.Add("network " + n, $"network {n} {{\n{Body}    output y = x |> linear(3)\n    loss = cross_entropy(y, label)\n}}\n");
        // input, output and symbol names
        foreach (var n in new[] { "base", "this", "optimizer", "loss", "y", "Training", "Bind", "N", "T", "sym_N", "item1", "Item1", "_lossValue", "@x" })
        {
            data.Add("input " + n, $"network Net {{\n    input {n}: [N, 4]\n    input label: int[N]\n    output o = {n} |> linear(3)\n    loss = cross_entropy(o, label)\n}}\n");
            data.Add("output " + n, $"network Net {{\n{Body}    output first = x |> linear(3)\n    output {n} = x |> linear(2)\n    loss = cross_entropy(first, label)\n}}\n");
            data.Add("symbol " + n, $"network Net {{\n    input x: [{n}, 4]\n    input label: int[{n}]\n    output o = x |> linear(3)\n    loss = cross_entropy(o, label)\n}}\n");
        }
        // layers that map to one member, and a layer named like the network
        data.Add("layers a.b and A.b", "network Net {\n" + Body + "    h = x |> linear(4, name: \"a.b\")\n    output y = h |> linear(3, name: \"A.b\")\n    loss = cross_entropy(y, label)\n}\n");
        data.Add("layer named like its network", "network Net {\n" + Body + "    output y = x |> linear(3, name: \"net\")\n    loss = cross_entropy(y, label)\n}\n");
        data.Add("outputs Item2 then Item1", "network Net {\n" + Body + "    output Item2 = x |> linear(3)\n    output Item1 = x |> linear(2)\n    loss = cross_entropy(Item2, label)\n}\n");
        return data;
    }

    /// <summary>A .net string literal holding <paramref name="s"/> (the lexer knows \\, \", \n, \t and \r).</summary>
    private static string NetString(string s) =>
        "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "\"";

    [Theory]
    [MemberData(nameof(HostileCases))]
    public void A_hostile_name_is_a_located_error_or_generates_valid_CSharp(string what, string net)
    {
        var r = NetCompiler.Compile("hostile.net", net);
        var errors = r.Diagnostics.Where(d => d.Severity == Severity.Error).ToList();
        Assert.DoesNotContain(r.Diagnostics, d => d.Id == DiagnosticIds.InternalError);
        // an error is located on a real line of the file; whatever is still generated (a syntax error elsewhere leaves the
        // other statements' network) must be valid C# too
        Assert.All(errors, d => Assert.InRange(d.Span.Line, 1, net.Split('\n').Length));
        var sources = r.Networks.Select(n => n.Source).Where(s => s.Length > 0).ToList();
        if (errors.Count == 0) Assert.NotEmpty(sources);
        if (sources.Count == 0) return;
        var cs = CSharpErrors(sources);
        Assert.True(cs.Count == 0, $"{what}: the generated C# does not compile:\n" + string.Join("\n", cs.Take(10)));
    }

    [Fact]
    public void The_review_s_injection_through_name_is_rejected_at_its_argument()
    {
        var net = "network R {\n    input x: [N, 8]\n    output o = x |> linear(16, name: \"fc/*\\\" + System.Diagnostics.Process.Start(\\\"touch\\\", \\\"pwned\\\").Id + \\\"*/\")\n}\n";
        var r = NetCompiler.Compile("r.net", net);
        var d = Assert.Single(r.Diagnostics, x => x.Severity == Severity.Error);
        Assert.Equal(DiagnosticIds.InvalidName, d.Id);
        Assert.Equal(3, d.Span.Line);
        Assert.All(r.Networks, n => Assert.Equal("", n.Source));
    }

    [Fact]
    public void Injected_text_in_the_file_name_ends_up_inside_a_string_literal_or_a_comment_inert()
    {
        // the file name is not a .net name (the build chooses it), so it is not rejected: it is escaped wherever it is printed
        const string payload = "\" + System.Diagnostics.Process.Start(\"touch\", \"pwned\").Id + \"\n#error x\u2028\u0085 + \"";
        var path = "models/fc" + payload + ".net";
        var r = NetCompiler.Compile(path, "network Net {\n" + Body + "    output y = x |> linear(3)\n    loss = cross_entropy(y, label)\n}\n");
        Assert.True(r.Success, string.Join("\n", r.Diagnostics));
        var source = Assert.Single(r.Networks).Source;
        var tree = CSharpSyntaxTree.ParseText(source, GeneratorHarness.ParseOptions);
        Assert.Empty(tree.GetDiagnostics());
        Assert.Empty(CSharpErrors([source]));
        var root = tree.GetRoot();
        // no code mentions Process: every occurrence of the payload is in a string literal token or a comment
        Assert.DoesNotContain(root.DescendantNodes().OfType<IdentifierNameSyntax>(), id => id.Identifier.ValueText == "Process");
        Assert.DoesNotContain(root.DescendantTrivia(), t => t.IsKind(SyntaxKind.ErrorDirectiveTrivia));
        var literal = root.DescendantNodes().OfType<LiteralExpressionSyntax>()
            .Single(l => l.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Identifier.ValueText: "SourceFile" } });
        Assert.Equal(Path.GetFileName(path), literal.Token.ValueText);   // the constant holds the name exactly
        Assert.Contains(root.DescendantTrivia(), t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) && t.ToString().Contains("Process.Start"));
    }

    [Fact]
    public void Every_public_or_protected_member_of_NetworkBase_is_reserved()
    {
        var members = typeof(NetDsl.Runtime.NetworkBase<float>)
            .GetMembers(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.FlattenHierarchy)
            .Where(m => m switch
            {
                System.Reflection.MethodBase mb => (mb.IsPublic || mb.IsFamily || mb.IsFamilyOrAssembly) && !mb.IsSpecialName,
                System.Reflection.PropertyInfo p => p.GetMethod is { } g && (g.IsPublic || g.IsFamily || g.IsFamilyOrAssembly),
                System.Reflection.FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
                System.Reflection.EventInfo => true,
                Type t => t.IsNestedPublic || t.IsNestedFamily,
                _ => false,
            })
            .Select(m => m.Name.Split('`')[0])
            .Where(n => n != ".ctor")
            .Distinct()
            .ToList();
        var missing = members.Where(m => !NetworkNames.InheritedMembers.Contains(m)).ToList();
        Assert.True(missing.Count == 0, "NetworkNames.InheritedMembers lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_type_or_namespace_the_generated_code_names_is_reserved()
    {
        // the generated code of networks that use every kind of kernel: each simple name that binds to a type or namespace
        // declared outside the generated file must be in ReservedTypes, or a network named like it would hide it
        var files = new[] { "Mnist/lenet5.net", "Models/resnet20.net", "Transformers/encoder.net", "Generative/vae.net", "CharRnn/charlm.net", "Models/unet.net" };
        var sources = files.SelectMany(f =>
        {
            var path = Path.Combine(RepoPaths.Root, "examples", f);
            return NetCompiler.Compile(path, File.ReadAllText(path), new CompileOptions { Profile = true }).Networks.Select(n => n.Source).Where(s => s.Length > 0);
        }).ToList();
        var trees = sources.Select(s => CSharpSyntaxTree.ParseText(s, GeneratorHarness.ParseOptions)).ToList();
        var c = CSharpCompilation.Create("G", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var tree in trees)
        {
            var model = c.GetSemanticModel(tree);
            foreach (var id in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                if (id.Parent is MemberAccessExpressionSyntax ma && ma.Name == id) continue;     // qualified: a.B
                if (id.Parent is QualifiedNameSyntax qn && qn.Right == id) continue;
                var symbol = model.GetSymbolInfo(id).Symbol;
                if (symbol is INamespaceOrTypeSymbol { Locations: var locs } && !locs.Any(l => l.IsInSource))
                    names.Add(id.Identifier.ValueText);
                if (symbol is ITypeParameterSymbol) names.Add(id.Identifier.ValueText);
            }
        }
        Assert.NotEmpty(names);
        var missing = names.Where(n => !NetworkNames.ReservedTypes.Contains(n) && !Names.CSharpKeywords.Contains(n) && !Names.ContextualKeywords.Contains(n)).ToList();
        Assert.True(missing.Count == 0, "NetworkNames.ReservedTypes lacks: " + string.Join(", ", missing));
    }
}
