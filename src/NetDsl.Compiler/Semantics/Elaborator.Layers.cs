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
        /// <summary>A layer call; integer overflow in its shape arithmetic, or a tensor beyond the size limit, is an error at the call.</summary>
        private CValue CallLayer(string layer, SourceSpan span, List<ArgValue> args, Env env)
        {
            try { return CallLayerCore(layer, span, args, env); }
            catch (OverflowException)
            {
                _bag.Error(DiagnosticIds.SizeOverflow, span, $"{layer}: integer overflow computing its shapes (its arguments or input dims are too large; a tensor holds at most {MaxElements:N0} elements per sample)");
                return ErrorValue.Instance;
            }
            catch (SizeLimitException ex)
            {
                _bag.Error(DiagnosticIds.SizeOverflow, span, $"{layer}: {ex.Message}");
                return ErrorValue.Instance;
            }
        }

        /// <summary>The most elements a tensor may hold per sample (the runtime's tensors are indexed by int).</summary>
        internal const long MaxElements = int.MaxValue;

        private sealed class SizeLimitException : Exception { public SizeLimitException(string m) : base(m) { } }

        private static void CheckSize(string what, Shape shape)
        {
            if (shape.IsUnknown) return;
            long f = 1;
            foreach (var d in shape.Dims)
                if (d.IsKnown)
                {
                    if (d.Value < 0) throw new SizeLimitException($"{what} would have a negative dim: {shape.ToDisplay()}");
                    f = checked(f * d.Value);
                    if (f > MaxElements) throw new SizeLimitException($"{what} {shape.ToDisplay()} has more than {MaxElements:N0} elements{(shape.Dims.Any(x => !x.IsKnown) ? " per sample" : "")}, the most a tensor holds");
                }
        }

        private CValue CallLayerCore(string layer, SourceSpan span, List<ArgValue> args, Env env)
        {
            var specs = LayerCatalog.Specs[layer];
            var a = Bind(layer, span, specs, args, out var explicitName);
            if (a == null) return ErrorValue.Instance;
            if (Ops.OpRegistry.Layers.TryGetValue(layer, out var def))
            {
                string Named() => explicitName != null ? env.Names.Claim(explicitName) ?? env.Names.Next(def.Prefix) : env.Names.Next(def.Prefix);
                return def.Elaborate(new LayerCall(this, layer, span, a, Named, _g));
            }
            TValue X(string n) => ((TensorValue)a[n].Value).Value;
            int Int(string n, int dflt) => a.TryGetValue(n, out var v) ? (int)((IntValue)v.Value).Value : dflt;
            double Flt(string n, double dflt) => a.TryGetValue(n, out var v) ? ((FloatValue)v.Value).Value : dflt;
            bool Bool(string n, bool dflt) => a.TryGetValue(n, out var v) ? ((BoolValue)v.Value).Value : dflt;
            string Name() => explicitName != null ? env.Names.Claim(explicitName) ?? env.Names.Next(LayerCatalog.NamePrefix(layer)) : env.Names.Next(LayerCatalog.NamePrefix(layer));

            switch (layer)
            {
                case "channels":
                {
                    var s = X("x").Shape;
                    if (s.IsUnknown) return ErrorValue.Instance;
                    if (s.Rank < 2 || !s[1].IsKnown) { _bag.Error(DiagnosticIds.RankMismatch, span, $"channels(x) needs x with a known dim 1, got {s.ToDisplay()}"); return ErrorValue.Instance; }
                    return new IntValue(s[1].Value);
                }
                case "dim":
                {
                    var s = X("x").Shape; int axis = Int("axis", 0);
                    if (s.IsUnknown) return ErrorValue.Instance;
                    if (axis < 0 || axis >= s.Rank) { _bag.Error(DiagnosticIds.RankMismatch, span, $"dim(x, {axis}) is out of range for {s.ToDisplay()}"); return ErrorValue.Instance; }
                    return s[axis].IsKnown ? (CValue)new IntValue(s[axis].Value) : new SymbolValue(s[axis].Symbol!);
                }
                case "linear":
                {
                    var x = X("x"); int outF = Int("out", 0); bool bias = Bool("bias", true);
                    var r = ShapeRules.Linear(x.Shape, outF);
                    if (Fail(r, span)) return ErrorValue.Instance;
                    var name = Name();
                    if (r.Shape.IsUnknown) return ErrorValue.Instance;
                    int inF = x.Shape[x.Shape.Rank - 1].Value;
                    var node = new OpNode("linear", name, span);
                    node.Inputs.Add(x);
                    node.Inputs.Add(NewParam(name, "weight", Shape.Of(outF, inF), InitKind.He, inF, outF));
                    if (bias) node.Inputs.Add(NewParam(name, "bias", Shape.Of(outF), InitKind.Zeros, inF, outF));
                    return Emit(node, r.Shape, r.Shape.Size.Factor * inF);
                }
                case "relu":
                case "sigmoid":
                case "tanh":
                    return Simple(layer, ShapeResult.Ok(X("x").Shape), X("x"), span, Name);
                case "dropout":
                {
                    var x = X("x"); double p = Flt("p", 0.5);
                    if (p < 0 || p >= 1) { _bag.Error(DiagnosticIds.InvalidGeometry, a["p"].Span, $"dropout p is the drop probability and must be in [0, 1), got {p}"); return ErrorValue.Instance; }
                    var name = Name();
                    if (x.Shape.IsUnknown) return ErrorValue.Instance;
                    var node = new OpNode("dropout", name, span);
                    node.Attrs = new DropoutAttrs(p);
                    node.Inputs.Add(x);
                    var result = Emit(node, x.Shape, 0);
                    node.Outputs.Add(NewOutput(node, name + ".mask", x.Shape, ElemType.Float));
                    return result;
                }
            }
            _bag.Error(DiagnosticIds.InternalError, span, $"layer {layer} has no elaboration rule");
            return ErrorValue.Instance;
        }

        private CValue Simple(string op, ShapeResult r, TValue x, SourceSpan span, Func<string> name)
        {
            if (Fail(r, span)) return ErrorValue.Instance;
            var n = name();
            if (r.Shape.IsUnknown) return ErrorValue.Instance;
            var node = new OpNode(op, n, span);
            node.Inputs.Add(x);
            return Emit(node, r.Shape, 0);
        }

        internal void Report(string id, SourceSpan span, string message) => _bag.Error(id, span, message);

        private bool Fail(ShapeResult r, SourceSpan span)
        {
            if (!r.IsError) return false;
            _bag.Error(r.ErrorId!, span, r.Error!);
            return true;
        }

        internal TValue NewParam(string layer, string field, Shape shape, InitKind init, int fanIn, int fanOut)
        {
            CheckSize($"parameter {layer}.{field}", shape);
            var p = new ParamDecl(layer, field, shape, init, fanIn, fanOut);
            var v = _g.NewValue(p.Name, shape, ElemType.Float, ValueRole.Parameter);
            v.Param = p;
            p.Value = v;
            _g.Params.Add(p);
            return v;
        }

        internal TValue NewOutput(OpNode node, string name, Shape shape, ElemType type)
        {
            CheckSize($"{name}", shape);
            var v = _g.NewValue(name, shape, type);
            v.Producer = node;
            return v;
        }

        internal CValue EmitNode(OpNode node, Shape outShape, long macs) => Emit(node, outShape, macs);

        private CValue Emit(OpNode node, Shape outShape, long macs)
        {
            CheckSize($"the output of {node.Layer}", outShape);
            var y = _g.NewValue(node.Layer, outShape);
            node.Outputs.Add(y);
            _g.AddNode(node);
            long parameters = node.Inputs.Where(i => i.Role == ValueRole.Parameter).Sum(i => i.Shape.KnownElements);
            _g.Layers.Add(new LayerInfo(node.Layer, node.Op, outShape, parameters, macs, node.Span.Line));
            return new TensorValue(y);
        }
    }
}
