using System.Globalization;
using System.Text;

namespace NetDsl.Compiler.Emit
{
    /// <summary>
    /// A C# regular string literal for any text: printable ASCII stays as is (with \" and \\ escaped); every other char
    /// (control chars, U+0085, U+2028, U+2029, all non-ASCII, lone surrogates) becomes \uXXXX, so no input can end the
    /// literal, start a new line or comment, or otherwise inject code into generated C#.
    /// </summary>
    internal static class CSharpLiteral
    {
        public static string Quote(string text)
        {
            var sb = new StringBuilder(text.Length + 16);
            sb.Append('"');
            foreach (char ch in text)
            {
                if (ch == '"') sb.Append("\\\"");
                else if (ch == '\\') sb.Append("\\\\");
                else if (ch >= 0x20 && ch < 0x7F) sb.Append(ch);
                else sb.Append("\\u").Append(((int)ch).ToString("X4", CultureInfo.InvariantCulture));
            }
            sb.Append('"');
            return sb.ToString();
        }
    }

    /// <summary>
    /// The members that let a generated network find its own definition at run time (for exporters such as ONNX): the .net
    /// text it was compiled from and its network name, as constants on a second part of the generic partial class.
    /// </summary>
    internal static class SourceMembers
    {
        public static string Emit(string ns, string network, string text)
        {
            var w = new CodeWriter();
            w.Line();
            w.Open($"namespace {ns}");
            w.Open($"public partial class {network}<T>");
            w.Line("/// <summary>The text of the .net file this network was compiled from (read by exporters such as NetDsl.Onnx).</summary>");
            w.Line($"public const string NetSource = {Quote(text)};");
            w.Line("/// <summary>The name of this network in <see cref=\"NetSource\"/>.</summary>");
            w.Line($"public const string NetworkName = {Quote(network)};");
            w.Close();
            w.Close();
            return w.ToString();
        }

        private static string Quote(string s) => CSharpLiteral.Quote(s);
    }
}
