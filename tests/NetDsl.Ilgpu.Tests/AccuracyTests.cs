using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;
using Spectre.Console;

namespace NetDsl.Tests;

public class AccuracyTests
{
    [Fact]
    public void Argmax_against_labels()
    {
        var logits = Tensor<float>.FromArray([0.1f, 0.9f, 0.0f, 2f, 1f, 3f, 5f, 5f, 1f, -1f, -2f, -0.5f], 4, 3);
        var labels = Tensor<int>.FromArray([1, 2, 0, 0], 4);
        Assert.Equal(3, Accuracy.CountCorrect(logits, labels)); // row 3's argmax is 2 (-0.5)
        Assert.Equal(0.75, Accuracy.Of(logits, labels));
        var meter = new AccuracyMeter();
        meter.Add(logits, labels);
        meter.Add(1, 4);
        Assert.Equal(0.5, meter.Value);
        Assert.Throws<ArgumentException>(() => Accuracy.CountCorrect(logits, Tensor<int>.FromArray([1, 2], 2)));
    }
}
