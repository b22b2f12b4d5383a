namespace NetDsl.Runtime.Tests;

/// <summary>
/// The CPU tensor-op kernels (CpuKernels.Tensor.cs) in fp64 on odd sizes and views at random offsets: forward results
/// against naive multi-index loops written here, backward kernels by the adjoint identity ⟨dy, f(x)⟩ = ⟨f*(dy), x⟩ (exact for
/// these linear maps) and gram's backward by finite differences.
/// </summary>
public class TensorKernelTests
{
    private static readonly CpuKernels<double> K = CpuKernels<double>.Instance;

    private static int[] Unravel(int i, int[] s) { var r = new int[s.Length]; for (int k = s.Length - 1; k >= 0; k--) { r[k] = i % s[k]; i /= s[k]; } return r; }
    private static int Ravel(int[] idx, int[] s) { int o = 0; for (int k = 0; k < s.Length; k++) o = o * s[k] + idx[k]; return o; }
    private static int Bcast(int[] idx, int[] xs) { int off = idx.Length - xs.Length; var j = new int[xs.Length]; for (int k = 0; k < xs.Length; k++) j[k] = xs[k] == 1 ? 0 : idx[k + off]; return Ravel(j, xs); }
    private static double Dot(Tensor<double> a, Tensor<double> b) { double s = 0; var x = a.AsSpan(); var y = b.AsSpan(); for (int i = 0; i < x.Length; i++) s += x[i] * y[i]; return s; }


    public static IEnumerable<object[]> BroadcastCases() => new[]
    {
        new object[] { new[] { 3, 5, 7 }, new[] { 3, 5, 7 } },
        new object[] { new[] { 3, 5, 7 }, new[] { 7 } },
        new object[] { new[] { 3, 1, 7 }, new[] { 4, 1 } },
        new object[] { new[] { 2, 3, 4, 5 }, new[] { 2, 3, 1, 1 } },
        new object[] { new[] { 1, 9 }, new[] { 33, 1 } },
        new object[] { new[] { 2, 1, 3, 1, 2, 37 }, new[] { 5, 1, 4, 2, 1 } },
    };

    [Theory]
    [MemberData(nameof(BroadcastCases))]
    public void Broadcast_arithmetic_matches_multi_index_loops_and_sum_to_is_its_adjoint(int[] sa, int[] sb)
    {
        var rng = new Random(sa.Sum() * 31 + sb.Length);
        int r = Math.Max(sa.Length, sb.Length);
        var sy = Enumerable.Range(0, r).Select(k =>
        {
            int da = k - (r - sa.Length) >= 0 ? sa[k - (r - sa.Length)] : 1, db = k - (r - sb.Length) >= 0 ? sb[k - (r - sb.Length)] : 1;
            return Math.Max(da, db);
        }).ToArray();
        var a = TU.Rand<double>(rng, sa); var b = TU.Rand<double>(rng, sb);
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul })
        {
            var y = TU.Empty<double>(rng, sy);
            K.BroadcastBinary(a, b, y, op);
            var e = new double[y.Length];
            for (int i = 0; i < e.Length; i++)
            {
                var idx = Unravel(i, sy);
                double x = a.AsSpan()[Bcast(idx, sa)], z = b.AsSpan()[Bcast(idx, sb)];
                e[i] = op == BinaryOp.Add ? x + z : op == BinaryOp.Sub ? x - z : x * z;
            }
            Approx.Rel(e, y.AsSpan(), 1e-12, $"{op} {Tensor<double>.Format(sa)} {Tensor<double>.Format(sb)}");
        }
        // BroadcastTo(b) and SumTo are adjoint: <dy, broadcast(b)> = <sum_to(dy), b>
        var dy = TU.Rand<double>(rng, sy);
        var bb = TU.Empty<double>(rng, sy); K.BroadcastTo(b, bb, 1.0);
        var db = TU.Empty<double>(rng, sb); K.SumTo(dy, db, 1.0);
        Assert.Equal(Dot(dy, bb), Dot(db, b), 10);
        var db2 = TU.Empty<double>(rng, sb); K.SumTo(dy, db2, -0.5);
        Approx.Rel(db.AsSpan().ToArray().Select(v => -0.5 * v).ToArray(), db2.AsSpan(), 1e-12, "scaled sum_to");
        var e2 = TU.Empty<double>(rng, sy); K.BroadcastTo(b, e2, 3.0);
        Approx.Rel(bb.AsSpan().ToArray().Select(v => 3 * v).ToArray(), e2.AsSpan(), 1e-12, "scaled broadcast_to");
    }

    [Fact]
    public void Broadcast_kernels_name_both_shapes_when_they_do_not_broadcast()
    {
        var rng = new Random(1);
        var ex = Assert.Throws<ArgumentException>(() => K.BroadcastBinary(TU.Rand<double>(rng, 3, 4), TU.Rand<double>(rng, 5), TU.Empty<double>(rng, 3, 4), BinaryOp.Add));
        Assert.Contains("[3, 4]", ex.Message); Assert.Contains("[5]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => K.SumTo(TU.Rand<double>(rng, 3, 4), TU.Empty<double>(rng, 3, 2), 1.0));
        Assert.Contains("[3, 2]", ex.Message); Assert.Contains("[3, 4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => K.MatMul(TU.Rand<double>(rng, 3, 4), TU.Rand<double>(rng, 5, 2), TU.Empty<double>(rng, 3, 2)));
        Assert.Contains("[5, 2]", ex.Message);
    }

    public static IEnumerable<object[]> MatMulCases() => new[]
    {
        new object[] { new[] { 7, 13 }, new[] { 13, 9 } },
        new object[] { new[] { 3, 7, 13 }, new[] { 13, 9 } },
        new object[] { new[] { 2, 3, 7, 5 }, new[] { 2, 3, 5, 11 } },
        new object[] { new[] { 7, 5 }, new[] { 4, 5, 6 } },
        new object[] { new[] { 2, 1, 7, 5 }, new[] { 3, 5, 33 } },
        new object[] { new[] { 4, 70, 40 }, new[] { 4, 40, 50 } },
    };

    [Theory]
    [MemberData(nameof(MatMulCases))]
    public void Matmul_matches_naive_loops_and_its_backward_is_the_adjoint(int[] sa, int[] sb)
    {
        var rng = new Random(sa.Sum() + 7 * sb.Sum());
        int m = sa[^2], k = sa[^1], n = sb[^1];
        var ba = sa[..^2]; var bbs = sb[..^2];
        int r = Math.Max(ba.Length, bbs.Length);
        var yb = Enumerable.Range(0, r).Select(i => Math.Max(i - (r - ba.Length) >= 0 ? ba[i - (r - ba.Length)] : 1, i - (r - bbs.Length) >= 0 ? bbs[i - (r - bbs.Length)] : 1)).ToArray();
        var sy = yb.Concat(new[] { m, n }).ToArray();
        var a = TU.Rand<double>(rng, sa); var b = TU.Rand<double>(rng, sb); var y = TU.Empty<double>(rng, sy);
        K.MatMul(a, b, y);
        int nb = yb.Aggregate(1, (p, d) => p * d);
        var e = new double[y.Length];
        for (int bi = 0; bi < nb; bi++)
        {
            var idx = Unravel(bi, yb);
            int ab = Bcast(idx, ba), bbi = Bcast(idx, bbs);
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int q = 0; q < k; q++) s += a.AsSpan()[(ab * m + i) * k + q] * b.AsSpan()[(bbi * k + q) * n + j];
                e[(bi * m + i) * n + j] = s;
            }
        }
        Approx.Rel(e, y.AsSpan(), 1e-11, "matmul");
        // y is bilinear: <dy, a·b> = <dA(dy), a> = <dB(dy), b>
        var dy = TU.Rand<double>(rng, sy);
        var da = TU.Empty<double>(rng, sa); var db = TU.Empty<double>(rng, sb);
        K.MatMulBackwardA(dy, b, da);
        K.MatMulBackwardB(a, dy, db);
        double lhs = Dot(dy, y);
        Assert.Equal(lhs, Dot(da, a), 9);
        Assert.Equal(lhs, Dot(db, b), 9);
    }

    [Fact]
    public void Permute_slice_and_concat_match_multi_index_loops_and_their_backwards_are_adjoints()
    {
        var rng = new Random(5);
        int[] xs = [3, 4, 5, 7];
        var x = TU.Rand<double>(rng, xs);
        foreach (var perm in new[] { new[] { 0, 2, 3, 1 }, new[] { 3, 2, 1, 0 }, new[] { 0, 1, 3, 2 }, new[] { 0, 1, 2, 3 } })
        {
            var ys = perm.Select(p => xs[p]).ToArray();
            var y = TU.Empty<double>(rng, ys);
            K.Permute(x, y, perm);
            var e = new double[y.Length];
            for (int i = 0; i < e.Length; i++) { var yi = Unravel(i, ys); var xi = new int[4]; for (int d = 0; d < 4; d++) xi[perm[d]] = yi[d]; e[i] = x.AsSpan()[Ravel(xi, xs)]; }
            Approx.Rel(e, y.AsSpan(), 1e-12, "permute " + string.Join(",", perm));
        }
        foreach (var (axis, start, len, step) in new[] { (1, 1, 2, 2), (3, 0, 3, 3), (2, 4, 1, 1), (0, 0, 3, 1) })
        {
            var ys = (int[])xs.Clone(); ys[axis] = len;
            var y = TU.Empty<double>(rng, ys);
            K.Slice(x, y, axis, start, step);
            var e = new double[y.Length];
            for (int i = 0; i < e.Length; i++) { var idx = Unravel(i, ys); idx[axis] = start + step * idx[axis]; e[i] = x.AsSpan()[Ravel(idx, xs)]; }
            Approx.Rel(e, y.AsSpan(), 1e-12, $"slice axis {axis}");
            var dy = TU.Rand<double>(rng, ys); var dx = TU.Empty<double>(rng, xs);
            K.SliceBackward(dy, dx, axis, start, step);
            Assert.Equal(Dot(dy, y), Dot(dx, x), 10);
        }
        for (int axis = 0; axis < 4; axis++)
        {
            var s1 = (int[])xs.Clone(); s1[axis] = 2; var s2 = (int[])xs.Clone(); s2[axis] = 1;
            var p1 = TU.Rand<double>(rng, s1); var p2 = TU.Rand<double>(rng, s2);
            var ys = (int[])xs.Clone(); ys[axis] = xs[axis] + 3;
            var y = TU.Empty<double>(rng, ys);
            K.Concat([x, p1, p2], y, axis);
            var e = new double[y.Length];
            var parts = new[] { x, p1, p2 };
            for (int i = 0; i < e.Length; i++)
            {
                var idx = Unravel(i, ys); int p = 0;
                while (idx[axis] >= parts[p].Shape[axis]) idx[axis] -= parts[p++].Shape[axis];
                e[i] = parts[p].AsSpan()[Ravel(idx, parts[p].Shape)];
            }
            Approx.Rel(e, y.AsSpan(), 1e-12, $"concat axis {axis}");
            var dy = TU.Rand<double>(rng, ys);
            var d0 = TU.Empty<double>(rng, xs); var d1 = TU.Empty<double>(rng, s1); var d2 = TU.Empty<double>(rng, s2);
            K.ConcatBackward(dy, [d0, d1, d2], axis);
            Assert.Equal(Dot(dy, y), Dot(d0, x) + Dot(d1, p1) + Dot(d2, p2), 10);
        }
    }

    [Fact]
    public void Gram_matches_its_definition_and_finite_differences()
    {
        var rng = new Random(9);
        int N = 2, C = 5, H = 3, W = 7;
        var x = TU.Rand<double>(rng, N, C, H, W);
        var g = TU.Empty<double>(rng, N, C, C);
        K.Gram(x, g);
        var e = new double[N * C * C];
        for (int n = 0; n < N; n++) for (int i = 0; i < C; i++) for (int j = 0; j < C; j++)
        {
            double s = 0;
            for (int p = 0; p < H * W; p++) s += x.AsSpan()[(n * C + i) * H * W + p] * x.AsSpan()[(n * C + j) * H * W + p];
            e[(n * C + i) * C + j] = s / (C * H * W);
        }
        Approx.Rel(e, g.AsSpan(), 1e-12, "gram");
        var dg = TU.Rand<double>(rng, N, C, C);
        var dx = TU.Empty<double>(rng, N, C, H, W);
        K.GramBackward(dg, x, dx);
        var xs = x.AsSpan();
        foreach (int i in new[] { 0, 17, 40, 104, N * C * H * W - 1 })
        {
            double old = xs[i], h = 1e-6;
            xs[i] = old + h; K.Gram(x, g); double up = Dot(dg, g);
            xs[i] = old - h; K.Gram(x, g); double down = Dot(dg, g);
            xs[i] = old;
            Assert.Equal((up - down) / (2 * h), dx.AsSpan()[i], 7);
        }
    }
}
