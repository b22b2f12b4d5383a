using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Compiler;
using NetDsl.Tool;
using Xunit;

namespace NetDsl.Onnx.Tests;

/// <summary>`netdsl export` end to end, and the generated NetSource constant the exporter reads.</summary>
public class ExportCliTests
{
    private static string Example(string name) => Path.Combine(AppContext.BaseDirectory, "examples", name);

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = NetDslCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Export_writes_a_model_with_the_weights_file_and_onnx_runtime_reproduces_the_trained_network()
    {
        var dir = Directory.CreateTempSubdirectory("netdsl-export-cli-");
        try
        {
            // a trained LeNet-5 saved with the network's own Save, exported from the command line
            var net = OnnxHarness.Create("LeNet5", seed: 5);
            OnnxHarness.Train(net, steps: 2, batch: 2);
            var weights = Path.Combine(dir.FullName, "lenet5.ckpt");
            net.Save(weights);
            var onnx = Path.Combine(dir.FullName, "lenet5.onnx");
            var (code, stdout, stderr) = Cli("export", Example("lenet5.net"), "--weights", weights, "-o", onnx);
            Assert.True(code == 0, stderr);
            Assert.Contains("LeNet5, ONNX opset 17", stdout);
            Assert.Contains("inputs:  image [N, 1, 28, 28]", stdout);
            Assert.Contains("outputs: logits [N, 10]", stdout);

            var inputs = OnnxHarness.Inputs(net, OnnxHarness.Forward(net), 3, seed: 11);
            var expected = OnnxHarness.NetForward(net, inputs, new[] { "logits" })["logits"].Data;
            var actual = OnnxHarness.RunOrt(onnx, OnnxHarness.Forward(net), inputs)["logits"].Data;
            Assert.True(expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max() < 1e-5, "the CLI's model does not carry the trained weights");

            // the same weights as safetensors (net.SaveWeights, PyTorch's state_dict names): the issue's
            // `netdsl export model.net --weights w.safetensors -o model.onnx`
            var st = Path.Combine(dir.FullName, "lenet5.safetensors");
            net.SaveWeights(st);
            var onnxSt = Path.Combine(dir.FullName, "lenet5-st.onnx");
            (code, _, stderr) = Cli("export", Example("lenet5.net"), "--weights", st, "-o", onnxSt);
            Assert.True(code == 0, stderr);
            var actualSt = OnnxHarness.RunOrt(onnxSt, OnnxHarness.Forward(net), inputs)["logits"].Data;
            Assert.True(expected.Zip(actualSt, (a, b) => Math.Abs(a - b)).Max() < 1e-5, "the CLI's model does not carry the safetensors weights");

            // without --weights: the initial weights of --seed, i.e. not the trained ones
            var fresh = Path.Combine(dir.FullName, "fresh.onnx");
            (code, _, stderr) = Cli("export", Example("lenet5.net"), "-o", fresh, "--seed", "5");
            Assert.True(code == 0, stderr);
            var initial = OnnxHarness.RunOrt(fresh, OnnxHarness.Forward(net), inputs)["logits"].Data;
            Assert.True(expected.Zip(initial, (a, b) => Math.Abs(a - b)).Max() > 1e-4);
            var seeded = OnnxHarness.Create("LeNet5", seed: 5);
            seeded.Eval();
            var seededOut = OnnxHarness.NetForward(seeded, inputs, new[] { "logits" })["logits"].Data;
            Assert.True(seededOut.Zip(initial, (a, b) => Math.Abs(a - b)).Max() < 1e-5, "--seed 5 should export new LeNet5(seed: 5)");
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Export_errors_name_the_problem()
    {
        var dir = Directory.CreateTempSubdirectory("netdsl-export-cli-");
        try
        {
            var onnx = Path.Combine(dir.FullName, "x.onnx");
            var (code, _, err) = Cli("export", Example("vae.net"), "-o", onnx);
            Assert.Equal(NetDslCli.ExitUsage, code);
            Assert.Contains("choose one with --network", err);

            (code, _, err) = Cli("export", Example("vae.net"), "--network", "VaeSmall", "-o", onnx);
            Assert.Equal(NetDslCli.ExitErrors, code);
            Assert.Contains("VaeSmall cannot be exported to ONNX", err);
            Assert.Contains("vae.net: sample_normal at line 12", err);
            Assert.False(File.Exists(onnx));

            (code, _, err) = Cli("export", Example("lenet5.net"), "--network", "LeNet6", "-o", onnx);
            Assert.Equal(NetDslCli.ExitUsage, code);
            Assert.Contains("no network named 'LeNet6'", err);

            (code, _, err) = Cli("export", Example("lenet5.net"), "--weights", Path.Combine(dir.FullName, "missing.ckpt"), "-o", onnx);
            Assert.Equal(NetDslCli.ExitUsage, code);
            Assert.Contains("missing.ckpt does not exist", err);

            var garbage = Path.Combine(dir.FullName, "garbage.ckpt");
            File.WriteAllText(garbage, "not a checkpoint");
            (code, _, err) = Cli("export", Example("lenet5.net"), "--weights", garbage, "-o", onnx);
            Assert.Equal(NetDslCli.ExitUsage, code);
            Assert.Contains("cannot load weights", err);
            Assert.Contains("garbage.ckpt", err);

            (code, _, err) = Cli("export", Example("lenet5.net"));
            Assert.Equal(NetDslCli.ExitUsage, code);
            Assert.Contains("-o", err);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Generated_NetSource_holds_any_net_text_verbatim_and_cannot_inject_code()
    {
        // a comment with quotes, backslashes, a raw-string opener, a C# comment end and every line terminator C# knows
        var hostile = "// \"; } } class Evil { } /* \\\" \"\"\" */ \\u0022 \t tab\r\n// next\u0085line\u2028sep\u2029para\u0000nul é 🙂\n"
            + "network Tiny {\n    input x: [N, 4]\n    output y = x |> linear(2)\n}\n";
        var result = NetCompiler.Compile("hostile.net", hostile);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        var tree = CSharpSyntaxTree.ParseText(Assert.Single(result.Networks).Source);
        Assert.Empty(tree.GetDiagnostics());
        var root = tree.GetCompilationUnitRoot();
        Assert.DoesNotContain(root.DescendantNodes().OfType<ClassDeclarationSyntax>(), c => c.Identifier.Text == "Evil");
        string Const(string name) => root.DescendantNodes().OfType<VariableDeclaratorSyntax>().Single(v => v.Identifier.Text == name)
            .Initializer!.Value is LiteralExpressionSyntax lit ? lit.Token.ValueText : throw new Xunit.Sdk.XunitException($"{name} is not a literal");
        Assert.Equal(hostile, Const("NetSource"));
        Assert.Equal("Tiny", Const("NetworkName"));
    }
}
