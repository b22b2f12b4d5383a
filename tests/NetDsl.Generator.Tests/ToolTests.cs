using NetDsl.Compiler;
using NetDsl.Tool;

namespace NetDsl.Generator.Tests;

public sealed class ToolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("netdsl-tool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int exit = NetDslCli.Run(args, o, e);
        return (exit, o.ToString(), e.ToString());
    }

    private string Broken()
    {
        var path = Path.Combine(_dir, "broken.net");
        File.WriteAllText(path, GeneratorDiagnosticsTests.BrokenText);
        return path;
    }

    [Fact]
    public void Check_BrokenFile_PrintsLocatedErrors_AndExits1()
    {
        var path = Broken();
        var (exit, stdout, stderr) = Run("check", path);
        Assert.Equal(NetDslCli.ExitErrors, exit);
        var all = stdout + stderr;
        Assert.Matches(@"broken\.net\(\d+,\d+\): error NDSL\d{4}: ", all);
        Assert.Contains(path + "(", all);
        Assert.DoesNotContain("ok:", stdout);
    }

    [Fact]
    public void Check_PrintsExactlyTheCompilersDiagnostics()
    {
        var path = Broken();
        var expected = NetCompiler.Compile(path, File.ReadAllText(path)).Diagnostics.Select(d => d.ToString()).ToList();
        var (_, stdout, stderr) = Run("check", path);
        var lines = (stdout + stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(expected.OrderBy(x => x), lines.OrderBy(x => x));
    }

    [Theory]
    [InlineData("check")]
    [InlineData("summary")]
    [InlineData("show")]
    [InlineData("graph")]
    public void MissingFile_IsAClearMessageWithThePath_AndExits2(string command)
    {
        var missing = Path.Combine(_dir, "nope.net");
        var (exit, _, stderr) = Run(command, missing);
        Assert.Equal(NetDslCli.ExitUsage, exit);
        Assert.Contains(missing, stderr);
        Assert.Contains("not found", stderr);
    }

    [Fact]
    public void Check_MissingAndBrokenFiles_Exits2()
    {
        var (exit, stdout, stderr) = Run("check", Broken(), Path.Combine(_dir, "nope.net"));
        Assert.Equal(NetDslCli.ExitUsage, exit);
        Assert.Contains("error NDSL", stdout + stderr);
    }

    [Fact]
    public void Summary_BrokenFile_Exits1()
    {
        var (exit, _, stderr) = Run("summary", Broken());
        Assert.Equal(NetDslCli.ExitErrors, exit);
        Assert.Contains("error NDSL", stderr);
    }

    private const string Mlp = "network Mlp {\n    input x: [N, 4]\n    output y = x |> linear(2)\n}\n";

    [Fact]
    public void Show_prints_the_namespace_of_the_project_above_the_file()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "My App", "models"));
        File.WriteAllText(Path.Combine(_dir, "My App", "My App.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><OutputType>Exe</OutputType></PropertyGroup></Project>");
        var net = Path.Combine(_dir, "My App", "models", "mlp.net");
        File.WriteAllText(net, Mlp);
        var (exit, stdout, _) = Run("show", net);
        Assert.Equal(NetDslCli.ExitOk, exit);
        Assert.StartsWith("// namespace My_App: the RootNamespace of My App.csproj (its name), as the build uses", stdout);
        Assert.Contains("\nnamespace My_App\n", stdout.Replace("\r", ""));

        // An explicit <RootNamespace> wins, and --namespace wins over both.
        File.WriteAllText(Path.Combine(_dir, "My App", "My App.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><RootNamespace>Company.Models</RootNamespace></PropertyGroup></Project>");
        Assert.Contains("\nnamespace Company.Models\n", Run("show", net).Out.Replace("\r", ""));
        Assert.Contains("\nnamespace Other\n", Run("show", net, "--namespace", "Other").Out.Replace("\r", ""));
    }

    [Fact]
    public void Help_calls_the_tool_netdsl()
    {
        var (_, stdout, _) = Run("--help");
        Assert.Contains("netdsl", stdout);
        Assert.Equal("netdsl", typeof(NetDslCli).Assembly.GetName().Name);
    }

    [Fact]
    public void Show_BrokenFile_Exits1()
    {
        Assert.Equal(NetDslCli.ExitErrors, Run("show", Broken()).Exit);
    }

    [Fact]
    public void Graph_BrokenFile_Exits1()
    {
        Assert.Equal(NetDslCli.ExitErrors, Run("graph", Broken(), "-o", _dir).Exit);
    }

    [Fact]
    public void Graph_DrawsEveryLayerWithItsShape_AndBranchesSideBySide()
    {
        var path = Path.Combine(_dir, "res.net");
        File.WriteAllText(path, """
            network Res {
                input x: [N, 8, 16, 16]
                y = x |> conv(8, 3, pad: 1) |> relu |> conv(8, 3, pad: 1)
                output z = relu(y + x)
            }
            """);
        var (exit, stdout, stderr) = Run("graph", path, "-o", _dir);
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        Assert.Contains("Res.svg", stdout);
        var svg = File.ReadAllText(Path.Combine(_dir, "Res.svg"));
        Assert.StartsWith("<svg", svg);
        foreach (var label in new[] { ">x<", ">conv1 · conv2d<", ">relu1<", ">conv2 · conv2d<", ">add1<", ">relu2<", "[N, 8, 16, 16]" })
            Assert.Contains(label, svg);
        // 6 boxes, 6 edges (x→conv1, conv1→relu1, relu1→conv2, conv2→add, x→add, add→relu2)
        Assert.Equal(6, System.Text.RegularExpressions.Regex.Matches(svg, "<rect x=").Count);
        Assert.Equal(6, System.Text.RegularExpressions.Regex.Matches(svg, "marker-end").Count);
        var xs = System.Text.RegularExpressions.Regex.Matches(svg, "<rect x=\"([0-9.]+)\"").Select(m => m.Groups[1].Value).Distinct().Count();
        Assert.Equal(1, xs); // a residual block with an identity shortcut is one column: the shortcut is an edge
        Assert.Equal(NetDslCli.ExitOk, Run("graph", path, "-o", "-").Exit);
    }

    [Fact]
    public void UsageErrors_Exit2()
    {
        Assert.Equal(NetDslCli.ExitUsage, Run("check").Exit);
        Assert.Equal(NetDslCli.ExitUsage, Run("frobnicate").Exit);
        Assert.Equal(NetDslCli.ExitOk, Run("--help").Exit);
    }

    private static NetworkSummary FakeLeNet() => new("LeNet5",
        [
            new SummaryRow("conv1", "conv2d+relu", "[N, 6, 28, 28]", 156, 117_600, 7),
            new SummaryRow("pool1", "maxpool2d", "[N, 6, 14, 14]", 0, 0, 7),
            new SummaryRow("fc3", "linear", "[N, 10]", 850, 840, 10),
        ],
        TotalParameters: 61_706, TotalMacs: 416_520, ActivationBytesPerSample: 123_456, PlannedBytesPerSample: 65_536);

    [Fact]
    public void PlainSummary_IsAKerasStyleTable_WithThousandsSeparatorsAndTotals()
    {
        var w = new StringWriter();
        Commands.WritePlainSummary(FakeLeNet(), w);
        var text = w.ToString();
        Assert.False(text.Contains('\u001b'), "no ANSI escapes when output is redirected");
        Assert.Contains("Network: LeNet5", text);
        Assert.Contains("Output shape", text);
        Assert.Contains("[N, 6, 28, 28]", text);
        Assert.Contains("117,600", text);
        Assert.Contains("61,706", text);
        Assert.Contains("416,520", text);
        Assert.Contains("Total parameters:", text);
        Assert.Contains("Total MACs per sample:", text);
        Assert.Contains("Activation memory per sample:", text);
        Assert.Contains("Planned memory per sample:", text);
        Assert.Contains("64.00 KiB (65,536 bytes)", text);
    }

    [Fact]
    public void SpectreSummary_RendersTheSameNumbers()
    {
        var w = new StringWriter();
        Commands.WriteSpectreSummary(FakeLeNet(), w);
        var text = w.ToString();
        Assert.Contains("LeNet5", text);
        Assert.Contains("117,600", text);
        Assert.Contains("61,706", text);
        Assert.Contains("Planned memory per sample", text);
    }

    [Fact]
    public void Check_LeNet5_IsOk()
    {
        var (exit, stdout, stderr) = Run("check", RepoPaths.LeNet5);
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        Assert.Contains("ok: 1 network", stdout);
    }

    [Fact]
    public void Summary_LeNet5_Has61706Parameters()
    {
        var (exit, stdout, stderr) = Run("summary", RepoPaths.LeNet5);
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        Assert.Contains("61,706", stdout);
        Assert.False(stdout.Contains('\u001b'), "no ANSI escapes when output is redirected");
    }

    [Fact]
    public void Summary_prints_the_eval_only_plan_beside_the_training_plan()
    {
        var path = Path.Combine(RepoPaths.Root, "examples", "Models", "resnet20.net");
        var (exit, stdout, stderr) = Run("summary", path, "--network", "ResNet20");
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        var s = NetDsl.Compiler.NetCompiler.Compile(path, File.ReadAllText(path)).Networks.Single(n => n.Name == "ResNet20").Summary;
        var ratio = ((double)s.EvalPlannedBytesPerSample / s.PlannedBytesPerSample).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"Inference memory per sample:", stdout);
        Assert.Contains($"({s.EvalPlannedBytesPerSample.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes), eval-only plan ({ratio}× the training plan)", stdout);
        Assert.Equal("0.21", ratio);
    }

    [Fact]
    public void Summary_prints_the_inference_arenas_per_batch_size_with_chunks()
    {
        // the MLP runs inference in chunks of 64 samples: at batch 128 its arenas hold one chunk's activations and all 128 outputs
        var path = Path.Combine(RepoPaths.Root, "benchmarks", "NetDsl.Benchmarks", "mlp.net");
        var (exit, stdout, stderr) = Run("summary", path);
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        var s = NetDsl.Compiler.NetCompiler.Compile(path, File.ReadAllText(path)).Networks.Single().Summary;
        Assert.Equal(64, s.EvalChunkRows);
        Assert.Equal(8192L * 64 + 40 * 128, s.EvalPlannedBytes(128));
        Assert.Contains($"({s.EvalPlannedBytes(128).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes) = 0.33× the training plan's", stdout);
        Assert.Contains("in chunks of 64 samples", stdout);
        Assert.Contains("one chunk (chunks of up to 64)", stdout);
    }

    [Fact]
    public void Summary_prints_peak_training_memory_per_batch_size()
    {
        var (exit, stdout, stderr) = Run("summary", RepoPaths.LeNet5, "--batch", "64", "256");
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        // parameters + gradients + momentum (3 x 61,706 x 4 bytes) + 64 x 48,680 planned bytes per sample
        Assert.Contains($"batch 64:  {Commands.Bytes(3 * 61_706 * 4 + 64 * 34_568L)} with SGD+momentum", stdout);
        Assert.Contains($"{Commands.Bytes(4 * 61_706 * 4 + 256 * 34_568L)} with Adam", stdout);
        Assert.DoesNotContain("batch 32", stdout);
    }

    [Fact]
    public void Bench_compiles_the_generated_code_and_times_a_training_step()
    {
        var (exit, stdout, stderr) = Run("bench", RepoPaths.LeNet5, "--batch", "2", "--steps", "3");
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        var row = stdout.Split('\n').Single(l => l.StartsWith("LeNet5", StringComparison.Ordinal));
        var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("2", cells[1]);
        Assert.True(double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture) > 0, row); // train step ms
        Assert.EndsWith("ms", row.TrimEnd());
    }

    [Fact]
    public void Bench_profile_times_every_kernel_of_the_training_step_and_of_the_forward_pass()
    {
        var (exit, stdout, stderr) = Run("bench", RepoPaths.LeNet5, "--batch", "2", "--steps", "3", "--profile");
        Assert.True(exit == NetDslCli.ExitOk, stderr);
        // two tables: the training step's kernels, then the eval-mode forward pass's
        int split = stdout.IndexOf("kernels of an inference forward pass", StringComparison.Ordinal);
        Assert.True(split > 0, stdout);
        static List<string> Rows(string text) => text.Split('\n').Where(l => l.Contains(" k", StringComparison.Ordinal) && (l.Contains("forward k", StringComparison.Ordinal) || l.Contains("backward k", StringComparison.Ordinal) || l.Contains("eval k", StringComparison.Ordinal))).ToList();
        static double Share(List<string> rows) => rows.Sum(r => double.Parse(r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture));
        var inference = Rows(stdout[split..]);
        // eval mode runs the eval-only program (its kernels numbered after the training program's)
        Assert.Contains(inference, r => System.Text.RegularExpressions.Regex.IsMatch(r, @"eval k\d+: conv2d conv1 \(line 7\)"));
        Assert.DoesNotContain(inference, r => r.Contains("backward k", StringComparison.Ordinal) || r.Contains("forward k", StringComparison.Ordinal));
        Assert.InRange(Share(inference), 99.0, 101.0);
        var rows = Rows(stdout[..split]);
        // LeNet-5's kernels: the conv forward, the relu after pooling, both conv backward kernels and the loss, each with a time and a share
        Assert.Contains(rows, r => r.Contains("forward k0: conv2d conv1 (line 7)", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("forward k2: relu relu1 (line 7)", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("conv2d_bwd_filter", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("cross_entropy", StringComparison.Ordinal));
        Assert.InRange(Share(rows), 99.0, 101.0);   // the shares of all kernels add up to the whole
        // profiling is the tool's: the generated class the generator emits carries no timers
        Assert.DoesNotContain("KernelProfile", NetDsl.Compiler.NetCompiler.Compile(RepoPaths.LeNet5, System.IO.File.ReadAllText(RepoPaths.LeNet5)).Networks[0].Source);
    }

    [Fact]
    public void Bench_rejects_a_batch_size_that_is_not_positive()
    {
        var (exit, _, stderr) = Run("bench", System.IO.Path.Combine(RepoPaths.Root, "examples", "Models", "inception.net"), "--batch", "0");
        Assert.Equal(NetDslCli.ExitUsage, exit);
        Assert.Contains("--batch", stderr);
    }
}
