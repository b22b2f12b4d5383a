using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Runtime;

// Weight gradient of a stride-1 3×3 convolution (float, AVX-512) with the output channels along the vector ("k-vector" form):
//   dWᵀ[c,r,s][k] = Σ_n Σ_(oh,ow) xpad[n][c][oh + r][ow + s] · dyᵀ[n][oh·OW + ow][k]
// dy is transposed per image to pixel-major dyᵀ (P × Kp, Kp = K rounded up to 16, zeros past K; 8×8 AVX transposes), so
// an accumulator is a vector of 16 output channels for one tap: no horizontal sums, x comes in as scalar broadcasts (never a
// cache-line-split load; the dot form of CpuKernels.DirectConv.cs loads 6 shifted, mostly split vectors of x per 24 FMAs and
// ran at 53–60 % of one core against the forward's 70 %), and only valid output pixels are visited (the padded-width dot
// form also multiplies the garbage columns: 6 % at 32×32, 14 % at 8×8).
// Register blocks of 18 zmm accumulators: 2 input channels × 9 taps × 1 vector of k (K ≤ 16), or 1 channel × 9 taps × 2
// vectors (K > 16); a missing channel or vector aliases the last valid one and is computed and discarded.
// Per worker a chunk of images; its dWᵀ (C·9 × Kp) lives in scratch and is transposed into dW (or the worker's partial sum).
public sealed partial class CpuKernels<T>
{
    /// <summary>Use the k-vector weight gradient where it applies (NETDSL_FILTER_KV=0 turns it off; tests and A/B flip it).</summary>
    internal static bool FilterKVEnabled = Environment.GetEnvironmentVariable("NETDSL_FILTER_KV") != "0";
    /// <summary>Per calling thread: use the dot-form direct kernel instead (tests compare both in one process).</summary>
    [ThreadStatic] internal static bool t_noFilterKV;
    [ThreadStatic] private static T[]? t_fkAcc;   // per worker: dWᵀ (C·9 × Kp)
    /// <summary>Two pixels per step (stride 1: 1.07–1.21×; stride 2 with K &gt; 16: 1.05–1.12×; off only for A/B measurements).</summary>
    internal static bool FilterKVPair = true;

    /// <summary>Images per group: enough that a register block runs over ≥ 512 pixels (small planes, e.g. 7×7 with K = 512,
    /// would otherwise read and write their 18 dWᵀ vectors every 49 pixels), while the group's dyᵀ stays within 1 MB.</summary>
    private static int FilterKVGroup(int p, int kp, int images)
    {
        int want = (512 + p - 1) / p, cap = Math.Max(1, (1 << 18) / (p * kp));
        return Math.Clamp(Math.Min(want, cap), 1, images);
    }

    /// <summary>
    /// Parts per thread of the direct convolutions' parallel loops (forward, backward data, k-vector weight gradient):
    /// ParallelRunner hands the parts out one at a time, so a thread that starts late or runs slowly (the VM's two vCPUs are
    /// at times two hyperthreads of one core) takes fewer parts instead of doubling the kernel's time. 1 = one part per
    /// thread, the default: an A/B on 2026-12-08 00:55 UTC at a load average of 15–25 could not tell 4 from 1 (two threads ran
    /// at one thread's speed on the loaded machine); NETDSL_CONV_PARTS=4 turns it on for a measurement on a quiet machine.
    /// </summary>
    internal static int ConvPartsPerWorker = Math.Max(1, Env("NETDSL_CONV_PARTS", 1));

    /// <summary><see cref="Chunks"/> with up to <see cref="ConvPartsPerWorker"/> parts per thread.</summary>
    private static void ConvChunks<TState>(int n, int workers, TState state, Action<TState, int, int> body)
    {
        if (workers <= 1) { body(state, 0, n); return; }
        // only where every part keeps several units (a training batch); a batch-1 image keeps one part per thread
        int parts = n >= 2 * workers * ConvPartsPerWorker ? workers * ConvPartsPerWorker : workers;
        ParallelRunner.For(parts, new ChunkBody<TState>(n, parts, state, body));
    }

    private static bool UseFilterKV(ConvDims d, ConvGeometry g) =>
        FilterKVEnabled && !t_noFilterKV && DirectConvEnabled && !t_forceIm2col && typeof(T) == typeof(float) && Use512 && Avx.IsSupported && Avx512F.IsSupported
        && g.Groups == 1 && g.StrideH is 1 or 2 && g.StrideW is 1 or 2 && d.KH == 3 && d.KW == 3 && g.DilationH == 1 && g.DilationW == 1
        && g.PadH >= 0 && g.PadW >= 0 && g.PadBottom >= 0 && g.PadRight >= 0 && d.K >= 16 && d.OH > 0 && d.OW > 0
        && (long)d.C * (d.H + g.PadH + g.PadBottom) * (d.W + g.PadW + g.PadRight) < int.MaxValue / 4 && (long)d.OH * d.OW * (d.K + 15) < int.MaxValue / 4;

    /// <summary>Whether a convolution's weight gradient runs on the k-vector kernel (for tests).</summary>
    internal static bool FilterKVApplies(int[] xShape, int[] wShape, ConvGeometry g)
    {
        int h = xShape[2], wd = xShape[3], kh = wShape[2], kw = wShape[3];
        return UseFilterKV(new ConvDims(xShape[0], xShape[1], h, wd, wShape[0], kh, kw, g.OutH(h, kh), g.OutW(wd, kw)), g);
    }

    private static void FilterKV(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, ConvGeometry g, ConvDims d)
    {
        // one zero-padded image per strip: Hp = PadT + H + PadB, Wp = PadL + W + PadR; output (oh, ow) reads rows sh·oh + r and
        // columns sw·ow + s, all inside (that is how OH and OW are defined)
        int hp = g.PadH + d.H + g.PadBottom, wp = g.PadW + d.W + g.PadRight;
        var q = new DirectGeom(1, d.C, d.H, d.W, d.K, 3, 3, 1, 1, g.PadH, g.PadW, hp, wp, 1, wp, d.OW);
        if (g.StrideH * (d.OH - 1) + 3 > hp || g.StrideW * (d.OW - 1) + 3 > wp) throw new InvalidOperationException("k-vector filter geometry");
        int workers = Workers((long)d.N * d.K * d.CRS * d.P, d.N);
        if (workers == 1) { FilterKVRange(dy, x, dw.AsSpan(), q, d, g.StrideH, g.StrideW, 0, d.N); return; }
        if (d.N >= 2 * workers * ConvPartsPerWorker) workers *= ConvPartsPerWorker;   // parts, claimed dynamically; one partial dW each
        int size = d.K * d.CRS;
        var partials = t_dwPartials ??= [];
        if (partials.Length < workers) { Array.Resize(ref partials, workers); t_dwPartials = partials; }
        for (int p = 1; p < workers; p++)
            if (partials[p] is null || partials[p].Length < size) partials[p] = new T[size];
        ParallelRunner.For(workers, new FilterKVBody(dy, x, dw, partials, size, q, d, g, workers));
        var dws = dw.AsSpan();
        for (int p = 1; p < workers; p++) AddInto(partials[p].AsSpan(0, size), dws);
    }

    private readonly struct FilterKVBody(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, T[][] partials, int size, DirectGeom q, ConvDims d, ConvGeometry g, int workers)
        : IParallelBody
    {
        public void Run(int p)
        {
            var (lo, hi) = Chunk(d.N, workers, p);
            FilterKVRange(dy, x, p == 0 ? dw.AsSpan() : partials[p].AsSpan(0, size), q, d, g.StrideH, g.StrideW, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FilterKVRange(Tensor<T> dy, Tensor<T> x, Span<T> dwOut, DirectGeom q, ConvDims d, int sh, int sw, int lo, int hi)
    {
        if (lo >= hi) { dwOut.Clear(); return; }
        int kp = (d.K + 15) / 16 * 16, taps = d.C * 9, p = d.P, plane = q.Plane;
        int padSize = q.PadSize, dySize = p * kp;
        int group = FilterKVGroup(p, kp, hi - lo), scratchGroup = FilterKVGroup(p, kp, d.N);
        var xp = Scratch(ref t_dcPad, scratchGroup * padSize);
        var dyt = Scratch(ref t_dcDy, scratchGroup * dySize);
        var acc = Scratch(ref t_fkAcc, taps * kp);
        acc.AsSpan(0, taps * kp).Clear();
        var xs = x.AsSpan(); var dys = dy.AsSpan();
        if ((long)hi * d.K * p > dys.Length || dwOut.Length < d.K * taps) throw new ArgumentException("dy or dw too short");
        ref float xp0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetArrayDataReference(xp));
        ref float dt0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetArrayDataReference(dyt));
        ref float ac0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetArrayDataReference(acc));
        ref float dy0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(dys));
        int kv = kp / 16;
        for (int n0 = lo; n0 < hi; n0 += group)
        {
            int gn = Math.Min(group, hi - n0);
            for (int i = 0; i < gn; i++)
            {
                PadStrip(xs, n0 + i, 1, xp.AsSpan(i * padSize, padSize), q);
                TransposeDy(ref Unsafe.Add(ref dy0, (nint)(n0 + i) * d.K * p), d.K, p, ref Unsafe.Add(ref dt0, i * dySize), kp);
            }
            if (kv == 1)
                for (int c = 0; c < d.C; c += 2)
                {
                    int c1 = Math.Min(c + 1, d.C - 1);
                    FilterKV1x2(ref Unsafe.Add(ref xp0, c * plane), ref Unsafe.Add(ref xp0, c1 * plane), q.Wp, sh, sw, ref dt0, kp, d.OH, d.OW,
                        gn, padSize, dySize, ref Unsafe.Add(ref ac0, c * 9 * kp), ref Unsafe.Add(ref ac0, c1 * 9 * kp), c1 != c);
                }
            else
                for (int c = 0; c < d.C; c++)
                    for (int v = 0; v < kv; v += 2)
                    {
                        int v1 = Math.Min(v + 1, kv - 1);
                        FilterKV2x1(ref Unsafe.Add(ref xp0, c * plane), q.Wp, sh, sw, ref Unsafe.Add(ref dt0, v * 16), v1 - v, kp, d.OH, d.OW,
                            gn, padSize, dySize, ref Unsafe.Add(ref ac0, c * 9 * kp + v * 16));
                    }
        }
        // dW[k][tap] = dWᵀ[tap][k]
        // in 8×8 blocks: with K = 512 dWᵀ is 9 MB, and a column walk (stride Kp) missed the cache on every element
        var dws = MemoryMarshal.Cast<T, float>(dwOut);
        ref float dw0 = ref MemoryMarshal.GetReference(dws);
        int k8 = d.K / 8 * 8, t8 = taps / 8 * 8;
        for (int t0 = 0; t0 < t8; t0 += 8)
            for (int k0 = 0; k0 < k8; k0 += 8)
                Transpose8x8(ref Unsafe.Add(ref ac0, t0 * kp + k0), kp, ref Unsafe.Add(ref dw0, k0 * taps + t0), taps);
        for (int k = 0; k < d.K; k++)
        {
            var row = dws.Slice(k * taps, taps);
            for (int t = k < k8 ? t8 : 0; t < taps; t++) row[t] = Unsafe.Add(ref ac0, t * kp + k);
        }
    }

    /// <summary>dyᵀ[pix][k] = dy[k][pix] for k &lt; K, 0 for K ≤ k &lt; Kp (8×8 AVX transposes, scalar edges).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeDy(ref float src, int k, int p, ref float dst, int kp)
    {
        int k8 = k / 8 * 8, p8 = p / 8 * 8;
        for (int k0 = 0; k0 < k8; k0 += 8)
        {
            for (int p0 = 0; p0 < p8; p0 += 8)
                Transpose8x8(ref Unsafe.Add(ref src, k0 * p + p0), p, ref Unsafe.Add(ref dst, p0 * kp + k0), kp);
            for (int p0 = p8; p0 < p; p0++)
                for (int i = 0; i < 8; i++) Unsafe.Add(ref dst, p0 * kp + k0 + i) = Unsafe.Add(ref src, (k0 + i) * p + p0);
        }
        for (int pix = 0; pix < p; pix++)
        {
            for (int i = k8; i < k; i++) Unsafe.Add(ref dst, pix * kp + i) = Unsafe.Add(ref src, i * p + pix);
            for (int i = k; i < kp; i++) Unsafe.Add(ref dst, pix * kp + i) = 0f;
        }
    }

    /// <summary>Channels a and b (b may alias a: then <paramref name="storeB"/> is false) × 9 taps × 16 outputs, summed over
    /// gn images of OH×OW pixels; added into dWᵀ rows accA (taps of a) and accB.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FilterKV1x2(ref float xa, ref float xb, int wp, int sh, int sw, ref float dt, int kp, int oh, int ow, int gn, int padSize, int dySize,
        ref float accA, ref float accB, bool storeB)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default, a20 = default, a21 = default, a22 = default;
        Vector512<float> b00 = default, b01 = default, b02 = default, b10 = default, b11 = default, b12 = default, b20 = default, b21 = default, b22 = default;
        for (int img = 0; img < gn; img++)
        {
            ref float xai = ref Unsafe.Add(ref xa, img * padSize);
            ref float xbi = ref Unsafe.Add(ref xb, img * padSize);
            ref float dti = ref Unsafe.Add(ref dt, img * dySize);
            for (int r = 0; r < oh; r++)
            {
                ref float p0 = ref Unsafe.Add(ref xai, r * sh * wp);
                ref float p1 = ref Unsafe.Add(ref p0, wp);
                ref float p2 = ref Unsafe.Add(ref p1, wp);
                ref float q0 = ref Unsafe.Add(ref xbi, r * sh * wp);
                ref float q1 = ref Unsafe.Add(ref q0, wp);
                ref float q2 = ref Unsafe.Add(ref q1, wp);
                ref float e = ref Unsafe.Add(ref dti, r * ow * kp);
                // two pixels per step: the broadcasts x[i..i+3] of a kernel row serve both (4 loads for 6 FMAs instead of 6)
                int i = 0, pairEnd = FilterKVPair && sw == 1 ? ow - 1 : 0;
                for (; i < pairEnd; i += 2)
                {
                    var d0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, i * kp));
                    var d1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, (i + 1) * kp));
                    var x0 = Vector512.Create(Unsafe.Add(ref p0, i)); var x1 = Vector512.Create(Unsafe.Add(ref p0, i + 1));
                    var x2 = Vector512.Create(Unsafe.Add(ref p0, i + 2)); var x3 = Vector512.Create(Unsafe.Add(ref p0, i + 3));
                    a00 = Avx512F.FusedMultiplyAdd(x1, d1, Avx512F.FusedMultiplyAdd(x0, d0, a00));
                    a01 = Avx512F.FusedMultiplyAdd(x2, d1, Avx512F.FusedMultiplyAdd(x1, d0, a01));
                    a02 = Avx512F.FusedMultiplyAdd(x3, d1, Avx512F.FusedMultiplyAdd(x2, d0, a02));
                    x0 = Vector512.Create(Unsafe.Add(ref p1, i)); x1 = Vector512.Create(Unsafe.Add(ref p1, i + 1));
                    x2 = Vector512.Create(Unsafe.Add(ref p1, i + 2)); x3 = Vector512.Create(Unsafe.Add(ref p1, i + 3));
                    a10 = Avx512F.FusedMultiplyAdd(x1, d1, Avx512F.FusedMultiplyAdd(x0, d0, a10));
                    a11 = Avx512F.FusedMultiplyAdd(x2, d1, Avx512F.FusedMultiplyAdd(x1, d0, a11));
                    a12 = Avx512F.FusedMultiplyAdd(x3, d1, Avx512F.FusedMultiplyAdd(x2, d0, a12));
                    x0 = Vector512.Create(Unsafe.Add(ref p2, i)); x1 = Vector512.Create(Unsafe.Add(ref p2, i + 1));
                    x2 = Vector512.Create(Unsafe.Add(ref p2, i + 2)); x3 = Vector512.Create(Unsafe.Add(ref p2, i + 3));
                    a20 = Avx512F.FusedMultiplyAdd(x1, d1, Avx512F.FusedMultiplyAdd(x0, d0, a20));
                    a21 = Avx512F.FusedMultiplyAdd(x2, d1, Avx512F.FusedMultiplyAdd(x1, d0, a21));
                    a22 = Avx512F.FusedMultiplyAdd(x3, d1, Avx512F.FusedMultiplyAdd(x2, d0, a22));
                    x0 = Vector512.Create(Unsafe.Add(ref q0, i)); x1 = Vector512.Create(Unsafe.Add(ref q0, i + 1));
                    x2 = Vector512.Create(Unsafe.Add(ref q0, i + 2)); x3 = Vector512.Create(Unsafe.Add(ref q0, i + 3));
                    b00 = Avx512F.FusedMultiplyAdd(x1, d1, Avx512F.FusedMultiplyAdd(x0, d0, b00));
                    b01 = Avx512F.FusedMultiplyAdd(x2, d1, Avx512F.FusedMultiplyAdd(x1, d0, b01));
                    b02 = Avx512F.FusedMultiplyAdd(x3, d1, Avx512F.FusedMultiplyAdd(x2, d0, b02));
                    x0 = Vector512.Create(Unsafe.Add(ref q1, i)); x1 = Vector512.Create(Unsafe.Add(ref q1, i + 1));
                    x2 = Vector512.Create(Unsafe.Add(ref q1, i + 2)); x3 = Vector512.Create(Unsafe.Add(ref q1, i + 3));
                    b10 = Avx512F.FusedMultiplyAdd(x1, d1, Avx512F.FusedMultiplyAdd(x0, d0, b10));
                    b11 = Avx512F.FusedMultiplyAdd(x2, d1, Avx512F.FusedMultiplyAdd(x1, d0, b11));
                    b12 = Avx512F.FusedMultiplyAdd(x3, d1, Avx512F.FusedMultiplyAdd(x2, d0, b12));
                    x0 = Vector512.Create(Unsafe.Add(ref q2, i)); x1 = Vector512.Create(Unsafe.Add(ref q2, i + 1));
                    x2 = Vector512.Create(Unsafe.Add(ref q2, i + 2)); x3 = Vector512.Create(Unsafe.Add(ref q2, i + 3));
                    b20 = Avx512F.FusedMultiplyAdd(x1, d1, Avx512F.FusedMultiplyAdd(x0, d0, b20));
                    b21 = Avx512F.FusedMultiplyAdd(x2, d1, Avx512F.FusedMultiplyAdd(x1, d0, b21));
                    b22 = Avx512F.FusedMultiplyAdd(x3, d1, Avx512F.FusedMultiplyAdd(x2, d0, b22));
                }
                for (; i < ow; i++)
                {
                    var dv = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, i * kp));
                    a00 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p0, i * sw)), dv, a00);
                    a01 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p0, i * sw + 1)), dv, a01);
                    a02 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p0, i * sw + 2)), dv, a02);
                    a10 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p1, i * sw)), dv, a10);
                    a11 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p1, i * sw + 1)), dv, a11);
                    a12 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p1, i * sw + 2)), dv, a12);
                    a20 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p2, i * sw)), dv, a20);
                    a21 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p2, i * sw + 1)), dv, a21);
                    a22 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref p2, i * sw + 2)), dv, a22);
                    b00 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q0, i * sw)), dv, b00);
                    b01 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q0, i * sw + 1)), dv, b01);
                    b02 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q0, i * sw + 2)), dv, b02);
                    b10 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q1, i * sw)), dv, b10);
                    b11 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q1, i * sw + 1)), dv, b11);
                    b12 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q1, i * sw + 2)), dv, b12);
                    b20 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q2, i * sw)), dv, b20);
                    b21 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q2, i * sw + 1)), dv, b21);
                    b22 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref q2, i * sw + 2)), dv, b22);
                }
            }
        }
        AddTaps(ref accA, kp, a00, a01, a02, a10, a11, a12, a20, a21, a22);
        if (storeB) AddTaps(ref accB, kp, b00, b01, b02, b10, b11, b12, b20, b21, b22);
    }

    /// <summary>One channel × 9 taps × 32 outputs (vectors at dt and dt + 16·<paramref name="second"/>; second = 0 aliases the
    /// first and drops it), summed over gn images; added into dWᵀ rows at acc (and acc + 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FilterKV2x1(ref float x, int wp, int sh, int sw, ref float dt, int second, int kp, int oh, int ow, int gn, int padSize, int dySize,
        ref float acc)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default, a20 = default, a21 = default, a22 = default;
        Vector512<float> b00 = default, b01 = default, b02 = default, b10 = default, b11 = default, b12 = default, b20 = default, b21 = default, b22 = default;
        int off2 = 16 * second;
        for (int img = 0; img < gn; img++)
        {
            ref float xi = ref Unsafe.Add(ref x, img * padSize);
            ref float dti = ref Unsafe.Add(ref dt, img * dySize);
            for (int r = 0; r < oh; r++)
            {
                ref float p0 = ref Unsafe.Add(ref xi, r * sh * wp);
                ref float p1 = ref Unsafe.Add(ref p0, wp);
                ref float p2 = ref Unsafe.Add(ref p1, wp);
                ref float e = ref Unsafe.Add(ref dti, r * ow * kp);
                ref float f = ref Unsafe.Add(ref e, off2);
                // two pixels per step, sharing the broadcasts x[i..i+3] of each kernel row
                int i = 0, pairEnd = FilterKVPair && sw == 1 ? ow - 1 : 0;
                for (; i < pairEnd; i += 2)
                {
                    var d0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, i * kp)); var d1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref f, i * kp));
                    var g0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, (i + 1) * kp)); var g1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref f, (i + 1) * kp));
                    var x0 = Vector512.Create(Unsafe.Add(ref p0, i)); var x1 = Vector512.Create(Unsafe.Add(ref p0, i + 1));
                    var x2 = Vector512.Create(Unsafe.Add(ref p0, i + 2)); var x3 = Vector512.Create(Unsafe.Add(ref p0, i + 3));
                    a00 = Avx512F.FusedMultiplyAdd(x1, g0, Avx512F.FusedMultiplyAdd(x0, d0, a00)); b00 = Avx512F.FusedMultiplyAdd(x1, g1, Avx512F.FusedMultiplyAdd(x0, d1, b00));
                    a01 = Avx512F.FusedMultiplyAdd(x2, g0, Avx512F.FusedMultiplyAdd(x1, d0, a01)); b01 = Avx512F.FusedMultiplyAdd(x2, g1, Avx512F.FusedMultiplyAdd(x1, d1, b01));
                    a02 = Avx512F.FusedMultiplyAdd(x3, g0, Avx512F.FusedMultiplyAdd(x2, d0, a02)); b02 = Avx512F.FusedMultiplyAdd(x3, g1, Avx512F.FusedMultiplyAdd(x2, d1, b02));
                    x0 = Vector512.Create(Unsafe.Add(ref p1, i)); x1 = Vector512.Create(Unsafe.Add(ref p1, i + 1));
                    x2 = Vector512.Create(Unsafe.Add(ref p1, i + 2)); x3 = Vector512.Create(Unsafe.Add(ref p1, i + 3));
                    a10 = Avx512F.FusedMultiplyAdd(x1, g0, Avx512F.FusedMultiplyAdd(x0, d0, a10)); b10 = Avx512F.FusedMultiplyAdd(x1, g1, Avx512F.FusedMultiplyAdd(x0, d1, b10));
                    a11 = Avx512F.FusedMultiplyAdd(x2, g0, Avx512F.FusedMultiplyAdd(x1, d0, a11)); b11 = Avx512F.FusedMultiplyAdd(x2, g1, Avx512F.FusedMultiplyAdd(x1, d1, b11));
                    a12 = Avx512F.FusedMultiplyAdd(x3, g0, Avx512F.FusedMultiplyAdd(x2, d0, a12)); b12 = Avx512F.FusedMultiplyAdd(x3, g1, Avx512F.FusedMultiplyAdd(x2, d1, b12));
                    x0 = Vector512.Create(Unsafe.Add(ref p2, i)); x1 = Vector512.Create(Unsafe.Add(ref p2, i + 1));
                    x2 = Vector512.Create(Unsafe.Add(ref p2, i + 2)); x3 = Vector512.Create(Unsafe.Add(ref p2, i + 3));
                    a20 = Avx512F.FusedMultiplyAdd(x1, g0, Avx512F.FusedMultiplyAdd(x0, d0, a20)); b20 = Avx512F.FusedMultiplyAdd(x1, g1, Avx512F.FusedMultiplyAdd(x0, d1, b20));
                    a21 = Avx512F.FusedMultiplyAdd(x2, g0, Avx512F.FusedMultiplyAdd(x1, d0, a21)); b21 = Avx512F.FusedMultiplyAdd(x2, g1, Avx512F.FusedMultiplyAdd(x1, d1, b21));
                    a22 = Avx512F.FusedMultiplyAdd(x3, g0, Avx512F.FusedMultiplyAdd(x2, d0, a22)); b22 = Avx512F.FusedMultiplyAdd(x3, g1, Avx512F.FusedMultiplyAdd(x2, d1, b22));
                }
                // stride 2: two pixels per step share the middle broadcast x[2i + 2] of each kernel row (5 loads for 6 taps)
                int pair2End = FilterKVPair && sw == 2 ? ow - 1 : 0;
                for (; i < pair2End; i += 2)
                {
                    var d0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, i * kp)); var d1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref f, i * kp));
                    var g0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, (i + 1) * kp)); var g1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref f, (i + 1) * kp));
                    int c2 = 2 * i;
                    var x0 = Vector512.Create(Unsafe.Add(ref p0, c2)); var x1 = Vector512.Create(Unsafe.Add(ref p0, c2 + 1)); var x2 = Vector512.Create(Unsafe.Add(ref p0, c2 + 2));
                    var x3 = Vector512.Create(Unsafe.Add(ref p0, c2 + 3)); var x4 = Vector512.Create(Unsafe.Add(ref p0, c2 + 4));
                    a00 = Avx512F.FusedMultiplyAdd(x2, g0, Avx512F.FusedMultiplyAdd(x0, d0, a00)); b00 = Avx512F.FusedMultiplyAdd(x2, g1, Avx512F.FusedMultiplyAdd(x0, d1, b00));
                    a01 = Avx512F.FusedMultiplyAdd(x3, g0, Avx512F.FusedMultiplyAdd(x1, d0, a01)); b01 = Avx512F.FusedMultiplyAdd(x3, g1, Avx512F.FusedMultiplyAdd(x1, d1, b01));
                    a02 = Avx512F.FusedMultiplyAdd(x4, g0, Avx512F.FusedMultiplyAdd(x2, d0, a02)); b02 = Avx512F.FusedMultiplyAdd(x4, g1, Avx512F.FusedMultiplyAdd(x2, d1, b02));
                    x0 = Vector512.Create(Unsafe.Add(ref p1, c2)); x1 = Vector512.Create(Unsafe.Add(ref p1, c2 + 1)); x2 = Vector512.Create(Unsafe.Add(ref p1, c2 + 2));
                    x3 = Vector512.Create(Unsafe.Add(ref p1, c2 + 3)); x4 = Vector512.Create(Unsafe.Add(ref p1, c2 + 4));
                    a10 = Avx512F.FusedMultiplyAdd(x2, g0, Avx512F.FusedMultiplyAdd(x0, d0, a10)); b10 = Avx512F.FusedMultiplyAdd(x2, g1, Avx512F.FusedMultiplyAdd(x0, d1, b10));
                    a11 = Avx512F.FusedMultiplyAdd(x3, g0, Avx512F.FusedMultiplyAdd(x1, d0, a11)); b11 = Avx512F.FusedMultiplyAdd(x3, g1, Avx512F.FusedMultiplyAdd(x1, d1, b11));
                    a12 = Avx512F.FusedMultiplyAdd(x4, g0, Avx512F.FusedMultiplyAdd(x2, d0, a12)); b12 = Avx512F.FusedMultiplyAdd(x4, g1, Avx512F.FusedMultiplyAdd(x2, d1, b12));
                    x0 = Vector512.Create(Unsafe.Add(ref p2, c2)); x1 = Vector512.Create(Unsafe.Add(ref p2, c2 + 1)); x2 = Vector512.Create(Unsafe.Add(ref p2, c2 + 2));
                    x3 = Vector512.Create(Unsafe.Add(ref p2, c2 + 3)); x4 = Vector512.Create(Unsafe.Add(ref p2, c2 + 4));
                    a20 = Avx512F.FusedMultiplyAdd(x2, g0, Avx512F.FusedMultiplyAdd(x0, d0, a20)); b20 = Avx512F.FusedMultiplyAdd(x2, g1, Avx512F.FusedMultiplyAdd(x0, d1, b20));
                    a21 = Avx512F.FusedMultiplyAdd(x3, g0, Avx512F.FusedMultiplyAdd(x1, d0, a21)); b21 = Avx512F.FusedMultiplyAdd(x3, g1, Avx512F.FusedMultiplyAdd(x1, d1, b21));
                    a22 = Avx512F.FusedMultiplyAdd(x4, g0, Avx512F.FusedMultiplyAdd(x2, d0, a22)); b22 = Avx512F.FusedMultiplyAdd(x4, g1, Avx512F.FusedMultiplyAdd(x2, d1, b22));
                }
                for (; i < ow; i++)
                {
                    var d0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref e, i * kp));
                    var d1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref f, i * kp));
                    var s = Vector512.Create(Unsafe.Add(ref p0, i * sw)); a00 = Avx512F.FusedMultiplyAdd(s, d0, a00); b00 = Avx512F.FusedMultiplyAdd(s, d1, b00);
                    s = Vector512.Create(Unsafe.Add(ref p0, i * sw + 1)); a01 = Avx512F.FusedMultiplyAdd(s, d0, a01); b01 = Avx512F.FusedMultiplyAdd(s, d1, b01);
                    s = Vector512.Create(Unsafe.Add(ref p0, i * sw + 2)); a02 = Avx512F.FusedMultiplyAdd(s, d0, a02); b02 = Avx512F.FusedMultiplyAdd(s, d1, b02);
                    s = Vector512.Create(Unsafe.Add(ref p1, i * sw)); a10 = Avx512F.FusedMultiplyAdd(s, d0, a10); b10 = Avx512F.FusedMultiplyAdd(s, d1, b10);
                    s = Vector512.Create(Unsafe.Add(ref p1, i * sw + 1)); a11 = Avx512F.FusedMultiplyAdd(s, d0, a11); b11 = Avx512F.FusedMultiplyAdd(s, d1, b11);
                    s = Vector512.Create(Unsafe.Add(ref p1, i * sw + 2)); a12 = Avx512F.FusedMultiplyAdd(s, d0, a12); b12 = Avx512F.FusedMultiplyAdd(s, d1, b12);
                    s = Vector512.Create(Unsafe.Add(ref p2, i * sw)); a20 = Avx512F.FusedMultiplyAdd(s, d0, a20); b20 = Avx512F.FusedMultiplyAdd(s, d1, b20);
                    s = Vector512.Create(Unsafe.Add(ref p2, i * sw + 1)); a21 = Avx512F.FusedMultiplyAdd(s, d0, a21); b21 = Avx512F.FusedMultiplyAdd(s, d1, b21);
                    s = Vector512.Create(Unsafe.Add(ref p2, i * sw + 2)); a22 = Avx512F.FusedMultiplyAdd(s, d0, a22); b22 = Avx512F.FusedMultiplyAdd(s, d1, b22);
                }
            }
        }
        AddTaps(ref acc, kp, a00, a01, a02, a10, a11, a12, a20, a21, a22);
        if (second != 0) AddTaps(ref Unsafe.Add(ref acc, 16), kp, b00, b01, b02, b10, b11, b12, b20, b21, b22);
    }

    /// <summary>dWᵀ[tap t][..16] += s_t for the 9 taps of one channel (rows kp apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTaps(ref float acc, int kp, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3,
        Vector512<float> s4, Vector512<float> s5, Vector512<float> s6, Vector512<float> s7, Vector512<float> s8)
    {
        AddRow(ref acc, s0); AddRow(ref Unsafe.Add(ref acc, kp), s1); AddRow(ref Unsafe.Add(ref acc, 2 * kp), s2);
        AddRow(ref Unsafe.Add(ref acc, 3 * kp), s3); AddRow(ref Unsafe.Add(ref acc, 4 * kp), s4); AddRow(ref Unsafe.Add(ref acc, 5 * kp), s5);
        AddRow(ref Unsafe.Add(ref acc, 6 * kp), s6); AddRow(ref Unsafe.Add(ref acc, 7 * kp), s7); AddRow(ref Unsafe.Add(ref acc, 8 * kp), s8);
        static void AddRow(ref float a, Vector512<float> s) => (Vector512.LoadUnsafe(ref a) + s).StoreUnsafe(ref a);
    }
}
