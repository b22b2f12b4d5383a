namespace NetDsl.Runtime.Tests;

/// <summary>
/// Flat double-array forms of the shared reference kernels (<see cref="ReferenceKernels{T}"/> in tests/NetDsl.TestSupport,
/// naive loops): only the array-to-tensor plumbing lives here, no second set of loops.
/// </summary>
internal static class Ref
{
    private static ReferenceKernels<double> R => ReferenceKernels<double>.Instance;
    private static Tensor<double> T(double[] data, params int[] shape) => Tensor<double>.FromArray(data, shape);
    private static readonly Identity<double> Id = default;

    public static double[] Conv(double[] x, double[] w, double[]? b, int n, int c, int h, int wd, int k, int kh, int kw, ConvGeometry g, out int oh, out int ow)
    {
        oh = g.OutH(h, kh); ow = g.OutW(wd, kw);
        var y = Tensor<double>.Zeros(n, k, oh, ow);
        R.Conv2dForward(T(x, n, c, h, wd), T(w, k, c / g.Groups, kh, kw), b is null ? null : T(b, k), y, g, Id, Id);
        return y.CopyToHost();
    }

    public static double[] ConvBackwardData(double[] dy, double[] w, int n, int c, int h, int wd, int k, int kh, int kw, ConvGeometry g)
    {
        var dx = Tensor<double>.Zeros(n, c, h, wd);
        R.Conv2dBackwardData(T(dy, n, k, g.OutH(h, kh), g.OutW(wd, kw)), T(w, k, c / g.Groups, kh, kw), dx, g);
        return dx.CopyToHost();
    }

    public static (double[] dw, double[] db) ConvBackwardFilter(double[] dy, double[] x, int n, int c, int h, int wd, int k, int kh, int kw, ConvGeometry g)
    {
        var dw = Tensor<double>.Zeros(k, c / g.Groups, kh, kw); var db = Tensor<double>.Zeros(k);
        R.Conv2dBackwardFilter(T(dy, n, k, g.OutH(h, kh), g.OutW(wd, kw)), T(x, n, c, h, wd), dw, db, g);
        return (dw.CopyToHost(), db.CopyToHost());
    }

    /// <summary>op(a)·op(b) with op(a) [m, k] and op(b) [k, n]; a transposed operand is stored as its transpose.</summary>
    public static double[] MatMul(double[] a, double[] b, int m, int k, int n, bool transA = false, bool transB = false)
    {
        var y = Tensor<double>.Zeros(m, n);
        R.MatMul(T(transA ? Transpose(a, k, m) : a, m, k), T(transB ? Transpose(b, n, k) : b, k, n), y);
        return y.CopyToHost();
    }

    private static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }

    public static (double[] y, int[] arg) MaxPool(double[] x, int n, int c, int h, int w, PoolGeometry g)
    {
        var y = Tensor<double>.Zeros(n, c, g.OutH(h), g.OutW(w)); var arg = Tensor<int>.Zeros(y.Shape);
        R.MaxPool2dForward(T(x, n, c, h, w), y, arg, g);
        return (y.CopyToHost(), arg.CopyToHost());
    }

    public static double[] AvgPool(double[] x, int n, int c, int h, int w, PoolGeometry g)
    {
        var y = Tensor<double>.Zeros(n, c, g.OutH(h), g.OutW(w));
        R.AvgPool2dForward(T(x, n, c, h, w), y, g);
        return y.CopyToHost();
    }
}
