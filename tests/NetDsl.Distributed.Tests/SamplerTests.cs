using NetDsl.Runtime.Data;

namespace NetDsl.Distributed.Tests;

/// <summary>The distributed sampler: the shards of all ranks, concatenated, are the single-process loader's epoch order.</summary>
public sealed class SamplerTests
{
    [Theory]
    [InlineData(320, 64, 2)]
    [InlineData(320, 64, 3)]
    [InlineData(1000, 64, 4)]    // a last partial batch of 40
    [InlineData(130, 64, 3)]      // a last partial batch of 2 < 3 ranks: dropped
    public void ShardsOfAllRanksAreTheSingleProcessOrder(int count, int batch, int ranks)
    {
        var data = new LabeledImages(new float[count], Enumerable.Range(0, count).ToArray(), 1);
        var loader = new DataLoader(data, batch, shuffle: true, seed: 7);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var single = loader.Epoch(epoch).SelectMany(b => b.Labels.AsSpan().ToArray()).ToArray();
            var shards = Enumerable.Range(0, ranks).Select(r => new DistributedSampler(count, batch, r, ranks, seed: 7).Epoch(epoch).ToList()).ToList();
            int batches = shards[0].Count;
            Assert.All(shards, s => Assert.Equal(batches, s.Count));
            var global = new List<int>();
            for (int b = 0; b < batches; b++)
            {
                long offset = 0;
                for (int r = 0; r < ranks; r++)
                {
                    var s = shards[r][b];
                    Assert.Equal(offset, s.SampleOffset);
                    Assert.Equal(shards[0][b].GlobalBatch, s.GlobalBatch);
                    Assert.InRange(s.Size, s.GlobalBatch / ranks, s.GlobalBatch / ranks + 1);
                    global.AddRange(s.Indices);
                    offset += s.Size;
                }
                Assert.Equal(shards[0][b].GlobalBatch, (int)offset);
            }
            int tail = count % batch;
            int expected = tail >= ranks ? count : count - tail;
            Assert.Equal(single.Take(expected), global);
        }
    }

    [Fact]
    public void GlobalBatchSmallerThanTheRanksIsRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(100, 2, 0, 4));
        Assert.Contains("global batch 2 is smaller than the 4 ranks", e.Message);
    }

    [Fact]
    public void WithoutALauncherInitIsOneProcess()
    {
        var ctx = Distributed.Init();
        Assert.False(ctx.IsMpi);
        Assert.Equal((0, 1, 0), (ctx.Rank, ctx.Size, ctx.LocalRank));
        Assert.True(ctx.IsMain);
    }
}
