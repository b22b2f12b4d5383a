using System.Collections.Generic;

namespace NetDsl.Compiler.Syntax
{
    /// <summary>A range in a .net file; lines and columns are 1-based, End is exclusive.</summary>
    public readonly record struct SourceSpan(int Line, int Column, int EndLine, int EndColumn)
    {
        public static readonly SourceSpan None = new SourceSpan(0, 0, 0, 0);
        public override string ToString() => $"({Line},{Column})-({EndLine},{EndColumn})";
    }

    /// <summary>Every syntax node knows where it came from.</summary>
    public abstract record Node
    {
        public SourceSpan Span { get; init; }
    }

    // ------------------------------------------------------------------ expressions
    public abstract record Expr : Node;

    public sealed record IntLit(long Value) : Expr;
    public sealed record FloatLit(double Value) : Expr;
    public sealed record BoolLit(bool Value) : Expr;
    public sealed record StringLit(string Value) : Expr;

    /// <summary>A reference to a binding, parameter, loop variable, or a layer used without arguments (`relu`).</summary>
    public sealed record Name(string Id) : Expr;

    /// <summary>`callee(args)`: a layer, a block, a function such as channels(x), or concat(...).</summary>
    public sealed record Call(string Callee, IReadOnlyList<Arg> Args, SourceSpan CalleeSpan) : Expr;

    /// <summary>A positional (Name null) or named (`pad: 1`) argument.</summary>
    public sealed record Arg(string? Name, Expr Value) : Node;

    /// <summary>`input |> target`; target is a <see cref="Name"/> or a <see cref="Call"/>; the input becomes the first argument.</summary>
    public sealed record Pipe(Expr Input, Expr Target) : Expr;

    /// <summary>Binary operators: + - * / % == != &lt; &lt;= &gt; &gt;= &amp;&amp; ||.</summary>
    public sealed record Binary(string Op, Expr Left, Expr Right) : Expr;

    /// <summary>Unary - and !.</summary>
    public sealed record Unary(string Op, Expr Operand) : Expr;

    /// <summary>`if c then a else b` as an expression (compile-time condition).</summary>
    public sealed record IfExpr(Expr Condition, Expr Then, Expr Else) : Expr;

    public sealed record TupleExpr(IReadOnlyList<Expr> Items) : Expr;
    public sealed record ListExpr(IReadOnlyList<Expr> Items) : Expr;

    /// <summary>A shape literal `[N, 3, 28, 28]`: each dim is a <see cref="Name"/> (symbolic, or a compile-time value) or an integer expression.</summary>
    public sealed record ShapeExpr(IReadOnlyList<Expr> Dims) : Node;

    // ------------------------------------------------------------------ statements
    public abstract record Stmt : Node;

    /// <summary>`input image: [N, 1, 28, 28]` or `input label: int[N]`. ElementType is "float" (default) or "int".</summary>
    /// <remarks><see cref="Grad"/>: `input x grad: [...]`, the gradient with respect to this input is computed (generated <c>XGrad</c>).</remarks>
    public sealed record InputStmt(string Name, string ElementType, ShapeExpr Shape, bool Grad = false) : Stmt;

    /// <summary>`output logits = expr`.</summary>
    /// <remarks><see cref="Grad"/>: `output y grad = expr`, a network without a loss that can be differentiated from outside (generated <c>Backward(dY)</c>).</remarks>
    public sealed record OutputStmt(string Name, Expr Value, bool Grad = false) : Stmt;

    /// <summary>`loss = expr`.</summary>
    public sealed record LossStmt(Expr Value) : Stmt;

    /// <summary>`name = expr` or `name: [shape] = expr` (the shape is asserted).</summary>
    public sealed record AssignStmt(string Name, ShapeExpr? Assert, Expr Value) : Stmt;

    /// <summary>`a, b = expr`: expr is a tuple (split's result) whose items are bound in order.</summary>
    public sealed record DestructureStmt(IReadOnlyList<string> Names, Expr Value) : Stmt;

    /// <summary>`repeat n { ... }`.</summary>
    public sealed record RepeatStmt(Expr Count, IReadOnlyList<Stmt> Body) : Stmt;

    /// <summary>`for (a, b) in expr { ... }` or `for a in expr { ... }`.</summary>
    public sealed record ForStmt(IReadOnlyList<string> Variables, Expr Source, IReadOnlyList<Stmt> Body) : Stmt;

    /// <summary>`if cond { ... } else { ... }` (compile-time).</summary>
    public sealed record IfStmt(Expr Condition, IReadOnlyList<Stmt> Then, IReadOnlyList<Stmt>? Else) : Stmt;

    /// <summary>`return expr` (blocks only).</summary>
    public sealed record ReturnStmt(Expr Value) : Stmt;

    // ------------------------------------------------------------------ declarations
    /// <summary>A compile-time parameter `c: int = 64`; Type is "int", "float" or "bool".</summary>
    public sealed record Param(string Name, string Type, Expr? Default) : Node;

    /// <summary>A tensor parameter of a block `x` or `x: [N, T, D]` (unbound names in the shape bind to the actual dims).</summary>
    public sealed record TensorParam(string Name, ShapeExpr? Shape) : Node;

    public abstract record Decl(string Name) : Node;

    /// <summary>`block Name(params)(x, ...) { ... }`.</summary>
    public sealed record BlockDecl(string Name, IReadOnlyList<Param> Params, IReadOnlyList<TensorParam> Inputs, IReadOnlyList<Stmt> Body) : Decl(Name);

    /// <summary>`network Name(params) { ... }`.</summary>
    public sealed record NetworkDecl(string Name, IReadOnlyList<Param> Params, IReadOnlyList<Stmt> Body) : Decl(Name);

    /// <summary>`network Name = Other(param: value, ...)`: another class from the same declaration with other parameter values.</summary>
    public sealed record NetworkInstanceDecl(string Name, string Of, SourceSpan OfSpan, IReadOnlyList<Arg> Args) : Decl(Name);

    public sealed record SourceFile(string Path, IReadOnlyList<Decl> Decls);
}
