using System.CommandLine;
using NetDsl.Compiler;

namespace NetDsl.Tool;

/// <summary>
/// The `netdsl` command line: the same compiler the build runs, outside a build.
/// Exit codes: 0 ok, 1 the .net file has errors, 2 usage or I/O error.
/// </summary>
public static class NetDslCli
{
    public const int ExitOk = 0;
    public const int ExitErrors = 1;
    public const int ExitUsage = 2;

    /// <summary>
    /// Runs the tool in-process. <paramref name="stdout"/>/<paramref name="stderr"/> default to the console;
    /// when a writer is given, or the console output is redirected, tables are printed as plain text.
    /// </summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = new CliOutput(stdout ?? Console.Out, stderr ?? Console.Error,
            plain: stdout != null || Console.IsOutputRedirected);

        var root = BuildCommand(output);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) output.Err.WriteLine($"netdsl: {e.Message}");
            output.Err.WriteLine("Run 'netdsl --help' for usage.");
            return ExitUsage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output.Out, Error = output.Err, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex)
        {
            output.Err.WriteLine($"netdsl: internal error: {ex.GetType().Name}: {ex.Message}");
            if (Environment.GetEnvironmentVariable("NETDSL_DEBUG") == "1") output.Err.WriteLine(ex.ToString());
            return ExitUsage;
        }
    }

    internal static RootCommand BuildCommand(CliOutput output)
    {
        var root = new RootCommand("netdsl: check, summarize and show the C# generated from NetDsl .net network files.");

        // check FILE...
        var checkFiles = new Argument<FileInfo[]>("FILE") { Description = ".net files to check", Arity = ArgumentArity.OneOrMore };
        var check = new Command("check", "Compile .net files and print their diagnostics in the build's format.") { checkFiles };
        check.SetAction(p => Commands.Check(p.GetValue(checkFiles) ?? Array.Empty<FileInfo>(), output));
        root.Subcommands.Add(check);

        // summary FILE [--network NAME]
        var summaryFile = new Argument<FileInfo>("FILE") { Description = "the .net file" };
        var summaryNetwork = new Option<string?>("--network", "-n") { Description = "only this network (default: all networks in the file)" };
        var summaryBatch = new Option<int[]>("--batch", "-b") { Description = "batch sizes for the peak training memory lines (default: 1 32 128)", AllowMultipleArgumentsPerToken = true };
        var summary = new Command("summary", "Print a Keras-style table per network: output shapes, parameters, MACs and memory (peak training memory per batch size).") { summaryFile, summaryNetwork, summaryBatch };
        summary.SetAction(p => Commands.Summary(p.GetValue(summaryFile)!, p.GetValue(summaryNetwork), p.GetValue(summaryBatch) is { Length: > 0 } b ? b : Commands.DefaultBatches, output));
        root.Subcommands.Add(summary);

        // show FILE [--network NAME]
        var showFile = new Argument<FileInfo>("FILE") { Description = "the .net file" };
        var showNetwork = new Option<string?>("--network", "-n") { Description = "only this network (default: all networks in the file)" };
        var showNamespace = new Option<string?>("--namespace") { Description = "namespace of the generated classes (default: the RootNamespace of the project above the file, as the build uses)" };
        var show = new Command("show", "Print the C# generated for the networks of a .net file, in the namespace the build uses.") { showFile, showNetwork, showNamespace };
        show.SetAction(p => Commands.Show(p.GetValue(showFile)!, p.GetValue(showNetwork), p.GetValue(showNamespace), output));
        root.Subcommands.Add(show);

        // bench FILE [--network NAME] [--batch B] [--steps S] [--profile]
        var benchFile = new Argument<FileInfo>("FILE") { Description = "the .net file" };
        var benchNetwork = new Option<string?>("--network", "-n") { Description = "only this network (default: all networks in the file)" };
        var benchBatch = new Option<int>("--batch", "-b") { Description = "batch size (default 64)", DefaultValueFactory = _ => 64 };
        var benchSteps = new Option<int>("--steps", "-s") { Description = "timed steps (default 20; the median is printed)", DefaultValueFactory = _ => 20 };
        var benchProfile = new Option<bool>("--profile", "-p") { Description = "also time every kernel of the training step and of the forward pass and print them, slowest first" };
        var bench = new Command("bench", "Compile the generated C#, then time a training step and a forward pass on the CPU path.") { benchFile, benchNetwork, benchBatch, benchSteps, benchProfile };
        bench.SetAction(p => Commands.Bench(p.GetValue(benchFile)!, p.GetValue(benchNetwork), p.GetValue(benchBatch), p.GetValue(benchSteps), p.GetValue(benchProfile), output));
        root.Subcommands.Add(bench);

        // graph FILE [--network NAME] [--out DIR|-]
        var graphFile = new Argument<FileInfo>("FILE") { Description = "the .net file" };
        var graphNetwork = new Option<string?>("--network", "-n") { Description = "only this network (default: all networks in the file)" };
        var graphOut = new Option<string?>("--out", "-o") { Description = "folder for NAME.svg (default: the current folder), or - for standard output" };
        var graph = new Command("graph", "Draw each network's graph as SVG: layers with output shapes and .net lines, branches side by side.") { graphFile, graphNetwork, graphOut };
        graph.SetAction(p => Commands.Graph(p.GetValue(graphFile)!, p.GetValue(graphNetwork), p.GetValue(graphOut), output));
        root.Subcommands.Add(graph);

        // export FILE [--network NAME] [--weights FILE] [--seed S] -o FILE.onnx
        var exportFile = new Argument<FileInfo>("FILE") { Description = "the .net file" };
        var exportNetwork = new Option<string?>("--network", "-n") { Description = "the network to export (needed when the file declares several)" };
        var exportWeights = new Option<FileInfo?>("--weights", "-w") { Description = "weights to load first (the file the network's Load reads); default: the initial weights of --seed" };
        var exportSeed = new Option<int>("--seed") { Description = "parameter seed when no weights are given (default 0)", DefaultValueFactory = _ => 0 };
        var exportOut = new Option<string?>("--output", "-o") { Description = "the .onnx file to write" };
        var export = new Command("export", "Write a network's eval-mode forward pass as an ONNX model (opset 17), weights included.") { exportFile, exportNetwork, exportWeights, exportSeed, exportOut };
        export.SetAction(p => Export.Run(p.GetValue(exportFile)!, p.GetValue(exportNetwork), p.GetValue(exportWeights), p.GetValue(exportOut), p.GetValue(exportSeed), output));
        root.Subcommands.Add(export);

        return root;
    }
}

/// <summary>Where the tool writes, and whether it may use ANSI (tables, colors).</summary>
internal sealed class CliOutput
{
    public CliOutput(TextWriter @out, TextWriter err, bool plain) { Out = @out; Err = err; Plain = plain; }
    public TextWriter Out { get; }
    public TextWriter Err { get; }
    public bool Plain { get; }
}
