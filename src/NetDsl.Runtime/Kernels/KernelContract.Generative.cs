namespace NetDsl.Runtime;

// The generative family's contract (sampling, the pointwise and row losses) and the regularization family's (block dropout,
// weight penalties). Data checks (bce's probabilities in [0, 1]) stay with the implementation that holds the data.
internal static partial class KernelContract
{
    public static void SampleNormalForward<T>(Tensor<T> mu, Tensor<T> logvar, Tensor<T> noise, Tensor<T> z) where T : unmanaged
    {
        logvar.CheckShape("logvar", mu.Shape);
        noise.CheckShape("noise", mu.Shape);
        z.CheckShape("z", mu.Shape);
    }

    public static void PointwiseLossForward<T>(Tensor<T> a, Tensor<T> b, Tensor<T> loss) where T : unmanaged
    {
        b.CheckShape("b", a.Shape);
        Loss(loss);
    }

    public static void PointwiseLossBackward<T>(Tensor<T> dy, Tensor<T> a, Tensor<T> b, Tensor<T> da, Tensor<T>? db) where T : unmanaged
    {
        b.CheckShape("b", a.Shape);
        da.CheckShape("da", a.Shape);
        db?.CheckShape("db", a.Shape);
        Upstream(dy);
    }

    /// <summary>Two [N, D] operands of a row loss (<paramref name="op"/> names it in the message).</summary>
    private static (int N, int D) Rows<T>(string op, Tensor<T> a, string aName, Tensor<T> b, string bName) where T : unmanaged
    {
        if (a.Rank != 2) throw Mismatch(aName, $"[N, D] ({op})", a.Shape);
        b.CheckShape(bName, a.Shape);
        return (a.Shape[0], a.Shape[1]);
    }

    public static (int N, int D) TripletMarginForward<T>(Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative, Tensor<T> loss) where T : unmanaged
    {
        var r = Rows("triplet_margin", anchor, "anchor", positive, "positive");
        negative.CheckShape("negative", anchor.Shape);
        Loss(loss);
        return r;
    }

    public static (int N, int D) TripletMarginBackward<T>(Tensor<T> dy, Tensor<T> anchor, Tensor<T> positive, Tensor<T> negative,
        Tensor<T> danchor, Tensor<T> dpositive, Tensor<T> dnegative) where T : unmanaged
    {
        var r = Rows("triplet_margin", anchor, "anchor", positive, "positive");
        negative.CheckShape("negative", anchor.Shape);
        danchor.CheckShape("danchor", anchor.Shape); dpositive.CheckShape("dpositive", anchor.Shape); dnegative.CheckShape("dnegative", anchor.Shape);
        Upstream(dy);
        return r;
    }

    public static (int N, int D) NtXentForward<T>(Tensor<T> z1, Tensor<T> z2, Tensor<T> loss) where T : unmanaged
    {
        var r = Rows("nt_xent", z1, "z1", z2, "z2");
        Loss(loss);
        return r;
    }

    public static (int N, int D) NtXentBackward<T>(Tensor<T> dy, Tensor<T> z1, Tensor<T> z2, Tensor<T> dz1, Tensor<T> dz2) where T : unmanaged
    {
        var r = Rows("nt_xent", z1, "z1", z2, "z2");
        dz1.CheckShape("dz1", z1.Shape); dz2.CheckShape("dz2", z1.Shape);
        Upstream(dy);
        return r;
    }

    public static (int N, int C) DistillForward<T>(Tensor<T> student, Tensor<T> teacher, Tensor<T> loss) where T : unmanaged
    {
        var r = Rows("distill", student, "student", teacher, "teacher");
        Loss(loss);
        return r;
    }

    public static (int N, int C) DistillBackward<T>(Tensor<T> dy, Tensor<T> student, Tensor<T> teacher, Tensor<T> dstudent) where T : unmanaged
    {
        var r = Rows("distill", student, "student", teacher, "teacher");
        dstudent.CheckShape("dstudent", student.Shape);
        Upstream(dy);
        return r;
    }

    // ------------------------------------------------------------------ regularization
    private static void BlockDropout<T>(Tensor<T> x, Tensor<T> mask, Tensor<T> y, double p) where T : unmanaged
    {
        mask.CheckShape("mask", x.Shape);
        y.CheckShape("y", x.Shape);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"drop probability must be in [0, 1], got {p}");
    }

    /// <summary>x [N, C, H, W]; returns the block (one plane).</summary>
    public static int Dropout2dForward<T>(Tensor<T> x, Tensor<T> mask, Tensor<T> y, double p) where T : unmanaged
    {
        Rank(x, 4, "x", "[N, C, H, W]");
        BlockDropout(x, mask, y, p);
        return x.Shape[2] * x.Shape[3];
    }

    /// <summary>x [N, ...]; returns the block (one sample).</summary>
    public static int StochasticDepthForward<T>(Tensor<T> x, Tensor<T> mask, Tensor<T> y, double p) where T : unmanaged
    {
        Require(x.Rank >= 1, "x", "[N, ...]", x.Shape);
        BlockDropout(x, mask, y, p);
        return x.Shape[0] == 0 ? 0 : x.Length / x.Shape[0];
    }

    public static void PenaltyForward<T>(Tensor<T> loss) where T : unmanaged => Loss(loss);

    public static void PenaltyBackward<T>(Tensor<T> dy, Tensor<T> w, Tensor<T> dw) where T : unmanaged
    {
        dw.CheckShape("dw", w.Shape);
        Upstream(dy);
    }
}
