using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Semantics
{
    /// <summary>
    /// Resolve and unroll: runs a network's statements at compile time (blocks inlined, loops unrolled,
    /// compile-time ifs decided), inferring and checking every shape, and records the tensor operations
    /// as a <see cref="NetGraph"/>. Errors are reported and elaboration goes on with an error value, so
    /// one build reports every independent mistake.
    /// </summary>
    internal sealed partial class Elaborator
    {
        /// <summary>The most graph operations one network may unroll to (docs/language.md#limits).</summary>
        internal const int MaxNodes = 200_000;
        /// <summary>The largest `repeat` count.</summary>
        internal const long MaxRepeat = 100_000;
        /// <summary>The most loop iterations (repeat and for, nested ones counted each time) in one network.</summary>
        internal const long MaxIterations = 1_000_000;
        private long _iterations;
        private const int MaxDepth = 64;

        private readonly DiagnosticBag _bag;
        private readonly Dictionary<string, BlockDecl> _blocks;
        private NetGraph _g = null!;
        private int _depth;
        private bool _limitReported;
        private bool _sawOutput;

        public Elaborator(DiagnosticBag bag, IReadOnlyList<Decl> decls)
        {
            _bag = bag;
            _blocks = new Dictionary<string, BlockDecl>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var d in decls)
            {
                if (!seen.Add(d.Name))
                {
                    _bag.Error(DiagnosticIds.DuplicateDeclaration, d.Span, $"'{d.Name}' is declared twice");
                    continue;
                }
                if (d is BlockDecl b)
                {
                    if (LayerCatalog.IsBuiltin(b.Name))
                        _bag.Error(DiagnosticIds.DuplicateDeclaration, b.Span, $"block '{b.Name}' hides the built-in layer of the same name; rename it");
                    _blocks[b.Name] = b;
                }
            }
        }

        /// <summary>Scope for naming layers: a prefix (`layer1.0.`) and a counter per layer kind.</summary>
        private sealed class NameScope
        {
            public string Prefix { get; }
            private readonly Dictionary<string, int> _counters = new Dictionary<string, int>(StringComparer.Ordinal);
            private readonly HashSet<string> _used = new HashSet<string>(StringComparer.Ordinal);
            public NameScope(string prefix) { Prefix = prefix; }
            public string Next(string kind)
            {
                while (true)
                {
                    _counters.TryGetValue(kind, out var n);
                    _counters[kind] = ++n;
                    var name = kind + n;
                    if (_used.Add(name)) return Prefix + name;
                }
            }
            public string? Claim(string explicitName) => _used.Add(explicitName) ? Prefix + explicitName : null;
        }

        private sealed class Env
        {
            public readonly Dictionary<string, CValue> Vars = new Dictionary<string, CValue>(StringComparer.Ordinal);
            public readonly NameScope Names;
            public readonly bool IsNetwork;
            public Env(NameScope names, bool isNetwork) { Names = names; IsNetwork = isNetwork; }
        }

        public NetGraph Elaborate(NetworkDecl net)
        {
            _g = new NetGraph(net.Name, net.Span);
            _iterations = 0; _limitReported = false;
            _sawOutput = false;
            var env = new Env(new NameScope(""), isNetwork: true);
            foreach (var p in net.Params)
            {
                if (p.Default == null)
                {
                    _bag.Error(DiagnosticIds.MissingArgument, p.Span, $"network parameter '{p.Name}' needs a default value (the generated class is compiled for it)");
                    env.Vars[p.Name] = ErrorValue.Instance;
                    continue;
                }
                env.Vars[p.Name] = CheckParamType(p, Eval(p.Default, env), p.Default.Span);
            }
            Exec(net.Body, env, out _);
            if (_g.GradOutput != null && _g.Loss != null)
                _bag.Error(DiagnosticIds.InvalidLoss, net.Span, $"network '{net.Name}' has a loss and an output marked `grad`: a network with a loss is differentiated from its loss (TrainStep); `output y grad` is for networks without one (Backward(dY))");
            if (_g.Outputs.Count == 0 && !_sawOutput)
                _bag.Error(DiagnosticIds.NoOutput, net.Span, $"network '{net.Name}' declares no output (add `output name = ...`)");
            WarnUnusedBindings();
            return _g;
        }

        /// <summary>Tensor bindings (`h = ...`) of the network and its blocks, for <see cref="WarnUnusedBindings"/>.</summary>
        private readonly List<(string Name, SourceSpan Span, TValue Value)> _bindings = new List<(string, SourceSpan, TValue)>();

        /// <summary>
        /// NDSL0217: a binding whose value no output and not the loss depends on. Its layers would add
        /// parameters and compute that nothing uses (and parameters that never get a gradient). One warning per binding
        /// in the source, however many times a block or loop evaluated it.
        /// </summary>
        private void WarnUnusedBindings()
        {
            if (_bag.HasErrors || _bindings.Count == 0) { _bindings.Clear(); return; }
            var live = new HashSet<TValue>();
            var stack = new Stack<TValue>(_g.Outputs.Select(o => o.Value));
            if (_g.Loss != null) stack.Push(_g.Loss);
            while (stack.Count > 0)
            {
                var v = stack.Pop();
                if (!live.Add(v)) continue;
                if (v.AliasOf != null) stack.Push(v.AliasOf);
                if (v.Producer != null) foreach (var i in v.Producer.Inputs) stack.Push(i);
            }
            // a binding evaluated many times (a block, a loop) is used if any of its evaluations is
            var usedSpans = new HashSet<SourceSpan>(_bindings.Where(b => live.Contains(b.Value)).Select(b => b.Span));
            var warned = new HashSet<SourceSpan>();
            long? deadParameters = null;
            foreach (var (name, span, value) in _bindings)
            {
                if (live.Contains(value) || value.Role != ValueRole.Activation || value.Producer == null || usedSpans.Contains(span)) continue;
                if (!warned.Add(span)) continue;
                deadParameters ??= _g.ForwardNodes.Where(n => !n.Outputs.Any(live.Contains)).SelectMany(n => n.Inputs)
                    .Where(i => i.Role == ValueRole.Parameter).Distinct().Sum(i => i.Shape.KnownElements);
                _bag.Warning(DiagnosticIds.UnusedBinding, span,
                    $"'{name}' is not used by any output or the loss: its layers are computed for nothing"
                    + (deadParameters > 0 && warned.Count == 1 ? $" (the network has {deadParameters:N0} parameters no output depends on)" : "")
                    + "; remove it or use it");
            }
            _bindings.Clear();
        }

        // ------------------------------------------------------------------ statements
        private bool Exec(IReadOnlyList<Stmt> body, Env env, out CValue? returned)
        {
            returned = null;
            foreach (var s in body)
            {
                if (ExecOne(s, env, out returned)) return true;
            }
            return false;
        }

        private bool ExecOne(Stmt s, Env env, out CValue? returned)
        {
            returned = null;
            switch (s)
            {
                case AssignStmt a:
                {
                    var v = Eval(a.Value, env);
                    if (a.Assert != null && v is TensorValue tv) CheckAssert(a.Assert, tv.Value.Shape, env, a.Name, a.Assert.Span);
                    env.Vars[a.Name] = v;
                    if (v is TensorValue bound) _bindings.Add((a.Name, a.Span, bound.Value));
                    return false;
                }
                case DestructureStmt d:
                {
                    var v = Eval(d.Value, env);
                    if (v is TupleValue t && t.Items.Count == d.Names.Count)
                        for (int k = 0; k < t.Items.Count; k++)
                        {
                            env.Vars[d.Names[k]] = t.Items[k];
                            if (t.Items[k] is TensorValue bound && d.Names[k] != "_") _bindings.Add((d.Names[k], d.Span, bound.Value));
                        }
                    else
                    {
                        if (!(v is ErrorValue)) _bag.Error(DiagnosticIds.TypeMismatch, d.Value.Span, $"{string.Join(", ", d.Names)} = … needs a tuple of {d.Names.Count} items, got {v.TypeName}{(v is TupleValue tt ? " of " + tt.Items.Count : "")}");
                        foreach (var n in d.Names) env.Vars[n] = ErrorValue.Instance;
                    }
                    return false;
                }
                case InputStmt i:
                {
                    if (!env.IsNetwork) { _bag.Error(DiagnosticIds.InvalidStatement, i.Span, "`input` is only allowed in a network; blocks take tensors as parameters"); return false; }
                    var shape = EvalShape(i.Shape, env, bindUnknownAsSymbols: true);
                    var type = i.ElementType == "int" ? ElemType.Int : ElemType.Float;
                    if (_g.Inputs.Any(x => x.Name == i.Name)) _bag.Error(DiagnosticIds.DuplicateDeclaration, i.Span, $"input '{i.Name}' is declared twice");
                    var v = _g.NewValue(i.Name, shape, type, ValueRole.Input);
                    _g.Inputs.Add((i.Name, v));
                    if (i.Grad)
                    {
                        if (type == ElemType.Int) _bag.Error(DiagnosticIds.TypeMismatch, i.Span, $"input '{i.Name}' is int{shape.ToDisplay()}: only float inputs can have a gradient (`grad`)");
                        else _g.GradInputs.Add(v);
                    }
                    env.Vars[i.Name] = new TensorValue(v);
                    return false;
                }
                case OutputStmt o:
                {
                    if (!env.IsNetwork) { _bag.Error(DiagnosticIds.InvalidStatement, o.Span, "`output` is only allowed in a network; use `return` in a block"); return false; }
                    _sawOutput = true;
                    var v = Eval(o.Value, env);
                    if (v is TensorValue tv)
                    {
                        if (_g.Outputs.Any(x => x.Name == o.Name)) _bag.Error(DiagnosticIds.DuplicateDeclaration, o.Span, $"output '{o.Name}' is declared twice");
                        _g.Outputs.Add((o.Name, tv.Value));
                        if (o.Grad)
                        {
                            if (_g.GradOutput != null) _bag.Error(DiagnosticIds.DuplicateDeclaration, o.Span, $"output '{o.Name}' is the second output marked `grad`: one output of a network can be differentiated from outside");
                            else if (tv.Value.Type != ElemType.Float) _bag.Error(DiagnosticIds.TypeMismatch, o.Span, $"output '{o.Name}' is an int tensor: only float outputs can take a gradient (`grad`)");
                            else _g.GradOutput = tv.Value;
                        }
                    }
                    else if (!(v is ErrorValue)) _bag.Error(DiagnosticIds.TypeMismatch, o.Value.Span, $"output '{o.Name}' must be a tensor, got {v.TypeName}");
                    env.Vars[o.Name] = v;
                    return false;
                }
                case LossStmt l:
                {
                    if (!env.IsNetwork) { _bag.Error(DiagnosticIds.InvalidStatement, l.Span, "`loss` is only allowed in a network"); return false; }
                    var v = Eval(l.Value, env);
                    if (v is TensorValue tv)
                    {
                        if (_g.Loss != null) _bag.Error(DiagnosticIds.DuplicateDeclaration, l.Span, "the loss is declared twice");
                        else if (tv.Value.Producer == null || tv.Value.Shape.IsUnknown || !tv.Value.Shape.Equals(Shape.Of(1)))
                            _bag.Error(DiagnosticIds.InvalidLoss, l.Value.Span, $"loss must be a loss function such as cross_entropy(logits, labels), or a scalar [1] expression of losses and penalties, got {tv.Value.Producer?.Op ?? "an input"} of shape {tv.Value.Shape.ToDisplay()}");
                        else _g.Loss = tv.Value;
                    }
                    else if (!(v is ErrorValue)) _bag.Error(DiagnosticIds.TypeMismatch, l.Value.Span, $"loss must be a tensor, got {v.TypeName}");
                    return false;
                }
                case RepeatStmt r:
                {
                    var c = Eval(r.Count, env);
                    if (c is ErrorValue) return false;
                    if (!(c is IntValue n)) { _bag.Error(DiagnosticIds.TypeMismatch, r.Count.Span, $"repeat needs an int count, got {c.TypeName}"); return false; }
                    if (n.Value < 0) { _bag.Error(DiagnosticIds.TypeMismatch, r.Count.Span, $"repeat count must be >= 0, got {n.Value}"); return false; }
                    if (n.Value > MaxRepeat) { _bag.Error(DiagnosticIds.ResourceLimit, r.Count.Span, $"repeat count {n.Value} is above the limit of {MaxRepeat:N0} (docs/language.md#limits)"); return false; }
                    for (long k = 0; k < n.Value && !LimitHit(r.Span); k++)
                        if (Exec(r.Body, env, out returned)) return true;
                    return false;
                }
                case ForStmt f:
                {
                    var src = Eval(f.Source, env);
                    if (src is ErrorValue) return false;
                    IReadOnlyList<CValue> items = src is ListValue lv ? lv.Items : src is TupleValue tv ? tv.Items : null!;
                    if (items == null) { _bag.Error(DiagnosticIds.TypeMismatch, f.Source.Span, $"for needs a list, got {src.TypeName}"); return false; }
                    foreach (var item in items)
                    {
                        if (LimitHit(f.Span)) return false;
                        if (f.Variables.Count == 1) env.Vars[f.Variables[0]] = item;
                        else
                        {
                            if (!(item is TupleValue t) || t.Items.Count != f.Variables.Count)
                            {
                                _bag.Error(DiagnosticIds.TypeMismatch, f.Source.Span, $"for ({string.Join(", ", f.Variables)}) needs tuples of {f.Variables.Count} items, got {item}");
                                return false;
                            }
                            for (int k = 0; k < t.Items.Count; k++) env.Vars[f.Variables[k]] = t.Items[k];
                        }
                        if (Exec(f.Body, env, out returned)) return true;
                    }
                    return false;
                }
                case IfStmt i:
                {
                    var c = Eval(i.Condition, env);
                    if (c is ErrorValue) return false;
                    if (!(c is BoolValue b)) { _bag.Error(DiagnosticIds.TypeMismatch, i.Condition.Span, $"if needs a compile-time bool, got {c.TypeName}"); return false; }
                    if (b.Value) return Exec(i.Then, env, out returned);
                    if (i.Else != null) return Exec(i.Else, env, out returned);
                    return false;
                }
                case ReturnStmt ret:
                {
                    if (env.IsNetwork) { _bag.Error(DiagnosticIds.InvalidStatement, ret.Span, "`return` is only allowed in a block; a network declares `output`"); return false; }
                    returned = Eval(ret.Value, env);
                    return true;
                }
                default:
                    _bag.Error(DiagnosticIds.InvalidStatement, s.Span, $"unsupported statement {s.GetType().Name}");
                    return false;
            }
        }

        private bool LimitHit(SourceSpan span)
        {
            if (_g.Nodes.Count <= MaxNodes && ++_iterations <= MaxIterations) return false;
            if (!_limitReported)
                _bag.Error(DiagnosticIds.UnrollLimit, span, _g.Nodes.Count > MaxNodes
                    ? $"unrolling produced more than {MaxNodes:N0} operations; is a loop count wrong? (docs/language.md#limits)"
                    : $"loops ran more than {MaxIterations:N0} iterations in all; is a loop count wrong? (docs/language.md#limits)");
            _limitReported = true;
            return true;
        }

        private void CheckAssert(ShapeExpr assert, Shape actual, Env env, string name, SourceSpan span)
        {
            if (actual.IsUnknown) return;
            var expected = EvalShape(assert, env, bindUnknownAsSymbols: false, actual: actual);
            if (expected.IsUnknown) return;
            if (!expected.Equals(actual))
                _bag.Error(DiagnosticIds.ShapeAssertionFailed, span, $"'{name}' is asserted to have shape {expected.ToDisplay()} but has {actual.ToDisplay()}");
        }

        /// <summary>
        /// Evaluates a shape literal. Names bound to ints give known dims; other names are symbols
        /// (inputs) or, with <paramref name="actual"/>, pattern variables bound to the actual dims.
        /// </summary>
        private Shape EvalShape(ShapeExpr s, Env env, bool bindUnknownAsSymbols, Shape? actual = null)
        {
            var dims = new List<Dim>();
            bool ok = true;
            for (int k = 0; k < s.Dims.Count; k++)
            {
                var e = s.Dims[k];
                // `T <= 512` in an input's shape: a symbolic dim with an upper bound, checked when the network runs
                if (bindUnknownAsSymbols && e is Binary { Op: "<=", Left: Name bn } bound
                    && (!env.Vars.TryGetValue(bn.Id, out var bv) || (bv is SymbolValue bsv && bsv.Symbol == bn.Id)))
                {
                    var limit = Eval(bound.Right, env);
                    if (!(limit is IntValue li) || li.Value <= 0 || li.Value > int.MaxValue)
                    {
                        if (!(limit is ErrorValue)) _bag.Error(DiagnosticIds.TypeMismatch, bound.Right.Span, $"the bound of symbolic dim {bn.Id} must be a positive int, got {limit}");
                        ok = false;
                        continue;
                    }
                    if (_g.SymbolBounds.TryGetValue(bn.Id, out var earlier) && earlier != li.Value)
                        _bag.Error(DiagnosticIds.ShapeMismatch, bound.Span, $"symbolic dim {bn.Id} is bounded twice: {earlier} and {li.Value}");
                    _g.SymbolBounds[bn.Id] = (int)li.Value;
                    e = bn;
                }
                if (e is Name n && !env.Vars.ContainsKey(n.Id))
                {
                    if (actual != null && !actual.IsUnknown && k < actual.Rank)
                    {
                        var d = actual[k];
                        env.Vars[n.Id] = d.IsKnown ? (CValue)new IntValue(d.Value) : new SymbolValue(d.Symbol!);
                        dims.Add(d);
                    }
                    else
                    {
                        if (!_g.Symbols.Contains(n.Id)) _g.Symbols.Add(n.Id);
                        // an input's symbol (N) is a value from here on, so shapes can name it: reshape(x, [N, 4, -1])
                        if (bindUnknownAsSymbols) env.Vars[n.Id] = new SymbolValue(n.Id);
                        dims.Add(Dim.Sym(n.Id));
                    }
                    continue;
                }
                var v = Eval(e, env);
                if (v is IntValue iv && iv.Value > 0 && iv.Value <= int.MaxValue) dims.Add(Dim.Of((int)iv.Value));
                else if (v is SymbolValue sv) dims.Add(Dim.Sym(sv.Symbol));
                else
                {
                    if (!(v is ErrorValue)) _bag.Error(DiagnosticIds.TypeMismatch, e.Span, $"a shape dim must be a positive int or a symbol, got {v}");
                    ok = false;
                }
            }
            return ok ? Shape.Of(dims.ToArray()) : Shape.Unknown;
        }

        private CValue CheckParamType(Param p, CValue v, SourceSpan span)
        {
            if (v is ErrorValue) return v;
            switch (p.Type)
            {
                case "int" when v is IntValue: return v;
                case "float" when v is FloatValue: return v;
                case "float" when v is IntValue i: return new FloatValue(i.Value);
                case "bool" when v is BoolValue: return v;
            }
            _bag.Error(DiagnosticIds.TypeMismatch, span, $"parameter '{p.Name}' is {p.Type}, got {v.TypeName} {v}");
            return ErrorValue.Instance;
        }
    }

    /// <summary>A symbolic dim bound by a shape pattern (e.g. D in `x: [N, T, D]` when D is not known).</summary>
    internal sealed class SymbolValue : CValue
    {
        public string Symbol { get; }
        public SymbolValue(string s) { Symbol = s; }
        public override string TypeName => "symbolic dim";
        public override string ToString() => Symbol;
    }
}
