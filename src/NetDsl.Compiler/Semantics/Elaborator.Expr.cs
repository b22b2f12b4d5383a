using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Semantics
{
    internal sealed partial class Elaborator
    {
        /// <summary>An evaluated argument with where it came from.</summary>
        internal readonly struct ArgValue
        {
            public readonly string? Name;
            public readonly CValue Value;
            public readonly SourceSpan Span;
            public ArgValue(string? name, CValue value, SourceSpan span) { Name = name; Value = value; Span = span; }
        }

        private CValue Eval(Expr e, Env env)
        {
            switch (e)
            {
                case IntLit i: return new IntValue(i.Value);
                case FloatLit f: return new FloatValue(f.Value);
                case BoolLit b: return new BoolValue(b.Value);
                case StringLit s: return new StringValue(s.Value);
                case Name n:
                    if (env.Vars.TryGetValue(n.Id, out var v)) return v;
                    // a symbolic dim of the network's inputs (N, T) is a value inside blocks too: reshape(x, [N, C, -1])
                    if (!env.IsNetwork && _g.Symbols.Contains(n.Id)) return new SymbolValue(n.Id);
                    if (LayerCatalog.IsBuiltin(n.Id) || _blocks.ContainsKey(n.Id))
                    {
                        _bag.Error(DiagnosticIds.TypeMismatch, n.Span, $"'{n.Id}' is a layer: apply it to a tensor with `x |> {n.Id}` or `{n.Id}(x)`");
                        return ErrorValue.Instance;
                    }
                    _bag.Error(DiagnosticIds.UnknownName, n.Span, $"unknown name '{n.Id}'{Suggest(n.Id, env.Vars.Keys)}");
                    return ErrorValue.Instance;
                case Call c:
                    return Apply(c.Callee, c.CalleeSpan, c.Span, c.Args.Select(a => new ArgValue(a.Name, Eval(a.Value, env), a.Value.Span)).ToList(), env);
                case Pipe p: return EvalPipe(p, env);
                case Unary u:
                {
                    var x = Eval(u.Operand, env);
                    if (x is ErrorValue) return x;
                    if (u.Op == "-" && x is IntValue i)
                    {
                        if (i.Value == long.MinValue) { _bag.Error(DiagnosticIds.SizeOverflow, u.Span, $"integer overflow: -({i.Value}) does not fit in 64 bits"); return ErrorValue.Instance; }
                        return new IntValue(-i.Value);
                    }
                    if (u.Op == "-" && x is FloatValue f) return new FloatValue(-f.Value);
                    if (u.Op == "!" && x is BoolValue b) return new BoolValue(!b.Value);
                    _bag.Error(DiagnosticIds.TypeMismatch, u.Span, $"operator {u.Op} does not apply to {x.TypeName}");
                    return ErrorValue.Instance;
                }
                case Binary b: return EvalBinary(b, env);
                case IfExpr i:
                {
                    var c = Eval(i.Condition, env);
                    if (c is ErrorValue) return c;
                    if (!(c is BoolValue bv)) { _bag.Error(DiagnosticIds.TypeMismatch, i.Condition.Span, $"if needs a compile-time bool, got {c.TypeName}"); return ErrorValue.Instance; }
                    return Eval(bv.Value ? i.Then : i.Else, env);
                }
                case TupleExpr t: return new TupleValue(t.Items.Select(x => Eval(x, env)).ToList());
                case ListExpr l: return new ListValue(l.Items.Select(x => Eval(x, env)).ToList());
                default:
                    _bag.Error(DiagnosticIds.InvalidStatement, e.Span, $"unsupported expression {e.GetType().Name}");
                    return ErrorValue.Instance;
            }
        }

        /// <summary>
        /// `x |> a |> b |> …`: the parser builds a left-deep tree as long as the chain, so it is walked with a loop, not by
        /// recursion (a chain of thousands of steps must not overflow the stack).
        /// </summary>
        /// <summary>The largest integer argument of a layer (it must fit the int the shape rules compute with).</summary>
        private const long MaxIntArg = int.MaxValue;

        private CValue EvalPipe(Pipe p, Env env)
        {
            var spine = new List<Pipe>();
            Expr e = p;
            while (e is Pipe q) { spine.Add(q); e = q.Input; }
            var cur = Eval(e, env);
            for (int k = spine.Count - 1; k >= 0; k--) cur = PipeStep(spine[k], cur, env);
            return cur;
        }

        private CValue PipeStep(Pipe p, CValue input, Env env)
        {
            var args = new List<ArgValue> { new ArgValue(null, input, p.Input.Span) };
            switch (p.Target)
            {
                case Name n: return Apply(n.Id, n.Span, p.Span, args, env);
                case Call c:
                    args.AddRange(c.Args.Select(a => new ArgValue(a.Name, Eval(a.Value, env), a.Value.Span)));
                    return Apply(c.Callee, c.CalleeSpan, p.Span, args, env);
                default:
                    _bag.Error(DiagnosticIds.InvalidStatement, p.Target.Span, "the right side of |> must be a layer or block, like `relu` or `conv(64, 3)`");
                    return ErrorValue.Instance;
            }
        }

        /// <summary>`a + b + c + …` (left-deep, as long as the expression): a loop over the left spine, like <see cref="EvalPipe"/>.</summary>
        private CValue EvalBinary(Binary b, Env env)
        {
            var spine = new List<Binary>();
            Expr e = b;
            while (e is Binary q) { spine.Add(q); e = q.Left; }
            var acc = Eval(e, env);
            for (int k = spine.Count - 1; k >= 0; k--) acc = BinaryStep(spine[k], acc, env);
            return acc;
        }

        private CValue BinaryStep(Binary b, CValue left, Env env)
        {
            if (b.Op == "&&" || b.Op == "||")
            {
                var l = left;
                if (l is ErrorValue) return l;
                if (!(l is BoolValue lb)) { _bag.Error(DiagnosticIds.TypeMismatch, b.Left.Span, $"{b.Op} needs bools, got {l.TypeName}"); return ErrorValue.Instance; }
                if (b.Op == "&&" && !lb.Value) return new BoolValue(false);
                if (b.Op == "||" && lb.Value) return new BoolValue(true);
                var r = Eval(b.Right, env);
                if (r is ErrorValue) return r;
                if (!(r is BoolValue rb)) { _bag.Error(DiagnosticIds.TypeMismatch, b.Right.Span, $"{b.Op} needs bools, got {r.TypeName}"); return ErrorValue.Instance; }
                return rb;
            }
            var a = left;
            var c = Eval(b.Right, env);
            if (a is ErrorValue || c is ErrorValue) return ErrorValue.Instance;
            if (a is TensorValue || c is TensorValue)
            {
                // tensor arithmetic (broadcasting, scalars) is the tensor-op family's: Ops/TensorOps.cs
                var op = b.Op switch { "+" => "add", "-" => "sub", "*" => "mul", "/" => "div", _ => null };
                if (op != null)
                    return Ops.TensorOps.Binary(new LayerCall(this, op, b.Span, new Dictionary<string, ArgValue>(), () => env.Names.Next(op), _g), op, a, c);
                _bag.Error(DiagnosticIds.TypeMismatch, b.Span, $"operator {b.Op} does not apply to tensors (+, -, * and / by a number do), got {a.TypeName} {b.Op} {c.TypeName}");
                return ErrorValue.Instance;
            }
            if (a is IntValue ia && c is IntValue ic)
            {
                try
                {
                    switch (b.Op)
                    {
                        case "+": return new IntValue(checked(ia.Value + ic.Value));
                        case "-": return new IntValue(checked(ia.Value - ic.Value));
                        case "*": return new IntValue(checked(ia.Value * ic.Value));
                        case "/":
                        case "%":
                            if (ic.Value == 0) { _bag.Error(DiagnosticIds.TypeMismatch, b.Right.Span, "division by zero"); return ErrorValue.Instance; }
                            if (ic.Value == -1 && ia.Value == long.MinValue) throw new OverflowException();
                            return new IntValue(b.Op == "/" ? ia.Value / ic.Value : ia.Value % ic.Value);
                    }
                }
                catch (OverflowException)
                {
                    _bag.Error(DiagnosticIds.SizeOverflow, b.Span, $"integer overflow: {ia.Value} {b.Op} {ic.Value} does not fit in 64 bits");
                    return ErrorValue.Instance;
                }
                switch (b.Op)
                {
                    case "==": return new BoolValue(ia.Value == ic.Value);
                    case "!=": return new BoolValue(ia.Value != ic.Value);
                    case "<": return new BoolValue(ia.Value < ic.Value);
                    case "<=": return new BoolValue(ia.Value <= ic.Value);
                    case ">": return new BoolValue(ia.Value > ic.Value);
                    case ">=": return new BoolValue(ia.Value >= ic.Value);
                }
            }
            if ((a is IntValue || a is FloatValue) && (c is IntValue || c is FloatValue))
            {
                double x = a is IntValue i1 ? i1.Value : ((FloatValue)a).Value;
                double y = c is IntValue i2 ? i2.Value : ((FloatValue)c).Value;
                switch (b.Op)
                {
                    case "+": return new FloatValue(x + y);
                    case "-": return new FloatValue(x - y);
                    case "*": return new FloatValue(x * y);
                    case "/": return new FloatValue(x / y);
                    case "==": return new BoolValue(x == y);
                    case "!=": return new BoolValue(x != y);
                    case "<": return new BoolValue(x < y);
                    case "<=": return new BoolValue(x <= y);
                    case ">": return new BoolValue(x > y);
                    case ">=": return new BoolValue(x >= y);
                }
            }
            if (a is BoolValue ba && c is BoolValue bc && (b.Op == "==" || b.Op == "!="))
                return new BoolValue((ba.Value == bc.Value) == (b.Op == "=="));
            _bag.Error(DiagnosticIds.TypeMismatch, b.Span, $"operator {b.Op} does not apply to {a.TypeName} and {c.TypeName}");
            return ErrorValue.Instance;
        }

        /// <summary>Calls a block, a built-in layer or a compile-time function.</summary>
        private CValue Apply(string callee, SourceSpan calleeSpan, SourceSpan callSpan, List<ArgValue> args, Env env)
        {
            if (args.Any(a => a.Value is ErrorValue)) return ErrorValue.Instance;
            if (_blocks.TryGetValue(callee, out var block)) return CallBlock(block, calleeSpan, args, env);
            if (LayerCatalog.IsBuiltin(callee)) return CallLayer(callee, calleeSpan, args, env);
            var known = LayerCatalog.Names.Concat(_blocks.Keys);
            _bag.Error(DiagnosticIds.UnknownLayer, calleeSpan, $"unknown layer or block '{callee}'{Suggest(callee, known)}");
            return ErrorValue.Instance;
        }

        private static string LiteralText(Expr e) => e switch
        {
            IntLit i => i.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            FloatLit f => f.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            BoolLit b => b.Value ? "true" : "false",
            StringLit s => "\"" + s.Value + "\"",
            Name n => n.Id,
            Unary { Op: "-", Operand: var o } => "-" + LiteralText(o),
            _ => "…",
        };

        private static string Suggest(string name, IEnumerable<string> candidates)
        {
            string? best = null; int bestD = int.MaxValue;
            foreach (var c in candidates)
            {
                int d = Levenshtein(name.ToLowerInvariant(), c.ToLowerInvariant());
                if (d < bestD) { bestD = d; best = c; }
            }
            return best != null && bestD <= Math.Max(1, name.Length / 3) ? $" (did you mean '{best}'?)" : "";
        }

        private static int Levenshtein(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (int j = 0; j <= b.Length; j++) d[0, j] = j;
            for (int i = 1; i <= a.Length; i++)
                for (int j = 1; j <= b.Length; j++)
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            return d[a.Length, b.Length];
        }

        /// <summary>
        /// Binds arguments to a signature: positional tensors fill tensor slots in order, other positional
        /// values fill the remaining slots in order; named arguments fill by name. `name:` is taken aside.
        /// </summary>
        private Dictionary<string, ArgValue>? Bind(string callee, SourceSpan span, IReadOnlyList<ArgSpec> specs, List<ArgValue> args, out string? explicitName)
        {
            explicitName = null;
            var bound = new Dictionary<string, ArgValue>(StringComparer.Ordinal);
            var tensorSlots = new Queue<ArgSpec>(specs.Where(s => s.Type == ArgType.Tensor || s.Type == ArgType.Tensors));
            var valueSlots = new Queue<ArgSpec>(specs.Where(s => s.Type != ArgType.Tensor && s.Type != ArgType.Tensors));
            var variadic = specs.FirstOrDefault(s => s.Type == ArgType.Tensors);
            var rest = new List<ArgValue>();
            bool ok = true;
            foreach (var a in args.Where(a => a.Name == null))
            {
                if (a.Value is TensorValue)
                {
                    if (variadic != null) { rest.Add(a); continue; }
                    if (tensorSlots.Count == 0) { _bag.Error(DiagnosticIds.TooManyArguments, a.Span, $"{callee} takes {specs.Count(s => s.Type == ArgType.Tensor)} tensor argument(s); this one is extra ({Signature(callee, specs)})"); ok = false; continue; }
                    var s = tensorSlots.Dequeue();
                    bound[s.Name] = a;
                }
                else
                {
                    while (valueSlots.Count > 0 && bound.ContainsKey(valueSlots.Peek().Name)) valueSlots.Dequeue();
                    if (valueSlots.Count == 0) { _bag.Error(DiagnosticIds.TooManyArguments, a.Span, $"too many arguments to {callee}: {Signature(callee, specs)}"); ok = false; continue; }
                    bound[valueSlots.Dequeue().Name] = a;
                }
            }
            if (variadic != null) bound[variadic.Name] = new ArgValue(null, new ListValue(rest.Select(r => r.Value).ToList()), span);
            foreach (var a in args.Where(a => a.Name != null))
            {
                if (a.Name == "name")
                {
                    if (a.Value is StringValue sv)
                    {
                        if (Names.CheckLayerName(sv.Value) is { } problem)
                        {
                            _bag.Error(DiagnosticIds.InvalidName, a.Span, $"name: {problem} (names are ASCII letters, digits and '_' in parts joined by '.', such as \"layer1.0\"; see docs/language.md#names)");
                            ok = false;
                        }
                        else explicitName = sv.Value;
                    }
                    else { _bag.Error(DiagnosticIds.TypeMismatch, a.Span, $"name: needs a string such as \"layer1.0\", got {a.Value.TypeName}"); ok = false; }
                    continue;
                }
                var spec = specs.FirstOrDefault(s => s.Name == a.Name);
                if (spec == null) { _bag.Error(DiagnosticIds.UnknownArgument, a.Span, $"{callee} has no argument '{a.Name}'{Suggest(a.Name!, specs.Select(s => s.Name))}: {Signature(callee, specs)}"); ok = false; continue; }
                if (bound.ContainsKey(spec.Name)) { _bag.Error(DiagnosticIds.TooManyArguments, a.Span, $"argument '{a.Name}' of {callee} is given twice"); ok = false; continue; }
                bound[spec.Name] = a;
            }
            foreach (var s in specs)
            {
                if (bound.TryGetValue(s.Name, out var a))
                {
                    var conv = Coerce(callee, s, a);
                    if (conv == null) ok = false; else bound[s.Name] = conv.Value;
                }
                else if (s.Required)
                {
                    _bag.Error(DiagnosticIds.MissingArgument, span, $"{callee} is missing argument '{s.Name}': {Signature(callee, specs)}");
                    ok = false;
                }
            }
            return ok ? bound : null;
        }

        private ArgValue? Coerce(string callee, ArgSpec s, ArgValue a)
        {
            var v = a.Value;
            switch (s.Type)
            {
                case ArgType.Int when v is IntValue big && (big.Value > MaxIntArg || big.Value < -MaxIntArg):
                case ArgType.Ints when v is IntValue big2 && (big2.Value > MaxIntArg || big2.Value < -MaxIntArg):
                    _bag.Error(DiagnosticIds.SizeOverflow, a.Span, $"argument '{s.Name}' of {callee} is {((IntValue)v).Value}; integer arguments are at most {MaxIntArg:N0} in size (docs/language.md#limits)");
                    return null;
                case ArgType.Ints when (v is TupleValue bt && bt.Items.Any(x => x is IntValue xi && (xi.Value > MaxIntArg || xi.Value < -MaxIntArg)))
                                    || (v is ListValue bl && bl.Items.Any(x => x is IntValue xi2 && (xi2.Value > MaxIntArg || xi2.Value < -MaxIntArg))):
                    _bag.Error(DiagnosticIds.SizeOverflow, a.Span, $"argument '{s.Name}' of {callee} has a value beyond {MaxIntArg:N0}; integer arguments are at most that in size (docs/language.md#limits)");
                    return null;
                case ArgType.Tensor when v is TensorValue:
                case ArgType.Tensors:
                case ArgType.Int when v is IntValue:
                case ArgType.Bool when v is BoolValue:
                case ArgType.Float when v is FloatValue:
                case ArgType.Any:
                    return a;
                case ArgType.Float when v is IntValue i:
                    return new ArgValue(a.Name, new FloatValue(i.Value), a.Span);
                case ArgType.Ints when v is IntValue:
                case ArgType.String when v is StringValue:
                    return a;
                case ArgType.Ints when (v is TupleValue t && t.Items.All(x => x is IntValue)) || (v is ListValue l && l.Items.All(x => x is IntValue)):
                    return a;
                case ArgType.Floats when (v is TupleValue ft && ft.Items.All(x => x is IntValue || x is FloatValue)) || (v is ListValue fl && fl.Items.All(x => x is IntValue || x is FloatValue)):
                    return a;
            }
            _bag.Error(DiagnosticIds.TypeMismatch, a.Span, $"argument '{s.Name}' of {callee} must be {s.Type.ToString().ToLowerInvariant()}, got {v.TypeName} {(v is TensorValue ? "" : v.ToString())}".TrimEnd());
            return null;
        }

        private static string Signature(string callee, IReadOnlyList<ArgSpec> specs) =>
            callee + "(" + string.Join(", ", specs.Select(s => s.Name + ": " + s.Type.ToString().ToLowerInvariant() + (s.Required ? "" : s.DefaultText != null ? " = " + s.DefaultText : "?"))) + ")";

        private CValue CallBlock(BlockDecl block, SourceSpan calleeSpan, List<ArgValue> args, Env caller)
        {
            if (_depth >= MaxDepth) { _bag.Error(DiagnosticIds.UnrollLimit, calleeSpan, $"blocks nest deeper than {MaxDepth} calls (does '{block.Name}' call itself?)"); return ErrorValue.Instance; }
            var specs = block.Inputs.Select(i => new ArgSpec(i.Name, ArgType.Tensor, true))
                .Concat(block.Params.Select(p => new ArgSpec(p.Name, p.Type == "int" ? ArgType.Int : p.Type == "float" ? ArgType.Float : ArgType.Bool, p.Default == null, DefaultText: p.Default == null ? null : LiteralText(p.Default))))
                .ToList();
            var bound = Bind(block.Name, calleeSpan, specs, args, out var explicitName);
            if (bound == null) return ErrorValue.Instance;
            var prefix = explicitName != null ? caller.Names.Claim(explicitName) ?? caller.Names.Next(block.Name.ToLowerInvariant()) : caller.Names.Next(block.Name.ToLowerInvariant());
            var env = new Env(new NameScope(prefix + "."), isNetwork: false);
            foreach (var p in block.Params)
            {
                if (bound.TryGetValue(p.Name, out var a)) env.Vars[p.Name] = a.Value;
                else env.Vars[p.Name] = CheckParamType(p, Eval(p.Default!, env), p.Default!.Span);
            }
            foreach (var i in block.Inputs)
            {
                var t = (TensorValue)bound[i.Name].Value;
                env.Vars[i.Name] = t;
                if (i.Shape != null)
                {
                    var expected = EvalShape(i.Shape, env, bindUnknownAsSymbols: false, actual: t.Value.Shape);
                    if (!expected.IsUnknown && !t.Value.Shape.IsUnknown && !expected.Equals(t.Value.Shape))
                        _bag.Error(DiagnosticIds.ShapeMismatch, calleeSpan, $"block {block.Name} expects {i.Name}: {expected.ToDisplay()}, got {t.Value.Shape.ToDisplay()}");
                }
            }
            _depth++;
            try
            {
                if (Exec(block.Body, env, out var ret) && ret != null) return ret;
                _bag.Error(DiagnosticIds.MissingReturn, block.Span, $"block {block.Name} ends without `return`");
                return ErrorValue.Instance;
            }
            finally { _depth--; }
        }
    }
}
