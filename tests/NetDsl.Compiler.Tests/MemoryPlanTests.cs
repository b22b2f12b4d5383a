using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NetDsl.Compiler;

namespace NetDsl.Compiler.Tests;

/// <summary>The memory plan as the generated code shows it: in-place element-wise kernels and rematerialization.</summary>
public class MemoryPlanTests
{
    private static CompiledNetwork Compile(string example, string network, bool remat = true)
    {
        var path = Path.Combine(RepoPaths.Examples, example);
        return NetCompiler.Compile(path, File.ReadAllText(path), new CompileOptions { Rematerialize = remat }).Networks.Single(n => n.Name == network);
    }

    /// <summary>Each planned field's (arena, offset) from Plan(): `_x_3 = _arena1!.View(4704 * N, ...`.</summary>
    private static System.Collections.Generic.Dictionary<string, string> Views(string source) =>
        Regex.Matches(source, @"(_\w+) = (_arena\d+)!\.View\((\d+)").ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value + "@" + m.Groups[3].Value);

    [Fact]
    public void Relu_backward_writes_in_place_over_the_gradient_that_dies_there()
    {
        var s = Compile("Mnist/lenet5.net", "LeNet5").Source;
        var views = Views(s);
        var maps = Regex.Matches(s, @"// k\d+: relu_bwd [^\n]*\n\s*K\.Map\((_\w+), (_\w+), (_\w+),").ToList();
        Assert.Equal(4, maps.Count);
        // dy dies in relu_bwd (y, the forward output, is kept for nothing else either), so dx takes one of their buffers
        int checkedMaps = 0;
        foreach (var m in maps)
        {
            // a dy that is a view (relu2's gradient is flatten's, reshaped) has no placement of its own
            if (!views.ContainsKey(m.Groups[1].Value) || !views.ContainsKey(m.Groups[2].Value) || !views.ContainsKey(m.Groups[3].Value)) continue;
            checkedMaps++;
            Assert.True(views[m.Groups[3].Value] == views[m.Groups[1].Value] || views[m.Groups[3].Value] == views[m.Groups[2].Value],
                $"{m.Value}: output at {views[m.Groups[3].Value]}, inputs at {views[m.Groups[1].Value]} and {views[m.Groups[2].Value]}");
        }
        Assert.True(checkedMaps >= 3, $"{checkedMaps} relu_bwd kernels with placed buffers");
        Assert.Contains("public const long PlannedBytesPerSample = 34568;", s);   // 48,680 with relu before pooling, 62,792 without in-place either
    }

    [Fact]
    public void Kernels_other_than_element_wise_never_write_over_their_inputs()
    {
        var s = Compile("Models/resnet20.net", "ResNet20").Source;
        var views = Views(s);
        foreach (Match m in Regex.Matches(s, @"K\.(Conv2d\w+|BatchNorm\w+|MaxPool\w+|GlobalAvgPool\w+)\(([^;]*)\);"))
        {
            var args = m.Groups[2].Value.Split(',').Select(a => a.Trim()).Where(views.ContainsKey).ToList();
            Assert.Equal(args.Count, args.Select(a => views[a]).Distinct().Count());
        }
    }

    [Fact]
    public void ResNet20_recomputes_block_activations_in_the_backward_pass()
    {
        var on = Compile("Models/resnet20.net", "ResNet20");
        var off = Compile("Models/resnet20.net", "ResNet20", remat: false);
        Assert.True(on.Summary.PlannedBytesPerSample < 0.65 * off.Summary.PlannedBytesPerSample,
            $"{on.Summary.PlannedBytesPerSample} planned bytes per sample, {off.Summary.PlannedBytesPerSample} without recomputation");
        // each recompute is in the backward pass, named, and reads batchnorm's saved statistics
        var backward = on.Source.Substring(on.Source.IndexOf("private void RunBackward("));
        Assert.Equal(on.Source.Split("// recomputed for backward:").Length, backward.Split("// recomputed for backward:").Length);
        // relu(bn(conv1)) is one kernel: batchnorm's affine map with the relu as its epilogue
        Assert.Matches(@"// k\d+: batchnorm_apply basic1\.bn1 \+ relu basic1\.relu1 [^\n]*\n\s*// recomputed for backward: basic1\.relu1 \[N, 16, 32, 32\] from basic1\.conv1 ", backward);
        Assert.Matches(@"K\.BatchNormApply\(_basic1_conv1_\d+, Basic1_Bn1\.Weight\.Value, Basic1_Bn1\.Bias!\.Value, _basic1_bn1_mean_\d+, _basic1_bn1_invstd_\d+, _basic1_relu1_recomputed_\d+, new ReluOp\(\), new ReluOpGpu\(\)\);", backward);
        // a projection block's output: both batchnorms recomputed, then the add + relu loop
        Assert.Matches(@"K\.BatchNormApply\(_basic4_conv3_\d+, [^;]*, _basic4_bn3_recomputed_\d+, default\(Identity<T>\), default\(Identity<T>\)\);", backward);
    }
}
