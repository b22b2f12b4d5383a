using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Recurrent layers and embeddings on the CPU (docs/ops/recurrent.md). One call runs one direction of one layer over the
// whole sequence: the input projection of all T steps is one packed GEMM (x [N·T, D] · W_ihᵀ + b_ih, written straight into
// the gate rows), each step adds h_prev · W_hhᵀ + b_hh with a GEMM over the N rows of that step (strided rows: no copies),
// and the gate math is Vector256 code (VMath sigmoid/tanh) with a zero-padded last vector. The backward pass walks the
// steps in reverse, keeping every step's pre-activation gradients in `work`, then forms dx, dW_ih, dW_hh as three GEMMs
// over all steps and the biases as column sums.
public sealed partial class CpuKernels<T>
{
    private static int VC => Vector256<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Ld(ReadOnlySpan<T> s, int j, int cnt) => cnt == Vector256<T>.Count ? Vector256.Create(s.Slice(j, cnt)) : LdPartial(s, j, cnt);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<T> LdPartial(ReadOnlySpan<T> s, int j, int cnt)
    {
        Span<T> t = stackalloc T[Vector256<T>.Count];
        t.Clear();
        s.Slice(j, cnt).CopyTo(t);
        return Vector256.Create((ReadOnlySpan<T>)t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St(Vector256<T> v, Span<T> s, int j, int cnt)
    {
        if (cnt == Vector256<T>.Count) v.CopyTo(s.Slice(j, cnt));
        else StPartial(v, s, j, cnt);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StPartial(Vector256<T> v, Span<T> s, int j, int cnt)
    {
        Span<T> t = stackalloc T[Vector256<T>.Count];
        v.CopyTo(t);
        t.Slice(0, cnt).CopyTo(s.Slice(j, cnt));
    }

    /// <summary>C[M, Nc] (+)= A·B (+ column bias) on row blocks of C, parallel when big. Offsets and strides in elements; a null A means K = 0.</summary>
    private static void GemmRows(int m, int nc, int k, Tensor<T>? a, int aOff, int rsA, int csA, Tensor<T> b, int bOff, int rsB, int csB,
        Tensor<T> c, int cOff, int ldc, bool accumulate, Tensor<T>? bias, int biasOff)
    {
        if (a is null) k = 0;
        var st = (a, aOff, rsA, csA, b, bOff, rsB, csB, c, cOff, ldc, accumulate, bias, biasOff, nc, k);
        RowBlocks(m, (long)m * nc * Math.Max(k, 1), st, static (s, lo, hi) =>
            Gemm(hi - lo, s.nc, s.k,
                s.a is null ? default : s.a.AsSpan().Slice(s.aOff + lo * s.rsA), s.rsA, s.csA,
                s.k == 0 ? default : s.b.AsSpan().Slice(s.bOff), s.rsB, s.csB,
                s.c.AsSpan().Slice(s.cOff + lo * s.ldc), s.ldc, s.accumulate,
                s.bias is null ? BiasKind.None : BiasKind.Col, s.bias is null ? default : s.bias.AsSpan().Slice(s.biasOff),
                default(Identity<T>)));
    }

    public void RnnForward(RnnCell cell, Tensor<T> x, Tensor<T> wih, Tensor<T> whh, Tensor<T> bih, Tensor<T> bhh, Tensor<T> y, Tensor<T>? saved, int dir,
        Tensor<T>? h0 = null, Tensor<T>? c0 = null, int slot = 0)
    {
        var r = RnnChecks.Forward(cell, x, wih, whh, bih, bhh, y, saved, dir);
        RnnChecks.State(r, cell, h0, c0, slot);
        ArgumentNullException.ThrowIfNull(bih); ArgumentNullException.ThrowIfNull(bhh);
        int N = r.N, Tn = r.T, D = r.D, H = r.H, GH = r.GH, ldy = r.LdY, ldS = r.LdS;
        if (N == 0 || Tn == 0) return;
        bool reverse = dir == 1;
        int yOff = dir * H, sOff = dir * r.S * H;
        // the input projection of every step: [N·T, D] · W_ihᵀ + b_ih (RNN: into y; LSTM: the i, f, g, o slots; GRU: r, z, n)
        if (cell is RnnCell.RnnTanh or RnnCell.RnnRelu) GemmRows(N * Tn, H, D, x, 0, D, 1, wih, 0, 1, D, y, yOff, ldy, false, bih, 0);
        else GemmRows(N * Tn, GH, D, x, 0, D, 1, wih, 0, 1, D, saved!, sOff, ldS, false, bih, 0);

        for (int s = 0; s < Tn; s++)
        {
            int t = reverse ? Tn - 1 - s : s, tp = reverse ? t + 1 : t - 1;
            bool first = s == 0;
            Tensor<T>? hp = first ? h0 : y;
            int hpOff = first ? slot * N * H : tp * ldy + yOff, rsH = first ? H : Tn * ldy;
            switch (cell)
            {
                case RnnCell.RnnTanh:
                case RnnCell.RnnRelu:
                    GemmRows(N, H, H, hp, hpOff, rsH, 1, whh, 0, 1, H, y, t * ldy + yOff, Tn * ldy, true, bhh, 0);
                    break;
                case RnnCell.Lstm:
                    GemmRows(N, GH, H, hp, hpOff, rsH, 1, whh, 0, 1, H, saved!, t * ldS + sOff, Tn * ldS, true, bhh, 0);
                    break;
                case RnnCell.Gru:
                    // r, z: accumulate W_h{r,z}·h + b_h{r,z} onto the input side; hn = W_hn·h + b_hn into its own slot
                    GemmRows(N, 2 * H, H, hp, hpOff, rsH, 1, whh, 0, 1, H, saved!, t * ldS + sOff, Tn * ldS, true, bhh, 0);
                    GemmRows(N, H, H, hp, hpOff, rsH, 1, whh, 2 * H * H, 1, H, saved!, t * ldS + sOff + 3 * H, Tn * ldS, false, bhh, 2 * H);
                    break;
            }
            var st = (cell, y, saved, r, t, tp, first, yOff, sOff, h0, c0, slot);
            Chunks(N, Workers((long)N * H * 16, N), st, static (q, lo, hi) => ForwardGates(q.cell, q.y, q.saved, q.r, q.t, q.tp, q.first, q.yOff, q.sOff, q.h0, q.c0, q.slot, lo, hi));
        }
    }

    /// <summary>The gate math of step t for batch rows lo..hi (pre-activations already summed in y or saved).</summary>
    private static void ForwardGates(RnnCell cell, Tensor<T> yT, Tensor<T>? savedT, RnnDims r, int t, int tp, bool first, int yOff, int sOff,
        Tensor<T>? h0T, Tensor<T>? c0T, int slot, int lo, int hi)
    {
        int H = r.H, Tn = r.T;
        var y = yT.AsSpan();
        var h0 = h0T is null ? default : h0T.AsSpan(); var c0 = c0T is null ? default : c0T.AsSpan();
        var sv = savedT is null ? default : savedT.AsSpan();
        var one = Vector256<T>.One;
        for (int n = lo; n < hi; n++)
        {
            int yr = (n * Tn + t) * r.LdY + yOff, yp = (n * Tn + tp) * r.LdY + yOff;
            int sr = (n * Tn + t) * r.LdS + sOff, sp = (n * Tn + tp) * r.LdS + sOff, s0 = (slot * r.N + n) * H;
            for (int j = 0; j < H; j += VC)
            {
                int cnt = Math.Min(VC, H - j);
                switch (cell)
                {
                    case RnnCell.RnnTanh: St(VMath.Tanh(Ld(y, yr + j, cnt)), y, yr + j, cnt); break;
                    case RnnCell.RnnRelu: St(Vector256.Max(Ld(y, yr + j, cnt), Vector256<T>.Zero), y, yr + j, cnt); break;
                    case RnnCell.Lstm:
                    {
                        var i = VMath.Sigmoid(Ld(sv, sr + j, cnt));
                        var f = VMath.Sigmoid(Ld(sv, sr + H + j, cnt));
                        var g = VMath.Tanh(Ld(sv, sr + 2 * H + j, cnt));
                        var o = VMath.Sigmoid(Ld(sv, sr + 3 * H + j, cnt));
                        var cp = first ? (c0T is null ? Vector256<T>.Zero : Ld(c0, s0 + j, cnt)) : Ld(sv, sp + 4 * H + j, cnt);
                        var c = f * cp + i * g;
                        St(i, sv, sr + j, cnt); St(f, sv, sr + H + j, cnt); St(g, sv, sr + 2 * H + j, cnt); St(o, sv, sr + 3 * H + j, cnt);
                        St(c, sv, sr + 4 * H + j, cnt);
                        St(o * VMath.Tanh(c), y, yr + j, cnt);
                        break;
                    }
                    case RnnCell.Gru:
                    {
                        var rg = VMath.Sigmoid(Ld(sv, sr + j, cnt));
                        var z = VMath.Sigmoid(Ld(sv, sr + H + j, cnt));
                        var hn = Ld(sv, sr + 3 * H + j, cnt);
                        var nn = VMath.Tanh(Ld(sv, sr + 2 * H + j, cnt) + rg * hn);
                        var hprev = first ? (h0T is null ? Vector256<T>.Zero : Ld(h0, s0 + j, cnt)) : Ld(y, yp + j, cnt);
                        St(rg, sv, sr + j, cnt); St(z, sv, sr + H + j, cnt); St(nn, sv, sr + 2 * H + j, cnt);
                        St((one - z) * nn + z * hprev, y, yr + j, cnt);
                        break;
                    }
                }
            }
        }
    }

    public void RnnBackward(RnnCell cell, Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T>? saved, Tensor<T> wih, Tensor<T> whh, Tensor<T> work,
        Tensor<T>? dx, Tensor<T> dwih, Tensor<T> dwhh, Tensor<T> dbih, Tensor<T> dbhh, int dir, bool accumulateDx,
        Tensor<T>? h0 = null, Tensor<T>? c0 = null, int slot = 0, Tensor<T>? dsaved = null, Tensor<T>? dh0 = null, Tensor<T>? dc0 = null)
    {
        var r = RnnChecks.Backward(cell, dy, x, y, saved, wih, whh, work, dx, dwih, dwhh, dbih, dbhh, dir);
        RnnChecks.State(r, cell, h0, c0, slot);
        RnnChecks.StateGrads(r, cell, saved, dsaved, h0, c0, dh0, dc0);
        if (dir == 0) { dh0?.AsSpan().Clear(); dc0?.AsSpan().Clear(); }
        int N = r.N, Tn = r.T, D = r.D, H = r.H, GH = r.GH, ldy = r.LdY, ldW = r.LdW;
        bool reverse = dir == 1;
        int yOff = dir * H, wOff = dir * r.W * H;
        int ghOff = wOff + RnnLayout.HiddenGradOffset(cell) * H, dhOff = wOff + RnnLayout.DhOffset(cell) * H;
        if (N == 0 || Tn == 0)
        {
            if (dx is not null && !accumulateDx) dx.AsSpan().Clear();
            dwih.AsSpan().Clear(); dwhh.AsSpan().Clear(); dbih.AsSpan().Clear(); dbhh.AsSpan().Clear();
            return;
        }
        for (int s = Tn - 1; s >= 0; s--)
        {
            int t = reverse ? Tn - 1 - s : s, tn = reverse ? t - 1 : t + 1;
            bool last = s == Tn - 1;
            // dh_t = dy_t + (the gradient through the next step's hidden-side pre-activations) · W_hh
            var dys = dy.AsSpan(); var ws = work.AsSpan();
            for (int n = 0; n < N; n++) dys.Slice((n * Tn + t) * ldy + yOff, H).CopyTo(ws.Slice((n * Tn + t) * ldW + dhOff, H));
            if (!last) GemmRows(N, H, GH, work, tn * ldW + ghOff, Tn * ldW, 1, whh, 0, H, 1, work, t * ldW + dhOff, Tn * ldW, true, null, 0);
            var st = (cell, y, saved, work, r, t, s, yOff, dir, h0, c0, slot, dsaved);
            Chunks(N, Workers((long)N * H * 24, N), st, static (q, lo, hi) => BackwardGates(q.cell, q.y, q.saved, q.work, q.r, q.t, q.s, q.yOff, q.dir, q.h0, q.c0, q.slot, q.dsaved, lo, hi));
        }
        int t0 = reverse ? Tn - 1 : 0, sOff0 = dir * r.S * H;
        // the initial states' gradients: dh0 = G_h(first step)·W_hh (+ dh ⊙ z for the GRU's direct path), dc0 = dc ⊙ f
        if (dh0 is not null)
        {
            GemmRows(N, H, GH, work, t0 * ldW + ghOff, Tn * ldW, 1, whh, 0, H, 1, dh0, slot * N * H, H, false, null, 0);
            if (cell == RnnCell.Gru)
            {
                var d0 = dh0.AsSpan(); var ws = work.AsSpan(); var sv = saved!.AsSpan();
                for (int n = 0; n < N; n++)
                    for (int j = 0; j < H; j++)
                        d0[(slot * N + n) * H + j] += ws[(n * Tn + t0) * ldW + dhOff + j] * sv[(n * Tn + t0) * r.LdS + sOff0 + H + j];
            }
        }
        if (dc0 is not null)
        {
            var d0 = dc0.AsSpan(); var ws = work.AsSpan(); var sv = saved!.AsSpan();
            for (int n = 0; n < N; n++)
                for (int j = 0; j < H; j++)
                    d0[(slot * N + n) * H + j] = ws[(n * Tn + t0) * ldW + wOff + 5 * H + j] * sv[(n * Tn + t0) * r.LdS + sOff0 + H + j];
        }
        // dx (+)= G_i · W_ih over all N·T rows; dW_ih = G_iᵀ · x
        if (dx is not null) GemmRows(N * Tn, D, GH, work, wOff, ldW, 1, wih, 0, D, 1, dx, 0, D, accumulateDx, null, 0);
        GemmRows(GH, D, N * Tn, work, wOff, 1, ldW, x, 0, D, 1, dwih, 0, D, false, null, 0);
        // dW_hh = Σ_n G_h[n, steps with a previous step]ᵀ · h_prev[n]: one GEMM per sequence, split over the gate rows
        if (Tn == 1) dwhh.AsSpan().Clear();
        else
        {
            var st = (work, y, dwhh, r, ghOff, yOff, reverse);
            RowBlocks(GH, (long)N * (Tn - 1) * GH * H, st, static (q, lo, hi) =>
            {
                var rr = q.r;
                for (int n = 0; n < rr.N; n++)
                {
                    // forward: G_h at t = 1..T−1 with h at t−1; reverse: G_h at t = 0..T−2 with h at t+1
                    int g0 = n * rr.T + (q.reverse ? 0 : 1), hr0 = n * rr.T + (q.reverse ? 1 : 0);
                    Gemm(hi - lo, rr.H, rr.T - 1, q.work.AsSpan().Slice(g0 * rr.LdW + q.ghOff + lo), 1, rr.LdW,
                        q.y.AsSpan().Slice(hr0 * rr.LdY + q.yOff), rr.LdY, 1, q.dwhh.AsSpan().Slice(lo * rr.H), rr.H, n > 0,
                        BiasKind.None, default, default(Identity<T>));
                }
            });
        }
        // the first processed step's hidden side with the initial state: dW_hh += Σ_n G_h[n, t0]ᵀ · h0[slot, n]
        if (h0 is not null) GemmRows(GH, H, N, work, t0 * ldW + ghOff, 1, Tn * ldW, h0, slot * N * H, H, 1, dwhh, 0, H, Tn > 1, null, 0);
        ColumnSums(work.AsSpan(), wOff, ldW, N * Tn, GH, dbih.AsSpan());
        ColumnSums(work.AsSpan(), ghOff, ldW, N * Tn, GH, dbhh.AsSpan());
    }

    private static void ColumnSums(ReadOnlySpan<T> src, int off, int ld, int rows, int cols, Span<T> dst)
    {
        dst.Clear();
        for (int p = 0; p < rows; p++) AddInto(src.Slice(off + p * ld, cols), dst);
    }

    /// <summary>The pre-activation gradients of step t (processing index s) for batch rows lo..hi, from dh in the work row.</summary>
    private static void BackwardGates(RnnCell cell, Tensor<T> yT, Tensor<T>? savedT, Tensor<T> workT, RnnDims r, int t, int s, int yOff, int dir,
        Tensor<T>? h0T, Tensor<T>? c0T, int slot, Tensor<T>? dsavedT, int lo, int hi)
    {
        var h0 = h0T is null ? default : h0T.AsSpan(); var c0 = c0T is null ? default : c0T.AsSpan();
        var dsv = dsavedT is null ? default : dsavedT.AsSpan();
        int H = r.H, Tn = r.T;
        bool reverse = dir == 1, hasNext = s < Tn - 1, hasPrev = s > 0;
        int tn = reverse ? t - 1 : t + 1, tp = reverse ? t + 1 : t - 1;
        int wOff = dir * r.W * H, sOff = dir * r.S * H;
        var y = yT.AsSpan(); var w = workT.AsSpan();
        var sv = savedT is null ? default : savedT.AsSpan();
        var one = Vector256<T>.One;
        for (int n = lo; n < hi; n++)
        {
            int yr = (n * Tn + t) * r.LdY + yOff, yp = (n * Tn + tp) * r.LdY + yOff;
            int wr = (n * Tn + t) * r.LdW + wOff, wn = (n * Tn + tn) * r.LdW + wOff;
            int sr = (n * Tn + t) * r.LdS + sOff, sn = (n * Tn + tn) * r.LdS + sOff, sp = (n * Tn + tp) * r.LdS + sOff, s0 = (slot * r.N + n) * H;
            for (int j = 0; j < H; j += VC)
            {
                int cnt = Math.Min(VC, H - j);
                switch (cell)
                {
                    case RnnCell.RnnTanh:
                    {
                        var h = Ld(y, yr + j, cnt);
                        St(Ld(w, wr + H + j, cnt) * (one - h * h), w, wr + j, cnt);
                        break;
                    }
                    case RnnCell.RnnRelu:
                    {
                        var h = Ld(y, yr + j, cnt);
                        St(Vector256.ConditionalSelect(Vector256.GreaterThan(h, Vector256<T>.Zero), Ld(w, wr + H + j, cnt), Vector256<T>.Zero), w, wr + j, cnt);
                        break;
                    }
                    case RnnCell.Lstm:
                    {
                        var dh = Ld(w, wr + 4 * H + j, cnt);
                        var i = Ld(sv, sr + j, cnt); var f = Ld(sv, sr + H + j, cnt); var g = Ld(sv, sr + 2 * H + j, cnt); var o = Ld(sv, sr + 3 * H + j, cnt);
                        var tc = VMath.Tanh(Ld(sv, sr + 4 * H + j, cnt));
                        var dc = dh * o * (one - tc * tc);
                        if (hasNext) dc += Ld(w, wn + 5 * H + j, cnt) * Ld(sv, sn + H + j, cnt);
                        if (dsavedT is not null) dc += Ld(dsv, sr + 4 * H + j, cnt); // a gradient flowing into c_t itself (c_n)
                        var cp = hasPrev ? Ld(sv, sp + 4 * H + j, cnt) : c0T is null ? Vector256<T>.Zero : Ld(c0, s0 + j, cnt);
                        St(dc * g * i * (one - i), w, wr + j, cnt);
                        St(dc * cp * f * (one - f), w, wr + H + j, cnt);
                        St(dc * i * (one - g * g), w, wr + 2 * H + j, cnt);
                        St(dh * tc * o * (one - o), w, wr + 3 * H + j, cnt);
                        St(dc, w, wr + 5 * H + j, cnt);
                        break;
                    }
                    case RnnCell.Gru:
                    {
                        var dh = Ld(w, wr + 6 * H + j, cnt);
                        // the direct path h_t = … + z_{t+1}·h_t of the next step
                        if (hasNext) { dh += Ld(w, wn + 6 * H + j, cnt) * Ld(sv, sn + H + j, cnt); St(dh, w, wr + 6 * H + j, cnt); }
                        var rg = Ld(sv, sr + j, cnt); var z = Ld(sv, sr + H + j, cnt); var nn = Ld(sv, sr + 2 * H + j, cnt); var hn = Ld(sv, sr + 3 * H + j, cnt);
                        var hprev = hasPrev ? Ld(y, yp + j, cnt) : h0T is null ? Vector256<T>.Zero : Ld(h0, s0 + j, cnt);
                        var dnp = dh * (one - z) * (one - nn * nn);
                        var drp = dnp * hn * rg * (one - rg);
                        var dzp = dh * (hprev - nn) * z * (one - z);
                        St(drp, w, wr + j, cnt); St(dzp, w, wr + H + j, cnt); St(dnp, w, wr + 2 * H + j, cnt);
                        St(drp, w, wr + 3 * H + j, cnt); St(dzp, w, wr + 4 * H + j, cnt); St(dnp * rg, w, wr + 5 * H + j, cnt);
                        break;
                    }
                }
            }
        }
    }

    public void EmbeddingForward(Tensor<int> ids, Tensor<T> w, Tensor<T> y)
    {
        var (count, vocab, dim) = RnnChecks.Embedding(ids, w, y, "y");
        var id = ids.AsSpan(); var ws = w.AsSpan(); var ys = y.AsSpan();
        for (int i = 0; i < count; i++)
        {
            int v = id[i];
            if ((uint)v >= (uint)vocab) throw RnnChecks.BadId(v, i, vocab);
            ws.Slice(v * dim, dim).CopyTo(ys.Slice(i * dim, dim));
        }
    }

    public void EmbeddingBackward(Tensor<T> dy, Tensor<int> ids, Tensor<T> dw)
    {
        var (count, vocab, dim) = RnnChecks.Embedding(ids, dw, dy, "dy");
        var id = ids.AsSpan(); var dws = dw.AsSpan(); var dys = dy.AsSpan();
        dws.Clear();
        for (int i = 0; i < count; i++)
        {
            int v = id[i];
            if ((uint)v >= (uint)vocab) throw RnnChecks.BadId(v, i, vocab);
            AddInto(dys.Slice(i * dim, dim), dws.Slice(v * dim, dim));
        }
    }
}
