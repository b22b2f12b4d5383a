using System.Numerics;
using NetDsl.Runtime.Training;

namespace NetDsl.Runtime.Optim;

/// <summary>
/// Saves and restores an optimizer's <see cref="Optimizer{T}.StateDict"/> and a schedule's state in one checkpoint file
/// (<see cref="Checkpoint"/>, version 2 with metadata): tensors "<c>param.slot</c>", metadata "optimizer", "step", "lr",
/// "schedule.position" (and the schedule's running state), plus any caller metadata under "extra." (e.g. the epoch).
/// Together with the network's own checkpoint (<c>net.Save</c>) a run stopped after k steps resumes bit for bit.
/// </summary>
public static class OptimizerCheckpoint
{
    public static void Save<T>(string path, Optimizer<T> optimizer, LrScheduler? schedule = null, IReadOnlyDictionary<string, string>? extra = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var state = optimizer.StateDict();
        var meta = new Dictionary<string, string>(state.Metadata, StringComparer.Ordinal);
        if (schedule is not null)
        {
            meta["schedule"] = schedule.GetType().Name;
            foreach (var (k, v) in schedule.StateDict()) meta["schedule." + k] = v;
        }
        if (extra is not null)
            foreach (var (k, v) in extra) meta["extra." + k] = v;
        Checkpoint.Save(path, state.Tensors.Select(kv => (kv.Key, kv.Value)), meta);
    }

    /// <summary>Restores what <see cref="Save"/> wrote; returns the caller's "extra." metadata. Throws naming the file and the mismatch.</summary>
    public static Dictionary<string, string> Load<T>(string path, Optimizer<T> optimizer, LrScheduler? schedule = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var entries = Checkpoint.Read<T>(path, out var meta);
        var tensors = entries.ToDictionary(e => e.Name, e => Tensor<T>.FromArray(e.Data, e.Shape), StringComparer.Ordinal);
        try
        {
            optimizer.LoadStateDict(new OptimizerState<T>(tensors, meta));
            if (schedule is not null)
            {
                if (!meta.TryGetValue("schedule", out var type))
                    throw new InvalidDataException("it holds no schedule state");
                if (type != schedule.GetType().Name) throw new InvalidDataException($"it holds the state of a {type}, not a {schedule.GetType().Name}");
                schedule.LoadStateDict(meta.Where(kv => kv.Key.StartsWith("schedule.", StringComparison.Ordinal))
                    .ToDictionary(kv => kv.Key["schedule.".Length..], kv => kv.Value));
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("checkpoint", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"optimizer checkpoint '{path}' does not match: {e.Message}", e);
        }
        return meta.Where(kv => kv.Key.StartsWith("extra.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["extra.".Length..], kv => kv.Value);
    }
}
