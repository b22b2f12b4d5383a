using System;
using System.Collections.Generic;

namespace NetDsl.Compiler.Syntax
{
    /// <summary>
    /// Character-level scanning rules shared by the Sprache grammar (<see cref="NetParser"/>) and the
    /// token <see cref="Lexer"/> that the parser uses only to describe errors and to recover from them.
    /// Keeping both on the same rules guarantees that an error position is always the start of a token.
    /// </summary>
    internal static class Scan
    {
        public static readonly HashSet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
        {
            "network", "block", "input", "output", "loss", "repeat", "for", "in", "if", "then", "else",
            "return", "true", "false", "int", "float", "bool",
        };

        /// <summary>Keywords that begin a statement.</summary>
        public static readonly HashSet<string> StatementKeywords = new HashSet<string>(StringComparer.Ordinal)
        {
            "input", "output", "loss", "repeat", "for", "if", "return",
        };

        /// <summary>Two-character operators, tried before single characters.</summary>
        public static readonly string[] TwoCharOps = { "|>", "||", "&&", "==", "!=", "<=", ">=" };

        public static bool IsIdentStart(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        public static bool IsIdentPart(char c) => IsIdentStart(c) || IsDigit(c);
        public static bool IsDigit(char c) => c >= '0' && c <= '9';

        /// <summary>Skips whitespace, `//` and `/* */` comments; stops before an unterminated `/*`.</summary>
        public static int SkipTrivia(string text, int p)
        {
            while (p < text.Length)
            {
                char c = text[p];
                if (char.IsWhiteSpace(c)) { p++; continue; }
                if (c == '/' && p + 1 < text.Length && text[p + 1] == '/')
                {
                    while (p < text.Length && text[p] != '\n') p++;
                    continue;
                }
                if (c == '/' && p + 1 < text.Length && text[p + 1] == '*')
                {
                    int close = text.IndexOf("*/", p + 2, StringComparison.Ordinal);
                    if (close < 0) return p; // unterminated: left for the parser to fail on
                    p = close + 2;
                    continue;
                }
                break;
            }
            return p;
        }

        /// <summary>End of the identifier starting at p, or p if none.</summary>
        public static int ScanIdent(string text, int p)
        {
            if (p >= text.Length || !IsIdentStart(text[p])) return p;
            int q = p + 1;
            while (q < text.Length && IsIdentPart(text[q])) q++;
            return q;
        }

        /// <summary>End of the number literal at p (`12`, `1.5`, `.5`, `1e-3`, `2.5E+4`), or p if none.</summary>
        public static int ScanNumber(string text, int p, out bool isFloat)
        {
            isFloat = false;
            int q = p;
            while (q < text.Length && IsDigit(text[q])) q++;
            if (q < text.Length && text[q] == '.' && q + 1 < text.Length && IsDigit(text[q + 1]))
            {
                q += 2;
                while (q < text.Length && IsDigit(text[q])) q++;
                isFloat = true;
            }
            if (q == p) return p;
            if (q < text.Length && (text[q] == 'e' || text[q] == 'E'))
            {
                int r = q + 1;
                if (r < text.Length && (text[r] == '+' || text[r] == '-')) r++;
                if (r < text.Length && IsDigit(text[r]))
                {
                    while (r < text.Length && IsDigit(text[r])) r++;
                    q = r;
                    isFloat = true;
                }
            }
            return q;
        }

        /// <summary>
        /// Scans a string literal starting at the opening quote. Returns the end (after the closing quote)
        /// and the unescaped value, or -1 when the string is not closed on its line.
        /// </summary>
        public static int ScanString(string text, int p, out string value)
        {
            value = "";
            if (p >= text.Length || text[p] != '"') return -1;
            var sb = new System.Text.StringBuilder();
            int q = p + 1;
            while (q < text.Length)
            {
                char c = text[q];
                if (c == '"') { value = sb.ToString(); return q + 1; }
                if (c == '\n' || c == '\r') return -1;
                if (c == '\\' && q + 1 < text.Length)
                {
                    char e = text[q + 1];
                    switch (e)
                    {
                        case 'n': sb.Append('\n'); break;
                        case 't': sb.Append('\t'); break;
                        case 'r': sb.Append('\r'); break;
                        case '\\': sb.Append('\\'); break;
                        case '"': sb.Append('"'); break;
                        default: sb.Append('\\').Append(e); break;
                    }
                    q += 2;
                    continue;
                }
                sb.Append(c);
                q++;
            }
            return -1;
        }
    }

    internal enum TokenKind { Identifier, Keyword, Number, String, Punct, Error, End }

    /// <summary>A token with its offsets and 1-based positions (End is exclusive).</summary>
    internal sealed class Token
    {
        public TokenKind Kind;
        public string Text = "";
        public int Start, End;
        public int Line, Column, EndLine, EndColumn;
        public bool FirstOnLine;
        /// <summary>For <see cref="TokenKind.Error"/>: what is wrong ("unterminated string literal").</summary>
        public string? Problem;

        public SourceSpan Span => new SourceSpan(Line, Column, EndLine, EndColumn);

        /// <summary>How an error message names this token: `'}'`, `keyword 'then'`, `end of file`.</summary>
        public string Describe()
        {
            switch (Kind)
            {
                case TokenKind.End: return "end of file";
                case TokenKind.Keyword: return "keyword '" + Text + "'";
                case TokenKind.Error: return Problem ?? ("'" + Shorten(Text) + "'");
                case TokenKind.String: return "string " + Shorten(Text);
                default: return "'" + Shorten(Text) + "'";
            }
        }

        public static string Shorten(string s) => s.Length <= 24 ? s : s.Substring(0, 21) + "...";
    }

    /// <summary>
    /// Splits a .net file into tokens. The grammar itself is Sprache (<see cref="NetParser"/>); this lexer
    /// is used only after a failure: to name the token found, the token before it, and to find the next
    /// statement or declaration to resume at. Never throws.
    /// </summary>
    internal static class Lexer
    {
        public static List<Token> Tokenize(string text)
        {
            var tokens = new List<Token>();
            int p = 0, line = 1, col = 1;
            int lastEndLine = 0;

            void AdvanceTo(int target)
            {
                while (p < target)
                {
                    if (text[p] == '\n') { line++; col = 1; } else col++;
                    p++;
                }
            }

            while (true)
            {
                AdvanceTo(Scan.SkipTrivia(text, p));
                var t = new Token { Start = p, Line = line, Column = col, FirstOnLine = line != lastEndLine };
                if (p >= text.Length)
                {
                    t.Kind = TokenKind.End;
                    t.End = p; t.EndLine = line; t.EndColumn = col;
                    tokens.Add(t);
                    return tokens;
                }
                char c = text[p];
                int end;
                if (Scan.IsIdentStart(c))
                {
                    end = Scan.ScanIdent(text, p);
                    t.Text = text.Substring(p, end - p);
                    t.Kind = Scan.Keywords.Contains(t.Text) ? TokenKind.Keyword : TokenKind.Identifier;
                    if (end - p > Names.MaxLength)
                    {
                        t.Kind = TokenKind.Error;
                        t.Problem = $"a name has at most {Names.MaxLength} characters, this one has {end - p}";
                    }
                }
                else if (Scan.IsDigit(c) || (c == '.' && p + 1 < text.Length && Scan.IsDigit(text[p + 1])))
                {
                    end = Scan.ScanNumber(text, p, out _);
                    t.Kind = TokenKind.Number;
                }
                else if (c == '"')
                {
                    end = Scan.ScanString(text, p, out _);
                    if (end < 0)
                    {
                        end = p;
                        while (end < text.Length && text[end] != '\n' && text[end] != '\r') end++;
                        t.Kind = TokenKind.Error;
                        t.Problem = "unterminated string literal";
                    }
                    else t.Kind = TokenKind.String;
                }
                else if (c == '/' && p + 1 < text.Length && text[p + 1] == '*')
                {
                    end = text.Length; // SkipTrivia stopped here: the comment is never closed
                    t.Kind = TokenKind.Error;
                    t.Problem = "unterminated comment '/*'";
                }
                else
                {
                    end = p + 1;
                    foreach (var op in Scan.TwoCharOps)
                        if (string.CompareOrdinal(text, p, op, 0, 2) == 0) { end = p + 2; break; }
                    if (char.IsHighSurrogate(c) && end < text.Length && char.IsLowSurrogate(text[end])) end++;
                    t.Kind = TokenKind.Punct;
                }
                if (end <= p) end = p + 1;
                t.Text = text.Substring(p, end - p);
                AdvanceTo(end);
                t.End = p; t.EndLine = line; t.EndColumn = col;
                lastEndLine = line;
                tokens.Add(t);
            }
        }
    }
}
