namespace NetDsl.Runtime;

// The losses family's contract. Every loss writes a [1] tensor; every backward reads the upstream gradient dy [1]. The label
// values (0..C−1) are data, not shapes: each implementation checks them where the labels live (CpuKernels on the host,
// IlgpuKernels with a device flag read after the loss).
internal static partial class KernelContract
{
    public static void ReadScalar<T>(Tensor<T> t) where T : unmanaged
    {
        if (t.Length < 1) throw Mismatch("t", "[1] (at least one element)", t.Shape);
    }

    /// <summary>The upstream gradient of a loss: one element.</summary>
    public static void Upstream<T>(Tensor<T> dy) where T : unmanaged
    {
        if (dy.Length != 1) throw Mismatch("dy", "[1] (the loss gradient)", dy.Shape);
    }

    public static void Loss<T>(Tensor<T> loss) where T : unmanaged
    {
        if (loss.Length < 1) throw Mismatch("loss", "[1]", loss.Shape);
    }

    /// <summary>
    /// (rows, C) of scores [N, …, C] (classes on the last axis) with labels [N, …] and <paramref name="weights"/> class
    /// weights (0: none, else C); rows is the product of the leading dims.
    /// </summary>
    public static (int N, int C) ClassLoss<T>(Tensor<T> scores, Tensor<int> labels, int weights, string scoresName) where T : unmanaged
    {
        if (scores.Rank < 2) throw Mismatch(scoresName, "[N, C] or [N, …, C]", scores.Shape);
        int c = scores.Shape[^1], n = c == 0 ? 0 : scores.Length / c;
        labels.CheckShape("labels", scores.Shape.AsSpan(0, scores.Rank - 1));
        if (weights != 0 && weights != c)
            throw new ArgumentException($"weights: expected {c} class weights (or none) for {scoresName} {F(scores.Shape)}, got {weights}", nameof(weights));
        return (n, c);
    }

    public static (int N, int C) CrossEntropyForward<T>(Tensor<T> logits, Tensor<int> labels, int weights, Tensor<T> probs, Tensor<T> loss) where T : unmanaged
    {
        var d = ClassLoss(logits, labels, weights, "logits");
        probs.CheckShape("probs", logits.Shape);
        Loss(loss);
        return d;
    }

    public static (int N, int C) CrossEntropyBackward<T>(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, int weights, Tensor<T> dlogits) where T : unmanaged
    {
        var d = ClassLoss(probs, labels, weights, "probs");
        dlogits.CheckShape("dlogits", probs.Shape);
        Upstream(dy);
        return d;
    }

    public static (int N, int C) NllLossForward<T>(Tensor<T> logp, Tensor<int> labels, int weights, Tensor<T> loss) where T : unmanaged
    {
        var d = ClassLoss(logp, labels, weights, "logp");
        Loss(loss);
        return d;
    }

    public static (int N, int C) NllLossBackward<T>(Tensor<T> dy, Tensor<int> labels, int weights, Tensor<T> dlogp) where T : unmanaged
    {
        var d = ClassLoss(dlogp, labels, weights, "dlogp");
        Upstream(dy);
        return d;
    }

    public static (int N, int C) MultiMarginForward<T>(Tensor<T> x, Tensor<int> labels, Tensor<T> loss) where T : unmanaged
    {
        var d = ClassLoss(x, labels, 0, "x");
        Loss(loss);
        return d;
    }

    public static (int N, int C) MultiMarginBackward<T>(Tensor<T> dy, Tensor<T> x, Tensor<int> labels, Tensor<T> dx) where T : unmanaged
    {
        var d = ClassLoss(x, labels, 0, "x");
        dx.CheckShape("dx", x.Shape);
        Upstream(dy);
        return d;
    }

    public static (int N, int C) FocalLossForward<T>(Tensor<T> logits, Tensor<int> labels, Tensor<T> probs, Tensor<T> loss) where T : unmanaged
    {
        var d = ClassLoss(logits, labels, 0, "logits");
        probs.CheckShape("probs", logits.Shape);
        Loss(loss);
        return d;
    }

    public static (int N, int C) FocalLossBackward<T>(Tensor<T> dy, Tensor<T> probs, Tensor<int> labels, Tensor<T> dlogits) where T : unmanaged
    {
        var d = ClassLoss(probs, labels, 0, "probs");
        dlogits.CheckShape("dlogits", probs.Shape);
        Upstream(dy);
        return d;
    }

    public static void RegressionLossForward<T>(Tensor<T> y, Tensor<T> target, Tensor<T> loss) where T : unmanaged
    {
        target.CheckShape("target", y.Shape);
        Loss(loss);
    }

    public static void RegressionLossBackward<T>(Tensor<T> dy, Tensor<T> y, Tensor<T> target, Tensor<T> dpred) where T : unmanaged
    {
        target.CheckShape("target", y.Shape);
        dpred.CheckShape("dpred", y.Shape);
        Upstream(dy);
    }
}
