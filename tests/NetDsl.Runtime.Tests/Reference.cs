namespace NetDsl.Runtime.Tests;

/// <summary>Naive, obviously-correct reference kernels in double.</summary>
internal static class Ref
{
    public static double[] Conv(double[] x, double[] w, double[]? b, int n, int c, int h, int wd, int k, int kh, int kw, ConvGeometry g, out int oh, out int ow)
    {
        oh = g.OutH(h, kh); ow = g.OutW(wd, kw);
        var y = new double[n * k * oh * ow];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < k; o++)
                for (int p = 0; p < oh; p++)
                    for (int q = 0; q < ow; q++)
                    {
                        double s = b?[o] ?? 0;
                        for (int ci = 0; ci < c; ci++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++)
                                {
                                    int ih = p * g.StrideH - g.PadH + u, iw = q * g.StrideW - g.PadW + v;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    s += x[((i * c + ci) * h + ih) * wd + iw] * w[((o * c + ci) * kh + u) * kw + v];
                                }
                        y[((i * k + o) * oh + p) * ow + q] = s;
                    }
        return y;
    }

    public static double[] ConvBackwardData(double[] dy, double[] w, int n, int c, int h, int wd, int k, int kh, int kw, ConvGeometry g)
    {
        int oh = g.OutH(h, kh), ow = g.OutW(wd, kw);
        var dx = new double[n * c * h * wd];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < k; o++)
                for (int p = 0; p < oh; p++)
                    for (int q = 0; q < ow; q++)
                        for (int ci = 0; ci < c; ci++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++)
                                {
                                    int ih = p * g.StrideH - g.PadH + u, iw = q * g.StrideW - g.PadW + v;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    dx[((i * c + ci) * h + ih) * wd + iw] += dy[((i * k + o) * oh + p) * ow + q] * w[((o * c + ci) * kh + u) * kw + v];
                                }
        return dx;
    }

    public static (double[] dw, double[] db) ConvBackwardFilter(double[] dy, double[] x, int n, int c, int h, int wd, int k, int kh, int kw, ConvGeometry g)
    {
        int oh = g.OutH(h, kh), ow = g.OutW(wd, kw);
        var dw = new double[k * c * kh * kw];
        var db = new double[k];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < k; o++)
                for (int p = 0; p < oh; p++)
                    for (int q = 0; q < ow; q++)
                    {
                        double d = dy[((i * k + o) * oh + p) * ow + q];
                        db[o] += d;
                        for (int ci = 0; ci < c; ci++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++)
                                {
                                    int ih = p * g.StrideH - g.PadH + u, iw = q * g.StrideW - g.PadW + v;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    dw[((o * c + ci) * kh + u) * kw + v] += d * x[((i * c + ci) * h + ih) * wd + iw];
                                }
                    }
        return (dw, db);
    }

    public static double[] MatMul(double[] a, double[] b, int m, int k, int n, bool transA = false, bool transB = false)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                c[i * n + j] = s;
            }
        return c;
    }

    public static (double[] y, int[] arg) MaxPool(double[] x, int n, int c, int h, int w, PoolGeometry g)
    {
        int oh = g.OutH(h), ow = g.OutW(w);
        var y = new double[n * c * oh * ow]; var arg = new int[y.Length];
        for (int pl = 0; pl < n * c; pl++)
            for (int p = 0; p < oh; p++)
                for (int q = 0; q < ow; q++)
                {
                    double best = double.NegativeInfinity; int bi = -1;
                    for (int u = 0; u < g.KernelH; u++)
                        for (int v = 0; v < g.KernelW; v++)
                        {
                            int ih = p * g.StrideH - g.PadH + u, iw = q * g.StrideW - g.PadW + v;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                            double val = x[(pl * h + ih) * w + iw];
                            if (val > best) { best = val; bi = ih * w + iw; }
                        }
                    y[(pl * oh + p) * ow + q] = best; arg[(pl * oh + p) * ow + q] = bi;
                }
        return (y, arg);
    }

    public static double[] AvgPool(double[] x, int n, int c, int h, int w, PoolGeometry g)
    {
        int oh = g.OutH(h), ow = g.OutW(w);
        var y = new double[n * c * oh * ow];
        for (int pl = 0; pl < n * c; pl++)
            for (int p = 0; p < oh; p++)
                for (int q = 0; q < ow; q++)
                {
                    double s = 0; int cnt = 0;
                    for (int u = 0; u < g.KernelH; u++)
                        for (int v = 0; v < g.KernelW; v++)
                        {
                            int ih = p * g.StrideH - g.PadH + u, iw = q * g.StrideW - g.PadW + v;
                            // PyTorch count_include_pad: padded positions count, positions beyond the padding do not
                            if (ih < -g.PadH || ih >= h + g.PadH || iw < -g.PadW || iw >= w + g.PadW) continue;
                            bool inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
                            if (inside || !g.ExcludePad) cnt++;   // count_include_pad=False counts the real inputs only
                            if (!inside) continue;
                            s += x[(pl * h + ih) * w + iw];
                        }
                    y[(pl * oh + p) * ow + q] = s / cnt;
                }
        return y;
    }

    public static (double loss, double[] probs) SoftmaxCe(double[] logits, int[] labels, int n, int c)
    {
        var probs = new double[n * c];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < c; j++) max = Math.Max(max, logits[i * c + j]);
            double s = 0;
            for (int j = 0; j < c; j++) s += Math.Exp(logits[i * c + j] - max);
            for (int j = 0; j < c; j++) probs[i * c + j] = Math.Exp(logits[i * c + j] - max) / s;
            total += -(logits[i * c + labels[i]] - max - Math.Log(s));
        }
        return (total / n, probs);
    }
}
