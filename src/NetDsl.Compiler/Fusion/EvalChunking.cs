using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Memory;

namespace NetDsl.Compiler.Fusion
{
    /// <summary>
    /// The compiler's decision on running eval-mode Forward in chunks of samples (<see cref="EvalChunking"/>): legal when no
    /// kernel of the eval program mixes samples, then the eval plan's arenas hold one chunk's activations and only the
    /// network outputs (<see cref="WholeBatch"/>) are planned for the whole batch.
    /// </summary>
    public sealed class EvalChunkPlan
    {
        /// <summary>The batch symbol the chunks split (dim 0 of every symbolic value), or null when not chunked.</summary>
        public string? Symbol { get; internal set; }
        /// <summary>Samples per chunk at most (the chunks of a batch are balanced: N split into ⌈N / Rows⌉ near-equal parts); 0 when not chunked.</summary>
        public int Rows { get; internal set; }
        /// <summary>Why the eval program is or is not chunked (printed in the generated header).</summary>
        public string Reason { get; internal set; } = "";
        /// <summary>The storages planned for the whole batch (the network outputs); every other eval value is planned per chunk.</summary>
        public HashSet<TValue> WholeBatch { get; } = new HashSet<TValue>();
        public bool Chunked => Rows > 0;

        internal static EvalChunkPlan No(string reason) => new EvalChunkPlan { Reason = reason };
    }

    /// <summary>
    /// Chunked inference. At eval every op of a convolutional network or an MLP is per sample (batchnorm reads its running
    /// statistics, nothing reduces over the batch), so Forward can run the eval program on a few samples at a time and its
    /// arenas need only hold one chunk's activations: the memory no longer grows with the batch (apart from the outputs),
    /// and a chunk's working set stays in the core's L2 cache.
    /// <para>
    /// Legal when (1) every symbolic value the eval program touches has one symbolic dim, the same one, at dim 0 (the batch);
    /// (2) every op of every eval kernel is per sample at inference (<see cref="PerSample"/>: an allow-list, so an op not
    /// known to be per sample, a loss, a reduction over the batch, a random op, is never chunked); (3) the outputs are
    /// values the eval plan places (not an input passed through).
    /// </para>
    /// <para>
    /// Chunk size (<see cref="Size"/>): chunking must not make inference slower, so a chunk keeps enough work to amortize
    /// what every kernel call costs whatever its size (the fork and join of its threads, its dispatch) and, when the weights
    /// do not stay in the L2 cache, to amortize streaming them once per chunk. The rows per chunk are the smallest power of
    /// two, at least <see cref="MinRows"/>, with (a) at least <see cref="MinKernelFlops"/> FLOPs per kernel call on average
    /// and (b) at least <see cref="StreamedWeightRows"/> rows when the parameters exceed <see cref="L2Bytes"/>; (c) when the
    /// weights fit L2, the rows are halved while the chunk's activations exceed <see cref="L2Bytes"/> and a kernel call keeps
    /// at least <see cref="MinKernelFlopsInL2"/> FLOPs (LeNet-5: 128 → 32 rows, 23,560 bytes per sample). Rule (c) trades time
    /// for memory: LeNet-5's batch-64 inference in two chunks of 32 took 1.08–1.09× the time of one chunk of 64 (2026-12-08
    /// 02:07 UTC, quiet 2-core Xeon, one process, 60 interleaved pairs, twice: 0.404 → 0.440 ms), for an eval plan of 0.34×
    /// instead of 0.68× the training plan; <c>EvalChunkSize = 64</c> takes the time back. Measured
    /// (2026-12-07, 2-core Xeon under load): LeNet-5 at batch 64 in chunks of 32 took 1.08–1.10× the time of the whole
    /// batch (neutral with one thread: the cost is the extra fork/joins), the MLP in chunks of 32 1.10–1.14× (neutral in
    /// chunks of 64). A caller short of memory sets <c>EvalChunkSize</c> lower and trades that time.
    /// </para>
    /// </summary>
    internal static class EvalChunking
    {
        /// <summary>Fewest rows per chunk (so the conv kernels have samples for every core).</summary>
        public const int MinRows = 16;
        /// <summary>FLOPs per kernel call a chunk keeps on average at least (8 MFLOP: about 80 µs at 100 GFLOP/s, against a few µs of fixed cost per call).</summary>
        public const long MinKernelFlops = 8_000_000;
        /// <summary>The per-core L2 cache the weights are compared with (AMD Zen 4: 1 MiB; Intel Sapphire Rapids: 2 MiB).</summary>
        public const long L2Bytes = 1 << 20;
        /// <summary>Rows per chunk at least when the weights are streamed from L3 or memory once per chunk (the GEMM then does 32 FLOPs per weight byte).</summary>
        public const int StreamedWeightRows = 64;
        /// <summary>FLOPs per kernel call on average a chunk keeps at least when it is made smaller to hold its activations in <see cref="L2Bytes"/> (2 MFLOP: about 20 µs at 100 GFLOP/s).</summary>
        public const long MinKernelFlopsInL2 = 2_000_000;

        /// <summary>Decides whether the eval program can run in chunks of samples (before planning: it names the whole-batch values).</summary>
        public static EvalChunkPlan Decide(NetGraph g, KernelProgram eval)
        {
            if (g.Symbols.Count == 0) return EvalChunkPlan.No("no symbolic batch dim");
            string? batch = null;
            string? Check(TValue v)
            {
                var s = v.Shape;
                if (s.IsUnknown || s.AllKnown) return null;
                if (s.Rank == 0 || s[0].IsKnown) return $"{v.Name} {s.ToDisplay()} has a symbolic dim that is not dim 0";
                if (batch == null) batch = s[0].Symbol;
                if (s[0].Symbol != batch) return $"{v.Name} {s.ToDisplay()} has another symbolic dim at dim 0 than {batch}";
                for (int i = 1; i < s.Rank; i++)
                    if (!s[i].IsKnown) return $"{v.Name} {s.ToDisplay()} has a second symbolic dim";
                return null;
            }
            foreach (var k in eval.Kernels)
            {
                foreach (var op in k.Ops)
                    if (!PerSample(op)) return EvalChunkPlan.No($"{op.Op} {op.Layer} (line {op.Span.Line}) is not known to be per sample at inference");
                foreach (var v in k.Inputs.Concat(k.Outputs))
                    if (Check(v) is { } why) return EvalChunkPlan.No(why);
                // a kernel output without the batch dim computed from batch values would be a reduction over samples
                if (!(k is AliasKernel) && k.Outputs.Any(o => o.Shape.AllKnown) && k.Inputs.Any(i => !i.Shape.AllKnown))
                    return EvalChunkPlan.No($"{k.Ops[0].Op} {k.Ops[0].Layer} (line {k.Ops[0].Span.Line}) reduces over the batch");
            }
            var plan = new EvalChunkPlan();
            foreach (var (name, v) in g.Outputs)
            {
                if (Check(v) is { } why) return EvalChunkPlan.No(why);
                if (v.Shape.AllKnown) return EvalChunkPlan.No($"output {name} has no batch dim");
                var s = v.Storage;
                if (s.Role != ValueRole.Activation || !eval.Kernels.Any(k => k.Outputs.Contains(s)))
                    return EvalChunkPlan.No($"output {name} is not computed by the eval program");
                plan.WholeBatch.Add(s);
            }
            if (batch == null) return EvalChunkPlan.No("no value has a batch dim");
            plan.Symbol = batch;
            return plan;
        }

        /// <summary>Picks the chunk size (see the class summary) once the eval kernels' costs are known (<see cref="KernelCost"/>).</summary>
        public static void Size(EvalChunkPlan chunk, MemoryPlan evalPlan, KernelProgram eval, NetGraph g)
        {
            if (chunk.Symbol == null) return;
            var kernels = eval.Kernels.Where(k => !(k is AliasKernel)).ToList();
            long flops = kernels.Sum(k => k.Cost.Flops), perKernel = Math.Max(1, flops / Math.Max(1, kernels.Count));
            long weightBytes = 4 * g.ParameterCount;
            long bytesPerSample = 4 * evalPlan.Arenas.Where(a => !a.WholeBatch && a.Symbols == chunk.Symbol).Sum(a => a.Units);
            int rows = MinRows;
            while ((long)rows * perKernel < MinKernelFlops) rows *= 2;
            if (weightBytes > L2Bytes) rows = Math.Max(rows, StreamedWeightRows);
            // (c) a chunk's activations bounded by the L2 size, as long as every kernel call keeps enough work
            else
                while (rows > MinRows && (long)rows * bytesPerSample > L2Bytes && (long)(rows / 2) * perKernel >= MinKernelFlopsInL2) rows /= 2;
            chunk.Rows = rows;
            chunk.Reason = $"every op is per sample at inference; chunks of up to {rows} samples ({bytesPerSample:N0} bytes of activations, "
                + $"{perKernel:N0} FLOPs per kernel call per sample{(weightBytes > L2Bytes ? $", {weightBytes:N0} bytes of weights streamed per chunk" : "")})";
        }

        /// <summary>
        /// Ops whose output sample i depends only on input sample i at inference (given the layout check above: the batch is
        /// dim 0 of every operand). Element-wise ops (pure functions of their inputs, element by element) always are.
        /// </summary>
        internal static bool PerSample(OpNode n)
        {
            if (Ops.OpRegistry.Is(n, Ops.OpTraits.Elementwise)) return true;
            switch (n.Op)
            {
                case "matmul": case "broadcast_add": case "broadcast_sub": case "broadcast_mul":
                    // batched over dim 0 only when every batch operand has the output's rank (a lower-rank operand would
                    // be broadcast across the samples, its batch dim aligned with another dim)
                    return n.Inputs.All(i => i.Shape.AllKnown || i.Shape.Rank == n.Outputs[0].Shape.Rank);
                case "conv2d": case "conv_transpose2d": case "linear":
                case "relu": case "sigmoid": case "tanh": case "prelu": case "maxout":
                case "maxpool2d": case "avgpool2d": case "adaptive_avgpool2d": case "globalavgpool":
                case "upsample_nearest2d": case "upsample_bilinear2d":
                case "batchnorm":   // eval program: the running statistics (the call reads training = false)
                case "layernorm": case "groupnorm": case "instancenorm": case "lrn":
                case "flatten": case "reshape": case "add":
                case "dropout": case "dropout2d":   // identity at inference
                    return true;
                case "softmax": case "log_softmax": case "concat":
                    return n.Attrs is AxisAttrs a && a.Axis != 0;
                case "permute":
                    return n.Attrs is PermuteAttrs p && p.Perm.Count > 0 && p.Perm[0] == 0;
                default:
                    return false;
            }
        }
    }
}
