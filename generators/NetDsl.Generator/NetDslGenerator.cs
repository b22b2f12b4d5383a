using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using NetDsl.Compiler;

namespace NetDsl.Generator
{
    /// <summary>
    /// Compiles every <c>*.net</c> AdditionalFile with <see cref="NetCompiler"/> and adds one generated
    /// file per network; compiler diagnostics are reported located in the .net file.
    /// Every model between stages has value equality, so editing C# regenerates nothing and editing
    /// one .net file recompiles only that file.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class NetDslGenerator : IIncrementalGenerator
    {
        public const string DefaultNamespace = "NetDsl.Generated";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            IncrementalValuesProvider<NetFileModel> files = context.AdditionalTextsProvider
                .Where(static t => t.Path.EndsWith(".net", StringComparison.OrdinalIgnoreCase))
                .Select(static (t, ct) => new NetFileModel(t.Path, t.GetText(ct)?.ToString() ?? string.Empty))
                .WithTrackingName(TrackingNames.NetFiles);

            IncrementalValueProvider<string> rootNamespace = context.AnalyzerConfigOptionsProvider
                .Select(static (o, _) => GetRootNamespace(o.GlobalOptions))
                .WithTrackingName(TrackingNames.RootNamespace);

            IncrementalValueProvider<bool> debug = context.AnalyzerConfigOptionsProvider
                .Select(static (o, _) => GetDebug(o.GlobalOptions))
                .WithTrackingName(TrackingNames.Debug);

            IncrementalValuesProvider<NetFileResult> results = files
                .Combine(rootNamespace)
                .Combine(debug)
                .Select(static (pair, _) => new NetFileInput(pair.Left.Left, pair.Left.Right, pair.Right))
                .WithTrackingName(TrackingNames.NetFilesWithNamespace)
                .Select(static (input, ct) => Compile(input))
                .WithTrackingName(TrackingNames.Compiled);

            // Hint names must be unique across the whole generator, or Roslyn drops every output (CS8785).
            // Two files declaring the same network would clash: find such names once (a small equatable
            // value that rarely changes, so per-file outputs stay cached) and let only the first file (by path) generate it.
            IncrementalValueProvider<EquatableArray<HintOwner>> duplicateHints = results
                .Select(static (r, _) => new FileHints(r.Path, new EquatableArray<string>(r.Sources.Select(s => s.HintName))))
                .WithTrackingName(TrackingNames.HintNames)
                .Collect()
                .Select(static (all, _) => FindDuplicateHints(all))
                .WithTrackingName(TrackingNames.DuplicateHints);

            IncrementalValuesProvider<(NetFileResult Result, EquatableArray<HintOwner> Duplicates)> outputs = results
                .Combine(duplicateHints)
                .WithTrackingName(TrackingNames.Output);

            context.RegisterSourceOutput(outputs, static (spc, pair) => Emit(spc, pair.Result, pair.Duplicates));
        }

        /// <summary>Hint names produced by more than one file, each with the first file (ordinal path order), which alone generates it.</summary>
        internal static EquatableArray<HintOwner> FindDuplicateHints(ImmutableArray<FileHints> all)
        {
            var byHint = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var file in all)
                foreach (var hint in file.HintNames)
                {
                    if (!byHint.TryGetValue(hint, out var paths)) byHint[hint] = paths = new List<string>();
                    if (!paths.Contains(file.Path)) paths.Add(file.Path);
                }
            var duplicates = byHint
                .Where(kv => kv.Value.Count > 1)
                .Select(kv => new HintOwner(kv.Key.ToLowerInvariant(), kv.Value.OrderBy(p => p, StringComparer.Ordinal).First(),
                    new EquatableArray<string>(kv.Value.OrderBy(p => p, StringComparer.Ordinal))))
                .OrderBy(h => h.HintName, StringComparer.Ordinal)
                .ToArray();
            return new EquatableArray<HintOwner>(duplicates);
        }

        internal static string GetRootNamespace(AnalyzerConfigOptions options)
        {
            if (options.TryGetValue("build_property.RootNamespace", out var ns) && !string.IsNullOrWhiteSpace(ns))
                return ns.Trim();
            return DefaultNamespace;
        }

        /// <summary>
        /// build_property.NetDslDebug: debug mode (no buffer reuse, `#line` directives into the .net files), see
        /// <see cref="CompileOptions.Debug"/>. The MSBuild property reaches the generator through a CompilerVisibleProperty item.
        /// </summary>
        internal static bool GetDebug(AnalyzerConfigOptions options) =>
            options.TryGetValue("build_property.NetDslDebug", out var v) && string.Equals(v?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

        /// <summary>Runs the compiler; never throws (an exception becomes an NDSL0999 diagnostic).</summary>
        internal static NetFileResult Compile(NetFileInput input)
        {
            var path = input.File.Path;
            try
            {
                var result = NetCompiler.Compile(path, input.File.Text, new CompileOptions { Namespace = input.Namespace, Skeletons = true, Debug = input.Debug });
                var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                // A network with errors comes back without source but with a skeleton (members that throw): adding it keeps
                // the user's C# from piling "type not found" errors on top of the NDSL error.
                var sources = result.Networks
                    .Select(n => (n, Text: !string.IsNullOrWhiteSpace(n.Source) ? n.Source : n.Skeleton))
                    .Where(x => !string.IsNullOrWhiteSpace(x.Text))
                    .Select(x => new GeneratedSource(UniqueHintName(x.n.HintName, x.n.Name, used), x.Text ?? string.Empty))
                    .ToArray();
                var diagnostics = result.Diagnostics
                    .Select(d => new DiagnosticInfo(d.Id, d.Severity, d.Message, string.IsNullOrEmpty(d.Path) ? path : d.Path,
                        d.Span.Line, d.Span.Column, d.Span.EndLine, d.Span.EndColumn))
                    .ToArray();
                return new NetFileResult(path, new EquatableArray<GeneratedSource>(sources), new EquatableArray<DiagnosticInfo>(diagnostics));
            }
            catch (Exception ex)
            {
                return new NetFileResult(path, EquatableArray<GeneratedSource>.Empty,
                    new EquatableArray<DiagnosticInfo>(new[] { InternalError(path, ex) }));
            }
        }

        private static DiagnosticInfo InternalError(string path, Exception ex) =>
            new DiagnosticInfo(DiagnosticIds.InternalError, Severity.Error,
                $"internal generator error: {ex.GetType().Name}: {ex.Message} (please report this with the .net file)",
                path, 1, 1, 1, 1);

        private static void Emit(SourceProductionContext context, NetFileResult result, EquatableArray<HintOwner> duplicates)
        {
            try
            {
                foreach (var d in result.Diagnostics)
                    context.ReportDiagnostic(ToRoslyn(d, result.Path));

                foreach (var s in result.Sources)
                {
                    var hint = s.HintName;
                    var owner = duplicates.FirstOrDefault(h => string.Equals(h.HintName, hint, StringComparison.OrdinalIgnoreCase));
                    if (owner != null && owner.Owner != result.Path)
                    {
                        var others = string.Join(", ", owner.Paths.Where(p => p != result.Path).Select(p => Path.GetFileName(p)));
                        context.ReportDiagnostic(ToRoslyn(new DiagnosticInfo(DiagnosticIds.DuplicateDeclaration, Severity.Error,
                            $"'{hint}' is also generated from {others}: network names must be unique in a project (not generated again from this file)",
                            result.Path, 1, 1, 1, 1), result.Path));
                        // Not added: the same type twice would only bury NDSL0207 under C# errors.
                        continue;
                    }
                    context.AddSource(hint, SourceText.From(s.Source, Encoding.UTF8));
                }
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                context.ReportDiagnostic(ToRoslyn(InternalError(result.Path, ex), result.Path));
            }
        }

        /// <summary>
        /// A hint name Roslyn accepts: only [A-Za-z0-9._-], ends in .cs, unique within the file
        /// (case-insensitively, as Roslyn compares them).
        /// </summary>
        internal static string UniqueHintName(string? hintName, string? networkName, HashSet<string> used)
        {
            var raw = !string.IsNullOrWhiteSpace(hintName) ? hintName!
                : !string.IsNullOrWhiteSpace(networkName) ? networkName + ".g.cs" : "Network.g.cs";
            var sb = new StringBuilder(raw.Length);
            foreach (var c in raw)
                sb.Append((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ? c : '_');
            var name = sb.ToString().Trim('.');
            if (name.Length == 0) name = "Network";
            if (!name.EndsWith(".cs", StringComparison.OrdinalIgnoreCase)) name += ".g.cs";
            var candidate = name;
            for (int i = 2; !used.Add(candidate); i++)
                candidate = name.Substring(0, name.Length - 3) + "." + i + ".cs";
            return candidate;
        }

        // ------------------------------------------------------------------ diagnostics

        private static readonly Dictionary<(string, DiagnosticSeverity), DiagnosticDescriptor> Descriptors =
            new Dictionary<(string, DiagnosticSeverity), DiagnosticDescriptor>();

        internal static DiagnosticDescriptor GetDescriptor(string id, DiagnosticSeverity severity)
        {
            lock (Descriptors)
            {
                if (!Descriptors.TryGetValue((id, severity), out var descriptor))
                {
                    // the title and description come from the compiler's catalog (docs/diagnostics.md is printed from it)
                    var info = DiagnosticCatalog.Find(id);
                    descriptor = new DiagnosticDescriptor(
                        id: id,
                        title: info?.Title ?? "NetDsl " + id,
                        messageFormat: "{0}",
                        category: "NetDsl",
                        defaultSeverity: severity,
                        isEnabledByDefault: true,
                        description: info == null ? null : info.Explanation + " (docs/diagnostics.md#" + id.ToLowerInvariant() + ")");
                    Descriptors[(id, severity)] = descriptor;
                }
                return descriptor;
            }
        }

        internal static DiagnosticSeverity ToRoslyn(Severity severity) => severity switch
        {
            Severity.Error => DiagnosticSeverity.Error,
            Severity.Warning => DiagnosticSeverity.Warning,
            _ => DiagnosticSeverity.Info,
        };

        /// <summary>
        /// A Roslyn diagnostic located in the .net file. The compiler's span is 1-based (end exclusive);
        /// Roslyn's LinePosition is 0-based. The TextSpan is left empty: only the line span is used
        /// to print <c>path(line,col)</c>.
        /// </summary>
        internal static Microsoft.CodeAnalysis.Diagnostic ToRoslyn(DiagnosticInfo d, string fallbackPath)
        {
            var path = string.IsNullOrEmpty(d.Path) ? fallbackPath : d.Path;
            int line = Math.Max(d.Line, 1) - 1;
            int col = Math.Max(d.Column, 1) - 1;
            int endLine = Math.Max(d.EndLine, 1) - 1;
            int endCol = Math.Max(d.EndColumn, 1) - 1;
            if (endLine < line || (endLine == line && endCol < col)) { endLine = line; endCol = col; }
            var start = new LinePosition(line, col);
            var end = new LinePosition(endLine, endCol);
            var location = Location.Create(path, new TextSpan(0, 0), new LinePositionSpan(start, end));
            var severity = ToRoslyn(d.Severity);
            return Microsoft.CodeAnalysis.Diagnostic.Create(GetDescriptor(d.Id, severity), location, d.Message);
        }
    }
}
