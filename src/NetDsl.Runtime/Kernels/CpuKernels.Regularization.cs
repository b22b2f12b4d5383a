using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Regularization family (Ops/Regularization.cs): block dropout (dropout2d: (n, c) planes; stochastic depth: samples) with
// the dropout stream (block b dropped iff splitmix64(key + b·φ) >> 11 < p·2^53), and the weight penalties.
public sealed partial class CpuKernels<T>
{
    public void Dropout2dForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed)
    {
        BlockDropout(x, mask, y, p, seed, KernelContract.Dropout2dForward(x, mask, y, double.CreateChecked(p)));
    }

    public void StochasticDepthForward(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed)
    {
        BlockDropout(x, mask, y, p, seed, KernelContract.StochasticDepthForward(x, mask, y, double.CreateChecked(p)));
    }

    /// <summary>The dropout decision of block <paramref name="b"/> (shared with the ILGPU kernels and the tests).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool BlockDropped(ulong key, long b, ulong threshold) => (SplitMix64(key + (ulong)b * 0x9E3779B97F4A7C15UL) >> 11) < threshold;

    private static void BlockDropout(Tensor<T> x, Tensor<T> mask, Tensor<T> y, T p, ulong seed, int block)
    {
        double pd = double.CreateChecked(p);
        if (x.Length == 0 || block == 0) return;
        T scale = pd >= 1 ? T.Zero : T.One / (T.One - p);
        ulong threshold = pd >= 1 ? ulong.MaxValue : (ulong)(pd * 9007199254740992.0);
        ulong key = SplitMix64(seed ^ 0x6A09E667F3BCC909UL);
        var xs = x.AsSpan(); var ms = mask.AsSpan(); var ys = y.AsSpan();
        int blocks = x.Length / block;
        for (int b = 0; b < blocks; b++)
        {
            T m = BlockDropped(key, b, threshold) ? T.Zero : scale;
            ms.Slice(b * block, block).Fill(m);
            var xb = xs.Slice(b * block, block); var yb = ys.Slice(b * block, block);
            if (m == T.Zero) yb.Clear();
            else ScaleInto(xb, yb, m);
        }
    }

    private static void ScaleInto(ReadOnlySpan<T> x, Span<T> y, T m)
    {
        int n = x.Length, w = Vector256<T>.Count, i = 0;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        var vm = Vector256.Create(m);
        for (; i <= n - w; i += w) (Vector256.LoadUnsafe(ref xr, (nuint)i) * vm).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = Unsafe.Add(ref xr, i) * m;
    }

    public void PenaltyForward(ReadOnlySpan<Tensor<T>> weights, T l1, T l2, Tensor<T> loss)
    {
        KernelContract.PenaltyForward(loss);
        T total = T.Zero;
        int w = Vector256<T>.Count;
        foreach (var t in weights)
        {
            var s = t.AsSpan();
            ref T r = ref MemoryMarshal.GetReference(s);
            var a1 = Vector256<T>.Zero; var a2 = Vector256<T>.Zero;
            int i = 0;
            for (; i <= s.Length - w; i += w)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                a1 += Vector256.Abs(v); a2 += v * v;
            }
            T s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2);
            for (; i < s.Length; i++) { s1 += T.Abs(s[i]); s2 += s[i] * s[i]; }
            total += l1 * s1 + l2 * s2;
        }
        loss.AsSpan()[0] = total;
    }

    public void PenaltyBackward(Tensor<T> dy, Tensor<T> w, T l1, T l2, Tensor<T> dw)
    {
        KernelContract.PenaltyBackward(dy, w, dw);
        T g = Upstream(dy), a = g * l1, b = g * (l2 + l2);
        var ws = w.AsSpan(); var ds = dw.AsSpan();
        for (int i = 0; i < ws.Length; i++) ds[i] = a * T.CreateChecked(T.Sign(ws[i])) + b * ws[i];
    }
}
