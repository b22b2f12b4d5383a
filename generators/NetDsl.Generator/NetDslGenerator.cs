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

            IncrementalValuesProvider<NetFileResult> results = files
                .Combine(rootNamespace)
                .Select(static (pair, _) => new NetFileInput(pair.Left, pair.Right))
                .WithTrackingName(TrackingNames.NetFilesWithNamespace)
                .Select(static (input, ct) => Compile(input))
                .WithTrackingName(TrackingNames.Compiled);

            context.RegisterSourceOutput(results, static (spc, result) => Emit(spc, result));
        }

        internal static string GetRootNamespace(AnalyzerConfigOptions options)
        {
            if (options.TryGetValue("build_property.RootNamespace", out var ns) && !string.IsNullOrWhiteSpace(ns))
                return ns.Trim();
            return DefaultNamespace;
        }

        /// <summary>Runs the compiler; never throws (an exception becomes an NDSL0999 diagnostic).</summary>
        internal static NetFileResult Compile(NetFileInput input)
        {
            var path = input.File.Path;
            try
            {
                var result = NetCompiler.Compile(path, input.File.Text, new CompileOptions { Namespace = input.Namespace });
                var sources = result.Networks
                    .Select(n => new GeneratedSource(n.HintName, n.Source))
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

        private static void Emit(SourceProductionContext context, NetFileResult result)
        {
            try
            {
                foreach (var d in result.Diagnostics)
                    context.ReportDiagnostic(ToRoslyn(d, result.Path));

                var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var s in result.Sources)
                {
                    var hint = UniqueHintName(s.HintName, used);
                    context.AddSource(hint, SourceText.From(s.Source, Encoding.UTF8));
                }
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                context.ReportDiagnostic(ToRoslyn(InternalError(result.Path, ex), result.Path));
            }
        }

        private static string UniqueHintName(string hintName, HashSet<string> used)
        {
            var name = string.IsNullOrWhiteSpace(hintName) ? "Network.g.cs" : hintName;
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
                    descriptor = new DiagnosticDescriptor(
                        id: id,
                        title: "NetDsl " + id,
                        messageFormat: "{0}",
                        category: "NetDsl",
                        defaultSeverity: severity,
                        isEnabledByDefault: true);
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
