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

    // ------------------------------------------------------------------ shape checks
    /// <summary>x [N, C, *] → (N, C, inner = product of the dims after C).</summary>
    private static (int N, int C, int Inner) NormDims(Tensor<T> x, string op)
    {
        if (x.Rank < 2) throw new ArgumentException($"x: {op} expects [N, C] or [N, C, *], got {Tensor<T>.Format(x.Shape)}", "x");
        int inner = 1;
        for (int i = 2; i < x.Rank; i++) inner *= x.Shape[i];
        return (x.Shape[0], x.Shape[1], inner);
    }

    private static void NormCheckVec(Tensor<T>? t, string name, int n)
    {
        if (t is not null && t.Length != n)
            throw new ArgumentException($"{name}: expected {n} elements (shape [{n}]), got shape {Tensor<T>.Format(t.Shape)}", name);
    }

    private static void NormCheckLike(Tensor<T>? t, string name, Tensor<T> like, string likeName)
    {
        if (t is not null && !t.Shape.AsSpan().SequenceEqual(like.Shape))
            throw new ArgumentException($"{name}: expected shape {Tensor<T>.Format(like.Shape)} like {likeName}, got {Tensor<T>.Format(t.Shape)}", name);
    }

    // ------------------------------------------------------------------ batchnorm
    public void BatchNormForward(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training, T eps, T momentum)
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        NormCheckLike(y, "y", x, "x");
        NormCheckVec(weight, "weight", c); NormCheckVec(bias, "bias", c);
        NormCheckVec(runningMean, "runningMean", c); NormCheckVec(runningVar, "runningVar", c);
        NormCheckVec(mean, "mean", c); NormCheckVec(invStd, "invStd", c);
        long count = (long)n * inner;
        if (training && count < 2)
            throw new ArgumentException($"x: batchnorm in training mode needs more than 1 value per channel, got {Tensor<T>.Format(x.Shape)}", nameof(x));
        NormChunks(c, count * c, (x, weight, bias, runningMean, runningVar, y, mean, invStd, training, eps, momentum, n, c, inner),
            static (s, lo, hi) => BatchNormChannels(s.x.AsSpan(), s.weight.AsSpan(), s.bias.AsSpan(), s.runningMean.AsSpan(), s.runningVar.AsSpan(),
                s.y.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(), s.training, s.eps, s.momentum, s.n, s.c, s.inner, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormChannels(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> rm, Span<T> rv,
        Span<T> y, Span<T> mean, Span<T> invStd, bool training, T eps, T momentum, int n, int c, int inner, int lo, int hi)
    {
        T count = T.CreateChecked((long)n * inner);
        for (int ch = lo; ch < hi; ch++)
        {
            T mu, var;
            if (training)
            {
                T sum = T.Zero;
                for (int i = 0; i < n; i++) sum += NormSum(x.Slice((i * c + ch) * inner, inner));
                mu = sum / count;
                T ss = T.Zero;
                for (int i = 0; i < n; i++) ss += NormSumSqDev(x.Slice((i * c + ch) * inner, inner), mu);
                var = ss / count;
                rm[ch] = (T.One - momentum) * rm[ch] + momentum * mu;
                rv[ch] = (T.One - momentum) * rv[ch] + momentum * (ss / (count - T.One));
            }
            else { mu = rm[ch]; var = rv[ch]; }
            T inv = T.One / T.Sqrt(var + eps);
            mean[ch] = mu; invStd[ch] = inv;
            T a = inv * w[ch], bb = b[ch];
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                NormScaleShift(x.Slice(o, inner), y.Slice(o, inner), mu, a, bb);
            }
        }
    }

    public void BatchNormApply<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> mean, Tensor<T> invStd, Tensor<T> y,
        TEpi epilogue, TGpuEpi gpuEpilogue) where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        NormCheckLike(y, "y", x, "x");
        NormCheckVec(weight, "weight", c); NormCheckVec(bias, "bias", c);
        NormCheckVec(mean, "mean", c); NormCheckVec(invStd, "invStd", c);
        NormChunks(c, (long)n * inner * c, (x, weight, bias, mean, invStd, y, n, c, inner, epilogue),
            static (s, lo, hi) => BatchNormApplyChannels(s.x.AsSpan(), s.weight.AsSpan(), s.bias.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(),
                s.y.AsSpan(), s.n, s.c, s.inner, lo, hi, s.epilogue));
    }

    /// <summary>
    /// The output loop of <see cref="BatchNormChannels"/> (same a = invStd·w and the same NormScaleShift, so the same bits), then
    /// the epilogue over each row while it is in cache (the element-wise loop a separate kernel would run: the same bits too).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormApplyChannels<TEpi>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> y, int n, int c, int inner, int lo, int hi, TEpi epi) where TEpi : struct, IMap1<T>
    {
        for (int ch = lo; ch < hi; ch++)
        {
            T mu = mean[ch], a = invStd[ch] * w[ch], bb = b[ch];
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                var row = y.Slice(o, inner);
                NormScaleShift(x.Slice(o, inner), row, mu, a, bb);
                if (typeof(TEpi) != typeof(Identity<T>)) Map1Range(row, row, epi);
            }
        }
    }

    public void BatchNormBackward(Tensor<T> dy, Tensor<T> x, Tensor<T> weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias, bool training)
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        NormCheckLike(dy, "dy", x, "x"); NormCheckLike(dx, "dx", x, "x");
        NormCheckVec(weight, "weight", c); NormCheckVec(mean, "mean", c); NormCheckVec(invStd, "invStd", c);
        NormCheckVec(dweight, "dweight", c); NormCheckVec(dbias, "dbias", c);
        NormChunks(c, (long)n * inner * c, (dy, x, weight, mean, invStd, dx, dweight, dbias, training, n, c, inner),
            static (s, lo, hi) => BatchNormBackwardChannels(s.dy.AsSpan(), s.x.AsSpan(), s.weight.AsSpan(), s.mean.AsSpan(), s.invStd.AsSpan(),
                s.dx is null ? default : s.dx.AsSpan(), s.dx is not null, s.dweight.AsSpan(), s.dbias.AsSpan(), s.training, s.n, s.c, s.inner, lo, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormBackwardChannels(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> dx, bool hasDx, Span<T> dweight, Span<T> dbias, bool training, int n, int c, int inner, int lo, int hi)
    {
        T count = T.CreateChecked((long)n * inner);
        for (int ch = lo; ch < hi; ch++)
        {
            T mu = mean[ch], inv = invStd[ch];
            T sdy = T.Zero, sdyx = T.Zero;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                var (a, b) = NormDotSums(dy.Slice(o, inner), x.Slice(o, inner), mu);
                sdy += a; sdyx += b;
            }
            T sdyxhat = sdyx * inv;
            dbias[ch] = sdy; dweight[ch] = sdyxhat;
            if (!hasDx) continue;
            // training: dx = w·inv·(dy − Σdy/n − x̂·Σdy·x̂/n); eval: dx = w·inv·dy
            T A = w[ch] * inv;
            T B = training ? -A * inv * sdyxhat / count : T.Zero;
            T C = training ? -A * sdy / count : T.Zero;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * inner;
                NormLin3(dy.Slice(o, inner), x.Slice(o, inner), dx.Slice(o, inner), mu, A, B, C);
            }
        }
    }

    // ------------------------------------------------------------------ layernorm
    private static (int Rows, int D) LayerNormDims(Tensor<T> x, int dims)
    {
        if (dims < 1 || dims > x.Rank)
            throw new ArgumentException($"dims: layernorm of x {Tensor<T>.Format(x.Shape)} normalizes 1 to {x.Rank} trailing dims, got {dims}", nameof(dims));
        int d = 1;
        for (int i = x.Rank - dims; i < x.Rank; i++) d *= x.Shape[i];
        return (d == 0 ? 0 : x.Length / d, d);
    }

    private static void LayerNormCheck(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> mean, Tensor<T> invStd, int dims)
    {
        var lead = x.Shape.AsSpan(0, x.Rank - dims);
        var tail = x.Shape.AsSpan(x.Rank - dims);
        for (int i = 0; i < 2; i++)
        {
            var (t, name) = i == 0 ? (weight, "weight") : (bias, "bias"); // no array per call: this runs every step
            if (t is not null && !t.Shape.AsSpan().SequenceEqual(tail))
                throw new ArgumentException($"{name}: expected shape {Tensor<T>.Format(tail)} (the last {dims} dims of x {Tensor<T>.Format(x.Shape)}), got {Tensor<T>.Format(t.Shape)}", name);
        }
        if (!mean.Shape.AsSpan().SequenceEqual(lead))
            throw new ArgumentException($"mean: expected shape {Tensor<T>.Format(lead)} (the leading dims of x {Tensor<T>.Format(x.Shape)}), got {Tensor<T>.Format(mean.Shape)}", nameof(mean));
        if (!invStd.Shape.AsSpan().SequenceEqual(lead))
            throw new ArgumentException($"invStd: expected shape {Tensor<T>.Format(lead)} (the leading dims of x {Tensor<T>.Format(x.Shape)}), got {Tensor<T>.Format(invStd.Shape)}", nameof(invStd));
    }

    public void LayerNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int dims, T eps)
    {
        var (rows, d) = LayerNormDims(x, dims);
        NormCheckLike(y, "y", x, "x");
        LayerNormCheck(x, weight, bias, mean, invStd, dims);
        if ((weight is null) != (bias is null)) throw new ArgumentException("weight and bias: give both or neither");
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
        var (rows, d) = LayerNormDims(x, dims);
        NormCheckLike(dy, "dy", x, "x"); NormCheckLike(dx, "dx", x, "x");
        LayerNormCheck(x, weight, null, mean, invStd, dims);
        if (weight is not null) { NormCheckLike(dweight, "dweight", weight, "weight"); NormCheckLike(dbias, "dbias", weight, "weight"); }
        else if (dweight is not null || dbias is not null) throw new ArgumentException("dweight and dbias need the weight (layernorm without affine parameters has no weight gradient)");
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
            T s1 = T.Zero, s2 = T.Zero;   // Σ g, Σ g·(x − μ) with g = dy·w
            if (affine) for (int j = 0; j < d; j++) { T g = dyr[j] * w[j]; s1 += g; s2 += g * (xr[j] - mu); }
            else (s1, s2) = NormDotSums(dyr, xr, mu);
            // dx = inv·(g − s1/D − x̂·(s2·inv)/D)
            T B = -inv * inv * inv * s2 / count, C = -inv * s1 / count;
            if (affine) for (int j = 0; j < d; j++) dxr[j] = inv * dyr[j] * w[j] + B * (xr[j] - mu) + C;
            else NormLin3(dyr, xr, dxr, mu, inv, B, C);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LayerNormWeightGrad(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd,
        Span<T> dweight, Span<T> dbias, int rows, int d, int lo, int hi)
    {
        var dw = dweight[lo..hi]; var db = dbias[lo..hi];
        dw.Clear(); db.Clear();
        int len = hi - lo, vw = Vector256<T>.Count;
        ref T pw = ref MemoryMarshal.GetReference(dw); ref T pb = ref MemoryMarshal.GetReference(db);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * d + lo, len); var xr = x.Slice(r * d + lo, len);
            T mu = mean[r], inv = invStd[r];
            int j = 0;
            if (len >= vw)
            {
                Vector256<T> vm = Vector256.Create(mu), vi = Vector256.Create(inv);
                ref T pd = ref MemoryMarshal.GetReference(dyr); ref T px = ref MemoryMarshal.GetReference(xr);
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
    private static (int N, int C, int Inner, int Cg) GroupNormCheck(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> mean, Tensor<T> invStd, int groups)
    {
        var (n, c, inner) = NormDims(x, "groupnorm");
        if (groups < 1 || c % groups != 0)
            throw new ArgumentException($"groups: {groups} must divide the {c} channels of x {Tensor<T>.Format(x.Shape)}", nameof(groups));
        NormCheckVec(weight, "weight", c); NormCheckVec(bias, "bias", c);
        mean.CheckShape("mean", [n, groups]); invStd.CheckShape("invStd", [n, groups]);
        return (n, c, inner, c / groups);
    }

    public void GroupNormForward(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int groups, T eps)
    {
        var (n, c, inner, cg) = GroupNormCheck(x, weight, bias, mean, invStd, groups);
        NormCheckLike(y, "y", x, "x");
        if ((weight is null) != (bias is null)) throw new ArgumentException("weight and bias: give both or neither");
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
        var (n, c, inner, cg) = GroupNormCheck(x, weight, null, mean, invStd, groups);
        NormCheckLike(dy, "dy", x, "x"); NormCheckLike(dx, "dx", x, "x");
        if (weight is not null) { NormCheckVec(dweight, "dweight", c); NormCheckVec(dbias, "dbias", c); }
        else if (dweight is not null || dbias is not null) throw new ArgumentException("dweight and dbias need the weight (no affine parameters, no weight gradient)");
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
    private static (int N, int C, int Inner) LrnCheck(Tensor<T> x, int size, params (Tensor<T> T, string Name)[] like)
    {
        if (x.Rank < 3) throw new ArgumentException($"x: lrn expects [N, C, *] (3-D or more), got {Tensor<T>.Format(x.Shape)}", "x");
        if (size < 1) throw new ArgumentException($"size: the lrn window must hold at least 1 channel, got {size}", nameof(size));
        foreach (var (t, name) in like) NormCheckLike(t, name, x, "x");
        return NormDims(x, "lrn");
    }

    public void LocalResponseNormForward(Tensor<T> x, Tensor<T> y, Tensor<T> scale, int size, T alpha, T beta, T k)
    {
        var (n, c, inner) = LrnCheck(x, size, (y, "y"), (scale, "scale"));
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
        var (n, c, inner) = LrnCheck(x, size, (dy, "dy"), (y, "y"), (scale, "scale"), (dx, "dx"));
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
