using NetDsl.Runtime;
using Xunit;

namespace NetDsl.Tests;

/// <summary>
/// In a network big enough for shared kernel calls (CallOutliner: ResNet-34 and deeper), a gradient kernel that accumulates
/// through a scratch does so inside its shared method: AccumulateGradients must still add each batch's gradients.
/// </summary>
[Collection(SerialCollection.Name)]
public class SharedCallsAccumulateTests
{
    [Fact]
    public void AccumulateGradients_of_ResNet34_adds_each_batch_to_every_gradient()
    {
        var net = new ResNet34(Device.Cpu, seed: 3);
        var x = Tensor<float>.FromArray(TestData.Random(3 * 224 * 224, 7).Select(v => (float)v).ToArray(), 1, 3, 224, 224);
        var y = Tensor<int>.FromArray([5], 1);
        net.TrainStep(x, y);
        var once = net.Parameters.Select(p => p.Grad.AsSpan().ToArray()).ToList();
        foreach (var p in net.Parameters) p.Grad.AsSpan().Fill(0);
        net.AccumulateGradients(x, y);
        net.AccumulateGradients(x, y);
        int nonZero = 0;
        for (int i = 0; i < once.Count; i++)
        {
            var twice = net.Parameters[i].Grad.AsSpan().ToArray();
            for (int j = 0; j < twice.Length; j++)
            {
                float want = 2 * once[i][j];
                Assert.True(Math.Abs(twice[j] - want) <= 1e-5f * Math.Max(1f, Math.Abs(want)), $"{net.Parameters[i].Name}[{j}]: {twice[j]} vs 2 x {once[i][j]}");
                if (once[i][j] != 0) nonZero++;
            }
        }
        Assert.True(nonZero > 1_000_000, $"only {nonZero} non-zero gradient elements");
    }
}
