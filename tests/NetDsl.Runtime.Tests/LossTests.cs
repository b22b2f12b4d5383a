using System.Numerics;

namespace NetDsl.Runtime.Tests;

public class LossTests
{
    [Fact]
    public void Cross_entropy_matches_the_reference_with_extreme_logits_in_float_and_double()
    {
        Run<double>(1e-13);
        Run<float>(1e-6);
    }

    private static void Run<T>(double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Random(11);
        var kern = CpuKernels<T>.Instance;
        int n = 13, c = 10;
        var logitsD = TU.RandArray(rng, n * c).Select(v => v * 5).ToArray();
        logitsD[3] = 1000; logitsD[20] = -1000;   // stability: no overflow / NaN
        var logits = TU.From<T>(rng, logitsD, n, c);
        var labelArr = Enumerable.Range(0, n).Select(_ => rng.Next(c)).ToArray();
        var labels = Tensor<int>.FromArray(labelArr, n);
        var probs = TU.Empty<T>(rng, n, c); var loss = TU.Empty<T>(rng, 1);
        kern.CrossEntropyForward(logits, labels, ReadOnlySpan<T>.Empty, T.Zero, LossReduction.Mean, probs, loss);
        var eprobs = Tensor<double>.Zeros(n, c); var eloss = Tensor<double>.Zeros(1);
        ReferenceKernels<double>.Instance.CrossEntropyForward(Tensor<double>.FromArray(logitsD, n, c), labels, ReadOnlySpan<double>.Empty, 0,
            LossReduction.Mean, eprobs, eloss);
        double el = eloss.AsSpan()[0];
        Assert.True(double.IsFinite(el) && el > 0, $"reference loss {el}");
        Assert.Equal(el, double.CreateChecked(loss.AsSpan()[0]), Math.Abs(el) * tol * 10);
        var ep = TU.D(eprobs);
        TU.Close(ep, probs, tol, "probs");
        var dl = TU.Empty<T>(rng, n, c);
        kern.CrossEntropyBackward(TU.From<T>(rng, [0.5], 1), probs, labels, ReadOnlySpan<T>.Empty, T.Zero, LossReduction.Mean, dl);
        var ed = ep.Select((p, i) => (p - (labelArr[i / c] == i % c ? 1 : 0)) * 0.5 / n).ToArray();
        TU.Close(ed, dl, tol, "dlogits");
    }

    [Fact]
    public void Bad_labels_and_shapes_throw_naming_both_shapes()
    {
        var kern = CpuKernels<float>.Instance;
        var logits = Tensor<float>.Zeros(2, 3);
        void Forward(Tensor<int> labels, Tensor<float> probs) =>
            kern.CrossEntropyForward(logits, labels, ReadOnlySpan<float>.Empty, 0f, LossReduction.Mean, probs, Tensor<float>.Zeros(1));
        Assert.ThrowsAny<ArgumentException>(() => Forward(Tensor<int>.FromArray([0, 3], 2), Tensor<float>.Zeros(2, 3)));
        Assert.ThrowsAny<ArgumentException>(() => Forward(Tensor<int>.FromArray([-1, 0], 2), Tensor<float>.Zeros(2, 3)));
        TU.ThrowsShapes(() => Forward(Tensor<int>.Zeros(3), Tensor<float>.Zeros(2, 3)), "[2]", "[3]");
        TU.ThrowsShapes(() => Forward(Tensor<int>.Zeros(2), Tensor<float>.Zeros(3, 2)), "[2, 3]", "[3, 2]");
        TU.ThrowsShapes(() => kern.CrossEntropyBackward(Tensor<float>.Zeros(1), logits, Tensor<int>.Zeros(2), ReadOnlySpan<float>.Empty, 0f,
            LossReduction.Mean, Tensor<float>.Zeros(2, 4)), "[2, 3]", "[2, 4]");
    }
}
