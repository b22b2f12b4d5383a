using System.Numerics;
using NetDsl.Runtime;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// CPU attention kernels against naive loops written here (odd sizes, heads, causal and length masks, a row with no visible
/// key), the backward against fp64 finite differences (with and without attention dropout), positional encoding against
/// the textbook formula, the class token, and shape errors.
/// </summary>
public class AttentionKernelTests
{
    private static CpuKernels<T> K<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T> => CpuKernels<T>.Instance;

    private static Tensor<T> T_<T>(double[] d, params int[] s) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Tensor<T>.FromArray(d.Select(T.CreateChecked).ToArray(), s);
    private static double[] D<T>(Tensor<T> t) where T : unmanaged, IBinaryFloatingPointIeee754<T> => t.AsSpan().ToArray().Select(double.CreateChecked).ToArray();

    /// <summary>Naive softmax(scale·QKᵀ + mask)·V in double: B batches, per = batches per sample.</summary>
    private static (double[] Y, double[] P) Naive(double[] q, double[] k, double[] v, int b, int tq, int tk, int d, int dv, double scale, bool causal, int[]? lengths, int per)
    {
        var y = new double[b * tq * dv]; var p = new double[b * tq * tk];
        for (int bi = 0; bi < b; bi++)
        for (int i = 0; i < tq; i++)
        {
            var vis = Enumerable.Range(0, tk).Where(j => (!causal || j <= i) && (lengths == null || j < lengths[bi / per])).ToArray();
            if (vis.Length == 0) continue;
            var s = vis.Select(j => scale * Enumerable.Range(0, d).Sum(c => q[(bi * tq + i) * d + c] * k[(bi * tk + j) * d + c])).ToArray();
            double m = s.Max(), z = s.Sum(x => Math.Exp(x - m));
            for (int a = 0; a < vis.Length; a++) p[(bi * tq + i) * tk + vis[a]] = Math.Exp(s[a] - m) / z;
            for (int c = 0; c < dv; c++)
                y[(bi * tq + i) * dv + c] = Enumerable.Range(0, tk).Sum(j => p[(bi * tq + i) * tk + j] * v[(bi * tk + j) * dv + c]);
        }
        return (y, p);
    }

    public static IEnumerable<object[]> Configs() => new[]
    {
        // N, H (0: 3-D), Tq, Tk, D, Dv, causal, lengths
        new object[] { 3, 0, 7, 7, 5, 5, false, null! },
        new object[] { 2, 3, 9, 11, 13, 6, true, null! },
        new object[] { 2, 2, 17, 19, 8, 9, true, new[] { 0, 13 } },
        new object[] { 3, 0, 33, 40, 16, 16, false, new[] { 40, 1, 21 } },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_matches_naive_loops(int n, int h, int tq, int tk, int d, int dv, bool causal, int[]? lengths)
    {
        Run<double>(n, h, tq, tk, d, dv, causal, lengths, 1e-12);
        Run<float>(n, h, tq, tk, d, dv, causal, lengths, 2e-5);
    }

    private static int[] Sh(int n, int h, int t, int c) => h == 0 ? [n, t, c] : [n, h, t, c];

    private static void Run<T>(int n, int h, int tq, int tk, int d, int dv, bool causal, int[]? lengths, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var r = new Random(tq * 31 + tk);
        int b = n * Math.Max(h, 1);
        double[] q = TU.RandArray(r, b * tq * d), k = TU.RandArray(r, b * tk * d), v = TU.RandArray(r, b * tk * dv);
        double scale = 1 / Math.Sqrt(d);
        var (ye, pe) = Naive(q, k, v, b, tq, tk, d, dv, scale, causal, lengths, Math.Max(h, 1));
        var y = Tensor<T>.Zeros(Sh(n, h, tq, dv)); var p = Tensor<T>.Zeros(Sh(n, h, tq, tk));
        K<T>().AttentionForward(T_<T>(q, Sh(n, h, tq, d)), T_<T>(k, Sh(n, h, tk, d)), T_<T>(v, Sh(n, h, tk, dv)),
            lengths == null ? null : Tensor<int>.FromArray(lengths, n), y, p, null, T.CreateChecked(scale), causal, T.Zero, 0);
        Approx.Rel(pe, D(p), tol, "probs");
        Approx.Rel(ye, D(y), tol, "y");
    }

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(true, 0.0)]
    [InlineData(true, 0.4)]
    public void Backward_matches_finite_differences(bool causal, double p)
    {
        const int n = 2, h = 2, tq = 5, tk = 6, d = 3, dv = 4;
        var r = new Random(3);
        int b = n * h;
        double[] q = TU.RandArray(r, b * tq * d), k = TU.RandArray(r, b * tk * d), v = TU.RandArray(r, b * tk * dv), w = TU.RandArray(r, b * tq * dv);
        var lengths = Tensor<int>.FromArray([6, 4], n);
        var kern = K<double>();
        double Loss(double[] qq, double[] kk, double[] vv)
        {
            var y = Tensor<double>.Zeros(n, h, tq, dv);
            kern.AttentionForward(T_<double>(qq, n, h, tq, d), T_<double>(kk, n, h, tk, d), T_<double>(vv, n, h, tk, dv), lengths, y,
                Tensor<double>.Zeros(n, h, tq, tk), p > 0 ? Tensor<double>.Zeros(n, h, tq, tk) : null, 0.7, causal, p, 1234);
            return D(y).Zip(w).Sum(t => t.First * t.Second);
        }
        var probs = Tensor<double>.Zeros(n, h, tq, tk); var dropped = p > 0 ? Tensor<double>.Zeros(n, h, tq, tk) : null;
        var yy = Tensor<double>.Zeros(n, h, tq, dv);
        var tq_ = T_<double>(q, n, h, tq, d); var tk_ = T_<double>(k, n, h, tk, d); var tv_ = T_<double>(v, n, h, tk, dv);
        kern.AttentionForward(tq_, tk_, tv_, lengths, yy, probs, dropped, 0.7, causal, p, 1234);
        if (p > 0)
        {
            var dr = D(dropped!); var pr = D(probs);
            int zeros = dr.Where((x, i) => pr[i] > 0 && x == 0).Count(), visible = pr.Count(x => x > 0);
            Assert.InRange(zeros / (double)visible, p - 0.2, p + 0.2);   // about p of the visible weights are dropped
        }
        var dq = Tensor<double>.Zeros(n, h, tq, d); var dk = Tensor<double>.Zeros(n, h, tk, d); var dvv = Tensor<double>.Zeros(n, h, tk, dv);
        kern.AttentionBackward(T_<double>(w, n, h, tq, dv), tq_, tk_, tv_, probs, dropped, dq, dk, dvv, Tensor<double>.Zeros(n, h, tq, tk), 0.7, p);
        void Fd(double[] x, double[] g, Func<double[], double> f, string what)
        {
            for (int i = 0; i < x.Length; i += 3)
            {
                var a = (double[])x.Clone(); a[i] += 1e-6; var c = (double[])x.Clone(); c[i] -= 1e-6;
                double fd = (f(a) - f(c)) / 2e-6;
                Assert.True(Math.Abs(fd - g[i]) <= 1e-6 * (1 + Math.Abs(fd)), $"{what}[{i}]: backward {g[i]}, finite difference {fd}");
            }
        }
        Fd(q, D(dq), x => Loss(x, k, v), "dq");
        Fd(k, D(dk), x => Loss(q, x, v), "dk");
        Fd(v, D(dvv), x => Loss(q, k, x), "dv");
    }

    [Fact]
    public void A_query_with_no_visible_key_gets_zero_output_and_gradient()
    {
        var y = Tensor<double>.Zeros(1, 2, 2); var p = Tensor<double>.Zeros(1, 2, 3);
        var q = Tensor<double>.FromArray([1, 2, 3, 4], 1, 2, 2); var k = Tensor<double>.FromArray([1, 0, 0, 1, 1, 1], 1, 3, 2);
        K<double>().AttentionForward(q, k, k, Tensor<int>.FromArray([0], 1), y, p, null, 1, false, 0, 0);
        Assert.All(D(y).Concat(D(p)), x => Assert.Equal(0, x));
    }

    [Fact]
    public void Positional_encoding_is_the_sinusoid_with_base_10000()
    {
        var x = Tensor<double>.Zeros(2, 50, 6); var y = Tensor<double>.Zeros(2, 50, 6);
        K<double>().AddPositionalEncoding(x, y, 10000);
        for (int t = 0; t < 50; t++)
            for (int i = 0; i < 3; i++)
            {
                double angle = t / Math.Pow(10000, 2.0 * i / 6);
                Assert.Equal(Math.Sin(angle), y[1, t, 2 * i], 12);
                Assert.Equal(Math.Cos(angle), y[1, t, 2 * i + 1], 12);
            }
    }

    [Fact]
    public void Class_token_prepends_a_row_and_sums_its_gradient()
    {
        var x = Tensor<double>.FromArray([1, 2, 3, 4, 5, 6, 7, 8], 2, 2, 2); var tok = Tensor<double>.FromArray([9, 10], 1, 1, 2);
        var y = Tensor<double>.Zeros(2, 3, 2);
        K<double>().ClassTokenForward(x, tok, y);
        Assert.Equal(new double[] { 9, 10, 1, 2, 3, 4, 9, 10, 5, 6, 7, 8 }, D(y));
        var dx = Tensor<double>.Zeros(2, 2, 2); var dt = Tensor<double>.Zeros(1, 1, 2);
        K<double>().ClassTokenBackward(Tensor<double>.FromArray(Enumerable.Range(1, 12).Select(i => (double)i).ToArray(), 2, 3, 2), dx, dt);
        Assert.Equal(new double[] { 1 + 7, 2 + 8 }, D(dt));
        Assert.Equal(new double[] { 3, 4, 5, 6, 9, 10, 11, 12 }, D(dx));
    }

    [Fact]
    public void Shape_errors_name_expected_and_actual()
    {
        var e = Assert.Throws<ArgumentException>(() => K<float>().AttentionForward(Tensor<float>.Zeros(2, 5, 4), Tensor<float>.Zeros(2, 6, 4),
            Tensor<float>.Zeros(2, 7, 3), null, Tensor<float>.Zeros(2, 5, 3), Tensor<float>.Zeros(2, 5, 6), null, 1f, false, 0f, 0));
        Assert.Contains("v: expected shape [2, 6, Dv] to match k [2, 6, 4], got [2, 7, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K<float>().AttentionForward(Tensor<float>.Zeros(2, 5, 4), Tensor<float>.Zeros(2, 6, 4),
            Tensor<float>.Zeros(2, 6, 3), Tensor<int>.Zeros(3), Tensor<float>.Zeros(2, 5, 3), Tensor<float>.Zeros(2, 5, 6), null, 1f, false, 0f, 0));
        Assert.Contains("lengths: expected shape [2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => K<float>().LinearForward(Tensor<float>.Zeros(2, 3, 4), Tensor<float>.Zeros(5, 4), null,
            Tensor<float>.Zeros(2, 5), default(Identity<float>), default(Identity<float>)));
        Assert.Contains("y: expected shape [2, 3, 5] for x [2, 3, 4], got [2, 5]", e.Message);
    }

    [Fact]
    public void Linear_on_a_sequence_is_linear_on_its_rows()
    {
        var r = new Random(8);
        var x = TU.RandArray(r, 2 * 3 * 4); var w = TU.RandArray(r, 5 * 4); var bb = TU.RandArray(r, 5);
        var y3 = Tensor<double>.Zeros(2, 3, 5); var y2 = Tensor<double>.Zeros(6, 5);
        K<double>().LinearForward(T_<double>(x, 2, 3, 4), T_<double>(w, 5, 4), T_<double>(bb, 5), y3, default(Identity<double>), default(Identity<double>));
        K<double>().LinearForward(T_<double>(x, 6, 4), T_<double>(w, 5, 4), T_<double>(bb, 5), y2, default(Identity<double>), default(Identity<double>));
        Assert.Equal(D(y2), D(y3));
    }
}
