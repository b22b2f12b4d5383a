using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using NetDsl.Runtime;
using NetDsl.Runtime.Data;

namespace NetDsl.Tests;

public class DataLoaderTests
{
    private static LabeledImages Numbered(int n)
    {
        var images = new float[n * 3];
        var labels = new int[n];
        for (int i = 0; i < n; i++) { labels[i] = i; images[i * 3] = i; images[i * 3 + 1] = -i; images[i * 3 + 2] = 0.5f; }
        return new LabeledImages(images, labels, 1, 1, 3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_sample_once_per_epoch_with_reused_tensors(bool dropLast)
    {
        var loader = new DataLoader(Numbered(23), batchSize: 5, seed: 7, dropLast: dropLast);
        Assert.Equal(dropLast ? 4 : 5, loader.BatchesPerEpoch);
        Tensor<float>? fullImages = null;
        var orders = new List<int[]>();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var seen = new List<int>();
            foreach (var batch in loader.Epoch(epoch))
            {
                Assert.Equal([batch.Size, 1, 1, 3], batch.Images.Shape);
                Assert.Equal([batch.Size], batch.Labels.Shape);
                if (batch.Size == 5) { fullImages ??= batch.Images; Assert.Same(fullImages, batch.Images); }
                var img = batch.Images.AsSpan();
                for (int i = 0; i < batch.Size; i++)
                {
                    int label = batch.Labels.AsSpan()[i];
                    Assert.Equal(label, img[i * 3]);
                    Assert.Equal(-label, img[i * 3 + 1]);
                    seen.Add(label);
                }
            }
            Assert.Equal(loader.SamplesPerEpoch, seen.Count);
            if (!dropLast) Assert.Equal(Enumerable.Range(0, 23), seen.Order());
            Assert.Equal(seen.Count, seen.Distinct().Count());
            orders.Add(seen.ToArray());
        }
        Assert.NotEqual(orders[0], orders[1]); // reshuffled each epoch
        // The order of an epoch depends only on (seed, epoch).
        var again = new DataLoader(Numbered(23), batchSize: 5, seed: 7, dropLast: dropLast);
        Assert.Equal(orders[1], again.Epoch(1).SelectMany(b => b.Labels.AsSpan().ToArray()).ToArray());
    }

    [Fact]
    public void Host_transform_sees_each_batch_before_it_is_yielded()
    {
        var loader = new DataLoader(Numbered(6), batchSize: 4, shuffle: false)
        {
            HostTransform = (images, epoch, batch) => { foreach (ref var v in images.AsSpan()) v *= 10; },
        };
        var firsts = loader.Epoch(0).SelectMany(b => Enumerable.Range(0, b.Size).Select(i => b.Images.AsSpan()[i * 3])).ToArray();
        Assert.Equal([0f, 10, 20, 30, 40, 50], firsts);
    }

    [Fact]
    public void Without_shuffle_the_order_is_the_data_order()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4, shuffle: false);
        Assert.Equal(Enumerable.Range(0, 10), loader.Epoch(3).SelectMany(b => b.Labels.AsSpan().ToArray()));
    }

    [Fact]
    public void Batches_do_not_allocate()
    {
        var loader = new DataLoader(Numbered(4000), batchSize: 64, seed: 1);
        foreach (var _ in loader.Epoch(0)) { } // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        int count = 0;
        foreach (var b in loader.Epoch(1)) count += b.Size;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(4000, count);
        Assert.True(allocated < 1024, $"an epoch of 63 batches allocated {allocated} bytes");
    }
}
