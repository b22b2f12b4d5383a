namespace NetDsl.Runtime;

/// <summary>Two planes' dims: the input side [N, C, H, W] and the other side [N, C, OH, OW].</summary>
internal readonly record struct PlaneDims(int N, int C, int H, int W, int OH, int OW);

// The plane-to-plane kernels' contract (adaptive average pooling, max unpooling, upsampling).
internal static partial class KernelContract
{
    /// <summary>x [N, C, H, W] and y [N, C, OH, OW] on the same (n, c) planes (named as the caller's arguments).</summary>
    public static PlaneDims Planes<T>(Tensor<T> x, Tensor<T> y, string xName, string yName, string xDims = "[N, C, H, W]", string yDims = "OH, OW")
        where T : unmanaged
    {
        Rank(x, 4, xName, xDims);
        if (y.Rank != 4 || y.Shape[0] != x.Shape[0] || y.Shape[1] != x.Shape[1]) throw Mismatch(yName, $"[{x.Shape[0]}, {x.Shape[1]}, {yDims}]", y.Shape);
        return new PlaneDims(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]);
    }

    public static PlaneDims AdaptiveAvgPool2dForward<T>(Tensor<T> x, Tensor<T> y) where T : unmanaged
    {
        var d = Planes(x, y, "x", "y");
        if (d.N * d.C > 0 && (d.H == 0 || d.W == 0)) throw new ArgumentException($"x: adaptive pooling needs a non-empty plane, got {F(x.Shape)}", nameof(x));
        return d;
    }

    public static PlaneDims AdaptiveAvgPool2dBackward<T>(Tensor<T> dy, Tensor<T> dx) where T : unmanaged => Planes(dx, dy, "dx", "dy");

    /// <summary>x, argmax [N, C, OH, OW] (the pooled side), y [N, C, H, W] (named as the caller's arguments).</summary>
    public static PlaneDims MaxUnpool2d<T>(Tensor<T> x, Tensor<int> argmax, Tensor<T> y, string xName, string yName) where T : unmanaged
    {
        var d = Planes(x, y, xName, yName, "[N, C, OH, OW]", "H, W");
        argmax.CheckShape("argmax", x.Shape);
        return d;
    }

    /// <summary>Upsampling x [N, C, H, W] into y [N, C, OH, OW] (or its gradient, dx and dy), any sizes.</summary>
    public static PlaneDims Upsample2d<T>(Tensor<T> x, Tensor<T> y, string xName, string yName) where T : unmanaged => Planes(x, y, xName, yName);
}
