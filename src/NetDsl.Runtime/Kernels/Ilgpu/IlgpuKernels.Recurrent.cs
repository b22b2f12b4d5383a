using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Runtime.Ilgpu;

// Recurrent layers and embeddings on ILGPU: simple kernels (GpuKernels.Recurrent.cs), one launch per time step with one
// thread per (n, unit); the weight gradients are one thread per weight after the step loop.
public sealed partial class IlgpuKernels
{
    private static GpuRnnStep Step(RnnCell cell, RnnDims r, int dir, int s, Tensor<float>? h0 = null, Tensor<float>? c0 = null, int slot = 0, Tensor<float>? dsaved = null)
    {
        var p = Step(cell, r, dir, s);
        p.HasH0 = h0 is null ? 0 : 1; p.HasC0 = c0 is null ? 0 : 1; p.Slot = slot; p.HasDs = dsaved is null ? 0 : 1;
        return p;
    }

    private static GpuRnnStep Step(RnnCell cell, RnnDims r, int dir, int s)
    {
        bool reverse = dir == 1;
        int t = reverse ? r.T - 1 - s : s;
        return new GpuRnnStep
        {
            Cell = (int)cell, N = r.N, T = r.T, D = r.D, H = r.H, Dirs = r.Dirs, S = r.S, W = r.W, Dir = dir,
            Step = t, Prev = reverse ? t + 1 : t - 1, Next = reverse ? t - 1 : t + 1, HasPrev = s > 0 ? 1 : 0, HasNext = s < r.T - 1 ? 1 : 0,
        };
    }

    public void RnnForward(RnnCell cell, Tensor<float> x, Tensor<float> wih, Tensor<float> whh, Tensor<float> bih, Tensor<float> bhh, Tensor<float> y, Tensor<float>? saved, int dir,
        Tensor<float>? h0 = null, Tensor<float>? c0 = null, int slot = 0)
    {
        var r = RnnChecks.Forward(cell, x, wih, whh, bih, bhh, y, saved, dir);
        RnnChecks.State(r, cell, h0, c0, slot);
        if (r.N == 0 || r.T == 0) return;
        var sv = saved is null ? V(y, "y") : V(saved, "saved");
        var h0v = h0 is null ? V(y, "y") : V(h0, "h0"); var c0v = c0 is null ? V(y, "y") : V(c0, "c0");
        for (int s = 0; s < r.T; s++)
            Launch(GpuKernels.RnnStepForward, r.N * r.H, V(x, "x"), V(wih, "wih"), V(whh, "whh"), V(bih, "bih"), V(bhh, "bhh"), V(y, "y"), sv, h0v, c0v, Step(cell, r, dir, s, h0, c0, slot));
    }

    public void RnnBackward(RnnCell cell, Tensor<float> dy, Tensor<float> x, Tensor<float> y, Tensor<float>? saved, Tensor<float> wih, Tensor<float> whh, Tensor<float> work,
        Tensor<float>? dx, Tensor<float> dwih, Tensor<float> dwhh, Tensor<float> dbih, Tensor<float> dbhh, int dir, bool accumulateDx,
        Tensor<float>? h0 = null, Tensor<float>? c0 = null, int slot = 0, Tensor<float>? dsaved = null, Tensor<float>? dh0 = null, Tensor<float>? dc0 = null)
    {
        var r = RnnChecks.Backward(cell, dy, x, y, saved, wih, whh, work, dx, dwih, dwhh, dbih, dbhh, dir);
        RnnChecks.State(r, cell, h0, c0, slot);
        RnnChecks.StateGrads(r, cell, saved, dsaved, h0, c0, dh0, dc0);
        if (dir == 0) { if (dh0 is not null) Fill(dh0, 0f); if (dc0 is not null) Fill(dc0, 0f); }
        var sv = saved is null ? V(y, "y") : V(saved, "saved");
        var h0v = h0 is null ? V(y, "y") : V(h0, "h0"); var c0v = c0 is null ? V(y, "y") : V(c0, "c0"); var dsv = dsaved is null ? V(y, "y") : V(dsaved, "dsaved");
        if (r.N > 0)
            for (int s = r.T - 1; s >= 0; s--)
                Launch(GpuKernels.RnnStepBackward, r.N * r.H, V(dy, "dy"), V(whh, "whh"), V(y, "y"), sv, V(work, "work"), h0v, c0v, dsv, Step(cell, r, dir, s, h0, c0, slot, dsaved));
        var p = Step(cell, r, dir, 0, h0, c0, slot, dsaved);
        if (r.N > 0 && r.T > 0 && (dh0 is not null || dc0 is not null))
            Launch(GpuKernels.RnnBackwardState, r.N * r.H, V(work, "work"), V(whh, "whh"), sv, dh0 is null ? V(work, "work") : V(dh0, "dh0"), dc0 is null ? V(work, "work") : V(dc0, "dc0"), p,
                (dh0 is null ? 0 : 1) | (dc0 is null ? 0 : 2));
        if (dx is not null && dx.Length > 0) Launch(GpuKernels.RnnBackwardData, dx.Length, V(work, "work"), V(wih, "wih"), V(dx, "dx"), p, accumulateDx ? 1 : 0);
        Launch(GpuKernels.RnnBackwardWeights, dwih.Length + dwhh.Length, V(work, "work"), V(x, "x"), V(y, "y"), V(dwih, "dwih"), V(dwhh, "dwhh"), h0v, p);
        Launch(GpuKernels.RnnBackwardBias, 2 * r.GH, V(work, "work"), V(dbih, "dbih"), V(dbhh, "dbhh"), p);
    }

    public void EmbeddingForward(Tensor<int> ids, Tensor<float> w, Tensor<float> y)
    {
        var (count, vocab, dim) = RnnChecks.Embedding(ids, w, y, "y");
        CheckIds(ids, vocab);
        if (y.Length == 0) return;
        Launch(GpuKernels.EmbeddingForward, y.Length, V(ids, "ids"), V(w, "w"), V(y, "y"), dim);
    }

    public void EmbeddingBackward(Tensor<float> dy, Tensor<int> ids, Tensor<float> dw)
    {
        var (count, vocab, dim) = RnnChecks.Embedding(ids, dw, dy, "dy");
        CheckIds(ids, vocab);
        if (dw.Length == 0) return;
        Launch(GpuKernels.EmbeddingBackward, dw.Length, V(dy, "dy"), V(ids, "ids"), V(dw, "dw"), dim, count);
    }

    /// <summary>Ids are checked on the host (a copy of the int tensor) so a bad id throws naming it instead of reading out of bounds.</summary>
    private static void CheckIds(Tensor<int> ids, int vocab)
    {
        var host = ids.CopyToHost();
        for (int i = 0; i < host.Length; i++)
            if ((uint)host[i] >= (uint)vocab) throw RnnChecks.BadId(host[i], i, vocab);
    }
}
