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
    /// layers (signature and elaboration, which applies the shape rule), element-wise ops, backward rules, kernel calls and
    /// FLOP counts. Families are found by reflection, so adding one is adding a file; <see cref="OpRegistry"/> indexes them.
    /// The ops of the first slice are still written inline in Elaborator/Differentiator/NetworkEmitter.
    /// </summary>
    internal abstract class OpFamily
    {
        public virtual IEnumerable<LayerDef> Layers => Enumerable.Empty<LayerDef>();
        public virtual IEnumerable<ElemDef> Elementwise => Enumerable.Empty<ElemDef>();
        /// <summary>Appends the backward nodes of forward node <paramref name="n"/>; false if this family does not own the op.</summary>
        public virtual bool Backward(BackwardContext c, OpNode n, TValue? dy) => false;
        /// <summary>The C# statement that runs library kernel <paramref name="k"/> (forward or backward op); null if not owned.</summary>
        public virtual string? Call(CallContext c, LibraryKernel k) => null;
        /// <summary>FLOPs per sample of library kernel <paramref name="k"/>; null if not owned (then a per-element estimate is used).</summary>
        public virtual long? Flops(LibraryKernel k) => null;
    }

    /// <summary>The index of all <see cref="OpFamily"/> types in this assembly.</summary>
    internal static class OpRegistry
    {
        public static IReadOnlyList<OpFamily> Families { get; }
        public static IReadOnlyDictionary<string, LayerDef> Layers { get; }
        public static IReadOnlyDictionary<string, ElemDef> Elementwise { get; }

        static OpRegistry()
        {
            Families = typeof(OpFamily).Assembly.GetTypes()
                .Where(t => !t.IsAbstract && typeof(OpFamily).IsAssignableFrom(t))
                .OrderBy(t => t.FullName, StringComparer.Ordinal)
                .Select(t => (OpFamily)Activator.CreateInstance(t)!)
                .ToList();
            var layers = new Dictionary<string, LayerDef>(StringComparer.Ordinal);
            var elem = new Dictionary<string, ElemDef>(StringComparer.Ordinal);
            foreach (var f in Families)
            {
                foreach (var l in f.Layers)
                {
                    if (layers.ContainsKey(l.Name)) throw new InvalidOperationException($"layer {l.Name} is defined twice");
                    layers[l.Name] = l;
                }
                foreach (var e in f.Elementwise)
                {
                    if (elem.ContainsKey(e.Op)) throw new InvalidOperationException($"element-wise op {e.Op} is defined twice");
                    elem[e.Op] = e;
                }
            }
            Layers = layers;
            Elementwise = elem;
        }

        public static bool Backward(BackwardContext c, OpNode n, TValue? dy) => Families.Any(f => f.Backward(c, n, dy));
        public static string? Call(CallContext c, LibraryKernel k) => Families.Select(f => f.Call(c, k)).FirstOrDefault(s => s != null);
        public static long? Flops(LibraryKernel k) => Families.Select(f => f.Flops(k)).FirstOrDefault(s => s != null);

        /// <summary>The constants of an element-wise node, in the order its <see cref="ElemDef.Attrs"/> names them.</summary>
        public static IReadOnlyList<double>? Consts(OpNode n) =>
            Elementwise.TryGetValue(n.Op, out var d) && d.Attrs.Count > 0 ? d.Attrs.Select(a => Convert.ToDouble(n.Attrs[a], System.Globalization.CultureInfo.InvariantCulture)).ToList() : null;
    }
}
