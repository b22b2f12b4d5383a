using System;
using System.Collections.Generic;

namespace NetDsl.Compiler
{
    /// <summary>Options of one compilation.</summary>
    public sealed record CompileOptions
    {
        /// <summary>Namespace of the generated classes (the generator passes the project's RootNamespace).</summary>
        public string Namespace { get; init; } = "NetDsl.Generated";
        /// <summary>
        /// Wraps every kernel call in a timer that reports to <c>NetDsl.Runtime.KernelProfile</c> (used by `netdsl bench --profile`;
        /// the generator never sets it, so user code carries no timing).
        /// </summary>
        public bool Profile { get; init; }
        /// <summary>
        /// For a network with errors, also emit its class skeleton (<see cref="CompiledNetwork.Skeleton"/>). The generator sets
        /// it (a build needs the type names); the tool and tests leave it off and pay nothing for broken networks.
        /// </summary>
        public bool Skeletons { get; init; }
        /// <summary>
        /// Rematerialization (on by default): forward values the backward pass reads that are cheap to recompute (element-wise
        /// kernels, batchnorm's affine apply) from values kept anyway are recomputed right before their first backward use
        /// instead of staying alive through the backward pass. Off gives the plan that keeps every such value (for tests).
        /// </summary>
        public bool Rematerialize { get; init; } = true;
        /// <summary>
        /// Debug mode (opt-in; the generator sets it from the MSBuild property <c>NetDslDebug=true</c>): no buffer reuse (every
        /// value has storage of its own, so every intermediate stays readable after a step) and <c>#line</c> directives that map
        /// each kernel call to its line in the .net file (the path given to Compile), so stack traces and a debugger land on .net lines. Rematerialization is
        /// off in debug mode (nothing is short of memory). The numbers computed stay the same.
        /// </summary>
        public bool Debug { get; init; }
    }

    /// <summary>One row of `netdsl summary`: a layer (or op) with its output shape, parameters and MACs per sample.</summary>
    public sealed record SummaryRow(string Layer, string Op, string OutputShape, long Parameters, long Macs, int Line)
    {
        /// <summary>Set when <see cref="Macs"/> are per time step of this symbolic dim (a recurrent layer over [N, T, F] with T unknown).</summary>
        public string? MacsPerStepOf { get; init; }
        /// <summary>The MACs as a reader should see them: "1,234" or "1,234 per step of T".</summary>
        public string MacsText => Macs.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + (MacsPerStepOf is { } t ? $" per step of {t}" : "");
    }

    /// <summary>What the compiler knows about a network before anything runs.</summary>
    public sealed record NetworkSummary(
        string Name,
        IReadOnlyList<SummaryRow> Rows,
        long TotalParameters,
        long TotalMacs,
        /// <summary>Bytes of activations per sample kept for a training step (fp32).</summary>
        long ActivationBytesPerSample,
        /// <summary>Bytes of the planned arena per sample after liveness-based reuse (fp32).</summary>
        long PlannedBytesPerSample)
    {
        /// <summary>Bytes of the planned arena per sample without rematerialization (equal to <see cref="PlannedBytesPerSample"/> when nothing is recomputed).</summary>
        public long PlannedBytesPerSampleWithoutRecompute { get; init; } = PlannedBytesPerSample;
        /// <summary>Forward values recomputed in the backward pass instead of kept (rematerialization).</summary>
        public int RecomputedValues { get; init; }
        /// <summary>FLOPs per sample the recomputation adds to a training step.</summary>
        public long RecomputeFlopsPerSample { get; init; }
        /// <summary>
        /// Bytes per sample of the eval-only plan (fp32): the arenas eval-mode Forward uses (forward kernels the outputs need,
        /// batchnorm folded), planned on their own; the training arenas are not allocated for inference.
        /// </summary>
        public long EvalPlannedBytesPerSample { get; init; }
        /// <summary>
        /// Samples per chunk of eval-mode Forward at most (chunked inference: the eval arenas hold one chunk's activations and
        /// only the outputs are planned for the whole batch); 0 when the eval program is not chunked (see <see cref="EvalChunkReason"/>).
        /// </summary>
        public int EvalChunkRows { get; init; }
        /// <summary>Why eval-mode Forward is or is not chunked (an op that mixes samples, a second symbolic dim…).</summary>
        public string EvalChunkReason { get; init; } = "";
        /// <summary>Of <see cref="EvalPlannedBytesPerSample"/>, the bytes per sample of the whole-batch arenas (the outputs of a chunked eval plan).</summary>
        public long EvalWholeBatchBytesPerSample { get; init; }

        /// <summary>The training plan's symbolic arena bytes for a batch of <paramref name="batch"/> samples.</summary>
        public long PlannedBytes(long batch) => PlannedBytesPerSample * batch;

        /// <summary>
        /// The eval plan's symbolic arena bytes for a batch of <paramref name="batch"/> samples (to compare with
        /// <see cref="PlannedBytes"/>): the chunk arenas for the largest chunk of that batch plus the whole-batch arenas.
        /// </summary>
        public long EvalPlannedBytes(long batch) =>
            (EvalPlannedBytesPerSample - EvalWholeBatchBytesPerSample) * ChunkRows(batch, EvalChunkRows) + EvalWholeBatchBytesPerSample * batch;

        /// <summary>The largest chunk of a batch of <paramref name="batch"/> split into ⌈batch / rows⌉ balanced chunks (the batch itself when not chunked).</summary>
        public static long ChunkRows(long batch, int rows)
        {
            if (rows <= 0 || batch <= rows) return batch;
            long chunks = (batch + rows - 1) / rows;
            return (batch + chunks - 1) / chunks;
        }
    }

    /// <summary>A node of the forward graph as the user wrote it (inputs and layers, no parameters), for drawing.</summary>
    public sealed record GraphNodeView(int Id, string Name, string Op, string OutputShape, int Line, IReadOnlyList<int> Inputs);

    /// <summary>A compiled network: its generated C# (one file), its summary and its forward graph.</summary>
    public sealed record CompiledNetwork(string Name, string HintName, string Source, NetworkSummary Summary)
    {
        /// <summary>The forward graph in topological order (inputs first).</summary>
        public IReadOnlyList<GraphNodeView> Graph { get; init; } = Array.Empty<GraphNodeView>();
        /// <summary>
        /// For a network with errors (empty <see cref="Source"/>): a class skeleton whose members throw, which the generator
        /// adds so the C# that uses the network adds no errors of its own (one .net mistake, one error). Empty otherwise.
        /// </summary>
        public string Skeleton { get; init; } = "";
    }

    public sealed record CompileResult(IReadOnlyList<Diagnostic> Diagnostics, IReadOnlyList<CompiledNetwork> Networks)
    {
        public bool Success
        {
            get { foreach (var d in Diagnostics) if (d.Severity == Severity.Error) return false; return true; }
        }
    }

    /// <summary>
    /// The compiler's front door: parse → resolve and unroll → infer and check shapes → graph IR →
    /// autodiff → fuse → plan memory → emit C#. Never throws: every failure is a diagnostic.
    /// </summary>
    public static class NetCompiler
    {
        /// <summary>The stack of the compiler's thread (16 MiB).</summary>
        private const int StackBytes = 16 << 20;

        public static CompileResult Compile(string path, string text, CompileOptions? options = null)
        {
            options ??= new CompileOptions();
            var bag = new DiagnosticBag(path);
            var networks = new List<CompiledNetwork>();
            // The passes recurse over bounded structures only (docs/language.md#limits); a thread with a stack of its own makes
            // that independent of the host's thread (the C# compiler's, an IDE's), whose stack may be small.
            Exception? error = null;
            void Work()
            {
                try { Pipeline.Run(path, text, options, bag, networks); }
                catch (Exception ex) { error = ex; }
            }
            try
            {
                var thread = new System.Threading.Thread(Work, StackBytes) { Name = "NetDsl compiler", IsBackground = true };
                thread.Start();
                thread.Join();
            }
            catch (Exception ex) when (ex is System.Threading.ThreadStartException || ex is OutOfMemoryException || ex is PlatformNotSupportedException)
            {
                Work();   // no thread to be had: compile on the caller's
            }
            if (error is OverflowException)
                bag.Error(DiagnosticIds.SizeOverflow, new Syntax.SourceSpan(1, 1, 1, 1),
                    "the sizes in this file overflow 64-bit arithmetic (dims, parameter or MAC counts too large); see docs/language.md#limits");
            else if (error != null)
                bag.Error(DiagnosticIds.InternalError, new Syntax.SourceSpan(1, 1, 1, 1),
                    $"internal compiler error: {error.GetType().Name}: {error.Message} (please report this with the .net file)");
            return new CompileResult(bag.Items, networks);
        }

        /// <summary>
        /// The forward graph IR of every network of a file that elaborates without errors (parse, resolve and unroll, shape
        /// rules; no autodiff or code), for exporters such as ONNX. Never throws: failures are in the diagnostics.
        /// </summary>
        public static (IReadOnlyList<Diagnostic> Diagnostics, IReadOnlyList<Graph.NetGraph> Graphs) ForwardGraphs(string path, string text)
        {
            var bag = new DiagnosticBag(path);
            var graphs = new List<Graph.NetGraph>();
            try
            {
                Pipeline.ForwardGraphs(path, text, bag, graphs);
            }
            catch (Exception ex)
            {
                bag.Error(DiagnosticIds.InternalError, new Syntax.SourceSpan(1, 1, 1, 1),
                    $"internal compiler error: {ex.GetType().Name}: {ex.Message} (please report this with the .net file)");
            }
            return (bag.Items, graphs);
        }
    }
}
