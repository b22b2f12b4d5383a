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
    /// An element-wise op the fuser can put in a loop (and, when <see cref="Epilogue"/>, into a GEMM's output write).
    /// <see cref="Attrs"/> name node attributes baked into the functor as constants. <see cref="Code"/> writes one
    /// expression per flavor: Scalar (T), Vector (Vector256&lt;T&gt;; Vector512 is derived by renaming), Gpu (float).
    /// </summary>
    internal sealed class ElemDef
    {
        public string Op { get; }
        public int Arity { get; }
        public IReadOnlyList<string> Attrs { get; }
        public int Flops { get; }
        public bool Epilogue { get; }
        public Func<ElemCodeArgs, string> Code { get; }
        public ElemDef(string op, int arity, Func<ElemCodeArgs, string> code, int flops = 1, bool epilogue = false, params string[] attrs)
        { Op = op; Arity = arity; Code = code; Flops = flops; Epilogue = epilogue; Attrs = attrs; }
    }

    /// <summary>What an element-wise code writer gets: the flavor, the argument expressions and the constants as literals of that flavor.</summary>
    internal sealed class ElemCodeArgs
    {
        public ElemCode.Flavor Flavor { get; }
        public IReadOnlyList<string> A { get; }
        public IReadOnlyList<double> Consts { get; }
        public ElemCodeArgs(ElemCode.Flavor f, IReadOnlyList<string> a, IReadOnlyList<double> consts) { Flavor = f; A = a; Consts = consts; }
        public string this[int i] => A[i];
        public bool Scalar => Flavor == ElemCode.Flavor.Scalar;
        public bool Vector => Flavor == ElemCode.Flavor.Vector || Flavor == ElemCode.Flavor.Vector512;
        public bool Gpu => Flavor == ElemCode.Flavor.Gpu;
        /// <summary>Constant <paramref name="i"/> as a literal of this flavor (T, Vector256&lt;T&gt; or float).</summary>
        public string K(int i) => Lit(Consts[i]);
        /// <summary>A literal of this flavor: T.CreateChecked(v), Vector256.Create(T.CreateChecked(v)) or v f.</summary>
        public string Lit(double v)
        {
            var s = v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            if (s.IndexOf('E') < 0 && s.IndexOf('.') < 0) s += ".0";
            return Flavor switch
            {
                ElemCode.Flavor.Gpu => s + "f",
                ElemCode.Flavor.Scalar => $"T.CreateChecked({s})",
                _ => $"Vector256.Create(T.CreateChecked({s}))",
            };
        }
        public string Zero => Gpu ? "0f" : Scalar ? "T.Zero" : "Vector256<T>.Zero";
        public string One => Gpu ? "1f" : Scalar ? "T.One" : "Vector256<T>.One";
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
