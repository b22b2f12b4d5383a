using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Semantics
{
    /// <summary>
    /// One call of a registered layer (<see cref="Ops.LayerDef"/>) while elaborating: its bound arguments and the
    /// operations an elaboration rule needs (report at the call site, name the instance, add nodes and parameters).
    /// The pattern of a rule: read arguments, apply the op's shape rule and <see cref="Fail"/> on error, take
    /// <see cref="Name"/>, return <see cref="Error"/> if a shape is unknown (an earlier mistake), build the node and
    /// <see cref="Emit"/> it.
    /// </summary>
    internal sealed class LayerCall
    {
        private readonly Elaborator _e;
        private readonly Dictionary<string, Elaborator.ArgValue> _args;
        private readonly Func<string> _name;
        public string Layer { get; }
        public SourceSpan Span { get; }
        public NetGraph Graph { get; }

        internal LayerCall(Elaborator e, string layer, SourceSpan span, Dictionary<string, Elaborator.ArgValue> args, Func<string> name, NetGraph g)
        { _e = e; Layer = layer; Span = span; _args = args; _name = name; Graph = g; }

        public bool Has(string arg) => _args.ContainsKey(arg);
        public SourceSpan ArgSpan(string arg) => _args.TryGetValue(arg, out var a) ? a.Span : Span;
        /// <summary>The raw value of an argument (for <c>any</c> arguments such as a shape list), or null when absent.</summary>
        public CValue? Value(string arg) => _args.TryGetValue(arg, out var v) ? v.Value : null;
        public TValue X(string arg) => ((TensorValue)_args[arg].Value).Value;
        public IReadOnlyList<TValue> Xs(string arg) => ((ListValue)_args[arg].Value).Items.Cast<TensorValue>().Select(t => t.Value).ToList();
        public int Int(string arg, int dflt = 0) => _args.TryGetValue(arg, out var v) ? (int)((IntValue)v.Value).Value : dflt;
        public double Float(string arg, double dflt = 0) => _args.TryGetValue(arg, out var v) ? ((FloatValue)v.Value).Value : dflt;
        public bool Bool(string arg, bool dflt = false) => _args.TryGetValue(arg, out var v) ? ((BoolValue)v.Value).Value : dflt;
        public string Str(string arg, string dflt = "") => _args.TryGetValue(arg, out var v) ? ((StringValue)v.Value).Value : dflt;
        /// <summary>An <c>ints</c> argument as <paramref name="n"/> values: `3` → [3, 3], `(3, 5)` or `[3, 5]` → [3, 5]; null with a diagnostic if the count is wrong.</summary>
        public int[]? Ints(string arg, int n, int dflt = 0)
        {
            if (!_args.TryGetValue(arg, out var v)) return Enumerable.Repeat(dflt, n).ToArray();
            if (v.Value is IntValue i) return Enumerable.Repeat((int)i.Value, n).ToArray();
            var items = v.Value is TupleValue t ? t.Items : ((ListValue)v.Value).Items;
            if (items.Count != n) { Error(DiagnosticIds.InvalidGeometry, v.Span, $"{Layer} argument '{arg}' needs 1 or {n} ints, got {items.Count}"); return null; }
            return items.Select(x => (int)((IntValue)x).Value).ToArray();
        }

        /// <summary>A <c>floats</c> argument (`[1.0, 2, 0.5]`) as doubles; null when not given.</summary>
        public double[]? Floats(string arg)
        {
            if (!_args.TryGetValue(arg, out var v)) return null;
            var items = v.Value is TupleValue t ? t.Items : ((ListValue)v.Value).Items;
            return items.Select(x => x is IntValue i ? i.Value : ((FloatValue)x).Value).ToArray();
        }
        /// <summary>The graph's parameters so far (file order), for ops over earlier layers' weights (penalties).</summary>
        public IReadOnlyList<ParamDecl> ParamsSoFar => Graph.Params;
        /// <summary>An <c>ints</c> argument with as many values as given (`1` → [1], `(1, 2, 0, 1)` → 4 values); [dflt] if absent.</summary>
        public int[] IntsAny(string arg, int dflt = 0)
        {
            if (!_args.TryGetValue(arg, out var v)) return new[] { dflt };
            if (v.Value is IntValue i) return new[] { (int)i.Value };
            var items = v.Value is TupleValue t ? t.Items : ((ListValue)v.Value).Items;
            return items.Select(x => (int)((IntValue)x).Value).ToArray();
        }

        /// <summary>The instance name: `name:` if given, else prefix + counter in the current scope (conv1, layer1.0.conv2).</summary>
        public string Name() => _name();

        /// <summary>Reports the error of a failed shape rule at the call; true if it failed.</summary>
        public bool Fail(ShapeResult r) { if (!r.IsError) return false; _e.Report(r.ErrorId!, Span, r.Error!); return true; }
        public void Error(string id, string message) => _e.Report(id, Span, message);
        public void Error(string id, SourceSpan span, string message) => _e.Report(id, span, message);
        /// <summary>The value of a failed call (later rules accept it silently: one mistake, one diagnostic).</summary>
        public CValue Error() => ErrorValue.Instance;

        /// <summary>A learned parameter `layer.field` (file order is creation order).</summary>
        public TValue Param(string layer, string field, Shape shape, InitKind init, int fanIn, int fanOut) => _e.NewParam(layer, field, shape, init, fanIn, fanOut);
        /// <summary>A buffer `layer.field` (non-learned persistent state such as running statistics), filled with <paramref name="initial"/>.</summary>
        public TValue Buffer(string layer, string field, Shape shape, double initial)
        {
            var b = new BufferDecl(layer, field, shape, initial);
            var v = Graph.NewValue(b.Name, shape, ElemType.Float, ValueRole.Buffer);
            v.Buffer = b;
            b.Value = v;
            Graph.Buffers.Add(b);
            return v;
        }
        /// <summary>An extra output of <paramref name="node"/> (argmax indices, masks, saved statistics), after <see cref="Emit"/>.</summary>
        public TValue Output(OpNode node, string name, Shape shape, ElemType type = ElemType.Float) => _e.NewOutput(node, name, shape, type);
        /// <summary>Adds <paramref name="node"/> with its main output of <paramref name="shape"/> and a summary row (MACs per sample).</summary>
        public CValue Emit(OpNode node, Shape shape, long macs = 0) => _e.EmitNode(node, shape, macs);
        public OpNode Node(string op, string name) => new OpNode(op, name, Span);

        /// <summary>
        /// The common case: an op of one tensor input with a shape rule, no parameters. Returns the output tensor.
        /// </summary>
        public CValue Simple(string op, TValue x, ShapeResult r, Action<OpNode>? attrs = null, long macs = 0)
        {
            if (Fail(r)) return Error();
            var name = Name();
            if (r.Shape.IsUnknown) return Error();
            var node = Node(op, name);
            attrs?.Invoke(node);
            node.Inputs.Add(x);
            return Emit(node, r.Shape, macs);
        }
    }
}
