namespace NetDsl.Runtime;

// The contract of the remaining kernels: splitting packed attention heads, folding batchnorm into a weight, and the
// parameter-group optimizer steps.
internal static partial class KernelContract
{
    /// <summary>x [N, T, P, H, D] with P = 2 (c null) or 3; each part [N, H, T, D]. Returns (N, T, H, D).</summary>
    private static (int N, int T, int H, int D) Heads<T>(Tensor<T> x, Tensor<T> a, Tensor<T> b, Tensor<T>? c, string xName, string aName, string bName, string cName)
        where T : unmanaged
    {
        int parts = c is null ? 2 : 3;
        if (x.Rank != 5 || x.Shape[2] != parts) throw Mismatch(xName, $"[N, T, {parts}, H, D] (a packed projection of {parts} parts)", x.Shape);
        int n = x.Shape[0], t = x.Shape[1], h = x.Shape[3], d = x.Shape[4];
        a.CheckShape(aName, [n, h, t, d]);
        b.CheckShape(bName, [n, h, t, d]);
        c?.CheckShape(cName, [n, h, t, d]);
        return (n, t, h, d);
    }

    public static (int N, int T, int H, int D) SplitHeads<T>(Tensor<T> x, Tensor<T> a, Tensor<T> b, Tensor<T>? c) where T : unmanaged =>
        Heads(x, a, b, c, "x", "a", "b", "c");

    public static (int N, int T, int H, int D) SplitHeadsBackward<T>(Tensor<T> da, Tensor<T> db, Tensor<T>? dc, Tensor<T> dx) where T : unmanaged =>
        Heads(dx, da, db, dc, "dx", "da", "db", "dc");

    /// <summary>w [K, …] (a convolution or linear weight), the batchnorm vectors [K]; returns K.</summary>
    public static int FoldBatchNorm<T>(Tensor<T> w, Tensor<T>? b, Tensor<T> gamma, Tensor<T> beta, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> wOut, Tensor<T> bOut) where T : unmanaged
    {
        Require(w.Rank >= 2, "w", "[K, …] (a convolution or linear weight)", w.Shape);
        int k = w.Shape[0];
        wOut.CheckShape("wOut", w.Shape);
        b?.CheckShape("b", [k]);
        gamma.CheckShape("gamma", [k]); beta.CheckShape("beta", [k]);
        runningMean.CheckShape("runningMean", [k]); runningVar.CheckShape("runningVar", [k]);
        bOut.CheckShape("bOut", [k]);
        return k;
    }

    /// <summary>One tensor of <paramref name="other"/> per parameter, shaped like it (the message is built only on failure).</summary>
    private static void Group<T>(string what, Tensor<T>[] param, Tensor<T>[] other) where T : unmanaged
    {
        if (other.Length != param.Length) throw new ArgumentException($"{what}: expected {param.Length} tensors (one per parameter), got {other.Length}", what);
        for (int i = 0; i < param.Length; i++)
            if (!other[i].Shape.AsSpan().SequenceEqual(param[i].Shape)) other[i].CheckShape($"{what}[{i}]", param[i].Shape);
    }

    public static void SgdStep<T>(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] velocity) where T : unmanaged
    {
        Group("grad", param, grad);
        Group("velocity", param, velocity);
    }

    public static void AdamStep<T>(Tensor<T>[] param, Tensor<T>[] grad, Tensor<T>[] m, Tensor<T>[] v, int step) where T : unmanaged
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"Adam step counts from 1, got {step}");
        Group("grad", param, grad);
        Group("m", param, m);
        Group("v", param, v);
    }
}
