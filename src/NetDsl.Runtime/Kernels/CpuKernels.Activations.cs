using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Activations family (Ops/Activations.cs): PReLU, softmax / log-softmax along an axis, maxout over channels.
// Vectorized where rows are contiguous; split across cores (ParallelRunner via Chunks) when the work is large; no allocation.
public sealed partial class CpuKernels<T>
{
    public void PReluForward(Tensor<T> x, Tensor<T> slope, Tensor<T> y)
    {
        var (planes, c, inner) = KernelContract.PReluForward(x, slope, y);
        Chunks(planes, Workers(x.Length, planes), (x, slope, y, c, inner), static (s, lo, hi) =>
        {
            var xs = s.x.AsSpan(); var ys = s.y.AsSpan(); var a = s.slope.AsSpan();
            for (int p = lo; p < hi; p++)
                PReluRow(xs.Slice(p * s.inner, s.inner), ys.Slice(p * s.inner, s.inner), a[p % s.c]);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PReluRow(ReadOnlySpan<T> x, Span<T> y, T a)
    {
        int n = x.Length, w = Vector256<T>.Count, i = 0;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        var va = Vector256.Create(a);
        for (; i <= n - w; i += w)
        {
            var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
            Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<T>.Zero), v, va * v).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) { T v = Unsafe.Add(ref xr, i); Unsafe.Add(ref yr, i) = v > T.Zero ? v : a * v; }
    }

    public void PReluBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> slope, Tensor<T>? dx, Tensor<T> dslope)
    {
        var (planes, c, inner) = KernelContract.PReluBackward(dy, x, slope, dx, dslope);
        var xs = x.AsSpan(); var dys = dy.AsSpan(); var a = slope.AsSpan(); var ds = dslope.AsSpan();
        var dxs = dx is null ? Span<T>.Empty : dx.AsSpan();
        ds.Clear();
        int w = Vector256<T>.Count;
        for (int p = 0; p < planes; p++)
        {
            int ch = p % c, o = p * inner, i = 0;
            T ap = a[ch];
            var va = Vector256.Create(ap);
            var acc = Vector256<T>.Zero;
            ref T xr = ref MemoryMarshal.GetReference(xs.Slice(o, inner));
            ref T gr = ref MemoryMarshal.GetReference(dys.Slice(o, inner));
            for (; i <= inner - w; i += w)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var g = Vector256.LoadUnsafe(ref gr, (nuint)i);
                var pos = Vector256.GreaterThan(v, Vector256<T>.Zero);
                acc += Vector256.ConditionalSelect(pos, Vector256<T>.Zero, g * v);
                if (dx is not null) Vector256.ConditionalSelect(pos, g, va * g).StoreUnsafe(ref dxs[o], (nuint)i);
            }
            T sum = Vector256.Sum(acc);
            for (; i < inner; i++)
            {
                T v = xs[o + i], g = dys[o + i];
                if (v > T.Zero) { if (dx is not null) dxs[o + i] = g; }
                else { sum += g * v; if (dx is not null) dxs[o + i] = ap * g; }
            }
            ds[ch] += sum;
        }
    }

    public void SoftmaxForward(Tensor<T> x, Tensor<T> y, int axis, bool log)
    {
        var (outer, size, inner) = KernelContract.SoftmaxForward(x, y, axis);
        if (size == 0) return;
        Chunks(outer * inner, Workers(x.Length * 4L, outer * inner), (x, y, size, inner, log), static (s, lo, hi) =>
        {
            var xs = s.x.AsSpan(); var ys = s.y.AsSpan();
            for (int r = lo; r < hi; r++)
            {
                int o = r / s.inner, i = r % s.inner, b = o * s.size * s.inner + i;
                if (s.inner == 1) SoftmaxRow(xs.Slice(b, s.size), ys.Slice(b, s.size), s.log);
                else SoftmaxStrided(xs, ys, b, s.size, s.inner, s.log);
            }
        });
    }

    private static void SoftmaxRow(ReadOnlySpan<T> x, Span<T> y, bool log)
    {
        int n = x.Length, w = Vector256<T>.Count, i = 0;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        T max = T.NegativeInfinity;
        if (n >= w)
        {
            var vm = Vector256.Create(T.NegativeInfinity);
            for (; i <= n - w; i += w) vm = Vector256.Max(vm, Vector256.LoadUnsafe(ref xr, (nuint)i));
            for (int j = 0; j < w; j++) if (vm[j] > max) max = vm[j];
        }
        for (; i < n; i++) if (x[i] > max) max = x[i];
        var vmax = Vector256.Create(max);
        var acc = Vector256<T>.Zero;
        i = 0;
        for (; i <= n - w; i += w)
        {
            var e = VMath.Exp(Vector256.LoadUnsafe(ref xr, (nuint)i) - vmax);
            acc += e;
            if (!log) e.StoreUnsafe(ref yr, (nuint)i);
        }
        T sum = Vector256.Sum(acc);
        for (; i < n; i++) { T e = T.Exp(x[i] - max); sum += e; if (!log) y[i] = e; }
        if (log)
        {
            T shift = max + T.Log(sum);
            var vs = Vector256.Create(shift);
            for (i = 0; i <= n - w; i += w) (Vector256.LoadUnsafe(ref xr, (nuint)i) - vs).StoreUnsafe(ref yr, (nuint)i);
            for (; i < n; i++) y[i] = x[i] - shift;
        }
        else
        {
            T inv = T.One / sum;
            var vi = Vector256.Create(inv);
            for (i = 0; i <= n - w; i += w) (Vector256.LoadUnsafe(ref yr, (nuint)i) * vi).StoreUnsafe(ref yr, (nuint)i);
            for (; i < n; i++) y[i] *= inv;
        }
    }

    private static void SoftmaxStrided(ReadOnlySpan<T> x, Span<T> y, int b, int size, int inner, bool log)
    {
        T max = T.NegativeInfinity;
        for (int j = 0; j < size; j++) { T v = x[b + j * inner]; if (v > max) max = v; }
        T sum = T.Zero;
        for (int j = 0; j < size; j++) { T e = T.Exp(x[b + j * inner] - max); sum += e; if (!log) y[b + j * inner] = e; }
        if (log) { T shift = max + T.Log(sum); for (int j = 0; j < size; j++) y[b + j * inner] = x[b + j * inner] - shift; }
        else { T inv = T.One / sum; for (int j = 0; j < size; j++) y[b + j * inner] *= inv; }
    }

    public void SoftmaxBackward(Tensor<T> dy, Tensor<T> y, Tensor<T> dx, int axis, bool log)
    {
        var (outer, size, inner) = KernelContract.SoftmaxBackward(dy, y, dx, axis);
        if (size == 0) return;
        Chunks(outer * inner, Workers(y.Length * 3L, outer * inner), (dy, y, dx, size, inner, log), static (s, lo, hi) =>
        {
            var g = s.dy.AsSpan(); var ys = s.y.AsSpan(); var d = s.dx.AsSpan();
            for (int r = lo; r < hi; r++)
            {
                int o = r / s.inner, i = r % s.inner, b = o * s.size * s.inner + i, st = s.inner;
                T acc = T.Zero;
                if (s.log)
                {
                    for (int j = 0; j < s.size; j++) acc += g[b + j * st];
                    for (int j = 0; j < s.size; j++) d[b + j * st] = g[b + j * st] - T.Exp(ys[b + j * st]) * acc;
                }
                else
                {
                    for (int j = 0; j < s.size; j++) acc += g[b + j * st] * ys[b + j * st];
                    for (int j = 0; j < s.size; j++) d[b + j * st] = ys[b + j * st] * (g[b + j * st] - acc);
                }
            }
        });
    }

    public void MaxoutForward(Tensor<T> x, Tensor<T> y, Tensor<int> argmax, int pieces)
    {
        var (n, c, inner) = KernelContract.MaxoutForward(x, y, argmax, pieces);
        var xs = x.AsSpan(); var ys = y.AsSpan(); var am = argmax.AsSpan();
        for (int p = 0; p < n * c; p++)
        {
            int nn = p / c, cc = p % c;
            int xb = (nn * c * pieces + cc * pieces) * inner, yb = p * inner;
            var first = xs.Slice(xb, inner);
            first.CopyTo(ys.Slice(yb, inner));
            am.Slice(yb, inner).Clear();
            for (int j = 1; j < pieces; j++)
            {
                var xj = xs.Slice(xb + j * inner, inner);
                for (int i = 0; i < inner; i++)
                    if (xj[i] > ys[yb + i]) { ys[yb + i] = xj[i]; am[yb + i] = j; }
            }
        }
    }

    public void MaxoutBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx, int pieces)
    {
        var (n, c, inner) = KernelContract.MaxoutBackward(dy, argmax, dx, pieces);
        var g = dy.AsSpan(); var am = argmax.AsSpan(); var d = dx.AsSpan();
        for (int p = 0; p < n * c; p++)
        {
            int nn = p / c, cc = p % c;
            int xb = (nn * c * pieces + cc * pieces) * inner, yb = p * inner;
            for (int j = 0; j < pieces; j++)
                for (int i = 0; i < inner; i++)
                    d[xb + j * inner + i] = am[yb + i] == j ? g[yb + i] : T.Zero;
        }
    }
}
