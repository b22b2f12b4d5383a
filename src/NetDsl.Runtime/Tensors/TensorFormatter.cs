using System.Globalization;
using System.Text;

namespace NetDsl.Runtime;

/// <summary>
/// Prints a tensor's values as PyTorch does: <c>tensor([[ 0.1000, -2.0000], …])</c>, with one number format for the whole
/// tensor (4 decimals; scientific when the magnitudes span more than 1000× or leave [1e-4, 1e8); integral floats as
/// <c>1.</c>), columns aligned, rows wrapped at 80 characters, and tensors of more than 1000 elements abbreviated to their
/// first and last 3 entries per dimension (<c>...</c>). The element type shows when it is not float32 or int64, the device
/// when it is not the CPU.
/// </summary>
public static class TensorFormatter
{
    /// <summary>Tensors with more elements than this are abbreviated (PyTorch's print threshold).</summary>
    public const int Threshold = 1000;
    /// <summary>Entries kept at each end of an abbreviated dimension.</summary>
    public const int EdgeItems = 3;
    private const int LineWidth = 80;

    /// <summary>The values of <paramref name="t"/> as PyTorch prints them.</summary>
    public static string Format<T>(Tensor<T> t) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(t);
        T[] data = t.Device.IsCpu ? t.AsSpan().ToArray() : t.CopyToHost();
        var shape = t.Shape;
        bool summarize = data.Length > Threshold;
        bool isFloat = typeof(T) == typeof(float) || typeof(T) == typeof(double) || typeof(T) == typeof(Half);
        var values = data.Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToArray();

        // The number format is chosen from the values that are shown.
        var shown = summarize ? ShownIndices(shape).Select(i => values[i]).ToArray() : values;
        Func<double, string> fmt = isFloat ? FloatFormat(shown) : v => ((long)v).ToString(CultureInfo.InvariantCulture);
        int width = shown.Length == 0 ? 0 : shown.Max(v => fmt(v).Length);

        var sb = new StringBuilder("tensor(");
        if (shape.Length == 0) sb.Append(fmt(values[0]));
        else if (data.Length == 0) sb.Append("[]");
        else AppendDim(sb, values, shape, 0, 0, "tensor(".Length, summarize, v => fmt(v).PadLeft(width), width);
        var suffix = new List<string>();
        if (data.Length == 0 && shape.Length > 0 && !(shape.Length == 1)) suffix.Add($"size=({string.Join(", ", shape)})");
        string? dtype = typeof(T) == typeof(float) || typeof(T) == typeof(long) ? null
            : typeof(T) == typeof(double) ? "float64" : typeof(T) == typeof(int) ? "int32" : typeof(T) == typeof(Half) ? "float16" : typeof(T).Name.ToLowerInvariant();
        if (dtype is not null) suffix.Add($"dtype={dtype}");
        if (!t.Device.IsCpu) suffix.Add($"device='{t.Device.Name}'");
        foreach (var s in suffix) sb.Append(", ").Append(s);
        return sb.Append(')').ToString();
    }

    private static Func<double, string> FloatFormat(double[] shown)
    {
        var finite = shown.Where(double.IsFinite).Select(Math.Abs).ToArray();
        var nonzero = finite.Where(v => v != 0).ToArray();
        static string Special(double v) => double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
        if (nonzero.Length == 0) return v => double.IsFinite(v) ? (v == 0 && double.IsNegative(v) ? "-0." : "0.") : Special(v);
        double max = nonzero.Max(), min = nonzero.Min();
        bool integral = finite.All(v => v == Math.Floor(v));
        if (integral && max <= 1e8)
            return v => double.IsFinite(v) ? v.ToString("F0", CultureInfo.InvariantCulture) + "." : Special(v);
        if (max / min > 1000 || max > 1e8 || min < 1e-4)
            return v => double.IsFinite(v) ? Sci(v) : Special(v);
        return v => double.IsFinite(v) ? v.ToString("F4", CultureInfo.InvariantCulture) : Special(v);
    }

    /// <summary>1.2346e-05, as C's %.4e (two-digit exponent at least).</summary>
    private static string Sci(double v) => v.ToString("0.0000e+00", CultureInfo.InvariantCulture);

    private static IEnumerable<int> ShownIndices(int[] shape)
    {
        var idx = new List<int> { 0 };
        for (int d = 0; d < shape.Length; d++)
        {
            var keep = Kept(shape[d], true).ToArray();
            idx = idx.SelectMany(b => keep.Select(k => b * shape[d] + k)).ToList();
        }
        return idx;
    }

    private static IEnumerable<int> Kept(int n, bool summarize) =>
        !summarize || n <= 2 * EdgeItems ? Enumerable.Range(0, n) : Enumerable.Range(0, EdgeItems).Concat(Enumerable.Range(n - EdgeItems, EdgeItems));

    private static void AppendDim(StringBuilder sb, double[] values, int[] shape, int dim, int offset, int indent, bool summarize, Func<double, string> fmt, int width)
    {
        int n = shape[dim];
        int stride = 1;
        for (int d = dim + 1; d < shape.Length; d++) stride *= shape[d];
        bool cut = summarize && n > 2 * EdgeItems;
        sb.Append('[');
        if (dim == shape.Length - 1)
        {
            // The innermost row, wrapped to the line width.
            var items = new List<string>();
            for (int i = 0; i < n; i++)
            {
                if (cut && i == EdgeItems) { items.Add(" ..."); i = n - EdgeItems; }
                items.Add(fmt(values[offset + i]));
            }
            int perLine = Math.Max(1, (LineWidth - indent) / (width + 2));
            for (int i = 0; i < items.Count; i++)
            {
                if (i > 0) sb.Append(i % perLine == 0 ? ",\n" + new string(' ', indent + 1) : ", ");
                sb.Append(items[i]);
            }
        }
        else
        {
            string sep = "," + new string('\n', shape.Length - dim - 1) + new string(' ', indent + 1);
            bool first = true;
            for (int i = 0; i < n; i++)
            {
                if (!first) sb.Append(sep);
                first = false;
                if (cut && i == EdgeItems)
                {
                    sb.Append("...").Append(sep);
                    i = n - EdgeItems;
                }
                AppendDim(sb, values, shape, dim + 1, offset + i * stride, indent + 1, summarize, fmt, width);
            }
        }
        sb.Append(']');
    }
}
