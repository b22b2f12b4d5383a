using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Sprache;

namespace NetDsl.Compiler.Syntax
{
    /// <summary>
    /// The parser of .net files (the Syntax stage). A Sprache grammar for declarations, statements and
    /// expressions, driven by a small hand-written loop that recovers after syntax errors, so that one run
    /// reports every broken statement and declaration of a file (NDSL0001), each at the exact line and
    /// column of the offending token.
    /// </summary>
    public static class NetParser
    {
        /// <summary>
        /// Parses <paramref name="text"/>. Never throws: every problem is an NDSL0001 diagnostic in
        /// <paramref name="diagnostics"/>, and the result holds whatever declarations could be parsed.
        /// </summary>
        public static SourceFile Parse(string path, string text, DiagnosticBag diagnostics)
        {
            path ??= "";
            diagnostics ??= new DiagnosticBag(path);
            var decls = new List<Decl>();
            Grammar? grammar = null;
            try
            {
                grammar = new Grammar(text ?? "", diagnostics);
                grammar.ParseFile(decls);
            }
            catch (Exception ex)
            {
                var span = grammar?.LastPosition ?? new SourceSpan(1, 1, 1, 1);
                try { diagnostics.Error(DiagnosticIds.SyntaxError, span, "the parser failed here: " + ex.Message); }
                catch { /* a broken bag must not make the parser throw */ }
            }
            return new SourceFile(path, decls);
        }
    }

    /// <summary>An identifier with its span.</summary>
    internal readonly struct Ident
    {
        public readonly string Text;
        public readonly SourceSpan Span;
        public Ident(string text, SourceSpan span) { Text = text; Span = span; }
    }

    /// <summary>One parse of one file: the grammar, the furthest-failure tracker and error recovery.</summary>
    internal sealed class Grammar
    {
        private const int MaxDepth = 100;      // nesting of expressions and bodies (guards the stack)
        /// <summary>The most items of one chain: `|>` steps, operands of one operator level, list items, statements of a body.</summary>
        internal const int MaxChain = 10_000;
        private const int MaxErrors = 100;

        private readonly string _text;
        private readonly DiagnosticBag _diagnostics;
        private readonly HashSet<long> _reportedAt = new HashSet<long>();
        private int _errorCount;
        private List<Token>? _tokens;
        private Failure? _furthest;
        private int _depth;

        public SourceSpan LastPosition { get; private set; } = new SourceSpan(1, 1, 1, 1);

        // --------------------------------------------------------------- furthest failure
        /// <summary>
        /// The furthest token position at which something was expected and not found, with what was
        /// expected there: the classic PEG error report, robust to Sprache's backtracking.
        /// Immutable so that a snapshot is a reference.
        /// </summary>
        private sealed class Failure
        {
            public readonly int Position, Line, Column;
            public readonly string[] Expected;
            public readonly string? Message;
            public Failure(IInput at, string[] expected, string? message)
            {
                Position = at.Position; Line = at.Line; Column = at.Column; Expected = expected; Message = message;
            }
        }

        private void Expect(IInput at, string expected)
        {
            var f = _furthest;
            if (f == null || at.Position > f.Position) _furthest = new Failure(at, new[] { expected }, null);
            else if (at.Position == f.Position && f.Message == null && Array.IndexOf(f.Expected, expected) < 0)
                _furthest = new Failure(at, f.Expected.Concat(new[] { expected }).ToArray(), null);
        }

        private void ExpectMessage(IInput at, string message)
        {
            var f = _furthest;
            if (f == null || at.Position >= f.Position) _furthest = new Failure(at, Array.Empty<string>(), message);
        }

        // --------------------------------------------------------------- grammar
        private readonly Parser<Expr> _expr;
        private readonly Parser<Expr> _unary;
        private readonly Parser<Stmt> _stmt;
        private readonly Parser<IfStmt> _ifStmt;
        private readonly Parser<ShapeExpr> _shape;
        private readonly Parser<(string Name, List<Param> Params)> _networkHeader;
        private readonly Parser<NetworkInstanceDecl> _networkInstance;
        private readonly Parser<(string Name, List<Param> Params, List<TensorParam> Inputs)> _blockHeader;

        public Grammar(string text, DiagnosticBag diagnostics)
        {
            _text = text;
            _diagnostics = diagnostics;

            Parser<Expr> expr = i => _expr!(i);
            Parser<Expr> unaryRef = i => _unary!(i);
            Parser<Stmt> stmt = i => _stmt!(i);
            Parser<IfStmt> ifStmt = i => _ifStmt!(i);

            // ---- arguments and calls
            var namedArg =
                from n in Identifier()
                from _ in Tok(":", quiet: true)
                from v in expr
                select new Arg(n.Text, v);
            var positionalArg = expr.Select(v => new Arg(null, v));
            var arg = Spanned(namedArg.Or(positionalArg));
            // '(' is quiet: after a name, "expected '('" would only be noise
            var callArgs =
                from _ in Tok("(", quiet: true)
                from args in SeparatedOptional(arg)
                from __ in Tok(")")
                select args;

            var callOrName = Spanned(
                from id in Identifier()
                from args in callArgs.XOptional()
                select args.IsDefined ? (Expr)new Call(id.Text, args.Get(), id.Span) : new Name(id.Text));

            // ---- primaries
            var boolLit = Spanned(Tok("true").Return((Expr)new BoolLit(true)).Or(Tok("false").Return((Expr)new BoolLit(false))));
            var parenOrTuple = Spanned(
                from _ in Tok("(")
                from items in Separated(expr)
                from __ in Tok(")")
                select items.Count == 1 ? items[0] : new TupleExpr(items));
            var listLit = Spanned(
                from _ in Tok("[")
                from items in SeparatedOptional(expr)
                from __ in Tok("]")
                select (Expr)new ListExpr(items));
            var primary = NumberLiteral().Or(boolLit).Or(StringLiteral()).Or(callOrName).Or(parenOrTuple).Or(listLit);

            _unary = Named(Guard(Spanned(
                    from op in Tok("-", quiet: true).Or(Tok("!", quiet: true))
                    from e in unaryRef
                    select (Expr)new Unary(op, e)))
                .Or(primary), "an expression");

            var mul = BinaryLevel(unaryRef, "*", "/", "%");
            var add = BinaryLevel(mul, "+", "-");
            var cmpOp = Ops("==", "!=", "<=", ">=", "<", ">");
            var cmp =
                from l in add
                from tail in (from op in cmpOp
                              from r in add
                              from _ in NotFollowedBy(cmpOp, "comparisons cannot be chained: use '&&' or parentheses")
                              select (op, r)).XOptional()
                select tail.IsDefined ? MakeBinary(tail.Get().op, l, tail.Get().r) : l;
            var and = BinaryLevel(cmp, "&&");
            var or = BinaryLevel(and, "||");

            var pipeTarget = Named(Spanned(
                from id in Identifier()
                from args in callArgs.XOptional()
                select args.IsDefined ? (Expr)new Call(id.Text, args.Get(), id.Span) : new Name(id.Text)),
                "a layer or block name");
            var pipe =
                from first in or
                from targets in XMany(from _ in Tok("|>", quiet: true) from t in pipeTarget select t)
                select targets.Aggregate(first, (acc, t) => (Expr)new Pipe(acc, t) { Span = Cover(acc.Span, t.Span) });

            var ifExpr = Spanned(
                from _ in Tok("if")
                from c in expr
                from __ in Tok("then")
                from a in expr
                from ___ in Tok("else")
                from b in expr
                select (Expr)new IfExpr(c, a, b));

            _expr = Guard(Named(ifExpr.Or(pipe), "an expression"));

            // ---- shapes
            _shape = Spanned(
                from _ in Tok("[")
                from dims in SeparatedOptional(expr)
                from __ in Tok("]")
                select new ShapeExpr(dims));

            // ---- statements
            var body =
                from _ in Tok("{")
                from stmts in StatementList()
                from __ in Tok("}")
                select (IReadOnlyList<Stmt>)stmts;

            var inputStmt =
                from _ in Tok("input")
                from n in Identifier()
                from g in Tok("grad", quiet: true).Optional()
                from __ in Tok(":")
                from t in Tok("int").Or(Tok("float")).Optional()
                from s in _shape
                select (Stmt)new InputStmt(n.Text, t.GetOrElse("float"), s, g.IsDefined);
            var outputStmt =
                from _ in Tok("output")
                from n in Identifier()
                from g in Tok("grad", quiet: true).Optional()
                from __ in Tok("=")
                from v in expr
                select (Stmt)new OutputStmt(n.Text, v, g.IsDefined);
            var lossStmt =
                from _ in Tok("loss")
                from __ in Tok("=")
                from v in expr
                select (Stmt)new LossStmt(v);
            var repeatStmt =
                from _ in Tok("repeat")
                from n in expr
                from b in body
                select (Stmt)new RepeatStmt(n, b);
            var loopVars =
                (from _ in Tok("(")
                 from vs in Separated(Identifier())
                 from __ in Tok(")")
                 select (IReadOnlyList<string>)vs.Select(v => v.Text).ToList())
                .Or(Identifier().Select(v => (IReadOnlyList<string>)new[] { v.Text }));
            var forStmt =
                from _ in Tok("for")
                from vs in loopVars
                from __ in Tok("in")
                from src in expr
                from b in body
                select (Stmt)new ForStmt(vs, src, b);
            var elseClause =
                from _ in Tok("else")
                from b in body.Or(Spanned(ifStmt).Select(s => (IReadOnlyList<Stmt>)new Stmt[] { s }))
                select b;
            _ifStmt = Guard(Spanned(
                from _ in Tok("if")
                from c in expr
                from t in body
                from e in elseClause.XOptional()
                select new IfStmt(c, t, e.GetOrDefault())));
            var returnStmt =
                from _ in Tok("return")
                from v in expr
                select (Stmt)new ReturnStmt(v);
            var assignStmt =
                from n in Identifier()
                from shape in (from _ in Tok(":", quiet: true) from s in _shape select s).XOptional()
                from _ in Tok("=")
                from v in expr
                select (Stmt)new AssignStmt(n.Text, shape.GetOrDefault(), v);

            var destructureStmt =
                from first in Identifier()
                from rest in XMany(from _ in Tok(",", quiet: true) from m in Identifier() select m)
                where rest.Count > 0
                from _ in Tok("=")
                from v in expr
                select (Stmt)new DestructureStmt(new[] { first.Text }.Concat(rest.Select(r => r.Text)).ToList(), v);

            _stmt = Guard(Named(Spanned(
                inputStmt.Or(outputStmt).Or(lossStmt).Or(repeatStmt).Or(forStmt)
                    .Or(ifStmt.Select(s => (Stmt)s)).Or(returnStmt).Or(assignStmt).Or(destructureStmt)),
                "a statement"));

            // ---- declarations
            var param = Spanned(
                from n in Identifier()
                from _ in Tok(":")
                from t in Tok("int").Or(Tok("float")).Or(Tok("bool"))
                from d in (from _ in Tok("=") from e in expr select e).XOptional()
                select new Param(n.Text, t, d.GetOrDefault()));
            var paramList =
                from _ in Tok("(")
                from ps in SeparatedOptional(param)
                from __ in Tok(")")
                select ps;
            var tensorParam = Spanned(
                from n in Identifier()
                from s in (from _ in Tok(":") from s in _shape select s).XOptional()
                select new TensorParam(n.Text, s.GetOrDefault()));
            var tensorParamList =
                from _ in Tok("(")
                from ps in SeparatedOptional(tensorParam)
                from __ in Tok(")")
                select ps;

            _networkHeader =
                from _ in Tok("network")
                from n in Identifier()
                from ps in paramList.XOptional()
                from __ in Tok("{")
                select (n.Text, ps.GetOrElse(new List<Param>()));
            _networkInstance =
                from _ in Tok("network")
                from n in Identifier()
                from eq in Tok("=")
                from of in Identifier()
                from args in callArgs
                select new NetworkInstanceDecl(n.Text, of.Text, of.Span, args);
            _blockHeader =
                from _ in Tok("block")
                from n in Identifier()
                from ps in paramList.Optional()   // backtracks: `block B(x)` has only tensor parameters
                from ins in tensorParamList
                from __ in Tok("{")
                select (n.Text, ps.GetOrElse(new List<Param>()), ins);
        }

        // --------------------------------------------------------------- driver
        /// <summary>file := (network | block)*, recovering at the next declaration after an error.</summary>
        public void ParseFile(List<Decl> decls)
        {
            IInput cur = new Input(_text);
            while (_errorCount < MaxErrors)
            {
                var s = SkipTrivia(cur);
                LastPosition = At(s);
                if (s.AtEnd) break;
                _furthest = null;
                bool isNetwork = AtWord(s, "network");
                if (!isNetwork && !AtWord(s, "block"))
                {
                    var tok = TokenAt(s.Position);
                    Report(tok.Span, "expected 'network' or 'block' at the start of a declaration, found " + tok.Describe());
                    cur = SkipToDeclaration(s);
                    continue;
                }

                if (isNetwork)
                {
                    var inst = _networkInstance(s);
                    if (inst.WasSuccessful)
                    {
                        var r = inst.Remainder;
                        decls.Add(inst.Value with { Span = new SourceSpan(s.Line, s.Column, r.Line, r.Column) });
                        cur = r;
                        continue;
                    }
                    _furthest = null; // not an instance: report errors as a network with a body
                }

                string name;
                List<Param> ps;
                List<TensorParam>? inputs = null;
                IInput afterHeader;
                if (isNetwork)
                {
                    var h = _networkHeader(s);
                    if (!h.WasSuccessful) { ReportFurthest(s); cur = SkipToDeclaration(s); continue; }
                    (name, ps) = h.Value;
                    afterHeader = h.Remainder;
                }
                else
                {
                    var h = _blockHeader(s);
                    if (!h.WasSuccessful) { ReportFurthest(s); cur = SkipToDeclaration(s); continue; }
                    (name, ps, inputs) = h.Value;
                    afterHeader = h.Remainder;
                }

                var body = StatementList()(afterHeader);
                var end = body.Remainder;
                _furthest = null;
                var close = Tok("}")(end);
                if (close.WasSuccessful) end = close.Remainder;
                else
                {
                    var tok = TokenAt(SkipTrivia(end).Position);
                    Report(tok.Span, $"expected '}}' to close {(isNetwork ? "network" : "block")} '{name}' " +
                                     $"(declared at line {s.Line}), found {tok.Describe()}");
                }

                var span = new SourceSpan(s.Line, s.Column, end.Line, end.Column);
                decls.Add(isNetwork
                    ? new NetworkDecl(name, ps, body.Value) { Span = span }
                    : new BlockDecl(name, ps, inputs!, body.Value) { Span = span });
                cur = end;
            }
            if (_errorCount >= MaxErrors)
                Report(LastPosition, "too many syntax errors; the rest of the file was not parsed", force: true);
        }

        /// <summary>
        /// stmt* up to (not including) '}', the end of the file or a `network`/`block` keyword.
        /// A statement that fails is reported and skipped (to the next line that starts a statement,
        /// or to the '}' closing this list); the list itself never fails.
        /// </summary>
        private Parser<List<Stmt>> StatementList() => i =>
        {
            var list = new List<Stmt>();
            var saved = _furthest;
            var cur = i;
            while (_errorCount < MaxErrors)
            {
                var s = SkipTrivia(cur);
                LastPosition = At(s);
                if (s.AtEnd || s.Current == '}' || AtWord(s, "network") || AtWord(s, "block")) break;
                _furthest = null;
                var r = _stmt(s);
                if (r.WasSuccessful && !r.Remainder.Equals(s))
                {
                    list.Add(r.Value);
                    cur = r.Remainder;
                    continue;
                }
                ReportFurthest(s);
                cur = SkipToStatement(s);
            }
            _furthest = saved;
            return Result.Success(list, cur);
        };

        // --------------------------------------------------------------- recovery
        private List<Token> Tokens => _tokens ??= Lexer.Tokenize(_text);

        /// <summary>The token at (or the first after) a character offset.</summary>
        private int TokenIndexAt(int offset)
        {
            var t = Tokens;
            int lo = 0, hi = t.Count - 1;
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (t[mid].End <= offset && t[mid].Kind != TokenKind.End) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        private Token TokenAt(int offset) => Tokens[TokenIndexAt(offset)];

        private IInput SkipToDeclaration(IInput from)
        {
            var t = Tokens;
            int k = TokenIndexAt(from.Position) + 1;
            while (k < t.Count - 1 && !(t[k].Kind == TokenKind.Keyword && (t[k].Text == "network" || t[k].Text == "block"))) k++;
            return AdvanceTo(from, Math.Min(k, t.Count - 1));
        }

        /// <summary>
        /// Skips the failed statement starting at <paramref name="from"/>: at least one token, then up to a
        /// '}' that closes the current list, a line whose first token starts a statement, or a declaration.
        /// </summary>
        private IInput SkipToStatement(IInput from)
        {
            var t = Tokens;
            int k = TokenIndexAt(from.Position);
            int depth = 0;
            if (t[k].Kind != TokenKind.End)
            {
                if (t[k].Text == "{") depth++;
                k++;
            }
            for (; k < t.Count - 1; k++)
            {
                var tok = t[k];
                if (tok.Kind == TokenKind.Keyword && (tok.Text == "network" || tok.Text == "block")) break;
                if (tok.Kind == TokenKind.Punct && tok.Text == "}")
                {
                    if (depth == 0) break;
                    depth--;
                    continue;
                }
                if (tok.Kind == TokenKind.Punct && tok.Text == "{") { depth++; continue; }
                if (depth == 0 && tok.FirstOnLine && StartsStatement(k)) break;
            }
            return AdvanceTo(from, k);
        }

        private bool StartsStatement(int k)
        {
            var t = Tokens;
            var tok = t[k];
            if (tok.Kind == TokenKind.Keyword) return Scan.StatementKeywords.Contains(tok.Text);
            if (tok.Kind != TokenKind.Identifier || k + 1 >= t.Count) return false;
            var next = t[k + 1];
            return next.Kind == TokenKind.Punct && (next.Text == "=" || next.Text == ":");
        }

        private IInput AdvanceTo(IInput from, int tokenIndex)
        {
            int target = Tokens[tokenIndex].Start;
            var cur = from;
            while (cur.Position < target && !cur.AtEnd) cur = cur.Advance();
            return cur;
        }

        // --------------------------------------------------------------- reporting
        private void ReportFurthest(IInput fallback)
        {
            var f = _furthest;
            int offset = f?.Position ?? SkipTrivia(fallback).Position;
            int index = TokenIndexAt(offset);
            var tok = Tokens[index];
            var prev = index > 0 ? Tokens[index - 1] : null;
            string found = tok.Describe();
            string message;
            if (f?.Message != null) message = f.Message;
            else if (f == null || f.Expected.Length == 0) message = "unexpected " + found;
            else if (f.Expected.Length == 1 && f.Expected[0] == "a statement")
            {
                var before = index > 1 ? Tokens[index - 2] : null;
                // `y = a +` NEWLINE `z = b`: the grammar is newline-insensitive, so `a + z` was taken as
                // the expression and the error is at the second '='; say what most likely happened.
                if (prev != null && before != null && prev.FirstOnLine && prev.Kind == TokenKind.Identifier &&
                    (tok.Text == "=" || tok.Text == ":") && tok.Kind == TokenKind.Punct)
                    message = $"unexpected {found}: the statement on line {before.Line} is incomplete " +
                              $"(it ends with '{Token.Shorten(before.Text)}') and was continued by '{Token.Shorten(prev.Text)}'";
                else if (prev != null && !tok.FirstOnLine && tok.Kind != TokenKind.End && tok.Kind != TokenKind.Error && prev.Text != "{" && prev.Text != "}")
                    message = $"unexpected {found} after '{Token.Shorten(prev.Text)}'; expected an operator, or a new statement on the next line";
                else
                    message = $"unexpected {found}; expected a statement";
            }
            else
                message = "expected " + JoinOr(f.Expected) +
                          (prev != null ? $" after '{Token.Shorten(prev.Text)}'" : "") + ", found " + found;
            var span = tok.Span;
            if (f != null && (f.Line != span.Line || f.Column != span.Column))
                span = new SourceSpan(f.Line, f.Column, f.Line, f.Column);
            Report(span, message);
        }

        private static string JoinOr(string[] items)
        {
            if (items.Length == 1) return items[0];
            return string.Join(", ", items.Take(items.Length - 1)) + " or " + items[items.Length - 1];
        }

        private void Report(SourceSpan span, string message, bool force = false)
        {
            long key = ((long)span.Line << 32) | (uint)span.Column;
            if (!_reportedAt.Add(key) && !force) return;
            _errorCount++;
            _diagnostics.Error(DiagnosticIds.SyntaxError, span, message);
        }

        // --------------------------------------------------------------- combinators
        private static SourceSpan At(IInput i) => new SourceSpan(i.Line, i.Column, i.Line, i.Column);

        private static SourceSpan Cover(SourceSpan a, SourceSpan b) => new SourceSpan(a.Line, a.Column, b.EndLine, b.EndColumn);

        private int _skipFrom = -1;
        private IInput? _skipTo;

        /// <summary>Skips whitespace and comments. Backtracking asks for the same position many times: cached.</summary>
        private IInput SkipTrivia(IInput i)
        {
            if (i.Position == _skipFrom && _skipTo != null) return _skipTo;
            int from = i.Position;
            int target = Scan.SkipTrivia(_text, from);
            while (i.Position < target) i = i.Advance();
            _skipFrom = from;
            _skipTo = i;
            return i;
        }

        private IInput AdvanceBy(IInput i, int n)
        {
            for (int k = 0; k < n; k++) i = i.Advance();
            return i;
        }

        private bool AtWord(IInput s, string word) =>
            string.CompareOrdinal(_text, s.Position, word, 0, word.Length) == 0 &&
            (s.Position + word.Length >= _text.Length || !Scan.IsIdentPart(_text[s.Position + word.Length]));

        private static IResult<T> Fail<T>(IInput i) => Result.Failure<T>(i, "syntax error", Array.Empty<string>());

        /// <summary>
        /// A keyword or punctuation token. Skips leading trivia only, so the remainder of any parser is the
        /// end of its last token (what spans need). On failure it consumes nothing and, unless quiet,
        /// records what was expected at the token position.
        /// </summary>
        private Parser<string> Tok(string token, bool quiet = false)
        {
            bool word = Scan.IsIdentStart(token[0]);
            bool noEqualAfter = token == "=" || token == "<" || token == ">" || token == "!";
            string expected = "'" + token + "'";
            return i =>
            {
                var s = SkipTrivia(i);
                int p = s.Position;
                int after = p + token.Length;
                bool ok = string.CompareOrdinal(_text, p, token, 0, token.Length) == 0 && after <= _text.Length;
                if (ok && word && after < _text.Length && Scan.IsIdentPart(_text[after])) ok = false;
                if (ok && noEqualAfter && after < _text.Length && _text[after] == '=') ok = false;
                if (ok && token == "/" && after < _text.Length && (_text[after] == '*' || _text[after] == '/')) ok = false;
                if (ok) return Result.Success(token, AdvanceBy(s, token.Length));
                if (!quiet) Expect(s, expected);
                return Fail<string>(i);
            };
        }

        private Parser<string> Ops(params string[] ops)
        {
            Parser<string>? p = null;
            foreach (var op in ops)
            {
                var t = Tok(op, quiet: true);
                p = p == null ? t : p.Or(t);
            }
            return p!;
        }

        private Parser<Ident> Identifier() => i =>
        {
            var s = SkipTrivia(i);
            int end = Scan.ScanIdent(_text, s.Position);
            if (end > s.Position)
            {
                string word = _text.Substring(s.Position, end - s.Position);
                if (word.Length > Names.MaxLength)
                {
                    ExpectMessage(s, $"a name has at most {Names.MaxLength} characters, this one has {word.Length} (docs/language.md#limits)");
                    return Fail<Ident>(s);
                }
                if (!Scan.Keywords.Contains(word))
                {
                    var e = AdvanceBy(s, end - s.Position);
                    return Result.Success(new Ident(word, new SourceSpan(s.Line, s.Column, e.Line, e.Column)), e);
                }
            }
            Expect(s, "an identifier");
            return Fail<Ident>(i);
        };

        private Parser<Expr> NumberLiteral() => i =>
        {
            var s = SkipTrivia(i);
            int p = s.Position;
            int end = Scan.ScanNumber(_text, p, out bool isFloat);
            if (end == p) { Expect(s, "a number"); return Fail<Expr>(i); }
            string literal = _text.Substring(p, end - p);
            var e = AdvanceBy(s, end - p);
            var span = new SourceSpan(s.Line, s.Column, e.Line, e.Column);
            Expr value;
            if (isFloat)
            {
                if (!double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ||
                    double.IsInfinity(d))
                {
                    Report(span, $"the number '{Token.Shorten(literal)}' is out of range");
                    d = 0;
                }
                value = new FloatLit(d) { Span = span };
            }
            else
            {
                if (!long.TryParse(literal, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                {
                    Report(span, $"the integer '{Token.Shorten(literal)}' is out of range");
                    n = 0;
                }
                value = new IntLit(n) { Span = span };
            }
            return Result.Success(value, e);
        };

        private Parser<Expr> StringLiteral() => i =>
        {
            var s = SkipTrivia(i);
            int end = Scan.ScanString(_text, s.Position, out string value);
            if (end < 0) { Expect(s, "a string"); return Fail<Expr>(i); }
            var e = AdvanceBy(s, end - s.Position);
            return Result.Success((Expr)new StringLit(value) { Span = new SourceSpan(s.Line, s.Column, e.Line, e.Column) }, e);
        };

        /// <summary>Runs p at the first token and stamps the node it returns with the span of its tokens.</summary>
        private Parser<T> Spanned<T>(Parser<T> p) where T : Node => i =>
        {
            var s = SkipTrivia(i);
            var r = p(s);
            if (!r.WasSuccessful) return r.Remainder.Equals(s) ? Fail<T>(i) : r;
            var span = new SourceSpan(s.Line, s.Column, r.Remainder.Line, r.Remainder.Column);
            return Result.Success((T)(((Node)r.Value!) with { Span = span }), r.Remainder);
        };

        /// <summary>
        /// When p fails at its first token, replaces what its parts expected there ("'(' or an identifier or
        /// ...") by one name ("an expression").
        /// </summary>
        private Parser<T> Named<T>(Parser<T> p, string name) => i =>
        {
            var snapshot = _furthest;
            var r = p(i);
            if (!r.WasSuccessful)
            {
                var s = SkipTrivia(i);
                var f = _furthest;
                if (f == null || f.Position < s.Position || (f.Position == s.Position && f.Message == null))
                {
                    _furthest = snapshot;
                    Expect(s, name);
                }
            }
            return r;
        };

        /// <summary>Limits nesting so that deeply nested garbage cannot overflow the stack.</summary>
        private Parser<T> Guard<T>(Parser<T> p) => i =>
        {
            if (_depth >= MaxDepth)
            {
                ExpectMessage(SkipTrivia(i), $"nesting is too deep (more than {MaxDepth} levels)");
                return Fail<T>(i);
            }
            _depth++;
            try { return p(i); }
            finally { _depth--; }
        };

        /// <summary>
        /// p*, failing (instead of stopping) when an item fails after consuming input. Unlike Sprache's
        /// XMany it does not re-run the failing item, which would be exponential on nested input.
        /// </summary>
        private Parser<List<T>> XMany<T>(Parser<T> p) => i =>
        {
            var list = new List<T>();
            var cur = i;
            while (true)
            {
                if (list.Count >= MaxChain)
                {
                    ExpectMessage(SkipTrivia(cur), $"this expression is longer than {MaxChain:N0} steps (|>, operators or list items); split it with intermediate bindings (docs/language.md#limits)");
                    return Fail<List<T>>(cur);
                }
                var r = p(cur);
                if (!r.WasSuccessful)
                    return r.Remainder.Equals(cur)
                        ? Result.Success(list, cur)
                        : Result.Failure<List<T>>(r.Remainder, r.Message, r.Expectations);
                if (r.Remainder.Equals(cur)) return Result.Success(list, cur);
                list.Add(r.Value);
                cur = r.Remainder;
            }
        };

        /// <summary>item (',' item)*</summary>
        private Parser<List<T>> Separated<T>(Parser<T> item) =>
            from head in item
            from tail in XMany(from _ in Tok(",") from x in item select x)
            select new List<T>(new[] { head }.Concat(tail));

        /// <summary>(item (',' item)*)?</summary>
        private Parser<List<T>> SeparatedOptional<T>(Parser<T> item) =>
            Separated(item).XOptional().Select(o => o.IsDefined ? o.Get() : new List<T>());

        private Parser<Expr> BinaryLevel(Parser<Expr> operand, params string[] ops) =>
            from first in operand
            from rest in XMany(from op in Ops(ops) from r in operand select (op, r))
            select rest.Aggregate(first, (acc, x) => MakeBinary(x.op, acc, x.r));

        /// <summary>Succeeds, consuming nothing, unless p matches here; then fails with a message.</summary>
        private Parser<object?> NotFollowedBy<T>(Parser<T> p, string message) => i =>
        {
            var saved = _furthest;
            var r = p(i);
            _furthest = saved;
            if (!r.WasSuccessful) return Result.Success<object?>(null, i);
            ExpectMessage(SkipTrivia(i), message);
            return Result.Failure<object?>(r.Remainder, message, Array.Empty<string>());
        };

        private static Expr MakeBinary(string op, Expr left, Expr right) =>
            new Binary(op, left, right) { Span = Cover(left.Span, right.Span) };
    }
}
