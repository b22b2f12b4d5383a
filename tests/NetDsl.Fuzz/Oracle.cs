using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDsl.Compiler;

namespace NetDsl.Fuzz;

/// <summary>What one input did: fine, an internal compiler error, generated C# that does not parse, or slow.</summary>
public enum Verdict { Ok, InternalError, InvalidCSharp, Slow }

/// <summary>
/// The oracle: compile a .net text; it must not report NDSL0999, and every generated file must parse as C# with no syntax
/// error (Roslyn). Crashes and hangs are the harness's to see (they take the process down or never return).
/// </summary>
public static class Oracle
{
    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    public static (Verdict Verdict, string Detail, long Ms) Check(string text, long slowMs = 1000) => Check(text, slowMs, out _);

    /// <summary><see cref="Check(string, long)"/>, also saying how many networks generated code.</summary>
    public static (Verdict Verdict, string Detail, long Ms) Check(string text, long slowMs, out int generated)
    {
        generated = 0;
        var sw = Stopwatch.StartNew();
        var r = NetCompiler.Compile("fuzz.net", text);
        long ms = sw.ElapsedMilliseconds;
        var ice = r.Diagnostics.FirstOrDefault(d => d.Id == DiagnosticIds.InternalError);
        if (ice != null) return (Verdict.InternalError, ice.ToString(), ms);
        foreach (var n in r.Networks)
        {
            if (n.Source.Length == 0) continue;
            generated++;
            var errors = CSharpSyntaxTree.ParseText(n.Source, Parse).GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (errors.Count > 0) return (Verdict.InvalidCSharp, $"{n.Name}: {errors[0]}", ms);
        }
        return ms > slowMs ? (Verdict.Slow, $"{ms} ms", ms) : (Verdict.Ok, "", ms);
    }
}
