using System.Runtime.CompilerServices;

namespace NetDsl.Runtime;

// The optimizer update of a whole parameter group as one kernel: the group's elements are cut into blocks of
// 16K elements (a block never spans two tensors), and one allocation-free parallel loop updates all blocks.
public sealed partial class CpuKernels<T>
{
    private const int OptimBlock = 1 << 14;

    /// <summary>Blocks (tensor index, start, length) of a parameter group, computed once per group array.</summary>
    private static readonly ConditionalWeakTable<Tensor<T>[], (int Tensor, int Start, int Length)[]> s_blocks = new();

    private static (int Tensor, int Start, int Length)[] Blocks(Tensor<T>[] param) =>
        s_blocks.GetValue(param, static ps =>
        {
            var list = new List<(int, int, int)>();
            for (int t = 0; t < ps.Length; t++)
                for (int s = 0; s < ps[t].Length; s += OptimBlock)
                    list.Add((t, s, Math.Min(OptimBlock, ps[t].Length - s)));
            return list.ToArray();
        });

    public void SgdStep(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] velocity, T lr, T momentum, T weightDecay, bool nesterov)
    {
        KernelContract.SgdStep(param, grad, velocity);
        var blocks = Blocks(param);
        ParallelRunner.For(blocks.Length, new SgdBody(blocks, param, grad, velocity, lr, momentum, weightDecay, nesterov));
    }

    public void AdamStep(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] m, Tensor<T>[] v, T lr, T beta1, T beta2, T eps, T weightDecay, int step)
    {
        KernelContract.AdamStep(param, grad, m, v, step);
        var blocks = Blocks(param);
        ParallelRunner.For(blocks.Length, new AdamBody(blocks, param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step));
    }

    private readonly struct SgdBody((int Tensor, int Start, int Length)[] blocks, Tensor<T>[] p, Tensor<T>[] g, Tensor<T>[] v,
        T lr, T momentum, T weightDecay, bool nesterov) : IParallelBody
    {
        public void Run(int index)
        {
            var (t, s, n) = blocks[index];
            Sgd(p[t].AsSpan().Slice(s, n), g[t].AsSpan().Slice(s, n), v[t].AsSpan().Slice(s, n), lr, momentum, weightDecay, nesterov);
        }
    }

    private readonly struct AdamBody((int Tensor, int Start, int Length)[] blocks, Tensor<T>[] p, Tensor<T>[] g, Tensor<T>[] m, Tensor<T>[] v,
        T lr, T beta1, T beta2, T eps, T weightDecay, int step) : IParallelBody
    {
        public void Run(int index)
        {
            var (t, s, n) = blocks[index];
            Adam(p[t].AsSpan().Slice(s, n), g[t].AsSpan().Slice(s, n), m[t].AsSpan().Slice(s, n), v[t].AsSpan().Slice(s, n),
                lr, beta1, beta2, eps, weightDecay, step);
        }
    }
}
