// A/B harness for the direct stride-1 convolution kernels: the im2col path (direct kernels off) and the direct path, run
// alternately in one process at the ResNet-20, LeNet-5 and (strided) ResNet-50 shapes. Prints the median time of each and the ratio.
//   dotnet run -c Release --project benchmarks/DirectConvAB [-- reps [name filter | pool]]
using System.Diagnostics;
using System.Reflection;
using NetDsl.Runtime;

int reps = args.Length > 0 ? int.Parse(args[0]) : 15;
if (args.Length > 1 && args[1] == "sweep")
{
    // tuning: forward with DirectBlockElements a (column A) vs b (column B)
    var blk = typeof(CpuKernels<float>).GetField("DirectBlockElements", BindingFlags.Static | BindingFlags.NonPublic)!;
    int va = int.Parse(args[2]), vb = int.Parse(args[3]);
    foreach (var (c, hw) in new[] { (16, 32), (32, 16), (64, 8) })
    {
        var g = ConvGeometry.Of(1, 1);
        var x = Tensor<float>.Zeros(64, c, hw, hw); var wt = Tensor<float>.Zeros(c, c, 3, 3); var y = Tensor<float>.Zeros(64, c, hw, hw);
        var dy = Tensor<float>.Zeros(64, c, hw, hw); var dx = Tensor<float>.Zeros(64, c, hw, hw);
        var t = new[] { new List<double>(), new List<double>() };
        for (int i = 0; i < reps + 3; i++)
            for (int m = 0; m < 2; m++)
            {
                blk.SetValue(null, m == 0 ? va : vb);
                var sw = Stopwatch.StartNew();
                CpuKernels<float>.Instance.Conv2dForward(x, wt, null, y, g, default(Identity<float>), default(Identity<float>));
                CpuKernels<float>.Instance.Conv2dBackwardData(dy, wt, dx, g);
                if (i >= 3) t[m].Add(sw.Elapsed.TotalMilliseconds);
            }
        Console.WriteLine($"{c}ch {hw}x{hw} fwd+bwd_data: {va}: {Median(t[0]):F3} ms, {vb}: {Median(t[1]):F3} ms");
    }
    return;
}
if (args.Length > 1 && args[1] == "pool")
{
    // max pooling: A = the scalar general path, B = vectorized interior columns (ResNet-50's 3×3/2 pad 1 after the stem)
    var vec = typeof(CpuKernels<float>).GetField("MaxPoolVectorOn", BindingFlags.Static | BindingFlags.NonPublic)!;
    foreach (var (n, c, h, pk) in new[] { (1, 64, 112, 3), (8, 64, 112, 3), (64, 6, 28, 2), (64, 16, 10, 2) })
    {
        var pg = pk == 3 ? new PoolGeometry(3, 3, 2, 2, 1, 1) : new PoolGeometry(2, 2, 2, 2, 0, 0);
        var px = Tensor<float>.Zeros(n, c, h, h); var sp = px.AsSpan(); var r = new Random(2);
        for (int i = 0; i < sp.Length; i++) sp[i] = (float)r.NextDouble();
        var py = Tensor<float>.Zeros(n, c, pg.OutH(h), pg.OutW(h)); var pa = Tensor<int>.Zeros(n, c, pg.OutH(h), pg.OutW(h));
        var t = new[] { new List<double>(), new List<double>() };
        for (int i = 0; i < reps + 3; i++)
            for (int m = 0; m < 2; m++)
            {
                vec.SetValue(null, m == 1);
                var sw = Stopwatch.StartNew();
                CpuKernels<float>.Instance.MaxPool2dForward(px, py, pa, pg);
                if (i >= 3) t[m].Add(sw.Elapsed.TotalMilliseconds);
            }
        Console.WriteLine($"maxpool {pk}x{pk}/2 p{pk - 2} {n}x{c}x{h}x{h}: scalar {Median(t[0]):F3} ms, vector {Median(t[1]):F3} ms, {Median(t[0]) / Median(t[1]):F2}x");
    }
    vec.SetValue(null, true);
    return;
}
// "-- reps filter pack": A = the scalar weight packing, B = the 8×8-transpose packing (both on the direct kernels)
bool packAB = args.Length > 2 && args[2] == "pack";
bool tileAB = args.Length > 2 && args[2] == "tile3";   // "-- reps filter tile3": A = 8-row tiles of 2 vectors, B = of 3
bool kvAB = args.Length > 2 && args[2] == "kv";         // "-- reps filter kv": A = dot-form weight gradient, B = k-vector (3×3)
var flag = typeof(CpuKernels<float>).GetField(kvAB ? "FilterKVEnabled" : tileAB ? "DirectTile3" : packAB ? "DirectPackFast" : "DirectConvEnabled", BindingFlags.Static | BindingFlags.NonPublic)!;
var k = CpuKernels<float>.Instance;
Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}, AVX-512 kernels: {typeof(CpuKernels<float>).GetField("Use512", BindingFlags.Static | BindingFlags.NonPublic)!.GetValue(null)}");
Console.WriteLine($"{"shape",-34} {"op",-11} {"im2col ms",10} {"direct ms",10} {"GF/s old",9} {"GF/s new",9} {"speed-up",8}");
(string, int, int, int, int, int, int, int, bool, int)[] shapes =
[
    ("resnet 16ch 32x32", 64, 16, 32, 32, 16, 3, 1, true, 1),
    ("resnet 32ch 16x16", 64, 32, 16, 16, 32, 3, 1, true, 1),
    ("resnet 64ch 8x8", 64, 64, 8, 8, 64, 3, 1, true, 1),
    ("resnet stem 3ch 32x32", 64, 3, 32, 32, 16, 3, 1, false, 1),
    ("lenet conv1 1ch 28x28 k6 5x5 p2", 64, 1, 28, 28, 6, 5, 2, false, 1),
    ("lenet conv2 6ch 14x14 k16 5x5", 64, 6, 14, 14, 16, 5, 0, true, 1),
    // strided (forward and weight gradient on the stride phases; backward data stays im2col)
    ("resnet s2 16ch 32x32 k32", 64, 16, 32, 32, 32, 3, 1, false, 2),
    ("resnet s2 32ch 16x16 k64", 64, 32, 16, 16, 64, 3, 1, false, 2),
    ("resnet20 b1 s2 16ch 32x32 k32", 1, 16, 32, 32, 32, 3, 1, false, 2),
    ("resnet20 b1 16ch 32x32", 1, 16, 32, 32, 16, 3, 1, false, 1),
    ("resnet20 b1 32ch 16x16", 1, 32, 16, 16, 32, 3, 1, false, 1),
    ("resnet20 b1 64ch 8x8", 1, 64, 8, 8, 64, 3, 1, false, 1),
    ("resnet50 stem b1 3ch 224 7x7 s2", 1, 3, 224, 224, 64, 7, 3, false, 2),
    ("resnet50 s2 128ch 56x56 k128", 1, 128, 56, 56, 128, 3, 1, false, 2),
    ("resnet50 b1 64ch 56x56", 1, 64, 56, 56, 64, 3, 1, true, 1),
    ("resnet50 b1 128ch 28x28", 1, 128, 28, 28, 128, 3, 1, true, 1),
    ("resnet50 b1 256ch 14x14", 1, 256, 14, 14, 256, 3, 1, true, 1),
    ("resnet50 b8 128ch 28x28", 8, 128, 28, 28, 128, 3, 1, true, 1),
    ("resnet50 b1 512ch 7x7", 1, 512, 7, 7, 512, 3, 1, true, 1),
    ("resnet50 b8 512ch 7x7", 8, 512, 7, 7, 512, 3, 1, true, 1),
    ("resnet50 b8 s2 256ch 28x28 k256", 8, 256, 28, 28, 256, 3, 1, false, 2),
    ("resnet50 b8 s2 512ch 14x14 k512", 8, 512, 14, 14, 512, 3, 1, false, 2),
];
var rng = new Random(1);
Tensor<float> R(params int[] s) { var t = Tensor<float>.Zeros(s); var sp = t.AsSpan(); for (int i = 0; i < sp.Length; i++) sp[i] = (float)(rng.NextDouble() * 2 - 1); return t; }
string? only = args.Length > 1 ? args[1] : null;
foreach (var (name, n, c, h, w, kk, ks, pad, bwdData, stride) in shapes)
{
    if (only is not null && !name.Contains(only)) continue;
    var g = ConvGeometry.Of(stride, pad);
    int oh = g.OutH(h, ks), ow = g.OutW(w, ks);
    var x = R(n, c, h, w); var wt = R(kk, c, ks, ks); var b = R(kk); var y = R(n, kk, oh, ow); var dy = R(n, kk, oh, ow);
    var dx = R(n, c, h, w); var dw = R(kk, c, ks, ks); var db = R(kk);
    double flops = 2.0 * n * kk * c * ks * ks * oh * ow;
    var ops = new List<(string, Action)>
    {
        ("forward", () => k.Conv2dForward(x, wt, b, y, g, default(Identity<float>), default(Identity<float>))),
        ("bwd_filter", () => k.Conv2dBackwardFilter(dy, x, dw, db, g)),
    };
    if (bwdData) ops.Insert(1, ("bwd_data", () => k.Conv2dBackwardData(dy, wt, dx, g)));
    foreach (var (op, run) in ops)
    {
        var t = new[] { new List<double>(), new List<double>() };
        for (int i = 0; i < 3; i++) for (int m = 0; m < 2; m++) { flag.SetValue(null, m == 1); run(); }
        for (int i = 0; i < reps; i++)
            for (int m = 0; m < 2; m++)
            {
                flag.SetValue(null, m == 1);
                var sw = Stopwatch.StartNew(); run(); t[m].Add(sw.Elapsed.TotalMilliseconds);
            }
        double a = Median(t[0]), d = Median(t[1]);
        Console.WriteLine($"{name,-34} {op,-11} {a,10:F3} {d,10:F3} {flops / a / 1e6,9:F1} {flops / d / 1e6,9:F1} {a / d,7:F2}x");
    }
}
flag.SetValue(null, true);
Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}");
// the median of the interleaved runs of each side
static double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
