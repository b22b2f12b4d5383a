using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NetDsl.Compiler;

namespace NetDsl.Generator.Tests;

public class HintNameTests
{
    [Theory]
    [InlineData("LeNet5.g.cs", "LeNet5", "LeNet5.g.cs")]
    [InlineData("LeNet5", "LeNet5", "LeNet5.g.cs")]
    [InlineData("", "ResNet", "ResNet.g.cs")]
    [InlineData(null, null, "Network.g.cs")]
    [InlineData("a<b>:c.g.cs", "x", "a_b__c.g.cs")]
    public void HintNames_AreValidForRoslyn(string? hint, string? network, string expected)
    {
        Assert.Equal(expected, NetDslGenerator.UniqueHintName(hint, network, new HashSet<string>(StringComparer.OrdinalIgnoreCase)));
    }

    [Fact]
    public void HintNames_AreUniqueWithinAFile_IgnoringCase()
    {
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        Assert.Equal("A.g.cs", NetDslGenerator.UniqueHintName("A.g.cs", "A", used));
        Assert.Equal("a.g.2.cs", NetDslGenerator.UniqueHintName("a.g.cs", "a", used));
        Assert.Equal("A.g.3.cs", NetDslGenerator.UniqueHintName("A.g.cs", "A", used));
    }

    [Fact]
    public void DuplicateHintsAcrossFiles_AreFound_WithTheFirstPathAsOwner()
    {
        var all = ImmutableArray.Create(
            new FileHints("/m/z.net", new EquatableArray<string>(new[] { "Same.g.cs", "Z.g.cs" })),
            new FileHints("/m/a.net", new EquatableArray<string>(new[] { "same.g.cs" })),
            new FileHints("/m/b.net", new EquatableArray<string>(new[] { "B.g.cs" })));

        var dup = Assert.Single(NetDslGenerator.FindDuplicateHints(all));
        Assert.Equal("same.g.cs", dup.HintName);
        Assert.Equal("/m/a.net", dup.Owner);
        Assert.Equal(new[] { "/m/a.net", "/m/z.net" }, dup.Paths);

        Assert.Empty(NetDslGenerator.FindDuplicateHints(ImmutableArray.Create(all[2])));
    }

    [Fact]
    public void SameNetworkInTwoFiles_IsADiagnostic_NotACrashedGenerator()
    {
        const string text = "network Same {\n    input x: [N, 4]\n    output y = x |> linear(2)\n}\n";
        var result = GeneratorHarness.Run(new InMemoryAdditionalText("/m/a.net", text), new InMemoryAdditionalText("/m/b.net", text));

        Assert.Null(result.Results[0].Exception);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "CS8784" or "CS8785");
        var d = Assert.Single(result.Diagnostics, x => x.Id == DiagnosticIds.DuplicateDeclaration);
        Assert.Equal("/m/b.net", d.Location.GetLineSpan().Path);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Single(result.GeneratedTrees); // a.net's copy only
    }
}
