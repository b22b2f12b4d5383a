namespace NetDsl.Runtime;

public sealed partial class CpuKernels<T>
{
    public T SoftmaxCrossEntropyForward(Tensor<T> logits, Tensor<int> labels, Tensor<T> probs, Tensor<T> loss)
    {
        if (logits.Rank != 2) throw new ArgumentException($"logits: expected shape [N, C], got {Tensor<T>.Format(logits.Shape)}", nameof(logits));
        int n = logits.Shape[0], c = logits.Shape[1];
        labels.CheckShape("labels", [n]);
        probs.CheckShape("probs", logits.Shape);
        if (loss.Length < 1) throw new ArgumentException($"loss: expected shape [1], got {Tensor<T>.Format(loss.Shape)}", nameof(loss));
        var ls = logits.AsSpan(); var ps = probs.AsSpan(); var lab = labels.AsSpan();
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            int y = lab[i];
            if ((uint)y >= (uint)c) throw new ArgumentOutOfRangeException(nameof(labels), $"label {y} at index {i} is out of range 0..{c - 1}");
            var row = ls.Slice(i * c, c); var prow = ps.Slice(i * c, c);
            T max = T.NegativeInfinity;
            foreach (var v in row) if (v > max) max = v;
            T sum = T.Zero;
            for (int j = 0; j < c; j++) { T e = T.Exp(row[j] - max); prow[j] = e; sum += e; }
            T inv = T.One / sum;
            for (int j = 0; j < c; j++) prow[j] *= inv;
            total += T.Log(sum) + max - row[y];   // −log softmax(row)[y] = logsumexp − row[y]
        }
        T mean = n == 0 ? T.Zero : total / T.CreateChecked(n);
        loss.AsSpan()[0] = mean;
        return mean;
    }

    public void SoftmaxCrossEntropyBackward(Tensor<T> probs, Tensor<int> labels, T dloss, Tensor<T> dlogits)
    {
        if (probs.Rank != 2) throw new ArgumentException($"probs: expected shape [N, C], got {Tensor<T>.Format(probs.Shape)}", nameof(probs));
        int n = probs.Shape[0], c = probs.Shape[1];
        labels.CheckShape("labels", [n]);
        dlogits.CheckShape("dlogits", probs.Shape);
        var ps = probs.AsSpan(); var ds = dlogits.AsSpan(); var lab = labels.AsSpan();
        if (n == 0) return;
        T scale = dloss / T.CreateChecked(n);
        for (int i = 0; i < n; i++)
        {
            int y = lab[i];
            if ((uint)y >= (uint)c) throw new ArgumentOutOfRangeException(nameof(labels), $"label {y} at index {i} is out of range 0..{c - 1}");
            for (int j = 0; j < c; j++) ds[i * c + j] = ps[i * c + j] * scale;
            ds[i * c + y] -= scale;
        }
    }
}
