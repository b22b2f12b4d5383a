using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Normalization (docs/ops/normalization.md). Each statistic is two vectorized passes over its values (the mean, then the sum
// of squared deviations: no cancellation), then one vectorized pass writes the output. Work is split across cores by
// channel (batchnorm, the weight gradients of groupnorm) or by row (layernorm, groupnorm), so no two threads write the same
// element and nothing is allocated per call.
public sealed partial class CpuKernels<T>
{
    private const long NormParallelMin = 1 << 15;

    private static void NormChunks<TState>(int count, long work, TState state, Action<TState, int, int> body) =>
        Chunks(count, work < NormParallelMin ? 1 : Math.Min(Environment.ProcessorCount, count), state, body);

    // ------------------------------------------------------------------ vector helpers
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T NormSum(ReadOnlySpan<T> s)
    {
        int n = s.Length, i = 0, w = Vector256<T>.Count;
        ref T p = ref MemoryMarshal.GetReference(s);
        T r = T.Zero;
        if (n >= w)
        {
            var acc = Vector256<T>.Zero;
            for (; i <= n - w; i += w) acc += Vector256.LoadUnsafe(ref p, (nuint)i);
            r = Vector256.Sum(acc);
        }
        for (; i < n; i++) r += Unsafe.Add(ref p, i);
        return r;
    }

    /// <summary>Σ (s − m)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T NormSumSqDev(ReadOnlySpan<T> s, T m)
    {
        int n = s.Length, i = 0, w = Vector256<T>.Count;
        ref T p = ref MemoryMarshal.GetReference(s);
        T r = T.Zero;
        if (n >= w)
        {
            var acc = Vector256<T>.Zero; var vm = Vector256.Create(m);
            for (; i <= n - w; i += w) { var d = Vector256.LoadUnsafe(ref p, (nuint)i) - vm; acc += d * d; }
            r = Vector256.Sum(acc);
        }
        for (; i < n; i++) { T d = Unsafe.Add(ref p, i) - m; r += d * d; }
        return r;
    }

    /// <summary>(Σ dy, Σ dy·(x − m)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (T Dy, T DyX) NormDotSums(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, T m)
    {
        int n = dy.Length, i = 0, w = Vector256<T>.Count;
        ref T pd = ref MemoryMarshal.GetReference(dy);
        ref T px = ref MemoryMarshal.GetReference(x);
        T a = T.Zero, b = T.Zero;
        if (n >= w)
        {
            Vector256<T> va = Vector256<T>.Zero, vb = Vector256<T>.Zero, vm = Vector256.Create(m);
            for (; i <= n - w; i += w)
            {
                var d = Vector256.LoadUnsafe(ref pd, (nuint)i);
                va += d;
                vb += d * (Vector256.LoadUnsafe(ref px, (nuint)i) - vm);
            }
            a = Vector256.Sum(va); b = Vector256.Sum(vb);
        }
        for (; i < n; i++) { T d = Unsafe.Add(ref pd, i); a += d; b += d * (Unsafe.Add(ref px, i) - m); }
        return (a, b);
    }

    /// <summary>y = (x − m)·a + b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NormScaleShift(ReadOnlySpan<T> x, Span<T> y, T m, T a, T b)
    {
        int n = x.Length, i = 0, w = Vector256<T>.Count;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        if (n >= w)
        {
            Vector256<T> vm = Vector256.Create(m), va = Vector256.Create(a), vb = Vector256.Create(b);
            for (; i <= n - w; i += w) ((Vector256.LoadUnsafe(ref px, (nuint)i) - vm) * va + vb).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref py, i) = (Unsafe.Add(ref px, i) - m) * a + b;
    }

    /// <summary>dx = a·dy + b·(x − m) + c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NormLin3(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dx, T m, T a, T b, T c)
    {
        int n = dy.Length, i = 0, w = Vector256<T>.Count;
        ref T pd = ref MemoryMarshal.GetReference(dy);
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T po = ref MemoryMarshal.GetReference(dx);
        if (n >= w)
        {
            Vector256<T> vm = Vector256.Create(m), va = Vector256.Create(a), vb = Vector256.Create(b), vc = Vector256.Create(c);
            for (; i <= n - w; i += w)
                (va * Vector256.LoadUnsafe(ref pd, (nuint)i) + vb * (Vector256.LoadUnsafe(ref px, (nuint)i) - vm) + vc).StoreUnsafe(ref po, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref po, i) = a * Unsafe.Add(ref pd, i) + b * (Unsafe.Add(ref px, i) - m) + c;
    }

    // ------------------------------------------------------------------ batchnorm
    // Memory-bound: per channel (channels split across cores) one read of x computes the statistics (sums of the values and
    // of their squares, shifted by the channel's first value against cancellation), then one read of x writes y. The
    // backward reads its dy sources (a fused prologue, e.g. relu_bwd(dy, y), is applied on the fly) and x once for the two
    // sums, parking the combined dy in dx (or in dyOut when other kernels read it), then dx = A·g + B·x + C in place: a
    // channel's data (≤ 1 MB per array at ResNet sizes) is still in L2 for that second pass.

    public void BatchNormForward(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum) =>
        BatchNormForward(x, weight, bias, runningMean, runningVar, y, mean, invStd, training, eps, momentum, default(Identity<T>), default(Identity<T>));

    public void BatchNormForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum, TEpi epilogue, TGpuEpi gpuEpilogue)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1 =>
        BatchNormForwardCore(x, x, weight, bias, runningMean, runningVar, y, mean, invStd, training, eps, momentum, new BnOut1<TEpi>(epilogue));

    /// <summary>
    /// Batchnorm with a residual epilogue: y = epilogue(batchnorm(x), residual), e.g. a ResNet block's tail relu(bn(x) + r)
    /// in one write (CPU only; the compiler does not emit it yet).
    /// </summary>
    public void BatchNormForward<TEpi>(Tensor<T> x, Tensor<T> residual, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum, TEpi epilogue) where TEpi : struct, IMap2<T>
    {
        KernelContract.Like(residual, "residual", x, "x");
        BatchNormForwardCore(x, residual, weight, bias, runningMean, runningVar, y, mean, invStd, training, eps, momentum, new BnOut2<TEpi>(epilogue));
    }

    private static void BatchNormForwardCore<TOut>(Tensor<T> x, Tensor<T> r, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum, TOut epilogue) where TOut : struct, IBnOut
    {
        var (n, c, inner) = KernelContract.BatchNormForward(x, weight, bias, runningMean, runningVar, y, mean, invStd, training);
        long count = (long)n * inner;
        if (training && BatchNormReduction is { } reduce) { BatchNormForwardSync(x, r, weight, bias, runningMean, runningVar, y, mean, invStd, eps, momentum, epilogue, reduce); return; }
        NormChunks(c, count * c, (x, r, weight, bias, runningMean, runningVar, y, mean, invStd, training, eps, momentum, n, c, inner, epilogue),
            static (s, lo, hi) => BatchNormChannels(s.x.AsSpan(), s.r.AsSpan(), s.weight.AsSpan(), s.bias.AsSpan(), s.runningMean.AsSpan(), s.runningVar.AsSpan(),
                s.y.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(), s.training, s.eps, s.momentum, s.n, s.c, s.inner, lo, hi, s.epilogue));
    }

    /// <summary>What batchnorm's forward writes: epilogue(v) or epilogue(v, residual).</summary>
    private interface IBnOut
    {
        T Apply(T v, ref T r, nuint i);
        Vector256<T> Apply(Vector256<T> v, ref T r, nuint i);
        Vector512<T> Apply(Vector512<T> v, ref T r, nuint i);
    }

    private readonly struct BnOut1<TOp>(TOp op) : IBnOut where TOp : struct, IMap1<T>
    {
        public T Apply(T v, ref T r, nuint i) => op.Apply(v);
        public Vector256<T> Apply(Vector256<T> v, ref T r, nuint i) => op.Apply(v);
        public Vector512<T> Apply(Vector512<T> v, ref T r, nuint i) => op.Apply(v);
    }

    private readonly struct BnOut2<TOp>(TOp op) : IBnOut where TOp : struct, IMap2<T>
    {
        public T Apply(T v, ref T r, nuint i) => op.Apply(v, Unsafe.Add(ref r, i));
        public Vector256<T> Apply(Vector256<T> v, ref T r, nuint i) => op.Apply(v, Vector256.LoadUnsafe(ref r, i));
        public Vector512<T> Apply(Vector512<T> v, ref T r, nuint i) => op.Apply(v, Vector512.LoadUnsafe(ref r, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormChannels<TOut>(ReadOnlySpan<T> x, ReadOnlySpan<T> r, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> rm, Span<T> rv,
        Span<T> y, Span<T> mean, Span<T> invStd, bool training, T eps, T momentum, int n, int c, int inner, int lo, int hi, TOut epi)
        where TOut : struct, IBnOut
    {
        T count = T.CreateChecked((long)n * inner);
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T pr = ref MemoryMarshal.GetReference(r);
        ref T py = ref MemoryMarshal.GetReference(y);
        for (int ch = lo; ch < hi; ch++)
        {
            T mu, var;
            if (training)
            {
                T shift = x[ch * inner];
                var (s1, s2) = BnShiftedSums(ref Unsafe.Add(ref px, ch * inner), n, c * inner, inner, shift);
                T d = s1 / count;
                mu = shift + d;
                T ss = T.Max(s2 - s1 * d, T.Zero);   // Σ (x − μ)²
                var = ss / count;
                rm[ch] = (T.One - momentum) * rm[ch] + momentum * mu;
                rv[ch] = (T.One - momentum) * rv[ch] + momentum * (ss / (count - T.One));
            }
            else { mu = rm[ch]; var = rv[ch]; }
            T inv = T.One / T.Sqrt(var + eps);
            mean[ch] = mu; invStd[ch] = inv;
            T sc = inv * w[ch], sh = b[ch] - mu * sc;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                BnAffine(ref Unsafe.Add(ref px, o), ref Unsafe.Add(ref pr, o), ref Unsafe.Add(ref py, o), inner, sc, sh, epi);
            }
        }
    }

    /// <summary>(Σ (x − shift), Σ (x − shift)²) over n segments of len values, stride apart (one channel); vector sums reduced once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (T, T) BnShiftedSums(ref T p0, int n, int stride, int len, T shift)
    {
        T r1 = T.Zero, r2 = T.Zero;
        Vector512<T> a512 = Vector512<T>.Zero, q512 = Vector512<T>.Zero, vs512 = Vector512.Create(shift);
        Vector256<T> a256 = Vector256<T>.Zero, q256 = Vector256<T>.Zero, vs256 = Vector256.Create(shift);
        int w512 = Vector512<T>.Count, w256 = Vector256<T>.Count;
        for (int s = 0; s < n; s++)
        {
            ref T p = ref Unsafe.Add(ref p0, s * stride);
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; i <= len - w512; i += w512) { var d = Vector512.LoadUnsafe(ref p, (nuint)i) - vs512; a512 += d; q512 += d * d; }
            for (; i <= len - w256; i += w256) { var d = Vector256.LoadUnsafe(ref p, (nuint)i) - vs256; a256 += d; q256 += d * d; }
            for (; i < len; i++) { T d = Unsafe.Add(ref p, i) - shift; r1 += d; r2 += d * d; }
        }
        if (Vector512.IsHardwareAccelerated) { r1 += Vector512.Sum(a512); r2 += Vector512.Sum(q512); }
        return (r1 + Vector256.Sum(a256), r2 + Vector256.Sum(q256));
    }

    /// <summary>y = epi(x·sc + sh[, r]) over len values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BnAffine<TOut>(ref T px, ref T pr, ref T py, int len, T sc, T sh, TOut epi) where TOut : struct, IBnOut
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && len >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            Vector512<T> va = Vector512.Create(sc), vb = Vector512.Create(sh);
            for (; i <= len - w; i += w) epi.Apply(Vector512.LoadUnsafe(ref px, (nuint)i) * va + vb, ref pr, (nuint)i).StoreUnsafe(ref py, (nuint)i);
        }
        if (len - i >= Vector256<T>.Count)
        {
            int w = Vector256<T>.Count;
            Vector256<T> va = Vector256.Create(sc), vb = Vector256.Create(sh);
            for (; i <= len - w; i += w) epi.Apply(Vector256.LoadUnsafe(ref px, (nuint)i) * va + vb, ref pr, (nuint)i).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < len; i++) Unsafe.Add(ref py, i) = epi.Apply(Unsafe.Add(ref px, i) * sc + sh, ref pr, (nuint)i);
    }

    public void BatchNormApply<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> mean, Tensor<T> invStd, Tensor<T> y,
        TEpi epilogue, TGpuEpi gpuEpilogue) where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        var (n, c, inner) = KernelContract.BatchNormApply(x, weight, bias, mean, invStd, y);
        NormChunks(c, (long)n * inner * c, (x, weight, bias, mean, invStd, y, n, c, inner, epilogue),
            static (s, lo, hi) => BatchNormApplyChannels(s.x.AsSpan(), s.weight.AsSpan(), s.bias.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(),
                s.y.AsSpan(), s.n, s.c, s.inner, lo, hi, s.epilogue));
    }

    /// <summary>
    /// The output loop of <see cref="BatchNormChannels"/>: the same sc = invStd·w, sh = b − mean·sc and the same
    /// <see cref="BnAffine"/> with the epilogue applied as y is written, so the recomputed values have the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormApplyChannels<TEpi>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> y, int n, int c, int inner, int lo, int hi, TEpi epi) where TEpi : struct, IMap1<T>
    {
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        var outEpi = new BnOut1<TEpi>(epi);
        for (int ch = lo; ch < hi; ch++)
        {
            T mu = mean[ch], inv = invStd[ch];
            T sc = inv * w[ch], sh = b[ch] - mu * sc;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                BnAffine(ref Unsafe.Add(ref px, o), ref Unsafe.Add(ref px, o), ref Unsafe.Add(ref py, o), inner, sc, sh, outEpi);
            }
        }
    }

    public void BatchNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training)
    {
        KernelContract.BatchNormBackward(dy, "dy", null, null, x, weight, mean, invStd, null, dx, dweight, dbias);
        BatchNormBackwardCore(dy, dy, dy, x, weight, mean, invStd, null, dx, dweight, dbias, training, default(BnDy1));
    }

    public void BatchNormBackward<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap2<T> where TGpuOp : struct, IGpuMap2
    {
        KernelContract.BatchNormBackward(a, "a", b, null, x, weight, mean, invStd, dyOut, dx, dweight, dbias);
        BatchNormBackwardCore(a, b, b, x, weight, mean, invStd, dyOut, dx, dweight, dbias, training, new BnDy2<TOp>(prologue));
    }

    public void BatchNormBackward<TOp, TGpuOp>(Tensor<T> a, Tensor<T> b, Tensor<T> c, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training, TOp prologue, TGpuOp gpuPrologue)
        where TOp : struct, IMap3<T> where TGpuOp : struct, IGpuMap3
    {
        KernelContract.BatchNormBackward(a, "a", b, c, x, weight, mean, invStd, dyOut, dx, dweight, dbias);
        BatchNormBackwardCore(a, b, c, x, weight, mean, invStd, dyOut, dx, dweight, dbias, training, new BnDy3<TOp>(prologue));
    }

    /// <summary>How batchnorm's backward reads dy: from one tensor, or as a fused element-wise function of two or three.</summary>
    private interface IBnDy
    {
        /// <summary>True when dy is a plain tensor (the second pass can read it again instead of a parked copy).</summary>
        bool Plain { get; }
        T Load(ref T a, ref T b, ref T c, nuint i);
        Vector256<T> Load256(ref T a, ref T b, ref T c, nuint i);
        Vector512<T> Load512(ref T a, ref T b, ref T c, nuint i);
    }

    private readonly struct BnDy1 : IBnDy
    {
        public bool Plain => true;
        public T Load(ref T a, ref T b, ref T c, nuint i) => Unsafe.Add(ref a, i);
        public Vector256<T> Load256(ref T a, ref T b, ref T c, nuint i) => Vector256.LoadUnsafe(ref a, i);
        public Vector512<T> Load512(ref T a, ref T b, ref T c, nuint i) => Vector512.LoadUnsafe(ref a, i);
    }

    private readonly struct BnDy2<TOp>(TOp op) : IBnDy where TOp : struct, IMap2<T>
    {
        public bool Plain => false;
        public T Load(ref T a, ref T b, ref T c, nuint i) => op.Apply(Unsafe.Add(ref a, i), Unsafe.Add(ref b, i));
        public Vector256<T> Load256(ref T a, ref T b, ref T c, nuint i) => op.Apply(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i));
        public Vector512<T> Load512(ref T a, ref T b, ref T c, nuint i) => op.Apply(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i));
    }

    private readonly struct BnDy3<TOp>(TOp op) : IBnDy where TOp : struct, IMap3<T>
    {
        public bool Plain => false;
        public T Load(ref T a, ref T b, ref T c, nuint i) => op.Apply(Unsafe.Add(ref a, i), Unsafe.Add(ref b, i), Unsafe.Add(ref c, i));
        public Vector256<T> Load256(ref T a, ref T b, ref T c, nuint i) => op.Apply(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i), Vector256.LoadUnsafe(ref c, i));
        public Vector512<T> Load512(ref T a, ref T b, ref T c, nuint i) => op.Apply(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i), Vector512.LoadUnsafe(ref c, i));
    }

    /// <summary>
    /// Channels of more values than this (64 K elements of a ResNet's 32×32 maps at batch 64) no longer keep a fused prologue's
    /// sources in L2 between the two passes: the prologue then runs first as a streaming pass into dyOut or dx (still no buffer
    /// of its own), which measured faster there.
    /// </summary>
    private const long BnPrologueInlineMax = 1 << 15;

    private static void BatchNormBackwardCore<TDy>(Tensor<T> a, Tensor<T> b, Tensor<T> c3, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training, TDy dy) where TDy : struct, IBnDy
    {
        // the public methods checked the contract (KernelContract.BatchNormBackward)
        var (n, c, inner) = KernelContract.NormDims(x, "batchnorm");
        if (training && BatchNormReduction is { } reduce) { BatchNormBackwardSync(a, b, c3, x, weight, mean, invStd, dyOut, dx, dweight, dbias, dy, reduce); return; }
        if (!dy.Plain && (long)n * inner > BnPrologueInlineMax && (dyOut ?? dx) is { } target)
        {
            Elementwise(x.Length, (a, b, c3, target, dy), static (s, lo, hi) => BnPrologueRange(s.a.AsSpan(), s.b.AsSpan(), s.c3.AsSpan(), s.target.AsSpan(), lo, hi, s.dy));
            BatchNormBackwardCore(target, target, target, x, weight, mean, invStd, null, dx, dweight, dbias, training, default(BnDy1));
            return;
        }
        NormChunks(c, (long)n * inner * c, (a, b, c3, x, weight, mean, invStd, dyOut, dx, dweight, dbias, training, n, c, inner, dy),
            static (s, lo, hi) => BatchNormBackwardChannels(s.a.AsSpan(), s.b.AsSpan(), s.c3.AsSpan(), s.x.AsSpan(), s.weight.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(),
                s.dyOut is null ? default : s.dyOut.AsSpan(), s.dx is null ? default : s.dx.AsSpan(), s.dyOut is not null, s.dx is not null,
                s.dweight.AsSpan(), s.dbias.AsSpan(), s.training, s.n, s.c, s.inner, lo, hi, s.dy));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormBackwardChannels<TDy>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c3, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd, Span<T> dyOut, Span<T> dx, bool hasDyOut, bool hasDx, Span<T> dweight, Span<T> dbias,
        bool training, int n, int c, int inner, int lo, int hi, TDy dy) where TDy : struct, IBnDy
    {
        T count = T.CreateChecked((long)n * inner);
        ref T pa = ref MemoryMarshal.GetReference(a); ref T pb = ref MemoryMarshal.GetReference(b); ref T pc = ref MemoryMarshal.GetReference(c3);
        ref T px = ref MemoryMarshal.GetReference(x);
        // where the combined dy is parked for the second pass: dyOut when asked for, else dx (overwritten in place); a plain dy is re-read
        bool park = hasDyOut || (hasDx && !dy.Plain);
        ref T pg = ref hasDyOut ? ref MemoryMarshal.GetReference(dyOut) : ref MemoryMarshal.GetReference(dx);
        ref T pd = ref MemoryMarshal.GetReference(dx);
        for (int ch = lo; ch < hi; ch++)
        {
            T mu = mean[ch], inv = invStd[ch];
            nuint co = (nuint)(ch * inner);
            var (sdy, sdyx) = park
                ? BnBackSums(ref Unsafe.Add(ref pa, co), ref Unsafe.Add(ref pb, co), ref Unsafe.Add(ref pc, co), ref Unsafe.Add(ref px, co), ref Unsafe.Add(ref pg, co), true, n, c * inner, inner, mu, dy)
                : BnBackSums(ref Unsafe.Add(ref pa, co), ref Unsafe.Add(ref pb, co), ref Unsafe.Add(ref pc, co), ref Unsafe.Add(ref px, co), ref Unsafe.Add(ref pa, co), false, n, c * inner, inner, mu, dy);
            T sdyxhat = sdyx * inv;
            dbias[ch] = sdy; dweight[ch] = sdyxhat;
            if (!hasDx) continue;
            // training: dx = w·inv·(dy − Σdy/n − x̂·Σdy·x̂/n) = A·dy + B·(x − μ) + C; eval: dx = w·inv·dy
            T A = w[ch] * inv;
            T B = training ? -A * inv * sdyxhat / count : T.Zero;
            T C = training ? -A * sdy / count : T.Zero;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                ref T g = ref park ? ref Unsafe.Add(ref pg, o) : ref Unsafe.Add(ref pa, o);
                BnBackDx(ref g, ref Unsafe.Add(ref px, o), ref Unsafe.Add(ref pd, o), inner, A, B, C - B * mu);
            }
        }
    }

    /// <summary>target[lo..hi) = dy.Load(a, b, c): a fused prologue run as its own streaming pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loop: skip tier-0/OSR code during warm-up
    private static void BnPrologueRange<TDy>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> target, int lo, int hi, TDy dy) where TDy : struct, IBnDy
    {
        ref T pa = ref MemoryMarshal.GetReference(a); ref T pb = ref MemoryMarshal.GetReference(b);
        ref T pc = ref MemoryMarshal.GetReference(c); ref T pt = ref MemoryMarshal.GetReference(target);
        int i = lo;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= hi - Vector512<T>.Count; i += Vector512<T>.Count) dy.Load512(ref pa, ref pb, ref pc, (nuint)i).StoreUnsafe(ref pt, (nuint)i);
        for (; i <= hi - Vector256<T>.Count; i += Vector256<T>.Count) dy.Load256(ref pa, ref pb, ref pc, (nuint)i).StoreUnsafe(ref pt, (nuint)i);
        for (; i < hi; i++) Unsafe.Add(ref pt, i) = dy.Load(ref pa, ref pb, ref pc, (nuint)i);
    }

    /// <summary>
    /// (Σ g, Σ g·(x − μ)) over n segments of len values, stride apart (one channel), g = dy.Load(a, b, c); g is stored to pg
    /// when <paramref name="store"/>. Vector sums are reduced once per channel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (T, T) BnBackSums<TDy>(ref T pa0, ref T pb0, ref T pc0, ref T px0, ref T pg0, bool store, int n, int stride, int len, T mu, TDy dy) where TDy : struct, IBnDy
    {
        T r1 = T.Zero, r2 = T.Zero;
        Vector512<T> a512 = Vector512<T>.Zero, b512 = Vector512<T>.Zero, m512 = Vector512.Create(mu);
        Vector256<T> a256 = Vector256<T>.Zero, b256 = Vector256<T>.Zero, m256 = Vector256.Create(mu);
        int w512 = Vector512<T>.Count, w256 = Vector256<T>.Count;
        for (int s = 0; s < n; s++)
        {
            nuint so = (nuint)(s * stride);
            ref T pa = ref Unsafe.Add(ref pa0, so); ref T pb = ref Unsafe.Add(ref pb0, so); ref T pc = ref Unsafe.Add(ref pc0, so);
            ref T px = ref Unsafe.Add(ref px0, so); ref T pg = ref Unsafe.Add(ref pg0, so);
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; i <= len - w512; i += w512)
                {
                    var g = dy.Load512(ref pa, ref pb, ref pc, (nuint)i);
                    if (store) g.StoreUnsafe(ref pg, (nuint)i);
                    a512 += g; b512 += g * (Vector512.LoadUnsafe(ref px, (nuint)i) - m512);
                }
            for (; i <= len - w256; i += w256)
            {
                var g = dy.Load256(ref pa, ref pb, ref pc, (nuint)i);
                if (store) g.StoreUnsafe(ref pg, (nuint)i);
                a256 += g; b256 += g * (Vector256.LoadUnsafe(ref px, (nuint)i) - m256);
            }
            for (; i < len; i++)
            {
                T g = dy.Load(ref pa, ref pb, ref pc, (nuint)i);
                if (store) Unsafe.Add(ref pg, i) = g;
                r1 += g; r2 += g * (Unsafe.Add(ref px, i) - mu);
            }
        }
        if (Vector512.IsHardwareAccelerated) { r1 += Vector512.Sum(a512); r2 += Vector512.Sum(b512); }
        return (r1 + Vector256.Sum(a256), r2 + Vector256.Sum(b256));
    }

    /// <summary>dx = A·g + B·x + C over len values (dx may be g itself).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BnBackDx(ref T pg, ref T px, ref T pd, int len, T A, T B, T C)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && len >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            Vector512<T> va = Vector512.Create(A), vb = Vector512.Create(B), vc = Vector512.Create(C);
            for (; i <= len - w; i += w)
                (va * Vector512.LoadUnsafe(ref pg, (nuint)i) + (vb * Vector512.LoadUnsafe(ref px, (nuint)i) + vc)).StoreUnsafe(ref pd, (nuint)i);
        }
        if (len - i >= Vector256<T>.Count)
        {
            int w = Vector256<T>.Count;
            Vector256<T> va = Vector256.Create(A), vb = Vector256.Create(B), vc = Vector256.Create(C);
            for (; i <= len - w; i += w)
                (va * Vector256.LoadUnsafe(ref pg, (nuint)i) + (vb * Vector256.LoadUnsafe(ref px, (nuint)i) + vc)).StoreUnsafe(ref pd, (nuint)i);
        }
        for (; i < len; i++) Unsafe.Add(ref pd, i) = A * Unsafe.Add(ref pg, i) + (B * Unsafe.Add(ref px, i) + C);
    }

    // ------------------------------------------------------------------ layernorm
    public void LayerNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int dims, T eps)
    {
        var (rows, d) = KernelContract.LayerNormForward(x, weight, bias, y, mean, invStd, dims);
        NormChunks(rows, (long)rows * d, (x, weight, bias, y, mean, invStd, eps, d),
            static (s, lo, hi) => LayerNormRows(s.x.AsSpan(), s.weight is null ? default : s.weight.AsSpan(), s.bias is null ? default : s.bias.AsSpan(),
                s.weight is not null, s.y.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(), s.eps, s.d, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LayerNormRows(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, bool affine, Span<T> y, Span<T> mean, Span<T> invStd, T eps, int d, int lo, int hi)
    {
        T count = T.CreateChecked(d);
        int vw = Vector256<T>.Count;
        for (int r = lo; r < hi; r++)
        {
            var xr = x.Slice(r * d, d); var yr = y.Slice(r * d, d);
            T mu = NormSum(xr) / count;
            T inv = T.One / T.Sqrt(NormSumSqDev(xr, mu) / count + eps);
            mean[r] = mu; invStd[r] = inv;
            if (!affine) { NormScaleShift(xr, yr, mu, inv, T.Zero); continue; }
            int j = 0;
            if (d >= vw)
            {
                Vector256<T> vm = Vector256.Create(mu), vi = Vector256.Create(inv);
                ref T px = ref MemoryMarshal.GetReference(xr); ref T py = ref MemoryMarshal.GetReference(yr);
                ref T pw = ref MemoryMarshal.GetReference(w); ref T pb = ref MemoryMarshal.GetReference(b);
                for (; j <= d - vw; j += vw)
                    ((Vector256.LoadUnsafe(ref px, (nuint)j) - vm) * vi * Vector256.LoadUnsafe(ref pw, (nuint)j) + Vector256.LoadUnsafe(ref pb, (nuint)j)).StoreUnsafe(ref py, (nuint)j);
            }
            for (; j < d; j++) yr[j] = (xr[j] - mu) * inv * w[j] + b[j];
        }
    }

    public void LayerNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int dims)
    {
        var (rows, d) = KernelContract.LayerNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, dims);
        if (dx is not null)
            NormChunks(rows, (long)rows * d, (dy, x, weight, mean, invStd, dx, d),
                static (s, lo, hi) => LayerNormBackwardRows(s.dy.AsSpan(), s.x.AsSpan(), s.weight is null ? default : s.weight.AsSpan(), s.weight is not null,
                    s.mean.AsSpan(), s.invStd.AsSpan(), s.dx.AsSpan(), s.d, lo, hi));
        if (dweight is not null && dbias is not null)
            NormChunks(d, (long)rows * d, (dy, x, mean, invStd, dweight, dbias, rows, d),
                static (s, lo, hi) => LayerNormWeightGrad(s.dy.AsSpan(), s.x.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(), s.dweight.AsSpan(), s.dbias.AsSpan(), s.rows, s.d, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LayerNormBackwardRows(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> w, bool affine, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> dx, int d, int lo, int hi)
    {
        T count = T.CreateChecked(d);
        for (int r = lo; r < hi; r++)
        {
            var dyr = dy.Slice(r * d, d); var xr = x.Slice(r * d, d); var dxr = dx.Slice(r * d, d);
            T mu = mean[r], inv = invStd[r];
            // Σ g, Σ g·(x − μ) with g = dy·w
            var (s1, s2) = affine ? LayerNormAffineSums(dyr, xr, w, mu) : NormDotSums(dyr, xr, mu);
            // dx = inv·(g − s1/D − x̂·(s2·inv)/D)
            T B = -inv * inv * inv * s2 / count, C = -inv * s1 / count;
            if (affine) LayerNormAffineDx(dyr, xr, w, dxr, mu, inv, B, C);
            else NormLin3(dyr, xr, dxr, mu, inv, B, C);
        }
    }

    /// <summary>(Σ dy·w, Σ dy·w·(x − μ)) over one row (the affine layernorm's backward sums), in 512- or 256-bit vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (T, T) LayerNormAffineSums(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> w, T mu)
    {
        int d = dy.Length, j = 0;
        ref T pd = ref MemoryMarshal.GetReference(dy); ref T px = ref MemoryMarshal.GetReference(x); ref T pw = ref MemoryMarshal.GetReference(w);
        T s1 = T.Zero, s2 = T.Zero;
        if (Vector512.IsHardwareAccelerated && d >= Vector512<T>.Count)
        {
            int vw = Vector512<T>.Count;
            Vector512<T> m = Vector512.Create(mu), a1 = Vector512<T>.Zero, a2 = Vector512<T>.Zero;
            for (; j <= d - vw; j += vw)
            {
                var g = Vector512.LoadUnsafe(ref pd, (nuint)j) * Vector512.LoadUnsafe(ref pw, (nuint)j);
                a1 += g; a2 += g * (Vector512.LoadUnsafe(ref px, (nuint)j) - m);
            }
            s1 = Vector512.Sum(a1); s2 = Vector512.Sum(a2);
        }
        if (d - j >= Vector256<T>.Count)
        {
            int vw = Vector256<T>.Count;
            Vector256<T> m = Vector256.Create(mu), a1 = Vector256<T>.Zero, a2 = Vector256<T>.Zero;
            for (; j <= d - vw; j += vw)
            {
                var g = Vector256.LoadUnsafe(ref pd, (nuint)j) * Vector256.LoadUnsafe(ref pw, (nuint)j);
                a1 += g; a2 += g * (Vector256.LoadUnsafe(ref px, (nuint)j) - m);
            }
            s1 += Vector256.Sum(a1); s2 += Vector256.Sum(a2);
        }
        for (; j < d; j++) { T g = Unsafe.Add(ref pd, j) * Unsafe.Add(ref pw, j); s1 += g; s2 += g * (Unsafe.Add(ref px, j) - mu); }
        return (s1, s2);
    }

    /// <summary>dx = inv·dy·w + B·(x − μ) + C over one row (the affine layernorm's input gradient), in 512- or 256-bit vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LayerNormAffineDx(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> dx, T mu, T inv, T B, T C)
    {
        int d = dy.Length, j = 0;
        ref T pd = ref MemoryMarshal.GetReference(dy); ref T px = ref MemoryMarshal.GetReference(x); ref T pw = ref MemoryMarshal.GetReference(w);
        ref T po = ref MemoryMarshal.GetReference(dx);
        if (Vector512.IsHardwareAccelerated && d >= Vector512<T>.Count)
        {
            int vw = Vector512<T>.Count;
            Vector512<T> m = Vector512.Create(mu), vi = Vector512.Create(inv), vb = Vector512.Create(B), vc = Vector512.Create(C);
            for (; j <= d - vw; j += vw)
                (vi * Vector512.LoadUnsafe(ref pd, (nuint)j) * Vector512.LoadUnsafe(ref pw, (nuint)j) + (vb * (Vector512.LoadUnsafe(ref px, (nuint)j) - m) + vc)).StoreUnsafe(ref po, (nuint)j);
        }
        if (d - j >= Vector256<T>.Count)
        {
            int vw = Vector256<T>.Count;
            Vector256<T> m = Vector256.Create(mu), vi = Vector256.Create(inv), vb = Vector256.Create(B), vc = Vector256.Create(C);
            for (; j <= d - vw; j += vw)
                (vi * Vector256.LoadUnsafe(ref pd, (nuint)j) * Vector256.LoadUnsafe(ref pw, (nuint)j) + (vb * (Vector256.LoadUnsafe(ref px, (nuint)j) - m) + vc)).StoreUnsafe(ref po, (nuint)j);
        }
        for (; j < d; j++) Unsafe.Add(ref po, j) = inv * Unsafe.Add(ref pd, j) * Unsafe.Add(ref pw, j) + (B * (Unsafe.Add(ref px, j) - mu) + C);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LayerNormWeightGrad(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> dweight, Span<T> dbias, int rows, int d, int lo, int hi)
    {
        var dw = dweight[lo..hi]; var db = dbias[lo..hi];
        dw.Clear(); db.Clear();
        int len = hi - lo;
        ref T pw = ref MemoryMarshal.GetReference(dw); ref T pb = ref MemoryMarshal.GetReference(db);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * d + lo, len); var xr = x.Slice(r * d + lo, len);
            T mu = mean[r], inv = invStd[r];
            ref T pd = ref MemoryMarshal.GetReference(dyr); ref T px = ref MemoryMarshal.GetReference(xr);
            int j = 0;
            if (Vector512.IsHardwareAccelerated && len >= Vector512<T>.Count)
            {
                int vw = Vector512<T>.Count;
                Vector512<T> vm = Vector512.Create(mu), vi = Vector512.Create(inv);
                for (; j <= len - vw; j += vw)
                {
                    var g = Vector512.LoadUnsafe(ref pd, (nuint)j);
                    (Vector512.LoadUnsafe(ref pb, (nuint)j) + g).StoreUnsafe(ref pb, (nuint)j);
                    (Vector512.LoadUnsafe(ref pw, (nuint)j) + g * (Vector512.LoadUnsafe(ref px, (nuint)j) - vm) * vi).StoreUnsafe(ref pw, (nuint)j);
                }
            }
            if (len - j >= Vector256<T>.Count)
            {
                int vw = Vector256<T>.Count;
                Vector256<T> vm = Vector256.Create(mu), vi = Vector256.Create(inv);
                for (; j <= len - vw; j += vw)
                {
                    var g = Vector256.LoadUnsafe(ref pd, (nuint)j);
                    (Vector256.LoadUnsafe(ref pb, (nuint)j) + g).StoreUnsafe(ref pb, (nuint)j);
                    (Vector256.LoadUnsafe(ref pw, (nuint)j) + g * (Vector256.LoadUnsafe(ref px, (nuint)j) - vm) * vi).StoreUnsafe(ref pw, (nuint)j);
                }
            }
            for (; j < len; j++) { db[j] += dyr[j]; dw[j] += dyr[j] * (xr[j] - mu) * inv; }
        }
    }

    // ------------------------------------------------------------------ groupnorm and instancenorm
    public void GroupNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int groups, T eps)
    {
        var (n, c, inner, cg) = KernelContract.GroupNormForward(x, weight, bias, y, mean, invStd, groups);
        NormChunks(n * groups, (long)x.Length, (x, weight, bias, y, mean, invStd, eps, cg, inner, c),
            static (s, lo, hi) => GroupNormRows(s.x.AsSpan(), s.weight is null ? default : s.weight.AsSpan(), s.bias is null ? default : s.bias.AsSpan(),
                s.weight is not null, s.y.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(), s.eps, s.cg, s.inner, s.c, lo, hi));
    }

    /// <summary>Rows r = n·groups + g: the contiguous values of group g of sample n (cg channels of inner values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GroupNormRows(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, bool affine, Span<T> y, Span<T> mean, Span<T> invStd,
        T eps, int cg, int inner, int c, int lo, int hi)
    {
        int len = cg * inner;
        T count = T.CreateChecked(len);
        for (int r = lo; r < hi; r++)
        {
            var xr = x.Slice(r * len, len); var yr = y.Slice(r * len, len);
            T mu = NormSum(xr) / count;
            T inv = T.One / T.Sqrt(NormSumSqDev(xr, mu) / count + eps);
            mean[r] = mu; invStd[r] = inv;
            for (int k = 0; k < cg; k++)
            {
                // the channel of this segment: r·cg + k = n·C + g·cg + k, so it is (r·cg + k) mod C
                T a = inv, sh = T.Zero;
                if (affine) { int ch = (r * cg + k) % c; a = inv * w[ch]; sh = b[ch]; }
                NormScaleShift(xr.Slice(k * inner, inner), yr.Slice(k * inner, inner), mu, a, sh);
            }
        }
    }

    public void GroupNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int groups)
    {
        var (n, c, inner, cg) = KernelContract.GroupNormBackward(dy, x, weight, mean, invStd, dx, dweight, dbias, groups);
        if (dx is not null)
            NormChunks(n * groups, (long)x.Length, (dy, x, weight, mean, invStd, dx, cg, inner, c),
                static (s, lo, hi) => GroupNormBackwardRows(s.dy.AsSpan(), s.x.AsSpan(), s.weight is null ? default : s.weight.AsSpan(), s.weight is not null,
                    s.mean.AsSpan(), s.invStd.AsSpan(), s.dx.AsSpan(), s.cg, s.inner, s.c, lo, hi));
        if (dweight is not null && dbias is not null)
            NormChunks(c, (long)x.Length, (dy, x, mean, invStd, dweight, dbias, n, c, inner, cg, groups),
                static (s, lo, hi) => GroupNormWeightGrad(s.dy.AsSpan(), s.x.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(), s.dweight.AsSpan(), s.dbias.AsSpan(),
                    s.n, s.c, s.inner, s.cg, s.groups, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GroupNormBackwardRows(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> w, bool affine, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> dx, int cg, int inner, int c, int lo, int hi)
    {
        int len = cg * inner;
        T count = T.CreateChecked(len);
        for (int r = lo; r < hi; r++)
        {
            T mu = mean[r], inv = invStd[r];
            T s1 = T.Zero, s2 = T.Zero;   // Σ g, Σ g·(x − μ) over the row, g = dy·w[channel]
            for (int k = 0; k < cg; k++)
            {
                int o = r * len + k * inner;
                var (a, b) = NormDotSums(dy.Slice(o, inner), x.Slice(o, inner), mu);
                T wc = affine ? w[(r * cg + k) % c] : T.One;
                s1 += wc * a; s2 += wc * b;
            }
            T B = -inv * inv * inv * s2 / count, C = -inv * s1 / count;
            for (int k = 0; k < cg; k++)
            {
                int o = r * len + k * inner;
                T wc = affine ? w[(r * cg + k) % c] : T.One;
                NormLin3(dy.Slice(o, inner), x.Slice(o, inner), dx.Slice(o, inner), mu, inv * wc, B, C);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GroupNormWeightGrad(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> dweight, Span<T> dbias, int n, int c, int inner, int cg, int groups, int lo, int hi)
    {
        for (int ch = lo; ch < hi; ch++)
        {
            int g = ch / cg;
            T sdy = T.Zero, sdyxhat = T.Zero;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                int r = i * groups + g;
                var (a, b) = NormDotSums(dy.Slice(o, inner), x.Slice(o, inner), mean[r]);
                sdy += a; sdyxhat += b * invStd[r];
            }
            dbias[ch] = sdy; dweight[ch] = sdyxhat;
        }
    }

    // ------------------------------------------------------------------ local response normalization
    public void LocalResponseNormForward(Tensor<T> x, Tensor<T> y, Tensor<T> scale, int size, T alpha, T beta, T k)
    {
        var (n, c, inner) = KernelContract.LocalResponseNormForward(x, y, scale, size);
        NormChunks(n * c, (long)x.Length * size, (x, y, scale, size, alpha, beta, k, c, inner),
            static (s, lo, hi) => LrnForwardPlanes(s.x.AsSpan(), s.y.AsSpan(), s.scale.AsSpan(), s.size, s.alpha, s.beta, s.k, s.c, s.inner, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LrnForwardPlanes(ReadOnlySpan<T> x, Span<T> y, Span<T> scale, int size, T alpha, T beta, T k, int c, int inner, int lo, int hi)
    {
        T a = alpha / T.CreateChecked(size);
        int before = size / 2, after = (size - 1) / 2;
        for (int p = lo; p < hi; p++)
        {
            int n = p / c, ch = p % c;
            var sc = scale.Slice(p * inner, inner);
            sc.Clear();
            int c0 = Math.Max(0, ch - before), c1 = Math.Min(c - 1, ch + after);
            for (int j = c0; j <= c1; j++)
            {
                var xs = x.Slice((n * c + j) * inner, inner);
                for (int q = 0; q < inner; q++) sc[q] += xs[q] * xs[q];
            }
            var xp = x.Slice(p * inner, inner); var yp = y.Slice(p * inner, inner);
            for (int q = 0; q < inner; q++)
            {
                T d = k + a * sc[q];
                sc[q] = d;
                yp[q] = xp[q] * T.Pow(d, -beta);
            }
        }
    }

    public void LocalResponseNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T> scale, Tensor<T> dx, int size, T alpha, T beta)
    {
        var (n, c, inner) = KernelContract.LocalResponseNormBackward(dy, x, y, scale, dx, size);
        NormChunks(n * c, (long)x.Length * size, (dy, x, y, scale, dx, size, alpha, beta, c, inner),
            static (s, lo, hi) => LrnBackwardPlanes(s.dy.AsSpan(), s.x.AsSpan(), s.y.AsSpan(), s.scale.AsSpan(), s.dx.AsSpan(), s.size, s.alpha, s.beta, s.c, s.inner, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LrnBackwardPlanes(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> scale, Span<T> dx,
        int size, T alpha, T beta, int c, int inner, int lo, int hi)
    {
        T f = T.CreateChecked(2) * alpha * beta / T.CreateChecked(size);
        int before = size / 2, after = (size - 1) / 2;
        for (int p = lo; p < hi; p++)
        {
            int n = p / c, j = p % c;
            var dxp = dx.Slice(p * inner, inner);
            dxp.Clear();
            // the outputs c whose window holds channel j: c − before <= j <= c + after
            int c0 = Math.Max(0, j - after), c1 = Math.Min(c - 1, j + before);
            for (int cc = c0; cc <= c1; cc++)
            {
                int o = (n * c + cc) * inner;
                var dys = dy.Slice(o, inner); var ys = y.Slice(o, inner); var ss = scale.Slice(o, inner);
                for (int q = 0; q < inner; q++) dxp[q] += dys[q] * ys[q] / ss[q];
            }
            var xp = x.Slice(p * inner, inner); var dyp = dy.Slice(p * inner, inner); var sp = scale.Slice(p * inner, inner);
            for (int q = 0; q < inner; q++) dxp[q] = dyp[q] * T.Pow(sp[q], -beta) - f * xp[q] * dxp[q];
        }
    }
}
