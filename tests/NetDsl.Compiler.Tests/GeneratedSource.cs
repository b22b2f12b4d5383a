namespace NetDsl.Compiler.Tests;

/// <summary>Parts of a generated class's source.</summary>
public static class GeneratedSource
{
    /// <summary>
    /// The source without RunEval, the eval-only program (which repeats the forward kernels that the outputs need, batchnorm
    /// folded): for tests that count the calls of the training program.
    /// </summary>
    public static string WithoutEval(string source)
    {
        int start = source.IndexOf("private void RunEval(", System.StringComparison.Ordinal);
        if (start < 0) return source;
        int end = source.IndexOf("\n        }\n", start, System.StringComparison.Ordinal);
        return source.Substring(0, start) + source.Substring(end + "\n        }\n".Length);
    }

    /// <summary>The body of RunEval, the eval-only program.</summary>
    public static string Eval(string source)
    {
        int start = source.IndexOf("private void RunEval(", System.StringComparison.Ordinal);
        if (start < 0) return "";
        int end = source.IndexOf("\n        }\n", start, System.StringComparison.Ordinal);
        return source.Substring(start, end - start);
    }
}
