using System.Linq;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Emit
{
    /// <summary>
    /// Chunked inference (<see cref="EvalChunking"/>): when no eval kernel mixes samples, eval-mode Forward runs RunEval on
    /// chunks of the batch. The eval plan's chunk arenas are sized for the largest chunk, its whole-batch arenas (the
    /// outputs) for N; per chunk the buffers are views of the chunk arenas, of the chunk's rows of the outputs and of the
    /// caller's inputs. The straight-line RunEval is the same as unchunked.
    /// </summary>
    internal sealed partial class NetworkEmitter
    {
        private string Batch => EvalChunk!.Symbol!;
        private string BatchLocal => _names.SymbolLocals[Batch];

        /// <summary>PlanEval for a chunked plan: allocates the arenas (chunk ones for the largest chunk, whole-batch ones for N); the views follow.</summary>
        private void EmitPlanEvalChunked(CodeWriter w)
        {
            string S(string symbol) => _names.SymbolLocals[symbol];
            w.Line("/// <summary>Allocates (or grows) the eval plan's arenas: the chunk arenas for the largest chunk of this batch, the whole-batch arenas (the outputs) for all of it.</summary>");
            w.Open($"private void PlanEval({string.Join(", ", _g.Symbols.Select(s => "int " + S(s)))})");
            foreach (var s in _g.Symbols) w.Line($"_evalPlan_{s} = {S(s)};");
            w.Line("_evalPlanChunk = EvalChunkSize;");
            w.Line($"int __rows = _evalRows = Device.IsCpu ? EvalRows({BatchLocal}, EvalChunkSize) : {BatchLocal};   // chunks only on the CPU (a GPU takes the batch whole)");
            foreach (var a in _evalPlan.Arenas)
            {
                var mult = a.Symbols.Length == 0 ? "1L" : string.Join(" * ", a.Symbols.Split('*').Select(s => s == Batch && !a.WholeBatch ? "(long)__rows" : $"(long){S(s)}"));
                var t = a.Type == ElemType.Int ? "int" : "T";
                w.Line($"long size{a.Index} = {a.Units}L * {mult};");
                w.Line($"if (_evalArena{a.Index} is null || _evalArena{a.Index}.Length < size{a.Index}) _evalArena{a.Index} = Device.Allocate<{t}>(checked((int)Math.Max(size{a.Index}, 1)));");
            }
            w.Line("_evalViewRows = -1;");
            w.Line($"if (__rows >= {BatchLocal}) {{ EvalChunkViews({BatchLocal}); EvalWholeViews(0, {BatchLocal}); }}   // one chunk: the views stay until the batch size changes");
            w.Close();
            w.Line();
        }

        private void EmitEvalChunks(CodeWriter w)
        {
            var b = Batch;
            var whole = EvalChunk!.WholeBatch;
            bool InWhole(TValue v) => whole.Contains(v.Storage);
            var inputs = _forwardInputs.Where(i => !i.Value.Shape.AllKnown && _evalFields.ContainsKey(i.Value)).ToList();
            var inputViews = _evalProg.Kernels.OfType<AliasKernel>().Select(k => k.Outputs[0])
                .Where(o => o.Storage.Role == ValueRole.Input && o.Storage != _g.OutputGradSeed && _evalFields.ContainsKey(o)).ToList();

            w.Line("/// <summary>");
            w.Line($"/// Eval-mode Forward in chunks: the batch split into ⌈{Names.Xml(b)} / rows⌉ balanced chunks of at most <c>_evalRows</c> samples, RunEval on each");
            w.Line("/// (its buffers pointed at the chunk arenas, the chunk's rows of the inputs and of the outputs); one chunk when the batch fits.");
            w.Line("/// </summary>");
            w.Open("private void RunEvalChunks(bool training)");
            w.Line($"int __n = _sym_{b}, __rows = _evalRows;");
            w.Line("if (__rows >= __n) { RunEval(training); return; }");
            // (an explicit type: a network may be named `var`)
            for (int i = 0; i < inputs.Count; i++) w.Line($"Tensor<{ElemT(inputs[i].Value)}> __in{i} = {_evalFields[inputs[i].Value]};");
            w.Line("int __chunks = (__n + __rows - 1) / __rows, __q = __n / __chunks, __r = __n % __chunks;");
            w.Open("try");
            w.Open("for (int __c = 0, __start = 0; __c < __chunks; __c++)");
            w.Line("int __len = __q + (__c < __r ? 1 : 0);");
            w.Line("EvalChunkViews(__len);");
            w.Line("EvalWholeViews(__start, __len);");
            for (int i = 0; i < inputs.Count; i++)
                w.Line($"{_evalFields[inputs[i].Value]} = __in{i}.View(__start * {inputs[i].Value.Shape.Size.Factor}, {ShapeArgs(inputs[i].Value.Shape)});");
            foreach (var o in inputViews) w.Line($"{_evalFields[o]} = {_evalFields[o.Storage]}.View(0, {ShapeArgs(o.Shape)});");
            w.Line("RunEval(training);");
            w.Line("__start += __len;");
            w.Close();
            w.Close();
            w.Open("finally");
            w.Line("// the caller's inputs back (and their views rebuilt by the next Bind), the outputs as whole-batch views");
            for (int i = 0; i < inputs.Count; i++) w.Line($"{_evalFields[inputs[i].Value]} = __in{i};");
            foreach (var o in inputViews) w.Line($"{_evalFields[o]}_of = null;");
            w.Line("EvalWholeViews(0, __n);");
            w.Close();
            w.Close();
            w.Line();

            w.Line("/// <summary>Points the chunk arenas' buffers at their planned offsets for a chunk of <paramref name=\"__len\"/> samples (rebuilt only when the chunk size changes).</summary>");
            w.Open("private void EvalChunkViews(int __len)");
            w.Line($"_sym_{b} = __len;");
            w.Line("if (__len == _evalViewRows) return;");
            w.Line("_evalViewRows = __len;");
            foreach (var kv in _evalPlan.Placements.Where(p => !p.Value.Arena.WholeBatch).OrderBy(p => p.Key.Id))
            {
                var v = kv.Key; var p = kv.Value;
                var mult = p.Arena.Symbols.Length == 0 ? "" : " * __len";
                w.Line($"{_evalFields[v]} = _evalArena{p.Arena.Index}!.View({p.Offset}{mult}, {ShapeArgs(v.Shape)});");
            }
            foreach (var k in _evalProg.Kernels.OfType<AliasKernel>())
            {
                var o = k.Outputs[0];
                if (o.Storage.Role != ValueRole.Input && !InWhole(o) && _evalFields.ContainsKey(o))
                    w.Line($"{_evalFields[o]} = {_evalFields[o.Storage]}.View(0, {ShapeArgs(o.Shape)});");
            }
            w.Close();
            w.Line();

            w.Line("/// <summary>Points the whole-batch buffers (the outputs) at rows [<paramref name=\"__start\"/>, <paramref name=\"__start\"/> + <paramref name=\"__len\"/>) of the batch.</summary>");
            w.Open("private void EvalWholeViews(int __start, int __len)");
            w.Line($"_sym_{b} = __len;");
            w.Line($"int __all = _evalPlan_{b};");
            foreach (var kv in _evalPlan.Placements.Where(p => p.Value.Arena.WholeBatch).OrderBy(p => p.Key.Id))
            {
                var v = kv.Key; var p = kv.Value;
                w.Line($"{_evalFields[v]} = _evalArena{p.Arena.Index}!.View({p.Offset} * __all + __start * {v.Shape.Size.Factor}, {ShapeArgs(v.Shape)});");
            }
            foreach (var k in _evalProg.Kernels.OfType<AliasKernel>())
            {
                var o = k.Outputs[0];
                if (o.Storage.Role != ValueRole.Input && InWhole(o) && _evalFields.ContainsKey(o))
                    w.Line($"{_evalFields[o]} = {_evalFields[o.Storage]}.View(0, {ShapeArgs(o.Shape)});");
            }
            w.Close();
            w.Line();

            w.Line("/// <summary>The largest chunk of a batch of <paramref name=\"n\"/> split into ⌈n / chunk⌉ balanced chunks (n itself when chunk ≤ 0 or n ≤ chunk).</summary>");
            w.Open("private static int EvalRows(int n, int chunk)");
            w.Line("if (chunk <= 0 || n <= chunk) return n;");
            w.Line("int chunks = (n + chunk - 1) / chunk;");
            w.Line("return (n + chunks - 1) / chunks;");
            w.Close();
            w.Line();
        }
    }
}
