using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace NetDsl.Generator.Tests;

/// <summary>An in-memory additional file.</summary>
public sealed class InMemoryAdditionalText : AdditionalText
{
    private readonly SourceText _text;
    public InMemoryAdditionalText(string path, string text)
    {
        Path = path;
        _text = SourceText.From(text, Encoding.UTF8);
    }
    public override string Path { get; }
    public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
}

/// <summary>Analyzer config options as MSBuild passes them (build_property.*).</summary>
public sealed class TestAnalyzerConfigOptions : AnalyzerConfigOptions
{
    private readonly ImmutableDictionary<string, string> _values;
    public TestAnalyzerConfigOptions(IEnumerable<KeyValuePair<string, string>> values) =>
        _values = values.ToImmutableDictionary(KeyComparer);
    public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
}

public sealed class TestAnalyzerConfigOptionsProvider : AnalyzerConfigOptionsProvider
{
    private static readonly AnalyzerConfigOptions Empty = new TestAnalyzerConfigOptions([]);
    public TestAnalyzerConfigOptionsProvider(IDictionary<string, string> global) => GlobalOptions = new TestAnalyzerConfigOptions(global);
    public override AnalyzerConfigOptions GlobalOptions { get; }
    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Empty;
    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Empty;
}

public static class GeneratorHarness
{
    public const string RootNamespace = "Test.Networks";

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.Latest);

    public static CSharpCompilation CreateCompilation(params string[] sources) =>
        CSharpCompilation.Create(
            "TestAssembly",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Source{i}.cs")),
            BasicReferences,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static IReadOnlyList<MetadataReference> BasicReferences { get; } =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal)
                        || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToList();

    public static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> additionalTexts, string? rootNamespace = RootNamespace, string? netDslDebug = null)
    {
        var global = new Dictionary<string, string>();
        if (rootNamespace != null) global["build_property.RootNamespace"] = rootNamespace;
        if (netDslDebug != null) global["build_property.NetDslDebug"] = netDslDebug;
        return CSharpGeneratorDriver.Create(
            generators: [new NetDslGenerator().AsSourceGenerator()],
            additionalTexts: additionalTexts,
            parseOptions: ParseOptions,
            optionsProvider: new TestAnalyzerConfigOptionsProvider(global),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
    }

    /// <summary>Runs the generator once over the given .net files and an empty compilation.</summary>
    public static GeneratorDriverRunResult Run(params AdditionalText[] files) =>
        CreateDriver(files).RunGenerators(CreateCompilation("namespace App { public class C { } }")).GetRunResult();
}
