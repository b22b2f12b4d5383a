using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Emit;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Memory
{
    /// <summary>What the rematerialization pass did: the forward values it recomputes and the FLOPs per sample that adds.</summary>
    public sealed record RematReport(IReadOnlyList<TValue> Recomputed, long FlopsPerSample, int LongestChain = 0);

    /// <summary>
    /// Rematerialization (runs after fusion, before memory planning, in training programs). A forward value the backward
    /// pass reads is normally kept alive from its producer to its last backward use, which makes the forward activations the
    /// bulk of a training step's peak memory. The rule here:
    /// <list type="bullet">
    /// <item>a value is <i>recomputable</i> when its producer is cheap — an element-wise kernel (a fused loop) or batchnorm,
    /// whose output is a per-channel affine map y = (x − mean)·invstd·γ + β once its saved mean and invstd are kept — and every
    /// input of that producer is <i>kept anyway</i>: read by the backward pass itself and not recomputed, or a parameter,
    /// buffer, network input or batch-independent value (batchnorm's statistics). An input that the backward pass does not
    /// read (batchnorm's output feeding a relu) is recomputed too, once, if it is itself recomputable from kept values;</item>
    /// <item>values are decided greedily in forward order, so a value recomputed from a kept value never needs another
    /// recomputed value (no chains: each recompute is one or two cheap kernels over values that are alive anyway);</item>
    /// <item>the recomputation's FLOPs stay below <see cref="MaxStepFraction"/> of the step's (element-wise work is
    /// bandwidth-bound, so this is a loose bound; in practice it is ~1 % of a conv net's step time).</item>
    /// </list>
    /// A recomputed value's producer is cloned into the backward pass right before the first backward kernel that reads
    /// it, writing a new short-lived value, and the backward kernels read the clone; the planner then reuses the memory the
    /// forward value held once its forward consumers are done. The clones compute the same expression with the same
    /// kernels (BatchNormApply is BatchNormForward's output loop), so gradients are unchanged bit for bit.
    /// Graph outputs, the loss and aliased (reshaped) values are never recomputed.
    /// </summary>
    internal static class Rematerializer
    {
        /// <summary>Upper bound of the recomputation's FLOPs as a fraction of the training step's.</summary>
        public const double MaxStepFraction = 0.05;
        /// <summary>
        /// Chain limits the pipeline tries (keeping the smallest plan): 1 recomputes only from kept values; longer chains
        /// recompute from recomputed values too (a residual block's output from the previous block's recomputed output), which
        /// frees more at the start of the backward pass but holds more recomputed buffers at once later.
        /// </summary>
        public static readonly int[] ChainLimits = { 1, 2, 3, 4 };

        public static RematReport Run(NetGraph g, KernelProgram prog, int maxChain = 1)
        {
            var none = new RematReport(new List<TValue>(), 0);
            var forward = prog.Kernels.Where(k => !k.IsBackward).ToList();
            var backward = prog.Kernels.Where(k => k.IsBackward).ToList();
            if (backward.Count == 0) return none;

            var producer = new Dictionary<TValue, Kernel>();
            foreach (var k in forward) foreach (var o in k.Outputs) producer[o] = k;
            var readByBackward = new HashSet<TValue>(backward.SelectMany(k => k.Inputs));
            var aliased = new HashSet<TValue>(g.Values.Where(v => v.AliasOf != null).Select(v => v.Storage));
            var pinned = new HashSet<TValue>(g.Outputs.Select(o => o.Value.Storage));
            if (g.Loss != null) pinned.Add(g.Loss.Storage);
            foreach (var v in g.InputGrads.Values) pinned.Add(v.Storage);

            long stepFlops = prog.Kernels.Sum(KernelCost.FlopsOf);
            long budget = (long)(stepFlops * MaxStepFraction), spent = 0;
            var recomputed = new HashSet<TValue>();
            var plans = new Dictionary<TValue, List<(Kernel Source, TValue Value)>>();
            var chain = new Dictionary<TValue, int>();        // recomputed values on the longest path to kept values, this one included
            var deps = new Dictionary<TValue, List<TValue>>(); // recomputed values a recompute reads

            bool Batchless(TValue v) => v.Shape.IsUnknown || v.Shape.Size.Symbols.Length == 0;
            bool Kept(TValue u) =>
                u.Role == ValueRole.Parameter || u.Role == ValueRole.Buffer || u.Role == ValueRole.Input || Batchless(u)
                || (readByBackward.Contains(u) && !recomputed.Contains(u));

            // The kernels (in order) that recompute v, or null; dependencies on other recomputed values go to `reads`.
            // depth 0: v itself; depth 1: an input of v's producer that the backward pass does not read.
            List<(Kernel, TValue)>? Plan(TValue v, int depth, List<TValue> reads)
            {
                if (v.Role != ValueRole.Activation || v.Type != ElemType.Float || v.AliasOf != null || aliased.Contains(v) || pinned.Contains(v)) return null;
                if (Batchless(v) || !producer.TryGetValue(v, out var k)) return null;
                List<TValue> ins;
                if (k is ElementwiseKernel) ins = k.Inputs;
                else if (k is LibraryKernel l && Ops.OpRegistry.Is(l.Node, Ops.OpTraits.Recomputable) && l.Outputs[0] == v)   // its fused activation (relu) is recomputed with it
                    ins = new List<TValue> { l.Node.Inputs[0], l.Node.Inputs[1], l.Node.Inputs[2], l.Node.Outputs[1], l.Node.Outputs[2] };
                else return null;
                var steps = new List<(Kernel, TValue)>();
                foreach (var u in ins.Distinct())
                {
                    if (Kept(u)) continue;
                    if (recomputed.Contains(u) && chain[u] < maxChain) { reads.Add(u); continue; }
                    if (depth > 0 || readByBackward.Contains(u)) return null;
                    var sub = Plan(u, depth + 1, reads);
                    if (sub == null) return null;
                    steps.AddRange(sub);
                }
                steps.Add((k, v));
                return steps;
            }

            var forwardOrder = new List<TValue>();
            foreach (var k in forward)
                foreach (var v in k.Outputs)
                {
                    if (!readByBackward.Contains(v)) continue;
                    var reads = new List<TValue>();
                    var plan = Plan(v, 0, reads);
                    if (plan == null) continue;
                    long cost = plan.Sum(s => Flops(s.Item1, s.Item2));
                    if (spent + cost > budget) continue;
                    spent += cost;
                    recomputed.Add(v);
                    plans[v] = plan;
                    deps[v] = reads.Distinct().ToList();
                    chain[v] = 1 + deps[v].Select(u => chain[u]).DefaultIfEmpty(0).Max();
                    forwardOrder.Add(v);
                }
            if (recomputed.Count == 0) return none;

            // where each recompute goes: right before the first backward kernel that reads the value, or before the first
            // recompute that reads it (dependencies come earlier in forward order, so one backward sweep settles it)
            var index = new Dictionary<Kernel, int>();
            for (int i = 0; i < prog.Kernels.Count; i++) index[prog.Kernels[i]] = i;
            var point = new Dictionary<TValue, int>();
            foreach (var v in forwardOrder)
                point[v] = backward.Where(b => b.Inputs.Contains(v)).Select(b => index[b]).Min();
            for (int j = forwardOrder.Count - 1; j >= 0; j--)
                foreach (var u in deps[forwardOrder[j]])
                    point[u] = System.Math.Min(point[u], point[forwardOrder[j]]);

            var cloneOf = new Dictionary<TValue, TValue>();
            foreach (var v in forwardOrder) cloneOf[v] = g.NewValue(v.Name + ".recomputed", v.Shape, v.Type);
            var insertions = new Dictionary<int, List<Kernel>>();
            foreach (var v in forwardOrder.OrderBy(v => point[v]).ThenBy(v => forwardOrder.IndexOf(v)))
            {
                var list = insertions.TryGetValue(point[v], out var l) ? l : insertions[point[v]] = new List<Kernel>();
                var clones = new Dictionary<TValue, TValue>(cloneOf);
                var steps = plans[v];
                for (int s = 0; s < steps.Count; s++)
                {
                    var (src, value) = steps[s];
                    // batchnorm then a one-input element-wise kernel over its output (relu): one kernel, the loop as its epilogue
                    if (src is LibraryKernel srcBn && srcBn.Epilogue == null && s + 1 < steps.Count && steps[s + 1].Source is ElementwiseKernel next
                        && next.Inputs.Count == 1 && next.Inputs[0] == value)
                    {
                        var fusedOut = steps[s + 1].Value;
                        var fusedCopy = fusedOut == v ? cloneOf[v] : g.NewValue(fusedOut.Name + ".recomputed", fusedOut.Shape, fusedOut.Type);
                        var fk = (LibraryKernel)Clone(src, value, fusedCopy, clones);
                        var act = Clone(next, fusedOut, fusedCopy, clones);
                        fk.Epilogue = next.Expr;
                        fk.EpilogueNode = act.Ops[act.Ops.Count - 1];
                        fk.Ops.AddRange(act.Ops);
                        fk.Recomputes = fusedOut;
                        fusedCopy.Producer = fk.Ops[0];
                        clones[fusedOut] = fusedCopy;
                        list.Add(fk);
                        s++;
                        continue;
                    }
                    var copy = value == v ? cloneOf[v] : g.NewValue(value.Name + ".recomputed", value.Shape, value.Type);
                    var ck = Clone(src, value, copy, clones);
                    ck.Recomputes = value;
                    copy.Producer = ck.Ops[0];
                    clones[value] = copy;
                    list.Add(ck);
                }
            }
            // backward kernels read the clones: their inputs and (copies of) their op nodes, the graph itself stays as it was
            foreach (var b in backward)
            {
                if (!b.Inputs.Any(cloneOf.ContainsKey)) continue;
                Replace(b.Inputs, cloneOf);
                if (b is LibraryKernel withPrologue) Replace(withPrologue.PrologueInputs, cloneOf);   // a fused prologue (relu_bwd into batchnorm_bwd) reads them too
                for (int i = 0; i < b.Ops.Count; i++)
                {
                    var n = b.Ops[i];
                    if (!n.Inputs.Any(cloneOf.ContainsKey)) continue;
                    var c = new OpNode(n.Op, n.Layer, n.Span) { Id = n.Id, IsBackward = n.IsBackward, Forward = n.Forward };
                    c.Attrs = n.Attrs; c.Grads = n.Grads;
                    c.Inputs.AddRange(n.Inputs);
                    Replace(c.Inputs, cloneOf);
                    c.Outputs.AddRange(n.Outputs);
                    b.Ops[i] = c;
                    if (b is LibraryKernel lk && lk.EpilogueNode == n) lk.EpilogueNode = c;
                }
            }
            var result = new List<Kernel>();
            for (int i = 0; i < prog.Kernels.Count; i++)
            {
                if (insertions.TryGetValue(i, out var ins)) result.AddRange(ins);
                result.Add(prog.Kernels[i]);
            }
            prog.Kernels.Clear();
            prog.Kernels.AddRange(result);
            for (int i = 0; i < prog.Kernels.Count; i++) prog.Kernels[i].Id = i;
            return new RematReport(forwardOrder, spent, chain.Values.Max());
        }

        private static void Replace(List<TValue> values, Dictionary<TValue, TValue> remap)
        {
            for (int i = 0; i < values.Count; i++)
                if (remap.TryGetValue(values[i], out var r)) values[i] = r;
        }

        /// <summary>FLOPs per sample of recomputing <paramref name="v"/> with (a clone of) kernel <paramref name="k"/>.</summary>
        private static long Flops(Kernel k, TValue v) =>
            k is ElementwiseKernel ? KernelCost.FlopsOf(k) : 3 * v.Shape.Size.Factor;   // batchnorm apply: (x − m)·a + b

        /// <summary>A backward-pass copy of <paramref name="src"/> writing <paramref name="copy"/>, reading earlier clones where there are some.</summary>
        private static Kernel Clone(Kernel src, TValue value, TValue copy, Dictionary<TValue, TValue> clones)
        {
            TValue In(TValue u) => clones.TryGetValue(u, out var c) ? c : u;
            OpNode CloneNode(OpNode n, string op, IEnumerable<TValue> inputs, TValue output)
            {
                var c = new OpNode(op, n.Layer, n.Span) { Id = -1, IsBackward = true, Forward = n };
                c.Attrs = n.Attrs; c.Grads = n.Grads;
                c.Inputs.AddRange(inputs);
                c.Outputs.Add(output);
                return c;
            }
            if (src is ElementwiseKernel e)
            {
                var ek = new ElementwiseKernel { Expr = e.Expr };
                ek.Inputs.AddRange(e.Inputs.Select(In));
                ek.Outputs.Add(copy);
                // one op node per fused op, for the comment and the profile label; the last one writes the value
                for (int i = 0; i < e.Ops.Count; i++)
                    ek.Ops.Add(CloneNode(e.Ops[i], e.Ops[i].Op, i == e.Ops.Count - 1 ? ek.Inputs : new List<TValue>(), copy));
                return ek;
            }
            var n = ((LibraryKernel)src).Node;
            var lk = new LibraryKernel();
            var node = CloneNode(n, Ops.OpRegistry.Def(n.Op).RecomputeOp!, new[] { In(n.Inputs[0]), n.Inputs[1], n.Inputs[2], n.Outputs[1], n.Outputs[2] }, copy);
            lk.Ops.Add(node);
            lk.Inputs.AddRange(node.Inputs);
            lk.Outputs.Add(copy);
            var bn = (LibraryKernel)src;
            if (bn.Epilogue != null)
            {
                // batchnorm that wrote its activation (relu) as y: the apply kernel writes the same epilogue
                lk.Epilogue = bn.Epilogue;
                lk.EpilogueNode = bn.EpilogueNode;
                if (bn.EpilogueNode != null) lk.Ops.Add(bn.EpilogueNode);
            }
            return lk;
        }
    }
}
