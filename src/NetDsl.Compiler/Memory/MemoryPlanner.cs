using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Memory
{
    /// <summary>One arena: all buffers of one element type whose sizes scale with the same symbols (e.g. N).</summary>
    public sealed record Arena(int Index, ElemType Type, string Symbols, long Units)
    {
        /// <summary>
        /// In a chunked eval plan (<see cref="Fusion.EvalChunkPlan"/>): an arena sized for the whole batch (the network outputs);
        /// the other symbolic arenas are sized for one chunk of samples.
        /// </summary>
        public bool WholeBatch { get; init; }
    }

    /// <summary>Where a value lives: arena and offset, both in units of the arena's symbol product.</summary>
    public sealed record Placement(Arena Arena, long Offset, long Units);

    public sealed class MemoryPlan
    {
        public List<Arena> Arenas { get; } = new List<Arena>();
        public Dictionary<TValue, Placement> Placements { get; } = new Dictionary<TValue, Placement>();
        /// <summary>Sum of all planned buffers without reuse (units of N for the N arena).</summary>
        public long UnplannedUnits(ElemType type, string symbols) =>
            Placements.Values.Where(p => p.Arena.Type == type && p.Arena.Symbols == symbols).Sum(p => p.Units);

        /// <summary>
        /// The other values whose planned bytes overlap <paramref name="v"/>'s (the same arena bytes at other times, or in place):
        /// the "shares memory with" note printed beside each buffer. Empty when nothing reuses them (or in debug mode).
        /// </summary>
        public IEnumerable<TValue> SharesWith(TValue v)
        {
            if (!Placements.TryGetValue(v, out var p)) return Enumerable.Empty<TValue>();
            return Placements.Where(kv => kv.Key != v && kv.Value.Arena == p.Arena && kv.Value.Offset < p.Offset + p.Units && p.Offset < kv.Value.Offset + kv.Value.Units)
                .Select(kv => kv.Key).OrderBy(x => x.Id);
        }
    }

    /// <summary>
    /// Liveness-based buffer reuse over the training schedule (forward kernels then backward kernels):
    /// each value materialized by a kernel gets an offset in an arena such that values alive at the same
    /// time never overlap (greedy by size, first fit); an element-wise kernel writes in place over an input that
    /// dies there. Offsets are in units of the arena's symbolic
    /// size (N), so one plan serves every batch size. Parameters, their gradients and inputs are not in arenas.
    /// </summary>
    internal static class MemoryPlanner
    {
        /// <param name="reuse">
        /// False in debug mode (<see cref="CompileOptions.Debug"/>): every value gets storage of its own, nothing is written in
        /// place, so every intermediate stays readable in a debugger after the step.
        /// </param>
        /// <param name="wholeBatch">
        /// A chunked eval plan's whole-batch storages (the network outputs): planned in arenas of their own, never in place of
        /// or over a per-chunk value.
        /// </param>
        public static MemoryPlan Run(NetGraph g, KernelProgram prog, bool reuse = true, ISet<TValue>? wholeBatch = null)
        {
            bool Whole(TValue v) => wholeBatch != null && wholeBatch.Contains(v);
            var first = new Dictionary<TValue, int>();
            var last = new Dictionary<TValue, int>();
            int end = prog.Kernels.Count;
            for (int k = 0; k < prog.Kernels.Count; k++)
            {
                var kernel = prog.Kernels[k];
                foreach (var o in kernel.Outputs)
                {
                    var s = o.Storage;
                    if (!first.ContainsKey(s)) first[s] = k;
                    last[s] = Math.Max(last.TryGetValue(s, out var l) ? l : k, k);
                }
                foreach (var i in kernel.Inputs) last[i.Storage] = k;
            }
            foreach (var (_, v) in g.Outputs) last[v.Storage] = end;
            if (g.Loss != null) last[g.Loss.Storage] = end;
            foreach (var v in g.InputGrads.Values) last[v.Storage] = end; // `input x grad`: read by the caller after the step

            var plan = new MemoryPlan();
            var buffers = first.Keys.Where(v => v.Role == ValueRole.Activation || v.Role == ValueRole.Gradient).Where(v => v.AliasOf == null).ToList();
            var planned = new HashSet<TValue>(buffers);

            // In place: an element-wise kernel's output takes the buffer of an input that dies in that kernel (same type and
            // size; every element is read before the same element is written, on every device). Buffers shared this way form
            // chains: each member is born where the previous one dies.
            var head = buffers.ToDictionary(v => v, v => v);         // value -> first value of its chain
            var chainLast = buffers.ToDictionary(v => v, v => last[v]); // chain head -> last use of the chain
            for (int k = 0; reuse && k < prog.Kernels.Count; k++)
            {
                if (!(prog.Kernels[k] is ElementwiseKernel e)) continue;
                var o = e.Output;
                if (!planned.Contains(o) || first[o] != k || head[o] != o) continue;
                var donor = e.Inputs.Select(i => i.Storage).Distinct().FirstOrDefault(s => planned.Contains(s) && s != o && last[s] == k
                    && chainLast[head[s]] == k && Whole(s) == Whole(o) && s.Type == o.Type && s.Shape.Size.Symbols == o.Shape.Size.Symbols && s.Shape.Size.Factor == o.Shape.Size.Factor);
                if (donor == null) continue;
                var h = head[donor];
                head[o] = h;
                chainLast[h] = last[o];
                chainLast.Remove(o);
            }

            var chains = buffers.GroupBy(v => head[v]).ToDictionary(c => c.Key, c => c.ToList());
            var groups = chains.Keys.GroupBy(v => (v.Type, v.Shape.Size.Symbols, Whole: Whole(v))).OrderBy(x => x.Key.Type).ThenBy(x => x.Key.Symbols, StringComparer.Ordinal).ThenBy(x => x.Key.Whole);
            foreach (var group in groups)
            {
                var placed = new List<(TValue V, long Off, long Size)>();
                long top = 0;
                foreach (var v in group.OrderByDescending(v => v.Shape.Size.Factor).ThenBy(v => v.Id))
                {
                    long size = v.Shape.Size.Factor;
                    var busy = placed.Where(p => !reuse || (first[p.V] <= chainLast[v] && first[v] <= chainLast[p.V])).OrderBy(p => p.Off).ToList();
                    long off = 0;
                    foreach (var b in busy)
                    {
                        if (off + size <= b.Off) break;
                        off = Math.Max(off, b.Off + b.Size);
                    }
                    placed.Add((v, off, size));
                    top = Math.Max(top, off + size);
                }
                var arena = new Arena(plan.Arenas.Count, group.Key.Type, group.Key.Symbols, top) { WholeBatch = group.Key.Whole };
                plan.Arenas.Add(arena);
                foreach (var p in placed)
                    foreach (var m in chains[p.V]) plan.Placements[m] = new Placement(arena, p.Off, p.Size);
            }
            return plan;
        }
    }
}
