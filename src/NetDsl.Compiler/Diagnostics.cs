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

    /// <summary>The ids of the diagnostics (stable); <see cref="DiagnosticCatalog"/> gives each its title and explanation.</summary>
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
        public const string UnusedBinding = "NDSL0217";
        // 03xx code generation
        public const string NoKernel = "NDSL0301";
        // 09xx internal
        public const string InternalError = "NDSL0999";
    }

    /// <summary>One entry of the catalog: an id, its short title, its default severity and what it means.</summary>
    public sealed record DiagnosticInfo(string Id, string Title, Severity Severity, string Explanation);

    /// <summary>
    /// Every diagnostic the compiler reports, in one static list (the Mapperly pattern): the generator builds its Roslyn
    /// descriptors from it (title, severity, a help link), and docs/diagnostics.md is printed from it (a test keeps them
    /// equal). Adding a diagnostic is adding an id and an entry here.
    /// </summary>
    public static class DiagnosticCatalog
    {
        public static IReadOnlyList<DiagnosticInfo> All { get; } = new[]
        {
            E(DiagnosticIds.SyntaxError, "Syntax error", "The text is not `.net` syntax. The parser reports it and goes on, so later mistakes are reported in the same build."),
            E(DiagnosticIds.ShapeMismatch, "Shape mismatch", "Two tensors that must agree do not, e.g. labels [N] against logits [M, C]; both shapes are named."),
            E(DiagnosticIds.AddShapeMismatch, "Added tensors differ in shape", "`a + b` (or `add`) of shapes that are neither equal nor broadcastable; both are named, with a hint at a missing projection for residual blocks."),
            E(DiagnosticIds.RankMismatch, "Wrong rank", "A layer got a tensor with the wrong number of dims (e.g. `conv` fed [N, 784]); the expected form and the actual shape are named."),
            E(DiagnosticIds.ShapeAssertionFailed, "Shape assertion failed", "`x: [...] = expr` declared a shape the expression does not have."),
            E(DiagnosticIds.ConcatMismatch, "Concatenated shapes differ", "`concat` of tensors that differ in a dim other than the axis."),
            E(DiagnosticIds.InvalidGeometry, "Invalid geometry or value", "A kernel larger than its padded input, a stride or pad out of range, groups that do not divide the channels, a probability outside [0, 1), and similar argument values."),
            E(DiagnosticIds.SymbolicDimNotAllowed, "Symbolic dim where a size is needed", "A layer needs a known size (it shapes a parameter), but the dim is symbolic such as `T`."),
            E(DiagnosticIds.SizeOverflow, "Size beyond the limits", "Integer overflow in shape arithmetic, an integer argument beyond 32 bits, or a tensor of more than 2³¹−1 elements."),
            E(DiagnosticIds.UnknownLayer, "Unknown layer or block", "A call to a name that is neither a layer nor a block of this file; the closest names are suggested."),
            E(DiagnosticIds.UnknownName, "Unknown name", "A name that is not bound: not an input, a binding, a parameter or a loop variable in scope."),
            E(DiagnosticIds.MissingArgument, "Missing argument", "A required argument of a layer or block is not given; the signature is listed."),
            E(DiagnosticIds.UnknownArgument, "Unknown named argument", "A named argument the layer or block does not take; the closest names are suggested."),
            E(DiagnosticIds.TooManyArguments, "Too many arguments", "More positional arguments than the layer or block takes."),
            E(DiagnosticIds.TypeMismatch, "Wrong type", "An argument or value of the wrong type, e.g. a float where an int is needed or a string option that is not one of the allowed values."),
            E(DiagnosticIds.DuplicateDeclaration, "Duplicate declaration", "Two declarations of one name in one scope (inputs, bindings, blocks, networks, layer names)."),
            E(DiagnosticIds.InvalidStatement, "Statement not allowed here", "A statement in the wrong place, e.g. `input` inside a block or `return` in a network."),
            E(DiagnosticIds.MissingReturn, "Block without return", "A block must end with `return`."),
            E(DiagnosticIds.NoOutput, "Network without output", "A network must declare at least one `output`."),
            E(DiagnosticIds.InvalidLoss, "Not a loss", "`loss = ...` must be a scalar [1] expression such as a loss function or a sum of them."),
            E(DiagnosticIds.UnrollLimit, "Unrolling limit exceeded", "Loops or recursive blocks unroll to more than the limits of docs/language.md (1,000,000 iterations, 200,000 operations)."),
            E(DiagnosticIds.InvalidName, "Invalid name", "A name that breaks the name rule of docs/language.md (ASCII letters, digits and `_`; layer names may join such parts with `.`)."),
            E(DiagnosticIds.NameCollision, "Name collision", "A network named like a type or member of the generated code, or two names that give one C# name."),
            W(DiagnosticIds.NameRenamed, "Name renamed in C#", "A member or parameter would collide with a generated or inherited member, so its C# name gets a `_` suffix."),
            E(DiagnosticIds.ResourceLimit, "Resource limit", "A `repeat` count, a chain length or another resource limit of docs/language.md is exceeded."),
            W(DiagnosticIds.UnusedBinding, "Unused binding", "A binding (`h = ...`) that no output, loss or other binding reads: its layers add parameters and compute that nothing uses. Remove it, or use it."),
            W(DiagnosticIds.NoKernel, "No kernels for an op", "An op is shape-checked and summarized but has no kernels yet, so no class is generated for the network."),
            E(DiagnosticIds.InternalError, "Internal compiler error", "A defect of the compiler (reported with its location, never a crashed build). Please report it with the `.net` file."),
        };

        private static DiagnosticInfo E(string id, string title, string text) => new DiagnosticInfo(id, title, Severity.Error, text);
        private static DiagnosticInfo W(string id, string title, string text) => new DiagnosticInfo(id, title, Severity.Warning, text);

        /// <summary>The entry of <paramref name="id"/>, or null for an id the catalog does not know.</summary>
        public static DiagnosticInfo? Find(string id)
        {
            foreach (var d in All) if (d.Id == id) return d;
            return null;
        }

        /// <summary>docs/diagnostics.md: a table of every entry and a section per entry (the anchor the generator's help links point to).</summary>
        public static string Markdown()
        {
            var sb = new System.Text.StringBuilder();
            sb.Append("# Diagnostics\n\n");
            sb.Append("Every message of the compiler is `file.net(line,col): severity NDSLxxxx: message`, the same from `dotnet build`,\n");
            sb.Append("the IDE and `netdsl check`. This page is printed from `DiagnosticCatalog` in `src/NetDsl.Compiler/Diagnostics.cs`\n");
            sb.Append("(a test fails when they differ; `NETDSL_ACCEPT=1 dotnet test --filter Diagnostics_doc` rewrites it).\n\n");
            sb.Append("| id | severity | title |\n|---|---|---|\n");
            foreach (var d in All) sb.Append($"| [{d.Id}](#{d.Id.ToLowerInvariant()}) | {d.Severity.ToString().ToLowerInvariant()} | {d.Title} |\n");
            foreach (var d in All) sb.Append($"\n## {d.Id}\n\n**{d.Title}** ({d.Severity.ToString().ToLowerInvariant()}). {d.Explanation}\n");
            return sb.ToString();
        }
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
