using Microsoft.CodeAnalysis;
using NetDsl.Compiler;

namespace NetDsl.Generator.Tests;

public class GeneratorDiagnosticsTests
{
    internal const string BrokenPath = "/models/broken.net";

    // Line 3 has an obvious syntax error (`= =`).
    internal const string BrokenText =
        "network Broken {\n" +
        "    input image: [N, 1, 28, 28]\n" +
        "    x = = image |> relu\n" +
        "    output y = x\n" +
        "}\n";

    [Fact]
    public void GeneratorNeverThrows_AndEveryDiagnosticIsLocatedInItsNetFile()
    {
        var result = GeneratorHarness.Run(new InMemoryAdditionalText(BrokenPath, BrokenText));

        Assert.Null(result.Results[0].Exception);
        Assert.NotEmpty(result.Diagnostics);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "CS8784" or "CS8785");
        foreach (var d in result.Diagnostics)
        {
            Assert.StartsWith("NDSL", d.Id);
            Assert.Equal("NetDsl", d.Descriptor.Category);
            var span = d.Location.GetLineSpan();
            Assert.Equal(BrokenPath, span.Path);
            Assert.StartsWith($"{BrokenPath}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): ", d.ToString());
        }
        Assert.Contains(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
    }

    [Fact]
    public void SyntaxError_IsReportedAsNDSL0001_OnItsLineInTheNetFile()
    {
        var result = GeneratorHarness.Run(new InMemoryAdditionalText(BrokenPath, BrokenText));

        // The parser recovers, so later errors may follow; the syntax error is the one on line 3.
        var d = Assert.Single(result.Diagnostics, x => x.Id == DiagnosticIds.SyntaxError);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        var span = d.Location.GetLineSpan();
        Assert.Equal(BrokenPath, span.Path);
        Assert.Equal(new Microsoft.CodeAnalysis.Text.LinePosition(2, 8), span.StartLinePosition); // 0-based
        Assert.StartsWith($"{BrokenPath}(3,9): error NDSL0001: ", d.ToString());                 // printed 1-based, at the second '='
        // No network code, only the skeleton whose members throw (see SkeletonTests).
        Assert.All(result.GeneratedTrees, t => Assert.Contains("has errors, so only this skeleton was generated", t.ToString()));
    }

    [Theory]
    [InlineData(Severity.Error, DiagnosticSeverity.Error, "error")]
    [InlineData(Severity.Warning, DiagnosticSeverity.Warning, "warning")]
    [InlineData(Severity.Info, DiagnosticSeverity.Info, "info")]
    public void CompilerSpans_AreConvertedToRoslynLocations_AndPrintLikeTheCompiler(Severity severity, DiagnosticSeverity expected, string word)
    {
        var info = new DiagnosticInfo("NDSL0102", severity, "cannot add [N, 6] and [N, 7]", "/m/a.net", 3, 7, 3, 12);

        var d = NetDslGenerator.ToRoslyn(info, "/fallback.net");

        Assert.Equal(expected, d.Severity);
        Assert.Equal("NDSL0102", d.Id);
        Assert.Equal("NetDsl", d.Descriptor.Category);
        var span = d.Location.GetLineSpan();
        Assert.Equal("/m/a.net", span.Path);
        Assert.Equal(new Microsoft.CodeAnalysis.Text.LinePosition(2, 6), span.StartLinePosition);
        Assert.Equal(new Microsoft.CodeAnalysis.Text.LinePosition(2, 11), span.EndLinePosition);
        Assert.Equal($"/m/a.net(3,7): {word} NDSL0102: cannot add [N, 6] and [N, 7]", d.ToString());

        // The same text the compiler (and so `netdsl check`) prints.
        var compilerText = new NetDsl.Compiler.Diagnostic("NDSL0102", severity, "cannot add [N, 6] and [N, 7]", "/m/a.net",
            new NetDsl.Compiler.Syntax.SourceSpan(3, 7, 3, 12)).ToString();
        Assert.Equal(compilerText, d.ToString());
    }

    [Fact]
    public void MissingOrInvertedSpans_StillGiveAValidLocation()
    {
        var none = NetDslGenerator.ToRoslyn(new DiagnosticInfo("NDSL0999", Severity.Error, "x", "", 0, 0, 0, 0), "/f.net");
        Assert.Equal("/f.net(1,1): error NDSL0999: x", none.ToString());

        var inverted = NetDslGenerator.ToRoslyn(new DiagnosticInfo("NDSL0001", Severity.Error, "x", "/f.net", 4, 5, 2, 1), "/f.net");
        var span = inverted.Location.GetLineSpan();
        Assert.Equal(span.StartLinePosition, span.EndLinePosition);
    }

    [Fact]
    public void RootNamespace_ComesFromTheBuild_WithADefault()
    {
        Assert.Equal("My.App", NetDslGenerator.GetRootNamespace(new TestAnalyzerConfigOptions(
            new Dictionary<string, string> { ["build_property.RootNamespace"] = "My.App" })));
        Assert.Equal(NetDslGenerator.DefaultNamespace, NetDslGenerator.GetRootNamespace(new TestAnalyzerConfigOptions([])));
        Assert.Equal(NetDslGenerator.DefaultNamespace, NetDslGenerator.GetRootNamespace(new TestAnalyzerConfigOptions(
            new Dictionary<string, string> { ["build_property.RootNamespace"] = "  " })));
    }

    [Fact]
    public void OnlyDotNetFilesAreCompiled()
    {
        var result = GeneratorHarness.Run(
            new InMemoryAdditionalText("/models/readme.txt", "not a network"),
            new InMemoryAdditionalText("/models/data.json", "{}"));

        Assert.Empty(result.Diagnostics);
        Assert.Empty(result.GeneratedTrees);
    }
}
