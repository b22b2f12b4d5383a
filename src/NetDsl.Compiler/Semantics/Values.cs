using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Semantics
{
    /// <summary>A value while elaborating: compile-time numbers, tuples and lists, or a tensor in the graph.</summary>
    internal abstract class CValue
    {
        public abstract string TypeName { get; }
    }

    internal sealed class IntValue : CValue
    {
        public long Value { get; }
        public IntValue(long v) { Value = v; }
        public override string TypeName => "int";
        public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
    }

    internal sealed class FloatValue : CValue
    {
        public double Value { get; }
        public FloatValue(double v) { Value = v; }
        public override string TypeName => "float";
        public override string ToString() => Value.ToString("R", CultureInfo.InvariantCulture);
    }

    internal sealed class BoolValue : CValue
    {
        public bool Value { get; }
        public BoolValue(bool v) { Value = v; }
        public override string TypeName => "bool";
        public override string ToString() => Value ? "true" : "false";
    }

    internal sealed class StringValue : CValue
    {
        public string Value { get; }
        public StringValue(string v) { Value = v; }
        public override string TypeName => "string";
        public override string ToString() => "\"" + Value + "\"";
    }

    internal sealed class TupleValue : CValue
    {
        public IReadOnlyList<CValue> Items { get; }
        public TupleValue(IReadOnlyList<CValue> items) { Items = items; }
        public override string TypeName => "tuple";
        public override string ToString() => "(" + string.Join(", ", Items) + ")";
    }

    internal sealed class ListValue : CValue
    {
        public IReadOnlyList<CValue> Items { get; }
        public ListValue(IReadOnlyList<CValue> items) { Items = items; }
        public override string TypeName => "list";
        public override string ToString() => "[" + string.Join(", ", Items) + "]";
    }

    internal sealed class TensorValue : CValue
    {
        public TValue Value { get; }
        public TensorValue(TValue v) { Value = v; }
        public override string TypeName => "tensor " + Value.Shape.ToDisplay();
    }

    /// <summary>A value that could not be computed because of an earlier error (suppresses cascades).</summary>
    internal sealed class ErrorValue : CValue
    {
        public static readonly ErrorValue Instance = new ErrorValue();
        public override string TypeName => "error";
    }
}
