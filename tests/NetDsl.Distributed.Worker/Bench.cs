using System.Diagnostics;
using System.Globalization;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;
using NetDsl.Runtime.Optim;

namespace NetDsl.Distributed.Worker;

/// <summary>
/// Measurements for docs/distributed.md. <c>bench allreduce</c>: the gradient allreduce of ResNet-20, the transformer
/// encoder block and ResNet-50 (their fp32 gradient sizes, in 25 MB buckets as DataParallel sends them), median of
/// --repeat. <c>bench overlap --net resnet20|encoder</c>: data-parallel training steps with the compile-time bucket plan,
/// reporting compute, allreduce wait and step time, with and without overlap.
/// </summary>
internal static class Bench
{
    public static int Run(DistributedContext ctx, Options o)
    {
        string what = o.Rest.FirstOrDefault() ?? "allreduce";
        return what switch
        {
            "allreduce" => Allreduce(ctx, o),
            "overlap" => Overlap(ctx, o),
            _ => throw new ArgumentException($"bench {what}: allreduce or overlap"),
        };
    }

    private static int Allreduce(DistributedContext ctx, Options o)
    {
        var sizes = new (string Name, long Params)[]
        {
            ("ResNet-20", 272_474), ("encoder block", 792_330), ("ResNet-50", 25_557_032),
            ("4 KB", 1024), ("64 KB", 16 * 1024), ("1 MB", 256 * 1024), ("16 MB", 4 * 1024 * 1024),
        };
        foreach (var (name, n) in sizes)
        {
            var buf = new float[n];
            new Random(1).NextSingle();
            for (int i = 0; i < buf.Length; i++) buf[i] = 1e-3f * (i % 97);
            long bucket = o.BucketBytes / 4;
            var times = new List<double>();
            for (int rep = 0; rep < o.Repeat + 2; rep++)
            {
                ctx.Barrier();
                var sw = Stopwatch.StartNew();
                for (long off = 0; off < n; off += bucket)
                    ctx.AllreduceSum(buf.AsSpan((int)off, (int)Math.Min(bucket, n - off)));
                double ms = sw.Elapsed.TotalMilliseconds;
                if (rep >= 2) times.Add(ctx.AllreduceMax(ms));
            }
            times.Sort();
            if (ctx.IsMain)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"allreduce {name}: {n * 4 / 1e6:F3} MB on {ctx.Size} ranks: median {times[times.Count / 2]:F3} ms, min {times[0]:F3} ms"));
        }
        return 0;
    }

    private static int Overlap(DistributedContext ctx, Options o)
    {
        int batch = o.Global / ctx.Size;
        var rng = new SplitMix64(11);
        NetworkBase<float> net; Func<float> step;
        var y = Tensor<int>.Zeros(batch);
        for (int i = 0; i < batch; i++) y.AsSpan()[i] = rng.NextInt(10);
        if (o.Net == "encoder")
        {
            var e = new EncoderBlock(Device.Cpu, 1);
            var x = Tensor<float>.Zeros(batch, 128, 256);
            for (int i = 0; i < x.Length; i++) x.AsSpan()[i] = (float)rng.NextGaussian();
            net = e; step = () => e.TrainStep(x, y);
        }
        else
        {
            var r = new ResNet20(Device.Cpu, 1);
            var x = Tensor<float>.Zeros(batch, 3, 32, 32);
            for (int i = 0; i < x.Length; i++) x.AsSpan()[i] = (float)rng.NextGaussian();
            net = r; step = () => r.TrainStep(x, y);
        }
        var opt = new Sgd<float>(net.Parameters, lr: 1e-3, momentum: 0.9);
        using var dp = new DataParallel<float>(net, ctx, new DataParallelOptions { BucketBytes = o.BucketBytes, Overlap = o.Overlap });
        double compute = 0, wait = 0, reduce = 0, total = 0;
        for (int s = 0; s < o.Steps; s++)
        {
            dp.Step(step, opt, batch);
            if (s < 2) continue;   // warm-up
            var t = dp.LastStep;
            compute += ctx.AllreduceMax(t.BackwardMs); wait += ctx.AllreduceMax(t.WaitMs); reduce += ctx.AllreduceMax(t.ReduceMs); total += ctx.AllreduceMax(t.TotalMs);
        }
        int m = o.Steps - 2;
        if (ctx.IsMain)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"overlap {o.Net}: {ctx.Size} ranks × batch {batch}, {dp.Buckets.Count} bucket(s) of ≤ {o.BucketBytes / 1e6:F2} MB ({dp.LastStep.Bytes / 1e6:F2} MB of gradients), overlap {(o.Overlap ? "on" : "off")}: " +
                $"forward+backward {compute / m:F1} ms, allreduce wait after backward {wait / m:F2} ms, reduce phase {reduce / m:F2} ms, step {total / m:F1} ms"));
        return 0;
    }
}
