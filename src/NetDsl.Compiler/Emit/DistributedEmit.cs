using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Emit
{
    /// <summary>
    /// What the emitter writes for data-parallel training (docs/distributed.md), kept apart from <see cref="NetworkEmitter"/>:
    /// the seed expression of a random op that lets a rank's shard draw the masks of its global sample positions.
    /// </summary>
    internal static class DistributedEmit
    {
        /// <summary>
        /// <c>DropoutSeed(id, b)</c>: b decisions of the op's mask stream per sample (dims <paramref name="from"/> up to
        /// <paramref name="to"/> (exclusive) of input 0: all non-batch dims for dropout, the channels for dropout2d, none for
        /// stochastic depth). When a dim is symbolic the plain <c>DropoutSeed(id)</c> is emitted (no shard shift).
        /// </summary>
        public static string ShardSeed(OpNode n, int from, int? to = null)
        {
            var dims = n.Inputs[0].Shape.Dims;
            int end = to ?? dims.Count;
            long b = 1;
            for (int d = from; d < end && d < dims.Count; d++)
            {
                if (!dims[d].IsKnown) return $"DropoutSeed({n.Id})";
                b *= dims[d].Value;
            }
            return $"DropoutSeed({n.Id}, {b}L)";
        }
    
        /// <summary>
        /// The order in which the backward pass makes parameter gradients final, known here at compile time: after each
        /// backward kernel that writes a parameter's (final, bound) gradient the pass calls <c>GradientReady(position)</c>, and
        /// <c>GradientOrder</c> maps positions to indices in <c>Parameters</c>, so a data-parallel layer can plan allreduce
        /// buckets and start each one as soon as its last gradient is written.
        /// </summary>
        internal sealed class GradientPlan
        {
            private readonly NetGraph _g;
            private readonly List<ParamDecl> _order = new List<ParamDecl>();
            public GradientPlan(NetGraph g) { _g = g; }

            /// <summary>Emits GradientReady for each parameter gradient <paramref name="k"/> wrote (after its call).</summary>
            public void AfterKernel(CodeWriter w, Kernel k)
            {
                var ready = new List<int>();
                foreach (var v in k.Outputs)
                {
                    if (v.Role != ValueRole.ParameterGradient) continue;
                    var p = _g.Params.FirstOrDefault(x => x.Grad == v);
                    if (p == null || _order.Contains(p)) continue;
                    ready.Add(_order.Count);
                    _order.Add(p);
                }
                if (ready.Count > 0) w.Line(string.Concat(ready.Select(i => $"GradientReady({i}); ")).TrimEnd() + " // gradients final: their allreduce bucket may start");
            }

            /// <summary>The GradientOrder override (position → parameter index), built once from the parameter properties.</summary>
            public void EmitOrder(CodeWriter w, Func<ParamDecl, string> paramRef)
            {
                if (_order.Count == 0) return;
                w.Line("private int[]? _gradientOrder;");
                w.Line("/// <summary>Indices into Parameters in the order the backward pass makes their gradients final (GradientReady's positions).</summary>");
                w.Line($"public override System.Collections.Generic.IReadOnlyList<int>? GradientOrder => _gradientOrder ??= new[] {{ {string.Join(", ", _order.Select(p => $"ParameterIndex({paramRef(p)})"))} }};");
                w.Line();
            }
        }
    }
}
