using System.Numerics;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDsl.Compiler;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Generator.Tests;

/// <summary>
/// Rematerialization (CompileOptions.Rematerialize, on by default): the same network compiled with and without it trains
/// to the same losses and gradients (up to rounding), its planned arenas shrink, and the generated code names each recompute.
/// Both variants are compiled with Roslyn and loaded side by side.
/// </summary>
public class RematerializationTests
{
    private static CompiledNetwork CompileNet(string example, string network, bool remat)
    {
        var path = Path.Combine(RepoPaths.Root, "examples", example);
        var result = NetCompiler.Compile(path, File.ReadAllText(path), new CompileOptions { Namespace = remat ? "Remat.On" : "Remat.Off", Rematerialize = remat });
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        return result.Networks.Single(n => n.Name == network);
    }

    private static Type Load(CompiledNetwork n, string ns)
    {
        var runtime = typeof(Device).Assembly.Location;
        var bin = Path.GetDirectoryName(runtime)!;
        var references = GeneratorHarness.BasicReferences
            .Append(MetadataReference.CreateFromFile(runtime))
            .Concat(Directory.GetFiles(bin, "ILGPU*.dll").Select(p => MetadataReference.CreateFromFile(p)));
        var compilation = CSharpCompilation.Create("Remat" + ns.Replace(".", ""),
            [CSharpSyntaxTree.ParseText(n.Source, GeneratorHarness.ParseOptions, path: n.HintName)],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        using var ms = new MemoryStream();
        var emit = compilation.Emit(ms);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(5)));
        ms.Position = 0;
        var asm = new AssemblyLoadContext("remat-" + ns, isCollectible: true).LoadFromStream(ms);
        return asm.GetType($"{ns}.{n.Name}`1")!;
    }

    private static (List<double> Losses, List<T[]> Grads, List<T[]> Buffers, T[] Logits) Train<T>(Type generic, int batch) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var type = generic.MakeGenericType(typeof(T));
        var net = (NetworkBase<T>)Activator.CreateInstance(type, Device.Cpu, 7)!;
        var train = type.GetMethods().Single(m => m.Name == "TrainStep" && m.GetParameters().Length == 2);
        var image = type.GetMethods().First(m => m.Name == "Forward").GetParameters()[0];
        var shape = ((int[])type.GetProperty("ImageShape", BindingFlags.Public | BindingFlags.Static | BindingFlags.FlattenHierarchy)!.GetValue(null)!)
            .Select(d => d < 0 ? batch : d).ToArray();
        var rng = new Random(3);
        var x = Tensor<T>.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => T.CreateChecked(rng.NextDouble() * 2 - 1)).ToArray(), shape);
        var labels = Tensor<int>.FromArray(Enumerable.Range(0, batch).Select(i => i % 10).ToArray(), batch);
        var sgd = new Sgd<T>(net.Parameters, lr: 0.05, momentum: 0.9);
        var losses = new List<double>();
        for (int step = 0; step < 3; step++)
        {
            losses.Add(double.CreateChecked((T)train.Invoke(net, [x, labels])!));
            sgd.Step();
        }
        var grads = net.Parameters.Select(p => p.Grad.AsSpan().ToArray()).ToList();
        var buffers = net.Buffers.Select(b => b.Value.AsSpan().ToArray()).ToList();
        net.Eval();
        var logits = ((Tensor<T>)type.GetMethods().First(m => m.Name == "Forward").Invoke(net, [x])!).AsSpan().ToArray();
        return (losses, grads, buffers, logits);
    }

    private static long Const(Type generic, string name) =>
        (long)generic.MakeGenericType(typeof(float)).GetField(name, BindingFlags.Public | BindingFlags.Static | BindingFlags.FlattenHierarchy)!.GetValue(null)!;

    private static void AssertSame<T>(string example, string network, int batch) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var on = Load(CompileNet(example, network, true), "Remat.On");
        var off = Load(CompileNet(example, network, false), "Remat.Off");
        var a = Train<T>(on, batch);
        var b = Train<T>(off, batch);
        // the recomputed values are bit-identical (BatchNormApplyTests); kernels whose summation order depends on where a
        // buffer sits (the direct convolutions' vector alignment) may round differently, so: equal up to rounding
        double tol = typeof(T) == typeof(float) ? 1e-4 : 1e-10;
        void Close(IReadOnlyList<T> e, IReadOnlyList<T> x, string what)
        {
            Assert.Equal(e.Count, x.Count);
            double scale = e.Select(v => Math.Abs(double.CreateChecked(v))).DefaultIfEmpty(0).Max() + 1e-30;
            for (int i = 0; i < e.Count; i++)
                Assert.True(Math.Abs(double.CreateChecked(e[i]) - double.CreateChecked(x[i])) <= tol * scale, $"{what}[{i}]: {e[i]} without recomputation, {x[i]} with");
        }
        Close(b.Losses.Select(T.CreateChecked).ToList(), a.Losses.Select(T.CreateChecked).ToList(), "loss");
        Assert.Equal(b.Grads.Count, a.Grads.Count);
        for (int i = 0; i < a.Grads.Count; i++) Close(b.Grads[i], a.Grads[i], $"grad {i}");
        for (int i = 0; i < a.Buffers.Count; i++) Close(b.Buffers[i], a.Buffers[i], $"buffer {i}");
        Close(b.Logits, a.Logits, "logits");
    }

    [Fact]
    public void ResNetTiny_trains_like_the_plan_without_recomputation_float() => AssertSame<float>("Models/resnet.net", "ResNetTiny", 4);

    [Fact]
    public void ResNetTiny_trains_like_the_plan_without_recomputation_double() => AssertSame<double>("Models/resnet.net", "ResNetTiny", 3);

    [Fact]
    public void LeNet5_trains_like_the_plan_without_recomputation() => AssertSame<float>("Mnist/lenet5.net", "LeNet5", 5);

    [Fact]
    public void ResNet20_plans_a_third_less_memory_and_names_each_recompute()
    {
        var on = CompileNet("Models/resnet20.net", "ResNet20", true);
        var off = CompileNet("Models/resnet20.net", "ResNet20", false);
        Assert.Equal(0, off.Summary.RecomputedValues);
        Assert.DoesNotContain("recomputed for backward", off.Source);
        Assert.Equal(off.Summary.PlannedBytesPerSample, on.Summary.PlannedBytesPerSampleWithoutRecompute);
        // 1.52 MiB per sample keeping every saved value; the relu after each block's first batchnorm and every other block
        // output are recomputed instead
        Assert.True(on.Summary.PlannedBytesPerSample < 0.7 * off.Summary.PlannedBytesPerSample,
            $"planned {on.Summary.PlannedBytesPerSample} bytes per sample with recomputation vs {off.Summary.PlannedBytesPerSample} without");
        Assert.True(on.Summary.RecomputedValues >= 9, $"{on.Summary.RecomputedValues} values recomputed");
        Assert.Contains("K.BatchNormApply(", on.Source);
        // one comment per recompute kernel: each recomputed value, plus the batchnorm outputs recomputed on the way
        Assert.True(on.Source.Split("// recomputed for backward: ").Length - 1 >= on.Summary.RecomputedValues);
        Assert.Contains($"public const long PlannedBytesPerSample = {on.Summary.PlannedBytesPerSample};", on.Source);
    }

    [Fact]
    public void ResNetTiny_planned_bytes_drop_with_recomputation()
    {
        var on = Load(CompileNet("Models/resnet.net", "ResNetTiny", true), "Remat.On");
        var off = Load(CompileNet("Models/resnet.net", "ResNetTiny", false), "Remat.Off");
        long a = Const(on, "PlannedBytesPerSample"), b = Const(off, "PlannedBytesPerSample");
        Assert.True(a < 0.8 * b, $"planned {a} bytes per sample with recomputation vs {b} without");
    }
}
