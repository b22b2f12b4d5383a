using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NetDsl.Compiler.Emit;

namespace NetDsl.Compiler.Tests;

/// <summary>
/// Big networks emit less C#: kernel calls that differ only in their tensors share one method holding the constant
/// arguments (<see cref="CallOutliner"/>); small networks stay fully inline.
/// </summary>
public class CallOutlinerTests
{
    private static string Source(string file, string network) =>
        NetCompiler.Compile(file, File.ReadAllText(Path.Combine(RepoPaths.Examples, "Models", file))).Networks.Single(n => n.Name == network).Source;

    [Fact]
    public void ResNet50_shares_the_repeated_kernel_calls_and_keeps_every_kernel()
    {
        var s = Source("resnet.net", "ResNet50");
        // one shared method per form, e.g. batchnorm + relu with eps 1e-5 and momentum 0.1, defined once
        Assert.Contains("private void BatchNormForwardRelu(Tensor<T> a0, Tensor<T> a1, Tensor<T> a2, Tensor<T> a3, Tensor<T> a4, Tensor<T> a5, Tensor<T> a6, Tensor<T> a7, bool a8) => "
            + "K.BatchNormForward(a0, a1, a2, a3, a4, a5, a6, a7, a8, T.CreateChecked(1E-05), T.CreateChecked(0.1), new ReluOp(), new ReluOpGpu());", s);
        Assert.Contains("private void Conv2dForwardStride2Pad1(Tensor<T> a0, Tensor<T> a1, Tensor<T> a2) => K.Conv2dForward(a0, a1, null, a2, ConvGeometry.Of(2, 1), default(Identity<T>), default(Identity<T>));", s);
        // the call sites pass the tensors in the kernel's order
        Assert.Contains("BatchNormForwardRelu(_layer1_bottleneck1_conv1_8, Layer1_Bottleneck1_Bn1.Weight.Value, Layer1_Bottleneck1_Bn1.Bias!.Value, Layer1_Bottleneck1_Bn1.RunningMean.Value, Layer1_Bottleneck1_Bn1.RunningVar.Value, ", s);
        // every one of the 53 batchnorms still runs forward (training) and backward: inline or through a shared method
        var runForward = Method(s, "RunForward");
        Assert.Equal(53, Regex.Matches(runForward, @"^\s*(if \(withLoss\) )?(K\.)?BatchNormForward\w*\(", RegexOptions.Multiline).Count);
        Assert.Equal(53, Regex.Matches(Method(s, "RunBackward"), @"^\s*(K\.)?BatchNormBackward\w*\(", RegexOptions.Multiline).Count);
        // each shared method is called by two or more kernels, and names how many
        foreach (Match m in Regex.Matches(s, @"private void (\w+)\([^)]*\) => K\.\w+\(.*\); // (\d+) kernels"))
        {
            int uses = Regex.Matches(s, @"^\s*(if \(\w+\) |else )?" + m.Groups[1].Value + @"\(", RegexOptions.Multiline).Count;
            Assert.Equal(int.Parse(m.Groups[2].Value), uses);
            Assert.True(uses >= 2, m.Groups[1].Value);
        }
    }

    [Fact]
    public void A_gradient_kernel_that_accumulates_through_a_scratch_shares_one_method_that_adds_the_scratch()
    {
        var s = Source("resnet.net", "ResNet50");
        // the shared method writes the scratch when accumulating and adds it into the gradient; the call site passes both and the flag
        Assert.Contains("private void Conv2dBackwardFilterStride1Pad0(Tensor<T> a0, Tensor<T> a1, Tensor<T> a2, Tensor<T> s0, bool accumulate) // ", s);
        Assert.Contains("    K.Conv2dBackwardFilter(a0, a1, accumulate ? s0 : a2, null, ConvGeometry.Of(1, 0));\n            if (accumulate) { K.Accumulate(s0, a2); }\n", s);
        var backward = Method(s, "RunBackward");
        Assert.Matches(@"\n\s*Conv2dBackwardFilterStride1Pad0\(_\w+, _\w+, Layer1_Bottleneck1_Conv1\.Weight\.Grad, _acc\d+_0, accumulate\);\n", backward);
        // call sites keep their own accumulate line only for a form one kernel uses (the 7x7 stem): the rest are shared
        int shared = Regex.Matches(backward, @", accumulate\);\n").Count, inline = Regex.Matches(backward, @"K\.Accumulate\(").Count;
        Assert.True(shared >= 100 && inline <= 3, $"{shared} shared accumulating call sites, {inline} inline accumulate lines");
        // a small network keeps the call and its accumulate line inline, indented alike
        var small = Source("resnet20.net", "ResNet20");
        Assert.Matches(@"\n(\s+)K\.Conv2dBackwardFilter\(\w+, \w+, \(accumulate \? (_acc\d+_0) : (\w+\.Weight\.Grad)\), [^\n]*\);\n\1if \(accumulate\) K\.Accumulate\(\2, \3\);\n", small);
    }

    [Fact]
    public void A_small_network_stays_inline()
    {
        var s = Source("resnet20.net", "ResNet20");
        Assert.DoesNotContain("kernel calls that several kernels make", s);
        Assert.DoesNotContain(CallOutliner.MethodsMarker, s);
        Assert.Contains("K.BatchNormForward(", s);
    }

    [Fact]
    public void Only_calls_of_tensors_and_known_constants_are_shared()
    {
        var o = new CallOutliner();
        o.AllowFunctor("ReluOp", "ReluOpGpu");
        var tensors = new Dictionary<string, string> { ["_a"] = "Tensor<T>", ["_b"] = "Tensor<T>", ["_c"] = "Tensor<T>", ["_d"] = "Tensor<int>" };
        var calls = new List<string>();
        for (int i = 0; i < CallOutliner.MinCalls; i++) calls.Add(o.Outline("K.Map(_a, _b, new ReluOp(), new ReluOpGpu());", tensors));
        calls.Add(o.Outline("K.Map(_b, _c, new ReluOp(), new ReluOpGpu());", tensors));
        // once only: stays inline
        calls.Add(o.Outline("K.MaxPool2dForward(_a, _b, _d, PoolGeometry.Of(2, 2, 0));", tensors));
        // an argument the outliner does not know (a field, a layer property, a local) keeps the call as it is
        Assert.Equal("K.Map(_a, _x, new ReluOp(), new ReluOpGpu());", o.Outline("K.Map(_a, _x, new ReluOp(), new ReluOpGpu());", tensors));
        Assert.Equal("K.Map(_a, _b, Conv1.Weight.Value);", o.Outline("K.Map(_a, _b, Conv1.Weight.Value);", tensors));
        // only tensors: nothing to share
        Assert.Equal("K.Map(_a, _b);", o.Outline("K.Map(_a, _b);", tensors));
        // more than one statement, or not a kernel call
        Assert.Equal("K.Fill(_a, T.One); K.Fill(_b, T.One);", o.Outline("K.Fill(_a, T.One); K.Fill(_b, T.One);", tensors));
        Assert.Equal("_lossValue = K.ReadScalar(_a);", o.Outline("_lossValue = K.ReadScalar(_a);", tensors));

        var code = o.Resolve("    " + string.Join("\n    ", calls) + "\n    " + CallOutliner.MethodsMarker + "\n    // end\n", n => n);
        var lines = code.Split('\n');
        Assert.Equal(CallOutliner.MinCalls + 1, lines.Count(l => l.StartsWith("    MapRelu(")));
        Assert.Contains("    MapRelu(_b, _c);", lines);
        Assert.Contains("    K.MaxPool2dForward(_a, _b, _d, PoolGeometry.Of(2, 2, 0));", lines);
        Assert.Contains($"    private void MapRelu(Tensor<T> a0, Tensor<T> a1) => K.Map(a0, a1, new ReluOp(), new ReluOpGpu()); // {CallOutliner.MinCalls + 1} kernels", lines);
        Assert.DoesNotContain(lines, l => l.Contains('\u0001') || l.Contains('\u0002'));
        Assert.EndsWith("    // end\n", code);
    }

    [Fact]
    public void An_accumulating_call_is_shared_with_its_scratch_or_stays_inline_as_given()
    {
        var o = new CallOutliner();
        var tensors = new Dictionary<string, string> { ["_a"] = "Tensor<T>", ["_b"] = "Tensor<T>", ["W.Grad"] = "Tensor<T>" };
        const string inline = "K.Conv2dBackwardFilter(_a, _b, (accumulate ? _acc1_0 : W.Grad), null, ConvGeometry.Of(1, 0));\nif (accumulate) K.Accumulate(_acc1_0, W.Grad);";
        var calls = new List<string>();
        for (int i = 0; i < CallOutliner.MinCalls; i++)
            calls.Add(o.OutlineAccumulating("K.Conv2dBackwardFilter(_a, _b, W.Grad, null, ConvGeometry.Of(1, 0));", tensors, new[] { ("W.Grad", "_acc1_0") }, inline));
        // the gradient twice among the arguments: the inline form (which redirects both) is kept
        const string twice = "K.Foo(W.Grad, W.Grad, (accumulate ? _acc2_0 : W.Grad), T.One);";
        Assert.Equal(twice, o.OutlineAccumulating("K.Foo(W.Grad, W.Grad, T.One);", tensors, new[] { ("W.Grad", "_acc2_0") }, twice));
        var code = o.Resolve("        " + string.Join("\n        ", calls) + "\n        " + CallOutliner.MethodsMarker + "\n", n => n);
        var lines = code.Split('\n');
        Assert.Equal(CallOutliner.MinCalls, lines.Count(l => l == "        Conv2dBackwardFilterStride1Pad0(_a, _b, W.Grad, _acc1_0, accumulate);"));
        Assert.Contains("        private void Conv2dBackwardFilterStride1Pad0(Tensor<T> a0, Tensor<T> a1, Tensor<T> a2, Tensor<T> s0, bool accumulate) // "
            + $"{CallOutliner.MinCalls} kernels; accumulating, the kernel writes s0 and adds it into a2", lines);
        Assert.Contains("            K.Conv2dBackwardFilter(a0, a1, accumulate ? s0 : a2, null, ConvGeometry.Of(1, 0));", lines);
        Assert.Contains("            if (accumulate) { K.Accumulate(s0, a2); }", lines);

        // too few calls to share: each site is the inline text, its second line at the site's indentation
        var small = new CallOutliner();
        var site = small.OutlineAccumulating("K.Conv2dBackwardFilter(_a, _b, W.Grad, null, ConvGeometry.Of(1, 0));", tensors, new[] { ("W.Grad", "_acc1_0") }, inline);
        Assert.Equal("            " + inline.Replace("\n", "\n            ") + "\n", small.Resolve("            " + site + "\n", n => n));
    }

    /// <summary>The body of a generated method (its declaration line to the next line at its indentation that closes it).</summary>
    private static string Method(string s, string name)
    {
        int start = s.IndexOf($"private void {name}(", System.StringComparison.Ordinal);
        int end = s.IndexOf("\n        }\n", start, System.StringComparison.Ordinal);
        return s.Substring(start, end - start);
    }
}
