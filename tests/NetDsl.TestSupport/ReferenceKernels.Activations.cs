using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive loops for the activations family (index arithmetic spelled out, no vectors).
public sealed partial class ReferenceKernels<T>
{
    private static int SlopeIndex(Tensor<T> x, Tensor<T> slope, int i)
    {
        if (slope.Length == 1) return 0;
        int inner = x.Length / (x.Shape[0] * x.Shape[1]);
        return i / inner % x.Shape[1];
    }

    public void PReluForward(Tensor<T> x, Tensor<T> slope, Tensor<T> y)
    {
        y.CheckShape(nameof(y), x.Shape);
        var xs = x.AsSpan(); var a = slope.AsSpan(); var ys = y.AsSpan();
        for (int i = 0; i < xs.Length; i++) ys[i] = xs[i] > T.Zero ? xs[i] : a[SlopeIndex(x, slope, i)] * xs[i];
    }

    public void PReluBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> slope, Tensor<T>? dx, Tensor<T> dslope)
    {
        var xs = x.AsSpan(); var a = slope.AsSpan(); var g = dy.AsSpan(); var ds = dslope.AsSpan();
        ds.Clear();
        for (int i = 0; i < xs.Length; i++)
        {
            int k = SlopeIndex(x, slope, i);
            if (dx is not null) dx.AsSpan()[i] = xs[i] > T.Zero ? g[i] : a[k] * g[i];
            if (!(xs[i] > T.Zero)) ds[k] += g[i] * xs[i];
        }
    }

    private static (int Outer, int Size, int Inner) Split(int[] shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, shape[axis], inner);
    }

    public void SoftmaxForward(Tensor<T> x, Tensor<T> y, int axis, bool log)
    {
        var (outer, size, inner) = Split(x.Shape, axis);
        var xs = x.AsSpan(); var ys = y.AsSpan();
        for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
        {
            T max = T.NegativeInfinity, sum = T.Zero;
            for (int j = 0; j < size; j++) max = T.Max(max, xs[(o * size + j) * inner + i]);
            for (int j = 0; j < size; j++) sum += T.Exp(xs[(o * size + j) * inner + i] - max);
            for (int j = 0; j < size; j++)
            {
                int k = (o * size + j) * inner + i;
                ys[k] = log ? xs[k] - max - T.Log(sum) : T.Exp(xs[k] - max) / sum;
            }
        }
    }

    public void SoftmaxBackward(Tensor<T> dy, Tensor<T> y, Tensor<T> dx, int axis, bool log)
    {
        var (outer, size, inner) = Split(y.Shape, axis);
        var g = dy.AsSpan(); var ys = y.AsSpan(); var d = dx.AsSpan();
        for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
        for (int j = 0; j < size; j++)
        {
            // dx_j = Σ_k dy_k ∂y_k/∂x_j with the Jacobian written out
            int kj = (o * size + j) * inner + i;
            T s = T.Zero;
            for (int k = 0; k < size; k++)
            {
                int kk = (o * size + k) * inner + i;
                T jac = log ? (k == j ? T.One : T.Zero) - T.Exp(ys[kj])
                            : ys[kk] * ((k == j ? T.One : T.Zero) - ys[kj]);
                s += g[kk] * jac;
            }
            d[kj] = s;
        }
    }

    public void MaxoutForward(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, int pieces)
    {
        int n = y.Shape[0], c = y.Shape[1], inner = y.Length / (n * c);
        var xs = x.AsSpan(); var ys = y.AsSpan(); var am = argmax.AsSpan();
        for (int a = 0; a < n; a++)
        for (int b = 0; b < c; b++)
        for (int s = 0; s < inner; s++)
        {
            int best = 0;
            for (int j = 1; j < pieces; j++)
                if (xs[((a * c * pieces) + b * pieces + j) * inner + s] > xs[((a * c * pieces) + b * pieces + best) * inner + s]) best = j;
            ys[(a * c + b) * inner + s] = xs[((a * c * pieces) + b * pieces + best) * inner + s];
            am[(a * c + b) * inner + s] = best;
        }
    }

    public void MaxoutBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx, int pieces)
    {
        int n = dy.Shape[0], c = dy.Shape[1], inner = dy.Length / (n * c);
        var g = dy.AsSpan(); var am = argmax.AsSpan(); var d = dx.AsSpan();
        d.Clear();
        for (int a = 0; a < n; a++)
        for (int b = 0; b < c; b++)
        for (int s = 0; s < inner; s++)
            d[((a * c * pieces) + b * pieces + am[(a * c + b) * inner + s]) * inner + s] += g[(a * c + b) * inner + s];
    }
}
