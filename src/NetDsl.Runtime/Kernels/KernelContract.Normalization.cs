namespace NetDsl.Runtime;

// The normalization family's contract (batchnorm, layernorm, groupnorm/instancenorm, local response normalization).
internal static partial class KernelContract
{
    /// <summary>x [N, C, *] (at least <paramref name="minRank"/> dims) → (N, C, inner = product of the dims after C).</summary>
    public static (int N, int C, int Inner) NormDims<T>(Tensor<T> x, string op, int minRank = 2) where T : unmanaged
    {
        if (x.Rank < minRank) throw Mismatch("x", minRank == 2 ? $"[N, C] or [N, C, *] for {op}" : $"[N, C, *] ({minRank}-D or more) for {op}", x.Shape);
        int inner = 1;
        for (int i = 2; i < x.Rank; i++) inner *= x.Shape[i];
        return (x.Shape[0], x.Shape[1], inner);
    }

    /// <summary>A per-channel vector: <paramref name="n"/> elements (null: not given, nothing to check).</summary>
    public static void Vec<T>(Tensor<T>? t, string name, int n) where T : unmanaged
    {
        if (t is not null && t.Length != n) throw Mismatch(name, $"[{n}]", t.Shape);
    }

    /// <summary><paramref name="t"/> (null: not given) has the shape of <paramref name="like"/>.</summary>
    public static void Like<T>(Tensor<T>? t, string name, Tensor<T> like, string likeName) where T : unmanaged
    {
        if (t is not null && !t.Shape.AsSpan().SequenceEqual(like.Shape)) throw Mismatch(name, $"{F(like.Shape)} like {likeName}", t.Shape);
    }

    // ------------------------------------------------------------------ batchnorm: x [N, C] or [N, C, *]; vectors [C]
    public static (int N, int C, int Inner) BatchNormForward<T>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> runningMean, Tensor<T> runningVar,
        Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, bool training) where T : unmanaged
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        Like(y, "y", x, "x");
        Vec(weight, "weight", c); Vec(bias, "bias", c);
        Vec(runningMean, "runningMean", c); Vec(runningVar, "runningVar", c);
        Vec(mean, "mean", c); Vec(invStd, "invStd", c);
        if (training && (long)n * inner < 2)
            throw new ArgumentException($"x: batchnorm in training mode needs more than 1 value per channel, got {F(x.Shape)}", nameof(x));
        return (n, c, inner);
    }

    public static (int N, int C, int Inner) BatchNormApply<T>(Tensor<T> x, Tensor<T> weight, Tensor<T> bias, Tensor<T> mean, Tensor<T> invStd, Tensor<T> y)
        where T : unmanaged
    {
        var (n, c, inner) = NormDims(x, "batchnorm");
        Like(y, "y", x, "x");
        Vec(weight, "weight", c); Vec(bias, "bias", c);
        Vec(mean, "mean", c); Vec(invStd, "invStd", c);
        return (n, c, inner);
    }

    /// <summary>
    /// The backward's dy comes from <paramref name="a"/> (named <paramref name="aName"/>: "dy", or "a" for a fused prologue) and
    /// the prologue's other inputs <paramref name="b"/>, <paramref name="c"/>; dyOut receives the prologue's dy when given.
    /// </summary>
    public static (int N, int C, int Inner) BatchNormBackward<T>(Tensor<T> a, string aName, Tensor<T>? b, Tensor<T>? c, Tensor<T> x, Tensor<T> weight,
        Tensor<T> mean, Tensor<T> invStd, Tensor<T>? dyOut, Tensor<T>? dx, Tensor<T> dweight, Tensor<T> dbias) where T : unmanaged
    {
        var (n, ch, inner) = NormDims(x, "batchnorm");
        Like(a, aName, x, "x"); Like(b, "b", x, "x"); Like(c, "c", x, "x");
        Like(dyOut, "dyOut", x, "x"); Like(dx, "dx", x, "x");
        Vec(weight, "weight", ch); Vec(mean, "mean", ch); Vec(invStd, "invStd", ch);
        Vec(dweight, "dweight", ch); Vec(dbias, "dbias", ch);
        return (n, ch, inner);
    }

    // ------------------------------------------------------------------ layernorm: the last `dims` dims of x
    /// <summary>(rows, D): the product of the leading dims and of the last <paramref name="dims"/> dims.</summary>
    private static (int Rows, int D) LayerNorm<T>(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> mean, Tensor<T> invStd, int dims)
        where T : unmanaged
    {
        if (dims < 1 || dims > x.Rank)
            throw new ArgumentException($"dims: layernorm of x {F(x.Shape)} normalizes 1 to {x.Rank} trailing dims, got {dims}", nameof(dims));
        var lead = x.Shape.AsSpan(0, x.Rank - dims);
        var tail = x.Shape.AsSpan(x.Rank - dims);
        if (weight is not null && !weight.Shape.AsSpan().SequenceEqual(tail))
            throw Mismatch("weight", $"{F(tail)} (the last {dims} dims of x {F(x.Shape)})", weight.Shape);
        if (bias is not null && !bias.Shape.AsSpan().SequenceEqual(tail))
            throw Mismatch("bias", $"{F(tail)} (the last {dims} dims of x {F(x.Shape)})", bias.Shape);
        if (!mean.Shape.AsSpan().SequenceEqual(lead)) throw Mismatch("mean", $"{F(lead)} (the leading dims of x {F(x.Shape)})", mean.Shape);
        if (!invStd.Shape.AsSpan().SequenceEqual(lead)) throw Mismatch("invStd", $"{F(lead)} (the leading dims of x {F(x.Shape)})", invStd.Shape);
        int d = 1;
        for (int i = x.Rank - dims; i < x.Rank; i++) d *= x.Shape[i];
        return (d == 0 ? 0 : x.Length / d, d);
    }

    public static (int Rows, int D) LayerNormForward<T>(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd, int dims)
        where T : unmanaged
    {
        var r = LayerNorm(x, weight, bias, mean, invStd, dims);
        Like(y, "y", x, "x");
        if ((weight is null) != (bias is null)) throw new ArgumentException("weight and bias: give both or neither");
        return r;
    }

    public static (int Rows, int D) LayerNormBackward<T>(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int dims) where T : unmanaged
    {
        var r = LayerNorm(x, weight, null, mean, invStd, dims);
        Like(dy, "dy", x, "x"); Like(dx, "dx", x, "x");
        if (weight is not null) { Like(dweight, "dweight", weight, "weight"); Like(dbias, "dbias", weight, "weight"); }
        else if (dweight is not null || dbias is not null) throw new ArgumentException("dweight and dbias need the weight (layernorm without affine parameters has no weight gradient)");
        return r;
    }

    // ------------------------------------------------------------------ groupnorm: x [N, C, *], weight/bias [C], mean/invStd [N, groups]
    private static (int N, int C, int Inner, int Cg) GroupNorm<T>(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> mean, Tensor<T> invStd, int groups)
        where T : unmanaged
    {
        var (n, c, inner) = NormDims(x, "groupnorm");
        if (groups < 1 || c % groups != 0)
            throw new ArgumentException($"groups: {groups} must divide the {c} channels of x {F(x.Shape)}", nameof(groups));
        Vec(weight, "weight", c); Vec(bias, "bias", c);
        mean.CheckShape("mean", [n, groups]); invStd.CheckShape("invStd", [n, groups]);
        return (n, c, inner, c / groups);
    }

    public static (int N, int C, int Inner, int Cg) GroupNormForward<T>(Tensor<T> x, Tensor<T>? weight, Tensor<T>? bias, Tensor<T> y, Tensor<T> mean, Tensor<T> invStd,
        int groups) where T : unmanaged
    {
        var r = GroupNorm(x, weight, bias, mean, invStd, groups);
        Like(y, "y", x, "x");
        if ((weight is null) != (bias is null)) throw new ArgumentException("weight and bias: give both or neither");
        return r;
    }

    public static (int N, int C, int Inner, int Cg) GroupNormBackward<T>(Tensor<T> dy, Tensor<T> x, Tensor<T>? weight, Tensor<T> mean, Tensor<T> invStd,
        Tensor<T>? dx, Tensor<T>? dweight, Tensor<T>? dbias, int groups) where T : unmanaged
    {
        var r = GroupNorm(x, weight, null, mean, invStd, groups);
        Like(dy, "dy", x, "x"); Like(dx, "dx", x, "x");
        if (weight is not null) { Vec(dweight, "dweight", r.C); Vec(dbias, "dbias", r.C); }
        else if (dweight is not null || dbias is not null) throw new ArgumentException("dweight and dbias need the weight (no affine parameters, no weight gradient)");
        return r;
    }

    // ------------------------------------------------------------------ local response normalization: x, y, scale [N, C, *] (3-D or more)
    private static (int N, int C, int Inner) Lrn<T>(Tensor<T> x, int size) where T : unmanaged
    {
        var d = NormDims(x, "lrn", 3);
        if (size < 1) throw new ArgumentException($"size: the lrn window must hold at least 1 channel, got {size}", nameof(size));
        return d;
    }

    public static (int N, int C, int Inner) LocalResponseNormForward<T>(Tensor<T> x, Tensor<T> y, Tensor<T> scale, int size) where T : unmanaged
    {
        var d = Lrn(x, size);
        Like(y, "y", x, "x"); Like(scale, "scale", x, "x");
        return d;
    }

    public static (int N, int C, int Inner) LocalResponseNormBackward<T>(Tensor<T> dy, Tensor<T> x, Tensor<T> y, Tensor<T> scale, Tensor<T> dx, int size)
        where T : unmanaged
    {
        var d = Lrn(x, size);
        Like(dy, "dy", x, "x"); Like(y, "y", x, "x"); Like(scale, "scale", x, "x"); Like(dx, "dx", x, "x");
        return d;
    }
}
