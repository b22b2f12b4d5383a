// Command-line options shared by the generative programs (examples/Vae, examples/Dcgan), linked into each.
sealed record Options(int Epochs, int Batch, float LearningRate, int Seed, string DataDir, string Output)
{
    /// <summary>Parses --epochs N --batch N --lr X --seed N --data DIR --out FILE.png over <paramref name="defaults"/>.</summary>
    public static Options Parse(string[] args, Options defaults)
    {
        var o = defaults;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            string opt = args[i];
            int Int() { var v = Next(); return int.TryParse(v, out var n) && n > 0 ? n : throw new ArgumentException($"{opt} needs a positive integer, got '{v}'"); }
            o = args[i] switch
            {
                "--epochs" => o with { Epochs = Int() },
                "--batch" => o with { Batch = Int() },
                "--lr" => o with { LearningRate = float.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture) },
                "--seed" => o with { Seed = Int() },
                "--data" => o with { DataDir = Next() },
                "--out" => o with { Output = Next() },
                _ => throw new ArgumentException($"unknown option {args[i]} (options: --epochs N --batch N --lr X --seed N --data DIR --out FILE.png)"),
            };
        }
        return o;
    }

    /// <summary><see cref="Parse"/>, or the message and exit code 2 on a bad option (no stack trace for a typo).</summary>
    public static Options ParseOrExit(string[] args, Options defaults)
    {
        try { return Parse(args, defaults); }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Environment.Exit(2);
            throw; // not reached
        }
    }

    /// <summary>The digits' folder: NETDSL_DATA, else data/mnist (fetched on first use).</summary>
    public static string DefaultDataDir => Environment.GetEnvironmentVariable("NETDSL_DATA") ?? Path.Combine("data", "mnist");
}
