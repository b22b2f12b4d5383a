using AcceleratorType = ILGPU.Runtime.AcceleratorType;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Ilgpu;

namespace NetDsl.Tests;

/// <summary>
/// The shared-memory tiled GEMM (GpuKernels.TiledGemm) against a double-precision host product: every transpose variant,
/// bias per row / per column / none, a fused epilogue, batches, and sizes that are not multiples of any tile dimension
/// (partial tiles in M and N, and a partial last K stage).
/// </summary>
[Collection("ilgpu")]
public class IlgpuGemmTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;

    internal static void CheckGemm(IlgpuDevice dev, int batches, int m, int n, int k, bool transA, bool transB, int biasMode, bool relu, int seed,
        bool allowSplit = false)
    {
        var kernels = (IlgpuKernels)dev.Kernels<float>();
        var a = Seeded.Floats(batches * m * k, seed);
        var b = Seeded.Floats(batches * k * n, seed + 1);
        var bias = biasMode == 0 ? null : Seeded.Floats(biasMode == 1 ? batches * m : n, seed + 2);
        var ga = dev.Allocate<float>(batches * m * k); ga.CopyFromHost(a);
        var gb = dev.Allocate<float>(batches * k * n); gb.CopyFromHost(b);
        Tensor<float>? gbias = null;
        if (bias is not null) { gbias = dev.Allocate<float>(bias.Length); gbias.CopyFromHost(bias); }
        var gy = dev.Allocate<float>(Math.Max(1, batches * m * n));
        gy.CopyFromHost(Enumerable.Repeat(float.NaN, gy.Length).ToArray()); // every element must be written
        if (relu) kernels.GemmForTests(ga, transA, gb, transB, gbias, biasMode, gy, batches, m, n, k, new ReluOp());
        else kernels.GemmForTests(ga, transA, gb, transB, gbias, biasMode, gy, batches, m, n, k, new Identity<float>(), allowSplit);
        var y = gy.CopyToHost();
        string what = $"gemm z={batches} {m}x{n}x{k} transA={transA} transB={transB} bias={biasMode} relu={relu} split={allowSplit}";
        for (int z = 0; z < batches; z++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = biasMode == 1 ? bias![z * m + i] : biasMode == 2 ? bias![j] : 0.0;
                    for (int q = 0; q < k; q++)
                    {
                        float av = transA ? a[z * m * k + q * m + i] : a[z * m * k + i * k + q];
                        float bv = transB ? b[z * k * n + j * k + q] : b[z * k * n + q * n + j];
                        s += (double)av * bv;
                    }
                    if (relu && s < 0) s = 0;
                    float got = y[(z * m + i) * n + j];
                    Assert.True(Math.Abs(got - s) <= 1e-5 * (1 + Math.Abs(s)) * Math.Sqrt(k + 1), $"{what}: y[{z}, {i}, {j}] = {got}, expected {s}");
                }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Tiled_gemm_matches_a_double_product_for_every_transpose_variant(bool transA, bool transB)
    {
        // 37 × 29 × 150: partial 16 × 16 tiles on the simulator, two K stages (128 + 22)
        CheckGemm(_dev, 1, 37, 29, 150, transA, transB, biasMode: 2, relu: true, seed: 11);
        CheckGemm(_dev, 2, 19, 6, 33, transA, transB, biasMode: 1, relu: false, seed: 12);
        CheckGemm(_dev, 1, 5, 41, 3, transA, transB, biasMode: 0, relu: true, seed: 13);
    }

    [Fact]
    public void Split_k_sums_long_products_of_few_tiles()
    {
        // few output tiles and a long K: the K splits add into the zeroed output (bias once)
        Assert.Equal(1, IlgpuKernels.GemmSplits(tiles: 64, k: 100000, depth: 32));
        Assert.Equal(1, IlgpuKernels.GemmSplits(tiles: 1, k: 100, depth: 32));
        Assert.Equal(8, IlgpuKernels.GemmSplits(tiles: 8, k: 100000, depth: 32));
        Assert.Equal(3, IlgpuKernels.GemmSplits(tiles: 1, k: 400, depth: 32));
        WithSplitK(() =>
        {
            CheckGemm(_dev, 1, 5, 7, 611, true, false, biasMode: 2, relu: false, seed: 41, allowSplit: true);
            CheckGemm(_dev, 2, 6, 3, 1300, false, true, biasMode: 1, relu: false, seed: 42, allowSplit: true);
        });
    }

    /// <summary>Split-K is off on the CPU simulator (GPUs only); on for the duration of <paramref name="body"/>.</summary>
    private void WithSplitK(Action body)
    {
        var kernels = (IlgpuKernels)_dev.Kernels<float>();
        bool was = kernels.SplitK;
        kernels.SplitK = true;
        try { body(); }
        finally { kernels.SplitK = was; }
    }

    [Fact]
    public void Tiled_gemm_handles_degenerate_sizes()
    {
        CheckGemm(_dev, 1, 1, 1, 1, false, false, biasMode: 2, relu: false, seed: 21);
        CheckGemm(_dev, 3, 1, 7, 1, true, true, biasMode: 1, relu: true, seed: 22);
        CheckGemm(_dev, 1, 2, 3, 0, false, false, biasMode: 1, relu: false, seed: 23); // K = 0: bias (or zero) only
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 1, 3)]
    public void Implicit_gemm_convolution_spans_several_tiles_and_matches_the_reference(int stride, int pad, int groups)
    {
        // 21 filters × 2·7·6 pixels, 3·3·(12/groups) taps: several tiles in every direction on the simulator
        var k = _dev.Kernels<float>();
        var r = ReferenceKernels<float>.Instance;
        var g = new ConvGeometry(stride, stride, pad, pad, 1, 1, groups);
        int n = 2, c = 12, h = 7, w = 6, kf = 21, kh = 3, kw = 3;
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var (x, xc) = _dev.Pair(1, n, c, h, w);
        var (wt, wc) = _dev.Pair(2, kf, c / groups, kh, kw);
        var (b, bc) = _dev.Pair(3, kf);
        var (dy, dyc) = _dev.Pair(4, n, kf, oh, ow);
        var y = _dev.Allocate<float>(n, kf, oh, ow); var yc = Tensor<float>.Zeros(n, kf, oh, ow);
        k.Conv2dForward(x, wt, b, y, g, default(ReluOp), new ReluOp());
        r.Conv2dForward(xc, wc, bc, yc, g, default(ReluOp), new ReluOp());
        Close(yc, y, "y");
        var dx = _dev.Allocate<float>(n, c, h, w); var dxc = Tensor<float>.Zeros(n, c, h, w);
        k.Conv2dBackwardData(dy, wt, dx, g);
        r.Conv2dBackwardData(dyc, wc, dxc, g);
        Close(dxc, dx, "dx");
        var dw = _dev.Allocate<float>(kf, c / groups, kh, kw); var dwc = Tensor<float>.Zeros(kf, c / groups, kh, kw);
        var db = _dev.Allocate<float>(kf); var dbc = Tensor<float>.Zeros(kf);
        k.Conv2dBackwardFilter(dy, x, dw, db, g);
        r.Conv2dBackwardFilter(dyc, xc, dwc, dbc, g);
        Close(dwc, dw, "dw");
        Close(dbc, db, "db");
    }

    [Fact]
    public void Filter_gradients_with_a_long_batch_axis_split_k_and_match_the_reference() => WithSplitK(() =>
    {
        // conv dw: 3 × 18 outputs (one tile) over K = 4·20·20 = 1600 → several K splits; linear dw likewise over 700 rows
        var k = _dev.Kernels<float>();
        var r = ReferenceKernels<float>.Instance;
        var g = new ConvGeometry(1, 1, 1, 1, 1, 1, 1);
        var (x, xc) = _dev.Pair(1, 4, 2, 20, 20);
        var (dy, dyc) = _dev.Pair(2, 4, 3, 20, 20);
        var dw = _dev.Allocate<float>(3, 2, 3, 3); var dwc = Tensor<float>.Zeros(3, 2, 3, 3);
        var db = _dev.Allocate<float>(3); var dbc = Tensor<float>.Zeros(3);
        k.Fill(dw, float.NaN); // split-K zeroes its output first
        k.Conv2dBackwardFilter(dy, x, dw, db, g);
        r.Conv2dBackwardFilter(dyc, xc, dwc, dbc, g);
        Close(dwc, dw, "conv dw");
        Close(dbc, db, "conv db");
        var (lx, lxc) = _dev.Pair(3, 700, 5);
        var (ldy, ldyc) = _dev.Pair(4, 700, 6);
        var ldw = _dev.Allocate<float>(6, 5); var ldwc = Tensor<float>.Zeros(6, 5);
        k.Fill(ldw, float.NaN);
        k.LinearBackwardFilter(ldy, lx, ldw, null);
        r.LinearBackwardFilter(ldyc, lxc, ldwc, null);
        Close(ldwc, ldw, "linear dw");
    });

    [Fact]
    public void Group_shape_covers_small_problems_and_respects_the_group_limit()
    {
        var kernels = (IlgpuKernels)_dev.Kernels<float>();
        int max = Math.Min(256, _dev.Accelerator.MaxNumThreadsPerGroup);
        foreach (var (m, n) in new[] { (1, 1), (6, 1568), (64, 64), (1000, 3), (3, 1000), (37, 29) })
        {
            var (x, y) = kernels.GemmGroupShape(m, n);
            Assert.True(x * y <= max && x >= 1 && y >= 1 && x <= 16 && y <= 16, $"{m}x{n}: group {x}x{y}");
            Assert.True((x & (x - 1)) == 0 && (y & (y - 1)) == 0, $"{m}x{n}: group {x}x{y} not powers of two");
        }
        Assert.Equal((1, 1), kernels.GemmGroupShape(1, 1));
    }
}

/// <summary>
/// The same GEMM checks on a CPU simulator with GPU-like groups (ILGPU's warp-32 CPU device: 256-thread groups, 64 × 64
/// tiles), the shape a real GPU runs; one small case per transpose variant (big groups are slow on the simulator).
/// </summary>
public class IlgpuGemmWideGroupTests
{
    [Fact]
    public void Tiled_gemm_with_16x16_groups_matches_a_double_product()
    {
        using var dev = new IlgpuDevice(AcceleratorType.CPU, index: 1);
        Assert.True(dev.Accelerator.MaxNumThreadsPerGroup >= 256, dev.Name);
        var kernels = (IlgpuKernels)dev.Kernels<float>();
        Assert.Equal((16, 16), kernels.GemmGroupShape(70, 67));
        // 64 × 64 tiles, 32-deep stages: two tiles each way, two K stages (32 + 13)
        IlgpuGemmTests.CheckGemm(dev, 1, 70, 67, 45, false, true, biasMode: 2, relu: true, seed: 31);
    }
}
