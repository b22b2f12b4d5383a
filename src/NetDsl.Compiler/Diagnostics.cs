using System;
using System.Collections.Generic;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler
{
    public enum Severity { Error, Warning, Info }

    /// <summary>
    /// A compiler message located in a .net file. ToString() is the MSBuild format
    /// `path(line,col): error NDSL0102: message`, the same text from the build, the IDE and the tool.
    /// </summary>
    public sealed record Diagnostic(string Id, Severity Severity, string Message, string Path, SourceSpan Span)
    {
        public override string ToString() =>
            $"{Path}({Span.Line},{Span.Column}): {Severity.ToString().ToLowerInvariant()} {Id}: {Message}";
    }

    /// <summary>The catalog of diagnostics (ids are stable; docs/diagnostics.md lists them).</summary>
    public static class DiagnosticIds
    {
        // 00xx syntax
        public const string SyntaxError = "NDSL0001";
        // 01xx shapes
        public const string ShapeMismatch = "NDSL0101";
        public const string AddShapeMismatch = "NDSL0102";
        public const string RankMismatch = "NDSL0103";
        public const string ShapeAssertionFailed = "NDSL0104";
        public const string ConcatMismatch = "NDSL0105";
        public const string InvalidGeometry = "NDSL0106";
        public const string SymbolicDimNotAllowed = "NDSL0107";
        public const string SizeOverflow = "NDSL0108";
        // 02xx names and calls
        public const string UnknownLayer = "NDSL0201";
        public const string UnknownName = "NDSL0202";
        public const string MissingArgument = "NDSL0203";
        public const string UnknownArgument = "NDSL0204";
        public const string TooManyArguments = "NDSL0205";
        public const string TypeMismatch = "NDSL0206";
        public const string DuplicateDeclaration = "NDSL0207";
        public const string InvalidStatement = "NDSL0208";
        public const string MissingReturn = "NDSL0209";
        public const string NoOutput = "NDSL0210";
        public const string InvalidLoss = "NDSL0211";
        public const string UnrollLimit = "NDSL0212";
        public const string InvalidName = "NDSL0213";
        public const string NameCollision = "NDSL0214";
        public const string NameRenamed = "NDSL0215";
        public const string ResourceLimit = "NDSL0216";
        // 03xx code generation
        public const string NoKernel = "NDSL0301";
        // 09xx internal
        public const string InternalError = "NDSL0999";
    }

    /// <summary>Collects diagnostics for one file.</summary>
    public sealed class DiagnosticBag
    {
        private readonly List<Diagnostic> _items = new List<Diagnostic>();
        public string Path { get; }
        public DiagnosticBag(string path) { Path = path; }
        public IReadOnlyList<Diagnostic> Items => _items;
        public bool HasErrors { get { foreach (var d in _items) if (d.Severity == Severity.Error) return true; return false; } }
        public void Error(string id, SourceSpan span, string message) => _items.Add(new Diagnostic(id, Severity.Error, message, Path, span));
        public void Warning(string id, SourceSpan span, string message) => _items.Add(new Diagnostic(id, Severity.Warning, message, Path, span));
        public void Add(Diagnostic d) => _items.Add(d);
    }
}
