using System;
using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    /// <summary>One dimension: a known size or a symbol such as N bound when the network runs.</summary>
    public readonly struct Dim : IEquatable<Dim>
    {
        public int Value { get; }
        public string? Symbol { get; }
        private Dim(int value, string? symbol) { Value = value; Symbol = symbol; }
        public static Dim Of(int value) => new Dim(value, null);
        public static Dim Sym(string symbol) => new Dim(0, symbol);
        public bool IsKnown => Symbol == null;
        public bool Equals(Dim other) => Value == other.Value && Symbol == other.Symbol;
        public override bool Equals(object? obj) => obj is Dim d && Equals(d);
        public override int GetHashCode() => Symbol?.GetHashCode() ?? Value;
        public override string ToString() => Symbol ?? Value.ToString();
        public static bool operator ==(Dim a, Dim b) => a.Equals(b);
        public static bool operator !=(Dim a, Dim b) => !a.Equals(b);
    }

    /// <summary>
    /// A tensor shape. <see cref="Unknown"/> marks a value whose shape could not be inferred because of an
    /// earlier error: rules accept it silently so one mistake gives one diagnostic, not a cascade.
    /// </summary>
    public sealed class Shape : IEquatable<Shape>
    {
        public static readonly Shape Unknown = new Shape(null);
        private readonly Dim[]? _dims;
        private Shape(Dim[]? dims) { _dims = dims; }
        public Shape(IEnumerable<Dim> dims) : this(dims.ToArray()) { }
        public static Shape Of(params int[] dims) => new Shape(dims.Select(Dim.Of));
        public static Shape Of(params Dim[] dims) => new Shape(dims);

        public bool IsUnknown => _dims == null;
        public int Rank => _dims?.Length ?? -1;
        public IReadOnlyList<Dim> Dims => _dims ?? Array.Empty<Dim>();
        public Dim this[int i] => _dims![i];

        public bool AllKnown => _dims != null && _dims.All(d => d.IsKnown);

        /// <summary>Element count as factor × product of symbols (e.g. 4704·N).</summary>
        public (long Factor, string Symbols) Size
        {
            get
            {
                long f = 1; var syms = new List<string>();
                foreach (var d in Dims) { if (d.IsKnown) f *= d.Value; else syms.Add(d.Symbol!); }
                syms.Sort(StringComparer.Ordinal);
                return (f, string.Join("*", syms));
            }
        }

        /// <summary>Elements of one sample: the product of all known dims (symbols count as 1).</summary>
        public long KnownElements => Size.Factor;

        public Shape With(int axis, Dim d) { var a = _dims!.ToArray(); a[axis] = d; return new Shape(a); }

        public bool Equals(Shape? other) =>
            other != null && (IsUnknown ? other.IsUnknown : !other.IsUnknown && _dims!.SequenceEqual(other._dims!));
        public override bool Equals(object? obj) => obj is Shape s && Equals(s);
        public override int GetHashCode() => IsUnknown ? 0 : _dims!.Aggregate(17, (h, d) => unchecked(h * 31 + d.GetHashCode()));
        public override string ToString() => IsUnknown ? "[?]" : "[" + string.Join(",", _dims!.Select(d => d.ToString())) + "]";
        public string ToDisplay() => IsUnknown ? "[?]" : "[" + string.Join(", ", _dims!.Select(d => d.ToString())) + "]";
    }
}
