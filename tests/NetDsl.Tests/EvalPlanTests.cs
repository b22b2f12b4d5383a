using System.Reflection;
using NetDsl.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// Eval-mode Forward runs the eval-only program in arenas of its own: the same outputs as the training program's forward
/// pass (for networks whose ops do not depend on the mode), and a network used only for inference never allocates the
/// training arenas.
/// </summary>
public class EvalPlanTests(ITestOutputHelper output)
{
    /// <summary>The private arena fields of a generated class with their names: <c>_arena0</c>… (training) and <c>_evalArena0</c>… (eval).</summary>
    private static List<(string Name, object? Value)> Arenas(object net, string prefix) =>
        net.GetType().GetFields(BindingFlags.NonPublic | BindingFlags.Instance)
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(f.Name, "^" + prefix + @"\d+$"))
            .Select(f => (f.Name, f.GetValue(net))).ToList();

    private static Tensor<double> Images(int n, int seed) =>
        Tensor<double>.FromArray(TestData.Random(n * 28 * 28, seed), [n, 1, 28, 28]);

    [Fact]
    public void A_network_used_only_for_inference_never_allocates_the_training_arenas()
    {
        var net = new LeNet5<double>(Device.Cpu, seed: 3);
        net.Eval();
        net.Forward(Images(4, 1));
        net.Forward(Images(2, 2));
        var training = Arenas(net, "_arena");
        var eval = Arenas(net, "_evalArena");
        Assert.NotEmpty(training);
        Assert.NotEmpty(eval);
        Assert.All(training, a => Assert.Null(a.Value));
        Assert.All(eval, a => Assert.NotNull(a.Value));
        long evalElements = eval.Sum(a => (long)((dynamic)a.Value!).Length);
        output.WriteLine($"eval arenas after batches 4 and 2: {evalElements} elements ({LeNet5.EvalPlannedBytesPerSample} bytes per sample planned, training {LeNet5.PlannedBytesPerSample})");
        // sized for the largest batch: 4 samples × (bytes per sample / 4 bytes per planned element)
        Assert.Equal(4 * (LeNet5.EvalPlannedBytesPerSample / 4), evalElements);

        // the first training step allocates them
        net.Train();
        net.TrainStep(Images(2, 3), Tensor<int>.FromArray([1, 7], [2]));
        Assert.All(Arenas(net, "_arena"), a => Assert.NotNull(a.Value));
    }

    [Fact]
    public void Eval_output_equals_the_training_programs_forward_output()
    {
        // LeNet-5 has no op whose result depends on the mode (no dropout, no batchnorm): both programs compute the same numbers
        var net = new LeNet5<double>(Device.Cpu, seed: 5);
        foreach (int n in new[] { 3, 5, 3 })
        {
            var x = Images(n, n);
            net.Train();
            var train = net.Forward(x).CopyToHost();
            net.Eval();
            var eval = net.Forward(x);
            Assert.Equal([n, 10], eval.Shape);
            Assert.Equal(train, eval.CopyToHost());
        }
    }

    [Fact]
    public void Eval_forward_rebinds_views_of_inputs_when_the_batch_size_changes()
    {
        // OpBroadcast flattens its input (a view of the caller's tensor): the view follows each call's input and batch size
        var net = OpReferenceTests.Create<double>("OpBroadcast", Device.Cpu, seed: 2);
        var forward = net.GetType().GetMethods().Single(m => m.Name == "Forward");
        var shape = ((int[])net.GetType().GetProperty("XShape")!.GetValue(null)!);
        foreach (int n in new[] { 2, 3, 2 })
        {
            var s = shape.Select(d => d < 0 ? n : d).ToArray();
            var x = Tensor<double>.FromArray(TestData.Random(s.Aggregate(1, (a, b) => a * b), 10 + n), s);
            net.Train();
            var train = ((Tensor<double>)forward.Invoke(net, [x])!).CopyToHost();
            net.Eval();
            var eval = (Tensor<double>)forward.Invoke(net, [x])!;
            Assert.Equal(n, eval.Shape[0]);
            Assert.Equal(train, eval.CopyToHost());
        }
    }
}
