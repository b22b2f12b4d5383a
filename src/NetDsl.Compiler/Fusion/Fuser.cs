using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Fusion
{
    /// <summary>
    /// Lowers the graph to kernels and fuses: (1) a conv/linear/batchnorm whose only consumer is relu, sigmoid or tanh
    /// takes it as an epilogue (applied as the GEMM writes its output, so it costs nothing); (2) chains of
    /// element-wise ops whose intermediate values have one consumer become one loop with up to three inputs; (3) in
    /// backward, the element-wise loop producing a batchnorm's dy (relu_bwd, add + relu_bwd) becomes that batchnorm's prologue.
    /// </summary>
    internal static class Fuser
    {
        // the passes read the ops' traits (Ops/OpDef.cs), never their names
        public static bool IsElementwise(OpNode n) => Ops.OpRegistry.Is(n, Ops.OpTraits.Elementwise);
        private static bool IsActivation(OpNode n) => Ops.OpRegistry.Is(n, Ops.OpTraits.Epilogue);

        /// <summary>
        /// The most element-wise ops one loop fuses (a longer chain, a thousand relus, becomes several loops): the fused
        /// expression is walked recursively when it is printed, so its depth stays bounded.
        /// </summary>
        internal const int MaxFusedOps = 32;

        public static KernelProgram Run(NetGraph g, bool training)
        {
            var nodes = training ? g.Nodes : g.ForwardNodes.ToList();
            var consumers = new Dictionary<TValue, List<OpNode>>();
            foreach (var n in nodes)
                foreach (var i in n.Inputs.Distinct())
                {
                    if (!consumers.TryGetValue(i, out var l)) consumers[i] = l = new List<OpNode>();
                    l.Add(n);
                }
            var pinned = new HashSet<TValue>(g.Outputs.Select(o => o.Value));
            if (g.Loss != null) pinned.Add(g.Loss);
            foreach (var p in g.Params) if (p.Grad != null) pinned.Add(p.Grad);
            int Uses(TValue v) => consumers.TryGetValue(v, out var l) ? l.Count : 0;
            var aliased = new HashSet<TValue>(g.Values.Where(o => o.AliasOf != null).Select(o => o.AliasOf!));
            bool SingleUse(TValue v) => !pinned.Contains(v) && Uses(v) == 1 && v.AliasOf == null && !aliased.Contains(v);

            var prog = new KernelProgram();
            var producedBy = new Dictionary<TValue, Kernel>();
            var absorbed = new HashSet<OpNode>();
            foreach (var n in nodes)
            {
                if (absorbed.Contains(n)) continue;
                Kernel k;
                if (Ops.OpRegistry.Is(n, Ops.OpTraits.View))
                {
                    k = new AliasKernel();
                    k.Ops.Add(n); k.Inputs.AddRange(n.Inputs); k.Outputs.AddRange(n.Outputs);
                }
                else if (IsElementwise(n))
                {
                    var ek = new ElementwiseKernel();
                    ek.Ops.Add(n);
                    var args = new List<ElemExpr>();
                    bool fused = false;
                    foreach (var i in n.Inputs)
                    {
                        // fuse a single-use element-wise producer into this loop if it keeps <= 3 inputs. Moving the
                        // producer's work later is safe: values are never overwritten (SSA) and buffers are planned
                        // after fusion, so its inputs stay alive until this kernel runs.
                        // (an input read twice by this op, x + x, stays a buffer: substituting one of its reads would leave the other dangling)
                        if (!fused && producedBy.TryGetValue(i, out var pk) && pk is ElementwiseKernel pe && SingleUse(i) && n.Inputs.Count(o => o == i) == 1
                            && pe.Ops.Count < MaxFusedOps
                            && pe.Inputs.Union(n.Inputs.Where(o => o != i)).Count() <= 3)
                        {
                            fused = true;
                            prog.Kernels.RemoveAt(prog.Kernels.LastIndexOf(pe));   // the producer is usually the last kernel: O(1)
                            var remap = pe.Inputs.Select(pi => IndexOf(ek.Inputs, pi)).ToArray();
                            args.Add(Substitute(pe.Expr, remap));
                            ek.Ops.InsertRange(ek.Ops.Count - 1, pe.Ops);
                        }
                        else args.Add(new ElemInput(IndexOf(ek.Inputs, i)));
                    }
                    ek.Expr = new ElemOp(n.Op, args, Ops.OpRegistry.Consts(n));
                    ek.Outputs.Add(n.Outputs[0]);
                    k = ek;
                }
                else
                {
                    var lk = new LibraryKernel();
                    lk.Ops.Add(n); lk.Inputs.AddRange(n.Inputs); lk.Outputs.AddRange(n.Outputs);
                    if (Ops.OpRegistry.Is(n, Ops.OpTraits.TakesEpilogue) && SingleUse(n.Outputs[0]))
                    {
                        var c = consumers[n.Outputs[0]][0];
                        if (IsActivation(c))
                        {
                            lk.Epilogue = new ElemOp(c.Op, new[] { new ElemInput(0) }, Ops.OpRegistry.Consts(c));
                            lk.EpilogueNode = c;
                            lk.Ops.Add(c);
                            lk.Outputs[0] = c.Outputs[0];
                            absorbed.Add(c);
                        }
                    }
                    if (Ops.OpRegistry.Is(n, Ops.OpTraits.TakesPrologue)) FusePrologue(prog, lk, producedBy, SingleUse, consumers);
                    k = lk;
                }
                prog.Kernels.Add(k);
                foreach (var o in k.Outputs) producedBy[o] = k;
            }
            for (int i = 0; i < prog.Kernels.Count; i++) prog.Kernels[i].Id = i;
            return prog;
        }

        /// <summary>
        /// (3) batchnorm_bwd takes the element-wise kernel producing its dy (relu_bwd(dy, y), add + relu_bwd…, 2 or 3
        /// inputs) as a prologue: dy is computed as the batchnorm reads it. When other kernels also read that dy, the
        /// batchnorm kernel writes it as an extra output, which is only possible if none of them runs before it.
        /// </summary>
        /// <summary>Whether batchnorm_bwd also absorbs a dy that other kernels read (writing it as dyOut); off, see FusePrologue.</summary>
        internal static bool FuseSharedDy = false;

        private static void FusePrologue(KernelProgram prog, LibraryKernel lk, Dictionary<TValue, Kernel> producedBy, System.Func<TValue, bool> singleUse,
            Dictionary<TValue, List<OpNode>> consumers)
        {
            var n = lk.Node;
            var dy = n.Inputs[0];
            if (!producedBy.TryGetValue(dy, out var pk) || !(pk is ElementwiseKernel pe) || !prog.Kernels.Contains(pe)) return;
            if (pe.Inputs.Count < 2 || pe.Inputs.Count > 3 || n.Inputs.Skip(1).Contains(dy)) return;
            bool single = singleUse(dy);
            // a dy other kernels read too (relu(bn(x) + r)'s gradient, also the shortcut's) would be written by the fused kernel
            // (dyOut); measured at ResNet-20's sizes that was no faster than the separate loop (0.6–1.3×), so it stays separate
            if (!single && !FuseSharedDy) return;
            if (!single)
            {
                // an alias of dy, or a pinned value, or a reader that already ran (its kernel is in the program): keep the loop
                if (dy.AliasOf != null || consumers[dy].Any(c => c != n && prog.Kernels.Any(k => k.Ops.Contains(c)))) return;
                if (prog.Kernels.Any(k => k.Inputs.Any(v => v.AliasOf == dy))) return;
            }
            prog.Kernels.Remove(pe);
            lk.Node = n;
            lk.Prologue = pe.Expr;
            lk.PrologueInputs.AddRange(pe.Inputs);
            lk.Ops.InsertRange(0, pe.Ops);
            lk.Inputs.Clear();
            lk.Inputs.AddRange(pe.Inputs);
            lk.Inputs.AddRange(n.Inputs.Skip(1));
            if (!single)
            {
                lk.PrologueOutput = dy;
                lk.Outputs.Add(dy);
            }
        }

        private static int IndexOf(List<TValue> inputs, TValue v)
        {
            int i = inputs.IndexOf(v);
            if (i >= 0) return i;
            inputs.Add(v);
            return inputs.Count - 1;
        }

        private static ElemExpr Substitute(ElemExpr e, int[] remap) => e switch
        {
            ElemInput i => new ElemInput(remap[i.Index]),
            ElemOp o => new ElemOp(o.Op, o.Args.Select(a => Substitute(a, remap)).ToList(), o.Consts),
            _ => e,
        };
    }
}
