using System.Collections.Generic;

namespace NetDsl.Compiler
{
    internal static class Pipeline
    {
        public static void Run(string path, string text, CompileOptions options, DiagnosticBag bag, List<CompiledNetwork> networks)
        {
            bag.Error(DiagnosticIds.InternalError, new Syntax.SourceSpan(1, 1, 1, 1), "compiler pipeline not implemented yet");
        }
    }
}
