using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Ops;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Tests;

/// <summary>
/// The op registry (Ops/OpDef.cs, Ops/OpFamily.cs): one typed definition per graph op, one owner, traits instead of op
/// names in the passes, and a verifier that holds every node to its op's definition.
/// </summary>
public class OpRegistryTests
{
    private sealed class FamilyA : OpFamily
    {
        public override IEnumerable<OpDef> Ops => new[] { OpDef.Of<ConvAttrs>("twice", "x") };
    }

    private sealed class FamilyB : OpFamily
    {
        public override IEnumerable<OpDef> Ops => new[] { OpDef.Of("twice", "x, y") };
    }

    private sealed class CodeWithoutTrait : OpFamily
    {
        public override IEnumerable<OpDef> Ops => new[] { OpDef.Of("not_elementwise", "x") };
        public override IEnumerable<ElemDef> Elementwise => new[] { new ElemDef("not_elementwise", P.X) };
    }

    [Fact]
    public void An_op_defined_by_two_families_is_rejected_naming_both()
    {
        var e = Assert.Throws<InvalidOperationException>(() => OpRegistry.Build(new OpFamily[] { new FamilyA(), new FamilyB() }));
        Assert.Contains("op twice is defined twice", e.Message);
        Assert.Contains(nameof(FamilyA), e.Message);
        Assert.Contains(nameof(FamilyB), e.Message);
    }

    [Fact]
    public void Element_wise_code_for_an_op_not_marked_element_wise_is_rejected()
    {
        var e = Assert.Throws<InvalidOperationException>(() => OpRegistry.Build(new OpFamily[] { new CodeWithoutTrait() }));
        Assert.Contains("not_elementwise", e.Message);
    }

    private sealed class TraitWithoutCode : OpFamily
    {
        public override IEnumerable<OpDef> Ops => new[] { OpDef.Of("no_code", "x", OpTraits.Elementwise) };
    }

    [Fact]
    public void An_op_marked_element_wise_without_an_expression_is_rejected()
    {
        var e = Assert.Throws<InvalidOperationException>(() => OpRegistry.Build(new OpFamily[] { new TraitWithoutCode() }));
        Assert.Contains("no_code has the Elementwise trait but no element-wise expression", e.Message);
    }

    [Fact]
    public void The_registry_of_this_assembly_builds_and_reshape_has_one_owner()
    {
        // reshape's backward rule once existed in two families, and the first to answer won
        Assert.Equal(nameof(TensorOps), OpRegistry.Def("reshape").Owner.GetType().Name);
        Assert.Equal(nameof(Core), OpRegistry.Def("linear").Owner.GetType().Name);
        Assert.True(OpRegistry.Defs.Count > 150, $"{OpRegistry.Defs.Count} ops");
        // every element-wise op's code has a definition, and every definition with code is element-wise
        foreach (var e in OpRegistry.Elementwise.Keys) Assert.True(OpRegistry.Def(e).Has(OpTraits.Elementwise), e);
    }

    [Fact]
    public void Reading_attributes_of_another_type_names_both_types()
    {
        var n = new OpNode("conv2d", "conv1", new SourceSpan(1, 1, 1, 1)) { Attrs = new PoolAttrs(2, 2, 2, 2, 0, 0, false) };
        var e = Assert.Throws<InvalidOperationException>(() => n.A<ConvAttrs>());
        Assert.Contains("PoolAttrs", e.Message);
        Assert.Contains("ConvAttrs", e.Message);
    }

    [Fact]
    public void The_verifier_holds_nodes_to_their_definition()
    {
        var conv = OpRegistry.Def("conv2d");
        var span = new SourceSpan(3, 1, 3, 5);
        var g = new NetGraph("G", span);
        var x = g.NewValue("x", Shapes.Shape.Of(1, 3, 8, 8), ElemType.Float, ValueRole.Input);
        var w = g.NewValue("w", Shapes.Shape.Of(4, 3, 3, 3), ElemType.Float, ValueRole.Parameter);

        var good = new OpNode("conv2d", "conv1", span) { Attrs = ConvAttrs.Square(3, 1, 1) };
        good.Inputs.Add(x); good.Inputs.Add(w);
        Assert.Null(conv.Check(good));

        var wrongAttrs = new OpNode("conv2d", "conv1", span) { Attrs = NoAttrs.Instance };
        wrongAttrs.Inputs.Add(x); wrongAttrs.Inputs.Add(w);
        Assert.Contains("takes ConvAttrs attributes, the node has NoAttrs", conv.Check(wrongAttrs));

        var tooMany = new OpNode("conv2d", "conv1", span) { Attrs = ConvAttrs.Square(3, 1, 1) };
        tooMany.Inputs.AddRange(new[] { x, w, w, w });
        Assert.Contains("takes operands (x, weight, bias?), the node has 4 inputs", conv.Check(tooMany));

        var wrongShape = new OpNode("conv2d", "conv1", span) { Attrs = ConvAttrs.Square(3, 2, 1) };
        wrongShape.Inputs.AddRange(new[] { x, w });
        wrongShape.Outputs.Add(g.NewValue("conv1", Shapes.Shape.Of(1, 4, 8, 8)));   // stride 2 gives 4×4
        Assert.Contains("shape rule gives [1, 4, 4, 4], the node's output is [1, 4, 8, 8]", conv.Check(wrongShape));

        var gradInForward = new OpNode("conv2d_bwd_data", "conv1", span) { Attrs = ConvAttrs.Square(3, 1, 1) };
        gradInForward.Inputs.AddRange(new[] { x, w });
        Assert.Contains("gradient op conv2d_bwd_data appears in the forward pass", OpRegistry.Def("conv2d_bwd_data").Check(gradInForward));

        // in a graph: a located internal error, not an exception
        g.AddNode(wrongAttrs);
        var bag = new DiagnosticBag("g.net");
        Assert.False(GraphVerifier.Run(g, bag));
        var d = Assert.Single(bag.Items);
        Assert.Equal(DiagnosticIds.InternalError, d.Id);
        Assert.Equal(3, d.Span.Line);
    }

    [Fact]
    public void Named_operands_resolve_to_positions_and_unknown_names_fail()
    {
        var bn = OpRegistry.Def("batchnorm");
        Assert.Equal(3, bn.IndexOf("running_mean"));
        Assert.Equal((2, 3), OpRegistry.Def("linear").Arity);
        Assert.Equal((1, int.MaxValue), OpRegistry.Def("concat").Arity);
        var e = Assert.Throws<InvalidOperationException>(() => bn.IndexOf("runing_mean"));
        Assert.Contains("batchnorm has no operand 'runing_mean'", e.Message);
    }

    [Fact]
    public void Every_example_network_verifies_against_the_registry()
    {
        // the pipeline runs the verifier after differentiation: NDSL0999 would name a node that does not fit its op
        int networks = 0;
        foreach (var file in Directory.GetFiles(TestPaths.Examples, "*.net", SearchOption.AllDirectories))
        {
            var r = NetCompiler.Compile(file, File.ReadAllText(file));
            Assert.DoesNotContain(r.Diagnostics, d => d.Id == DiagnosticIds.InternalError);
            networks += r.Networks.Count(n => n.Source.Length > 0);
        }
        Assert.True(networks >= 30, $"{networks} networks compiled");
    }

    [Fact]
    public void Generic_passes_read_traits_not_op_names()
    {
        // the fuser, the memory planner, the rematerializer, the pool/relu swap and the pipeline decide by OpTraits; an
        // op-name test there would make a new op silently miss an optimization (or get a wrong one)
        var src = Path.Combine(TestPaths.Root, "src", "NetDsl.Compiler");
        var files = new[] { "Fusion/Fuser.cs", "Memory/MemoryPlanner.cs", "Memory/Rematerializer.cs", "Graph/PoolBeforeRelu.cs", "Pipeline.cs", "Autodiff/Differentiator.cs",
            "Fusion/EvalProgram.cs", "Fusion/KernelCost.cs", "Fusion/AccumulateModes.cs", "Emit/NetworkEmitter.cs" };
        var opName = new Regex(@"\.Op\s*(==|!=)\s*""|case\s+""[a-z0-9_]+""\s*:");
        foreach (var f in files)
        {
            var text = File.ReadAllText(Path.Combine(src, f));
            var hits = opName.Matches(text).Select(m => m.Value).ToList();
            Assert.True(hits.Count == 0, $"{f} tests op names: {string.Join(", ", hits)}");
        }
    }
}

/// <summary>The diagnostic catalog (Diagnostics.cs) covers every id, and docs/diagnostics.md is printed from it.</summary>
public class DiagnosticCatalogTests
{
    [Fact]
    public void Every_id_has_one_catalog_entry_and_every_entry_an_id()
    {
        var ids = typeof(DiagnosticIds).GetFields().Select(f => (string)f.GetValue(null)!).ToList();
        var entries = DiagnosticCatalog.All.Select(d => d.Id).ToList();
        Assert.Equal(entries.Count, entries.Distinct().Count());
        Assert.Empty(ids.Except(entries));
        Assert.Empty(entries.Except(ids));
        Assert.All(DiagnosticCatalog.All, d => Assert.False(string.IsNullOrWhiteSpace(d.Title) || d.Explanation.Length < 20, d.Id));
    }

    [Fact]
    public void Diagnostics_doc_is_printed_from_the_catalog()
    {
        var path = Path.Combine(TestPaths.Root, "docs", "diagnostics.md");
        var expected = DiagnosticCatalog.Markdown();
        if (Environment.GetEnvironmentVariable("NETDSL_ACCEPT") == "1") File.WriteAllText(path, expected);
        Assert.True(File.Exists(path), "docs/diagnostics.md is missing: run NETDSL_ACCEPT=1 dotnet test --filter Diagnostics_doc");
        Assert.Equal(expected, File.ReadAllText(path).Replace("\r\n", "\n"));
    }
}
