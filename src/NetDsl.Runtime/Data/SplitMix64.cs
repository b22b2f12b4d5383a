namespace NetDsl.Runtime.Data;

/// <summary>
/// A small, fast, seedable RNG (SplitMix64) whose sequence is fixed by this code, not by the .NET version:
/// shuffles, splits and weight initialization are reproducible everywhere.
/// </summary>
public struct SplitMix64
{
    private ulong _state;
    private double _spareGaussian;
    private bool _hasSpare;

    public SplitMix64(ulong seed) { _state = seed; _spareGaussian = 0; _hasSpare = false; }

    /// <summary>A generator for a derived stream (e.g. seed and epoch) that does not overlap trivially with the parent's.</summary>
    public static SplitMix64 Derive(ulong seed, ulong stream) => new(Mix(seed ^ Mix(stream + 0x9E3779B97F4A7C15UL)));

    /// <summary>
    /// The sample order of a seeded train/held-out split of <paramref name="count"/> samples (the first
    /// <paramref name="trainCount"/> indices train): one permutation shared by every dataset type, so a split is the same
    /// whichever type holds the data.
    /// </summary>
    public static int[] SplitOrder(int seed, int count, int trainCount)
    {
        if (trainCount < 0 || trainCount > count)
            throw new ArgumentOutOfRangeException(nameof(trainCount), $"train count {trainCount} is not in 0..{count}");
        var order = new int[count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var rng = Derive((ulong)(uint)seed, 0x5EED_5EEDUL);
        rng.Shuffle(order.AsSpan());
        return order;
    }

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) without modulo bias (Lemire's method).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"n must be positive, got {n}");
        ulong range = (ulong)n;
        ulong x = NextUInt64() >> 32;
        ulong m = x * range;
        ulong low = m & 0xFFFFFFFFUL;
        if (low < range)
        {
            ulong threshold = (0x1_0000_0000UL - range) % range;
            while (low < threshold)
            {
                x = NextUInt64() >> 32;
                m = x * range;
                low = m & 0xFFFFFFFFUL;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>Standard normal (Box-Muller; the second value of each pair is kept for the next call).</summary>
    public double NextGaussian()
    {
        if (_hasSpare) { _hasSpare = false; return _spareGaussian; }
        double u1;
        do u1 = NextDouble(); while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double theta = 2.0 * Math.PI * u2;
        _spareGaussian = r * Math.Sin(theta);
        _hasSpare = true;
        return r * Math.Cos(theta);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A stable 64-bit hash of a string (FNV-1a over UTF-16 code units), for per-name seeds.</summary>
    public static ulong StableHash(string s)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in s) { h ^= c; h *= 0x100000001B3UL; }
        return h;
    }
}
