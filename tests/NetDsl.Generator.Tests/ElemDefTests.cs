using System.Reflection;
using System.Runtime.Intrinsics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDsl.Compiler.Emit;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Ops;
using Xunit.Abstractions;

namespace NetDsl.Generator.Tests;

/// <summary>
/// Every registered element-wise op (<see cref="OpRegistry.Elementwise"/>), from its one expression: the four generated forms
/// (scalar T, Vector256&lt;T&gt;, Vector512&lt;T&gt;, the ILGPU float form), compiled with Roslyn against the runtime and run,
/// agree with each other and with the expression evaluated in double; every gradient op (derived or declared) matches fp64
/// central differences of its forward expression; at the kinks the declared gradients give PyTorch 1.13's values.
/// </summary>
public class ElemDefTests(ITestOutputHelper output)
{
    /// <summary>Attribute values used for every op that has them (by attribute name).</summary>
    private static readonly Dictionary<string, double> s_attrs = new()
    {
        ["slope"] = 0.1, ["alpha"] = 0.7, ["beta"] = 2.0, ["threshold"] = 3.0, ["k"] = 1.5, ["c"] = -0.25,
    };

    private static double[] Attrs(ElemDef d) => d.Attrs.Select(a => s_attrs[a]).ToArray();

    /// <summary>64 points in [−5.3, 5.3], none on a kink of the ops (0, ±3, 6, integer thresholds).</summary>
    private static readonly double[] s_x = Enumerable.Range(0, 64).Select(i => -5.3 + i * 0.1683 + 0.0011).ToArray();

    /// <summary>The argument rows of an op: x for a forward op, (dy, x or y(x)) for a gradient, mixed values otherwise.</summary>
    private static double[][] Args(ElemDef d)
    {
        var rows = new double[s_x.Length][];
        for (int i = 0; i < s_x.Length; i++)
        {
            double x = s_x[i];
            if (d.GradientOf != null)
            {
                var f = OpRegistry.Elementwise[d.GradientOf];
                rows[i] = [1.3 - 0.05 * i, d.ReadsOutput ? PxMath.Eval(f.Expr, [x], Attrs(f)) : x];
            }
            else rows[i] = Enumerable.Range(0, d.Arity).Select(j => j == 0 ? x : Math.Sin(1.7 * i + j)).ToArray();
        }
        return rows;
    }

    private static readonly Lazy<Dictionary<string, Type>> s_compiled = new(Compile);

    /// <summary>One static class per op with S (scalar T), V (Vector256), W (Vector512) and G (float) methods, written by ElemCode as for a functor.</summary>
    private static Dictionary<string, Type> Compile()
    {
        var src = new System.Text.StringBuilder();
        src.AppendLine("using System; using System.Numerics; using System.Runtime.Intrinsics; using NetDsl.Runtime;");
        var defs = OpRegistry.Elementwise.Values.OrderBy(d => d.Op, StringComparer.Ordinal).ToList();
        foreach (var d in defs)
        {
            var expr = new ElemOp(d.Op, Enumerable.Range(0, d.Arity).Select(i => (ElemExpr)new ElemInput(i)).ToList(), d.Attrs.Count > 0 ? Attrs(d) : null);
            src.AppendLine($"public static class Op_{d.Op} {{");
            // the functor pair the generated classes pass to IKernels.Map: CPU forms and the ILGPU form
            string ps(string t) => string.Join(", ", new[] { "a", "b", "c" }.Take(d.Arity).Select(n => t + " " + n));
            string args = string.Join(", ", new[] { "a", "b", "c" }.Take(d.Arity));
            src.AppendLine($"public readonly struct Cpu<T> : IMap{d.Arity}<T> where T : unmanaged, IBinaryFloatingPointIeee754<T> {{");
            src.AppendLine($"public T Apply({ps("T")}) => S({args}); public Vector256<T> Apply({ps("Vector256<T>")}) => V({args}); public Vector512<T> Apply({ps("Vector512<T>")}) => W({args}); }}");
            src.AppendLine($"public readonly struct Gpu : IGpuMap{d.Arity} {{ public float Apply({ps("float")}) => G({args}); }}");
            foreach (var (f, type, name, generic) in new[]
            {
                (ElemCode.Flavor.Scalar, "T", "S", true), (ElemCode.Flavor.Vector, "Vector256<T>", "V", true),
                (ElemCode.Flavor.Vector512, "Vector512<T>", "W", true), (ElemCode.Flavor.Gpu, "float", "G", false),
            })
            {
                var stmts = new List<string>();
                var names = new[] { "a", "b", "c" }.Take(d.Arity).ToArray();
                var result = ElemCode.Write(expr, f, stmts, names);
                src.AppendLine($"public static {type} {name}{(generic ? "<T>" : "")}({string.Join(", ", names.Select(n => type + " " + n))})"
                    + (generic ? " where T : unmanaged, IBinaryFloatingPointIeee754<T>" : "") + " {");
                foreach (var s in stmts) src.AppendLine(s);
                src.AppendLine($"return {result}; }}");
            }
            src.AppendLine("}");
        }
        var runtime = typeof(NetDsl.Runtime.Device).Assembly.Location;
        var compilation = CSharpCompilation.Create("ElemForms",
            [CSharpSyntaxTree.ParseText(src.ToString(), GeneratorHarness.ParseOptions)],
            GeneratorHarness.BasicReferences.Append(MetadataReference.CreateFromFile(runtime)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release));
        using var ms = new MemoryStream();
        var emit = compilation.Emit(ms);
        Assert.True(emit.Success, "the generated forms do not compile:\n" + string.Join("\n", emit.Diagnostics.Where(x => x.Severity == DiagnosticSeverity.Error).Take(20)));
        var asm = Assembly.Load(ms.ToArray());
        return defs.ToDictionary(d => d.Op, d => asm.GetType("Op_" + d.Op)!);
    }

    public static IEnumerable<object[]> Ops() => OpRegistry.Elementwise.Keys.OrderBy(k => k, StringComparer.Ordinal).Select(k => new object[] { k });
    public static IEnumerable<object[]> Gradients() =>
        OpRegistry.Elementwise.Values.Where(d => d.GradientOf != null).OrderBy(d => d.Op, StringComparer.Ordinal).Select(d => new object[] { d.Op });

    [Theory]
    [MemberData(nameof(Ops))]
    public void Scalar_vector256_vector512_and_gpu_forms_agree_with_the_expression(string op)
    {
        var d = OpRegistry.Elementwise[op];
        var t = s_compiled.Value[op];
        var rows = Args(d);
        var s = t.GetMethod("S")!.MakeGenericMethod(typeof(double));
        var v = t.GetMethod("V")!.MakeGenericMethod(typeof(double));
        var w = t.GetMethod("W")!.MakeGenericMethod(typeof(double));
        var g = t.GetMethod("G")!;
        var attrs = Attrs(d);
        for (int i0 = 0; i0 < rows.Length; i0 += 8)
        {
            var lanes = rows.Skip(i0).Take(8).ToArray();
            var v256 = Enumerable.Range(0, d.Arity).Select(j => (object)Vector256.Create(lanes.Take(4).Select(r => r[j]).ToArray())).ToArray();
            var v512 = Enumerable.Range(0, d.Arity).Select(j => (object)Vector512.Create(lanes.Select(r => r[j]).ToArray())).ToArray();
            var r256 = (Vector256<double>)v.Invoke(null, v256)!;
            var r512 = (Vector512<double>)w.Invoke(null, v512)!;
            for (int l = 0; l < lanes.Length; l++)
            {
                var a = lanes[l];
                double exact = PxMath.Eval(d.Expr, a, attrs);
                double scalar = (double)s.Invoke(null, a.Cast<object>().ToArray())!;
                double gpu = (float)g.Invoke(null, a.Select(x => (object)(float)x).ToArray())!;
                string where = $"{op}({string.Join(", ", a.Select(x => x.ToString("G6")))})";
                Assert.True(Close(scalar, exact, 1e-9), $"{where}: scalar T form {scalar}, expression {exact}");
                Assert.True(Close(r512[l], scalar, 1e-12), $"{where}: Vector512 form {r512[l]}, scalar {scalar}");
                if (l < 4) Assert.True(Close(r256[l], scalar, 1e-12), $"{where}: Vector256 form {r256[l]}, scalar {scalar}");
                Assert.True(Close(gpu, scalar, 1e-5), $"{where}: ILGPU float form {gpu}, scalar {scalar}");
            }
        }
    }

    private static readonly Lazy<NetDsl.Runtime.IlgpuDevice> s_gpu = new(() => NetDsl.Runtime.IlgpuDevice.CreateCpuSimulator());

    /// <summary>The ILGPU form through the real launch path (IKernels.Map on ILGPU's CPU accelerator) against the float form run as C#.</summary>
    [Theory]
    [MemberData(nameof(Ops))]
    public void Gpu_form_runs_on_ilgpus_cpu_accelerator(string op)
    {
        var d = OpRegistry.Elementwise[op];
        var t = s_compiled.Value[op];
        var rows = Args(d);
        var dev = s_gpu.Value;
        var k = dev.Kernels<float>();
        var inputs = Enumerable.Range(0, d.Arity).Select(j =>
        {
            var x = dev.Allocate<float>(rows.Length);
            x.CopyFromHost(rows.Select(r => (float)r[j]).ToArray());
            return (object)x;
        }).ToList();
        var y = dev.Allocate<float>(rows.Length);
        var cpu = t.GetNestedType("Cpu`1")!.MakeGenericType(typeof(float));
        var gpu = t.GetNestedType("Gpu")!;
        var map = typeof(NetDsl.Runtime.IKernels<float>).GetMethods().Single(m => m.Name == "Map" && m.GetParameters().Length == d.Arity + 3)
            .MakeGenericMethod(cpu, gpu);
        map.Invoke(k, [.. inputs, y, Activator.CreateInstance(cpu), Activator.CreateInstance(gpu)]);
        var got = y.CopyToHost();
        var g = t.GetMethod("G")!;
        for (int i = 0; i < rows.Length; i++)
        {
            float expected = (float)g.Invoke(null, rows[i].Select(x => (object)(float)x).ToArray())!;
            Assert.True(Close(got[i], expected, 1e-5), $"{op}({string.Join(", ", rows[i].Select(x => x.ToString("G6")))}): ILGPU {got[i]}, float form {expected}");
        }
    }

    private static bool Close(double a, double b, double tol) => Math.Abs(a - b) <= tol * Math.Max(1, Math.Abs(b));

    [Theory]
    [MemberData(nameof(Gradients))]
    public void Gradient_op_matches_fp64_finite_differences_of_its_forward_expression(string op)
    {
        var d = OpRegistry.Elementwise[op];
        var f = OpRegistry.Elementwise[d.GradientOf!];
        var attrs = Attrs(f);
        double F(double x) => PxMath.Eval(f.Expr, [x], attrs);
        int checkedPoints = 0;
        foreach (var x in s_x)
        {
            const double h = 1e-6;
            double left = (F(x) - F(x - h)) / h, right = (F(x + h) - F(x)) / h;
            if (Math.Abs(left - right) > 1e-3 * Math.Max(1, Math.Abs(left))) continue;   // a kink within h: no derivative to compare
            double fd = (F(x + h) - F(x - h)) / (2 * h);
            double dy = 1.3;
            double got = PxMath.Eval(d.Expr, [dy, d.ReadsOutput ? F(x) : x], attrs);
            Assert.True(Math.Abs(got - dy * fd) <= 1e-6 * Math.Max(1, Math.Abs(dy * fd)), $"{op} at x = {x}: {got}, finite differences {dy * fd}");
            checkedPoints++;
        }
        output.WriteLine($"{op} ({(d.Derived ? "derived" : "declared")}, reads {(d.ReadsOutput ? "y" : "x")}): {checkedPoints} points");
        Assert.True(checkedPoints >= s_x.Length - 4, $"{op}: only {checkedPoints} of {s_x.Length} points were away from kinks");
    }

    /// <summary>The gradients at the kinks, as PyTorch 1.13.1 computes them in float64 (hardsigmoid's 1/6 aside).</summary>
    [Theory]
    [InlineData("relu", 0.0, 0.0)]
    [InlineData("relu6", 0.0, 0.0)]
    [InlineData("relu6", 6.0, 0.0)]
    [InlineData("hard_sigmoid", -3.0, 0.0)]
    [InlineData("hard_sigmoid", 3.0, 0.0)]
    [InlineData("hardswish", -3.0, -0.5)]
    [InlineData("hardswish", 3.0, 1.0)]
    [InlineData("hardswish", -3.5, 0.0)]
    [InlineData("hardswish", 0.0, 0.5)]
    public void Declared_gradients_give_pytorchs_value_at_the_kinks(string forward, double x, double expected)
    {
        var f = OpRegistry.Elementwise[forward];
        var d = OpRegistry.Elementwise[forward + "_bwd"];
        Assert.Equal(forward, d.GradientOf);
        double got = PxMath.Eval(d.Expr, [1.0, d.ReadsOutput ? PxMath.Eval(f.Expr, [x], []) : x], []);
        Assert.Equal(expected, got, 12);
    }

    [Fact]
    public void Flops_and_arity_are_derived_from_the_expression()
    {
        Assert.Equal(1, OpRegistry.Elementwise["relu"].Flops);
        Assert.Equal(4, OpRegistry.Elementwise["sigmoid"].Flops);
        Assert.Equal(2, OpRegistry.Elementwise["relu6"].Flops);
        Assert.Equal(5, OpRegistry.Elementwise["hardswish"].Flops);   // x + 3, max, min, ·x, /6
        Assert.Equal(1, OpRegistry.Elementwise["relu"].Arity);
        Assert.Equal(2, OpRegistry.Elementwise["relu_bwd"].Arity);
        Assert.True(OpRegistry.Elementwise["silu_bwd"].Derived);
        Assert.True(OpRegistry.Elementwise["gelu_bwd"].Derived);
        Assert.False(OpRegistry.Elementwise["relu6_bwd"].Derived);
    }

    [Fact]
    public void A_shared_subexpression_is_computed_once()
    {
        // silu's derived gradient uses σ(x) three times: one local, one VMath.Sigmoid call
        var stmts = new List<string>();
        var r = ElemCode.Write(new ElemOp("silu_bwd", [new ElemInput(0), new ElemInput(1)]), ElemCode.Flavor.Vector512, stmts, ["a", "b"]);
        var code = string.Join("\n", stmts) + "\n" + r;
        output.WriteLine(code);
        Assert.Equal(1, code.Split("VMath.Sigmoid(").Length - 1);
        Assert.DoesNotContain("Vector256", code);
    }
}
