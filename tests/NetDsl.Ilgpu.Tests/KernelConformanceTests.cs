using NetDsl.Runtime;
using System.Runtime.Intrinsics;

namespace NetDsl.Tests;

/// <summary>
/// One call of a kernel method on one implementation: hands out the same seeded inputs for every implementation (a
/// counter seeds each tensor, so the k-th input of a row is the same everywhere) and records the outputs to compare.
/// Outputs start as NaN, so an element a kernel fails to write shows up.
/// </summary>
public sealed class KernelRun(IKernels<float> kernels, Func<float[], int[], Tensor<float>> upload, Func<int[], int[], Tensor<int>> uploadInts)
{
    private int _seed;
    public IKernels<float> K => kernels;
    public List<(string Name, Tensor<float> Value)> Outputs { get; } = [];
    public List<(string Name, Tensor<int> Value)> IntOutputs { get; } = [];

    /// <summary>Uniform in [−1, 1).</summary>
    public Tensor<float> In(params int[] shape) => upload(Seeded.Floats(Tensor<float>.ShapeLength(shape), ++_seed), shape);

    /// <summary>Uniform in [lo, lo + 1) (variances, scales, temperatures).</summary>
    public Tensor<float> Pos(float lo, params int[] shape) =>
        upload(Seeded.Floats(Tensor<float>.ShapeLength(shape), ++_seed).Select(v => lo + (v + 1) / 2).ToArray(), shape);

    public Tensor<float> Scalar(float v) => upload([v], [1]);

    /// <summary>An output, NaN until the kernel writes it.</summary>
    public Tensor<float> Out(string name, params int[] shape)
    {
        var t = upload(Enumerable.Repeat(float.NaN, Tensor<float>.ShapeLength(shape)).ToArray(), shape);
        Outputs.Add((name, t));
        return t;
    }

    /// <summary>An output the kernel updates in place (accumulates, optimizer state): starts seeded.</summary>
    public Tensor<float> InOut(string name, params int[] shape)
    {
        var t = In(shape);
        Outputs.Add((name, t));
        return t;
    }

    public Tensor<int> Ints(int[] values, params int[] shape) => uploadInts(values, shape);

    /// <summary>Class labels 0..classes−1 (a fixed pattern that hits every class).</summary>
    public Tensor<int> Labels(int n, int classes) => Ints(Enumerable.Range(0, n).Select(i => (i * 7 + 3) % classes).ToArray(), n);

    public Tensor<int> IntOut(string name, params int[] shape)
    {
        var t = uploadInts(Enumerable.Repeat(-1, Tensor<int>.ShapeLength(shape)).ToArray(), shape);
        IntOutputs.Add((name, t));
        return t;
    }
}

/// <summary>A row of the conformance table: a kernel method, the shape case, and the call.</summary>
public sealed record KernelCase(string Method, string Shape, Action<KernelRun> Call, float Tol = 1e-4f)
{
    public override string ToString() => $"{Method} {Shape}";
}

/// <summary>
/// The kernel contract, table-driven: every row runs one kernel method on the same inputs through the naive
/// <see cref="ReferenceKernels{T}"/> (the oracle), <see cref="CpuKernels{T}"/> and <see cref="IlgpuKernels"/> (ILGPU's CPU
/// accelerator), and every output of the CPU and ILGPU kernels must equal the reference's within the row's tolerance
/// (|e − a| ≤ tol·(1 + |e|)). Shapes include odd sizes past a vector width (37, 67, 1027: the Vector256/Vector512 tails) and
/// sizes that are not multiples of the GEMM tiles. The random-stream kernels (dropout, random fill, sampling) are not here:
/// their masks are checked by their properties in IlgpuKernelTests and ElementwiseTests.
/// </summary>
[Collection("ilgpu")]
public class KernelConformanceTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;

    private static readonly ConvGeometry S1P1 = ConvGeometry.Of(1, 1), S2P1 = ConvGeometry.Of(2, 1);
    private static readonly Identity<float> Id = default;

    private static IEnumerable<KernelCase> Table()
    {
        // ---- element-wise drivers (vector tails: 37 = 2·16 + 5, 1027 = 64·16 + 3)
        foreach (int n in new[] { 37, 1027 })
        {
            yield return new("Map1", $"[{n}]", r => r.K.Map(r.In(n), r.Out("y", n), default(ReluOp), default(ReluOp)));
            yield return new("Map2", $"[{n}]", r => r.K.Map(r.In(n), r.In(n), r.Out("y", n), new AxpyOp(0.5f), new AxpyOp(0.5f)));
            yield return new("Map3", $"[{n}]", r => r.K.Map(r.In(n), r.In(n), r.In(n), r.Out("y", n), default(MulAddOp), default(MulAddOp)));
            yield return new("Fill", $"[{n}]", r => r.K.Fill(r.Out("y", n), 0.25f));
            yield return new("Copy", $"[{n}]", r => r.K.Copy(r.In(n), r.Out("dst", n)));
            yield return new("Accumulate", $"[{n}]", r => r.K.Accumulate(r.In(n), r.InOut("dst", n)));
            yield return new("SgdStep", $"[{n}] nesterov", r => r.K.SgdStep(r.InOut("param", n), r.In(n), r.InOut("velocity", n), 0.1f, 0.9f, 0.01f, true));
            yield return new("AdamStep", $"[{n}] step 3", r => r.K.AdamStep(r.InOut("param", n), r.In(n), r.InOut("m", n), Abs(r.InOut("v", n), r), 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 3));
        }
        yield return new("SgdStep (group)", "[5], [37]", r => r.K.SgdStep([r.InOut("p0", 5), r.InOut("p1", 37)], [r.In(5), r.In(37)], [r.InOut("v0", 5), r.InOut("v1", 37)], 0.1f, 0.9f, 0f, false));
        yield return new("AdamStep (group)", "[5], [37]", r => r.K.AdamStep([r.InOut("p0", 5), r.InOut("p1", 37)], [r.In(5), r.In(37)], [r.InOut("m0", 5), r.InOut("m1", 37)],
            [Abs(r.InOut("v0", 5), r), Abs(r.InOut("v1", 37), r)], 0.01f, 0.9f, 0.999f, 1e-8f, 0f, 1));

        // ---- linear and matmul (M, K, O not multiples of any tile)
        foreach (var (m, k, o) in new[] { (3, 5, 4), (37, 67, 19) })
        {
            string s = $"x[{m},{k}] w[{o},{k}]";
            yield return new("LinearForward", s, r => r.K.LinearForward(r.In(m, k), r.In(o, k), r.In(o), r.Out("y", m, o), default(ReluOp), default(ReluOp)));
            yield return new("LinearBackwardData", s, r => r.K.LinearBackwardData(r.In(m, o), r.In(o, k), r.Out("dx", m, k)));
            yield return new("LinearBackwardFilter", s, r => r.K.LinearBackwardFilter(r.In(m, o), r.In(m, k), r.Out("dw", o, k), r.Out("db", o)));
            yield return new("LinearBackwardFilterAccumulate", s, r => r.K.LinearBackwardFilterAccumulate(r.In(m, o), r.In(m, k), r.InOut("dw", o, k), r.InOut("db", o)));
            yield return new("MatMul", $"[2,{m},{k}]·[{k},{o}]", r => r.K.MatMul(r.In(2, m, k), r.In(k, o), r.Out("y", 2, m, o)));
            yield return new("MatMulBackwardA", $"[2,{m},{k}]·[{k},{o}]", r => r.K.MatMulBackwardA(r.In(2, m, o), r.In(k, o), r.Out("da", 2, m, k)));
            yield return new("MatMulBackwardB", $"[2,{m},{k}]·[{k},{o}]", r => r.K.MatMulBackwardB(r.In(2, m, k), r.In(2, m, o), r.Out("db", k, o)));
        }

        // ---- convolution (a grouped, strided, padded case with an odd plane)
        foreach (var (g, groups, name) in new[] { (S1P1, 1, "3×3 s1 p1"), (S2P1 with { Groups = 2 }, 2, "3×3 s2 p1 groups 2") })
        {
            int n = 2, c = 4, h = 7, w = 9, kOut = 6, oh = g.OutH(h, 3), ow = g.OutW(w, 3);
            string s = $"x[{n},{c},{h},{w}] {name}";
            yield return new("Conv2dForward", s, r => r.K.Conv2dForward(r.In(n, c, h, w), r.In(kOut, c / groups, 3, 3), r.In(kOut), r.Out("y", n, kOut, oh, ow), g, Id, Id));
            yield return new("Conv2dBackwardData", s, r => r.K.Conv2dBackwardData(r.In(n, kOut, oh, ow), r.In(kOut, c / groups, 3, 3), r.Out("dx", n, c, h, w), g));
            yield return new("Conv2dBackwardFilter", s, r => r.K.Conv2dBackwardFilter(r.In(n, kOut, oh, ow), r.In(n, c, h, w), r.Out("dw", kOut, c / groups, 3, 3), r.Out("db", kOut), g));
            // the transposed convolution maps [n, kOut, oh, ow] back to [n, c, h, w]: w [kOut, c/groups, 3, 3]
            yield return new("ConvTranspose2dForward", s, r => r.K.ConvTranspose2dForward(r.In(n, kOut, oh, ow), r.In(kOut, c / groups, 3, 3), r.In(c), r.Out("y", n, c, h, w), g));
            yield return new("ConvTranspose2dBackwardData", s, r => r.K.ConvTranspose2dBackwardData(r.In(n, c, h, w), r.In(kOut, c / groups, 3, 3), r.Out("dx", n, kOut, oh, ow), g));
            yield return new("ConvTranspose2dBackwardFilter", s, r => r.K.ConvTranspose2dBackwardFilter(r.In(n, c, h, w), r.In(n, kOut, oh, ow), r.Out("dw", kOut, c / groups, 3, 3), r.Out("db", c), g));
        }

        // ---- pooling and resampling
        {
            var pg = PoolGeometry.Of(3, 2, 1);
            int oh = pg.OutH(7), ow = pg.OutW(9);
            yield return new("MaxPool2dForward", "x[2,3,7,9] k3 s2 p1", r => r.K.MaxPool2dForward(r.In(2, 3, 7, 9), r.Out("y", 2, 3, oh, ow), r.IntOut("argmax", 2, 3, oh, ow), pg));
            yield return new("MaxPool2dInference", "x[2,3,7,9] k3 s2 p1", r => r.K.MaxPool2dInference(r.In(2, 3, 7, 9), r.Out("y", 2, 3, oh, ow), pg));
            yield return new("MaxPool2dInference", "x[2,3,8,13] k2 s2", r => r.K.MaxPool2dInference(r.In(2, 3, 8, 13), r.Out("y", 2, 3, 4, 6), PoolGeometry.Of(2, 2)));
            yield return new("MaxPool2dBackward", "x[2,3,7,9] k3 s2 p1", r =>
            {
                var arg = r.IntOut("argmax", 2, 3, oh, ow);
                r.K.MaxPool2dForward(r.In(2, 3, 7, 9), r.Out("y", 2, 3, oh, ow), arg, pg);
                r.K.MaxPool2dBackward(r.In(2, 3, oh, ow), arg, r.Out("dx", 2, 3, 7, 9));
            });
            yield return new("AvgPool2dForward", "x[2,3,7,9] k3 s2 p1", r => r.K.AvgPool2dForward(r.In(2, 3, 7, 9), r.Out("y", 2, 3, oh, ow), pg));
            yield return new("AvgPool2dBackward", "x[2,3,7,9] k3 s2 p1", r => r.K.AvgPool2dBackward(r.In(2, 3, oh, ow), r.Out("dx", 2, 3, 7, 9), pg));
            var ex = pg with { Ceil = true, ExcludePad = true };
            int ch = ex.OutH(7), cw = ex.OutW(9);
            yield return new("AvgPool2dForward", "x[2,3,7,9] k3 s2 p1 ceil exclude-pad", r => r.K.AvgPool2dForward(r.In(2, 3, 7, 9), r.Out("y", 2, 3, ch, cw), ex));
            yield return new("GlobalAvgPoolForward", "x[2,5,7,9]", r => r.K.GlobalAvgPoolForward(r.In(2, 5, 7, 9), r.Out("y", 2, 5)));
            yield return new("GlobalAvgPoolBackward", "x[2,5,7,9]", r => r.K.GlobalAvgPoolBackward(r.In(2, 5), r.Out("dx", 2, 5, 7, 9)));
            yield return new("AdaptiveAvgPool2dForward", "[2,3,7,9]→[3,4]", r => r.K.AdaptiveAvgPool2dForward(r.In(2, 3, 7, 9), r.Out("y", 2, 3, 3, 4)));
            yield return new("AdaptiveAvgPool2dBackward", "[2,3,7,9]→[3,4]", r => r.K.AdaptiveAvgPool2dBackward(r.In(2, 3, 3, 4), r.Out("dx", 2, 3, 7, 9)));
            // unpooling scatters to the argmax of a non-overlapping pool (overlapping windows may share a maximum)
            var p2 = PoolGeometry.Of(2, 2);
            yield return new("MaxUnpool2dForward", "[2,3,3,4]→[7,9]", r =>
            {
                var arg = r.IntOut("argmax", 2, 3, 3, 4);
                r.K.MaxPool2dForward(r.In(2, 3, 7, 9), r.Out("pooled", 2, 3, 3, 4), arg, p2);
                r.K.MaxUnpool2dForward(r.In(2, 3, 3, 4), arg, r.Out("y", 2, 3, 7, 9));
            });
            yield return new("MaxUnpool2dBackward", "[2,3,3,4]→[7,9]", r =>
            {
                var arg = r.IntOut("argmax", 2, 3, 3, 4);
                r.K.MaxPool2dForward(r.In(2, 3, 7, 9), r.Out("pooled", 2, 3, 3, 4), arg, p2);
                r.K.MaxUnpool2dBackward(r.In(2, 3, 7, 9), arg, r.Out("dx", 2, 3, 3, 4));
            });
            yield return new("UpsampleNearest2dForward", "[2,3,3,5]→[7,9]", r => r.K.UpsampleNearest2dForward(r.In(2, 3, 3, 5), r.Out("y", 2, 3, 7, 9)));
            yield return new("UpsampleNearest2dBackward", "[2,3,3,5]→[7,9]", r => r.K.UpsampleNearest2dBackward(r.In(2, 3, 7, 9), r.Out("dx", 2, 3, 3, 5)));
            foreach (bool align in new[] { false, true })
            {
                yield return new("UpsampleBilinear2dForward", $"[2,3,3,5]→[7,9] align {align}", r => r.K.UpsampleBilinear2dForward(r.In(2, 3, 3, 5), r.Out("y", 2, 3, 7, 9), align));
                yield return new("UpsampleBilinear2dBackward", $"[2,3,3,5]→[7,9] align {align}", r => r.K.UpsampleBilinear2dBackward(r.In(2, 3, 7, 9), r.Out("dx", 2, 3, 3, 5), align));
            }
        }

        // ---- activations with parameters, softmax, maxout
        yield return new("PReluForward", "x[2,5,37] slope[5]", r => r.K.PReluForward(r.In(2, 5, 37), r.In(5), r.Out("y", 2, 5, 37)));
        yield return new("PReluBackward", "x[2,5,37] slope[5]", r => r.K.PReluBackward(r.In(2, 5, 37), r.In(2, 5, 37), r.In(5), r.Out("dx", 2, 5, 37), r.Out("dslope", 5)));
        foreach (var (axis, log) in new[] { (1, false), (2, true) })
        {
            yield return new("SoftmaxForward", $"[3,17,37] axis {axis} log {log}", r => r.K.SoftmaxForward(r.In(3, 17, 37), r.Out("y", 3, 17, 37), axis, log));
            yield return new("SoftmaxBackward", $"[3,17,37] axis {axis} log {log}", r =>
            {
                var y = r.Out("y", 3, 17, 37);
                r.K.SoftmaxForward(r.In(3, 17, 37), y, axis, log);
                r.K.SoftmaxBackward(r.In(3, 17, 37), y, r.Out("dx", 3, 17, 37), axis, log);
            });
        }
        yield return new("MaxoutForward", "x[2,6,5] pieces 3", r => r.K.MaxoutForward(r.In(2, 6, 5), r.Out("y", 2, 2, 5), r.IntOut("argmax", 2, 2, 5), 3));
        yield return new("MaxoutBackward", "x[2,6,5] pieces 3", r =>
        {
            var arg = r.IntOut("argmax", 2, 2, 5);
            r.K.MaxoutForward(r.In(2, 6, 5), r.Out("y", 2, 2, 5), arg, 3);
            r.K.MaxoutBackward(r.In(2, 2, 5), arg, r.Out("dx", 2, 6, 5), 3);
        });

        // ---- normalization
        foreach (bool training in new[] { true, false })
        {
            string s = $"x[3,5,37] training {training}";
            yield return new("BatchNormForward", s, r => r.K.BatchNormForward(r.In(3, 5, 37), r.In(5), r.In(5), r.InOut("runningMean", 5), Abs(r.InOut("runningVar", 5), r),
                r.Out("y", 3, 5, 37), r.Out("mean", 5), r.Out("invStd", 5), training, 1e-5f, 0.1f));
            yield return new("BatchNormBackward", s, r => r.K.BatchNormBackward(r.In(3, 5, 37), r.In(3, 5, 37), r.In(5), r.In(5), r.Pos(0.5f, 5),
                r.Out("dx", 3, 5, 37), r.Out("dweight", 5), r.Out("dbias", 5), training));
            yield return new("BatchNormBackward (prologue 2)", s, r => r.K.BatchNormBackward(r.In(3, 5, 37), r.In(3, 5, 37), r.In(3, 5, 37), r.In(5), r.In(5), r.Pos(0.5f, 5),
                r.Out("dy", 3, 5, 37), r.Out("dx", 3, 5, 37), r.Out("dweight", 5), r.Out("dbias", 5), training, new AxpyOp(2f), new AxpyOp(2f)));
            yield return new("BatchNormBackward (prologue 3)", s, r => r.K.BatchNormBackward(r.In(3, 5, 37), r.In(3, 5, 37), r.In(3, 5, 37), r.In(3, 5, 37), r.In(5), r.In(5), r.Pos(0.5f, 5),
                null, r.Out("dx", 3, 5, 37), r.Out("dweight", 5), r.Out("dbias", 5), training, default(MulAddOp), default(MulAddOp)));
        }
        yield return new("BatchNormForward (epilogue)", "x[3,5,37]", r => r.K.BatchNormForward(r.In(3, 5, 37), r.In(5), r.In(5), r.InOut("runningMean", 5), Abs(r.InOut("runningVar", 5), r),
            r.Out("y", 3, 5, 37), r.Out("mean", 5), r.Out("invStd", 5), true, 1e-5f, 0.1f, default(ReluOp), default(ReluOp)));
        yield return new("BatchNormApply", "x[3,5,37]", r => r.K.BatchNormApply(r.In(3, 5, 37), r.In(5), r.In(5), r.In(5), r.Pos(0.5f, 5), r.Out("y", 3, 5, 37), default(ReluOp), default(ReluOp)));
        yield return new("LayerNormForward", "x[3,7,37] dims 1", r => r.K.LayerNormForward(r.In(3, 7, 37), r.In(37), r.In(37), r.Out("y", 3, 7, 37), r.Out("mean", 3, 7), r.Out("invStd", 3, 7), 1, 1e-5f));
        yield return new("LayerNormForward", "x[3,7,37] dims 2, no affine", r => r.K.LayerNormForward(r.In(3, 7, 37), null, null, r.Out("y", 3, 7, 37), r.Out("mean", 3), r.Out("invStd", 3), 2, 1e-5f));
        yield return new("LayerNormBackward", "x[3,7,37] dims 1", r => r.K.LayerNormBackward(r.In(3, 7, 37), r.In(3, 7, 37), r.In(37), r.In(3, 7), r.Pos(0.5f, 3, 7),
            r.Out("dx", 3, 7, 37), r.Out("dweight", 37), r.Out("dbias", 37), 1));
        yield return new("GroupNormForward", "x[2,6,37] groups 3", r => r.K.GroupNormForward(r.In(2, 6, 37), r.In(6), r.In(6), r.Out("y", 2, 6, 37), r.Out("mean", 2, 3), r.Out("invStd", 2, 3), 3, 1e-5f));
        yield return new("GroupNormBackward", "x[2,6,37] groups 3", r => r.K.GroupNormBackward(r.In(2, 6, 37), r.In(2, 6, 37), r.In(6), r.In(2, 3), r.Pos(0.5f, 2, 3),
            r.Out("dx", 2, 6, 37), r.Out("dweight", 6), r.Out("dbias", 6), 3));
        yield return new("LocalResponseNormForward", "x[2,7,5,3] size 3", r => r.K.LocalResponseNormForward(r.In(2, 7, 5, 3), r.Out("y", 2, 7, 5, 3), r.Out("scale", 2, 7, 5, 3), 3, 1e-2f, 0.75f, 1f));
        yield return new("LocalResponseNormBackward", "x[2,7,5,3] size 3", r =>
        {
            var x = r.In(2, 7, 5, 3);
            var y = r.Out("y", 2, 7, 5, 3); var scale = r.Out("scale", 2, 7, 5, 3);
            r.K.LocalResponseNormForward(x, y, scale, 3, 1e-2f, 0.75f, 1f);
            r.K.LocalResponseNormBackward(r.In(2, 7, 5, 3), x, y, scale, r.Out("dx", 2, 7, 5, 3), 3, 1e-2f, 0.75f);
        });

        // ---- losses (the loss is a [1] output; backward reads dy [1])
        foreach (var red in new[] { LossReduction.Mean, LossReduction.Sum })
        {
            string s = $"[37,5] {red}";
            yield return new("CrossEntropyForward", s + " smoothing 0.1", r => r.K.CrossEntropyForward(r.In(37, 5), r.Labels(37, 5), [1f, 2f, 0.5f, 1f, 1.5f], 0.1f, red, r.Out("probs", 37, 5), r.Out("loss", 1)));
            yield return new("CrossEntropyBackward", s + " smoothing 0.1", r =>
            {
                var probs = r.Out("probs", 37, 5); var labels = r.Labels(37, 5);
                r.K.CrossEntropyForward(r.In(37, 5), labels, ReadOnlySpan<float>.Empty, 0.1f, red, probs, r.Out("loss", 1));
                r.K.CrossEntropyBackward(r.Scalar(0.7f), probs, labels, ReadOnlySpan<float>.Empty, 0.1f, red, r.Out("dlogits", 37, 5));
            });
            yield return new("NllLossForward", s, r => r.K.NllLossForward(r.In(37, 5), r.Labels(37, 5), [1f, 2f, 0.5f, 1f, 1.5f], red, r.Out("loss", 1)));
            yield return new("NllLossBackward", s, r => r.K.NllLossBackward(r.Scalar(0.7f), r.Labels(37, 5), [1f, 2f, 0.5f, 1f, 1.5f], red, r.Out("dlogp", 37, 5)));
            yield return new("MultiMarginForward", s + " squared", r => r.K.MultiMarginForward(r.In(37, 5), r.Labels(37, 5), 1f, true, red, r.Out("loss", 1)));
            yield return new("MultiMarginBackward", s, r => r.K.MultiMarginBackward(r.Scalar(0.7f), r.In(37, 5), r.Labels(37, 5), 1f, false, red, r.Out("dx", 37, 5)));
            yield return new("FocalLossForward", s, r => r.K.FocalLossForward(r.In(37, 5), r.Labels(37, 5), 2f, 0.25f, red, r.Out("probs", 37, 5), r.Out("loss", 1)));
            yield return new("FocalLossBackward", s, r =>
            {
                var probs = r.Out("probs", 37, 5); var labels = r.Labels(37, 5);
                r.K.FocalLossForward(r.In(37, 5), labels, 2f, 0.25f, red, probs, r.Out("loss", 1));
                r.K.FocalLossBackward(r.Scalar(0.7f), probs, labels, 2f, 0.25f, red, r.Out("dlogits", 37, 5));
            });
            foreach (var kind in new[] { RegressionLoss.Mse, RegressionLoss.L1, RegressionLoss.SmoothL1 })
            {
                yield return new("RegressionLossForward", $"[3,37] {kind} {red}", r => r.K.RegressionLossForward(kind, r.In(3, 37), r.In(3, 37), 0.5f, red, r.Out("loss", 1)));
                yield return new("RegressionLossBackward", $"[3,37] {kind} {red}", r => r.K.RegressionLossBackward(kind, r.Scalar(0.7f), r.In(3, 37), r.In(3, 37), 0.5f, red, r.Out("dpred", 3, 37)));
            }
        }

        // ---- tensor operators
        yield return new("BroadcastBinary", "[3,1,37]·[5,1]", r => r.K.BroadcastBinary(r.In(3, 1, 37), r.In(5, 1), r.Out("y", 3, 5, 37), BinaryOp.Mul));
        yield return new("BroadcastBinary", "[3,5,37]−[37]", r => r.K.BroadcastBinary(r.In(3, 5, 37), r.In(37), r.Out("y", 3, 5, 37), BinaryOp.Sub));
        yield return new("SumTo", "[3,5,37]→[5,1]", r => r.K.SumTo(r.In(3, 5, 37), r.Out("y", 5, 1), 0.5f));
        yield return new("BroadcastTo", "[5,1]→[3,5,37]", r => r.K.BroadcastTo(r.In(5, 1), r.Out("y", 3, 5, 37), 2f));
        yield return new("Permute", "[2,3,5,7] (0,2,3,1)", r => r.K.Permute(r.In(2, 3, 5, 7), r.Out("y", 2, 5, 7, 3), [0, 2, 3, 1]));
        yield return new("Slice", "[3,37,5] axis 1 start 2 step 3", r => r.K.Slice(r.In(3, 37, 5), r.Out("y", 3, 12, 5), 1, 2, 3));
        yield return new("SliceBackward", "[3,37,5] axis 1 start 2 step 3", r => r.K.SliceBackward(r.In(3, 12, 5), r.Out("dx", 3, 37, 5), 1, 2, 3));
        yield return new("Concat (axis)", "[3,2,5]+[3,7,5] axis 1", r => r.K.Concat([r.In(3, 2, 5), r.In(3, 7, 5)], r.Out("y", 3, 9, 5), 1));
        yield return new("ConcatBackward (axis)", "[3,2,5]+[3,7,5] axis 2", r => r.K.ConcatBackward(r.In(3, 2, 12), [r.Out("dx0", 3, 2, 5), r.Out("dx1", 3, 2, 7)], 2));
        yield return new("Concat", "channels [2,3,5,7]+[2,4,5,7]", r => r.K.Concat([r.In(2, 3, 5, 7), r.In(2, 4, 5, 7)], r.Out("y", 2, 7, 5, 7)));
        yield return new("ConcatBackward", "channels [2,3,5,7]+[2,4,5,7]", r => r.K.ConcatBackward(r.In(2, 7, 5, 7), [r.Out("dx0", 2, 3, 5, 7), r.Out("dx1", 2, 4, 5, 7)]));
        yield return new("Gram", "x[2,3,5,7]", r => r.K.Gram(r.In(2, 3, 5, 7), r.Out("g", 2, 3, 3)));
        yield return new("GramBackward", "x[2,3,5,7]", r => r.K.GramBackward(r.In(2, 3, 3), r.In(2, 3, 5, 7), r.Out("dx", 2, 3, 5, 7)));

        // ---- sequence and attention helpers, embedding
        yield return new("AddPositionalEncoding", "[2,7,6]", r => r.K.AddPositionalEncoding(r.In(2, 7, 6), r.Out("y", 2, 7, 6), 10000));
        yield return new("ClassTokenForward", "[2,7,6]", r => r.K.ClassTokenForward(r.In(2, 7, 6), r.In(6), r.Out("y", 2, 8, 6)));
        yield return new("ClassTokenBackward", "[2,7,6]", r => r.K.ClassTokenBackward(r.In(2, 8, 6), r.Out("dx", 2, 7, 6), r.Out("dtoken", 6)));
        yield return new("SplitHeads", "x[2,7,3,2,5]", r => r.K.SplitHeads(r.In(2, 7, 3, 2, 5), r.Out("q", 2, 2, 7, 5), r.Out("k", 2, 2, 7, 5), r.Out("v", 2, 2, 7, 5)));
        yield return new("SplitHeads", "x[2,7,2,2,5] (two parts)", r => r.K.SplitHeads(r.In(2, 7, 2, 2, 5), r.Out("k", 2, 2, 7, 5), r.Out("v", 2, 2, 7, 5), null));
        yield return new("SplitHeadsBackward", "x[2,7,3,2,5]", r => r.K.SplitHeadsBackward(r.In(2, 2, 7, 5), r.In(2, 2, 7, 5), r.In(2, 2, 7, 5), r.Out("dx", 2, 7, 3, 2, 5)));
        yield return new("EmbeddingForward", "ids[3,7] w[11,6]", r => r.K.EmbeddingForward(r.Ints(Enumerable.Range(0, 21).Select(i => i * 5 % 11).ToArray(), 3, 7), r.In(11, 6), r.Out("y", 3, 7, 6)));
        yield return new("EmbeddingBackward", "ids[3,7] w[11,6]", r => r.K.EmbeddingBackward(r.In(3, 7, 6), r.Ints(Enumerable.Range(0, 21).Select(i => i * 5 % 11).ToArray(), 3, 7), r.Out("dw", 11, 6)));

        // ---- generative and flow kernels
        yield return new("ActNormForward", "x[2,3,5,7]", r => r.K.ActNormForward(r.In(2, 3, 5, 7), r.Pos(0.5f, 3), r.In(3), r.Out("y", 2, 3, 5, 7), false));
        yield return new("ActNormForward", "x[2,3,5,7] inverse", r => r.K.ActNormForward(r.In(2, 3, 5, 7), r.Pos(0.5f, 3), r.In(3), r.Out("y", 2, 3, 5, 7), true));
        yield return new("ActNormBackward", "x[2,3,5,7]", r => r.K.ActNormBackward(r.In(2, 3, 5, 7), r.In(2, 3, 5, 7), r.Pos(0.5f, 3), r.In(3), r.Out("dx", 2, 3, 5, 7), r.Out("dscale", 3), r.Out("dbias", 3), false));
        foreach (bool inverse in new[] { false, true })
        {
            yield return new("CouplingForward", $"x[2,4,3,5] inverse {inverse}", r => r.K.CouplingForward(r.In(2, 4, 3, 5), r.In(2, 4, 3, 5), r.Out("y", 2, 4, 3, 5), inverse));
            yield return new("CouplingBackward", $"x[2,4,3,5] inverse {inverse}", r => r.K.CouplingBackward(r.In(2, 4, 3, 5), r.In(2, 4, 3, 5), r.In(2, 4, 3, 5), r.Out("dx", 2, 4, 3, 5), r.Out("dh", 2, 4, 3, 5), inverse));
        }
        yield return new("CouplingLogDetForward", "h[2,4,3,5]", r => r.K.CouplingLogDetForward(r.In(2, 4, 3, 5), r.Out("logdet", 2)));
        yield return new("CouplingLogDetBackward", "h[2,4,3,5]", r => r.K.CouplingLogDetBackward(r.In(2), r.In(2, 4, 3, 5), r.Out("dh", 2, 4, 3, 5)));
        yield return new("GaussianLogProbForward", "z[3,37]", r => r.K.GaussianLogProbForward(r.In(3, 37), r.Out("logp", 3)));
        yield return new("GaussianLogProbBackward", "z[3,37]", r => r.K.GaussianLogProbBackward(r.In(3), r.In(3, 37), r.Out("dz", 3, 37)));
        foreach (bool logAbs in new[] { false, true })
        {
            yield return new("FlowLogDetForward", $"p[5] logdet[3] logAbs {logAbs}", r => r.K.FlowLogDetForward(r.Pos(0.5f, 5), r.Out("logdet", 3), 12, logAbs));
            yield return new("FlowLogDetBackward", $"p[5] dy[3] logAbs {logAbs}", r => r.K.FlowLogDetBackward(r.In(3), r.Pos(0.5f, 5), r.Out("dp", 5), 12, logAbs));
        }
        yield return new("FoldBatchNorm", "w[6,3,3,3] with bias", r => r.K.FoldBatchNorm(r.In(6, 3, 3, 3), r.In(6), r.In(6), r.In(6), r.In(6), r.Pos(0.5f, 6), 1e-5f,
            r.Out("wOut", 6, 3, 3, 3), r.Out("bOut", 6)));
        yield return new("FoldBatchNorm", "w[37,5] no bias", r => r.K.FoldBatchNorm(r.In(37, 5), null, r.In(37), r.In(37), r.In(37), r.Pos(0.5f, 37), 1e-5f,
            r.Out("wOut", 37, 5), r.Out("bOut", 37)));
        yield return new("SampleNormalForward", "[3,37] mean (no sampling)", r => r.K.SampleNormalForward(r.In(3, 37), r.In(3, 37), r.Out("noise", 3, 37), r.Out("z", 3, 37), false, 1));
        foreach (var red in new[] { GenReduction.Mean, GenReduction.Sum, GenReduction.BatchMean })
        {
            yield return new("PointwiseLossForward", $"Bce [3,37] {red}", r => r.K.PointwiseLossForward(PointwiseLoss.Bce, Prob(r.In(3, 37), r), Prob(r.In(3, 37), r), red, r.Out("loss", 1)));
            yield return new("PointwiseLossBackward", $"BceWithLogits [3,37] {red}", r => r.K.PointwiseLossBackward(PointwiseLoss.BceWithLogits, r.Scalar(0.7f), r.In(3, 37), Prob(r.In(3, 37), r), red, r.Out("da", 3, 37), r.Out("db", 3, 37)));
            yield return new("TripletMarginForward", $"[5,37] {red}", r => r.K.TripletMarginForward(r.In(5, 37), r.In(5, 37), r.In(5, 37), 1f, red, r.Out("loss", 1)));
            yield return new("TripletMarginBackward", $"[5,37] {red}", r => r.K.TripletMarginBackward(r.Scalar(0.7f), r.In(5, 37), r.In(5, 37), r.In(5, 37), 1f, red, r.Out("da", 5, 37), r.Out("dp", 5, 37), r.Out("dn", 5, 37)));
            yield return new("DistillForward", $"[5,7] {red}", r => r.K.DistillForward(r.In(5, 7), r.In(5, 7), 2f, red, r.Out("loss", 1)));
            yield return new("DistillBackward", $"[5,7] {red}", r => r.K.DistillBackward(r.Scalar(0.7f), r.In(5, 7), r.In(5, 7), 2f, red, r.Out("dstudent", 5, 7)));
        }
        yield return new("NtXentForward", "[5,7]", r => r.K.NtXentForward(r.In(5, 7), r.In(5, 7), 0.5f, GenReduction.Mean, r.Out("loss", 1)));
        yield return new("NtXentBackward", "[5,7]", r => r.K.NtXentBackward(r.Scalar(0.7f), r.In(5, 7), r.In(5, 7), 0.5f, GenReduction.Mean, r.Out("dz1", 5, 7), r.Out("dz2", 5, 7)));

        // ---- regularization
        yield return new("PenaltyForward", "[5,37]+[7]", r => r.K.PenaltyForward([r.In(5, 37), r.In(7)], 1e-3f, 1e-2f, r.Out("loss", 1)));
        yield return new("PenaltyBackward", "[5,37]", r => r.K.PenaltyBackward(r.Scalar(0.7f), r.In(5, 37), 1e-3f, 1e-2f, r.InOut("dw", 5, 37)));
    }

    /// <summary>v = |v| + 0.1 in place (second moments, variances).</summary>
    private static Tensor<float> Abs(Tensor<float> t, KernelRun r)
    {
        r.K.Map(t, t, default(AbsPlusOp), default(AbsPlusOp));
        return t;
    }

    /// <summary>Probabilities in (0, 1): the logistic of the input, in place.</summary>
    private static Tensor<float> Prob(Tensor<float> t, KernelRun r)
    {
        r.K.Map(t, t, default(LogisticOp), default(LogisticOp));
        return t;
    }

    public static TheoryData<string> Rows()
    {
        var data = new TheoryData<string>();
        var seen = new HashSet<string>();
        foreach (var row in Table())
        {
            Assert.True(seen.Add(row.ToString()), $"duplicate row {row}");
            data.Add(row.ToString());
        }
        return data;
    }

    private static readonly Dictionary<string, KernelCase> s_rows = Table().ToDictionary(r => r.ToString());

    private KernelRun Host(IKernels<float> k) => new(k, (d, s) => Tensor<float>.FromArray(d, s), (d, s) => Tensor<int>.FromArray(d, s));

    private KernelRun Device() => new(_dev.Kernels<float>(),
        (d, s) => { var t = _dev.Allocate<float>(s); t.CopyFromHost(d); return t; },
        (d, s) => { var t = _dev.Allocate<int>(s); t.CopyFromHost(d); return t; });

    [Theory]
    [MemberData(nameof(Rows))]
    public void Cpu_and_ilgpu_kernels_match_the_reference(string row)
    {
        var c = s_rows[row];
        var reference = Host(ReferenceKernels<float>.Instance);
        var cpu = Host(CpuKernels<float>.Instance);
        var ilgpu = Device();
        c.Call(reference);
        c.Call(cpu);
        c.Call(ilgpu);
        Assert.NotEmpty(reference.Outputs);
        foreach (var (impl, run) in new[] { ("CPU", cpu), ("ILGPU", ilgpu) })
        {
            Assert.Equal(reference.Outputs.Count, run.Outputs.Count);
            for (int i = 0; i < reference.Outputs.Count; i++)
                Close(reference.Outputs[i].Value, run.Outputs[i].Value, $"{row}: {impl} {run.Outputs[i].Name}", c.Tol);
            for (int i = 0; i < reference.IntOutputs.Count; i++)
                Assert.True(reference.IntOutputs[i].Value.CopyToHost().SequenceEqual(run.IntOutputs[i].Value.CopyToHost()),
                    $"{row}: {impl} {run.IntOutputs[i].Name} differs from the reference");
        }
    }

    /// <summary>Every kernel method of <see cref="IKernels{T}"/> that has a row, so the table's coverage is visible (and cannot shrink silently).</summary>
    [Fact]
    public void The_table_covers_the_deterministic_kernel_methods()
    {
        var covered = Table().Select(r => r.Method.Split(' ')[0]).Select(m => m.StartsWith("Map") ? "Map" : m).ToHashSet();
        var methods = typeof(IKernels<float>).GetMethods().Select(m => m.Name).ToHashSet();
        // random streams (checked by their properties elsewhere), the scalar read (every loss row uses the [1] output),
        // and InvConvWeight/Rnn/Attention (their own ILGPU-vs-reference tests: GenerativeIlgpuTests, RecurrentIlgpuTests, IlgpuAttentionTests)
        string[] elsewhere = ["DropoutForward", "Dropout2dForward", "StochasticDepthForward", "RandomFill", "ReadScalar",
            "InvConvWeightForward", "InvConvWeightBackward", "RnnForward", "RnnBackward", "AttentionForward", "AttentionBackward"];
        var missing = methods.Except(covered).Except(elsewhere).OrderBy(m => m).ToList();
        Assert.True(missing.Count == 0, "kernel methods without a conformance row: " + string.Join(", ", missing));
    }
}

public readonly struct AbsPlusOp : IMap1<float>, IGpuMap1
{
    public float Apply(float a) => MathF.Abs(a) + 0.1f;
    public Vector256<float> Apply(Vector256<float> a) =>
        Vector256.Abs(a) + Vector256.Create(0.1f);
    public Vector512<float> Apply(Vector512<float> a) =>
        Vector512.Abs(a) + Vector512.Create(0.1f);
}

public readonly struct LogisticOp : IMap1<float>, IGpuMap1
{
    public float Apply(float a) => 1f / (1f + MathF.Exp(-a));
    public Vector256<float> Apply(Vector256<float> a)
    {
        Span<float> s = stackalloc float[8];
        a.CopyTo(s);
        for (int i = 0; i < 8; i++) s[i] = Apply(s[i]);
        return Vector256.Create<float>(s);
    }
    public Vector512<float> Apply(Vector512<float> a)
    {
        Span<float> s = stackalloc float[16];
        a.CopyTo(s);
        for (int i = 0; i < 16; i++) s[i] = Apply(s[i]);
        return Vector512.Create<float>(s);
    }
}
