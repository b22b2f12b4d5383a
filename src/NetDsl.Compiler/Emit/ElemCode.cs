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
            var name = "t" + stmts.Count;
            stmts.Add($"var {name} = {Apply(op.Op, f, args, op.Consts)};");
            return name;
        }

        public static int FlopsPerElement(ElemExpr e) => e is ElemOp o ? (o.Op switch
        {
            "sigmoid" => 4, "tanh" => 4, "sigmoid_bwd" => 3, "tanh_bwd" => 3,
            _ => Ops.OpRegistry.Elementwise.TryGetValue(o.Op, out var d) ? d.Flops : 1,
        }) + o.Args.Sum(FlopsPerElement) : 0;

        public static string Describe(ElemExpr e, string[] names) => e switch
        {
            ElemInput i => names[i.Index],
            ElemOp o => o.Op + (o.Consts == null ? "" : "[" + string.Join(", ", o.Consts.Select(c => c.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]")
                + "(" + string.Join(", ", o.Args.Select(a => Describe(a, names))) + ")",
            _ => "?",
        };

        private static string Apply(string op, Flavor f, string[] a, IReadOnlyList<double>? consts)
        {
            if (f == Flavor.Vector512) return Apply(op, Flavor.Vector, a, consts).Replace("Vector256", "Vector512");
            if (Ops.OpRegistry.Elementwise.TryGetValue(op, out var def))
                return def.Code(new Ops.ElemCodeArgs(f, a, consts ?? new double[0]));
            switch (f)
            {
                case Flavor.Scalar:
                    switch (op)
                    {
                        case "relu": return $"T.Max({a[0]}, T.Zero)";
                        case "sigmoid": return $"T.One / (T.One + T.Exp(-{a[0]}))";
                        case "tanh": return $"T.Tanh({a[0]})";
                        case "add": return $"{a[0]} + {a[1]}";
                        case "dropout_bwd": return $"{a[0]} * {a[1]}";
                        case "relu_bwd": return $"{a[1]} > T.Zero ? {a[0]} : T.Zero";
                        case "sigmoid_bwd": return $"{a[0]} * {a[1]} * (T.One - {a[1]})";
                        case "tanh_bwd": return $"{a[0]} * (T.One - {a[1]} * {a[1]})";
                    }
                    break;
                case Flavor.Vector:
                    switch (op)
                    {
                        case "relu": return $"Vector256.Max({a[0]}, Vector256<T>.Zero)";
                        case "sigmoid": return $"VMath.Sigmoid({a[0]})";
                        case "tanh": return $"VMath.Tanh({a[0]})";
                        case "add": return $"{a[0]} + {a[1]}";
                        case "dropout_bwd": return $"{a[0]} * {a[1]}";
                        case "relu_bwd": return $"Vector256.ConditionalSelect(Vector256.GreaterThan({a[1]}, Vector256<T>.Zero), {a[0]}, Vector256<T>.Zero)";
                        case "sigmoid_bwd": return $"{a[0]} * {a[1]} * (Vector256<T>.One - {a[1]})";
                        case "tanh_bwd": return $"{a[0]} * (Vector256<T>.One - {a[1]} * {a[1]})";
                    }
                    break;
                case Flavor.Gpu:
                    switch (op)
                    {
                        case "relu": return $"{a[0]} > 0f ? {a[0]} : 0f";
                        case "sigmoid": return $"1f / (1f + MathF.Exp(-{a[0]}))";
                        case "tanh": return $"MathF.Tanh({a[0]})";
                        case "add": return $"{a[0]} + {a[1]}";
                        case "dropout_bwd": return $"{a[0]} * {a[1]}";
                        case "relu_bwd": return $"{a[1]} > 0f ? {a[0]} : 0f";
                        case "sigmoid_bwd": return $"{a[0]} * {a[1]} * (1f - {a[1]})";
                        case "tanh_bwd": return $"{a[0]} * (1f - {a[1]} * {a[1]})";
                    }
                    break;
            }
            throw new InvalidOperationException($"no element-wise code for {op}");
        }
    }
}
