using System.Numerics;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The packed GEMM against the naive reference where the blocking and the packing fast paths have edges: float and double,
/// all four transpose combinations, sizes that cross the K/M/N blocks (taken from the kernel's own constants, so the tests
/// follow a retuning), panels that are full (the 8×8 transposes) and ragged (scalar packing and zero padding), leading
/// dimensions larger than the matrix, and the epilogue applied once, in the final K block only.
/// </summary>
public class GemmBlockingTests
{
    public static IEnumerable<object[]> Shapes()
    {
        int kc = CpuKernels<float>.BlockK, mc = CpuKernels<float>.BlockM, nc = CpuKernels<float>.BlockN;
        // GEMMs with at most FusedRows rows pack B one micro-panel at a time (K blocks of BlockKFused), larger ones a whole
        // block at a time; GEMMs with at least WideRows rows use the wide micro-kernel (AVX-512: 12 rows, packed with two overlapping 8×8
        // transposes per k step); these shapes cross its panels and edges
        int wide = CpuKernels<float>.WideRows, mw = CpuKernels<float>.MRWide;
        int[][] shapes =
        [
            [wide, 32, 16],                   // the smallest wide GEMM (256 = 21 × 12 + 4 on AVX-512: a ragged last panel)
            [wide / mw * mw + mw, 64, 21],    // full wide panels only, a k tail after the transposes
            [wide + 2 * mw + 5, 40, kc + 9],  // a ragged last row and column panel, two K blocks
            [wide + 1, nc + 40, 30],          // N crosses NC with B packed a whole block at a time (more than FusedRows rows)
            [CpuKernels<float>.FusedRows, 70, CpuKernels<float>.BlockKFused + 3],  // the most rows that pack B per micro-panel, two K blocks
            [8, 32, 8],             // exactly one micro-tile, one 8-wide transpose step
            [16, 64, 24],           // full panels only
            [9, 33, 17],            // one row / column / k past the full panels
            [7, 31, 7],             // no full panel at all (scalar packing everywhere)
            [mc + 3, 40, kc + 5],   // M crosses MC, K crosses KC (two equal K blocks)
            [24, nc + 40, 70],      // N crosses NC
            [40, 48, 3 * kc + 1],   // three K blocks, a k tail after the transposes
            [wide - 1, 24, 40],     // transposed A with a ≥ 1 KB stride: full panels packed in one pass over k in groups of 8, then a ragged one
            [1, 100, 50],           // a single row
            [50, 1, 50],            // a single column
        ];
        foreach (var s in shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return [s[0], s[1], s[2], ta, tb];
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void FloatAndDoubleMatchReference(int m, int n, int k, bool transA, bool transB)
    {
        Run<double>(m, n, k, transA, transB, 1e-12);
        Run<float>(m, n, k, transA, transB, 3e-5);
    }

    private static void Run<T>(int m, int n, int k, bool transA, bool transB, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(m * 1000003 + n * 1009 + k * 7 + (transA ? 1 : 0) + (transB ? 2 : 0));
        // leading dimensions padded past the matrix, so strides are not the dimensions
        int padA = 3, padB = 5, ldc = n + 2;
        int lda = (transA ? m : k) + padA, ldb = (transB ? k : n) + padB;
        var a = TU.RandArray(rng, (transA ? k : m) * lda);
        var b = TU.RandArray(rng, (transB ? n : k) * ldb);
        var bias = TU.RandArray(rng, n);
        var c0 = TU.RandArray(rng, m * ldc + 3);

        // reference: C = relu(C0 + A·B + bias[j]), reading A and B through the padded strides
        var e = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                e[i * n + j] = Math.Max(c0[i * ldc + j] + s + bias[j], 0);
            }

        var at = a.Select(T.CreateChecked).ToArray();
        var bt = b.Select(T.CreateChecked).ToArray();
        var biast = bias.Select(T.CreateChecked).ToArray();
        var c = c0.Select(T.CreateChecked).ToArray();
        CpuKernels<T>.Gemm(m, n, k, at, transA ? 1 : lda, transA ? lda : 1, bt, transB ? 1 : ldb, transB ? ldb : 1,
            c, ldc, true, BiasKind.Col, biast, default(ReluOp<T>));

        var got = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) got[i * n + j] = double.CreateChecked(c[i * ldc + j]);
        TU.Close(e, got, tol, 0, $"gemm<{typeof(T).Name}> {m}x{n}x{k} tA={transA} tB={transB}");
        // the padding columns of C and the tail past it are untouched
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.Equal(T.CreateChecked(c0[i * ldc + j]), c[i * ldc + j]);
        for (int t = m * ldc; t < c.Length; t++) Assert.Equal(T.CreateChecked(c0[t]), c[t]);
    }
}
