using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace NetDsl.Compiler
{
    /// <summary>
    /// Names are data. The one place where a name from a .net file (a network, block, input, output, binding, symbolic dim,
    /// layer `name:` string, or the file's own name) is checked against the name rule and turned into C# text: an identifier,
    /// a string literal, a comment or XML documentation. Nothing from a .net file reaches generated code another way.
    /// <para>The rule (docs/language.md, "Names"):</para>
    /// <list type="bullet">
    /// <item>an identifier (network, block, parameter, input, output, binding, loop variable, symbolic dim) is an ASCII letter or
    /// <c>_</c> followed by ASCII letters, digits and <c>_</c>, at most <see cref="MaxLength"/> characters;</item>
    /// <item>a layer name (<c>name:</c>, and the names derived from it such as <c>layer1.0.conv1</c>) is one or more segments
    /// joined by <c>.</c>: the first segment an identifier, the others ASCII letters, digits and <c>_</c> (PyTorch's
    /// <c>features.0</c>), at most <see cref="MaxLength"/> characters in all.</item>
    /// </list>
    /// </summary>
    public static class Names
    {
        /// <summary>The longest name a .net file may use.</summary>
        public const int MaxLength = 128;

        private static bool IsLetter(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        /// <summary>True if <paramref name="s"/> is an identifier by the name rule.</summary>
        public static bool IsIdentifier(string? s)
        {
            if (string.IsNullOrEmpty(s) || s!.Length > MaxLength || !IsLetter(s[0])) return false;
            foreach (var c in s) if (!IsLetter(c) && !IsDigit(c)) return false;
            return true;
        }

        /// <summary>Null if <paramref name="s"/> is a layer name by the name rule, else what is wrong with it (for a diagnostic).</summary>
        public static string? CheckLayerName(string s)
        {
            if (s.Length == 0) return "a layer name cannot be empty";
            if (s.Length > MaxLength) return $"a layer name has at most {MaxLength} characters, this one has {s.Length}";
            var segments = s.Split('.');
            for (int i = 0; i < segments.Length; i++)
            {
                var seg = segments[i];
                if (seg.Length == 0) return "a layer name's parts between dots cannot be empty";
                if (i == 0 && !IsLetter(seg[0])) return $"a layer name starts with a letter or '_', not {Describe(seg[0])}";
                foreach (var c in seg)
                    if (!IsLetter(c) && !IsDigit(c)) return $"a layer name holds only ASCII letters, digits, '_' and '.', not {Describe(c)}";
            }
            return null;
        }

        /// <summary>Null if <paramref name="s"/> is an identifier by the name rule, else what is wrong with it.</summary>
        public static string? CheckIdentifier(string s)
        {
            if (s.Length == 0) return "a name cannot be empty";
            if (s.Length > MaxLength) return $"a name has at most {MaxLength} characters, this one has {s.Length}";
            if (!IsLetter(s[0])) return $"a name starts with a letter or '_', not {Describe(s[0])}";
            foreach (var c in s) if (!IsLetter(c) && !IsDigit(c)) return $"a name holds only ASCII letters, digits and '_', not {Describe(c)}";
            return null;
        }

        private static string Describe(char c) =>
            c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029 || char.IsWhiteSpace(c)
                ? "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture)
                : "'" + c + "'";

        /// <summary>C# keywords: an identifier equal to one of these is written with '@'.</summary>
        public static readonly HashSet<string> CSharpKeywords = new HashSet<string>(StringComparer.Ordinal)
        {
            "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
            "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
            "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
            "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
            "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
            "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
            "using", "virtual", "void", "volatile", "while",
        };

        /// <summary>
        /// Contextual keywords that change meaning inside a method, a type declaration or a query: a network or member named
        /// like one of these is written with '@' too (always legal, and never ambiguous).
        /// </summary>
        public static readonly HashSet<string> ContextualKeywords = new HashSet<string>(StringComparer.Ordinal)
        {
            "add", "alias", "and", "args", "ascending", "async", "await", "by", "descending", "dynamic", "equals", "field", "file",
            "from", "get", "global", "group", "init", "into", "join", "let", "managed", "nameof", "nint", "not", "notnull",
            "nuint", "on", "or", "orderby", "partial", "record", "remove", "required", "scoped", "select", "set", "unmanaged",
            "value", "var", "when", "where", "with", "yield", "extension",
        };

        /// <summary>
        /// The C# identifier for a name: the name itself when it is a plain identifier, with '@' before a keyword. Anything
        /// else (which the name rule keeps out of a compiled network) is made an identifier by replacing each character that
        /// is not an ASCII letter, digit or '_' with '_' and putting '_' before a leading digit, so this never returns text
        /// that is not an identifier.
        /// </summary>
        public static string Identifier(string name)
        {
            var sb = new StringBuilder(name.Length + 1);
            foreach (var c in name) sb.Append(IsLetter(c) || IsDigit(c) ? c : '_');
            if (sb.Length == 0 || IsDigit(sb[0])) sb.Insert(0, '_');
            var s = sb.ToString();
            return CSharpKeywords.Contains(s) || ContextualKeywords.Contains(s) ? "@" + s : s;
        }

        /// <summary>The identifier without a leading '@' (to build longer names such as <c>ImageShape</c>).</summary>
        public static string Bare(string identifier) => identifier.StartsWith("@", StringComparison.Ordinal) ? identifier.Substring(1) : identifier;

        /// <summary>
        /// The PascalCase member name of a layer or input: each dot-separated part capitalized, parts joined by '_'
        /// (<c>layer1.0.conv1</c> → <c>Layer1_0_conv1</c>), made an identifier by <see cref="Identifier"/> without '@'.
        /// </summary>
        public static string Pascal(string name)
        {
            var s = string.Join("_", name.Split('.').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p.Substring(1)));
            return Bare(Identifier(s));
        }

        /// <summary>A C# regular string literal with its quotes: every character that could end or change it is escaped.</summary>
        public static string Literal(string s)
        {
            var sb = new StringBuilder(s.Length + 2);
            sb.Append('"');
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\0': sb.Append("\\0"); break;
                    default:
                        if (c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029 || char.IsSurrogate(c) || c > 0x7e)
                            sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
            return sb.ToString();
        }

        /// <summary>
        /// Text safe as one line inside a C# verbatim string literal (<c>@"…"</c>): quotes doubled, and every character C#
        /// or a reader of the lines takes as a line break (CR, LF, NEL, LS, PS) replaced by a space, so a table of such lines
        /// keeps one entry per line.
        /// </summary>
        public static string VerbatimLine(string s)
        {
            var sb = new StringBuilder(s.Length);
            foreach (var c in s)
            {
                if (c == '"') sb.Append("\"\"");
                else if (c == '\r' || c == '\n' || c == '\u0085' || c == '\u2028' || c == '\u2029') sb.Append(' ');
                else sb.Append(c);
            }
            return sb.ToString();
        }

        /// <summary>
        /// Text safe inside an interpolated string literal's literal part: <see cref="Literal"/> without the quotes, with
        /// braces doubled.
        /// </summary>
        public static string InterpolatedText(string s)
        {
            var lit = Literal(s);
            return lit.Substring(1, lit.Length - 2).Replace("{", "{{").Replace("}", "}}");
        }

        /// <summary>
        /// Text safe inside a single-line <c>//</c> comment: printable ASCII is kept, every other character (line breaks,
        /// U+0085, U+2028, U+2029, control characters, anything non-ASCII) is written as <c>\uXXXX</c>.
        /// </summary>
        /// <summary>
        /// The file name of a <c>#line</c> directive, or null when the path cannot be one: C# gives that name no escapes, so a
        /// path holding a quote or any line break (\r, \n, U+0085, U+2028, U+2029) gets no directive at all.
        /// </summary>
        public static string? LineDirectivePath(string path)
        {
            foreach (var c in path)
                if (c == '"' || c == '\r' || c == '\n' || c == '\u0085' || c == '\u2028' || c == '\u2029') return null;
            return path;
        }

        public static string Comment(string s)
        {
            var sb = new StringBuilder(s.Length);
            foreach (var c in s)
            {
                if (c >= 0x20 && c < 0x7f) sb.Append(c);
                else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            return sb.ToString();
        }

        /// <summary>Text safe inside a <c>///</c> XML documentation comment: <see cref="Comment"/> with &amp;, &lt; and &gt; escaped.</summary>
        public static string Xml(string s) => Comment(s).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
    }
}
