using NetDsl.Runtime;

namespace NetDsl.Testing;

// Naive recurrent kernels: each sequence run step by step with plain dot products (PyTorch's equations written out), and
// the backward pass as textbook back-propagation through time, per sequence, reading the forward states from y and saved
// in their documented layout (RnnLayout) and ignoring `work`.
public sealed partial class ReferenceKernels<T>
{
    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>One sequence n of one direction: per processing step s the hidden state, cell and gate values.</summary>
    private sealed record RnnTrace(int[] Order, double[][] H, double[][] C, double[][] Gates);

    private static RnnTrace Trace(RnnCell cell, double[] x, double[] wih, double[] whh, double[] bih, double[] bhh, int n, int T, int D, int H, int dir, double[] h0, double[] c0)
    {
        int G = RnnLayout.Gates(cell);
        var order = Enumerable.Range(0, T).Select(s => dir == 1 ? T - 1 - s : s).ToArray();
        var hs = new double[T][]; var cs = new double[T][]; var gs = new double[T][];
        var h = h0; var c = c0;
        for (int s = 0; s < T; s++)
        {
            int t = order[s];
            var gi = new double[G * H]; var gh = new double[G * H];
            for (int k = 0; k < G * H; k++)
            {
                gi[k] = bih[k]; gh[k] = bhh[k];
                for (int i = 0; i < D; i++) gi[k] += wih[k * D + i] * x[(n * T + t) * D + i];
                for (int j = 0; j < H; j++) gh[k] += whh[k * H + j] * h[j];
            }
            var hn = new double[H]; var cn = new double[H]; var gate = new double[4 * H];
            for (int j = 0; j < H; j++)
            {
                switch (cell)
                {
                    case RnnCell.RnnTanh: hn[j] = Math.Tanh(gi[j] + gh[j]); break;
                    case RnnCell.RnnRelu: hn[j] = Math.Max(0, gi[j] + gh[j]); break;
                    case RnnCell.Lstm:
                    {
                        double ig = Sig(gi[j] + gh[j]), fg = Sig(gi[H + j] + gh[H + j]), gg = Math.Tanh(gi[2 * H + j] + gh[2 * H + j]), og = Sig(gi[3 * H + j] + gh[3 * H + j]);
                        cn[j] = fg * c[j] + ig * gg;
                        hn[j] = og * Math.Tanh(cn[j]);
                        gate[j] = ig; gate[H + j] = fg; gate[2 * H + j] = gg; gate[3 * H + j] = og;
                        break;
                    }
                    case RnnCell.Gru:
                    {
                        double r = Sig(gi[j] + gh[j]), z = Sig(gi[H + j] + gh[H + j]), nn = Math.Tanh(gi[2 * H + j] + r * gh[2 * H + j]);
                        hn[j] = (1 - z) * nn + z * h[j];
                        gate[j] = r; gate[H + j] = z; gate[2 * H + j] = nn; gate[3 * H + j] = gh[2 * H + j];
                        break;
                    }
                }
            }
            hs[s] = hn; cs[s] = cn; gs[s] = gate;
            h = hn; c = cn;
        }
        return new RnnTrace(order, hs, cs, gs);
    }

    private static double[] Host(Tensor<T>? t) => t is null ? Array.Empty<double>() : t.CopyToHost().Select(double.CreateChecked).ToArray();
    private static void Write(Tensor<T> t, double[] v) => t.CopyFromHost(v.Select(T.CreateChecked).ToArray());

    /// <summary>Block <paramref name="slot"/> row n of an initial state [slots, N, H] (zeros when absent).</summary>
    private static double[] Init(double[] st, int slot, int n, int N, int H) =>
        st.Length == 0 ? new double[H] : Enumerable.Range(0, H).Select(j => st[(slot * N + n) * H + j]).ToArray();

    public void RnnForward(RnnCell cell, Tensor<T> x, Tensor<T> wih, Tensor<T> whh, Tensor<T> bih, Tensor<T> bhh, Tensor<T> y, Tensor<T>? saved, int dir,
        Tensor<T>? h0 = null, Tensor<T>? c0 = null, int slot = 0)
    {
        int N = x.Shape[0], T = x.Shape[1], D = x.Shape[2], H = whh.Shape[1], G = RnnLayout.Gates(cell), S = RnnLayout.Saved(cell);
        whh.CheckShape(nameof(whh), [G * H, H]); wih.CheckShape(nameof(wih), [G * H, D]);
        int dirs = y.Shape[2] / H;
        y.CheckShape(nameof(y), [N, T, dirs * H]);
        if (S > 0) saved!.CheckShape(nameof(saved), [N, T, dirs * S * H]);
        double[] X = Host(x), Wih = Host(wih), Whh = Host(whh), Bih = Host(bih), Bhh = Host(bhh), Y = Host(y), Sv = Host(saved), H0 = Host(h0), C0 = Host(c0);
        for (int n = 0; n < N; n++)
        {
            var tr = Trace(cell, X, Wih, Whh, Bih, Bhh, n, T, D, H, dir, Init(H0, slot, n, N, H), Init(C0, slot, n, N, H));
            for (int s = 0; s < T; s++)
            {
                int t = tr.Order[s];
                for (int j = 0; j < H; j++) Y[(n * T + t) * dirs * H + dir * H + j] = tr.H[s][j];
                int sr = (n * T + t) * dirs * S * H + dir * S * H;
                if (cell == RnnCell.Lstm)
                    for (int j = 0; j < H; j++) { for (int g = 0; g < 4; g++) Sv[sr + g * H + j] = tr.Gates[s][g * H + j]; Sv[sr + 4 * H + j] = tr.C[s][j]; }
                if (cell == RnnCell.Gru)
                    for (int j = 0; j < 4 * H; j++) Sv[sr + j] = tr.Gates[s][j];
            }
        }
        Write(y, Y);
        if (S > 0) Write(saved!, Sv);
    }

    public void RnnBackward(RnnCell cell, Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T>? saved, Tensor<T> wih, Tensor<T> whh, Tensor<T> work,
        Tensor<T>? dx, Tensor<T> dwih, Tensor<T> dwhh, Tensor<T> dbih, Tensor<T> dbhh, int dir, bool accumulateDx,
        Tensor<T>? h0 = null, Tensor<T>? c0 = null, int slot = 0, Tensor<T>? dsaved = null, Tensor<T>? dh0 = null, Tensor<T>? dc0 = null)
    {
        int N = x.Shape[0], T = x.Shape[1], D = x.Shape[2], H = whh.Shape[1], G = RnnLayout.Gates(cell), GH = G * H;
        int dirs = y.Shape[2] / H, S = RnnLayout.Saved(cell);
        dy.CheckShape(nameof(dy), [N, T, dirs * H]);
        double[] X = Host(x), Wih = Host(wih), Whh = Host(whh), DY = Host(dy), H0 = Host(h0), C0 = Host(c0), DS = Host(dsaved);
        var dH0 = dh0 is null ? Array.Empty<double>() : dir == 0 ? new double[dh0.Length] : Host(dh0);
        var dC0 = dc0 is null ? Array.Empty<double>() : dir == 0 ? new double[dc0.Length] : Host(dc0);
        var dX = dx is not null && accumulateDx ? Host(dx) : new double[N * T * D];
        var dWih = new double[GH * D]; var dWhh = new double[GH * H]; var dBih = new double[GH]; var dBhh = new double[GH];
        for (int n = 0; n < N; n++)
        {
            var tr = FromForward(cell, Host(y), Host(saved), n, T, H, dir, dirs);
            var dhNext = new double[H]; var dcNext = new double[H];
            for (int s = T - 1; s >= 0; s--)
            {
                int t = tr.Order[s];
                var hp = s > 0 ? tr.H[s - 1] : Init(H0, slot, n, N, H);
                var cp = s > 0 ? tr.C[s - 1] : Init(C0, slot, n, N, H);
                var dgi = new double[GH]; var dgh = new double[GH];
                var dh = new double[H];
                for (int j = 0; j < H; j++) dh[j] = DY[(n * T + t) * dirs * H + dir * H + j] + dhNext[j];
                var gate = tr.Gates[s];
                for (int j = 0; j < H; j++)
                {
                    double h = tr.H[s][j];
                    switch (cell)
                    {
                        case RnnCell.RnnTanh: dgi[j] = dgh[j] = dh[j] * (1 - h * h); break;
                        case RnnCell.RnnRelu: dgi[j] = dgh[j] = h > 0 ? dh[j] : 0; break;
                        case RnnCell.Lstm:
                        {
                            double ig = gate[j], fg = gate[H + j], gg = gate[2 * H + j], og = gate[3 * H + j], tc = Math.Tanh(tr.C[s][j]);
                            double dc = dh[j] * og * (1 - tc * tc) + dcNext[j];
                            if (DS.Length > 0) dc += DS[(n * T + t) * dirs * S * H + dir * S * H + 4 * H + j];
                            dgi[j] = dc * gg * ig * (1 - ig);
                            dgi[H + j] = dc * cp[j] * fg * (1 - fg);
                            dgi[2 * H + j] = dc * ig * (1 - gg * gg);
                            dgi[3 * H + j] = dh[j] * tc * og * (1 - og);
                            for (int g = 0; g < 4; g++) dgh[g * H + j] = dgi[g * H + j];
                            dcNext[j] = dc * fg;
                            break;
                        }
                        case RnnCell.Gru:
                        {
                            double r = gate[j], z = gate[H + j], nn = gate[2 * H + j], hn = gate[3 * H + j];
                            double dn = dh[j] * (1 - z), dz = dh[j] * (hp[j] - nn);
                            double dnp = dn * (1 - nn * nn), dr = dnp * hn;
                            dgi[j] = dgh[j] = dr * r * (1 - r);
                            dgi[H + j] = dgh[H + j] = dz * z * (1 - z);
                            dgi[2 * H + j] = dnp; dgh[2 * H + j] = dnp * r;
                            break;
                        }
                    }
                }
                for (int k = 0; k < GH; k++)
                {
                    dBih[k] += dgi[k]; dBhh[k] += dgh[k];
                    for (int i = 0; i < D; i++) { dWih[k * D + i] += dgi[k] * X[(n * T + t) * D + i]; dX[(n * T + t) * D + i] += Wih[k * D + i] * dgi[k]; }
                    for (int j = 0; j < H; j++) dWhh[k * H + j] += dgh[k] * hp[j];
                }
                for (int j = 0; j < H; j++)
                {
                    double v = cell == RnnCell.Gru ? dh[j] * gate[H + j] : 0;
                    for (int k = 0; k < GH; k++) v += Whh[k * H + j] * dgh[k];
                    dhNext[j] = v;
                }
            }
            // after the first processed step, the carried gradients are those of the initial states
            for (int j = 0; j < H; j++)
            {
                if (dH0.Length > 0) dH0[(slot * N + n) * H + j] = dhNext[j];
                if (dC0.Length > 0) dC0[(slot * N + n) * H + j] = dcNext[j];
            }
        }
        if (dh0 is not null) Write(dh0, dH0);
        if (dc0 is not null) Write(dc0, dC0);
        if (dx is not null) Write(dx, dX);
        Write(dwih, dWih); Write(dwhh, dWhh); Write(dbih, dBih); Write(dbhh, dBhh);
    }

    /// <summary>The trace of sequence n read from the forward pass's y and saved (documented layout: LSTM i, f, g, o, c; GRU r, z, n, hn).</summary>
    private static RnnTrace FromForward(RnnCell cell, double[] Y, double[] Sv, int n, int T, int H, int dir, int dirs)
    {
        int S = RnnLayout.Saved(cell);
        var order = Enumerable.Range(0, T).Select(s => dir == 1 ? T - 1 - s : s).ToArray();
        var hs = new double[T][]; var cs = new double[T][]; var gs = new double[T][];
        for (int s = 0; s < T; s++)
        {
            int t = order[s], yr = (n * T + t) * dirs * H + dir * H, sr = (n * T + t) * dirs * S * H + dir * S * H;
            hs[s] = Enumerable.Range(0, H).Select(j => Y[yr + j]).ToArray();
            gs[s] = Enumerable.Range(0, 4 * H).Select(j => S > 0 ? Sv[sr + j] : 0).ToArray();
            cs[s] = Enumerable.Range(0, H).Select(j => cell == RnnCell.Lstm ? Sv[sr + 4 * H + j] : 0).ToArray();
        }
        return new RnnTrace(order, hs, cs, gs);
    }

    public void EmbeddingForward(Tensor<int> ids, Tensor<T> w, Tensor<T> y)
    {
        int vocab = w.Shape[0], dim = w.Shape[1];
        y.CheckShape(nameof(y), ids.Shape.Append(dim).ToArray());
        var id = ids.CopyToHost(); var W = Host(w); var Y = new double[y.Length];
        for (int i = 0; i < id.Length; i++)
        {
            if (id[i] < 0 || id[i] >= vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"embedding id {id[i]} at index {i} is out of range for a vocab of {vocab}");
            for (int j = 0; j < dim; j++) Y[i * dim + j] = W[id[i] * dim + j];
        }
        Write(y, Y);
    }

    public void EmbeddingBackward(Tensor<T> dy, Tensor<int> ids, Tensor<T> dw)
    {
        int vocab = dw.Shape[0], dim = dw.Shape[1];
        dy.CheckShape(nameof(dy), ids.Shape.Append(dim).ToArray());
        var id = ids.CopyToHost(); var DY = Host(dy); var DW = new double[dw.Length];
        for (int i = 0; i < id.Length; i++)
        {
            if (id[i] < 0 || id[i] >= vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"embedding id {id[i]} at index {i} is out of range for a vocab of {vocab}");
            for (int j = 0; j < dim; j++) DW[id[i] * dim + j] += DY[i * dim + j];
        }
        Write(dw, DW);
    }
}
