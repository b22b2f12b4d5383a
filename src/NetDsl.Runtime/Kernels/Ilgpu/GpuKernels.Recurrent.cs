using ILGPU;

namespace NetDsl.Runtime.Ilgpu;

/// <summary>The sizes of one recurrent step launch (see <see cref="RnnLayout"/> for S and W; t, its previous and next steps in processing order).</summary>
internal struct GpuRnnStep
{
    public int Cell, N, T, D, H, Dirs, S, W, Dir;
    public int Step, Prev, Next, HasPrev, HasNext;
    /// <summary>Initial states given (h0; c0 for the LSTM), their block [N, H] (slot = layer·dirs + dir) and whether a gradient flows into the saved c_t (dsaved).</summary>
    public int HasH0, HasC0, Slot, HasDs;
    public readonly int LdY => Dirs * H;
    public readonly int LdS => Dirs * S * H;
    public readonly int LdW => Dirs * W * H;
}

internal static partial class GpuKernels
{
    private static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));

    /// <summary>One step of one direction, one thread per (n, unit j): all gates of unit j from x, h_prev and the weights (RNN 0/1, LSTM 2, GRU 3).</summary>
    public static void RnnStepForward(Index1D idx, ArrayView<float> x, ArrayView<float> wih, ArrayView<float> whh, ArrayView<float> bih, ArrayView<float> bhh,
        ArrayView<float> y, ArrayView<float> saved, ArrayView<float> h0v, ArrayView<float> c0v, GpuRnnStep p)
    {
        int n = idx / p.H, j = idx % p.H, H = p.H, D = p.D, t = p.Step;
        int xr = (n * p.T + t) * D, yr = (n * p.T + t) * p.LdY + p.Dir * H, yp = (n * p.T + p.Prev) * p.LdY + p.Dir * H;
        int sr = (n * p.T + t) * p.LdS + p.Dir * p.S * H, sp = (n * p.T + p.Prev) * p.LdS + p.Dir * p.S * H;
        int gates = p.Cell == 2 ? 4 : p.Cell == 3 ? 3 : 1;
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, h0 = 0f, h1 = 0f, h2 = 0f, h3 = 0f;
        for (int g = 0; g < gates; g++)
        {
            int row = g * H + j;
            float si = bih[row], sh = bhh[row];
            for (int i = 0; i < D; i++) si += wih[row * D + i] * x[xr + i];
            if (p.HasPrev != 0) for (int k = 0; k < H; k++) sh += whh[row * H + k] * y[yp + k];
            else if (p.HasH0 != 0) for (int k = 0; k < H; k++) sh += whh[row * H + k] * h0v[(p.Slot * p.N + n) * H + k];
            if (g == 0) { a0 = si; h0 = sh; } else if (g == 1) { a1 = si; h1 = sh; } else if (g == 2) { a2 = si; h2 = sh; } else { a3 = si; h3 = sh; }
        }
        if (p.Cell == 0) y[yr + j] = MathF.Tanh(a0 + h0);
        else if (p.Cell == 1) y[yr + j] = MathF.Max(a0 + h0, 0f);
        else if (p.Cell == 2)
        {
            float ig = Sigmoid(a0 + h0), fg = Sigmoid(a1 + h1), gg = MathF.Tanh(a2 + h2), og = Sigmoid(a3 + h3);
            float cp = p.HasPrev != 0 ? saved[sp + 4 * H + j] : p.HasC0 != 0 ? c0v[(p.Slot * p.N + n) * H + j] : 0f;
            float c = fg * cp + ig * gg;
            saved[sr + j] = ig; saved[sr + H + j] = fg; saved[sr + 2 * H + j] = gg; saved[sr + 3 * H + j] = og; saved[sr + 4 * H + j] = c;
            y[yr + j] = og * MathF.Tanh(c);
        }
        else
        {
            float r = Sigmoid(a0 + h0), z = Sigmoid(a1 + h1), nn = MathF.Tanh(a2 + r * h2);
            float hprev = p.HasPrev != 0 ? y[yp + j] : p.HasH0 != 0 ? h0v[(p.Slot * p.N + n) * H + j] : 0f;
            saved[sr + j] = r; saved[sr + H + j] = z; saved[sr + 2 * H + j] = nn; saved[sr + 3 * H + j] = h2;
            y[yr + j] = (1f - z) * nn + z * hprev;
        }
    }

    /// <summary>One backward step, one thread per (n, unit j): dh from dy and the next step's hidden-side gradients, then this step's pre-activation gradients into work.</summary>
    public static void RnnStepBackward(Index1D idx, ArrayView<float> dy, ArrayView<float> whh, ArrayView<float> y, ArrayView<float> saved, ArrayView<float> work,
        ArrayView<float> h0v, ArrayView<float> c0v, ArrayView<float> dsaved, GpuRnnStep p)
    {
        int s0 = (p.Slot * p.N + idx / p.H) * p.H + idx % p.H;
        int n = idx / p.H, j = idx % p.H, H = p.H, t = p.Step;
        int gates = p.Cell == 2 ? 4 : p.Cell == 3 ? 3 : 1;
        int wOff = p.Dir * p.W * H, ghOff = wOff + (p.Cell == 3 ? 3 * H : 0), dhCol = p.Cell == 2 ? 4 * H : p.Cell == 3 ? 6 * H : H;
        int yr = (n * p.T + t) * p.LdY + p.Dir * H, yp = (n * p.T + p.Prev) * p.LdY + p.Dir * H;
        int wr = (n * p.T + t) * p.LdW + wOff, wn = (n * p.T + p.Next) * p.LdW + wOff, ghn = (n * p.T + p.Next) * p.LdW + ghOff;
        int sr = (n * p.T + t) * p.LdS + p.Dir * p.S * H, sn = (n * p.T + p.Next) * p.LdS + p.Dir * p.S * H, sp = (n * p.T + p.Prev) * p.LdS + p.Dir * p.S * H;
        float dh = dy[yr + j];
        if (p.HasNext != 0)
        {
            for (int k = 0; k < gates * H; k++) dh += work[ghn + k] * whh[k * H + j];
            if (p.Cell == 3) dh += work[wn + 6 * H + j] * saved[sn + H + j];
        }
        work[wr + dhCol + j] = dh;
        if (p.Cell == 0) { float h = y[yr + j]; work[wr + j] = dh * (1f - h * h); }
        else if (p.Cell == 1) work[wr + j] = y[yr + j] > 0f ? dh : 0f;
        else if (p.Cell == 2)
        {
            float ig = saved[sr + j], fg = saved[sr + H + j], gg = saved[sr + 2 * H + j], og = saved[sr + 3 * H + j];
            float tc = MathF.Tanh(saved[sr + 4 * H + j]);
            float dc = dh * og * (1f - tc * tc);
            if (p.HasNext != 0) dc += work[wn + 5 * H + j] * saved[sn + H + j];
            if (p.HasDs != 0) dc += dsaved[sr + 4 * H + j];
            float cp = p.HasPrev != 0 ? saved[sp + 4 * H + j] : p.HasC0 != 0 ? c0v[s0] : 0f;
            work[wr + j] = dc * gg * ig * (1f - ig);
            work[wr + H + j] = dc * cp * fg * (1f - fg);
            work[wr + 2 * H + j] = dc * ig * (1f - gg * gg);
            work[wr + 3 * H + j] = dh * tc * og * (1f - og);
            work[wr + 5 * H + j] = dc;
        }
        else
        {
            float r = saved[sr + j], z = saved[sr + H + j], nn = saved[sr + 2 * H + j], hn = saved[sr + 3 * H + j];
            float hprev = p.HasPrev != 0 ? y[yp + j] : p.HasH0 != 0 ? h0v[s0] : 0f;
            float dnp = dh * (1f - z) * (1f - nn * nn);
            float drp = dnp * hn * r * (1f - r);
            float dzp = dh * (hprev - nn) * z * (1f - z);
            work[wr + j] = drp; work[wr + H + j] = dzp; work[wr + 2 * H + j] = dnp;
            work[wr + 3 * H + j] = drp; work[wr + 4 * H + j] = dzp; work[wr + 5 * H + j] = dnp * r;
        }
    }

    /// <summary>dx[p, i] (+)= Σ_k G_i[p, k]·W_ih[k, i], one thread per element of dx.</summary>
    public static void RnnBackwardData(Index1D idx, ArrayView<float> work, ArrayView<float> wih, ArrayView<float> dx, GpuRnnStep p, int accumulate)
    {
        int row = idx / p.D, i = idx % p.D, gh = (p.Cell == 2 ? 4 : p.Cell == 3 ? 3 : 1) * p.H, wOff = p.Dir * p.W * p.H;
        float s = accumulate != 0 ? dx[idx] : 0f;
        for (int k = 0; k < gh; k++) s += work[row * p.LdW + wOff + k] * wih[k * p.D + i];
        dx[idx] = s;
    }

    /// <summary>dW_ih[k, i] = Σ_p G_i[p, k]·x[p, i]; dW_hh[k, j] = Σ over steps with a previous step of G_h·h_prev (one thread per weight).</summary>
    public static void RnnBackwardWeights(Index1D idx, ArrayView<float> work, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dwih, ArrayView<float> dwhh,
        ArrayView<float> h0v, GpuRnnStep p)
    {
        int gh = (p.Cell == 2 ? 4 : p.Cell == 3 ? 3 : 1) * p.H, wOff = p.Dir * p.W * p.H, ghOff = wOff + (p.Cell == 3 ? 3 * p.H : 0);
        int nih = gh * p.D;
        if (idx < nih)
        {
            int k = idx / p.D, i = idx % p.D;
            float s = 0f;
            for (int r = 0; r < p.N * p.T; r++) s += work[r * p.LdW + wOff + k] * x[r * p.D + i];
            dwih[idx] = s;
        }
        else
        {
            int e = idx - nih, k = e / p.H, j = e % p.H;
            float s = 0f;
            for (int n = 0; n < p.N; n++)
                for (int t = 0; t < p.T; t++)
                {
                    int tp = p.Dir == 1 ? t + 1 : t - 1;
                    if (tp < 0 || tp >= p.T)
                    {
                        if (p.HasH0 != 0) s += work[(n * p.T + t) * p.LdW + ghOff + k] * h0v[(p.Slot * p.N + n) * p.H + j];
                        continue;
                    }
                    s += work[(n * p.T + t) * p.LdW + ghOff + k] * y[(n * p.T + tp) * p.LdY + p.Dir * p.H + j];
                }
            dwhh[e] = s;
        }
    }

    /// <summary>
    /// The initial states' gradients at the first processed step t0 (p.Step), one thread per (n, unit j) of block p.Slot:
    /// dh0 = Σ_k G_h[k]·W_hh[k, j] (+ dh ⊙ z for the GRU), dc0 = dc ⊙ f (LSTM; flags: 1 dh0, 2 dc0).
    /// </summary>
    public static void RnnBackwardState(Index1D idx, ArrayView<float> work, ArrayView<float> whh, ArrayView<float> saved, ArrayView<float> dh0, ArrayView<float> dc0, GpuRnnStep p, int flags)
    {
        int n = idx / p.H, j = idx % p.H, H = p.H, gh = (p.Cell == 2 ? 4 : p.Cell == 3 ? 3 : 1) * H;
        int wOff = p.Dir * p.W * H, ghOff = wOff + (p.Cell == 3 ? 3 * H : 0), row = n * p.T + p.Step;
        int sr = row * p.LdS + p.Dir * p.S * H, o = (p.Slot * p.N + n) * H + j;
        if ((flags & 1) != 0)
        {
            float s = 0f;
            for (int k = 0; k < gh; k++) s += work[row * p.LdW + ghOff + k] * whh[k * H + j];
            if (p.Cell == 3) s += work[row * p.LdW + wOff + 6 * H + j] * saved[sr + H + j];
            dh0[o] = s;
        }
        if ((flags & 2) != 0) dc0[o] = work[row * p.LdW + wOff + 5 * H + j] * saved[sr + H + j];
    }

    /// <summary>db_ih[k] = Σ_p G_i[p, k], db_hh[k] = Σ_p G_h[p, k] (one thread per bias element of both).</summary>
    public static void RnnBackwardBias(Index1D idx, ArrayView<float> work, ArrayView<float> dbih, ArrayView<float> dbhh, GpuRnnStep p)
    {
        int gh = (p.Cell == 2 ? 4 : p.Cell == 3 ? 3 : 1) * p.H, wOff = p.Dir * p.W * p.H, ghOff = wOff + (p.Cell == 3 ? 3 * p.H : 0);
        int k = idx % gh, off = idx < gh ? wOff : ghOff;
        float s = 0f;
        for (int r = 0; r < p.N * p.T; r++) s += work[r * p.LdW + off + k];
        if (idx < gh) dbih[k] = s; else dbhh[k] = s;
    }

    /// <summary>y[i] = w[ids[i / dim]·dim + i % dim] (ids checked on the host).</summary>
    public static void EmbeddingForward(Index1D i, ArrayView<int> ids, ArrayView<float> w, ArrayView<float> y, int dim) =>
        y[i] = w[ids[i / dim] * dim + i % dim];

    /// <summary>dw[v, j] = Σ over positions holding id v of dy[·, j]: a gather, one thread per weight element.</summary>
    public static void EmbeddingBackward(Index1D e, ArrayView<float> dy, ArrayView<int> ids, ArrayView<float> dw, int dim, int count)
    {
        int v = e / dim, j = e % dim;
        float s = 0f;
        for (int i = 0; i < count; i++) if (ids[i] == v) s += dy[i * dim + j];
        dw[e] = s;
    }
}
