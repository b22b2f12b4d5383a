using System.Numerics;

namespace NetDsl.Runtime.Tests;

public class GemmTests
{
    [Theory]
    [InlineData(1, 1, 1, false, false)]
    [InlineData(6, 32, 5, false, false)]
    [InlineData(7, 33, 17, true, false)]
    [InlineData(13, 17, 300, false, true)]
    [InlineData(100, 530, 260, true, true)]
    [InlineData(5, 9, 0, false, false)]
    // the micro-kernels' k loop runs two k at a time: an even and an odd k for the 8-row (and AVX2 6-row) kernel and for
    // the 12-row kernel (at least WideRows rows), with full and ragged tiles
    [InlineData(17, 40, 2, false, true)]
    [InlineData(17, 40, 3, true, false)]
    [InlineData(270, 40, 2, false, false)]
    [InlineData(270, 33, 3, true, true)]
    public void PackedGemmMatchesReference(int m, int n, int k, bool transA, bool transB)
    {
        foreach (var acc in new[] { false, true })
            foreach (var bk in new[] { BiasKind.None, BiasKind.Row, BiasKind.Col })
            {
                var rng = new Random(m + n + k);
                var a = TU.RandArray(rng, m * k); var b = TU.RandArray(rng, k * n); var c0 = TU.RandArray(rng, m * n + 3);
                var bias = TU.RandArray(rng, bk == BiasKind.Row ? m : n);
                var e = Ref.MatMul(a, b, m, k, n, transA, transB);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double v = e[i * n + j] + (acc ? c0[i * n + j] : 0) + (bk == BiasKind.Row ? bias[i] : bk == BiasKind.Col ? bias[j] : 0);
                        e[i * n + j] = Math.Max(v, 0);
                    }
                var c = (double[])c0.Clone();
                CpuKernels<double>.Gemm(m, n, k, a, transA ? 1 : k, transA ? m : 1, b, transB ? 1 : n, transB ? k : 1,
                    c, n, acc, bk, bias, default(ReluOp<double>));
                TU.Close(e, c[..(m * n)], 1e-12, 0, $"gemm acc={acc} bias={bk}");
                Assert.Equal(c0[(m * n)..], c[(m * n)..]);
            }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(6, 25, 784)]
    [InlineData(5, 7, 37)]
    [InlineData(16, 150, 100)]
    [InlineData(9, 4, 15)]
    public void DotFormGemmMatchesReference(int m, int n, int k)
    {
        foreach (var acc in new[] { false, true })
        {
            var rng = new Random(m * n + k);
            var a = TU.RandArray(rng, m * k); var b = TU.RandArray(rng, n * k); var c0 = TU.RandArray(rng, m * n);
            var e = Ref.MatMul(a, b, m, k, n, transB: true);
            if (acc) for (int i = 0; i < e.Length; i++) e[i] += c0[i];
            var c = (double[])c0.Clone();
            CpuKernels<double>.GemmNT(m, n, k, a, k, b, k, c, n, acc);
            TU.Close(e, c, 1e-12, 0, $"gemmNT acc={acc}");
            var cf = c0.Select(v => (float)v).ToArray();
            CpuKernels<float>.GemmNT(m, n, k, a.Select(v => (float)v).ToArray(), k, b.Select(v => (float)v).ToArray(), k, cf, n, acc);
            TU.Close(e, cf.Select(v => (double)v).ToArray(), 1e-5, 0, $"gemmNT float acc={acc}");
        }
    }
}
