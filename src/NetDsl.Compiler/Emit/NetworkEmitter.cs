using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Memory;
using NetDsl.Compiler.Shapes;

namespace NetDsl.Compiler.Emit
{
    /// <summary>
    /// Emits one C# file per network: a generic class <c>Name&lt;T&gt;</c> (float or double) and <c>Name</c> (float),
    /// with named parameters, planned buffers, Forward and TrainStep as straight-line calls into kernels.
    /// Every kernel carries a comment naming the .net lines and ops it fuses, its shapes and FLOPs.
    /// The CPU functor and the ILGPU functor of each fused kernel are emitted side by side from the same IR.
    /// </summary>
    internal sealed partial class NetworkEmitter
    {
        private readonly NetGraph _g;
        private readonly KernelProgram _prog;
        private readonly MemoryPlan _plan;
        /// <summary>The eval-only program (forward kernels the outputs need, batchnorm folded) and its own plan.</summary>
        private readonly KernelProgram _evalProg;
        private readonly MemoryPlan _evalPlan;
        private readonly string _file;
        private readonly string _ns;
        private readonly NetworkSummary _summary;
        /// <summary>Each value's field in the program being printed: <see cref="_trainFields"/> or <see cref="_evalFields"/>.</summary>
        private Dictionary<TValue, string> _fields;
        private readonly Dictionary<TValue, string> _trainFields = new Dictionary<TValue, string>(), _evalFields = new Dictionary<TValue, string>();
        /// <summary>While emitting an accumulating call: parameter-gradient outputs redirected to scratch views.</summary>
        private readonly Dictionary<TValue, string> _refOverride = new Dictionary<TValue, string>();
        /// <summary>Backward kernels that write parameter gradients and accumulate through scratch: their scratch views (field, offset, shape).</summary>
        private readonly List<(string Field, long Offset, Shape Shape)> _accViews = new List<(string, long, Shape)>();
        private long _accScratchSize;
        private readonly Dictionary<string, string> _layerProps = new Dictionary<string, string>();
        private readonly HashSet<Kernel> _outputKernels;
        private readonly List<(string Input, TValue Value)> _forwardInputs;
        private Dictionary<string, string> _layerTypes = new Dictionary<string, string>();
        /// <summary>Every C# name derived from a .net name (decided before printing; see <see cref="NetworkNames"/>).</summary>
        private readonly NetworkNames _names;
        /// <summary>The .net file's name as comment text and as a string literal.</summary>
        private readonly string _fileText, _fileLiteral;
        /// <summary>Kernel calls with the same constant arguments share a method (<see cref="CallOutliner"/>).</summary>
        private readonly CallOutliner _outliner = new CallOutliner();

        /// <summary>Time every kernel call (see <see cref="CompileOptions.Profile"/>).</summary>
        public bool Profile { get; set; }
        /// <summary>Debug mode (<see cref="CompileOptions.Debug"/>): the .net file's path for `#line` directives around each kernel call; null otherwise.</summary>
        public string? DebugPath { get; set; }
        /// <summary>Chunked inference (<see cref="EvalChunking"/>): eval-mode Forward runs the batch in chunks of samples.</summary>
        public EvalChunkPlan? EvalChunk { get; set; }
        private bool Chunked => EvalChunk is { Chunked: true };

        public NetworkEmitter(NetGraph g, KernelProgram prog, MemoryPlan plan, KernelProgram evalProg, MemoryPlan evalPlan, string file, string ns, NetworkSummary summary, NetworkNames names)
        {
            _g = g; _prog = prog; _plan = plan; _evalProg = evalProg; _evalPlan = evalPlan; _file = file; _fields = _trainFields; _ns = string.Join(".", ns.Split('.').Select(Names.Identifier)); _summary = summary; _names = names;
            _fileText = Names.Comment(file); _fileLiteral = Names.Literal(file);
            // kernels that the outputs need (Forward runs only these; TrainStep runs all)
            var need = new HashSet<TValue>(g.Outputs.Select(o => o.Value));
            var needStorage = new HashSet<TValue>(need.Select(n => n.Storage));
            _outputKernels = new HashSet<Kernel>();
            foreach (var k in prog.Forward.Reverse())
            {
                if (k.Outputs.Any(o => need.Contains(o) || needStorage.Contains(o)))
                {
                    _outputKernels.Add(k);
                    foreach (var i in k.Inputs) { need.Add(i); needStorage.Add(i.Storage); }
                }
            }
            _forwardInputs = g.Inputs.Where(i => need.Contains(i.Value)).Select(i => (i.Name, i.Value)).ToList();
        }

        /// <summary>Layers with parameters or buffers, in file order (the layer properties).</summary>
        internal static List<string> StateLayers(NetGraph g) =>
            g.Values.Where(v => v.Param != null || v.Buffer != null).Select(v => v.Param?.Layer ?? v.Buffer!.Layer).Distinct().ToList();

        private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

        private static string Sanitize(string s) => Names.Bare(Names.Identifier(s));

        /// <summary>A shape as arguments: known dims, and <c>_sym_N</c> (the symbolic dims of the current call, set by Bind) for symbolic ones.</summary>
        private static string ShapeArgs(Shape s) => string.Join(", ", s.Dims.Select(d => d.IsKnown ? d.Value.ToString(CultureInfo.InvariantCulture) : "_sym_" + d.Symbol));
        private static string ElemT(TValue v) => v.Type == ElemType.Int ? "int" : "T";

        /// <summary>The C# expression for a value's tensor.</summary>
        internal string Ref(TValue v)
        {
            if (_refOverride.TryGetValue(v, out var over)) return over;
            if (v.Role == ValueRole.Parameter) return $"{ParamRef(v.Param!)}.Value";
            if (v.Role == ValueRole.ParameterGradient) return $"{ParamRef(_g.Params.First(x => x.Grad == v))}.Grad";
            if (v.Role == ValueRole.Buffer) return $"{_layerProps[v.Buffer!.Layer]}.{FieldProp(v.Buffer.Field)}.Value";
            return _fields[v];
        }

        /// <summary>A parameter of a layer property: <c>Conv1.Weight</c>, <c>Conv1.Bias!</c>, or <c>Ln1.Parameters[2]</c> for other fields.</summary>
        private string ParamRef(ParamDecl p)
        {
            var prop = _layerProps[p.Layer];
            if (p.Field == "weight") return prop + ".Weight";
            if (p.Field == "bias") return prop + ".Bias!";
            return $"{prop}.Parameters[{_g.Params.Where(x => x.Layer == p.Layer).ToList().IndexOf(p)}]";
        }

        /// <summary>The C# property of a field: running_mean → RunningMean.</summary>
        private static string FieldProp(string field) =>
            string.Concat(field.Split('_').Where(s => s.Length > 0).Select(s => char.ToUpperInvariant(s[0]) + s.Substring(1)));

        /// <summary>Layers with parameters or buffers, in file order.</summary>
        private List<string> StateLayers() => StateLayers(_g);

        /// <summary>Layers with buffers get a generated subclass of LayerParameters with one property per buffer (Bn1.RunningMean); one class per op and field set.</summary>
        private readonly Dictionary<string, string> _layerClasses = new Dictionary<string, string>();
        private readonly List<(string Class, string Op, List<string> Params, List<string> Buffers)> _layerClassDefs = new List<(string, string, List<string>, List<string>)>();

        private string LayerClass(string layer, string op)
        {
            var ps = _g.Params.Where(p => p.Layer == layer).Select(p => p.Field).ToList();
            var bs = _g.Buffers.Where(b => b.Layer == layer).Select(b => b.Field).ToList();
            if (bs.Count == 0) return "LayerParameters<T>";
            var key = op + ":" + string.Join(",", ps) + ";" + string.Join(",", bs);
            if (_layerClasses.TryGetValue(key, out var name)) return name;
            name = _names.Fresh(FieldProp(op) + "Layer");
            _layerClasses[key] = name;
            _layerClassDefs.Add((name, op, ps, bs));
            return name;
        }

        public string Emit()
        {
            var w = new CodeWriter();
            Header(w);
            w.Line("#nullable enable");
            w.Line("#pragma warning disable CS1591 // generated members are documented in the .net file");
            w.Line("using System;");
            w.Line("using System.Numerics;");
            w.Line("using System.Runtime.CompilerServices;");
            w.Line("using System.Runtime.Intrinsics;");
            w.Line("using NetDsl.Runtime;");
            w.Line("using NetDsl.Runtime.Optim;");
            w.Line();
            w.Open($"namespace {_ns}");
            w.Line($"/// <summary>{Names.Xml(_g.Name)} from {Names.Xml(_file)} (line {_g.Span.Line}) in fp32: {N(_summary.TotalParameters)} parameters, {N(_summary.TotalMacs)} MACs per sample.</summary>");
            w.Open($"public sealed partial class {_names.Class} : {_names.Class}<float>");
            w.Line("/// <summary>Creates the network on <paramref name=\"device\"/> (the CPU when null), parameters initialized from <paramref name=\"seed\"/>.</summary>");
            w.Line($"public {_names.Class}(Device? device = null, int seed = 0) : base(device, seed) {{ }}");
            w.Close();
            w.Line();
            EmitGeneric(w);
            w.Close();
            return _outliner.Resolve(w.ToString(), _names.Fresh);
        }

        private void Header(CodeWriter w)
        {
            w.Line("// <auto-generated/>");
            w.Line($"// Generated by NetDsl from {_fileText}, network {Names.Comment(_g.Name)} (line {_g.Span.Line}). Do not edit: change the .net file.");
            w.Line("//");
            w.Line($"// {N(_summary.TotalParameters)} parameters, {N(_summary.TotalMacs)} MACs per sample,");
            w.Line($"// activations {N(_summary.ActivationBytesPerSample)} bytes per sample without reuse, {N(_summary.PlannedBytesPerSample)} planned (fp32)"
                + (_summary.RecomputedValues == 0 ? "." : $", {_summary.RecomputedValues} values recomputed for backward ({N(_summary.PlannedBytesPerSampleWithoutRecompute)} planned without, {N(_summary.RecomputeFlopsPerSample)} FLOPs per sample more)."));
            w.Line($"// inference (eval-mode Forward): {N(_summary.EvalPlannedBytesPerSample)} bytes per sample planned on their own, {_evalProg.Kernels.Count(k => !(k is AliasKernel))} kernels, {_evalProg.Kernels.Count(k => k is FoldedKernel)} batchnorms folded.");
            if (Chunked)
                w.Line($"// chunked inference: {Names.Comment(EvalChunk!.Reason)}; the eval arenas hold one chunk, only the outputs the whole batch: {N(_summary.EvalPlannedBytes(64))} bytes at N = 64 vs the training plan's {N(_summary.PlannedBytes(64))}, {N(_summary.EvalPlannedBytes(1024))} vs {N(_summary.PlannedBytes(1024))} at N = 1024.");
            else if (EvalChunk != null && EvalChunk.Reason.Length > 0)
                w.Line($"// inference runs the whole batch at once (not chunked: {Names.Comment(EvalChunk.Reason)}).");
            if (DebugPath != null) w.Line("// debug mode (NetDslDebug): no buffer reuse, #line directives map each kernel call to its .net line.");
            w.Line("//");
            w.Line($"// {"layer",-22} {"op",-14} {"output",-20} {"params",12} {"MACs",14}  line");
            foreach (var r in _summary.Rows)
                w.Line($"// {Names.Comment(r.Layer),-22} {r.Op,-14} {Names.Comment(r.OutputShape),-20} {N(r.Parameters),12} {Names.Comment(r.MacsText),14}  {r.Line}");
            w.Line();
        }

        private void EmitGeneric(CodeWriter w)
        {
            w.Line($"/// <summary>{Names.Xml(_g.Name)} from {Names.Xml(_file)} for element type <typeparamref name=\"T\"/> (float, or double for gradient checks).</summary>");
            w.Open($"public partial class {_names.Class}<T> : NetworkBase<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>");
            w.Line($"public const long ParameterCount = {_summary.TotalParameters};");
            w.Line($"/// <summary>Multiply-accumulates of one sample's forward pass (conv and linear layers).</summary>");
            w.Line($"public const long Macs = {_summary.TotalMacs};");
            w.Line($"/// <summary>Bytes of activations and gradients per sample in a training step without buffer reuse (fp32).</summary>");
            w.Line($"public const long ActivationBytesPerSample = {_summary.ActivationBytesPerSample};");
            w.Line($"/// <summary>Bytes per sample of the planned arenas (liveness-based reuse, fp32).</summary>");
            w.Line($"public const long PlannedBytesPerSample = {_summary.PlannedBytesPerSample};");
            w.Line($"/// <summary>Bytes per sample of the eval-only plan that eval-mode Forward uses (forward kernels the outputs need, batchnorm folded; fp32).</summary>");
            w.Line($"public const long EvalPlannedBytesPerSample = {_summary.EvalPlannedBytesPerSample};");
            w.Line($"/// <summary>Samples per chunk of eval-mode Forward the compiler chose (chunked inference: the eval arenas hold one chunk's activations); 0 when it runs the whole batch at once.</summary>");
            w.Line($"public const int EvalChunkRows = {_summary.EvalChunkRows};");
            w.Line($"/// <summary>The eval plan's arena bytes for a batch of <paramref name=\"batch\"/> samples at <see cref=\"EvalChunkRows\"/> (compare with PlannedBytesPerSample × batch; fp32).</summary>");
            long whole = _summary.EvalWholeBatchBytesPerSample, chunkBytes = _summary.EvalPlannedBytesPerSample - whole;
            w.Line(Chunked
                ? $"public static long EvalPlannedBytes(int batch) => {chunkBytes}L * EvalRows(batch, EvalChunkRows) + {whole}L * batch;"
                : $"public static long EvalPlannedBytes(int batch) => {_summary.EvalPlannedBytesPerSample}L * batch;");
            w.Line($"public const string SourceFile = {_fileLiteral};");
            foreach (var kv in _g.SymbolBounds.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                w.Line($"/// <summary>The declared upper bound of symbolic dim {Names.Xml(kv.Key)} (`{Names.Xml(kv.Key)} &lt;= {kv.Value}` in an input's shape).</summary>");
                w.Line($"public const int {_names.SymbolBoundConsts[kv.Key]} = {kv.Value};");
            }
            foreach (var (name, v) in _g.Inputs)
            {
                w.Line($"/// <summary>Shape of input '{Names.Xml(name)}': {(v.Type == ElemType.Int ? "int" : "")}{Names.Xml(v.Shape.ToDisplay())} (-1 marks a symbolic dim).</summary>");
                w.Line($"public static int[] {_names.InputShapeProps[name]} => new int[] {{ {string.Join(", ", v.Shape.Dims.Select(d => d.IsKnown ? d.Value : -1))} }};");
            }
            w.Line();

            // layer properties: parameters (and buffers) by layer
            var layerTypes = new Dictionary<string, string>();
            foreach (var layer in StateLayers())
            {
                var prop = _names.LayerProps[layer];
                _layerProps[layer] = prop;
                var ps = _g.Params.Where(p => p.Layer == layer).ToList();
                var bs = _g.Buffers.Where(b => b.Layer == layer).ToList();
                var node = _g.Nodes.First(n => n.Layer == layer && !n.IsBackward && n.Inputs.Any(i => i.Param?.Layer == layer || i.Buffer?.Layer == layer));
                var type = layerTypes[layer] = LayerClass(layer, node.Op);
                var fields = ps.Select(p => p.Field + " " + p.Shape.ToDisplay()).Concat(bs.Select(b => "buffer " + b.Field + " " + b.Shape.ToDisplay()));
                w.Line($"/// <summary>{Names.Xml(layer)}: {node.Op} at {Names.Xml(_file)} line {node.Span.Line}; {Names.Xml(string.Join(", ", fields))}.</summary>");
                w.Line($"public {type} {prop} {{ get; }}");
            }
            foreach (var (cls, op, ps, bs) in _layerClassDefs)
            {
                w.Line($"/// <summary>A {op} layer's parameters ({string.Join(", ", ps)}) and buffers ({string.Join(", ", bs)}, non-learned state saved in checkpoints).</summary>");
                w.Open($"public sealed class {cls} : LayerParameters<T>");
                w.Line($"public {cls}(string name, Parameter<T>[] parameters, Buffer<T>[] buffers) : base(name, parameters, buffers) {{ }}");
                for (int i = 0; i < bs.Count; i++)
                {
                    w.Line($"/// <summary>The buffer <c>{bs[i]}</c> (named <c>layer.{bs[i]}</c> in checkpoints).</summary>");
                    w.Line($"public Buffer<T> {FieldProp(bs[i])} => Buffers[{i}];");
                }
                w.Close();
            }
            _layerTypes = layerTypes;
            w.Line();

            // buffer fields: the training plan's, then the eval plan's (inputs and views of inputs are shared)
            w.Line("// ---- planned buffers: views into the arenas, rebuilt when a symbolic dim (batch size) changes; each says what it");
            w.Line("// holds and which other buffers the plan puts in the same arena bytes (at other times, or in place)");
            foreach (var s in _g.Symbols) w.Line($"private int _sym_{s} = -1, _trainPlan_{s} = -1; // the current call's {Names.Comment(s)}, and the one the training buffers are planned for");
            foreach (var a in _plan.Arenas) w.Line($"private Tensor<{(a.Type == ElemType.Int ? "int" : "T")}>? _arena{a.Index}; // {(a.Symbols.Length == 0 ? "" : a.Symbols + " x ")}{N(a.Units)} elements");
            int fieldNo = 0;
            foreach (var v in _g.Values)
            {
                if (v.Role == ValueRole.Parameter || v.Role == ValueRole.ParameterGradient || v.Role == ValueRole.Buffer) continue;
                bool materialized = _plan.Placements.ContainsKey(v) || v.Role == ValueRole.Input || (v.AliasOf != null && _prog.Kernels.Any(k => k.Outputs.Contains(v)));
                if (!materialized) continue;
                var name = _names.Fresh($"_{Sanitize(v.Name)}_{fieldNo++}");
                _trainFields[v] = name;
                w.Line($"private Tensor<{ElemT(v)}> {name} = null!; // {Names.Comment(v.Name)} {v.Shape.ToDisplay()}{(v.Role == ValueRole.Input ? " (input)" : v.AliasOf != null ? " (view of " + Names.Comment(v.AliasOf.Name) + ")" : "")}{Shares(_plan, v)}");
                if (v.AliasOf != null && v.Storage.Role == ValueRole.Input)
                    w.Line($"private object? {name}_of; // the input tensor {name} views");
            }
            w.Line("// ---- the eval plan: eval-mode Forward runs the eval-only program in arenas of its own (the training arenas stay unallocated)");
            foreach (var s in _g.Symbols) w.Line($"private int _evalPlan_{s} = -1;");
            if (_g.Symbols.Count == 0) w.Line("private bool _evalPlanned;");
            foreach (var a in _evalPlan.Arenas) w.Line($"private Tensor<{(a.Type == ElemType.Int ? "int" : "T")}>? _evalArena{a.Index}; // {(a.Symbols.Length == 0 ? "" : a.Symbols + " x ")}{N(a.Units)} elements"
                + (!Chunked || a.Symbols != EvalChunk!.Symbol ? "" : a.WholeBatch ? " (the whole batch: the outputs)" : $" for one chunk ({a.Symbols} at most the chunk's rows)"));
            if (Chunked)
            {
                w.Line("private int _evalRows = -1, _evalViewRows = -1, _evalPlanChunk = int.MinValue; // rows per chunk the eval arenas hold; rows the chunk views are built for; the EvalChunkSize they were planned at");
                w.Line("/// <summary>Samples per chunk of eval-mode Forward: <see cref=\"EvalChunkRows\"/> unless set; 0 or less runs the whole batch at once (the same outputs, bit for bit).</summary>");
                w.Line("public int EvalChunkSize { get; set; } = EvalChunkRows;");
            }
            foreach (var v in _g.Values)
            {
                if (v.Role == ValueRole.Parameter || v.Role == ValueRole.ParameterGradient || v.Role == ValueRole.Buffer) continue;
                bool planned = _evalPlan.Placements.ContainsKey(v) || (v.AliasOf != null && _evalPlan.Placements.ContainsKey(v.Storage) && _evalProg.Kernels.Any(k => k.Outputs.Contains(v)));
                if (!planned)
                {
                    if (_trainFields.TryGetValue(v, out var shared) && v.Storage.Role == ValueRole.Input) _evalFields[v] = shared;
                    continue;
                }
                var name = _names.Fresh($"_{Sanitize(v.Name)}_{fieldNo++}");
                _evalFields[v] = name;
                w.Line($"private Tensor<{ElemT(v)}> {name} = null!; // {Names.Comment(v.Name)} {v.Shape.ToDisplay()} (eval plan){(v.AliasOf != null ? " (view of " + Names.Comment(v.AliasOf.Name) + ")" : "")}{Shares(_evalPlan, v)}");
            }
            if (_g.Loss != null) w.Line("private T _lossValue;");
            w.Line();

            EmitConstructor(w);
            EmitForward(w);
            if (_g.Loss != null) EmitTrainStep(w);
            else if (_g.OutputGradSeed != null) EmitBackward(w);
            EmitInputGrads(w);
            EmitBind(w);
            EmitRun(w);
            EmitFiniteCheckNames(w);
            w.Line(CallOutliner.MethodsMarker);
            EmitFunctors(w);
            w.Close();
        }

        /// <summary>"; shares memory with a, b" for a planned value: the values the plan puts in the same arena bytes.</summary>
        private static string Shares(MemoryPlan plan, TValue v)
        {
            var with = plan.SharesWith(v).Select(x => Names.Comment(x.Name)).ToList();
            if (with.Count == 0) return "";
            const int shown = 4;
            return "; shares memory with " + string.Join(", ", with.Take(shown)) + (with.Count > shown ? $" and {with.Count - shown} more" : "");
        }

        private void EmitConstructor(CodeWriter w)
        {
            w.Line("/// <summary>Creates the network on <paramref name=\"device\"/> (the CPU when null), parameters initialized from <paramref name=\"seed\"/>.</summary>");
            w.Open($"public {_names.Class}(Device? device = null, int seed = 0) : base(device, seed)");
            foreach (var layer in _layerProps.Keys)
            {
                var ps = _g.Params.Where(p => p.Layer == layer).ToList();
                var bs = _g.Buffers.Where(b => b.Layer == layer).ToList();
                string Dims(Shape s) => string.Join(", ", s.Dims.Select(d => d.Value));
                string P(ParamDecl p) => $"AddParameter({Names.Literal(p.Name)}, new[] {{ {Dims(p.Shape)} }}, InitKind.{p.Init}, {p.FanIn})";
                string B(BufferDecl b) => $"AddBuffer({Names.Literal(b.Name)}, new[] {{ {Dims(b.Shape)} }}, {b.Initial.ToString("R", CultureInfo.InvariantCulture)})";
                var weight = ps.FirstOrDefault(p => p.Field == "weight");
                var bias = ps.FirstOrDefault(p => p.Field == "bias");
                if (bs.Count == 0 && weight != null && ps.All(p => p == weight || p == bias))
                    w.Line($"{_layerProps[layer]} = new LayerParameters<T>({Names.Literal(layer)}, {P(weight)}, {(bias == null ? "null" : P(bias))});");
                else
                {
                    var parms = ps.Count == 0 ? "Array.Empty<Parameter<T>>()" : $"new[] {{ {string.Join(", ", ps.Select(P))} }}";
                    var bufs = bs.Count == 0 ? "Array.Empty<Buffer<T>>()" : $"new[] {{ {string.Join(", ", bs.Select(B))} }}";
                    w.Line($"{_layerProps[layer]} = new {_layerTypes[layer]}({Names.Literal(layer)}, {parms}, {bufs});");
                }
            }
            w.Line("InitializeParameters();");
            w.Close();
            w.Line();
        }

        private string OutputType => _g.Outputs.Count == 1 ? $"Tensor<T>" : $"({string.Join(", ", _g.Outputs.Select(o => $"Tensor<T> {_names.OutputElements[o.Name]}"))})";
        private string OutputValue => _g.Outputs.Count == 1 ? _fields[_g.Outputs[0].Value] : "(" + string.Join(", ", _g.Outputs.Select(o => _fields[o.Value])) + ")";
        private string EvalOutputValue => _g.Outputs.Count == 1 ? _evalFields[_g.Outputs[0].Value] : "(" + string.Join(", ", _g.Outputs.Select(o => _evalFields[o.Value])) + ")";

        private string Params(IEnumerable<(string Name, TValue Value)> inputs) =>
            string.Join(", ", inputs.Select(i => $"Tensor<{ElemT(i.Value)}> {_names.InputParams[i.Name]}"));

        private void EmitForward(CodeWriter w)
        {
            var outs = Names.Xml(string.Join(", ", _g.Outputs.Select(o => $"{o.Name} {o.Value.Shape.ToDisplay()}")));
            w.Line($"/// <summary>");
            w.Line($"/// Runs the network in the current mode (<see cref=\"NetworkBase{{T}}.Training\"/>; call Eval() for inference) and returns {outs}.");
            w.Line($"/// The result is a view into the network's buffers, overwritten by the next call: copy it to keep it.");
            w.Line($"/// </summary>");
            w.Open($"public {OutputType} Forward({Params(_forwardInputs)})");
            var args = string.Join(", ", _g.Inputs.Select(i => _forwardInputs.Any(f => f.Value == i.Value) ? _names.InputParams[i.Name] : "null"));
            w.Open("if (Training)");
            w.Line($"Bind({args});");
            w.Line("RunForward(training: true, withLoss: false);");
            w.Line($"return {OutputValue};");
            w.Close();
            w.Line("// inference: the eval-only program in its own arenas");
            w.Line($"Bind({args}, _eval: true);");
            w.Line(Chunked ? "RunEvalChunks(training: false);" : "RunEval(training: false);");
            w.Line($"return {EvalOutputValue};");
            w.Close();
            w.Line();
        }

        private void EmitTrainStep(CodeWriter w)
        {
            var all = _g.Inputs.Select(i => (i.Name, i.Value)).ToList();
            var args = string.Join(", ", _g.Inputs.Select(i => _names.InputParams[i.Name]));
            w.Line("/// <summary>");
            w.Line("/// One training step's forward and backward pass: returns the loss and overwrites every parameter's");
            w.Line("/// gradient (<c>Parameter.Grad</c>). Follow it with an optimizer's Step(), or use the overload that takes one.");
            w.Line("/// </summary>");
            w.Open($"public T TrainStep({Params(all)})");
            w.Line($"Bind({args});");
            w.Line("RunForward(Training, withLoss: true);");
            w.Line("RunBackward(accumulate: false);");
            w.Line("StepCount++;");
            w.Line("return _lossValue;");
            w.Close();
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// Forward and backward like TrainStep, but adds this batch's gradients to every <c>Parameter.Grad</c> instead of");
            w.Line("/// overwriting them (PyTorch's <c>loss.backward()</c>): several batches sum without a copy. Clear with optimizer.ZeroGrad().");
            w.Line("/// </summary>");
            w.Open($"public T AccumulateGradients({Params(all)})");
            w.Line($"Bind({args});");
            w.Line("RunForward(Training, withLoss: true);");
            w.Line("EnsureAccumulateScratch();");
            w.Line("RunBackward(accumulate: true);");
            w.Line("StepCount++;");
            w.Line("return _lossValue;");
            w.Close();
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// Forward, backward and <paramref name=\"optimizer\"/>.Step(); returns the loss. An optimizer that keeps its state in the");
            w.Line("/// gradients (Sgd with stateInGradients) prepares them first and the backward pass accumulates into them.");
            w.Line("/// </summary>");
            w.Open($"public T TrainStep({Params(all)}, Optimizer<T> optimizer)");
            w.Line("T loss;");
            w.Open("if (optimizer.AccumulatesGradients)");
            w.Line("optimizer.BeforeBackward();");
            w.Line($"loss = AccumulateGradients({args});");
            w.Close();
            w.Line($"else loss = TrainStep({args});");
            w.Line("optimizer.Step();");
            w.Line("return loss;");
            w.Close();
            w.Line();
            w.Line("/// <summary>The loss on a batch without computing gradients (in the current mode).</summary>");
            w.Open($"public T ComputeLoss({Params(all)})");
            w.Line($"Bind({args});");
            w.Line("RunForward(Training, withLoss: true);");
            w.Line("return _lossValue;");
            w.Close();
            w.Line();
        }

        /// <summary>`output y grad` in a network without a loss: Backward(dY) runs the backward pass from a caller-supplied gradient.</summary>
        private void EmitBackward(CodeWriter w)
        {
            var y = _g.GradOutput!;
            var seed = _g.OutputGradSeed!;
            var outName = _g.Outputs.First(o => o.Value == y).Name;
            var arg = _names.BackwardArg!;
            w.Line("/// <summary>");
            w.Line($"/// The backward pass from <paramref name=\"{Names.Bare(arg)}\"/>, the gradient of some outer loss with respect to output '{Names.Xml(outName)}' {Names.Xml(y.Shape.ToDisplay())}");
            w.Line("/// (for instance a discriminator's input gradient): overwrites every parameter's gradient (and the gradients of inputs");
            w.Line("/// declared `grad`) using the activations of the last Forward call, which must have run in training mode on the same inputs.");
            w.Line("/// Follow it with an optimizer's Step(). Advances the step counter (dropout and noise seeds).");
            w.Line("/// </summary>");
            w.Open($"public void Backward(Tensor<T> {arg})");
            w.Line($"CheckDevice({Names.Literal(Names.Bare(arg))}, {arg});");
            w.Line($"var y = {_fields[y]};");
            w.Line($"if (y is null) throw new InvalidOperationException(\"Backward needs a Forward call first (its activations are what Backward differentiates)\");");
            w.Line($"if ({arg}.Rank != y.Rank || !{arg}.Shape.AsSpan().SequenceEqual(y.Shape))");
            w.Line($"    throw InputShapeError({Names.Literal(Names.Bare(arg))}, Tensor<T>.Format(y.Shape) + {Names.Literal($" (the shape of output '{outName}' in the last Forward)")}, {arg}.Shape);");
            w.Line($"{_fields[seed]} = {arg};");
            foreach (var k in _prog.Kernels.OfType<AliasKernel>())
            {
                var o = k.Outputs[0];
                if (o.Storage == seed && _fields.ContainsKey(o))
                    w.Line($"{_fields[o]} = {_fields[seed]}.View(0, {ShapeArgs(o.Shape)});");
            }
            w.Line("RunBackward(accumulate: false);");
            w.Line("StepCount++;");
            w.Close();
            w.Line();
            w.Line($"/// <summary>Backward(<paramref name=\"{Names.Bare(arg)}\"/>) then <paramref name=\"optimizer\"/>.Step().</summary>");
            w.Open($"public void Backward(Tensor<T> {arg}, Optimizer<T> optimizer)");
            w.Line("if (optimizer.AccumulatesGradients) throw new NotSupportedException(\"an optimizer that keeps its state in the gradients is stepped through TrainStep(…, optimizer), not Backward\");");
            w.Line($"Backward({arg});");
            w.Line("optimizer.Step();");
            w.Close();
            w.Line();
        }

        /// <summary>`input x grad`: XGrad, the gradient of the loss (or of Backward's dY) with respect to input x after TrainStep/Backward.</summary>
        private void EmitInputGrads(CodeWriter w)
        {
            foreach (var (name, v) in _g.Inputs)
            {
                if (!_g.GradInputs.Contains(v)) continue;
                w.Line($"/// <summary>The gradient with respect to input '{Names.Xml(name)}' {Names.Xml(v.Shape.ToDisplay())} from the last TrainStep/Backward (a view into the network's buffers, overwritten by the next call).</summary>");
                if (_g.InputGrads.TryGetValue(v, out var gv)) w.Line($"public Tensor<T> {_names.InputGradProps[name]} => {Ref(gv)};");
                else w.Line($"public Tensor<T> {_names.InputGradProps[name]} => throw new InvalidOperationException({Names.Literal($"the loss does not depend on input '{name}'")});");
            }
        }

        private void EmitBind(CodeWriter w)
        {
            string P(string input) => _names.InputParams[input];
            string S(string symbol) => _names.SymbolLocals[symbol];
            w.Line("/// <summary>Checks and binds the inputs, then points the training plan's buffers (or, with <paramref name=\"_eval\"/>, the eval plan's) at arenas for their symbolic dims.</summary>");
            w.Open($"private void Bind({string.Join(", ", _g.Inputs.Select(i => $"Tensor<{ElemT(i.Value)}>? {P(i.Name)}"))}, bool _eval = false)");
            foreach (var s in _g.Symbols) w.Line($"int {S(s)} = -1;");
            foreach (var (name, v) in _g.Inputs)
            {
                var p = P(name);
                var lit = Names.Literal(name);
                w.Open($"if ({p} is not null)");
                w.Line($"CheckDevice({lit}, {p});");
                if (v.Type == ElemType.Float) w.Line($"if (ValidateInputs) CheckInputFinite({lit}, {p});");
                var dims = v.Shape.Dims;
                var conds = new List<string> { $"{p}.Rank != {dims.Count}" };
                for (int i = 0; i < dims.Count; i++)
                    if (dims[i].IsKnown) conds.Add($"{p}.Shape[{i}] != {dims[i].Value}");
                    else conds.Add($"({S(dims[i].Symbol!)} >= 0 && {p}.Shape[{i}] != {S(dims[i].Symbol!)})");
                var expected = Names.InterpolatedText($"{(v.Type == ElemType.Int ? "int" : "")}{v.Shape.ToDisplay()}");
                var symNote = string.Join("", dims.Where(d => !d.IsKnown).Select(d => d.Symbol!).Distinct().Select(s => $"{{({S(s)} >= 0 ? {Names.Literal($" with {s} = ")} + {S(s)} : \"\")}}"));
                w.Line($"if ({string.Join(" || ", conds)})");
                w.Line($"    throw InputShapeError({lit}, $\"{expected}{symNote}\", {p}.Shape);");
                for (int i = 0; i < dims.Count; i++)
                    if (!dims[i].IsKnown)
                    {
                        var sym = dims[i].Symbol!;
                        w.Line($"{S(sym)} = {p}.Shape[{i}];");
                        if (i == 0) w.Line($"if ({S(sym)} == 0) throw new ArgumentException({Names.Literal($"input '{name}' is empty: its dim 0 ({sym}) is 0; a batch needs at least one sample")}, {lit});");
                        if (_g.SymbolBounds.TryGetValue(sym, out var bound))
                            w.Line($"if ({S(sym)} > {bound}) throw new ArgumentException($\"{Names.InterpolatedText($"input '{name}': dim {i} ({sym}) is ")}{{{S(sym)}}}{Names.InterpolatedText($", above its declared bound {sym} <= {bound}")}\", {lit});");
                    }
                w.Line($"{_fields[v]} = {p};");
                w.Close();
            }
            if (_g.Symbols.Count > 0)
            {
                w.Line(string.Concat(_g.Symbols.Select(s => $"_sym_{s} = {S(s)}; ")).TrimEnd());
                w.Line($"if (_eval) {{ if ({string.Join(" || ", _g.Symbols.Select(s => $"{S(s)} != _evalPlan_{s}"))}{(Chunked ? " || EvalChunkSize != _evalPlanChunk" : "")}) PlanEval({string.Join(", ", _g.Symbols.Select(S))}); }}");
                w.Line($"else if ({string.Join(" || ", _g.Symbols.Select(s => $"{S(s)} != _trainPlan_{s}"))}) Plan({string.Join(", ", _g.Symbols.Select(S))});");
            }
            else
            {
                w.Line("if (_eval) { if (!_evalPlanned) PlanEval(); }");
                w.Line("else if (_arena0 is null) Plan();");
            }
            // views of inputs (reshape of an input): rebuilt when the input tensor changes
            foreach (var k in _prog.Kernels.OfType<AliasKernel>())
            {
                var o = k.Outputs[0];
                if (o.Storage.Role == ValueRole.Input && o.Storage != _g.OutputGradSeed)
                    w.Line($"if (!ReferenceEquals({_fields[o]}_of, {_fields[o.Storage]})) {{ {_fields[o]} = {_fields[o.Storage]}.View(0, {string.Join(", ", o.Shape.Dims.Select(d => d.IsKnown ? d.Value.ToString(CultureInfo.InvariantCulture) : S(d.Symbol!)))}); {_fields[o]}_of = {_fields[o.Storage]}; }}");
            }
            w.Close();
            w.Line();

            EmitPlan(w, _plan, _prog, _trainFields, "Plan", "_arena", "_trainPlan_",
                "Allocates (or grows) the training arenas for these symbolic dims and points every buffer at its planned offset.");
            if (Chunked) EmitPlanEvalChunked(w);
            else EmitPlan(w, _evalPlan, _evalProg, _evalFields, "PlanEval", "_evalArena", "_evalPlan_",
                "Allocates (or grows) the eval plan's arenas for these symbolic dims and points its buffers at their planned offsets.");
        }

        private void EmitPlan(CodeWriter w, MemoryPlan plan, KernelProgram prog, Dictionary<TValue, string> fields, string method, string arena, string sym, string doc)
        {
            string S(string symbol) => _names.SymbolLocals[symbol];
            w.Line($"/// <summary>{doc}</summary>");
            w.Open($"private void {method}({string.Join(", ", _g.Symbols.Select(s => "int " + S(s)))})");
            foreach (var s in _g.Symbols) w.Line($"{sym}{s} = {S(s)};");
            if (_g.Symbols.Count == 0 && prog.IsEval) w.Line("_evalPlanned = true;");
            foreach (var a in plan.Arenas)
            {
                var mult = a.Symbols.Length == 0 ? "1L" : string.Join(" * ", a.Symbols.Split('*').Select(s => $"(long){S(s)}"));
                var t = a.Type == ElemType.Int ? "int" : "T";
                w.Line($"long size{a.Index} = {a.Units}L * {mult};");
                w.Line($"if ({arena}{a.Index} is null || {arena}{a.Index}.Length < size{a.Index}) {arena}{a.Index} = Device.Allocate<{t}>(checked((int)Math.Max(size{a.Index}, 1)));");
            }
            foreach (var kv in plan.Placements.OrderBy(p => p.Key.Id))
            {
                var v = kv.Key; var p = kv.Value;
                var mult = p.Arena.Symbols.Length == 0 ? "" : " * " + string.Join(" * ", p.Arena.Symbols.Split('*').Select(S));
                w.Line($"{fields[v]} = {arena}{p.Arena.Index}!.View({p.Offset}{mult}, {ShapeArgs(v.Shape)});");
            }
            foreach (var k in prog.Kernels.OfType<AliasKernel>())
            {
                var o = k.Outputs[0];
                if (o.Storage.Role != ValueRole.Input && fields.ContainsKey(o))
                    w.Line($"{fields[o]} = {fields[o.Storage]}.View(0, {ShapeArgs(o.Shape)});");
            }
            w.Close();
            w.Line();
        }

        private void EmitRun(CodeWriter w)
        {
            w.Open("private void RunForward(bool training, bool withLoss)");
            foreach (var k in _prog.Forward)
            {
                if (k is AliasKernel) continue;
                Comment(w, k);
                LineStart(w, k);
                var call = Timed(k, Call(k), "forward");
                if (_outputKernels.Contains(k)) w.Line(call);
                else w.Line($"if (withLoss) {call}");
                EmitFiniteChecks(w, k, "forward", _outputKernels.Contains(k) ? "" : "withLoss && ");
                LineEnd(w);
            }
            if (_g.Loss != null) w.Line($"if (withLoss) _lossValue = K.ReadScalar({Ref(_g.Loss)}); // the loss [1], whatever scalar expression it is");
            w.Close();
            w.Line();
            if (_g.Loss != null || _g.OutputGradSeed != null)
            {
                w.Line("/// <summary>The backward pass; with <paramref name=\"accumulate\"/> it adds into every Parameter.Grad instead of overwriting it.</summary>");
                w.Open("private void RunBackward(bool accumulate)");
                var grads = new DistributedEmit.GradientPlan(_g);
                foreach (var k in _prog.Backward)
                {
                    if (k is AliasKernel) continue;
                    Comment(w, k);
                    LineStart(w, k);
                    EmitBackwardCall(w, k);
                    EmitFiniteChecks(w, k, "backward", "");
                    LineEnd(w);
                    grads.AfterKernel(w, k);
                }
                w.Close();
                w.Line();
                grads.EmitOrder(w, ParamRef);
                EmitAccumulateScratch(w);
            }
            EmitEval(w);
        }

        /// <summary>
        /// The eval-only program: eval-mode Forward runs it in the eval plan's buffers (the kernels read <c>training</c>, false).
        /// </summary>
        private void EmitEval(CodeWriter w)
        {
            _fields = _evalFields;
            w.Line("/// <summary>");
            w.Line("/// Inference: the eval-only program (the forward kernels the outputs need, each batchnorm after a convolution or linear");
            w.Line("/// layer folded into it), in the eval plan's buffers. <paramref name=\"training\"/> is false (the kernel calls read it).");
            w.Line("/// </summary>");
            w.Open("private void RunEval(bool training)");
            bool folds = _evalProg.Kernels.Any(k => k is FoldedKernel);
            _packs.Clear();
            bool packs = _evalProg.Kernels.Any(k => k is FoldedKernel f ? Packable(f.Conv, true) : k is LibraryKernel l && Packable(l, false));
            if (folds)
            {
                w.Line("EnsureFoldScratch();");
                w.Line("long foldVersion = ParameterWriteKey();   // the folded weights are reused until a parameter or buffer write moves it");
                w.Line("bool refold = foldVersion != _foldVersion;");
            }
            if (packs) w.Line(folds ? "long packKey = foldVersion;   // packed weights (PackedWeights) are reused while it stays" : "long packKey = ParameterWriteKey();   // packed weights (PackedWeights) are reused until a parameter or buffer write moves it");
            foreach (var k in _evalProg.Kernels)
            {
                if (k is AliasKernel) continue;
                Comment(w, k);
                LineStart(w, k);
                if (k is FoldedKernel f) EmitFolded(w, f);
                else w.Line(Timed(k, Call(k, pack: k is LibraryKernel lk ? PackArg(lk, folded: false) : ""), "eval"));
                EmitFiniteChecks(w, k, "eval", "");
                LineEnd(w);
            }
            if (folds) w.Line("_foldVersion = foldVersion;");
            w.Close();
            w.Line();
            EmitFoldScratch(w);
            if (Chunked) EmitEvalChunks(w);
            foreach (var (name, layer) in _packs) w.Line($"private readonly PackedWeights<T> {name} = new(); // {Names.Comment(layer)}'s weight, packed for inference");
            if (_packs.Count > 0) w.Line();
            _fields = _trainFields;
        }

        private readonly List<(string Name, string Layer)> _packs = new List<(string, string)>();

        /// <summary>
        /// A kernel whose weight operand can stay packed between eval calls: a linear or convolution layer whose weight is a parameter (or,
        /// folded, the fold scratch recomputed exactly when packKey moves). Anything computed on the device is not.
        /// </summary>
        private static bool Packable(LibraryKernel k, bool folded) =>
            Ops.OpRegistry.Is(k.Node, Ops.OpTraits.PacksWeight) && k.Prologue == null && (folded || k.Node.Inputs[1].Role == ValueRole.Parameter);

        /// <summary>The extra arguments of a packable call (<c>, _packN, packKey</c>) and its slot, else empty.</summary>
        private string PackArg(LibraryKernel k, bool folded)
        {
            if (!Packable(k, folded)) return "";
            string name = _names.Fresh($"_pack{k.Id}");
            _packs.Add((name, k.Node.Layer));
            return $", {name}, packKey";
        }

        /// <summary>Debug mode: `#line` maps the kernel's call (and its checks) to its .net line, so stack traces and a debugger land there.</summary>
        private void LineStart(CodeWriter w, Kernel k)
        {
            if (DebugPath != null) w.LineDirective = $"#line {k.PrimaryLine} \"{DebugPath}\"";
        }

        private void LineEnd(CodeWriter w)
        {
            if (DebugPath == null) return;
            w.LineDirective = null;
            w.Line("#line default");
        }

        private readonly List<(string W, string B, Shape WShape, int K)> _folds = new List<(string, string, Shape, int)>();

        /// <summary>A folded conv/linear + batchnorm (<see cref="FoldedKernel"/>): fold the running statistics into scratch weights, then one GEMM.</summary>
        private void EmitFolded(CodeWriter w, FoldedKernel f)
        {
            var conv = f.Conv;
            var bn = f.BatchNorm;
            var wv = conv.Node.Inputs[1];
            int channels = wv.Shape[0].Value;
            string fw = _names.Fresh($"_fold{f.Id}W"), fb = _names.Fresh($"_fold{f.Id}B");
            _folds.Add((fw, fb, wv.Shape, channels));
            var bi = bn.Node.Inputs.Select((v, i) => i == 0 ? "" : Ref(v)).ToList();   // input 0 (the convolution's output) is never written
            var fold = $"if (refold) K.FoldBatchNorm({Ref(wv)}, {(conv.Node.Inputs.Count > 2 ? Ref(conv.Node.Inputs[2]) : "null")}, {bi[1]}, {bi[2]}, {bi[3]}, {bi[4]}, {Ops.CallContext.T(f.Eps)}, {fw}, {fb});";
            var ins = conv.Node.Inputs.Select(Ref).ToList();
            ins[1] = fw;
            if (ins.Count > 2) ins[2] = fb; else ins.Add(fb);
            var epi = f.Epilogue != null ? $"new {FunctorName(f)}(), new {FunctorName(f)}Gpu()" : "default(Identity<T>), default(Identity<T>)";
            string folded = Outline(Ops.OpRegistry.Call(new Ops.CallContext(this, conv, ins, new[] { Ref(f.Outputs[0]) }, epi) { Pack = PackArg(conv, folded: true) }, conv), conv.Node.Inputs.Take(1).Concat(f.Outputs), fw, fb);
            w.Line($"// batchnorm {Names.Comment(bn.Node.Layer)} folded into {Names.Comment(conv.Node.Layer)}: weights scaled by γ/√(running_var + ε), bias (b − running_mean)·γ/√(running_var + ε) + β");
            if (Profile) { w.Line(Timed(f, fold + "\n" + folded, "eval")); return; }
            w.Line(fold);
            w.Line(folded);
        }

        /// <summary>
        /// The folded weights and biases of eval-mode Forward, one slot per folded layer, kept between calls: RunEval refolds
        /// them only when <c>ParameterWriteKey()</c> moved (a load, an optimizer step, Train/Eval, MarkModified).
        /// </summary>
        private void EmitFoldScratch(CodeWriter w)
        {
            if (_folds.Count == 0) return;
            long total = _folds.Sum(f => f.WShape.Size.Factor + f.K);
            w.Line($"private Tensor<T>? _foldScratch; // folded batchnorm weights and biases for inference ({N(total)} elements, the {_folds.Count} folded layers')");
            w.Line("private long _foldVersion = -1; // ParameterWriteKey() the folded weights were computed at");
            foreach (var f in _folds) w.Line($"private Tensor<T> {f.W} = null!, {f.B} = null!;");
            w.Open("private void EnsureFoldScratch()");
            w.Line("if (_foldScratch is not null) return;");
            w.Line($"_foldScratch = Device.Allocate<T>({total});");
            long offset = 0;
            foreach (var f in _folds)
            {
                w.Line($"{f.W} = _foldScratch.View({offset}, {ShapeArgs(f.WShape)});");
                offset += f.WShape.Size.Factor;
                w.Line($"{f.B} = _foldScratch.View({offset}, {f.K});");
                offset += f.K;
            }
            w.Close();
            w.Line();
        }

        /// <summary>
        /// A backward kernel call. A kernel that writes parameter gradients has two forms: overwrite (TrainStep) and
        /// accumulate (AccumulateGradients, optimizers with their state in the gradients), as <see cref="Kernel.Accumulate"/>
        /// says: its accumulating form (<see cref="Accumulation.InKernel"/>), or a scratch view that is then added into the gradient.
        /// </summary>
        private void EmitBackwardCall(CodeWriter w, Kernel k)
        {
            var grads = k.Outputs.Where(o => o.Storage.Role == ValueRole.ParameterGradient).ToList();
            if (k.Accumulate == Accumulation.None) { w.Line(Timed(k, Call(k), "backward")); return; }
            // a kernel that only computes parameter gradients does not run when all its parameters are frozen (net.Freeze)
            var gradRefs = grads.Count == k.Outputs.Count ? grads.Select(Ref).ToList() : new List<string>();
            if (gradRefs.Count > 0 && gradRefs.All(r => r.EndsWith(".Grad", StringComparison.Ordinal)))
            {
                w.Open($"if (!({string.Join(" && ", gradRefs.Select(r => r.Substring(0, r.Length - ".Grad".Length) + ".Frozen"))}))");
                EmitGradientCall(w, k, grads);
                w.Close();
                return;
            }
            EmitGradientCall(w, k, grads);
        }

        private void EmitGradientCall(CodeWriter w, Kernel k, List<TValue> grads)
        {
            if (k.Accumulate == Accumulation.InKernel)
            {
                var over = Call(k);
                var acc = Call(k, accumulating: true);
                if (Profile) { w.Line(Timed(k, $"if (accumulate) {acc}\nelse {over}", "backward")); return; }
                w.Line($"if (accumulate) {acc}");
                w.Line($"else {over}");
                return;
            }
            // one call whose gradient outputs are scratch views when accumulating, then the scratch added into the gradients
            var adds = new List<string>();
            var scratches = new List<(string Grad, string Scratch)>();
            long offset = 0;
            foreach (var o in grads)
            {
                var (factor, symbols) = o.Shape.Size;
                if (symbols.Length != 0) throw new InvalidOperationException($"parameter gradient {o.Name} has a symbolic shape {o.Shape.ToDisplay()}");
                var field = _names.Fresh($"_acc{k.Id}_{adds.Count}");
                _accViews.Add((field, offset, o.Shape));
                adds.Add($"K.Accumulate({field}, {Ref(o)});");
                scratches.Add((Ref(o), field));
                _refOverride[o] = $"(accumulate ? {field} : {Ref(o)})";
                offset += factor;
            }
            _accScratchSize = Math.Max(_accScratchSize, offset);
            var call = Call(k, inlineOnly: true);
            _refOverride.Clear();
            var then = adds.Count == 1 ? $"if (accumulate) {adds[0]}" : $"if (accumulate) {{ {string.Join(" ", adds)} }}";
            if (Profile || DebugPath != null) { w.Line(Timed(k, call + "\n" + then, "backward")); return; }
            // shared (CallOutliner): one call that takes the scratches and `accumulate`; else the call and the `if (accumulate)` line
            var tensors = k.Inputs.Concat(k.Outputs).Concat(k is LibraryKernel lk ? lk.PrologueInputs : Enumerable.Empty<TValue>());
            w.Line(_outliner.OutlineAccumulating(Call(k, inlineOnly: true), Varying(tensors), scratches, call + "\n" + then));
        }

        /// <summary>The scratch behind accumulating kernels' gradient outputs, allocated on first use (one buffer, views per output).</summary>
        private void EmitAccumulateScratch(CodeWriter w)
        {
            w.Line("private Tensor<T>? _accScratch; // scratch for gradients accumulated through a kernel that overwrites (" + N(_accScratchSize) + " elements)");
            foreach (var (field, _, shape) in _accViews) w.Line($"private Tensor<T> {field} = null!;");
            w.Open("private void EnsureAccumulateScratch()");
            w.Line("if (_accScratch is not null) return;");
            w.Line($"_accScratch = Device.Allocate<T>({Math.Max(1, _accScratchSize)});");
            foreach (var (field, offset, shape) in _accViews) w.Line($"{field} = _accScratch.View({offset}, {ShapeArgs(shape)});");
            w.Close();
            w.Line();
        }

        /// <summary>The call itself, or (profiling) the call between two timestamps reported with the kernel's label and FLOPs.</summary>
        private string Timed(Kernel k, string call, string pass)
        {
            if (!Profile) return call;
            var ops = string.Join(" + ", k.Ops.Select(o => o.IsBackward && k.Recomputes == null ? o.Op : o.Op + " " + o.Layer));
            var label = Names.Literal($"{pass} k{k.Id}: {ops} (line {string.Join(",", k.Lines)})");
            return $"{{ long __prof{k.Id} = System.Diagnostics.Stopwatch.GetTimestamp();\n{call}\nNetDsl.Runtime.KernelProfile.Record({Names.Literal(_g.Name)}, {k.Id}, {label}, {k.Cost.Flops}L{string.Concat(_g.Symbols.Select(x => " * _sym_" + x))}, __prof{k.Id}); }}";
        }

        /// <summary>
        /// `if (CheckFinite) CheckFiniteAfter(n, t0, t1…)` for the float outputs of <paramref name="k"/>: with
        /// NetworkBase.CheckFinite on, the first NaN or infinity stops the step naming this kernel, its .net lines and the tensor.
        /// The names are line n of one table (<see cref="EmitFiniteCheckNames"/>), not two string literals per output: the C#
        /// compiler binds and emits one short call per kernel (build time: docs/architecture.md).
        /// </summary>
        private void EmitFiniteChecks(CodeWriter w, Kernel k, string pass, string condition)
        {
            var refs = new List<string>();
            var names = new List<string>();
            foreach (var o in k.Outputs)
            {
                if (o.Type != ElemType.Float) continue;
                if (!(_fields.ContainsKey(o) || o.Role == ValueRole.ParameterGradient || o.Role == ValueRole.Buffer)) continue;
                names.Add(o.Role == ValueRole.ParameterGradient ? _g.Params.First(x => x.Grad == o).Name + ".grad" : o.Name);
                refs.Add(Ref(o));
            }
            if (refs.Count == 0) return;
            w.Line($"if ({condition}CheckFinite) CheckFiniteAfter({_finiteChecks.Count}, {string.Join(", ", refs)});");
            _finiteChecks.Add(KernelLabel(k, pass) + " -> " + string.Join(", ", names));
        }

        /// <summary>Line n: the kernel and output names of the n-th CheckFiniteAfter call.</summary>
        private readonly List<string> _finiteChecks = new List<string>();

        /// <summary>
        /// The names the CheckFiniteAfter calls report, one verbatim string with a line per call ("backward k140: batchnorm_bwd
        /// (resnet50.net line 6) -> dx, bn.weight.grad"): NetworkBase reads it only to word the error.
        /// </summary>
        private void EmitFiniteCheckNames(CodeWriter w)
        {
            if (_finiteChecks.Count == 0) return;
            w.Line("/// <summary>What each <c>CheckFiniteAfter(n, …)</c> call checks: line n (from 0) is the kernel, \" -> \" and its outputs' names.</summary>");
            w.Line("protected override string FiniteCheckNames => @\"" + string.Join("\n", _finiteChecks.Select(Names.VerbatimLine)) + "\";");
            w.Line();
        }

        /// <summary>A kernel as text for messages: "forward k3: linear fc1 + relu (lenet5.net line 7)".</summary>
        private string KernelLabel(Kernel k, string pass)
        {
            var ops = string.Join(" + ", k.Ops.Select(o => o.IsBackward && k.Recomputes == null ? o.Op : o.Op + " " + o.Layer));
            return $"{pass} k{k.Id}: {ops} ({_file} line {string.Join(",", k.Lines)})";
        }

        private void Comment(CodeWriter w, Kernel k)
        {
            var ops = string.Join(" + ", k.Ops.Select(o => o.IsBackward && k.Recomputes == null ? o.Op : o.Op + " " + o.Layer));
            var lines = string.Join(",", k.Lines);
            var ins = string.Join(", ", k.Inputs.Where(i => i.Role != ValueRole.Parameter && i.Role != ValueRole.Buffer).Select(i => i.Shape.ToDisplay()));
            var outs = string.Join(", ", k.Outputs.Select(o => o.Shape.ToDisplay()));
            w.Line($"// k{k.Id}: {Names.Comment(ops)} ({_fileText} line {lines}): {ins} -> {outs}, per sample {N(k.Cost.Flops)} FLOPs and {N(k.Cost.BytesPerSample)} bytes moved{(k.Cost.FixedBytes == 0 ? "" : $" (+ {N(k.Cost.FixedBytes)} bytes of parameters)")}");
            if (k.Recomputes is { } r)
                w.Line($"// recomputed for backward: {Names.Comment(r.Name)} {r.Shape.ToDisplay()} from {Names.Comment(string.Join(", ", k.Inputs.Where(i => i.Role != ValueRole.Parameter && i.Role != ValueRole.Buffer && !(i.Shape.Size.Symbols.Length == 0)).Select(i => i.Name)))} into a short-lived buffer instead of keeping it alive from the forward pass");
        }

        /// <param name="accumulating">Print the kernel's accumulating form (<see cref="Accumulation.InKernel"/>).</param>
        /// <param name="inlineOnly">The call itself, never a placeholder for <see cref="CallOutliner"/>.</param>
        private string Call(Kernel k, bool accumulating = false, string pack = "", bool inlineOnly = false)
        {
            if (k is ElementwiseKernel e)
            {
                var args = string.Join(", ", e.Inputs.Select(Ref));
                var f = FunctorName(k);
                var map = $"K.Map({args}, {Ref(e.Output)}, new {f}(), new {f}Gpu());";
                return inlineOnly ? map : Outline(map, e.Inputs.Append(e.Output));
            }
            var l = (LibraryKernel)k;
            var n = l.Node;
            // a fused prologue computes input 0 from PrologueInputs: it has no buffer of its own (unless other kernels read it)
            var i = n.Inputs.Select((v, idx) => l.Prologue != null && idx == 0 ? "null" : Ref(v)).ToList();
            var o = l.Outputs.Select(Ref).ToList();
            string epi = l.Epilogue != null || l.Prologue != null ? $"new {FunctorName(k)}(), new {FunctorName(k)}Gpu()" : "default(Identity<T>), default(Identity<T>)";
            var call = Ops.OpRegistry.Call(new Ops.CallContext(this, l, i, o, epi, l.PrologueInputs.Select(Ref).ToList()) { Pack = pack }, l, accumulating);
            return inlineOnly ? call : Outline(call, n.Inputs.Concat(l.Outputs).Concat(l.PrologueInputs));
        }

        /// <summary>The call as a placeholder for <see cref="CallOutliner"/> (its tensors are the varying arguments), except when profiling or in debug mode.</summary>
        private string Outline(string call, IEnumerable<TValue> tensors, params string[] scratch)
        {
            if (Profile || DebugPath != null) return call;
            var varying = Varying(tensors);
            // eval: a packed weight's slot and the key it is valid for (", _packN, packKey")
            var pack = call.IndexOf(", _pack", StringComparison.Ordinal) is int at and >= 0 ? call.Substring(at + 2).Split(',', ')')[0] : null;
            if (pack != null) { varying[pack] = "PackedWeights<T>"; varying["packKey"] = "long"; }
            foreach (var x in scratch) varying[x] = "Tensor<T>";   // folded weights and biases
            return _outliner.Outline(call, varying);
        }

        /// <summary>The arguments a shared call's sites pass (<see cref="CallOutliner"/>): the kernel's tensors and <c>training</c>.</summary>
        private Dictionary<string, string> Varying(IEnumerable<TValue> tensors)
        {
            var varying = new Dictionary<string, string>(StringComparer.Ordinal) { ["training"] = "bool" };
            foreach (var v in tensors)
                if (_refOverride.ContainsKey(v) || _fields.ContainsKey(v) || v.Role is ValueRole.Parameter or ValueRole.ParameterGradient or ValueRole.Buffer)
                    varying[Ref(v)] = $"Tensor<{ElemT(v)}>";
            return varying;
        }

        private static ElemExpr? FunctorExpr(Kernel k) => k is ElementwiseKernel e ? e.Expr : k is FoldedKernel f ? f.Epilogue : (k as LibraryKernel)?.Epilogue ?? (k as LibraryKernel)?.Prologue;
        private static int Arity(Kernel k) => k is ElementwiseKernel e ? e.Inputs.Count : k is LibraryKernel { Prologue: not null } l ? l.PrologueInputs.Count : 1;

        /// <summary>One functor per distinct expression, named after its ops (Relu, ReluBwd, AddRelu…), shared by the kernels that use it.</summary>
        private readonly Dictionary<string, string> _functorNames = new Dictionary<string, string>();

        private string FunctorName(Kernel k)
        {
            var expr = FunctorExpr(k)!;
            var key = Arity(k) + ":" + ElemCode.Describe(expr, new[] { "a", "b", "c" });
            if (_functorNames.TryGetValue(key, out var name)) return name;
            var ops = new List<string>();
            void Walk(ElemExpr e) { if (e is ElemOp o) { foreach (var a in o.Args) Walk(a); ops.Add(o.Op); } }
            Walk(expr);
            // the "Op" suffix keeps functor names apart from layer properties (a layer may be named "add")
            var baseName = string.Concat(ops.Select(op => string.Concat(op.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1))))) + "Op";
            name = _names.FreshPair(baseName, "Gpu");
            _functorNames[key] = name;
            _outliner.AllowFunctor(name, name + "Gpu");
            return name;
        }

        private void EmitFunctors(CodeWriter w)
        {
            w.Line("// ---- fused element-wise functors: the CPU form (scalar, Vector256, Vector512) and the ILGPU form of each, from the same IR");
            foreach (var group in _prog.Kernels.Concat(_evalProg.Kernels).Where(k => FunctorExpr(k) != null).GroupBy(FunctorName))
            {
                var k = group.First();
                var expr = FunctorExpr(k)!;
                int arity = Arity(k);
                var names = new[] { "a", "b", "c" }.Take(arity).ToArray();
                w.Line($"/// <summary>{ElemCode.Describe(expr, names)}: used by {string.Join(", ", group.Select(x => "k" + x.Id))}.</summary>");
                w.Open($"private readonly struct {group.Key} : IMap{arity}<T>");
                Method(w, expr, ElemCode.Flavor.Scalar, "T", names);
                Method(w, expr, ElemCode.Flavor.Vector, "Vector256<T>", names);
                Method(w, expr, ElemCode.Flavor.Vector512, "Vector512<T>", names);
                w.Close();
                w.Line("[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)] // public: ILGPU compiles only public types");
                w.Open($"public readonly struct {group.Key}Gpu : IGpuMap{arity}");
                Method(w, expr, ElemCode.Flavor.Gpu, "float", names);
                w.Close();
                w.Line();
            }
        }

        private static void Method(CodeWriter w, ElemExpr expr, ElemCode.Flavor f, string type, string[] names)
        {
            var stmts = new List<string>();
            var result = ElemCode.Write(expr, f, stmts, names);
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"public {type} Apply({string.Join(", ", names.Select(n => type + " " + n))})");
            foreach (var s in stmts) w.Line(s);
            w.Line($"return {result};");
            w.Close();
        }
    }
}
