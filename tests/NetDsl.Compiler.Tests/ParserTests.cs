using NetDsl.Compiler;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Tests;

public class ParserTests
{
    // ------------------------------------------------------------------ helpers
    internal static string LeNet5Text() => File.ReadAllText(RepoPaths.LeNet5);

    private static (SourceFile File, DiagnosticBag Bag) ParseWithErrors(string text, string path = "test.net")
    {
        var bag = new DiagnosticBag(path);
        var file = NetParser.Parse(path, text, bag);
        return (file, bag);
    }

    private static SourceFile ParseOk(string text)
    {
        var (file, bag) = ParseWithErrors(text);
        Assert.True(bag.Items.Count == 0, "unexpected diagnostics:\n" + string.Join("\n", bag.Items));
        return file;
    }

    /// <summary>Parses `network T { y = expr }` and returns the expression.</summary>
    private static Expr ParseExpr(string expr)
    {
        var file = ParseOk("network T {\n    y = " + expr + "\n}\n");
        var assign = Assert.IsType<AssignStmt>(Assert.Single(Assert.IsType<NetworkDecl>(Assert.Single(file.Decls)).Body));
        return assign.Value;
    }

    /// <summary>A compact rendering of an expression tree, to check precedence and associativity.</summary>
    private static string Show(Expr e) => e switch
    {
        IntLit i => i.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        FloatLit f => f.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "f",
        BoolLit b => b.Value ? "true" : "false",
        StringLit s => "\"" + s.Value + "\"",
        Name n => n.Id,
        Call c => c.Callee + "(" + string.Join(", ", c.Args.Select(a => (a.Name != null ? a.Name + ": " : "") + Show(a.Value))) + ")",
        Pipe p => "(" + Show(p.Input) + " |> " + Show(p.Target) + ")",
        Binary b => "(" + Show(b.Left) + " " + b.Op + " " + Show(b.Right) + ")",
        Unary u => "(" + u.Op + Show(u.Operand) + ")",
        IfExpr i => "(if " + Show(i.Condition) + " then " + Show(i.Then) + " else " + Show(i.Else) + ")",
        TupleExpr t => "(" + string.Join(", ", t.Items.Select(Show)) + ",)",
        ListExpr l => "[" + string.Join(", ", l.Items.Select(Show)) + "]",
        _ => "?" + e.GetType().Name,
    };

    /// <summary>1-based (line, column) of the n-th occurrence of <paramref name="needle"/> in a 1-based line.</summary>
    private static (int Line, int Col) Find(string text, int line, string needle, int occurrence = 1)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        int col = -1;
        for (int k = 0; k < occurrence; k++) col = lines[line - 1].IndexOf(needle, col + 1, StringComparison.Ordinal);
        Assert.True(col >= 0, $"'{needle}' not on line {line}");
        return (line, col + 1);
    }

    private static SourceSpan SpanOf(string text, int line, string needle, int occurrence = 1)
    {
        var (l, c) = Find(text, line, needle, occurrence);
        return new SourceSpan(l, c, l, c + needle.Length);
    }

    // ------------------------------------------------------------------ the examples of LANGUAGE.md
    internal const string Vgg16 = """
        // VGG-16: 138,357,544 parameters for 1000 classes
        network VGG16(classes: int = 1000) {
            input image: [N, 3, 224, 224]
            x = image
            for (c, n) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)] {
                repeat n { x = x |> conv(c, 3, pad: 1) |> relu }
                x = x |> maxpool(2, stride: 2)
            }
            x = x |> flatten |> linear(4096) |> relu |> dropout(0.5)
                     |> linear(4096) |> relu |> dropout(0.5)
            output logits = x |> linear(classes)
        }
        """;

    internal const string ResNet18 = """
        block Basic(c: int, stride: int = 1)(x) {
            y = x |> conv(c, 3, stride: stride, pad: 1, bias: false) |> batchnorm |> relu
                  |> conv(c, 3, pad: 1, bias: false) |> batchnorm
            s = if stride != 1 || channels(x) != c
                  then x |> conv(c, 1, stride: stride, bias: false) |> batchnorm
                  else x
            return relu(y + s)
        }

        network ResNet18(classes: int = 1000) {
            input image: [N, 3, 224, 224]
            input label: int[N]
            x = image |> conv(64, 7, stride: 2, pad: 3, bias: false) |> batchnorm |> relu
                      |> maxpool(3, stride: 2, pad: 1)
            for (c, n, s) in [(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)] {
                x = x |> Basic(c, s)
                repeat n - 1 { x = x |> Basic(c) }
            }
            output logits = x |> globalavgpool |> linear(classes)
            loss = cross_entropy(logits, label)
        }
        """;

    internal const string Inception = """
        // GoogLeNet's Inception module: four branches, concatenated on channels
        block Inception(c1: int, r3: int, c3: int, r5: int, c5: int, pp: int)(x) {
            a = x |> conv(c1, 1) |> relu
            b = x |> conv(r3, 1) |> relu |> conv(c3, 3, pad: 1) |> relu
            c = x |> conv(r5, 1) |> relu |> conv(c5, 5, pad: 2) |> relu
            d = x |> maxpool(3, stride: 1, pad: 1) |> conv(pp, 1) |> relu
            return concat(a, b, c, d)
        }
        """;

    internal const string Encoder = """
        // a pre-norm transformer encoder block; D comes from the input's shape
        block Encoder(heads: int, ff: int, p: float = 0.1)(x: [N, T, D]) {
            x = x + (x |> layernorm |> attention(heads) |> dropout(p))
            x = x + (x |> layernorm |> linear(ff) |> gelu |> linear(D) |> dropout(p))
            return x
        }
        """;

    [Fact]
    public void LeNet5_ParsesIntoExpectedStructure()
    {
        var file = ParseOk(LeNet5Text());
        var net = Assert.IsType<NetworkDecl>(Assert.Single(file.Decls));
        Assert.Equal("LeNet5", net.Name);
        var p = Assert.Single(net.Params);
        Assert.Equal(("classes", "int"), (p.Name, p.Type));
        Assert.Equal(10, Assert.IsType<IntLit>(p.Default).Value);

        Assert.Collection(net.Body,
            s =>
            {
                var i = Assert.IsType<InputStmt>(s);
                Assert.Equal(("image", "float"), (i.Name, i.ElementType));
                Assert.Equal("N,1,28,28", string.Join(",", i.Shape.Dims.Select(Show)));
            },
            s =>
            {
                var i = Assert.IsType<InputStmt>(s);
                Assert.Equal(("label", "int"), (i.Name, i.ElementType));
                Assert.Equal("N", Show(Assert.Single(i.Shape.Dims)));
            },
            s =>
            {
                var a = Assert.IsType<AssignStmt>(s);
                Assert.Equal("x", a.Name);
                Assert.Null(a.Assert);
                Assert.Equal("((((((image |> conv(6, 5, pad: 2)) |> relu) |> maxpool(2)) |> conv(16, 5)) |> relu) |> maxpool(2))", Show(a.Value));
            },
            s => Assert.Equal("(((((x |> flatten) |> linear(120)) |> relu) |> linear(84)) |> relu)", Show(Assert.IsType<AssignStmt>(s).Value)),
            s =>
            {
                var o = Assert.IsType<OutputStmt>(s);
                Assert.Equal("logits", o.Name);
                Assert.Equal("(x |> linear(classes))", Show(o.Value));
            },
            s => Assert.Equal("cross_entropy(logits, label)", Show(Assert.IsType<LossStmt>(s).Value)));
    }

    [Fact]
    public void LeNet5_Spans()
    {
        var text = LeNet5Text();
        var net = Assert.IsType<NetworkDecl>(Assert.Single(ParseOk(text).Decls));
        var lines = text.Replace("\r\n", "\n").TrimEnd('\n').Split('\n');

        // the whole declaration: `network` .. the closing brace
        Assert.Equal(new SourceSpan(3, 1, lines.Length, 2), net.Span);
        Assert.Equal(SpanOf(text, 3, "classes: int = 10"), net.Params[0].Span);
        Assert.Equal(SpanOf(text, 4, "input image: [N, 1, 28, 28]"), net.Body[0].Span);
        Assert.Equal(SpanOf(text, 4, "[N, 1, 28, 28]"), ((InputStmt)net.Body[0]).Shape.Span);
        Assert.Equal(SpanOf(text, 5, "input label: int[N]"), net.Body[1].Span);

        // x = image |> conv(...) ... spans two lines and ends after the second maxpool(2), not at the comment
        var assign = (AssignStmt)net.Body[2];
        var (l7, c7) = Find(text, 7, "x =");
        var end8 = Find(text, 8, "maxpool(2)");
        Assert.Equal(new SourceSpan(l7, c7, 8, end8.Col + "maxpool(2)".Length), assign.Span);

        // the first conv: the callee is `conv` (line 7 column 18 in the file as committed)
        var pipes = new List<Pipe>();
        for (Expr e = assign.Value; e is Pipe pp; e = pp.Input) pipes.Add(pp);
        var firstPipe = pipes[^1];
        var conv = Assert.IsType<Call>(firstPipe.Target);
        Assert.Equal(SpanOf(text, 7, "conv"), conv.CalleeSpan);
        Assert.Equal(new SourceSpan(7, 18, 7, 22), conv.CalleeSpan);
        Assert.Equal(SpanOf(text, 7, "conv(6, 5, pad: 2)"), conv.Span);
        Assert.Equal(SpanOf(text, 7, "pad: 2"), conv.Args[2].Span);
        Assert.Equal(SpanOf(text, 7, "2"), conv.Args[2].Value.Span); // the `2` of pad: 2 is the first 2 on the line
        Assert.Equal(SpanOf(text, 7, "image |> conv(6, 5, pad: 2)"), firstPipe.Span);
        Assert.Equal(SpanOf(text, 7, "image"), firstPipe.Input.Span);

        // loss = cross_entropy(logits, label)
        var loss = (LossStmt)net.Body[5];
        Assert.Equal(SpanOf(text, 11, "loss = cross_entropy(logits, label)"), loss.Span);
        Assert.Equal(SpanOf(text, 11, "cross_entropy"), ((Call)loss.Value).CalleeSpan);
        Assert.Equal(SpanOf(text, 11, "label", 1), ((Call)loss.Value).Args[1].Value.Span);
    }

    [Fact]
    public void Vgg16_Parses()
    {
        var net = Assert.IsType<NetworkDecl>(Assert.Single(ParseOk(Vgg16).Decls));
        Assert.Equal("VGG16", net.Name);
        Assert.Equal(1000, ((IntLit)net.Params[0].Default!).Value);
        Assert.Equal(5, net.Body.Count);
        var loop = Assert.IsType<ForStmt>(net.Body[2]);
        Assert.Equal(new[] { "c", "n" }, loop.Variables);
        var list = Assert.IsType<ListExpr>(loop.Source);
        Assert.Equal(5, list.Items.Count);
        Assert.Equal("(64, 2,)", Show(list.Items[0]));
        Assert.All(list.Items, item => Assert.Equal(2, Assert.IsType<TupleExpr>(item).Items.Count));
        var repeat = Assert.IsType<RepeatStmt>(loop.Body[0]);
        Assert.Equal("n", Show(repeat.Count));
        Assert.Equal("((x |> conv(c, 3, pad: 1)) |> relu)", Show(Assert.IsType<AssignStmt>(Assert.Single(repeat.Body)).Value));
        Assert.Equal("(x |> maxpool(2, stride: 2))", Show(((AssignStmt)loop.Body[1]).Value));
        Assert.Equal("(((((((x |> flatten) |> linear(4096)) |> relu) |> dropout(0.5f)) |> linear(4096)) |> relu) |> dropout(0.5f))",
            Show(((AssignStmt)net.Body[3]).Value));
        Assert.Equal("logits", Assert.IsType<OutputStmt>(net.Body[4]).Name);
    }

    [Fact]
    public void ResNet18_Parses()
    {
        var file = ParseOk(ResNet18);
        Assert.Equal(2, file.Decls.Count);
        var basic = Assert.IsType<BlockDecl>(file.Decls[0]);
        Assert.Equal("Basic", basic.Name);
        Assert.Equal(new[] { "c:int:", "stride:int:1" }, basic.Params.Select(p => $"{p.Name}:{p.Type}:{(p.Default == null ? "" : Show(p.Default))}"));
        var x = Assert.Single(basic.Inputs);
        Assert.Equal("x", x.Name);
        Assert.Null(x.Shape);
        Assert.Equal(3, basic.Body.Count);
        Assert.Equal("(((((x |> conv(c, 3, stride: stride, pad: 1, bias: false)) |> batchnorm) |> relu) |> conv(c, 3, pad: 1, bias: false)) |> batchnorm)",
            Show(((AssignStmt)basic.Body[0]).Value));
        var s = Assert.IsType<AssignStmt>(basic.Body[1]);
        var ifx = Assert.IsType<IfExpr>(s.Value);
        Assert.Equal("((stride != 1) || (channels(x) != c))", Show(ifx.Condition));
        Assert.Equal("((x |> conv(c, 1, stride: stride, bias: false)) |> batchnorm)", Show(ifx.Then));
        Assert.Equal("x", Show(ifx.Else));
        Assert.Equal(new SourceSpan(4, 5, 6, 17), s.Span);
        var ret = Assert.IsType<ReturnStmt>(basic.Body[2]);
        Assert.Equal("relu((y + s))", Show(ret.Value));

        var net = Assert.IsType<NetworkDecl>(file.Decls[1]);
        Assert.Equal("ResNet18", net.Name);
        Assert.Equal(6, net.Body.Count);
        var loop = Assert.IsType<ForStmt>(net.Body[3]);
        Assert.Equal(new[] { "c", "n", "s" }, loop.Variables);
        Assert.Equal("(x |> Basic(c, s))", Show(((AssignStmt)loop.Body[0]).Value));
        var repeat = Assert.IsType<RepeatStmt>(loop.Body[1]);
        Assert.Equal("(n - 1)", Show(repeat.Count));
        Assert.Equal("cross_entropy(logits, label)", Show(Assert.IsType<LossStmt>(net.Body[5]).Value));
        Assert.Equal("int", Assert.IsType<InputStmt>(net.Body[1]).ElementType);
    }

    [Fact]
    public void Inception_Parses()
    {
        var block = Assert.IsType<BlockDecl>(Assert.Single(ParseOk(Inception).Decls));
        Assert.Equal(new[] { "c1", "r3", "c3", "r5", "c5", "pp" }, block.Params.Select(p => p.Name));
        Assert.All(block.Params, p => { Assert.Equal("int", p.Type); Assert.Null(p.Default); });
        Assert.Equal(new[] { "a", "b", "c", "d" }, block.Body.Take(4).Select(s => ((AssignStmt)s).Name));
        Assert.Equal("(((x |> maxpool(3, stride: 1, pad: 1)) |> conv(pp, 1)) |> relu)", Show(((AssignStmt)block.Body[3]).Value));
        Assert.Equal("concat(a, b, c, d)", Show(Assert.IsType<ReturnStmt>(block.Body[4]).Value));
    }

    [Fact]
    public void Encoder_Parses()
    {
        var block = Assert.IsType<BlockDecl>(Assert.Single(ParseOk(Encoder).Decls));
        Assert.Equal("Encoder", block.Name);
        var p = block.Params[2];
        Assert.Equal(("p", "float"), (p.Name, p.Type));
        Assert.Equal(0.1, Assert.IsType<FloatLit>(p.Default).Value);
        var x = Assert.Single(block.Inputs);
        Assert.Equal("x", x.Name);
        Assert.Equal("N,T,D", string.Join(",", x.Shape!.Dims.Select(Show)));
        Assert.Equal(SpanOf(Encoder, 2, "x: [N, T, D]"), x.Span);
        var first = Assert.IsType<Binary>(((AssignStmt)block.Body[0]).Value);
        Assert.Equal("+", first.Op);
        Assert.Equal("(x + (((x |> layernorm) |> attention(heads)) |> dropout(p)))", Show(first));
        // a parenthesised expression spans its parentheses; the binary spans both operands
        Assert.Equal(SpanOf(Encoder, 3, "(x |> layernorm |> attention(heads) |> dropout(p))"), first.Right.Span);
        Assert.Equal(SpanOf(Encoder, 3, "x + (x |> layernorm |> attention(heads) |> dropout(p))"), first.Span);
        Assert.Equal("x", Show(Assert.IsType<ReturnStmt>(block.Body[2]).Value));
    }

    [Fact]
    public void AllExamplesInOneFile_Parse()
    {
        var file = ParseOk(Vgg16 + "\n" + ResNet18 + "\n" + Inception + "\n" + Encoder + "\n" + LeNet5Text());
        Assert.Equal(new[] { "VGG16", "Basic", "ResNet18", "Inception", "Encoder", "LeNet5" }, file.Decls.Select(d => d.Name));
    }

    // ------------------------------------------------------------------ expressions
    [Theory]
    [InlineData("a + b |> relu", "((a + b) |> relu)")]
    [InlineData("a |> f |> g(1)", "((a |> f) |> g(1))")]
    [InlineData("x |> conv(c, 3) |> relu", "((x |> conv(c, 3)) |> relu)")]
    [InlineData("a - b - c", "((a - b) - c)")]
    [InlineData("a / b * c % d", "(((a / b) * c) % d)")]
    [InlineData("a + b * c", "(a + (b * c))")]
    [InlineData("(a + b) * c", "((a + b) * c)")]
    [InlineData("-a * b", "((-a) * b)")]
    [InlineData("- -a", "(-(-a))")]
    [InlineData("!a && b", "((!a) && b)")]
    [InlineData("a || b && c", "(a || (b && c))")]
    [InlineData("a && b || c && d", "((a && b) || (c && d))")]
    [InlineData("a == b + 1", "(a == (b + 1))")]
    [InlineData("a != 1 || b <= 2 && c >= 3", "((a != 1) || ((b <= 2) && (c >= 3)))")]
    [InlineData("a < b", "(a < b)")]
    [InlineData("a > b", "(a > b)")]
    [InlineData("if a then b else c |> relu", "(if a then b else (c |> relu))")]
    [InlineData("if a then if b then 1 else 2 else 3", "(if a then (if b then 1 else 2) else 3)")]
    [InlineData("x + (y |> f)", "(x + (y |> f))")]
    [InlineData("(1, 2.5, true)", "(1, 2.5f, true,)")]
    [InlineData("[]", "[]")]
    [InlineData("[1, [2, 3]]", "[1, [2, 3]]")]
    [InlineData("f()", "f()")]
    [InlineData("f(a, k: b + 1, flag: false)", "f(a, k: (b + 1), flag: false)")]
    [InlineData("\"a \\\"b\\\" c\"", "\"a \"b\" c\"")]
    [InlineData("1e-3", "0.001f")]
    [InlineData(".5", "0.5f")]
    [InlineData("2.5E+2", "250f")]
    [InlineData("42", "42")]
    [InlineData("channels(x) * 2", "(channels(x) * 2)")]
    public void Expressions_PrecedenceAndAssociativity(string source, string expected) =>
        Assert.Equal(expected, Show(ParseExpr(source)));

    [Fact]
    public void PipeContinuationLines_AndMultiLineIf()
    {
        var e = ParseExpr("a\n  |> f\n  |> g\n");
        Assert.Equal("((a |> f) |> g)", Show(e));
        Assert.Equal(new SourceSpan(2, 9, 4, 7), e.Span);
        Assert.Equal(new SourceSpan(4, 6, 4, 7), ((Pipe)e).Target.Span);
    }

    [Fact]
    public void BinarySpansCoverBothOperands()
    {
        var e = Assert.IsType<Binary>(ParseExpr("a +  b * c"));
        Assert.Equal(new SourceSpan(2, 9, 2, 19), e.Span);
        Assert.Equal(new SourceSpan(2, 14, 2, 19), e.Right.Span);
        var u = Assert.IsType<Unary>(ParseExpr("-x"));
        Assert.Equal(new SourceSpan(2, 9, 2, 11), u.Span);
    }

    // ------------------------------------------------------------------ statements
    [Fact]
    public void Comments_AreWhitespace()
    {
        var text = """
            /* header
               comment */ network /* here */ A // and here
            ( /* c */ n : int = /* default */ 3 ) {
                // a line comment
                input x: /* shape */ [N, /* dim */ 4]
                y = x |> // continues
                    f(n /* arg */, k: 2) /* trailing */
                /* block before statement */ output z = y // done
            } // end
            /* end of file */
            """;
        var net = Assert.IsType<NetworkDecl>(Assert.Single(ParseOk(text).Decls));
        Assert.Equal("A", net.Name);
        Assert.Equal(3, ((IntLit)net.Params[0].Default!).Value);
        Assert.Equal(3, net.Body.Count);
        Assert.Equal("(x |> f(n, k: 2))", Show(((AssignStmt)net.Body[1]).Value));
        // spans exclude comments: the assignment ends after `)` on line 7
        Assert.Equal(new SourceSpan(6, 5, 7, 29), net.Body[1].Span);
        Assert.Equal(new SourceSpan(8, 34, 8, 46), net.Body[2].Span);
        Assert.Equal(new SourceSpan(2, 15, 9, 2), net.Span);
    }

    [Fact]
    public void IfElseIfElse_Chain()
    {
        var text = """
            network A(k: int = 1) {
                input x: [N, 4]
                if k == 1 { y = x } else if k == 2 { y = x |> relu } else { y = x |> gelu }
                if k > 3 {
                    y = y |> relu
                }
                output z = y
            }
            """;
        var net = (NetworkDecl)Assert.Single(ParseOk(text).Decls);
        var first = Assert.IsType<IfStmt>(net.Body[1]);
        Assert.Equal("(k == 1)", Show(first.Condition));
        Assert.Single(first.Then);
        var elseIf = Assert.IsType<IfStmt>(Assert.Single(first.Else!));
        Assert.Equal("(k == 2)", Show(elseIf.Condition));
        Assert.Equal(SpanOf(text, 3, "if k == 2 { y = x |> relu } else { y = x |> gelu }"), elseIf.Span);
        var last = Assert.IsType<AssignStmt>(Assert.Single(elseIf.Else!));
        Assert.Equal("(x |> gelu)", Show(last.Value));
        var second = Assert.IsType<IfStmt>(net.Body[2]);
        Assert.Null(second.Else);
        Assert.Equal(new SourceSpan(4, 5, 6, 6), second.Span);
    }

    [Fact]
    public void AssignmentWithShapeAssertion_AndForWithSingleVariable()
    {
        var text = """
            network A {
                input x: float[N, 64]
                for c in [1, 2] { x: [N, c * 2] = x |> linear(c * 2) }
                output y = x
            }
            """;
        var net = (NetworkDecl)Assert.Single(ParseOk(text).Decls);
        Assert.Empty(net.Params);
        Assert.Equal("float", ((InputStmt)net.Body[0]).ElementType);
        var loop = Assert.IsType<ForStmt>(net.Body[1]);
        Assert.Equal(new[] { "c" }, loop.Variables);
        var a = Assert.IsType<AssignStmt>(Assert.Single(loop.Body));
        Assert.Equal("N,(c * 2)", string.Join(",", a.Assert!.Dims.Select(Show)));
        Assert.Equal(SpanOf(text, 3, "[N, c * 2]"), a.Assert.Span);
    }

    [Fact]
    public void EmptyFileAndEmptyBodies()
    {
        Assert.Empty(ParseOk("").Decls);
        Assert.Empty(ParseOk("  // nothing\n/* at all */\n").Decls);
        var file = ParseOk("network A() {}\nblock B()() {}\nblock C(x, y: [N]) { return x + y }");
        Assert.Equal(3, file.Decls.Count);
        Assert.Empty(((BlockDecl)file.Decls[1]).Inputs);
        Assert.Equal(new[] { "x", "y" }, ((BlockDecl)file.Decls[2]).Inputs.Select(i => i.Name));
        Assert.Empty(((BlockDecl)file.Decls[2]).Params);
    }

    [Fact]
    public void KeywordsAreNotIdentifiers()
    {
        var (_, bag) = ParseWithErrors("network A {\n    then = 1\n}");
        var d = Assert.Single(bag.Items);
        Assert.Equal((2, 5), (d.Span.Line, d.Span.Column));
        Assert.Contains("keyword 'then'", d.Message);
        // but identifiers that merely start with a keyword are fine
        Assert.Equal("(input_x + format)", Show(ParseExpr("input_x + format")));
    }

    // ------------------------------------------------------------------ errors
    [Fact]
    public void MissingEquals_IsReportedAtTheTokenFound()
    {
        var (file, bag) = ParseWithErrors("network A {\n    input x: [N, 4]\n    y x |> relu\n    output z = x\n}\n", "models/a.net");
        var d = Assert.Single(bag.Items);
        Assert.Equal(DiagnosticIds.SyntaxError, d.Id);
        Assert.Equal(Severity.Error, d.Severity);
        Assert.Equal(new SourceSpan(3, 7, 3, 8), d.Span);
        Assert.Equal("expected '=' after 'y', found 'x'", d.Message);
        Assert.Equal("models/a.net(3,7): error NDSL0001: expected '=' after 'y', found 'x'", d.ToString());
        // the statements around the broken one are kept
        var net = (NetworkDecl)Assert.Single(file.Decls);
        Assert.Equal(2, net.Body.Count);
        Assert.IsType<OutputStmt>(net.Body[1]);
    }

    [Theory]
    [InlineData("x = image |> conv(6, 5, pad: )", 1, 30, "expected an expression after ':', found ')'")]
    [InlineData("x = conv(6 5)", 1, 12, "expected ',' or ')' after '6', found '5'")]
    [InlineData("x = a +", 2, 1, "expected an expression after '+', found '}'")]
    [InlineData("x = a |> 5", 1, 10, "expected a layer or block name after '|>', found '5'")]
    [InlineData("x = [1, 2", 2, 1, "expected ',' or ']' after '2', found '}'")]
    [InlineData("input x [N]", 1, 9, "expected ':' after 'x', found '['")]
    [InlineData("input x: N", 1, 10, "expected 'int', 'float' or '[' after ':', found 'N'")]
    [InlineData("repeat 3 x = 1", 1, 10, "expected '{' after '3', found 'x'")]
    [InlineData("for (a, ) in xs { }", 1, 9, "expected an identifier after ',', found ')'")]
    [InlineData("for a of xs { }", 1, 7, "expected 'in' after 'a', found 'of'")]
    [InlineData("if a { } else x = 1", 1, 15, "expected '{' or 'if' after 'else', found 'x'")]
    [InlineData("x = if a then b", 2, 1, "expected 'else' after 'b', found '}'")]
    [InlineData(") x = 1", 1, 1, "unexpected ')'; expected a statement")]
    [InlineData("x = \"abc", 1, 5, "expected an expression after '=', found unterminated string literal")]
    [InlineData("x = a /* never closed", 1, 7, "unexpected unterminated comment '/*'; expected a statement")]
    [InlineData("x = 99999999999999999999", 1, 5, "the integer '99999999999999999999' is out of range")]
    [InlineData("output = 1", 1, 8, "expected an identifier after 'output', found '='")]
    [InlineData("loss x", 1, 6, "expected '=' after 'loss', found 'x'")]
    [InlineData("x == 1", 1, 3, "expected '=' after 'x', found '=='")]
    [InlineData("x = a < b < c", 1, 11, "comparisons cannot be chained: use '&&' or parentheses")]
    [InlineData("x = 1 2", 1, 7, "unexpected '2' after '1'; expected an operator, or a new statement on the next line")]
    [InlineData("x = a @ b", 1, 7, "unexpected '@' after 'a'; expected an operator, or a new statement on the next line")]
    [InlineData("x = 1.5.3", 1, 8, "unexpected '.3' after '1.5'; expected an operator, or a new statement on the next line")]
    [InlineData("x = f(1)(2)", 1, 9, "unexpected '(' after ')'; expected an operator, or a new statement on the next line")]
    [InlineData("x = a |>\n  output y = x", 2, 3, "expected a layer or block name after '|>', found keyword 'output'")]
    [InlineData("x = (a + b\n  y = 2", 2, 3, "expected ',' or ')' after 'b', found 'y'")]
    public void StatementErrors_ExactPositionAndMessage(string stmt, int line, int col, string message)
    {
        var (_, bag) = ParseWithErrors("network A {\n" + stmt.Replace("\\n", "\n") + "\n}\n");
        Assert.True(bag.Items.Count >= 1, "no diagnostics");
        var d = bag.Items[0];
        Assert.Equal(DiagnosticIds.SyntaxError, d.Id);
        Assert.Equal(message, d.Message);
        Assert.Equal((line + 1, col), (d.Span.Line, d.Span.Column));
    }

    [Theory]
    [InlineData("network { }", 1, 9, "expected an identifier after 'network', found '{'")]
    [InlineData("network A(c: int = ) { }", 1, 20, "expected an expression after '=', found ')'")]
    [InlineData("network A(c: tensor) { }", 1, 14, "expected 'int', 'float' or 'bool' after ':', found 'tensor'")]
    [InlineData("network A(c: int, ) { }", 1, 19, "expected an identifier after ',', found ')'")]
    [InlineData("network A x = 1 }", 1, 11, "expected '(' or '{' after 'A', found 'x'")]
    [InlineData("block B(c: int) { }", 1, 17, "expected '(' after ')', found '{'")]
    [InlineData("block B(x: N) { }", 1, 12, "expected 'int', 'float', 'bool' or '[' after ':', found 'N'")]
    [InlineData("x = 1", 1, 1, "expected 'network' or 'block' at the start of a declaration, found 'x'")]
    [InlineData("}", 1, 1, "expected 'network' or 'block' at the start of a declaration, found '}'")]
    public void DeclarationErrors_ExactPositionAndMessage(string text, int line, int col, string message)
    {
        var (_, bag) = ParseWithErrors(text);
        var d = Assert.Single(bag.Items);
        Assert.Equal(message, d.Message);
        Assert.Equal((line, col), (d.Span.Line, d.Span.Column));
    }

    [Fact]
    public void TwoErrorsInOneNetwork_BothReported_StatementRecovery()
    {
        var text = """
            network A {
                input x: [N, 4]
                y = x |> conv(4, 3 |> relu
                z = y +
                w = x |> relu
                repeat 2 { w = w |> ) }
                output o = w
            }
            """;
        var (file, bag) = ParseWithErrors(text);
        Assert.Equal(3, bag.Items.Count);
        Assert.Equal((4, 5), (bag.Items[0].Span.Line, bag.Items[0].Span.Column));
        Assert.Equal("expected ',' or ')' after 'relu', found 'z'", bag.Items[0].Message);
        // newline-insensitive: `z = y + w`, then `= x |> relu` is where parsing fails
        Assert.Equal((5, 7), (bag.Items[1].Span.Line, bag.Items[1].Span.Column));
        Assert.Equal("unexpected '=': the statement on line 4 is incomplete (it ends with '+') and was continued by 'w'", bag.Items[1].Message);
        Assert.Equal((6, 25), (bag.Items[2].Span.Line, bag.Items[2].Span.Column));
        Assert.Equal("expected a layer or block name after '|>', found ')'", bag.Items[2].Message);

        var net = (NetworkDecl)Assert.Single(file.Decls);
        Assert.Equal(new[] { "InputStmt", "AssignStmt", "RepeatStmt", "OutputStmt" }, net.Body.Select(s => s.GetType().Name));
        Assert.Equal("(y + w)", Show(((AssignStmt)net.Body[1]).Value));
        Assert.Empty(((RepeatStmt)net.Body[2]).Body);
    }

    [Fact]
    public void ErrorsInTwoDeclarations_DeclarationRecovery()
    {
        var text = """
            block B(c: int = )(x) {
                return x
            }

            network A {
                input x: [N, 4]
                output y = x |> B(4
            }

            network C {
                input x: [N, 4]
                output y = x
            }
            """;
        var (file, bag) = ParseWithErrors(text);
        Assert.Equal(2, bag.Items.Count);
        Assert.Equal("(1,18): expected an expression after '=', found ')'", $"({bag.Items[0].Span.Line},{bag.Items[0].Span.Column}): {bag.Items[0].Message}");
        Assert.Equal("(8,1): expected ',' or ')' after '4', found '}'", $"({bag.Items[1].Span.Line},{bag.Items[1].Span.Column}): {bag.Items[1].Message}");
        Assert.Equal(new[] { "A", "C" }, file.Decls.Select(d => d.Name));
        Assert.Single(((NetworkDecl)file.Decls[0]).Body);
        Assert.Equal(2, ((NetworkDecl)file.Decls[1]).Body.Count);
    }

    [Fact]
    public void UnterminatedNetwork_ReportedAtEndOfFile_AndNextDeclarationStillParsed()
    {
        var (file, bag) = ParseWithErrors("network A {\n    input x: [N, 4]\n    output y = x\n");
        var d = Assert.Single(bag.Items);
        Assert.Equal((4, 1), (d.Span.Line, d.Span.Column));
        Assert.Equal("expected '}' to close network 'A' (declared at line 1), found end of file", d.Message);
        Assert.Equal(2, ((NetworkDecl)Assert.Single(file.Decls)).Body.Count);

        (file, bag) = ParseWithErrors("block B(x) {\n    return x\n\nnetwork A {\n    output y = x\n}\n");
        d = Assert.Single(bag.Items);
        Assert.Equal((4, 1), (d.Span.Line, d.Span.Column));
        Assert.Equal("expected '}' to close block 'B' (declared at line 1), found keyword 'network'", d.Message);
        Assert.Equal(new[] { "B", "A" }, file.Decls.Select(x => x.Name));
    }

    [Fact]
    public void UnterminatedInnerBody_Reported()
    {
        var (file, bag) = ParseWithErrors("network A {\n    repeat 2 {\n        x = x |> relu\n");
        Assert.Contains(bag.Items, d => d.Span.Line == 4 && d.Span.Column == 1 && d.Message.Contains("expected '}'") && d.Message.Contains("end of file"));
        Assert.Single(file.Decls);
    }

    [Fact]
    public void ErrorsAreReportedInSourceOrder_AndNeverTwiceAtOnePlace()
    {
        var text = "network A {\n  a = \n  b = )\n  c = 1 +\n}\nnetwork B { x = ( }\n";
        var (_, bag) = ParseWithErrors(text);
        var positions = bag.Items.Select(d => (d.Span.Line, d.Span.Column)).ToList();
        Assert.Equal(positions.Distinct().Count(), positions.Count);
        Assert.Equal(positions.OrderBy(p => p.Line).ThenBy(p => p.Column), positions);
        // `a = ` continues on the next line (whitespace-insensitive): `a = b`, then `= )` is the first error
        Assert.Equal(3, positions.Count);
        Assert.Equal("(3,5): unexpected '=': the statement on line 2 is incomplete (it ends with '=') and was continued by 'b'", $"({bag.Items[0].Span.Line},{bag.Items[0].Span.Column}): {bag.Items[0].Message}");
    }

    // ------------------------------------------------------------------ robustness
    [Fact]
    public void NeverThrows_OnTruncationsAndMutationsOfLeNet5()
    {
        var text = LeNet5Text();
        for (int n = 0; n <= text.Length; n++) ParseWithErrors(text.Substring(0, n));

        var rng = new Random(12345);
        var alphabet = "{}()[],:=|>+-*/%!<&\"\n .5e_aZ9#\\\t";
        for (int k = 0; k < 400; k++)
        {
            var chars = text.ToCharArray().ToList();
            int edits = 1 + rng.Next(6);
            for (int e = 0; e < edits && chars.Count > 0; e++)
            {
                int at = rng.Next(chars.Count);
                switch (rng.Next(3))
                {
                    case 0: chars.RemoveAt(at); break;
                    case 1: chars.Insert(at, alphabet[rng.Next(alphabet.Length)]); break;
                    default: chars[at] = alphabet[rng.Next(alphabet.Length)]; break;
                }
            }
            var (file, bag) = ParseWithErrors(new string(chars.ToArray()));
            Assert.NotNull(file);
            Assert.All(bag.Items, d => Assert.Equal(DiagnosticIds.SyntaxError, d.Id));
        }
    }

    [Fact]
    public void NeverThrows_OnRandomTokenSoupAndGarbage()
    {
        var rng = new Random(777);
        string[] pieces =
        {
            "network", "block", "input", "output", "loss", "repeat", "for", "in", "if", "then", "else", "return",
            "true", "false", "int", "float", "bool", "x", "conv", "N", "1", "2.5", "1e-3", "\"s\"", "{", "}", "(", ")",
            "[", "]", ",", ":", "=", "==", "|>", "||", "&&", "+", "-", "*", "/", "%", "!", "<", ">=", "\n", " ",
            "//c\n", "/*c*/", "/*", "\"", "@", "\u00e9", "\0",
        };
        for (int k = 0; k < 400; k++)
        {
            var sb = new System.Text.StringBuilder();
            int n = rng.Next(60);
            for (int j = 0; j < n; j++) sb.Append(pieces[rng.Next(pieces.Length)]).Append(rng.Next(3) == 0 ? "" : " ");
            ParseWithErrors(sb.ToString());
            var raw = new char[rng.Next(80)];
            for (int j = 0; j < raw.Length; j++) raw[j] = (char)rng.Next(0, 0x3000);
            ParseWithErrors(new string(raw));
        }
        // inside a network body, too
        for (int k = 0; k < 200; k++)
        {
            var sb = new System.Text.StringBuilder("network A {\n");
            int n = rng.Next(40);
            for (int j = 0; j < n; j++) sb.Append(pieces[rng.Next(pieces.Length)]).Append(' ');
            ParseWithErrors(sb.ToString());
        }
    }

    [Fact]
    public void NeverThrows_OnDeepNesting_EvenOnASmallStack()
    {
        Exception? failure = null;
        var t = new Thread(() =>
        {
            try
            {
                foreach (var text in new[]
                {
                    "network A { x = " + new string('(', 20000) + "a" + new string(')', 20000) + " }",
                    "network A { x = " + string.Concat(Enumerable.Repeat("f(", 5000)) + " }",
                    "network A { x = " + new string('-', 20000) + "a }",
                    "network A { x = " + string.Concat(Enumerable.Repeat("[(", 5000)) + " }",
                    "network A { " + string.Concat(Enumerable.Repeat("repeat 1 { ", 5000)) + " }",
                    "network A { " + string.Concat(Enumerable.Repeat("if a { } else ", 5000)) + "{ } }",
                    "network A { x = " + string.Concat(Enumerable.Repeat("if a then ", 5000)) + " }",
                })
                {
                    var (_, bag) = ParseWithErrors(text);
                    Assert.NotEmpty(bag.Items);
                }
                // realistic nesting is fine
                ParseOk("network A { x = ((((((((((a)))))))))) }");
            }
            catch (Exception e) { failure = e; }
        }, 1024 * 1024);
        t.Start();
        t.Join();
        Assert.Null(failure);
    }

    [Fact]
    public void NullTextAndWindowsLineEndings()
    {
        var bag = new DiagnosticBag("x.net");
        Assert.Empty(NetParser.Parse("x.net", null!, bag).Decls);
        Assert.Empty(bag.Items);

        var text = LeNet5Text().Replace("\r\n", "\n").Replace("\n", "\r\n");
        var net = (NetworkDecl)Assert.Single(ParseOk(text).Decls);
        var assign = (AssignStmt)net.Body[2];
        Assert.Equal(7, assign.Span.Line);
        Assert.Equal(8, assign.Span.EndLine);
    }
}

public class ParserPerformanceTests
{
    [Fact]
    public void LargeFile_ParsesQuickly()
    {
        var one = ParserTests.Vgg16 + "\n" + ParserTests.ResNet18 + "\n" + ParserTests.Inception + "\n" + ParserTests.Encoder + "\n";
        var text = string.Concat(Enumerable.Repeat(one, 50));
        NetParser.Parse("warm.net", ParserTests.LeNet5Text(), new DiagnosticBag("warm.net")); // JIT
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var bag = new DiagnosticBag("big.net");
        var file = NetParser.Parse("big.net", text, bag);
        sw.Stop();
        Assert.Empty(bag.Items);
        Assert.Equal(250, file.Decls.Count);
        Console.WriteLine($"parsed {text.Length} chars in {sw.ElapsedMilliseconds} ms");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
    }
}
