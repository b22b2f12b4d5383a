using System.Diagnostics;
using System.Security.Cryptography;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>Runs <c>Fixtures/torchvision_parity.py</c> once (cached in obj/ by the script's hash) when torchvision is importable.</summary>
internal static class TorchvisionFixtures
{
    public static readonly string Script = Path.Combine(RepoPaths.Root, "tests", "NetDsl.Tests", "Fixtures", "torchvision_parity.py");

    /// <summary>Debian's python (where apt's python3-torchvision lives) first, then whatever python3 is on the PATH; NETDSL_PYTHON overrides.</summary>
    public static string Python { get; } = Environment.GetEnvironmentVariable("NETDSL_PYTHON")
        ?? (File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

    private static readonly Lazy<string?> s_unavailable = new(() =>
    {
        try
        {
            var (code, _, err) = Run(Python, ["-c", "import torch, torchvision; assert torchvision.__version__.startswith('0.14'), torchvision.__version__"], TimeSpan.FromMinutes(2));
            return code == 0 ? null : $"torchvision 0.14 is not importable by {Python} (apt-get install python3-torchvision): {err.Trim().Split('\n').LastOrDefault()}";
        }
        catch (Exception e) { return $"cannot run {Python}: {e.Message}"; }
    });

    /// <summary>Null when the fixtures can be generated, otherwise why not (the skip reason).</summary>
    public static string? Unavailable => s_unavailable.Value;

    private static readonly Lazy<string> s_dir = new(() =>
    {
        var hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Script)))[..16].ToLowerInvariant();
        var dir = Path.Combine(RepoPaths.Root, "tests", "NetDsl.Tests", "obj", "torchvision-parity", hash);
        if (File.Exists(Path.Combine(dir, "done"))) return dir;
        Directory.CreateDirectory(dir);
        var (code, output, err) = Run(Python, [Script, dir], TimeSpan.FromMinutes(10));
        if (code != 0) throw new InvalidOperationException($"{Script} failed ({code}):\n{output}\n{err}");
        File.WriteAllText(Path.Combine(dir, "done"), output);
        // Older fixture folders are stale: remove them (each is about 1.3 GB).
        foreach (var old in Directory.GetDirectories(Path.GetDirectoryName(dir)!).Where(d => d != dir)) Directory.Delete(old, recursive: true);
        return dir;
    });

    public static string Dir => s_dir.Value;

    private static (int Code, string Out, string Err) Run(string exe, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{exe} {string.Join(' ', args)} ran longer than {timeout}"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact that is skipped, with the reason, when torchvision cannot be imported.</summary>
public sealed class TorchvisionFactAttribute : FactAttribute
{
    public TorchvisionFactAttribute() { if (TorchvisionFixtures.Unavailable is { } why) Skip = why; }
}

/// <summary>A theory that is skipped, with the reason, when torchvision cannot be imported.</summary>
public sealed class TorchvisionTheoryAttribute : TheoryAttribute
{
    public TorchvisionTheoryAttribute() { if (TorchvisionFixtures.Unavailable is { } why) Skip = why; }
}

/// <summary>
/// torchvision 0.14's models with seeded random weights, loaded from safetensors into our example networks: the eval-mode
/// logits on one 224×224 image match torchvision's (computed in float64) to 1e-4 of the largest logit, in float32.
/// </summary>
[Collection("torchvision parity (one big network at a time)")]
public sealed class TorchvisionParityTests(ITestOutputHelper output)
{
    private static NetworkBase<float> Create(string network) => network switch
    {
        "ResNet18" => new ResNet18(Device.Cpu),
        "ResNet34" => new ResNet34(Device.Cpu),
        "ResNet50" => new ResNet50(Device.Cpu),
        "VGG11" => new VGG11(Device.Cpu),
        "VGG16" => new VGG16(Device.Cpu),
        "GoogLeNet" => new GoogLeNet(Device.Cpu),
        "DenseNet121" => new DenseNet121(Device.Cpu),
        "MobileNetV2" => new MobileNetV2(Device.Cpu),
        "MobileNetV3Small" => new MobileNetV3Small(Device.Cpu),
        "MobileNetV3Large" => new MobileNetV3Large(Device.Cpu),
        "EfficientNetB0" => new EfficientNetB0(Device.Cpu),
        "ViT" => new ViT(Device.Cpu),
        "AlexNetTorchvision" => new AlexNetTorchvision(Device.Cpu),
        _ => throw new ArgumentException(network),
    };

    private static Tensor<float> Forward(NetworkBase<float> net, Tensor<float> x) => net switch
    {
        ResNet18 n => n.Forward(x),
        ResNet34 n => n.Forward(x),
        ResNet50 n => n.Forward(x),
        VGG11 n => n.Forward(x),
        VGG16 n => n.Forward(x),
        GoogLeNet n => n.Forward(x),
        DenseNet121 n => n.Forward(x),
        MobileNetV2 n => n.Forward(x),
        MobileNetV3Small n => n.Forward(x),
        MobileNetV3Large n => n.Forward(x),
        EfficientNetB0 n => n.Forward(x),
        ViT n => n.Forward(x),
        AlexNetTorchvision n => n.Forward(x),
        _ => throw new ArgumentException(net.GetType().Name),
    };

    [TorchvisionTheory]
    [InlineData("resnet18", "ResNet18")]
    [InlineData("resnet34", "ResNet34")]
    [InlineData("resnet50", "ResNet50")]
    [InlineData("vgg11", "VGG11")]
    [InlineData("vgg16", "VGG16")]
    [InlineData("googlenet", "GoogLeNet")]
    [InlineData("densenet121", "DenseNet121")]
    [InlineData("mobilenet_v2", "MobileNetV2")]
    [InlineData("mobilenet_v3_small", "MobileNetV3Small")]
    [InlineData("mobilenet_v3_large", "MobileNetV3Large")]
    [InlineData("efficientnet_b0", "EfficientNetB0")]
    [InlineData("vit_b_16", "ViT")]
    [InlineData("alexnet", "AlexNetTorchvision")]
    public void Torchvision_weights_reproduce_torchvisions_logits(string model, string network)
    {
        var sw = Stopwatch.StartNew();
        var weights = SafeTensorsFile.Open(Path.Combine(TorchvisionFixtures.Dir, model + ".safetensors"));
        var io = SafeTensorsFile.Open(Path.Combine(TorchvisionFixtures.Dir, model + ".io.safetensors"));
        var net = Create(network);
        // Our names differ from torchvision's (basic3.conv1 vs layer2.0.conv1) but the layers come in the same order.
        var map = NameMap.ByOrder(weights, net);
        var result = net.LoadWeights(weights, strict: true, nameMap: k => map.GetValueOrDefault(k, k));
        Assert.True(result.IsExact, result.ToString());
        net.Eval();
        var x = Tensor<float>.FromArray(io.Read<float>("input"), io["input"].Shape);
        var expected = io.Read<double>("logits");
        var got = Forward(net, x).CopyToHost();
        Assert.Equal(expected.Length, got.Length);
        double scale = expected.Max(Math.Abs), maxErr = 0;
        int worst = 0;
        for (int i = 0; i < got.Length; i++)
        {
            double e = Math.Abs(got[i] - expected[i]);
            if (e > maxErr) { maxErr = e; worst = i; }
        }
        double rel = maxErr / scale;
        output.WriteLine($"{model} → {network}: {result.LoadedKeys.Count} tensors, max |logit| {scale:G4}, max error {maxErr:G3} = {rel:E2} relative (logit {worst}), {sw.Elapsed.TotalSeconds:F1} s");
        Assert.True(scale > 1e-3, $"{model}: logits are all near zero ({scale}); the comparison would mean nothing");
        Assert.True(rel <= 1e-4, $"{model}: logit {worst} is {got[worst]} but torchvision computed {expected[worst]} (max error {rel:E2} of the largest logit {scale})");
    }

    /// <summary>
    /// MobileNet v3's .net file names every layer as torchvision does (features.3.block.2.fc1 …): torchvision's state_dict
    /// loads by name, strictly, with no name map, and gives torchvision's logits.
    /// </summary>
    [TorchvisionTheory]
    [InlineData("mobilenet_v3_small", "MobileNetV3Small")]
    [InlineData("mobilenet_v3_large", "MobileNetV3Large")]
    public void MobileNetV3_has_torchvisions_state_dict_names(string model, string network)
    {
        var weights = SafeTensorsFile.Open(Path.Combine(TorchvisionFixtures.Dir, model + ".safetensors"));
        var io = SafeTensorsFile.Open(Path.Combine(TorchvisionFixtures.Dir, model + ".io.safetensors"));
        var net = Create(network);
        var result = net.LoadWeights(weights, strict: true);
        Assert.True(result.IsExact, result.ToString());
        Assert.Equal(weights.Read<float>("features.4.block.2.fc1.weight"), net.Parameters.Single(p => p.Name == "features.4.block.2.fc1.weight").Value.CopyToHost());
        net.Eval();
        var x = Tensor<float>.FromArray(io.Read<float>("input"), io["input"].Shape);
        var expected = io.Read<double>("logits");
        var got = Forward(net, x).CopyToHost();
        double scale = expected.Max(Math.Abs), maxErr = expected.Select((e, i) => Math.Abs(got[i] - e)).Max();
        output.WriteLine($"{model}: {result.LoadedKeys.Count} tensors by name, max error {maxErr / scale:E2} of the largest logit");
        Assert.True(maxErr <= 1e-4 * scale, $"{model}: max error {maxErr} of {scale}");
    }

    /// <summary>
    /// Fine-tuning as a user would: torchvision's ResNet-18 weights into ResNet-18 with a new 10-class head (64×64 images),
    /// <c>strict: false</c> keeps the new head and reports it; a few SGD steps on a fixed batch lower the loss.
    /// </summary>
    [TorchvisionFact]
    public void ResNet18_weights_fine_tune_into_a_new_ten_class_head()
    {
        var weights = SafeTensorsFile.Open(Path.Combine(TorchvisionFixtures.Dir, "resnet18.safetensors"));
        var net = new ResNet18FineTune(Device.Cpu, seed: 3);
        var head = net.Fc1.Weight.Value.CopyToHost();
        var map = NameMap.ByOrder(weights, net, requireSameShapes: false);
        var result = net.LoadWeights(weights, strict: false, nameMap: k => map.GetValueOrDefault(k, k));
        Assert.Equal(["fc1.weight", "fc1.bias"], result.ShapeMismatches.Select(m => m.Key));
        Assert.Equal([1000, 512], result.ShapeMismatches[0].FileShape);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(weights.Read<float>("conv1.weight"), net.Conv1.Weight.Value.CopyToHost());
        Assert.Equal(weights.Read<float>("layer4.1.bn2.running_var"), net.GetBuffer(map["layer4.1.bn2.running_var"]).Value.CopyToHost());
        Assert.Equal(head, net.Fc1.Weight.Value.CopyToHost());
        Assert.Equal(7L, net.BatchesTracked);

        // A strict load of the same file names the head.
        var strict = Assert.Throws<InvalidDataException>(() => new ResNet18FineTune(Device.Cpu).LoadWeights(weights, nameMap: k => map.GetValueOrDefault(k, k)));
        Assert.Contains("fc1.weight: [1000, 512] in the file, [10, 512] in the model", strict.Message);

        const int n = 8;
        var x = Tensor<float>.FromArray(TestData.Random(n * 3 * 64 * 64, 21).Select(v => (float)v).ToArray(), n, 3, 64, 64);
        var y = Tensor<int>.FromArray(Enumerable.Range(0, n).Select(i => i % 10).ToArray(), n);
        var sgd = new Sgd<float>(net.Parameters, lr: 0.01, momentum: 0.9);
        var losses = new List<float>();
        for (int step = 0; step < 5; step++) losses.Add(net.TrainStep(x, y, sgd));
        output.WriteLine("fine-tuning losses: " + string.Join(", ", losses.Select(l => l.ToString("F4"))));
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses[^1] < losses[0] * 0.8, $"loss did not fall: {string.Join(", ", losses)}");
        Assert.Equal(12L, net.BatchesTracked);
    }
}
