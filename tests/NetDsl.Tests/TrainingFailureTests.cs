using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;

namespace NetDsl.Tests;

/// <summary>
/// Training failures are reported, not silent: with CheckFinite on, the first NaN or infinity names the kernel, its .net line
/// and the tensor; ValidateInputs names a bad input element; an empty batch is a clear error.
/// </summary>
[Collection(SerialCollection.Name)]
public class TrainingFailureTests
{
    private static (Tensor<float> X, Tensor<int> Y) Batch(int n)
    {
        var rng = new Random(3);
        var x = Tensor<float>.FromArray(Enumerable.Range(0, n * 28 * 28).Select(_ => (float)rng.NextDouble()).ToArray(), n, 1, 28, 28);
        var y = Tensor<int>.FromArray(Enumerable.Range(0, n).Select(i => i % 10).ToArray(), n);
        return (x, y);
    }

    [Fact]
    public void An_infinite_weight_is_reported_at_the_first_kernel_that_produces_a_non_finite_value()
    {
        var net = new LeNet5(Device.Cpu, seed: 1) { CheckFinite = true };
        net.Fc1.Weight.Value.AsSpan()[7] = float.PositiveInfinity;
        var (x, y) = Batch(4);
        var before = net.Fc2.Weight.Value.CopyToHost();
        var ex = Assert.Throws<NonFiniteException>(() => net.TrainStep(x, y, new Sgd<float>(net.Parameters, lr: 0.1)));
        Assert.Contains("forward", ex.Kernel);
        Assert.Contains("linear fc1", ex.Kernel);     // fc1 with its relu fused: the kernel's output is relu3
        Assert.Contains("lenet5.net line 9", ex.Kernel);
        Assert.Equal("relu3", ex.Tensor);
        Assert.Contains("LeNet5", ex.Message);
        // the step stopped before the optimizer: other weights are untouched
        Assert.Equal(before, net.Fc2.Weight.Value.CopyToHost());
    }

    [Fact]
    public void Without_CheckFinite_the_same_step_runs_and_the_loss_is_not_finite()
    {
        var net = new LeNet5(Device.Cpu, seed: 1);
        net.Fc1.Weight.Value.AsSpan()[7] = float.PositiveInfinity;
        var (x, y) = Batch(4);
        float loss = net.TrainStep(x, y);
        Assert.False(float.IsFinite(loss));
    }

    [Fact]
    public void A_huge_learning_rate_is_caught_in_the_step_where_values_overflow()
    {
        var net = new LeNet5(Device.Cpu, seed: 1) { CheckFinite = true };
        var (x, y) = Batch(8);
        var sgd = new Sgd<float>(net.Parameters, lr: 1e30);
        var ex = Assert.Throws<NonFiniteException>(() => { for (int i = 0; i < 10; i++) net.TrainStep(x, y, sgd); });
        Assert.Matches(@"(forward|backward) k\d+: ", ex.Kernel);
    }

    /// <summary>A network without kernels whose FiniteCheckNames table is given: calls CheckFiniteAfter as generated code does.</summary>
    private sealed class CheckProbe(string names) : NetworkBase<float>(Device.Cpu, 0)
    {
        protected override string FiniteCheckNames => names;
        public void Check(int n, params Tensor<float>[] t)
        {
            if (t.Length == 1) CheckFiniteAfter(n, t[0]);
            else if (t.Length == 2) CheckFiniteAfter(n, t[0], t[1]);
            else if (t.Length == 3) CheckFiniteAfter(n, t[0], t[1], t[2]);
            else CheckFiniteAfter(n, t);
        }
    }

    [Fact]
    public void CheckFiniteAfter_names_the_kernel_and_the_output_from_its_line_of_the_generated_table()
    {
        var probe = new CheckProbe("forward k0: conv2d conv1 (a.net line 3) -> conv1\nbackward k7: odd -> label (a.net line 9) -> dx, w.grad, b.grad, c.grad\r\nforward k8: relu r (a.net line 4) -> r");
        Tensor<float> Ok() => Tensor<float>.FromArray(new float[] { 1, 2, 3 }, 3);
        Tensor<float> Bad(float v) => Tensor<float>.FromArray(new float[] { 1, v, 3 }, 3);
        probe.Check(1, Ok(), Ok(), Ok(), Ok());   // all finite: no exception
        var ex = Assert.Throws<NonFiniteException>(() => probe.Check(1, Ok(), Ok(), Ok(), Bad(float.NaN)));
        Assert.Equal("backward k7: odd -> label (a.net line 9)", ex.Kernel);   // the last " -> " separates the outputs
        Assert.Equal("c.grad", ex.Tensor);
        Assert.Equal(1, ex.Index);
        ex = Assert.Throws<NonFiniteException>(() => probe.Check(1, Ok(), Bad(float.PositiveInfinity)));
        Assert.Equal("w.grad", ex.Tensor);
        ex = Assert.Throws<NonFiniteException>(() => probe.Check(1, Ok(), Ok(), Bad(float.NegativeInfinity)));
        Assert.Equal("b.grad", ex.Tensor);
        ex = Assert.Throws<NonFiniteException>(() => probe.Check(2, Bad(float.NaN)));   // the line after a \r\n
        Assert.Equal("forward k8: relu r (a.net line 4)", ex.Kernel);
        Assert.Equal("r", ex.Tensor);
        ex = Assert.Throws<NonFiniteException>(() => probe.Check(0, Bad(float.NaN)));
        Assert.Equal("conv1", ex.Tensor);
    }

    [Fact]
    public void ValidateInputs_names_the_input_and_element()
    {
        var net = new LeNet5(Device.Cpu, seed: 1) { ValidateInputs = true };
        var (x, y) = Batch(2);
        x.AsSpan()[28 * 28 + 5] = float.NaN;
        var ex = Assert.Throws<ArgumentException>(() => net.TrainStep(x, y));
        Assert.Equal("image", ex.ParamName);
        Assert.Contains("NaN", ex.Message);
        Assert.Contains("[1, 0, 0, 5]", ex.Message);
    }

    [Fact]
    public void An_empty_batch_is_a_clear_error()
    {
        var net = new LeNet5(Device.Cpu, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => net.TrainStep(Tensor<float>.Zeros(0, 1, 28, 28), Tensor<int>.Zeros(0)));
        Assert.Contains("empty", ex.Message);
        Assert.Equal("image", ex.ParamName);
    }
}
