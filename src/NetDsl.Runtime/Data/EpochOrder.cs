namespace NetDsl.Runtime.Data;

/// <summary>The sample order of an epoch, shared by <see cref="DataLoader"/> and <see cref="TensorLoader"/>: the identity, or a
/// shuffle derived from (seed, epoch) alone, so epoch e's order is reproducible without replaying earlier epochs.</summary>
internal static class EpochOrder
{
    public static void Fill(int[] order, bool shuffle, int seed, int epoch)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!shuffle) return;
        var rng = SplitMix64.Derive((ulong)(uint)seed, 0xE90C_0000_0000UL + (ulong)(uint)epoch);
        rng.Shuffle(order.AsSpan());
    }
}
