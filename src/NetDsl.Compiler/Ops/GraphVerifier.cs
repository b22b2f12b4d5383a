using System.Linq;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// Checks every node of a graph against its op's definition (<see cref="OpDef.Check"/>): the op is defined, its
    /// attribute record has the definition's type, its input count fits the named operands, and forward and gradient ops
    /// are where they belong. A failure is a defect of the compiler, reported as NDSL0999 at the node's `.net` line
    /// (the network gets no class) instead of a wrong kernel call later.
    /// </summary>
    internal static class GraphVerifier
    {
        public static bool Run(NetGraph g, DiagnosticBag bag)
        {
            foreach (var n in g.Nodes)
            {
                string? problem = OpRegistry.Defs.TryGetValue(n.Op, out var d) ? d.Check(n) : $"op {n.Op} is not defined by any op family";
                if (problem == null) continue;
                bag.Error(DiagnosticIds.InternalError, n.Span, $"internal error in network {g.Name}: node {n.Layer}: {problem}");
                return false;
            }
            return true;
        }
    }
}
