namespace NetDsl.Runtime.Data;

/// <summary>One named column of a <see cref="TensorDataset"/>: float or int samples of one shape, back to back.</summary>
public sealed class DataColumn
{
    public string Name { get; }
    /// <summary>The values: <c>float[]</c> or <c>int[]</c>, <see cref="TensorDataset.Count"/> × <see cref="SampleSize"/>.</summary>
    public Array Data { get; }
    public int[] SampleShape { get; }
    public int SampleSize { get; }
    public bool IsInt => Data is int[];
    public float[] Floats => Data as float[] ?? throw new InvalidOperationException($"column '{Name}' holds ints, not floats");
    public int[] Ints => Data as int[] ?? throw new InvalidOperationException($"column '{Name}' holds floats, not ints");

    internal DataColumn(string name, Array data, int[] sampleShape)
    {
        if (data is not (float[] or int[])) throw new ArgumentException($"column '{name}': data must be float[] or int[], got {data.GetType().Name}");
        Name = name;
        Data = data;
        SampleShape = (int[])sampleShape.Clone();
        SampleSize = Tensor<float>.ShapeLength(sampleShape);
    }

    /// <summary>Shape of <paramref name="n"/> samples as a batch, e.g. [n, 1, 28, 28] (or [n] for scalars).</summary>
    public int[] BatchShape(int n) => [n, .. SampleShape];
}

/// <summary>
/// An in-memory dataset of named tensors (PyTorch's TensorDataset with names): every column has one value of its sample shape
/// per sample, float (images, features, regression targets) or int (class labels, token ids). Build it with
/// <see cref="Add(string, float[], int[])"/>/<see cref="Add(string, int[], int[])"/> or a reader (IDX, CIFAR, CSV, image folders).
/// </summary>
public sealed class TensorDataset
{
    private readonly List<DataColumn> _columns = new();

    public int Count { get; private set; } = -1;
    public IReadOnlyList<DataColumn> Columns => _columns;

    public DataColumn this[string name] =>
        _columns.FirstOrDefault(c => c.Name == name) ?? throw new KeyNotFoundException($"dataset has no column '{name}' (it has: {string.Join(", ", _columns.Select(c => c.Name))})");

    public bool Has(string name) => _columns.Any(c => c.Name == name);

    /// <summary>Adds a float column of samples shaped <paramref name="sampleShape"/> ([] for one scalar per sample).</summary>
    public TensorDataset Add(string name, float[] data, params int[] sampleShape) => AddColumn(name, data, sampleShape);
    /// <summary>Adds an int column (labels, ids).</summary>
    public TensorDataset Add(string name, int[] data, params int[] sampleShape) => AddColumn(name, data, sampleShape);

    private TensorDataset AddColumn(string name, Array data, int[] sampleShape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(data);
        if (Has(name)) throw new ArgumentException($"dataset already has a column '{name}'", nameof(name));
        var col = new DataColumn(name, data, sampleShape);
        if (col.SampleSize == 0) throw new ArgumentException($"column '{name}': sample shape {Tensor<float>.Format(sampleShape)} has no elements");
        if (data.Length % col.SampleSize != 0)
            throw new ArgumentException($"column '{name}': {data.Length} values are not a whole number of samples of shape {Tensor<float>.Format(sampleShape)}");
        int n = data.Length / col.SampleSize;
        if (Count >= 0 && n != Count)
            throw new ArgumentException($"column '{name}' has {n} samples but the dataset has {Count} (column '{_columns[0].Name}')");
        Count = n;
        _columns.Add(col);
        return this;
    }

    /// <summary>The samples at <paramref name="indices"/>, in that order (a copy).</summary>
    public TensorDataset Select(ReadOnlySpan<int> indices)
    {
        var result = new TensorDataset();
        foreach (var c in _columns)
        {
            var dst = Array.CreateInstance(c.Data.GetType().GetElementType()!, (long)indices.Length * c.SampleSize);
            for (int i = 0; i < indices.Length; i++)
            {
                int s = indices[i];
                if ((uint)s >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"sample index {s} out of range 0..{Count - 1}");
                Array.Copy(c.Data, (long)s * c.SampleSize, dst, (long)i * c.SampleSize, c.SampleSize);
            }
            result.AddColumn(c.Name, dst, c.SampleShape);
        }
        if (indices.Length == 0 && result.Count < 0) result.Count = 0;
        return result;
    }

    /// <summary>Deterministic shuffle (seeded) and split into the first <paramref name="trainCount"/> samples and the rest.</summary>
    public (TensorDataset Train, TensorDataset Test) Split(int seed, int trainCount)
    {
        var order = SplitMix64.SplitOrder(seed, Count, trainCount);
        return (Select(order.AsSpan(0, trainCount)), Select(order.AsSpan(trainCount)));
    }

    /// <summary>Image set as a dataset: columns <paramref name="imageName"/> (float) and <paramref name="labelName"/> (int).</summary>
    public static TensorDataset FromImages(LabeledImages images, string imageName = "image", string labelName = "label") =>
        new TensorDataset().Add(imageName, images.Images, images.SampleShape).Add(labelName, images.Labels);

    public override string ToString() =>
        $"{Count} samples: {string.Join(", ", _columns.Select(c => $"{c.Name} {(c.IsInt ? "int" : "float")}{Tensor<float>.Format(c.SampleShape)}"))}";
}
