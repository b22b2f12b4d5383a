namespace NetDsl.Runtime;

// The normalizing-flow family's contract (actnorm, the log-determinant terms, the LU-parameterized 1×1 convolution weight,
// affine coupling, the standard normal prior).
internal static partial class KernelContract
{
    /// <summary>x [N, C, H, W] → (N, C, S = H·W).</summary>
    private static (int N, int C, int S) FlowDims<T>(Tensor<T> x, string name) where T : unmanaged
    {
        Rank(x, 4, name, "[N, C, H, W]");
        return (x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3]);
    }

    /// <summary>A per-sample vector [N].</summary>
    private static void PerSample<T>(Tensor<T> t, int n, string name) where T : unmanaged
    {
        if (t.Rank != 1 || t.Shape[0] != n) throw Mismatch(name, $"[{n}]", t.Shape);
    }

    public static (int N, int C, int S) ActNormForward<T>(Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T> y) where T : unmanaged
    {
        var d = FlowDims(x, "x");
        scale.CheckShape("scale", [d.C]); bias.CheckShape("bias", [d.C]); y.CheckShape("y", x.Shape);
        return d;
    }

    public static (int N, int C, int S) ActNormBackward<T>(Tensor<T> dy, Tensor<T> x, Tensor<T> scale, Tensor<T> bias, Tensor<T>? dx, Tensor<T> dscale, Tensor<T> dbias)
        where T : unmanaged
    {
        var d = FlowDims(x, "x");
        dy.CheckShape("dy", x.Shape); scale.CheckShape("scale", [d.C]); bias.CheckShape("bias", [d.C]);
        dscale.CheckShape("dscale", [d.C]); dbias.CheckShape("dbias", [d.C]);
        dx?.CheckShape("dx", x.Shape);
        return d;
    }

    public static void FlowLogDetForward<T>(Tensor<T> p, Tensor<T> logdet) where T : unmanaged
    {
        Rank(p, 1, "p", "[C]");
        Rank(logdet, 1, "logdet", "[N]");
    }

    public static void FlowLogDetBackward<T>(Tensor<T> dy, Tensor<T> p, Tensor<T> dp) where T : unmanaged
    {
        Rank(dy, 1, "dy", "[N]");
        dp.CheckShape("dp", p.Shape);
    }

    /// <summary>logs [C], lower and upper [C, C], w [C, C, 1, 1], perm a permutation of 0..C−1. Returns C.</summary>
    private static int InvConv<T>(Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, ReadOnlySpan<int> perm) where T : unmanaged
    {
        Rank(logs, 1, "logs", "[C]");
        int c = logs.Shape[0];
        lower.CheckShape("lower", [c, c]); upper.CheckShape("upper", [c, c]); w.CheckShape("w", [c, c, 1, 1]);
        if (perm.Length != c) throw new ArgumentException($"perm: expected {c} entries (a permutation of 0..{c - 1}), got {perm.Length}", nameof(perm));
        foreach (var p in perm) if ((uint)p >= (uint)c) throw new ArgumentException($"perm: entry {p} is outside 0..{c - 1}", nameof(perm));
        return c;
    }

    public static int InvConvWeightForward<T>(Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, ReadOnlySpan<int> perm) where T : unmanaged =>
        InvConv(lower, upper, logs, w, perm);

    public static int InvConvWeightBackward<T>(Tensor<T> dw, Tensor<T> lower, Tensor<T> upper, Tensor<T> logs, Tensor<T> w, Tensor<T> work,
        Tensor<T> dlower, Tensor<T> dupper, Tensor<T> dlogs, ReadOnlySpan<int> perm) where T : unmanaged
    {
        int c = InvConv(lower, upper, logs, w, perm);
        dw.CheckShape("dw", [c, c, 1, 1]); work.CheckShape("work", [c, c]);
        dlower.CheckShape("dlower", [c, c]); dupper.CheckShape("dupper", [c, c]); dlogs.CheckShape("dlogs", [c]);
        return c;
    }

    /// <summary>x, h [N, C, H, W] with C even (h: log s for the first half of the channels, t for the second).</summary>
    private static (int N, int C, int S) Coupling<T>(Tensor<T> x, Tensor<T> h) where T : unmanaged
    {
        var d = FlowDims(x, "x");
        if (d.C % 2 != 0) throw Mismatch("x", "[N, C, H, W] with an even channel count", x.Shape);
        h.CheckShape("h", x.Shape);
        return d;
    }

    public static (int N, int C, int S) CouplingForward<T>(Tensor<T> x, Tensor<T> h, Tensor<T> y) where T : unmanaged
    {
        var d = Coupling(x, h);
        y.CheckShape("y", x.Shape);
        return d;
    }

    public static (int N, int C, int S) CouplingBackward<T>(Tensor<T> dy, Tensor<T> x, Tensor<T> h, Tensor<T>? dx, Tensor<T> dh) where T : unmanaged
    {
        var d = Coupling(x, h);
        dy.CheckShape("dy", x.Shape); dh.CheckShape("dh", x.Shape);
        dx?.CheckShape("dx", x.Shape);
        return d;
    }

    public static (int N, int C, int S) CouplingLogDetForward<T>(Tensor<T> h, Tensor<T> logdet) where T : unmanaged
    {
        var d = FlowDims(h, "h");
        PerSample(logdet, d.N, "logdet");
        return d;
    }

    public static (int N, int C, int S) CouplingLogDetBackward<T>(Tensor<T> dy, Tensor<T> h, Tensor<T> dh) where T : unmanaged
    {
        var d = FlowDims(h, "h");
        PerSample(dy, d.N, "dy");
        dh.CheckShape("dh", h.Shape);
        return d;
    }

    /// <summary>z [N, ...] → (N, D = the elements per sample).</summary>
    private static (int N, int D) Samples<T>(Tensor<T> z) where T : unmanaged
    {
        Require(z.Rank >= 2, "z", "[N, ...]", z.Shape);
        int n = z.Shape[0];
        return (n, n == 0 ? 0 : z.Length / n);
    }

    public static (int N, int D) GaussianLogProbForward<T>(Tensor<T> z, Tensor<T> logp) where T : unmanaged
    {
        var d = Samples(z);
        PerSample(logp, d.N, "logp");
        return d;
    }

    public static (int N, int D) GaussianLogProbBackward<T>(Tensor<T> dy, Tensor<T> z, Tensor<T> dz) where T : unmanaged
    {
        var d = Samples(z);
        PerSample(dy, d.N, "dy");
        dz.CheckShape("dz", z.Shape);
        return d;
    }
}
