using System.Text;

namespace NetDsl.Compiler.Emit
{
    /// <summary>A tiny indented text writer: generated code is formatted as it is written.</summary>
    internal sealed class CodeWriter
    {
        private readonly StringBuilder _sb = new StringBuilder();
        private int _indent;
        /// <summary>
        /// Debug mode: a `#line` directive written before every line (of a multi-line text too) until it is cleared, so each
        /// line of a kernel's code maps to the kernel's .net line (a directive maps only the line after it and those that follow
        /// in sequence).
        /// </summary>
        public string? LineDirective { get; set; }

        public CodeWriter Line(string text = "")
        {
            if (text.Length == 0) { _sb.Append('\n'); return this; }
            if (LineDirective != null)
            {
                foreach (var part in text.Split('\n'))
                    _sb.Append(' ', _indent * 4).Append(LineDirective).Append('\n').Append(' ', _indent * 4).Append(part).Append('\n');
                return this;
            }
            _sb.Append(' ', _indent * 4).Append(text).Append('\n');
            return this;
        }
        public CodeWriter Open(string text) { Line(text); Line("{"); _indent++; return this; }
        public CodeWriter Close(string suffix = "") { _indent--; Line("}" + suffix); return this; }
        public override string ToString() => _sb.ToString();
    }
}
