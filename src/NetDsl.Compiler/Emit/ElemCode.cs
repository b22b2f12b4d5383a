using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Fusion;

namespace NetDsl.Compiler.Emit
{
    /// <summary>Writes an element-wise expression tree as C#: scalar T, Vector256&lt;T&gt; and Vector512&lt;T&gt; (CPU), and float (ILGPU).</summary>
    internal static class ElemCode
    {
        public enum Flavor { Scalar, Vector, Vector512, Gpu }

        /// <summary>Statements computing <paramref name="e"/> into locals; returns the name of the result.</summary>
        public static string Write(ElemExpr e, Flavor f, List<string> stmts, string[] inputNames)
        {
            if (e is ElemInput i) return inputNames[i.Index];
            var op = (ElemOp)e;
            var args = op.Args.Select(a => Write(a, f, stmts, inputNames)).ToArray();
            var value = Apply(op.Op, f, args, op.Consts, stmts);
            var name = "t" + stmts.Count;
            stmts.Add($"var {name} = {value};");
            return name;
        }

        public static int FlopsPerElement(ElemExpr e) => e is ElemOp o ? Def(o.Op).Flops + o.Args.Sum(FlopsPerElement) : 0;

        public static string Describe(ElemExpr e, string[] names) => e switch
        {
            ElemInput i => names[i.Index],
            ElemOp o => o.Op + (o.Consts == null ? "" : "[" + string.Join(", ", o.Consts.Select(c => c.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]")
                + "(" + string.Join(", ", o.Args.Select(a => Describe(a, names))) + ")",
            _ => "?",
        };

        private static Ops.ElemDef Def(string op) =>
            Ops.OpRegistry.Elementwise.TryGetValue(op, out var d) ? d : throw new InvalidOperationException($"no element-wise definition for {op}");

        /// <summary>The op's expression in flavor <paramref name="f"/> over the argument expressions <paramref name="a"/> (shared subterms become locals in <paramref name="stmts"/>).</summary>
        private static string Apply(string op, Flavor f, string[] a, IReadOnlyList<double>? consts, List<string> stmts) =>
            Ops.PxCode.Write(Def(op).Expr, f, a, consts ?? new double[0], stmts);
    }
}
