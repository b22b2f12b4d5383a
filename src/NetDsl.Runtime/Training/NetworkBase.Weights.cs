using System.Numerics;
using NetDsl.Runtime.Serialization;

namespace NetDsl.Runtime;

/// <summary>A tensor whose shape in a weights file differs from the model's.</summary>
/// <param name="Key">The model's name for the tensor.</param>
/// <param name="FileShape">The shape in the file.</param>
/// <param name="ModelShape">The shape in the model.</param>
public sealed record ShapeMismatch(string Key, int[] FileShape, int[] ModelShape)
{
    /// <summary>E.g. <c>fc.weight: [1000, 512] in the file, [10, 512] in the model</c>.</summary>
    public override string ToString() => $"{Key}: {Tensor<float>.Format(FileShape)} in the file, {Tensor<float>.Format(ModelShape)} in the model";
}

/// <summary>
/// What <see cref="NetworkBase{T}.LoadWeights(string, bool, Func{string, string?}?)"/> did, like PyTorch's
/// <c>load_state_dict</c> result: the model tensors the file lacked, the file tensors the model has no place for, and the
/// tensors whose shapes differ (those are not loaded).
/// </summary>
public sealed class LoadWeightsResult
{
    internal LoadWeightsResult(IReadOnlyList<string> loaded, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<ShapeMismatch> mismatched)
    {
        LoadedKeys = loaded;
        MissingKeys = missing;
        UnexpectedKeys = unexpected;
        ShapeMismatches = mismatched;
    }

    /// <summary>Model tensors (parameters and buffers) that received values from the file.</summary>
    public IReadOnlyList<string> LoadedKeys { get; }
    /// <summary>Model tensors the file has no value for (they keep their current values).</summary>
    public IReadOnlyList<string> MissingKeys { get; }
    /// <summary>File tensors (after the name map) that match no tensor of the model.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }
    /// <summary>Tensors present in both with different shapes (not loaded).</summary>
    public IReadOnlyList<ShapeMismatch> ShapeMismatches { get; }
    /// <summary>True when every model tensor was loaded and the file held nothing else.</summary>
    public bool IsExact => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>The three lists, as the strict load's exception states them.</summary>
    public override string ToString()
    {
        static string List(IEnumerable<string> xs)
        {
            var l = xs.ToList();
            return string.Join(", ", l.Take(12)) + (l.Count > 12 ? $" and {l.Count - 12} more" : "");
        }
        var parts = new List<string>();
        if (MissingKeys.Count > 0) parts.Add($"missing keys ({MissingKeys.Count}): {List(MissingKeys)}");
        if (UnexpectedKeys.Count > 0) parts.Add($"unexpected keys ({UnexpectedKeys.Count}): {List(UnexpectedKeys)}");
        if (ShapeMismatches.Count > 0) parts.Add($"shape mismatches ({ShapeMismatches.Count}): {List(ShapeMismatches.Select(m => m.ToString()))}");
        return parts.Count == 0 ? $"all {LoadedKeys.Count} tensors loaded" : string.Join("; ", parts);
    }
}

public abstract partial class NetworkBase<T>
{
    private const string NumBatchesTracked = ".num_batches_tracked";
    private long _batchesTrackedBase, _stepsAtLoad;

    /// <summary>
    /// The network's state under PyTorch <c>state_dict</c> names: every parameter, then every buffer (batchnorm's
    /// <c>running_mean</c> and <c>running_var</c>), in the order of the .net file. The tensors are the live ones (no copy).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Tensor<T>>> StateDict() =>
        Parameters.Select(p => KeyValuePair.Create(p.Name, p.Value)).Concat(Buffers.Select(b => KeyValuePair.Create(b.Name, b.Value))).ToList();

    /// <summary>The batchnorm layers (by prefix): those with both a <c>running_mean</c> and a <c>running_var</c> buffer.</summary>
    private IEnumerable<string> BatchNormPrefixes()
    {
        var names = Buffers.Select(b => b.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var b in Buffers)
            if (b.Name.EndsWith(".running_mean", StringComparison.Ordinal))
            {
                var prefix = b.Name[..^".running_mean".Length];
                if (names.Contains(prefix + ".running_var")) yield return prefix;
            }
    }

    /// <summary>
    /// The value written as each batchnorm's <c>num_batches_tracked</c>: the value last loaded from a file plus the training
    /// steps run since (every <c>TrainStep</c> runs each batchnorm once in training mode). NetDsl's batchnorm uses a fixed
    /// momentum, so the count is bookkeeping for PyTorch, not an input to training.
    /// </summary>
    public long BatchesTracked => _batchesTrackedBase + (StepCount - _stepsAtLoad);

    /// <summary>
    /// Writes the weights as a safetensors file under PyTorch <c>state_dict</c> names, which <c>safetensors.torch.load_file</c>
    /// and <c>model.load_state_dict</c> take directly: every parameter and buffer in <paramref name="dtype"/> (default: the
    /// network's element type, F32 or F64) and, for every batchnorm, <c>num_batches_tracked</c> as an I64 scalar.
    /// <paramref name="metadata"/> goes to the file's <c>__metadata__</c> (NetDsl adds <c>format: pt</c>).
    /// </summary>
    public void SaveWeights(string path, SafeTensorsDType? dtype = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var dt = dtype ?? (typeof(T) == typeof(double) ? SafeTensorsDType.F64 : SafeTensorsDType.F32);
        var entries = StateDict().Select(kv => SafeTensorsEntry.FromTensor(kv.Key, kv.Value, dt)).ToList();
        foreach (var prefix in BatchNormPrefixes())
            entries.Add(SafeTensorsEntry.Int64(prefix + NumBatchesTracked, [], [BatchesTracked]));
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        SafeTensors.Write(path, entries, meta);
    }

    /// <summary>
    /// Loads weights from a safetensors file (written by <see cref="SaveWeights"/>, by Python's <c>safetensors</c>, or any writer
    /// of the format), converting F64/F32/F16/BF16/integer tensors to <typeparamref name="T"/>.
    /// <para>
    /// <paramref name="nameMap"/> maps each name in the file to the model's name (return null to skip a tensor); without it
    /// the names must match (NetDsl's names are PyTorch's). With <paramref name="strict"/> (the default) any missing key,
    /// unexpected key or shape mismatch throws <see cref="InvalidDataException"/> listing them all, and nothing is loaded.
    /// With <paramref name="strict"/> false the matching tensors load, the rest keep their values, and the result lists what
    /// did not match (unlike PyTorch, a shape mismatch is reported, not thrown: that is how a new head is fine-tuned).
    /// </para>
    /// Shapes that differ only in dimensions of size 1 load (the elements are in the same order): a 1×1 convolution's
    /// <c>[O, I, 1, 1]</c> weight into a linear layer's <c>[O, I]</c>, a <c>[1, T, D]</c> embedding into <c>[T, D]</c>.
    /// A batchnorm's <c>num_batches_tracked</c> is optional and sets <see cref="BatchesTracked"/>.
    /// </summary>
    public LoadWeightsResult LoadWeights(string path, bool strict = true, Func<string, string?>? nameMap = null) =>
        LoadWeights(SafeTensorsFile.Open(path), strict, nameMap);

    /// <summary>Like <see cref="LoadWeights(string, bool, Func{string, string?}?)"/>, with the names that differ given as file name → model name.</summary>
    public LoadWeightsResult LoadWeights(string path, IReadOnlyDictionary<string, string> nameMap, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(nameMap);
        return LoadWeights(path, strict, k => nameMap.TryGetValue(k, out var v) ? v : k);
    }

    /// <summary>Loads from an opened file (see <see cref="LoadWeights(string, bool, Func{string, string?}?)"/>).</summary>
    public LoadWeightsResult LoadWeights(SafeTensorsFile file, bool strict = true, Func<string, string?>? nameMap = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        var model = StateDict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var bnCounters = BatchNormPrefixes().Select(p => p + NumBatchesTracked).ToHashSet(StringComparer.Ordinal);
        var fileByModelName = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var counters = new List<SafeTensorInfo>();
        foreach (var t in file.Tensors)
        {
            string? key = nameMap is null ? t.Name : nameMap(t.Name);
            if (key is null) continue;
            if (bnCounters.Contains(key)) { counters.Add(t); continue; }
            if (!model.TryGetValue(key, out var target)) { unexpected.Add(key == t.Name ? key : $"{key} (file: {t.Name})"); continue; }
            if (!fileByModelName.TryAdd(key, t))
                throw new InvalidDataException($"safetensors file '{file.Path}': the name map sends both '{fileByModelName[key].Name}' and '{t.Name}' to '{key}'");
            if (!NameMap.SameUpToOnes(t.Shape, target.Shape)) mismatched.Add(new ShapeMismatch(key, t.Shape, target.Shape));
        }
        var missing = model.Keys.Where(k => !fileByModelName.ContainsKey(k)).ToList();
        var mismatchedKeys = mismatched.Select(m => m.Key).ToHashSet(StringComparer.Ordinal);
        var loaded = model.Keys.Where(k => fileByModelName.ContainsKey(k) && !mismatchedKeys.Contains(k)).ToList();
        var result = new LoadWeightsResult(loaded, missing, unexpected, mismatched);
        if (strict && !result.IsExact)
            throw new InvalidDataException($"safetensors file '{file.Path}' does not match {GetType().Name}: {result} (pass strict: false to load the tensors that match, or a nameMap)");

        foreach (var key in loaded)
        {
            var info = fileByModelName[key];
            model[key].CopyFromHost(file.Read<T>(info.Name));
        }
        if (counters.Count > 0)
        {
            _batchesTrackedBase = counters.Max(c => c.ElementCount == 1 ? (long)file.Read<double>(c.Name)[0] : 0);
            _stepsAtLoad = StepCount;
        }
        return result;
    }

}

/// <summary>Name maps for <see cref="NetworkBase{T}.LoadWeights(string, bool, Func{string, string?}?)"/>.</summary>
public static class NameMap
{
    /// <summary>True when the shapes are equal after dropping their size-1 dimensions.</summary>
    public static bool SameUpToOnes(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        if (a.SequenceEqual(b)) return true;
        int i = 0, j = 0;
        while (true)
        {
            while (i < a.Length && a[i] == 1) i++;
            while (j < b.Length && b[j] == 1) j++;
            if (i == a.Length || j == b.Length) return i == a.Length && j == b.Length;
            if (a[i++] != b[j++]) return false;
        }
    }

    private static bool IsBuffer(string name) =>
        name.EndsWith(".running_mean", StringComparison.Ordinal) || name.EndsWith(".running_var", StringComparison.Ordinal);

    /// <summary>
    /// Pairs the file's tensors with the network's by position: the file's parameters (in the order of their data, which is
    /// the <c>state_dict</c> order for files written from <c>model.state_dict()</c> in order) with <see cref="NetworkBase{T}.Parameters"/>
    /// in .net order, and its <c>running_mean</c>/<c>running_var</c> buffers with <see cref="NetworkBase{T}.Buffers"/>
    /// (<c>num_batches_tracked</c> follows its batchnorm). For an example network whose names differ from its torchvision
    /// twin's (<c>basic3.conv1</c> vs <c>layer2.0.conv1</c>) but whose layers come in the same order. Every pair must have the
    /// same shape up to size-1 dimensions, and the counts must agree; otherwise this throws <see cref="InvalidDataException"/>
    /// naming the file and the first pair that does not fit, so a wrong order never loads silently. The map is file name →
    /// model name; patch it for the tensors whose order differs. With <paramref name="requireSameShapes"/> false only the
    /// counts must agree, so a network with a new head pairs with the old one's file and
    /// <c>LoadWeights(file, strict: false, nameMap)</c> reports the head as a shape mismatch (fine-tuning).
    /// </summary>
    public static Dictionary<string, string> ByOrder<T>(SafeTensorsFile file, NetworkBase<T> net, bool requireSameShapes = true) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(net);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var counters = file.Tensors.Where(t => t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        var fileParams = file.Tensors.Where(t => !IsBuffer(t.Name) && !counters.Contains(t)).ToList();
        var fileBuffers = file.Tensors.Where(t => IsBuffer(t.Name)).ToList();
        Pair(fileParams, net.Parameters.Select(p => (p.Name, p.Shape)).ToList(), "parameters");
        Pair(fileBuffers, net.Buffers.Select(b => (b.Name, b.Shape)).ToList(), "buffers");
        foreach (var c in counters)
        {
            var prefix = c.Name[..^".num_batches_tracked".Length];
            if (map.TryGetValue(prefix + ".running_mean", out var ours) && ours.EndsWith(".running_mean", StringComparison.Ordinal))
                map[c.Name] = ours[..^".running_mean".Length] + ".num_batches_tracked";
        }
        return map;

        void Pair(List<SafeTensorInfo> theirs, List<(string Name, int[] Shape)> ours, string what)
        {
            if (theirs.Count != ours.Count)
                throw new InvalidDataException($"safetensors file '{file.Path}' has {theirs.Count} {what} but {net.GetType().Name} has {ours.Count}: they cannot be paired by order");
            for (int i = 0; i < ours.Count; i++)
            {
                if (requireSameShapes && !SameUpToOnes(theirs[i].Shape, ours[i].Shape))
                    throw new InvalidDataException($"safetensors file '{file.Path}': {what} #{i} do not pair by order: '{theirs[i].Name}' {Tensor<float>.Format(theirs[i].Shape)} in the file, '{ours[i].Name}' {Tensor<float>.Format(ours[i].Shape)} in {net.GetType().Name}");
                map[theirs[i].Name] = ours[i].Name;
            }
        }
    }
}
