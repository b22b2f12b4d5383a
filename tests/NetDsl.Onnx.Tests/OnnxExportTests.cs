using System.Globalization;
using Google.Protobuf;
using NetDsl.Onnx.Proto;
using NetDsl.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Onnx.Tests;

/// <summary>
/// Every example network whose ops ONNX has: trained one or two Adam steps (two with batchnorm, whose running statistics
/// then move), exported with
/// <c>net.ExportOnnx</c>, run by ONNX Runtime (CPU) at batch 2, and compared with NetDsl's own eval-mode Forward.
/// </summary>
public class OnnxExportTests(ITestOutputHelper output)
{
    /// <summary>The exported example networks (small instances; see docs/onnx.md for the measured errors).</summary>
    public static readonly string[] Exported =
    {
        "LeNet5", "TinyMlp", "AllOps", "TwoHeads", "AutoencoderSmall", "VaeDecoderSmall",
        "ResNet20", "ResNetTiny", "SEResNetTiny", "NonLocalTiny", "VGGTiny", "AlexNetTiny", "GoogLeNetTiny", "Inception3a", "DenseNetTiny",
        "MobileNetV1Tiny", "MobileNetV2Tiny", "MobileNetV3SmallTiny", "EfficientNetTiny", "UNetTiny",
        "DcganGeneratorSmall", "DcganDiscriminatorSmall", "CycleGeneratorSmall",
        "EncoderTiny", "ViTTiny", "BertTiny", "GptTiny",
        "HelloLstm", "HelloGru", "HelloLstmSampler", "HelloGruSampler", "Seq2SeqTiny", "TransformerTiny",
    };

    /// <summary>Small op networks (tests/NetDsl.Tests/Networks/ops_*.net) for the mapped ops the examples do not use.</summary>
    public static readonly string[] OpNetworks =
    {
        "OpLeakyRelu", "OpElu", "OpSelu", "OpGelu", "OpGeluTanh", "OpSilu", "OpSoftplus", "OpHardSigmoid", "OpHardswish", "OpPRelu", "OpPReluChannels",
        "OpSoftmaxChannels", "OpLogSoftmaxLast", "OpRelu6",
        "OpConvStrideDilGroups", "OpConvDepthwise", "OpConvAsymPad", "OpConvNonSquare", "OpConv1d", "OpConvTranspose", "OpConvTransposeGrouped",
        "OpMaxPoolCeil", "OpMaxPoolPadded", "OpAvgPoolCeil", "OpAvgPoolPadded", "OpAdaptiveAvgPool",
        "OpUpsampleNearest", "OpUpsampleBilinear", "OpUpsampleBilinearAligned",
        "OpBatchNormTrain", "OpBatchNorm1d", "OpBatchNormInput", "OpLayerNorm", "OpLayerNormPlain", "OpInstanceNorm", "OpInstanceNormAffine", "OpGroupNorm", "OpLrn",
        "OpArith", "OpBroadcast", "OpMatMul", "OpViews", "OpReduce", "OpScaleChannels", "OpAttention",
        "OpEmbedding", "OpRnnTanh", "OpRnnReluBi2", "OpLstm", "OpLstmBi2", "OpGru", "OpGruBi2", "OpEmbedLstmGru", "OpLstmSymbolicT",
        "OpGruStateBi", "OpRnnState", "OpMaxout", "OpGram",
        "OpSdpa", "OpSdpaCausal", "OpSdpaLengths", "OpSelfAttention", "OpCausalSelfAttention", "OpCrossAttention", "OpPositions", "OpPatchEmbed", "OpAdditiveAttention",
    };

    public static IEnumerable<object[]> ExportedData() => Exported.Select(n => new object[] { n });
    public static IEnumerable<object[]> OpData() => OpNetworks.Select(n => new object[] { n });

    /// <summary>|onnx − netdsl| ≤ 1e-5 · max(1, max |netdsl|) per output.</summary>
    private const double Tolerance = 1e-5;

    private static string TempFile(string name) => Path.Combine(Path.GetTempPath(), $"netdsl-onnx-{Environment.ProcessId}-{name}.onnx");

    /// <summary>Trains, exports, runs ORT; returns the largest error relative to the output's scale.</summary>
    internal static (double MaxAbs, double Scale) ExportAndCompare(string network, int batch, ITestOutputHelper? log)
    {
        var net = OnnxHarness.Create(network, seed: 3);
        OnnxHarness.Train(net, steps: net.Buffers.Count > 0 ? 2 : 1, batch: batch);   // two steps move the running statistics
        var means = net.Buffers.Where(b => b.Name.EndsWith(".running_mean", StringComparison.Ordinal)).ToList();
        if (means.Count > 0)
            Assert.Contains(means, b => b.Value.CopyToHost().Any(v => v != 0));   // the running statistics the export carries are trained ones

        var forward = OnnxHarness.Forward(net);
        var inputs = OnnxHarness.Inputs(net, forward, batch, seed: 7);
        var model = net.ToOnnx();
        var names = model.Graph.Output.Select(o => o.Name).ToList();
        var expected = OnnxHarness.NetForward(net, inputs, names);
        var path = TempFile(network);
        try
        {
            net.ExportOnnx(path);
            var actual = OnnxHarness.RunOrt(path, forward, inputs);
            Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
            double worst = 0, worstScale = 1;
            foreach (var (name, (shape, data)) in expected)
            {
                var (oshape, odata) = actual[name];
                Assert.Equal(shape, oshape);
                double scale = Math.Max(1, data.Max(v => Math.Abs((double)v)));
                double err = data.Zip(odata, (a, b) => Math.Abs((double)a - b)).Max();
                Assert.True(data.All(float.IsFinite), $"{network}: NetDsl's output {name} is not finite");
                log?.WriteLine($"{network}.{name} {Fmt(shape)}: max |onnx - netdsl| = {err:E2} (output scale {scale:F2})");
                Assert.True(err <= Tolerance * scale, $"{network}: output {name} differs by {err:E3} (allowed {Tolerance * scale:E3})");
                if (err / scale > worst / worstScale) { worst = err; worstScale = scale; }
            }
            return (worst, worstScale);
        }
        finally { File.Delete(path); }
    }

    private static string Fmt(int[] s) => "[" + string.Join(", ", s) + "]";

    [Theory]
    [MemberData(nameof(ExportedData))]
    public void Example_network_runs_in_onnx_runtime_like_its_eval_forward(string network) => ExportAndCompare(network, batch: 2, output);

    [Theory]
    [MemberData(nameof(OpData))]
    public void Op_network_runs_in_onnx_runtime_like_its_eval_forward(string network) => ExportAndCompare(network, batch: 2, output);

    [Fact]
    public void Batch_dim_is_symbolic_and_names_follow_the_net_file()
    {
        var net = OnnxHarness.Create("LeNet5", seed: 1);
        net.Eval();
        var model = net.ToOnnx();
        Assert.Equal(OnnxExporter.Opset, model.OpsetImport.Single(o => o.Domain == "").Version);
        var input = Assert.Single(model.Graph.Input);   // label feeds only the loss: not an input of the forward pass
        Assert.Equal("image", input.Name);
        Assert.Equal("N", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(new long[] { 1, 28, 28 }, input.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        var outp = Assert.Single(model.Graph.Output);
        Assert.Equal("logits", outp.Name);
        Assert.Equal("N", outp.Type.TensorType.Shape.Dim[0].DimParam);
        // initializers carry the state_dict names and the instance's current values
        var w = model.Graph.Initializer.Single(t => t.Name == "conv1.weight");
        var values = new float[w.RawData.Length / 4];
        Buffer.BlockCopy(w.RawData.ToByteArray(), 0, values, 0, w.RawData.Length);
        Assert.Equal(net.GetParameter("conv1.weight").Value.CopyToHost(), values);

        // one model serves batch 2 and batch 5
        var path = TempFile("lenet-batches");
        try
        {
            OnnxExporter.Save(model, path);
            foreach (int batch in new[] { 2, 5 })
            {
                var inputs = OnnxHarness.Inputs(net, OnnxHarness.Forward(net), batch, seed: batch);
                var expected = OnnxHarness.NetForward(net, inputs, new[] { "logits" })["logits"];
                var actual = OnnxHarness.RunOrt(path, OnnxHarness.Forward(net), inputs)["logits"];
                Assert.Equal(new[] { batch, 10 }, actual.Shape);
                Assert.True(expected.Data.Zip(actual.Data, (a, b) => Math.Abs(a - b)).Max() < 1e-5);
            }
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Running_statistics_are_exported_not_batch_statistics()
    {
        // after training, the exported BatchNormalization must use the running statistics: changing them changes ORT's output
        var net = OnnxHarness.Create("ResNet20", seed: 2);
        OnnxHarness.Train(net, steps: 2, batch: 2);
        var model = net.ToOnnx();
        var mean = net.GetBuffer("bn1.running_mean").Value.CopyToHost();
        var exported = model.Graph.Initializer.Single(t => t.Name == "bn1.running_mean");
        var values = new float[exported.RawData.Length / 4];
        Buffer.BlockCopy(exported.RawData.ToByteArray(), 0, values, 0, exported.RawData.Length);
        Assert.Equal(mean, values);
        Assert.Contains(model.Graph.Node, n => n.OpType == "BatchNormalization" && n.Input.Contains("bn1.running_var"));
    }

    [Fact]
    public void Unexportable_network_names_the_op_the_line_and_why()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "examples", "vae.net");
        var ex = Assert.Throws<OnnxExportException>(() =>
            OnnxExporter.BuildModel(path, File.ReadAllText(path), "VaeSmall", _ => throw new InvalidOperationException("weights are not read before the ops are checked")));
        Assert.Contains("VaeSmall", ex.Message);
        Assert.Contains("sample_normal at line 12", ex.Message);
        Assert.Contains("eval: \"mean\"", ex.Message);

        // the API path reports the same before reading any weight
        var unpool = OnnxHarness.Create("OpMaxUnpool", seed: 1);
        ex = Assert.Throws<OnnxExportException>(() => unpool.ExportOnnx(TempFile("unpool")));
        Assert.Contains("max_unpool2d at line", ex.Message);
        Assert.False(File.Exists(TempFile("unpool")));

        // lstm(state: true)'s final cell state comes from the saved gates
        var state = OnnxHarness.Create("OpLstmState", seed: 1);
        ex = Assert.Throws<OnnxExportException>(() => state.ToOnnx());
        Assert.Contains("lstm at line", ex.Message);
        Assert.Contains("c_n", ex.Message);
    }

    [Fact]
    public void Unknown_network_and_errors_in_the_net_file_are_reported()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "examples", "lenet5.net");
        var ex = Assert.Throws<OnnxExportException>(() => OnnxExporter.ForwardGraph(path, File.ReadAllText(path), "LeNet6"));
        Assert.Contains("no network 'LeNet6'", ex.Message);
        Assert.Contains("LeNet5", ex.Message);
        var bad = "network Bad {\n    input x: [N, 4]\n    output y = x |> linearr(3)\n}\n";
        ex = Assert.Throws<OnnxExportException>(() => OnnxExporter.ForwardGraph("bad.net", bad, null));
        Assert.Contains("bad.net", ex.Message);
        Assert.Contains("(3,", ex.Message);
        Assert.Contains("linearr", ex.Message);
    }

    /// <summary>onnx.checker.check_model(full_check=True) from Debian's python3-onnx 1.12 accepts every exported model.</summary>
    [OnnxCheckerFact]
    public void Onnx_checker_accepts_every_exported_model()
    {
        var dir = Directory.CreateTempSubdirectory("netdsl-onnx-check-");
        try
        {
            var files = new List<string>();
            foreach (var name in Exported.Concat(OpNetworks))
            {
                var net = OnnxHarness.Create(name, seed: 1);
                net.Eval();
                var f = Path.Combine(dir.FullName, name + ".onnx");
                net.ExportOnnx(f);
                files.Add(f);
            }
            var script = Path.Combine(dir.FullName, "check.py");
            File.WriteAllText(script, """
                import sys, onnx
                bad = 0
                for path in sys.argv[1:]:
                    try:
                        onnx.checker.check_model(onnx.load(path), full_check=True)
                        print("ok", path)
                    except Exception as e:
                        bad += 1
                        print("FAIL", path, type(e).__name__, e)
                print("onnx", onnx.__version__)
                sys.exit(1 if bad else 0)
                """);
            var (code, stdout, stderr) = OnnxHarness.RunProcess(OnnxHarness.PythonWithOnnx()!, $"\"{script}\" " + string.Join(" ", files.Select(f => $"\"{f}\"")));
            output.WriteLine(stdout);
            output.WriteLine(stderr);
            Assert.True(code == 0, $"onnx.checker rejected models:\n{stdout}\n{stderr}");
            Assert.Equal(files.Count, stdout.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
        }
        finally { dir.Delete(recursive: true); }
    }
}
