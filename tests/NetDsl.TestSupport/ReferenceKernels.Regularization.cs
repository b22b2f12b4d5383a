using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive loops for the regularization family: the dropout stream of IKernels.DropoutForward hashed per block.
public sealed partial class ReferenceKernels<T>
{
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static void Blocks(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed, int block)
    {
        double pd = double.CreateChecked(p);
        ulong key = Mix(seed ^ 0x6A09E667F3BCC909UL);
        ulong threshold = pd >= 1 ? ulong.MaxValue : (ulong)(pd * 9007199254740992.0);
        var xs = x.AsSpan(); var ms = mask.AsSpan(); var ys = y.AsSpan();
        for (int i = 0; i < xs.Length; i++)
        {
            bool drop = (Mix(key + (ulong)(i / block) * 0x9E3779B97F4A7C15UL) >> 11) < threshold;
            ms[i] = drop ? T.Zero : T.One / (T.One - p);
            ys[i] = xs[i] * ms[i];
        }
    }

    public void Dropout2dForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed) => Blocks(x, mask, y, p, seed, x.Shape[2] * x.Shape[3]);
    public void StochasticDepthForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed) => Blocks(x, mask, y, p, seed, x.Length / x.Shape[0]);

    public void PenaltyForward(ReadOnlySpan<Tensor<T>> weights, T l1, T l2, Tensor<T> loss)
    {
        T total = T.Zero;
        foreach (var w in weights) foreach (var v in w.AsSpan()) total += l1 * T.Abs(v) + l2 * v * v;
        loss.AsSpan()[0] = total;
    }

    public void PenaltyBackward(Tensor<T> dy, Tensor<T> w, T l1, T l2, Tensor<T> dw)
    {
        var ws = w.AsSpan(); var d = dw.AsSpan();
        for (int i = 0; i < ws.Length; i++) d[i] = dy.AsSpan()[0] * (l1 * T.CreateChecked(T.Sign(ws[i])) + T.CreateChecked(2) * l2 * ws[i]);
    }
}
