using System.Globalization;
using System.Text;
using NetDsl.Compiler;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace NetDsl.Tool;

internal static class Commands
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // ------------------------------------------------------------------ check

    public static int Check(IReadOnlyList<FileInfo> files, CliOutput o)
    {
        bool ioError = false, errors = false;
        int networks = 0;
        foreach (var file in files)
        {
            if (!TryRead(file, o, out var text)) { ioError = true; continue; }
            var result = NetCompiler.Compile(file.FullName, text);
            foreach (var d in result.Diagnostics)
                (d.Severity == Severity.Error ? o.Err : o.Out).WriteLine(d.ToString());
            if (!result.Success) errors = true;
            else networks += result.Networks.Count;
        }
        if (ioError) return NetDslCli.ExitUsage;
        if (errors) return NetDslCli.ExitErrors;
        o.Out.WriteLine($"ok: {networks} network{(networks == 1 ? "" : "s")}");
        return NetDslCli.ExitOk;
    }

    // ------------------------------------------------------------------ summary

    public static int Summary(FileInfo file, string? network, CliOutput o) => Summary(file, network, DefaultBatches, o);

    internal static readonly int[] DefaultBatches = { 1, 32, 128 };

    public static int Summary(FileInfo file, string? network, int[] batches, CliOutput o)
    {
        if (batches.Length == 0 || batches.Any(b => b <= 0)) { o.Err.WriteLine("error: --batch needs positive batch sizes"); return NetDslCli.ExitUsage; }
        _batches = batches;
        if (!TryCompile(file, o, out var result)) return result is null ? NetDslCli.ExitUsage : NetDslCli.ExitErrors;
        if (!TrySelect(result, network, file, o, out var selected)) return NetDslCli.ExitUsage;
        bool first = true;
        foreach (var n in selected)
        {
            if (!first) o.Out.WriteLine();
            first = false;
            if (o.Plain) WritePlainSummary(n.Summary, o.Out);
            else WriteSpectreSummary(n.Summary, o.Out);
        }
        return NetDslCli.ExitOk;
    }

    [ThreadStatic] private static int[]? _batches;

    /// <summary>
    /// Peak memory of a training step at batch <paramref name="batch"/> (fp32): parameters, their gradients, the
    /// optimizer's state (1 tensor per parameter for SGD with momentum, 2 for Adam) and the planned activation and
    /// gradient arenas, which scale with the batch. Inputs (the caller's tensors) are not counted.
    /// </summary>
    internal static long PeakTrainingBytes(NetworkSummary s, int batch, int optimizerStates) =>
        s.TotalParameters * 4 * (2 + optimizerStates) + s.PlannedBytesPerSample * batch;

    private static readonly string[] Headers = { "Layer", "Op", "Output shape", "Param #", "MACs" };

    private static string[] Cells(SummaryRow r) =>
        new[] { r.Layer, r.Op, r.OutputShape, N(r.Parameters), r.MacsText };

    private static (string Label, string Value)[] Totals(NetworkSummary s) => new[]
    {
        ("Total parameters", $"{N(s.TotalParameters)} ({Human(s.TotalParameters * 4)} as fp32)"),
        ("Total MACs per sample", N(s.TotalMacs) + (s.Rows.FirstOrDefault(r => r.MacsPerStepOf != null) is { } step
            ? $" (the {string.Join(", ", s.Rows.Where(r => r.MacsPerStepOf != null).Select(r => r.Layer))} rows count one step of {step.MacsPerStepOf}: multiply them by {step.MacsPerStepOf})" : "")),
        ("Activation memory per sample", Bytes(s.ActivationBytesPerSample)),
        ("Planned memory per sample", Bytes(s.PlannedBytesPerSample) + (s.RecomputedValues == 0 ? "" :
            $", {s.RecomputedValues} values recomputed for backward ({Human(s.PlannedBytesPerSampleWithoutRecompute)} without, +{N(s.RecomputeFlopsPerSample)} FLOPs)")),
        ("Inference memory per sample", Bytes(s.EvalPlannedBytesPerSample) + (s.PlannedBytesPerSample > 0
            ? $", eval-only plan ({((double)s.EvalPlannedBytesPerSample / s.PlannedBytesPerSample).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)}× the training plan)" : "")),
    }.Concat((_batches ?? DefaultBatches).Select(b =>
        ($"Peak training memory, batch {b}", $"{Bytes(PeakTrainingBytes(s, b, 1))} with SGD+momentum, {Bytes(PeakTrainingBytes(s, b, 2))} with Adam")))
    .Concat((_batches ?? DefaultBatches).Select(b => ($"Inference arenas, batch {b}", InferenceArenas(s, b)))).ToArray();

    /// <summary>The eval plan's arena bytes for a batch against the training plan's for the same batch (chunked inference counted).</summary>
    private static string InferenceArenas(NetworkSummary s, int batch)
    {
        long eval = s.EvalPlannedBytes(batch), train = s.PlannedBytes(batch);
        var ratio = train > 0 ? $" = {((double)eval / train).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)}× the training plan's {Human(train)}" : "";
        var chunks = s.EvalChunkRows > 0 ? (batch > s.EvalChunkRows ? $", in chunks of {NetworkSummary.ChunkRows(batch, s.EvalChunkRows)} samples" : $", one chunk (chunks of up to {s.EvalChunkRows})") : ", not chunked";
        return Bytes(eval) + ratio + chunks;
    }

    internal static void WriteSpectreSummary(NetworkSummary s, TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
        });
        var table = new Table()
            .Border(TableBorder.Rounded)
            .Title($"[bold]{Markup.Escape(s.Name)}[/]");
        table.AddColumn(new TableColumn(Headers[0]));
        table.AddColumn(new TableColumn(Headers[1]));
        table.AddColumn(new TableColumn(Headers[2]));
        table.AddColumn(new TableColumn(Headers[3]).RightAligned());
        table.AddColumn(new TableColumn(Headers[4]).RightAligned());
        foreach (var r in s.Rows)
            table.AddRow(Cells(r).Select(c => (IRenderable)new Text(c)).ToArray());
        table.ShowFooters = true;
        table.Columns[0].Footer(new Markup("[bold]Total[/]"));
        table.Columns[3].Footer(new Markup($"[bold]{N(s.TotalParameters)}[/]"));
        table.Columns[4].Footer(new Markup($"[bold]{N(s.TotalMacs)}[/]"));
        console.Write(table);

        var totals = new Grid().AddColumn().AddColumn();
        foreach (var (label, value) in Totals(s))
            totals.AddRow(new Text(label + ":"), new Text(value));
        console.Write(totals);
    }

    /// <summary>A plain-text table (no ANSI) for redirected output.</summary>
    internal static void WritePlainSummary(NetworkSummary s, TextWriter w)
    {
        var rows = s.Rows.Select(Cells).ToList();
        var widths = new int[Headers.Length];
        for (int c = 0; c < Headers.Length; c++)
        {
            widths[c] = Headers[c].Length;
            foreach (var r in rows) widths[c] = Math.Max(widths[c], r[c].Length);
        }
        widths[3] = Math.Max(widths[3], N(s.TotalParameters).Length);
        widths[4] = Math.Max(widths[4], N(s.TotalMacs).Length);
        int total = widths.Sum() + 2 * (widths.Length - 1);

        string Line(string[] cells)
        {
            var sb = new StringBuilder();
            for (int c = 0; c < cells.Length; c++)
            {
                if (c > 0) sb.Append("  ");
                sb.Append(c >= 3 ? cells[c].PadLeft(widths[c]) : cells[c].PadRight(widths[c]));
            }
            return sb.ToString().TrimEnd();
        }

        w.WriteLine($"Network: {s.Name}");
        w.WriteLine(new string('=', total));
        w.WriteLine(Line(Headers));
        w.WriteLine(new string('-', total));
        foreach (var r in rows) w.WriteLine(Line(r));
        w.WriteLine(new string('-', total));
        w.WriteLine(Line(new[] { "Total", "", "", N(s.TotalParameters), N(s.TotalMacs) }));
        w.WriteLine(new string('=', total));
        var totals = Totals(s);
        int labelWidth = totals.Max(t => t.Label.Length) + 1;
        foreach (var (label, value) in totals)
            w.WriteLine($"{(label + ":").PadRight(labelWidth)} {value}");
    }

    // ------------------------------------------------------------------ bench

    public static int Bench(FileInfo file, string? network, int batch, int steps, bool profile, CliOutput o)
    {
        if (!TryCompile(file, o, out var result, new CompileOptions { Profile = profile })) return result is null ? NetDslCli.ExitUsage : NetDslCli.ExitErrors;
        if (!TrySelect(result, network, file, o, out var selected)) return NetDslCli.ExitUsage;
        var empty = selected.Where(n => n.Source.Length == 0).Select(n => n.Name).ToList();
        if (empty.Count > 0) { o.Err.WriteLine($"netdsl: no code was generated for {string.Join(", ", empty)} (see the warnings above)"); return NetDslCli.ExitErrors; }
        return Tool.Bench.Run(selected, batch, steps, profile, o);
    }

    // ------------------------------------------------------------------ show

    public static int Show(FileInfo file, string? network, string? ns, CliOutput o)
    {
        var (name, origin) = ns is null ? BuildNamespace(file) : (ns, "from --namespace");
        if (!TryCompile(file, o, out var result, new CompileOptions { Namespace = name })) return result is null ? NetDslCli.ExitUsage : NetDslCli.ExitErrors;
        if (!TrySelect(result, network, file, o, out var selected)) return NetDslCli.ExitUsage;
        o.Out.WriteLine($"// namespace {name}: {origin}");
        bool first = true;
        foreach (var n in selected)
        {
            if (!first) o.Out.WriteLine();
            first = false;
            o.Out.WriteLine($"// ---- {n.HintName}");
            o.Out.Write(n.Source);
            if (!n.Source.EndsWith('\n')) o.Out.WriteLine();
        }
        return NetDslCli.ExitOk;
    }

    /// <summary>
    /// The namespace a build puts the file's classes in: the RootNamespace of the nearest project above the file (its
    /// &lt;RootNamespace&gt;, else the project's name with spaces as underscores, as the .NET SDK does), or the generator's
    /// default when no project is found.
    /// </summary>
    internal static (string Namespace, string Origin) BuildNamespace(FileInfo file)
    {
        for (var dir = file.Directory; dir is not null; dir = dir.Parent)
        {
            string[] projects;
            try { projects = Directory.GetFiles(dir.FullName, "*.csproj"); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { break; }
            if (projects.Length == 0) continue;
            if (projects.Length > 1)
                return ("NetDsl.Generated", $"{dir.FullName} has {projects.Length} projects; pass --namespace (the generator's default shown)");
            var project = projects[0];
            try
            {
                var root = System.Xml.Linq.XDocument.Load(project).Root;
                var declared = root?.Descendants().FirstOrDefault(e => e.Name.LocalName == "RootNamespace" && !string.IsNullOrWhiteSpace(e.Value))?.Value.Trim();
                if (declared is not null && !declared.Contains("$(")) return (declared, $"the RootNamespace of {Path.GetFileName(project)}, as the build uses");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Xml.XmlException) { }
            return (Path.GetFileNameWithoutExtension(project).Replace(' ', '_'), $"the RootNamespace of {Path.GetFileName(project)} (its name), as the build uses");
        }
        return ("NetDsl.Generated", "no project above the file: the generator's default (pass --namespace)");
    }

    // ------------------------------------------------------------------ graph

    /// <summary>Writes one SVG per network (NAME.svg in <paramref name="outDir"/>, or standard output with "-").</summary>
    public static int Graph(FileInfo file, string? network, string? outDir, CliOutput o)
    {
        if (!TryCompile(file, o, out var result)) return result is null ? NetDslCli.ExitUsage : NetDslCli.ExitErrors;
        if (!TrySelect(result, network, file, o, out var selected)) return NetDslCli.ExitUsage;
        foreach (var n in selected)
        {
            var svg = SvgGraph.Render($"{n.Name} ({file.Name}): {N(n.Summary.TotalParameters)} parameters", n.Graph);
            if (outDir == "-") { o.Out.Write(svg); continue; }
            var path = Path.Combine(outDir ?? ".", n.Name + ".svg");
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.WriteAllText(path, svg);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                o.Err.WriteLine($"netdsl: cannot write {Path.GetFullPath(path)}: {ex.Message}");
                return NetDslCli.ExitUsage;
            }
            o.Out.WriteLine($"wrote {path} ({n.Graph.Count} nodes)");
        }
        return NetDslCli.ExitOk;
    }

    // ------------------------------------------------------------------ helpers

    internal static string N(long value) => value.ToString("N0", Inv);

    internal static string Bytes(long bytes)
    {
        var human = Human(bytes);
        return bytes >= 1024 ? $"{human} ({N(bytes)} bytes)" : human;
    }

    internal static string Human(long bytes) =>
        bytes switch
        {
            >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.00", Inv) + " GiB",
            >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.00", Inv) + " MiB",
            >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.00", Inv) + " KiB",
            _ => bytes.ToString(Inv) + " B",
        };

    internal static bool TryRead(FileInfo file, CliOutput o, out string text)
    {
        text = "";
        try
        {
            text = File.ReadAllText(file.FullName);
            return true;
        }
        catch (FileNotFoundException) { o.Err.WriteLine($"netdsl: file not found: {file.FullName}"); }
        catch (DirectoryNotFoundException) { o.Err.WriteLine($"netdsl: file not found: {file.FullName}"); }
        catch (UnauthorizedAccessException ex) { o.Err.WriteLine($"netdsl: cannot read {file.FullName}: {ex.Message}"); }
        catch (IOException ex) { o.Err.WriteLine($"netdsl: cannot read {file.FullName}: {ex.Message}"); }
        return false;
    }

    /// <summary>Reads and compiles; prints diagnostics. result is null on an I/O error.</summary>
    internal static bool TryCompile(FileInfo file, CliOutput o, out CompileResult? result, CompileOptions? options = null)
    {
        result = null;
        if (!TryRead(file, o, out var text)) return false;
        result = NetCompiler.Compile(file.FullName, text, options);
        foreach (var d in result.Diagnostics)
            (d.Severity == Severity.Error ? o.Err : o.Out).WriteLine(d.ToString());
        return result.Success;
    }

    internal static bool TrySelect(CompileResult? result, string? network, FileInfo file, CliOutput o, out IReadOnlyList<CompiledNetwork> selected)
    {
        var all = result?.Networks ?? Array.Empty<CompiledNetwork>();
        if (network is null)
        {
            selected = all;
            if (all.Count == 0) { o.Err.WriteLine($"netdsl: {file.FullName} declares no network"); return false; }
            return true;
        }
        selected = all.Where(n => string.Equals(n.Name, network, StringComparison.Ordinal)).ToList();
        if (selected.Count == 0)
        {
            var names = all.Count == 0 ? "none" : string.Join(", ", all.Select(n => n.Name));
            o.Err.WriteLine($"netdsl: no network named '{network}' in {file.FullName} (networks: {names})");
            return false;
        }
        return true;
    }
}
