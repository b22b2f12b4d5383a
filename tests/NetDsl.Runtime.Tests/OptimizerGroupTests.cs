using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

namespace NetDsl.Runtime.Tests;

/// <summary>The fused group update (one parallel kernel over every parameter) equals the tensor-by-tensor update exactly.</summary>
public class OptimizerGroupTests
{
    private static Tensor<double>[] Tensors(int seed, params int[] lengths)
    {
        var r = new Random(seed);
        return lengths.Select(n => Tensor<double>.FromArray(Enumerable.Range(0, n).Select(_ => r.NextDouble() - 0.5).ToArray(), n)).ToArray();
    }

    // sizes around the 16K-element block: one tensor spans several blocks with a ragged last one
    private static readonly int[] Sizes = { 7, 16_384, 40_001, 3, 16_385 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sgd_group_step_equals_per_tensor_steps(bool nesterov)
    {
        var k = CpuKernels<double>.Instance;
        var (p1, g, v1) = (Tensors(1, Sizes), Tensors(2, Sizes), Tensors(3, Sizes));
        var (p2, v2) = (Tensors(1, Sizes), Tensors(3, Sizes));
        for (int step = 0; step < 3; step++)
        {
            k.SgdStep(p1, g, v1, 0.1, 0.9, 1e-3, nesterov);
            for (int i = 0; i < p2.Length; i++) k.SgdStep(p2[i], g[i], v2[i], 0.1, 0.9, 1e-3, nesterov);
        }
        for (int i = 0; i < p1.Length; i++)
        {
            Assert.Equal(p2[i].CopyToHost(), p1[i].CopyToHost());
            Assert.Equal(v2[i].CopyToHost(), v1[i].CopyToHost());
        }
    }

    [Fact]
    public void Adam_group_step_equals_per_tensor_steps()
    {
        var k = CpuKernels<double>.Instance;
        var (p1, g, m1, v1) = (Tensors(1, Sizes), Tensors(2, Sizes), Tensors(3, Sizes), Tensors(4, Sizes));
        var (p2, m2, v2) = (Tensors(1, Sizes), Tensors(3, Sizes), Tensors(4, Sizes));
        foreach (var t in v1.Concat(v2)) { var s = t.AsSpan(); for (int i = 0; i < s.Length; i++) s[i] = Math.Abs(s[i]); }
        for (int step = 1; step <= 3; step++)
        {
            k.AdamStep(p1, g, m1, v1, 1e-3, 0.9, 0.999, 1e-8, 1e-2, step);
            for (int i = 0; i < p2.Length; i++) k.AdamStep(p2[i], g[i], m2[i], v2[i], 1e-3, 0.9, 0.999, 1e-8, 1e-2, step);
        }
        for (int i = 0; i < p1.Length; i++)
        {
            Assert.Equal(p2[i].CopyToHost(), p1[i].CopyToHost());
            Assert.Equal(m2[i].CopyToHost(), m1[i].CopyToHost());
            Assert.Equal(v2[i].CopyToHost(), v1[i].CopyToHost());
        }
    }

    [Fact]
    public void Group_with_a_mismatched_state_tensor_names_it()
    {
        var k = CpuKernels<double>.Instance;
        var p = Tensors(1, 4, 5);
        var ex = Assert.Throws<ArgumentException>(() => k.SgdStep(p, Tensors(2, 4, 5), Tensors(3, 4, 6), 0.1, 0.9, 0, false));
        Assert.Contains("velocity[1]", ex.Message);
    }
}
