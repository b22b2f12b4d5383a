using System.Runtime.Intrinsics;
using AcceleratorType = ILGPU.Runtime.AcceleratorType;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

namespace NetDsl.Tests;

/// <summary>
/// One ILGPU device for the whole test run (each kernel's first launch compiles it). ILGPU's CPU simulator by default;
/// NETDSL_ILGPU_TEST_DEVICE=opencl or cuda runs the same tests on a real backend (e.g. an OpenCL CPU driver such as pocl).
/// </summary>
public sealed class IlgpuFixture : IDisposable
{
    public IlgpuDevice Device { get; } = Environment.GetEnvironmentVariable("NETDSL_ILGPU_TEST_DEVICE")?.ToLowerInvariant() switch
    {
        "opencl" => new IlgpuDevice(AcceleratorType.OpenCL),
        "cuda" => new IlgpuDevice(AcceleratorType.Cuda),
        _ => IlgpuDevice.CreateCpuSimulator(),
    };

    public void Dispose() => Device.Dispose();
}

[CollectionDefinition("ilgpu")]
public sealed class IlgpuCollection : ICollectionFixture<IlgpuFixture> { }

public readonly struct ReluOp : IMap1<float>, IGpuMap1
{
    public float Apply(float a) => a > 0 ? a : 0;
    public Vector256<float> Apply(Vector256<float> a) => Vector256.Max(a, Vector256<float>.Zero);
    public Vector512<float> Apply(Vector512<float> a) => Vector512.Max(a, Vector512<float>.Zero);
}

public readonly struct AxpyOp : IMap2<float>, IGpuMap2
{
    public readonly float Alpha;
    public AxpyOp(float alpha) => Alpha = alpha;
    public float Apply(float a, float b) => Alpha * a + b;
    public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Vector256.Create(Alpha) * a + b;
    public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => Vector512.Create(Alpha) * a + b;
}

public readonly struct MulAddOp : IMap3<float>, IGpuMap3
{
    public float Apply(float a, float b, float c) => a * b + c;
    public Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c) => a * b + c;
    public Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> c) => a * b + c;
}

[Collection("ilgpu")]
public class IlgpuKernelTests(IlgpuFixture fixture)
{
    private readonly IlgpuDevice _dev = fixture.Device;
    private IKernels<float> K => _dev.Kernels<float>();
    private static readonly ReferenceKernels<float> R = ReferenceKernels<float>.Instance;

    [Fact]
    public void Device_allocates_zeros_copies_and_views()
    {
        Assert.False(_dev.IsCpu);
        Assert.Contains("ilgpu", _dev.Name);
        var t = _dev.Allocate<float>(2, 3);
        Assert.Equal(new float[6], t.CopyToHost());
        t.CopyFromHost([1, 2, 3, 4, 5, 6]);
        var view = t.View(2, 2, 2);
        Assert.Equal(2, view.Offset);
        Assert.Equal([3f, 4, 5, 6], view.CopyToHost());
        view.CopyFromHost([30, 40, 50, 60]);
        Assert.Equal([1f, 2, 30, 40, 50, 60], t.CopyToHost());
        // A kernel on a view touches only its slice.
        K.Map(view.View(1, 2), view.View(1, 2), default(ReluOp), new ReluOp());
        K.Fill(t.View(4, 2), -1f);
        Assert.Equal([1f, 2, 30, 40, -1, -1], t.CopyToHost());
        Assert.Throws<InvalidOperationException>(() => t.AsSpan());
        var e = Assert.Throws<NotSupportedException>(() => _dev.Kernels<double>());
        Assert.Contains("Double", e.Message);
        var cpu = Tensor<float>.Zeros(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => K.Copy(cpu, t));
        Assert.Contains("src", ex.Message);
        var ints = _dev.Allocate<int>(3);
        ints.CopyFromHost([7, 8, 9]);
        Assert.Equal([7, 8, 9], ints.CopyToHost());
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(2, 1, 2, 1)]
    [InlineData(1, 2, 1, 2)]
    public void Convolution_forward_and_backward_match_the_reference(int stride, int pad, int groups, int dilation)
    {
        var g = new ConvGeometry(stride, stride, pad, pad, dilation, dilation, groups);
        int n = 2, c = 4, h = 7, w = 6, k = 6, kh = 3, kw = 2;
        var x = _dev.Pair(1, n, c, h, w);
        var wt = _dev.Pair(2, k, c / groups, kh, kw);
        var b = _dev.Pair(3, k);
        int oh = g.OutH(h, kh), ow = g.OutW(w, kw);
        var y = _dev.EmptyPair(n, k, oh, ow);
        K.Conv2dForward(x.Gpu, wt.Gpu, b.Gpu, y.Gpu, g, default(ReluOp), new ReluOp());
        R.Conv2dForward(x.Cpu, wt.Cpu, b.Cpu, y.Cpu, g, default(ReluOp), new ReluOp());
        Close(y.Cpu, y.Gpu, what: "y");
        K.Conv2dForward(x.Gpu, wt.Gpu, null, y.Gpu, g, default(Identity<float>), new Identity<float>());
        R.Conv2dForward(x.Cpu, wt.Cpu, null, y.Cpu, g, default(Identity<float>), new Identity<float>());
        Close(y.Cpu, y.Gpu, what: "y without bias");

        var dy = _dev.Pair(4, n, k, oh, ow);
        var dx = _dev.EmptyPair(n, c, h, w);
        K.Conv2dBackwardData(dy.Gpu, wt.Gpu, dx.Gpu, g);
        R.Conv2dBackwardData(dy.Cpu, wt.Cpu, dx.Cpu, g);
        Close(dx.Cpu, dx.Gpu, what: "dx");
        var dw = _dev.EmptyPair(k, c / groups, kh, kw);
        var db = _dev.EmptyPair(k);
        K.Conv2dBackwardFilter(dy.Gpu, x.Gpu, dw.Gpu, db.Gpu, g);
        R.Conv2dBackwardFilter(dy.Cpu, x.Cpu, dw.Cpu, db.Cpu, g);
        Close(dw.Cpu, dw.Gpu, what: "dw");
        Close(db.Cpu, db.Gpu, what: "db");

        var wrong = _dev.Allocate<float>(n, k, oh + 1, ow);
        var e = Assert.Throws<ArgumentException>(() => K.Conv2dForward(x.Gpu, wt.Gpu, b.Gpu, wrong, g, default(Identity<float>), new Identity<float>()));
        Assert.Contains($"[{n}, {k}, {oh}, {ow}]", e.Message);
        Assert.Contains($"[{n}, {k}, {oh + 1}, {ow}]", e.Message);
    }

    [Fact]
    public void Linear_forward_and_backward_match_the_reference()
    {
        int m = 5, k = 7, o = 3;
        var x = _dev.Pair(1, m, k); var w = _dev.Pair(2, o, k); var b = _dev.Pair(3, o);
        var y = _dev.EmptyPair(m, o);
        K.LinearForward(x.Gpu, w.Gpu, b.Gpu, y.Gpu, default(ReluOp), new ReluOp());
        R.LinearForward(x.Cpu, w.Cpu, b.Cpu, y.Cpu, default(ReluOp), new ReluOp());
        Close(y.Cpu, y.Gpu, what: "y");
        var dy = _dev.Pair(4, m, o);
        var dx = _dev.EmptyPair(m, k);
        K.LinearBackwardData(dy.Gpu, w.Gpu, dx.Gpu);
        R.LinearBackwardData(dy.Cpu, w.Cpu, dx.Cpu);
        Close(dx.Cpu, dx.Gpu, what: "dx");
        var dw = _dev.EmptyPair(o, k); var db = _dev.EmptyPair(o);
        K.LinearBackwardFilter(dy.Gpu, x.Gpu, dw.Gpu, db.Gpu);
        R.LinearBackwardFilter(dy.Cpu, x.Cpu, dw.Cpu, db.Cpu);
        Close(dw.Cpu, dw.Gpu, what: "dw");
        Close(db.Cpu, db.Gpu, what: "db");
    }

    [Fact]
    public void Pooling_matches_the_reference()
    {
        var x = _dev.Pair(5, 2, 3, 7, 6);
        foreach (var g in new[] { PoolGeometry.Of(2, 2), PoolGeometry.Of(3, 2, 1), new PoolGeometry(3, 2, 1, 2, 1, 0) })
        {
            int oh = g.OutH(7), ow = g.OutW(6);
            var y = _dev.EmptyPair(2, 3, oh, ow);
            var am = _dev.Allocate<int>(2, 3, oh, ow);
            var amCpu = Tensor<int>.Zeros(2, 3, oh, ow);
            K.MaxPool2dForward(x.Gpu, y.Gpu, am, g);
            R.MaxPool2dForward(x.Cpu, y.Cpu, amCpu, g);
            Close(y.Cpu, y.Gpu, what: $"max {g}");
            Assert.Equal(amCpu.AsSpan().ToArray(), am.CopyToHost());
            var dy = _dev.Pair(6, 2, 3, oh, ow);
            var dx = _dev.EmptyPair(2, 3, 7, 6);
            K.MaxPool2dBackward(dy.Gpu, am, dx.Gpu);
            R.MaxPool2dBackward(dy.Cpu, amCpu, dx.Cpu);
            Close(dx.Cpu, dx.Gpu, what: $"max backward {g}");

            K.AvgPool2dForward(x.Gpu, y.Gpu, g);
            R.AvgPool2dForward(x.Cpu, y.Cpu, g);
            Close(y.Cpu, y.Gpu, what: $"avg {g}");
            K.AvgPool2dBackward(dy.Gpu, dx.Gpu, g);
            R.AvgPool2dBackward(dy.Cpu, dx.Cpu, g);
            Close(dx.Cpu, dx.Gpu, what: $"avg backward {g}");
        }
        var gy = _dev.EmptyPair(2, 3);
        K.GlobalAvgPoolForward(x.Gpu, gy.Gpu);
        R.GlobalAvgPoolForward(x.Cpu, gy.Cpu);
        Close(gy.Cpu, gy.Gpu, what: "global avg");
        var gdy = _dev.Pair(7, 2, 3);
        var gdx = _dev.EmptyPair(2, 3, 7, 6);
        K.GlobalAvgPoolBackward(gdy.Gpu, gdx.Gpu);
        R.GlobalAvgPoolBackward(gdy.Cpu, gdx.Cpu);
        Close(gdx.Cpu, gdx.Gpu, what: "global avg backward");
    }

    [Fact]
    public void Dropout_matches_the_cpu_stream_exactly()
    {
        var x = _dev.Pair(9, 4, 250);
        var mask = _dev.EmptyPair(4, 250); var y = _dev.EmptyPair(4, 250);
        K.DropoutForward(x.Gpu, mask.Gpu, y.Gpu, 0.3f, seed: 77);
        Device.Cpu.Kernels<float>().DropoutForward(x.Cpu, mask.Cpu, y.Cpu, 0.3f, seed: 77);
        Assert.Equal(mask.Cpu.AsSpan().ToArray(), mask.Gpu.CopyToHost());
        Close(y.Cpu, y.Gpu, "y", 0);
        var m = mask.Gpu.CopyToHost();
        Assert.All(m, v => Assert.True(v == 0f || Math.Abs(v - 1 / 0.7f) < 1e-6));
        Assert.InRange(m.Count(v => v == 0f) / 1000.0, 0.25, 0.35);
    }

    [Fact]
    public void Concat_maps_and_copies_match_the_reference()
    {
        var a = _dev.Pair(10, 2, 1, 3, 2); var b = _dev.Pair(11, 2, 3, 3, 2);
        var y = _dev.EmptyPair(2, 4, 3, 2);
        K.Concat([a.Gpu, b.Gpu], y.Gpu);
        R.Concat([a.Cpu, b.Cpu], y.Cpu);
        Close(y.Cpu, y.Gpu, "concat", 0);
        var da = _dev.EmptyPair(2, 1, 3, 2); var dbb = _dev.EmptyPair(2, 3, 3, 2);
        K.ConcatBackward(y.Gpu, [da.Gpu, dbb.Gpu]);
        Close(a.Cpu, da.Gpu, "concat backward a", 0);
        Close(b.Cpu, dbb.Gpu, "concat backward b", 0);
        Assert.Throws<ArgumentException>(() => K.Concat([a.Gpu, a.Gpu], y.Gpu));

        var p = _dev.Pair(12, 37); var q = _dev.Pair(13, 37); var r = _dev.Pair(14, 37);
        var o = _dev.EmptyPair(37);
        K.Map(p.Gpu, o.Gpu, default(ReluOp), new ReluOp());
        R.Map(p.Cpu, o.Cpu, default(ReluOp), new ReluOp());
        Close(o.Cpu, o.Gpu, "map1", 0);
        K.Map(p.Gpu, q.Gpu, o.Gpu, new AxpyOp(0.5f), new AxpyOp(0.5f));
        R.Map(p.Cpu, q.Cpu, o.Cpu, new AxpyOp(0.5f), new AxpyOp(0.5f));
        Close(o.Cpu, o.Gpu, "map2", 1e-6f);
        K.Map(p.Gpu, q.Gpu, r.Gpu, o.Gpu, default(MulAddOp), new MulAddOp());
        R.Map(p.Cpu, q.Cpu, r.Cpu, o.Cpu, default(MulAddOp), new MulAddOp());
        Close(o.Cpu, o.Gpu, "map3", 1e-6f);
        K.Copy(p.Gpu, o.Gpu);
        K.Accumulate(q.Gpu, o.Gpu);
        R.Copy(p.Cpu, o.Cpu);
        R.Accumulate(q.Cpu, o.Cpu);
        Close(o.Cpu, o.Gpu, "copy+accumulate", 1e-6f);
        K.Fill(o.Gpu, 2.5f);
        Assert.All(o.Gpu.CopyToHost(), v => Assert.Equal(2.5f, v));
    }

    [Fact]
    public void Optimizers_init_and_checkpoints_work_on_the_device()
    {
        Parameter<float>[] Make(Device d) =>
        [
            Parameter<float>.Create(d, "fc.weight", [4, 6]),
            Parameter<float>.Create(d, "fc.bias", [4]),
        ];
        var gpu = Make(_dev); var cpu = Make(Device.Cpu);
        Init.Apply(gpu, 9); Init.Apply(cpu, 9);
        for (int i = 0; i < 2; i++) Assert.Equal(cpu[i].Value.AsSpan().ToArray(), gpu[i].Value.CopyToHost());

        var sgdG = new Sgd<float>(gpu, lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true);
        var sgdC = new Sgd<float>(cpu, lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true);
        var adamG = new Adam<float>(gpu, lr: 0.01, weightDecay: 0.001);
        var adamC = new Adam<float>(cpu, lr: 0.01, weightDecay: 0.001);
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < 2; i++)
            {
                var grad = Seeded.Floats(cpu[i].Length, 100 + step * 10 + i);
                gpu[i].Grad.CopyFromHost(grad);
                grad.CopyTo(cpu[i].Grad.AsSpan());
            }
            sgdG.Step(); sgdC.Step();
            adamG.Step(); adamC.Step();
        }
        for (int i = 0; i < 2; i++) Close(cpu[i].Value, gpu[i].Value, cpu[i].Name, 1e-5f);
        sgdG.ZeroGrad();
        Assert.All(gpu[0].Grad.CopyToHost(), v => Assert.Equal(0f, v));

        using var tmp = new TempDir();
        Checkpoint.Save(tmp.File("g.ckpt"), gpu);
        var back = Make(_dev);
        Checkpoint.Load(tmp.File("g.ckpt"), back);
        for (int i = 0; i < 2; i++) Assert.Equal(gpu[i].Value.CopyToHost(), back[i].Value.CopyToHost());

        var logits = _dev.Allocate<float>(2, 3);
        logits.CopyFromHost([0, 1, 0, 5, 1, 2]);
        var labels = _dev.Allocate<int>(2);
        labels.CopyFromHost([1, 2]);
        Assert.Equal(1, Accuracy.CountCorrect(logits, labels));
    }

    [Fact]
    public void DataLoader_fills_device_tensors()
    {
        var images = Enumerable.Range(0, 10 * 4).Select(i => (float)i).ToArray();
        var set = new LabeledImages(images, Enumerable.Range(0, 10).ToArray(), 1, 2, 2);
        var calls = new List<(int Size, int Epoch, int Batch)>();
        var loader = new DataLoader(set, batchSize: 4, device: _dev, seed: 3)
        {
            // augmentation on the host copy, before upload
            HostTransform = (images, epoch, batch) =>
            {
                Assert.True(images.Device.IsCpu);
                calls.Add((images.Shape[0], epoch, batch));
                foreach (ref var v in images.AsSpan()) v += 0.5f;
            },
        };
        var seen = new List<int>();
        foreach (var batch in loader.Epoch(2))
        {
            Assert.Same(_dev, batch.Images.Device);
            var img = batch.Images.CopyToHost();
            var lab = batch.Labels.CopyToHost();
            for (int i = 0; i < batch.Size; i++) Assert.Equal(lab[i] * 4 + 0.5f, img[i * 4]);
            seen.AddRange(lab);
        }
        Assert.Equal(Enumerable.Range(0, 10), seen.Order());
        Assert.Equal([(4, 2, 0), (4, 2, 1), (2, 2, 2)], calls);
    }
}
