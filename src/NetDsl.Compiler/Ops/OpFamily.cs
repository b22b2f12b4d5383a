using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Emit;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Autodiff;

namespace NetDsl.Compiler.Ops
{
    /// <summary>A layer or compile-time function of the language: its signature, the prefix of its auto names and its elaboration rule.</summary>
    internal sealed class LayerDef
    {
        public string Name { get; }
        public IReadOnlyList<ArgSpec> Specs { get; }
        /// <summary>Prefix of auto-generated instance names (`conv` → conv1, conv2…).</summary>
        public string Prefix { get; }
        public Func<LayerCall, CValue> Elaborate { get; }
        public LayerDef(string name, IReadOnlyList<ArgSpec> specs, Func<LayerCall, CValue> elaborate, string? prefix = null)
        { Name = name; Specs = specs; Elaborate = elaborate; Prefix = prefix ?? name; }
    }

    /// <summary>
    /// An element-wise op the fuser can put in a loop (and, when <see cref="Epilogue"/>, into a GEMM's output write), defined
    /// once as an expression over primitives (<see cref="Px"/>): the scalar, Vector256/512 and ILGPU code (<see cref="PxCode"/>),
    /// <see cref="Flops"/> and <see cref="Arity"/> are derived from <see cref="Expr"/>. <see cref="Attrs"/> name node attributes
    /// baked into the functor as constants (<see cref="P.K"/>). A gradient op (<see cref="GradientOf"/>) is dy·f′ as an op of
    /// (dy, x), differentiated from the forward expression, or given explicitly (PyTorch's value at a kink, or written in terms
    /// of the output y, <see cref="ReadsOutput"/>).
    /// </summary>
    internal sealed class ElemDef
    {
        public string Op { get; }
        public int Arity { get; private set; }
        public IReadOnlyList<string> Attrs { get; }
        public int Flops { get; }
        public bool Epilogue { get; }
        public Px Expr { get; }
        /// <summary>For a gradient op: the forward op whose derivative it is; null otherwise.</summary>
        public string? GradientOf { get; private set; }
        /// <summary>For a gradient op: whether its second argument is the forward output y (else the input x).</summary>
        public bool ReadsOutput { get; private set; }
        /// <summary>For a gradient op: true when <see cref="Expr"/> was derived by differentiating the forward expression.</summary>
        public bool Derived { get; private set; }

        public ElemDef(string op, Px expr, bool epilogue = false, params string[] attrs)
        { Op = op; Expr = expr; Arity = Math.Max(1, PxMath.Arity(expr)); Flops = PxMath.Flops(expr); Epilogue = epilogue; Attrs = attrs; }

        /// <summary>
        /// The gradient op <paramref name="op"/>(dy, x) of unary <paramref name="forward"/>: <paramref name="expr"/> over
        /// (dy = <c>P.A(0)</c>, x or y = <c>P.A(1)</c>), or, when null, dy·f′(x) by symbolic differentiation.
        /// </summary>
        public static ElemDef Gradient(string op, ElemDef forward, Px? expr = null, bool readsOutput = false)
        {
            if (expr == null && readsOutput) throw new ArgumentException($"{op}: a derived gradient reads x");
            var attrs = forward.Attrs.ToArray();
            return new ElemDef(op, expr ?? PxMath.GradientFromX(forward.Expr), false, attrs)
            { GradientOf = forward.Op, ReadsOutput = readsOutput, Derived = expr == null, Arity = 2 };
        }
    }

    /// <summary>
    /// One family of operators (conv, normalization, activations…) with everything the compiler needs to know about it:
    /// layers (signature and elaboration, which applies the shape rule), the graph ops it owns (<see cref="Ops"/>: typed
    /// attributes, named operands, traits), element-wise code, and the rules of its ops that their <see cref="OpDef"/>s do
    /// not carry themselves (backward, kernel call, FLOPs). Families are found by reflection, so adding one is adding a
    /// file; <see cref="OpRegistry"/> indexes them and asks only an op's owner.
    /// </summary>
    internal abstract class OpFamily
    {
        public virtual IEnumerable<LayerDef> Layers => Enumerable.Empty<LayerDef>();
        /// <summary>The graph ops this family owns, forward and backward; an op is owned by exactly one family.</summary>
        public virtual IEnumerable<OpDef> Ops => Enumerable.Empty<OpDef>();
        public virtual IEnumerable<ElemDef> Elementwise => Enumerable.Empty<ElemDef>();
        /// <summary>Appends the backward nodes of forward node <paramref name="n"/> (an op this family owns); false if it has no rule.</summary>
        public virtual bool Backward(BackwardContext c, OpNode n, TValue? dy) => false;
        /// <summary>The C# statement that runs library kernel <paramref name="k"/> (an op this family owns); null if it has none.</summary>
        public virtual string? Call(CallContext c, LibraryKernel k) => null;
        /// <summary>FLOPs per sample of library kernel <paramref name="k"/>; null for the per-element estimate.</summary>
        public virtual long? Flops(LibraryKernel k) => null;
    }

    /// <summary>
    /// The index of all <see cref="OpFamily"/> types in this assembly: layers by name, graph ops by name (each with its
    /// one owner), element-wise code by op. Built once; a layer, op or element-wise op defined twice is rejected then.
    /// </summary>
    internal static class OpRegistry
    {
        public static IReadOnlyList<OpFamily> Families { get; }
        public static IReadOnlyDictionary<string, LayerDef> Layers { get; }
        public static IReadOnlyDictionary<string, OpDef> Defs { get; }
        public static IReadOnlyDictionary<string, ElemDef> Elementwise { get; }

        static OpRegistry()
        {
            Families = typeof(OpFamily).Assembly.GetTypes()
                .Where(t => !t.IsAbstract && typeof(OpFamily).IsAssignableFrom(t))
                .OrderBy(t => t.FullName, StringComparer.Ordinal)
                .Select(t => (OpFamily)Activator.CreateInstance(t)!)
                .ToList();
            (Layers, Defs, Elementwise) = Build(Families);
        }

        /// <summary>Indexes <paramref name="families"/>; throws naming both owners when a layer, op or element-wise op is defined twice.</summary>
        internal static (IReadOnlyDictionary<string, LayerDef>, IReadOnlyDictionary<string, OpDef>, IReadOnlyDictionary<string, ElemDef>) Build(IEnumerable<OpFamily> families)
        {
            var layers = new Dictionary<string, LayerDef>(StringComparer.Ordinal);
            var layerOwner = new Dictionary<string, OpFamily>(StringComparer.Ordinal);
            var defs = new Dictionary<string, OpDef>(StringComparer.Ordinal);
            var elem = new Dictionary<string, ElemDef>(StringComparer.Ordinal);
            var elemOwner = new Dictionary<string, OpFamily>(StringComparer.Ordinal);
            string Owner(OpFamily f) => f.GetType().Name;
            foreach (var f in families)
            {
                foreach (var l in f.Layers)
                {
                    if (layerOwner.TryGetValue(l.Name, out var o)) throw new InvalidOperationException($"layer {l.Name} is defined twice: by {Owner(o)} and by {Owner(f)}");
                    layers[l.Name] = l; layerOwner[l.Name] = f;
                }
                foreach (var d in f.Ops)
                {
                    if (defs.TryGetValue(d.Name, out var o)) throw new InvalidOperationException($"op {d.Name} is defined twice: by {Owner(o.Owner)} and by {Owner(f)}");
                    d.Owner = f;
                    defs[d.Name] = d;
                }
                foreach (var e in f.Elementwise)
                {
                    if (elemOwner.TryGetValue(e.Op, out var o)) throw new InvalidOperationException($"element-wise op {e.Op} is defined twice: by {Owner(o)} and by {Owner(f)}");
                    elem[e.Op] = e; elemOwner[e.Op] = f;
                }
            }
            // an element-wise op's definition is its ElemDef: the op gets its OpDef from it (operands a, b, c; its constants
            // as ElemAttrs), owned by the family that wrote the code; an explicit OpDef must agree that it is element-wise
            foreach (var kv in elem)
            {
                var e = kv.Value;
                if (defs.TryGetValue(e.Op, out var d))
                {
                    if (!d.Has(OpTraits.Elementwise)) throw new InvalidOperationException($"element-wise op {e.Op} has an op definition without the Elementwise trait");
                    continue;
                }
                var operands = string.Join(", ", new[] { "a", "b", "c" }.Take(e.Arity));
                var traits = OpTraits.Elementwise | (e.Epilogue && e.Arity == 1 ? OpTraits.Epilogue : OpTraits.None);
                defs[e.Op] = new OpDef(e.Op, e.Attrs.Count > 0 ? typeof(ElemAttrs) : typeof(NoAttrs), operands, traits)
                    { InBothPasses = true, Owner = elemOwner[e.Op], Shape = OpDef.SameShape };
            }
            foreach (var d in defs.Values)
                if (d.Has(OpTraits.Elementwise) && !elem.ContainsKey(d.Name))
                    throw new InvalidOperationException($"op {d.Name} has the Elementwise trait but no element-wise expression (ElemDef)");
            return (layers, defs, elem);
        }

        /// <summary>The definition of <paramref name="op"/>; an internal error if no family defines it.</summary>
        public static OpDef Def(string op) =>
            Defs.TryGetValue(op, out var d) ? d : throw new InvalidOperationException($"op {op} is not defined by any op family");
        public static bool Is(OpNode n, OpTraits t) => Defs.TryGetValue(n.Op, out var d) && d.Has(t);

        /// <summary>Appends the backward nodes of <paramref name="n"/>: its definition's rule, else its owner's.</summary>
        public static void Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            var d = Def(n.Op);
            if (d.Backward != null) { d.Backward(c, n, dy); return; }
            if (!d.Owner.Backward(c, n, dy)) throw new InvalidOperationException($"op {n.Op} ({d.Owner.GetType().Name}) has no backward rule");
        }
        /// <summary>The kernel call of <paramref name="k"/>: its op's rule, else its owner's; <paramref name="accumulating"/>: its accumulating form.</summary>
        public static string Call(CallContext c, LibraryKernel k, bool accumulating = false)
        {
            var d = Def(k.Node.Op);
            if (accumulating)
                return d.AccumulatingCall?.Invoke(c, k) ?? throw new InvalidOperationException($"op {k.Node.Op} has no accumulating kernel call");
            return d.Call?.Invoke(c, k) ?? d.Owner.Call(c, k) ?? throw new InvalidOperationException($"op {k.Node.Op} ({d.Owner.GetType().Name}) has no kernel call");
        }
        public static long? Flops(LibraryKernel k)
        {
            var d = Def(k.Node.Op);
            return d.Flops != null ? d.Flops(k) : d.Owner.Flops(k);
        }

        /// <summary>The constants of an element-wise node (<see cref="ElemAttrs"/>, in the order its <see cref="ElemDef.Attrs"/> names them), or null.</summary>
        public static IReadOnlyList<double>? Consts(OpNode n) => n.Attrs is ElemAttrs e && e.Consts.Count > 0 ? e.Consts : null;
    }
}
