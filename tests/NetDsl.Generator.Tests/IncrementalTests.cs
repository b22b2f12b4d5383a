using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetDsl.Generator.Tests;

public class IncrementalTests
{
    private const string NetA =
        "network A {\n    input x: [N, 4]\n    output y = x |> linear(2)\n}\n";
    private const string NetB =
        "network B {\n    input x: [N, 8]\n    output y = x |> linear(3)\n}\n";

    private static IEnumerable<IncrementalGeneratorRunStep> Steps(GeneratorDriverRunResult result, string name) =>
        result.Results[0].TrackedSteps.TryGetValue(name, out var steps) ? steps : [];

    private static void AssertAllCached(GeneratorDriverRunResult result)
    {
        var tracked = result.Results[0].TrackedSteps;
        foreach (var name in TrackingNames.All)
        {
            Assert.True(tracked.ContainsKey(name), $"step {name} was not tracked");
            foreach (var step in tracked[name])
                foreach (var (_, reason) in step.Outputs)
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                        $"step {name}: output was {reason}, expected Cached or Unchanged");
        }
    }

    [Fact]
    public void AllStepsAreTrackedOnTheFirstRun()
    {
        var result = GeneratorHarness.Run(new InMemoryAdditionalText("/m/a.net", NetA), new InMemoryAdditionalText("/m/b.net", NetB));
        var tracked = result.Results[0].TrackedSteps;
        foreach (var name in TrackingNames.All)
        {
            Assert.True(tracked.ContainsKey(name), $"step {name} was not tracked");
            Assert.All(tracked[name].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));
        }
        Assert.Equal(2, Steps(result, TrackingNames.Compiled).Count());
    }

    [Fact]
    public void AddingOrEditingCSharp_RegeneratesNothing()
    {
        var compilation = GeneratorHarness.CreateCompilation("namespace App { public class C { } }");
        var driver = GeneratorHarness.CreateDriver([new InMemoryAdditionalText("/m/a.net", NetA), new InMemoryAdditionalText("/m/b.net", NetB)]);
        driver = driver.RunGenerators(compilation);
        var first = driver.GetRunResult();

        // Add an unrelated C# file.
        var added = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace App { public class D { } }", GeneratorHarness.ParseOptions, path: "D.cs"));
        driver = driver.RunGenerators(added);
        var second = driver.GetRunResult();
        AssertAllCached(second);

        // Edit it.
        var oldTree = added.SyntaxTrees.Single(t => t.FilePath == "D.cs");
        var edited = added.ReplaceSyntaxTree(oldTree, CSharpSyntaxTree.ParseText("namespace App { public class D { public int X; } }", GeneratorHarness.ParseOptions, path: "D.cs"));
        driver = driver.RunGenerators(edited);
        var third = driver.GetRunResult();
        AssertAllCached(third);

        // Same output every time.
        Assert.Equal(first.GeneratedTrees.Select(t => t.ToString()), third.GeneratedTrees.Select(t => t.ToString()));
        Assert.Equal(first.Diagnostics.Select(d => d.ToString()), third.Diagnostics.Select(d => d.ToString()));
    }

    [Fact]
    public void EditingOneNetFile_RecompilesOnlyThatFile()
    {
        var a = new InMemoryAdditionalText("/m/a.net", NetA);
        var b = new InMemoryAdditionalText("/m/b.net", NetB);
        var compilation = GeneratorHarness.CreateCompilation("namespace App { public class C { } }");
        var driver = GeneratorHarness.CreateDriver([a, b]).RunGenerators(compilation);

        var b2 = new InMemoryAdditionalText("/m/b.net", NetB.Replace("linear(3)", "linear(5)"));
        driver = driver.ReplaceAdditionalText(b, b2).RunGenerators(compilation);
        var result = driver.GetRunResult();

        // The file step: a is cached, b is modified.
        var files = Steps(result, TrackingNames.NetFiles).ToList();
        Assert.Equal(2, files.Count);
        Assert.Equal(IncrementalStepRunReason.Cached, Output(files, "/m/a.net").Reason);
        Assert.Equal(IncrementalStepRunReason.Modified, Output(files, "/m/b.net").Reason);

        // The compile step: only b ran again (its output is Modified, or Unchanged if the result is equal).
        var compiled = Steps(result, TrackingNames.Compiled).ToList();
        Assert.Equal(2, compiled.Count);
        var compiledA = compiled.Single(s => ((NetFileResult)s.Outputs[0].Value).Path == "/m/a.net");
        var compiledB = compiled.Single(s => ((NetFileResult)s.Outputs[0].Value).Path == "/m/b.net");
        Assert.Equal(IncrementalStepRunReason.Cached, compiledA.Outputs[0].Reason);
        Assert.Contains(compiledB.Outputs[0].Reason, new[] { IncrementalStepRunReason.Modified, IncrementalStepRunReason.Unchanged });
        Assert.Contains(compiledB.Inputs, i => i.Source.Outputs[i.OutputIndex].Reason == IncrementalStepRunReason.Modified);
    }

    private static (object Value, IncrementalStepRunReason Reason) Output(IEnumerable<IncrementalGeneratorRunStep> steps, string path) =>
        steps.SelectMany(s => s.Outputs).Single(o => ((NetFileModel)o.Value).Path == path);

    [Fact]
    public void ChangingRootNamespace_RecompilesEveryFile()
    {
        var a = new InMemoryAdditionalText("/m/a.net", NetA);
        var compilation = GeneratorHarness.CreateCompilation("namespace App { public class C { } }");
        var driver = GeneratorHarness.CreateDriver([a], "One").RunGenerators(compilation);
        driver = driver.WithUpdatedAnalyzerConfigOptions(new TestAnalyzerConfigOptionsProvider(
            new Dictionary<string, string> { ["build_property.RootNamespace"] = "Two" }));
        var result = driver.RunGenerators(compilation).GetRunResult();

        var ns = Steps(result, TrackingNames.RootNamespace).SelectMany(s => s.Outputs).Single();
        Assert.Equal("Two", ns.Value);
        Assert.Equal(IncrementalStepRunReason.Modified, ns.Reason);
        var input = Steps(result, TrackingNames.NetFilesWithNamespace).SelectMany(s => s.Outputs).Single();
        Assert.Equal(IncrementalStepRunReason.Modified, input.Reason);
    }

    [Fact]
    public void PipelineModelsHoldNoRoslynObjects()
    {
        var result = GeneratorHarness.Run(new InMemoryAdditionalText("/m/a.net", NetA), new InMemoryAdditionalText("/m/b.net", NetB));
        foreach (var name in TrackingNames.All)
            foreach (var step in result.Results[0].TrackedSteps[name])
                foreach (var (value, _) in step.Outputs)
                    AssertNoRoslynObjects(value, $"{name}");
    }

    private static void AssertNoRoslynObjects(object? value, string path, int depth = 0)
    {
        if (value is null || depth > 8) return;
        var type = value.GetType();
        Assert.False(type == typeof(Compilation) || typeof(Compilation).IsAssignableFrom(type)
                     || typeof(ISymbol).IsAssignableFrom(type) || typeof(SyntaxNode).IsAssignableFrom(type)
                     || typeof(Location).IsAssignableFrom(type) || typeof(SyntaxTree).IsAssignableFrom(type)
                     || typeof(Microsoft.CodeAnalysis.Diagnostic).IsAssignableFrom(type),
            $"{path} holds a Roslyn object of type {type}");
        if (type.IsPrimitive || type.IsEnum || value is string) return;
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items) AssertNoRoslynObjects(item, $"{path}[{i++}]", depth + 1);
            return;
        }
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            AssertNoRoslynObjects(field.GetValue(value), $"{path}.{field.Name}", depth + 1);
    }

    [Fact]
    public void EquatableArray_HasValueEquality()
    {
        var x = new EquatableArray<string>(new[] { "a", "b" });
        var y = new EquatableArray<string>(new List<string> { "a", "b" });
        var z = new EquatableArray<string>(new[] { "a", "c" });
        Assert.Equal(x, y);
        Assert.True(x == y);
        Assert.Equal(x.GetHashCode(), y.GetHashCode());
        Assert.NotEqual(x, z);
        Assert.Equal(default(EquatableArray<string>), EquatableArray<string>.Empty);
        Assert.Empty(default(EquatableArray<string>));

        var r1 = new NetFileResult("/a.net", EquatableArray<GeneratedSource>.Empty,
            new EquatableArray<DiagnosticInfo>(new[] { new DiagnosticInfo("NDSL0001", NetDsl.Compiler.Severity.Error, "m", "/a.net", 1, 2, 1, 3) }));
        var r2 = new NetFileResult("/a.net", EquatableArray<GeneratedSource>.Empty,
            new EquatableArray<DiagnosticInfo>(new[] { new DiagnosticInfo("NDSL0001", NetDsl.Compiler.Severity.Error, "m", "/a.net", 1, 2, 1, 3) }));
        Assert.Equal(r1, r2);
    }
}
