using System.IO;
using System.Linq;
using NetDsl.Compiler;

namespace NetDsl.Compiler.Tests;

/// <summary>The example networks check, and their summaries give the published parameter counts.</summary>
public class ExampleNetworkTests
{
    private static CompileResult Compile(string relative) =>
        NetCompiler.Compile(relative, File.ReadAllText(Path.Combine(RepoPaths.Examples, relative)));

    [Theory]
    [InlineData("Mnist/lenet5.net", "LeNet5", 61_706L, 416_520L)]
    [InlineData("Models/vgg16.net", "VGG16", 138_357_544L, 15_470_264_320L)]
    [InlineData("Models/resnet18.net", "ResNet18", 11_689_512L, 1_814_073_344L)]
    [InlineData("Models/inception.net", "Inception3a", 163_696L, 128_049_152L)]
    // parameter counts of torchvision 0.14 (examples/Models/reference_counts.py prints them)
    [InlineData("Models/vgg.net", "VGG11", 132_863_336L, 7_609_090_048L)]
    [InlineData("Models/vgg.net", "VGG13", 133_047_848L, 11_308_466_176L)]
    [InlineData("Models/vgg.net", "VGG", 138_357_544L, 15_470_264_320L)]
    [InlineData("Models/vgg.net", "VGG19", 143_667_240L, 19_632_062_464L)]
    [InlineData("Models/resnet.net", "ResNet34", 21_797_672L, 3_663_761_408L)]
    [InlineData("Models/resnet.net", "ResNet50", 25_557_032L, 4_089_184_256L)]
    [InlineData("Models/resnet.net", "ResNet101", 44_549_160L, 7_801_405_440L)]
    [InlineData("Models/resnet.net", "ResNet152", 60_192_808L, 11_513_626_624L)]
    [InlineData("Models/densenet121.net", "DenseNet121", 7_978_856L, 2_834_161_664L)]
    [InlineData("Models/resnet20.net", "ResNet20", 272_474L, 40_813_184L)]
    [InlineData("Models/alexnet.net", "AlexNet", 62_378_344L, 1_135_256_096L)]
    [InlineData("Models/googlenet.net", "GoogLeNet", 6_624_904L, 1_498_376_192L)]
    [InlineData("Models/googlenet.net", "GoogLeNetAux", 13_004_888L, 1_506_748_416L)]
    [InlineData("Models/mobilenet.net", "MobileNetV1", 4_231_976L, null)]
    [InlineData("Models/mobilenet.net", "MobileNetV2", 3_504_872L, null)]
    [InlineData("Models/mobilenet_v3.net", "MobileNetV3Small", 2_542_856L, null)]
    [InlineData("Models/mobilenet_v3.net", "MobileNetV3Large", 5_483_032L, null)]
    [InlineData("Models/se_resnet50.net", "SEResNet50", 28_088_024L, null)]
    [InlineData("Models/efficientnet_b0.net", "EfficientNetB0", 5_288_548L, 385_814_752L)]
    [InlineData("Models/nonlocal.net", "NonLocalResNet18", 11_821_736L, 1_849_597_952L)]
    [InlineData("Models/unet.net", "UNet", 31_036_546L, 48_096_083_968L)]
    public void Example_checks_and_reports_exact_parameters_and_macs(string file, string network, long parameters, long? macs)
    {
        var result = Compile(file);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        var net = Assert.Single(result.Networks, n => n.Name == network);
        Assert.Equal(parameters, net.Summary.TotalParameters);
        if (macs is long m) Assert.Equal(m, net.Summary.TotalMacs);
        Assert.Equal(parameters, net.Summary.Rows.Sum(r => r.Parameters));
    }

    [Fact]
    public void Example_header_comments_state_what_the_summary_prints()
    {
        foreach (var path in Directory.GetFiles(RepoPaths.Examples, "*.net", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(path);
            var result = NetCompiler.Compile(path, text);
            foreach (var net in result.Networks)
                Assert.Contains(net.Summary.TotalParameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), text);
        }
    }

    [Fact]
    public void ResNet18_layers_have_torchvision_like_names_and_shapes()
    {
        var net = Compile("Models/resnet18.net").Networks.Single(n => n.Name == "ResNet18");
        var rows = net.Summary.Rows;
        Assert.Equal("[N, 64, 56, 56]", rows.First(r => r.Op == "maxpool2d").OutputShape);
        Assert.Equal("[N, 512]", rows.First(r => r.Op == "globalavgpool").OutputShape);
        // the first stride-2 stage gets a 1x1 projection shortcut: basic3.conv3 is [128, 64, 1, 1] = 8,192 weights
        Assert.Contains(rows, r => r.Layer == "basic3.conv3" && r.Parameters == 8_192 && r.OutputShape == "[N, 128, 28, 28]");
        Assert.DoesNotContain(rows, r => r.Layer == "basic2.conv3");
    }

    [Fact]
    public void ResNet18_with_batchnorm_compiles_to_a_class_without_warnings()
    {
        // batchnorm used to be shape-only (warning NDSL0301, no class); with its kernels and backward it generates code
        var result = Compile("Models/resnet18.net");
        Assert.Empty(result.Diagnostics);
        var net = result.Networks.Single(n => n.Name == "ResNet18");
        Assert.Equal(11_689_512, net.Summary.TotalParameters);
        Assert.NotEqual("", net.Source);
        Assert.Contains("public const long ParameterCount = 11689512;", net.Source);
        Assert.Contains("public BatchnormLayer Bn1 { get; }", net.Source);
        Assert.Contains("public Buffer<T> RunningMean => Buffers[0];", net.Source);
        Assert.Contains("AddBuffer(\"basic8.bn2.running_var\", new[] { 512 }, 1)", net.Source);
        // 20 batchnorm layers forward and backward (the stem, 2 per block, 3 projection shortcuts)
        Assert.Equal(20, System.Text.RegularExpressions.Regex.Matches(net.Source, @"K\.BatchNormForward\(").Count);
        Assert.Equal(20, System.Text.RegularExpressions.Regex.Matches(net.Source, @"K\.BatchNormBackward\(").Count);
        // the stem's batchnorm reads the image's conv output: it needs dx; backward runs in the forward pass's mode
        Assert.Contains("Training);", net.Source);
    }

    [Fact]
    public void LeNet5_generated_code_names_every_kernel_with_its_lines_shapes_and_flops()
    {
        var source = Compile("Mnist/lenet5.net").Networks.Single().Source;
        Assert.Contains("// k0: conv2d conv1 (lenet5.net line 7): [N, 1, 28, 28] -> [N, 6, 28, 28], per sample 235,200 FLOPs and 21,952 bytes moved (+ 624 bytes of parameters)", source);
        // relu after max pooling (they commute): it runs on the pooled map
        Assert.Contains("// k2: relu relu1 (lenet5.net line 7): [N, 6, 14, 14] -> [N, 6, 14, 14]", source);
        Assert.Contains("public const long ParameterCount = 61706;", source);
        Assert.Contains("public sealed partial class LeNet5 : LeNet5<float>", source);
        Assert.Contains("K.Conv2dBackwardFilter(", source);
        Assert.Contains("public readonly struct ReluOpGpu : IGpuMap1", source);
        Assert.Contains("new ReluOp(), new ReluOpGpu()", source);
    }

    [Fact]
    public void Compilation_is_deterministic()
    {
        var a = Compile("Mnist/lenet5.net").Networks.Single().Source;
        var b = Compile("Mnist/lenet5.net").Networks.Single().Source;
        Assert.Equal(a, b);
    }
}
