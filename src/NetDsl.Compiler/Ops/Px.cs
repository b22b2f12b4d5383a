using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Compiler.Emit;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// A scalar expression over a few primitives: the one definition of an element-wise op (<see cref="ElemDef"/>).
    /// Leaves are the op's arguments (<see cref="P.A"/>), numbers and attribute constants (a leaky relu's slope, baked
    /// into the functor); inner nodes are add, sub, mul, div, neg, max, min, abs, exp, log, log1p, tanh, sigmoid, sqrt,
    /// ncdf (the normal CDF Φ), the comparisons gt/lt/ge/le, and (of two comparisons) and select(cond, a, b).
    /// From it <see cref="PxCode"/> writes the scalar T, Vector256&lt;T&gt;, Vector512&lt;T&gt; and ILGPU float forms,
    /// <see cref="PxMath"/> counts FLOPs, evaluates in double and differentiates. A node used twice (the same object) is
    /// computed once (a local in the generated code).
    /// </summary>
    internal sealed class Px
    {
        /// <summary>"arg", "num", "attr" or a primitive's name.</summary>
        public string Op { get; }
        public IReadOnlyList<Px> Args { get; }
        /// <summary>The number of a "num" leaf.</summary>
        public double Value { get; }
        /// <summary>The argument number of an "arg" leaf or the attribute number of an "attr" leaf.</summary>
        public int Index { get; }

        internal Px(string op, double value, int index, params Px[] args) { Op = op; Value = value; Index = index; Args = args; }
        internal Px(string op, params Px[] args) : this(op, 0, 0, args) { }

        public bool IsNum => Op == "num";
        public bool IsNumber(double v) => Op == "num" && Value == v;
        /// <summary>True for comparisons and their conjunction (a mask in the vector forms, a bool in the scalar ones).</summary>
        public bool IsCondition => Op == "gt" || Op == "lt" || Op == "ge" || Op == "le" || Op == "and";

        public static implicit operator Px(double v) => P.Num(v);
        public static Px operator +(Px a, Px b) => P.Add(a, b);
        public static Px operator -(Px a, Px b) => P.Sub(a, b);
        public static Px operator *(Px a, Px b) => P.Mul(a, b);
        public static Px operator /(Px a, Px b) => P.Div(a, b);
        public static Px operator -(Px a) => P.Neg(a);
        public static Px operator &(Px a, Px b) => new Px("and", a, b);

        public override string ToString() => Op switch
        {
            "arg" => "a" + Index,
            "num" => Value.ToString("R", CultureInfo.InvariantCulture),
            "attr" => "k" + Index,
            _ => Op + "(" + string.Join(", ", Args) + ")",
        };
    }

    /// <summary>Builders of <see cref="Px"/> (with constant folding and the identities 0 + a, 1·a, 0·a, so derived gradients stay small).</summary>
    internal static class P
    {
        /// <summary>Argument <paramref name="i"/> of the op (for a gradient op: 0 is dy, 1 is x or y).</summary>
        public static Px A(int i) => new Px("arg", 0, i);
        /// <summary>Argument 0: x of a forward op.</summary>
        public static Px X => A(0);
        /// <summary>The op's attribute constant number <paramref name="i"/> (in the order of <see cref="ElemDef.Attrs"/>).</summary>
        public static Px K(int i) => new Px("attr", 0, i);
        public static Px Num(double v) => new Px("num", v, 0);

        public static Px Add(Px a, Px b) => a.IsNum && b.IsNum ? Num(a.Value + b.Value) : a.IsNumber(0) ? b : b.IsNumber(0) ? a : new Px("add", a, b);
        public static Px Sub(Px a, Px b) => a.IsNum && b.IsNum ? Num(a.Value - b.Value) : b.IsNumber(0) ? a : a.IsNumber(0) ? Neg(b) : new Px("sub", a, b);
        public static Px Mul(Px a, Px b) =>
            a.IsNum && b.IsNum ? Num(a.Value * b.Value) : a.IsNumber(0) || b.IsNumber(0) ? Num(0) : a.IsNumber(1) ? b : b.IsNumber(1) ? a : new Px("mul", a, b);
        public static Px Div(Px a, Px b) => a.IsNumber(0) ? Num(0) : b.IsNumber(1) ? a : new Px("div", a, b);
        public static Px Neg(Px a) => a.IsNum ? Num(-a.Value) : a.Op == "neg" ? a.Args[0] : new Px("neg", a);
        public static Px Max(Px a, Px b) => new Px("max", a, b);
        public static Px Min(Px a, Px b) => new Px("min", a, b);
        public static Px Abs(Px a) => new Px("abs", a);
        public static Px Exp(Px a) => new Px("exp", a);
        public static Px Log(Px a) => new Px("log", a);
        public static Px Log1p(Px a) => new Px("log1p", a);
        public static Px Tanh(Px a) => new Px("tanh", a);
        /// <summary>1/(1 + e^−a), one primitive so that its vector form is VMath.Sigmoid and its derivative σ(1 − σ).</summary>
        public static Px Sigmoid(Px a) => new Px("sigmoid", a);
        public static Px Sqrt(Px a) => new Px("sqrt", a);
        /// <summary>The standard normal CDF Φ(a) (VMath.NormalCdf: erfc on the negative side).</summary>
        public static Px Ncdf(Px a) => new Px("ncdf", a);
        public static Px Gt(Px a, Px b) => new Px("gt", a, b);
        public static Px Lt(Px a, Px b) => new Px("lt", a, b);
        public static Px Ge(Px a, Px b) => new Px("ge", a, b);
        public static Px Le(Px a, Px b) => new Px("le", a, b);
        /// <summary>cond ? a : b (both sides are computed in the vector forms, so neither may trap; a NaN or inf that is not selected is harmless).</summary>
        public static Px Select(Px cond, Px a, Px b)
        {
            if (!cond.IsCondition) throw new ArgumentException($"select needs a comparison, got {cond}");
            return a.IsNum && b.IsNum && a.Value == b.Value ? a : new Px("select", cond, a, b);
        }
        /// <summary>min(max(a, 0), 6).</summary>
        public static Px Relu6(Px a) => Min(Max(a, 0), 6);
    }

    /// <summary>FLOP counts, double evaluation, symbolic differentiation and substitution of <see cref="Px"/> trees.</summary>
    internal static class PxMath
    {
        /// <summary>
        /// FLOPs per element: 1 per arithmetic op, min/max/abs, comparison and transcendental (exp, log, log1p, tanh, sqrt),
        /// 4 for sigmoid (neg, exp, add, div), 90 for Φ (the 27-term Chebyshev erfc); leaves, select and and cost nothing.
        /// A node used twice counts once (it is computed once).
        /// </summary>
        public static int Flops(Px e)
        {
            var seen = new HashSet<Px>(PxIdentity.Instance);
            int Walk(Px n)
            {
                if (!seen.Add(n)) return 0;
                int own = n.Op switch { "arg" => 0, "num" => 0, "attr" => 0, "select" => 0, "and" => 0, "sigmoid" => 4, "ncdf" => 90, _ => 1 };
                return own + n.Args.Sum(Walk);
            }
            return Walk(e);
        }

        /// <summary>The value in double (comparisons give 1 or 0), for the tests' finite differences.</summary>
        public static double Eval(Px e, IReadOnlyList<double> args, IReadOnlyList<double> attrs)
        {
            double V(int i) => Eval(e.Args[i], args, attrs);
            switch (e.Op)
            {
                case "arg": return args[e.Index];
                case "num": return e.Value;
                case "attr": return attrs[e.Index];
                case "add": return V(0) + V(1);
                case "sub": return V(0) - V(1);
                case "mul": return V(0) * V(1);
                case "div": return V(0) / V(1);
                case "neg": return -V(0);
                case "max": return Math.Max(V(0), V(1));
                case "min": return Math.Min(V(0), V(1));
                case "abs": return Math.Abs(V(0));
                case "exp": return Math.Exp(V(0));
                case "log": return Math.Log(V(0));
                case "log1p": { double x = V(0), u = 1 + x; return u - 1 == 0 ? x : Math.Log(u) * x / (u - 1); }
                case "tanh": return Math.Tanh(V(0));
                case "sigmoid": return 1 / (1 + Math.Exp(-V(0)));
                case "sqrt": return Math.Sqrt(V(0));
                case "ncdf": return NormalCdf(V(0));
                case "gt": return V(0) > V(1) ? 1 : 0;
                case "lt": return V(0) < V(1) ? 1 : 0;
                case "ge": return V(0) >= V(1) ? 1 : 0;
                case "le": return V(0) <= V(1) ? 1 : 0;
                case "and": return V(0) != 0 && V(1) != 0 ? 1 : 0;
                case "select": return V(0) != 0 ? V(1) : V(2);
            }
            throw new InvalidOperationException($"unknown primitive {e.Op}");
        }

        /// <summary>Φ(x) in double, independent of VMath's Chebyshev fit: erfc from erf's Taylor series below 3, its continued fraction above.</summary>
        private static double NormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

        private static double Erfc(double z)
        {
            // erfc from erf's Taylor series for |z| < 3, the asymptotic continued fraction beyond (double accuracy ~1e-15 relative)
            if (Math.Abs(z) < 3)
            {
                double sum = 0, term = z, z2 = z * z;
                for (int n = 0; n < 200; n++)
                {
                    double t = term / (2 * n + 1);
                    sum += t;
                    if (Math.Abs(t) < 1e-17 * Math.Abs(sum)) break;
                    term *= -z2 / (n + 1);
                }
                return 1 - 2 / Math.Sqrt(Math.PI) * sum;
            }
            if (z < 0) return 2 - Erfc(-z);
            double f = 0;
            for (int k = 60; k >= 1; k--) f = k / 2.0 / (z + f);
            return Math.Exp(-z * z) / Math.Sqrt(Math.PI) / (z + f);
        }

        /// <summary>d e / d (argument <paramref name="wrt"/>), symbolically; at a select the derivative of the chosen side, max/min follow their strict comparison.</summary>
        public static Px Derive(Px e, int wrt)
        {
            var memo = new Dictionary<Px, Px>(PxIdentity.Instance);
            Px D(Px n)
            {
                if (memo.TryGetValue(n, out var done)) return done;
                Px a = n.Args.Count > 0 ? n.Args[0] : null!, b = n.Args.Count > 1 ? n.Args[1] : null!;
                Px r = n.Op switch
                {
                    "arg" => n.Index == wrt ? 1 : 0,
                    "num" => 0,
                    "attr" => 0,
                    "add" => D(a) + D(b),
                    "sub" => D(a) - D(b),
                    "mul" => D(a) * b + a * D(b),
                    "div" => D(b).IsNumber(0) ? D(a) / b : (D(a) * b - a * D(b)) / (b * b),
                    "neg" => -D(a),
                    "max" => Select(P.Gt(a, b), D(a), D(b)),
                    "min" => Select(P.Lt(a, b), D(a), D(b)),
                    "abs" => Select(P.Lt(a, 0), -D(a), D(a)),
                    "exp" => n * D(a),
                    "log" => D(a) / a,
                    "log1p" => D(a) / (1 + a),
                    "tanh" => (1 - n * n) * D(a),
                    "sigmoid" => n * (1 - n) * D(a),
                    "sqrt" => D(a) / (2 * n),
                    "ncdf" => 0.3989422804014327 * P.Exp(-0.5 * a * a) * D(a),
                    "select" => Select(a, D(b), D(n.Args[2])),
                    _ => throw new InvalidOperationException($"{n.Op} has no derivative (a condition is not a value)"),
                };
                memo[n] = r;
                return r;
            }
            return D(e);
        }

        private static Px Select(Px c, Px a, Px b) => P.Select(c, a, b);

        /// <summary><paramref name="e"/> with argument i replaced by <paramref name="args"/>[i] (shared nodes stay shared).</summary>
        public static Px Substitute(Px e, IReadOnlyList<Px> args)
        {
            var memo = new Dictionary<Px, Px>(PxIdentity.Instance);
            Px S(Px n)
            {
                if (n.Op == "arg") return args[n.Index];
                if (n.Args.Count == 0) return n;
                if (memo.TryGetValue(n, out var done)) return done;
                return memo[n] = new Px(n.Op, n.Value, n.Index, n.Args.Select(S).ToArray());
            }
            return S(e);
        }

        /// <summary>
        /// The gradient op of a unary <paramref name="forward"/> f(x): dy·f′(x) as an op of (dy, x), by differentiating f.
        /// </summary>
        public static Px GradientFromX(Px forward) => P.A(0) * Substitute(Derive(forward, 0), new[] { P.A(1) });

        /// <summary>The largest argument index used, + 1.</summary>
        public static int Arity(Px e) => e.Op == "arg" ? e.Index + 1 : e.Args.Count == 0 ? 0 : e.Args.Max(Arity);
    }

    /// <summary>Reference equality for <see cref="Px"/> nodes: a node is shared when the same object is used twice (netstandard2.0 has no ReferenceEqualityComparer).</summary>
    internal sealed class PxIdentity : IEqualityComparer<Px>
    {
        public static readonly PxIdentity Instance = new PxIdentity();
        public bool Equals(Px? x, Px? y) => ReferenceEquals(x, y);
        public int GetHashCode(Px obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }

    /// <summary>
    /// Writes a <see cref="Px"/> as C# in one flavor: scalar T (T.Exp, T.Max, ?:), Vector256&lt;T&gt; or Vector512&lt;T&gt;
    /// (VMath.Exp/Tanh/Sigmoid/Log, VectorNNN.Max/ConditionalSelect/GreaterThan…) or ILGPU float (MathF, ?:). A node used
    /// more than once becomes a local (appended to the caller's statements, named t0, t1… after them).
    /// </summary>
    internal static class PxCode
    {
        private const int Atom = 100, Unary = 90, Mul = 80, Add = 70, Compare = 60, And = 50, Ternary = 10;

        public static string Write(Px e, ElemCode.Flavor f, IReadOnlyList<string> args, IReadOnlyList<double> attrs, List<string> stmts)
        {
            var uses = new Dictionary<Px, int>(PxIdentity.Instance);
            void Count(Px n)
            {
                uses.TryGetValue(n, out var c);
                uses[n] = c + 1;
                if (c == 0) foreach (var a in n.Args) Count(a);
            }
            Count(e);
            var locals = new Dictionary<Px, string>(PxIdentity.Instance);
            var w = new Writer(f, args, attrs, stmts, uses, locals);
            return w.Expr(e).Text;
        }

        private sealed class Writer
        {
            private readonly ElemCode.Flavor _f;
            private readonly IReadOnlyList<string> _args;
            private readonly IReadOnlyList<double> _attrs;
            private readonly List<string> _stmts;
            private readonly Dictionary<Px, int> _uses;
            private readonly Dictionary<Px, string> _locals;
            private readonly string _v;

            public Writer(ElemCode.Flavor f, IReadOnlyList<string> args, IReadOnlyList<double> attrs, List<string> stmts, Dictionary<Px, int> uses, Dictionary<Px, string> locals)
            {
                _f = f; _args = args; _attrs = attrs; _stmts = stmts; _uses = uses; _locals = locals;
                _v = f == ElemCode.Flavor.Vector512 ? "Vector512" : "Vector256";
            }

            private bool Gpu => _f == ElemCode.Flavor.Gpu;
            private bool Scalar => _f == ElemCode.Flavor.Scalar;

            /// <summary>The node as (text, precedence); a shared inner node becomes a local the first time.</summary>
            public (string Text, int Prec) Expr(Px n)
            {
                if (_locals.TryGetValue(n, out var name)) return (name, Atom);
                var r = Raw(n);
                if (n.Args.Count > 0 && _uses[n] > 1) return (_locals[n] = Local(r.Text), Atom);
                return r;
            }

            private string Local(string text)
            {
                var name = "t" + _stmts.Count;
                _stmts.Add($"var {name} = {text};");
                return name;
            }

            /// <summary>An operand that is read twice in the text (GPU ?: for max/min): a name or a literal.</summary>
            private string Atomic(Px n)
            {
                var (t, p) = Expr(n);
                if (p == Atom && (n.Args.Count == 0 || _locals.ContainsKey(n))) return t;
                var name = Local(t);
                _locals[n] = name;
                return name;
            }

            private string In(Px n, int min) { var (t, p) = Expr(n); return p >= min ? t : "(" + t + ")"; }

            public string Lit(double v)
            {
                if (v == 0 && BitConverter.DoubleToInt64Bits(v) == 0) return Gpu ? "0f" : Scalar ? "T.Zero" : $"{_v}<T>.Zero";
                if (v == 1) return Gpu ? "1f" : Scalar ? "T.One" : $"{_v}<T>.One";
                var s = v.ToString("R", CultureInfo.InvariantCulture);
                if (s.IndexOf('E') < 0 && s.IndexOf('.') < 0) s += ".0";
                return Gpu ? s + "f" : Scalar ? $"T.CreateChecked({s})" : $"{_v}.Create(T.CreateChecked({s}))";
            }

            private (string Text, int Prec) Raw(Px n)
            {
                string Fn(string scalar, string vector, string gpu) => $"{(Gpu ? gpu : Scalar ? scalar : vector)}({In(n.Args[0], 0)})";
                string Bin(string op, int prec) => $"{In(n.Args[0], prec)} {op} {In(n.Args[1], prec + 1)}";
                switch (n.Op)
                {
                    case "arg": return (_args[n.Index], Atom);
                    case "num": { var t = Lit(n.Value); return (t, t.StartsWith("-", StringComparison.Ordinal) ? Unary : Atom); }
                    case "attr": { var t = Lit(_attrs[n.Index]); return (t, t.StartsWith("-", StringComparison.Ordinal) ? Unary : Atom); }
                    case "add": return (Bin("+", Add), Add);
                    case "sub": return (Bin("-", Add), Add);
                    case "mul": return (Bin("*", Mul), Mul);
                    case "div": return (Bin("/", Mul), Mul);
                    case "neg": return ("-" + In(n.Args[0], Unary + 1), Unary);
                    case "max":
                    case "min":
                    {
                        if (Gpu)
                        {
                            var a = Atomic(n.Args[0]); var b = Atomic(n.Args[1]);
                            return ($"{a} {(n.Op == "max" ? ">" : "<")} {b} ? {a} : {b}", Ternary);
                        }
                        var fn = n.Op == "max" ? "Max" : "Min";
                        return ($"{(Scalar ? "T" : _v)}.{fn}({In(n.Args[0], 0)}, {In(n.Args[1], 0)})", Atom);
                    }
                    case "abs": return (Fn("T.Abs", _v + ".Abs", "MathF.Abs"), Atom);
                    case "exp": return (Fn("T.Exp", "VMath.Exp", "MathF.Exp"), Atom);
                    case "log": return (Fn("T.Log", "VMath.Log", "MathF.Log"), Atom);
                    case "log1p": return (Fn("VMath.Log1p", "VMath.Log1p", "VMath.Log1pGpu"), Atom);
                    case "tanh": return (Fn("T.Tanh", "VMath.Tanh", "MathF.Tanh"), Atom);
                    case "sqrt": return (Fn("T.Sqrt", _v + ".Sqrt", "MathF.Sqrt"), Atom);
                    case "ncdf": return (Fn("VMath.NormalCdf", "VMath.NormalCdf", "VMath.NormalCdfGpu"), Atom);
                    case "sigmoid":
                        if (!Scalar && !Gpu) return ($"VMath.Sigmoid({In(n.Args[0], 0)})", Atom);
                        return ($"{Lit(1)} / ({Lit(1)} + {(Gpu ? "MathF" : "T")}.Exp(-{In(n.Args[0], Unary + 1)}))", Mul);
                    case "gt":
                    case "lt":
                    case "ge":
                    case "le":
                    {
                        if (Scalar || Gpu)
                        {
                            var op = n.Op == "gt" ? ">" : n.Op == "lt" ? "<" : n.Op == "ge" ? ">=" : "<=";
                            return (Bin(op, Compare), Compare);
                        }
                        var fn = n.Op == "gt" ? "GreaterThan" : n.Op == "lt" ? "LessThan" : n.Op == "ge" ? "GreaterThanOrEqual" : "LessThanOrEqual";
                        return ($"{_v}.{fn}({In(n.Args[0], 0)}, {In(n.Args[1], 0)})", Atom);
                    }
                    case "and": return (Bin(Scalar || Gpu ? "&&" : "&", And), And);
                    case "select":
                        if (Scalar || Gpu) return ($"{In(n.Args[0], Ternary + 1)} ? {In(n.Args[1], Ternary + 1)} : {In(n.Args[2], Ternary)}", Ternary);
                        return ($"{_v}.ConditionalSelect({In(n.Args[0], 0)}, {In(n.Args[1], 0)}, {In(n.Args[2], 0)})", Atom);
                }
                throw new InvalidOperationException($"unknown primitive {n.Op}");
            }
        }
    }
}
