using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive head split: the index formula, element by element.
public sealed partial class ReferenceKernels<T>
{
    public void SplitHeads(Tensor<T> x, Tensor<T> a, Tensor<T> b, Tensor<T>? c)
    {
        int n = x.Shape[0], t = x.Shape[1], parts = x.Shape[2], h = x.Shape[3], d = x.Shape[4];
        for (int ni = 0; ni < n; ni++) for (int ti = 0; ti < t; ti++) for (int p = 0; p < parts; p++) for (int hi = 0; hi < h; hi++) for (int i = 0; i < d; i++)
        {
            var dst = p == 0 ? a : p == 1 ? b : c!;
            dst.AsSpan()[((ni * h + hi) * t + ti) * d + i] = x.AsSpan()[(((ni * t + ti) * parts + p) * h + hi) * d + i];
        }
    }

    public void SplitHeadsBackward(Tensor<T> da, Tensor<T> db, Tensor<T>? dc, Tensor<T> dx)
    {
        int n = dx.Shape[0], t = dx.Shape[1], parts = dx.Shape[2], h = dx.Shape[3], d = dx.Shape[4];
        for (int ni = 0; ni < n; ni++) for (int ti = 0; ti < t; ti++) for (int p = 0; p < parts; p++) for (int hi = 0; hi < h; hi++) for (int i = 0; i < d; i++)
        {
            var src = p == 0 ? da : p == 1 ? db : dc!;
            dx.AsSpan()[(((ni * t + ti) * parts + p) * h + hi) * d + i] = src.AsSpan()[((ni * h + hi) * t + ti) * d + i];
        }
    }
}
