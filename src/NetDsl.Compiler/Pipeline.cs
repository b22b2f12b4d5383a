using System.Collections.Generic;
using System.IO;
using System.Linq;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Emit;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Memory;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler
{
    /// <summary>The stages in order; each network is compiled independently so one broken network does not hide another's errors.</summary>
    internal static class Pipeline
    {
        public static void Run(string path, string text, CompileOptions options, DiagnosticBag bag, List<CompiledNetwork> networks)
        {
            var file = NetParser.Parse(path, text, bag);
            var elaborator = new Elaborator(bag, file.Decls);
            var fileName = Path.GetFileName(path);
            foreach (var net in Networks(file, bag))
            {
                int before = bag.Items.Count;
                var g = elaborator.Elaborate(net);
                bool ok = !bag.Items.Skip(before).Any(d => d.Severity == Severity.Error);
                ChooseInit(g);
                if (ok) PoolBeforeRelu.Run(g);
                if (ok) Differentiator.Run(g);
                if (ok && !Ops.GraphVerifier.Run(g, bag)) ok = false;
                bool training = g.Loss != null || g.GradOutput != null;
                // a network with errors is not fused or planned: its graph may be huge (an unrolling limit hit at 200,000
                // operations) and nothing will run it; its summary keeps the layer rows
                var prog = ok ? Fuser.Run(g, training) : new KernelProgram();
                bool reuse = !options.Debug;
                var plan = ok ? MemoryPlanner.Run(g, prog, reuse) : new MemoryPlan();
                var summary = Summarize(g, plan);
                if (ok && training && options.Rematerialize && !options.Debug)
                {
                    // the chain limit with the smallest plan (the pass leaves the graph as it was, apart from new values)
                    int values = g.Values.Count, bestChain = 1;
                    long best = long.MaxValue;
                    foreach (var limit in Rematerializer.ChainLimits)
                    {
                        var trial = Fuser.Run(g, training);
                        var r = Rematerializer.Run(g, trial, limit);
                        long bytes = r.Recomputed.Count == 0 ? summary.PlannedBytesPerSample : Summarize(g, MemoryPlanner.Run(g, trial)).PlannedBytesPerSample;
                        if (bytes < best) { best = bytes; bestChain = limit; }
                        if (r.LongestChain < limit) break;   // longer limits give the same program
                    }
                    g.Values.RemoveRange(values, g.Values.Count - values);
                    var remat = Rematerializer.Run(g, prog, bestChain);
                    if (remat.Recomputed.Count > 0)
                    {
                        plan = MemoryPlanner.Run(g, prog);
                        summary = summary with
                        {
                            PlannedBytesPerSample = Summarize(g, plan).PlannedBytesPerSample,
                            PlannedBytesPerSampleWithoutRecompute = summary.PlannedBytesPerSample,
                            RecomputedValues = remat.Recomputed.Count,
                            RecomputeFlopsPerSample = remat.FlopsPerSample,
                        };
                    }
                }
                // the eval-only program (forward kernels the outputs need, batchnorm folded) and its own plan
                var evalProg = ok ? EvalProgram.Run(g, prog.Kernels.Count) : new KernelProgram { IsEval = true };
                // chunked inference when no eval kernel mixes samples: the outputs planned for the whole batch, the rest per chunk
                var chunk = !ok ? EvalChunkPlan.No("not compiled") : !reuse ? EvalChunkPlan.No("debug mode keeps every value of the batch") : EvalChunking.Decide(g, evalProg);
                var evalPlan = ok ? MemoryPlanner.Run(g, evalProg, reuse, chunk.Symbol != null ? chunk.WholeBatch : null) : new MemoryPlan();
                if (ok) KernelCost.Annotate(evalProg);
                EvalChunking.Size(chunk, evalPlan, evalProg, g);
                summary = summary with
                {
                    EvalPlannedBytesPerSample = Summarize(g, evalPlan).PlannedBytesPerSample,
                    EvalChunkRows = chunk.Rows,
                    EvalChunkReason = chunk.Reason,
                    EvalWholeBatchBytesPerSample = 4 * evalPlan.Arenas.Where(a => a.WholeBatch).Sum(a => a.Units),
                };
                if (ok)
                {
                    KernelCost.Annotate(prog);
                    AccumulateModes.Run(prog);
                }
                string source = "";
                if (ok)
                {
                    if (NoKernel(g, bag)) ok = false;
                    else
                    {
                        var names = new NetworkNames(g, NetworkEmitter.StateLayers(g), bag);
                        if (names.Ok)
                            source = new NetworkEmitter(g, prog, plan, evalProg, evalPlan, fileName, options.Namespace, summary, names)
                                { Profile = options.Profile, DebugPath = options.Debug ? Names.LineDirectivePath(path) : null, EvalChunk = chunk }.Emit()
                                + SourceMembers.Emit(options.Namespace, names.Class, g.Name, text);
                    }
                }
                networks.Add(new CompiledNetwork(net.Name, net.Name + ".g.cs", source, summary)
                {
                    Graph = View(g),
                    Skeleton = options.Skeletons && source.Length == 0 ? SkeletonEmitter.Emit(g, fileName, options.Namespace) : "",
                });
            }
        }

        /// <summary>The forward graph of each network of a file (parse, resolve, shapes; no autodiff, fusion or code), for exporters.</summary>
        public static void ForwardGraphs(string path, string text, DiagnosticBag bag, List<NetGraph> graphs)
        {
            var file = NetParser.Parse(path, text, bag);
            var elaborator = new Elaborator(bag, file.Decls);
            foreach (var net in Networks(file, bag))
            {
                int before = bag.Items.Count;
                var g = elaborator.Elaborate(net);
                if (!bag.Items.Skip(before).Any(d => d.Severity == Severity.Error)) graphs.Add(g);
            }
        }

        /// <summary>
        /// The networks of a file in order; `network B = A(p: v)` becomes A's declaration under the name B with those
        /// parameter defaults (so examples can declare a small instance for tests next to the full-size one).
        /// </summary>
        private static IEnumerable<NetworkDecl> Networks(SourceFile file, DiagnosticBag bag)
        {
            foreach (var d in file.Decls)
            {
                if (d is NetworkDecl n) { yield return n; continue; }
                if (!(d is NetworkInstanceDecl inst)) continue;
                var of = file.Decls.OfType<NetworkDecl>().FirstOrDefault(x => x.Name == inst.Of);
                if (of == null)
                {
                    var known = string.Join(", ", file.Decls.OfType<NetworkDecl>().Select(x => x.Name));
                    bag.Error(DiagnosticIds.UnknownName, inst.OfSpan, $"network '{inst.Name}' instantiates '{inst.Of}', which is not a network of this file{(known.Length > 0 ? " (networks here: " + known + ")" : "")}");
                    continue;
                }
                var ps = of.Params.ToList();
                bool ok = true;
                foreach (var a in inst.Args)
                {
                    int i = ps.FindIndex(p => p.Name == a.Name);
                    if (a.Name == null) { bag.Error(DiagnosticIds.InvalidStatement, a.Span, $"network '{inst.Name}': arguments of an instance are named (`{of.Name}(classes: 10)`)"); ok = false; continue; }
                    if (i < 0) { bag.Error(DiagnosticIds.UnknownArgument, a.Span, $"network {of.Name} has no parameter '{a.Name}' (it has: {string.Join(", ", of.Params.Select(p => p.Name))})"); ok = false; continue; }
                    ps[i] = ps[i] with { Default = a.Value };
                }
                if (ok) yield return new NetworkDecl(inst.Name, ps, of.Body) { Span = inst.Span };
            }
        }

        /// <summary>He init for conv/linear weights feeding relu (directly or through batchnorm), Xavier otherwise; biases zero.</summary>
        private static void ChooseInit(NetGraph g)
        {
            var consumers = g.ForwardNodes.SelectMany(n => n.Inputs.Select(i => (i, n))).ToLookup(x => x.i, x => x.n);
            bool He(OpNode c) => Ops.OpRegistry.Is(c, Ops.OpTraits.HeInit);
            foreach (var n in g.ForwardNodes.Where(n => Ops.OpRegistry.Is(n, Ops.OpTraits.ChoosesInit)))
            {
                bool relu = consumers[n.Outputs[0]].Any(c => He(c) || (Ops.OpRegistry.Is(c, Ops.OpTraits.PassesInitHint) && consumers[c.Outputs[0]].Any(He)));
                if (n.Inputs[1].Param is { } w) w.Init = relu ? InitKind.He : InitKind.Xavier;   // a weight may be a slice of a parameter (cross-attention's in_proj_weight)
            }
        }

        private static bool NoKernel(NetGraph g, DiagnosticBag bag)
        {
            foreach (var n in g.ForwardNodes)
                if (Differentiator.NoBackward.Contains(n.Op))
                {
                    bag.Warning(DiagnosticIds.NoKernel, n.Span, $"{n.Op} is checked and summarized but has no kernels yet, so no code is generated for network '{g.Name}' (run `netdsl summary` to inspect it)");
                    return true;
                }
            return false;
        }

        /// <summary>The forward graph for drawing: one node per input and per op, edges from the values each op reads.</summary>
        private static IReadOnlyList<GraphNodeView> View(NetGraph g)
        {
            var nodes = new List<GraphNodeView>();
            var byValue = new Dictionary<TValue, int>();
            foreach (var (name, v) in g.Inputs)
            {
                byValue[v] = nodes.Count;
                nodes.Add(new GraphNodeView(nodes.Count, name, "input", (v.Type == ElemType.Int ? "int" : "") + v.Shape.ToDisplay(), g.Span.Line, new int[0]));
            }
            foreach (var n in g.ForwardNodes)
            {
                var inputs = n.Inputs.Where(byValue.ContainsKey).Select(i => byValue[i]).Distinct().ToList();
                int id = nodes.Count;
                nodes.Add(new GraphNodeView(id, n.Layer, n.Op, n.Outputs[0].Shape.ToDisplay(), n.Span.Line, inputs));
                foreach (var o in n.Outputs) byValue[o] = id;
            }
            return nodes;
        }

        private static NetworkSummary Summarize(NetGraph g, MemoryPlan plan)
        {
            var rows = g.Layers.Select(l => new SummaryRow(l.Layer, l.Op, l.Output.ToDisplay(), l.Parameters, l.Macs, l.Line) { MacsPerStepOf = l.MacsPerStepOf }).ToList();
            long activation = 0, planned = 0;
            foreach (var a in plan.Arenas.Where(a => a.Symbols.Length > 0 && !a.Symbols.Contains("*")))
            {
                int bytes = 4;
                activation += plan.UnplannedUnits(a.Type, a.Symbols) * bytes;
                planned += a.Units * bytes;
            }
            return new NetworkSummary(g.Name, rows, g.ParameterCount, g.Layers.Sum(l => l.Macs), activation, planned);
        }
    }
}
