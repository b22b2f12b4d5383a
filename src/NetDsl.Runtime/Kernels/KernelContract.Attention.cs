namespace NetDsl.Runtime;

// The attention family's contract: the shapes are AttentionLayout's (IKernels.Attention.cs, also read by the compiler's
// tests); these add the per-call arguments (dropout probability, gradient outputs) so both implementations check the same.
internal static partial class KernelContract
{
    public static (int B, int Tq, int Tk, int D, int Dv, int PerSample) AttentionForward<T>(Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<int>? lengths,
        Tensor<T> y, Tensor<T> probs, Tensor<T>? dropped, double p) where T : unmanaged
    {
        var r = AttentionLayout.Check(q.Shape, k.Shape, v.Shape, y.Shape, probs.Shape, dropped?.Shape, lengths?.Shape);
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), $"attention dropout must be in [0, 1), got {p}");
        return r;
    }

    public static (int B, int Tq, int Tk, int D, int Dv, int PerSample) AttentionBackward<T>(Tensor<T> dy, Tensor<T> q, Tensor<T> k, Tensor<T> v, Tensor<T> probs,
        Tensor<T>? dropped, Tensor<T> dq, Tensor<T> dk, Tensor<T> dv, Tensor<T> ds) where T : unmanaged
    {
        var r = AttentionLayout.Check(q.Shape, k.Shape, v.Shape, dy.Shape, probs.Shape, dropped?.Shape, null);
        dq.CheckShape("dq", q.Shape); dk.CheckShape("dk", k.Shape); dv.CheckShape("dv", v.Shape); ds.CheckShape("ds", probs.Shape);
        return r;
    }

    public static void AddPositionalEncoding<T>(Tensor<T> x, Tensor<T> y) where T : unmanaged
    {
        AttentionLayout.CheckSequence(x.Shape, "x");
        y.CheckShape("y", x.Shape);
    }
}
