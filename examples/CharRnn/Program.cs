// Trains a character-level language model (charlm.net: embedding -> lstm or gru -> linear, compiled to C# at build time
// by the NetDsl generator) on the fortune cookies of the Debian package fortunes-min (/usr/share/games/fortunes), and
// prints a generated sample after every epoch.
//
//   sudo apt-get install fortunes-min        (the program installs nothing itself)
//   dotnet run -c Release --project examples/CharRnn [-- --model lstm|gru --epochs 10 --lr 0.003 --seed 1
//                                                      --temperature 0.8 --length 240 --prompt "A " --corpus DIR --curves charrnn_curves]
//
// Parameters (PyTorch 1.13: nn.Embedding(96, 32) + nn.LSTM(32, 256) or nn.GRU(32, 256) + nn.Linear(256, 96)):
// CharLstm 324,704 and CharGru 250,464. Batches are 32 chunks of 64 characters from random offsets; each chunk starts
// from a zero state (truncated back-propagation through time: the model sees 64 characters of context at most).
using System.CommandLine;
using System.Diagnostics;
using System.Text;
using NetDsl.Examples;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

var (o, exit) = Options.Parse(args);
if (o is null) return exit;
string[] files = Directory.Exists(o.Corpus)
    ? Directory.GetFiles(o.Corpus).Where(f => !f.EndsWith(".dat", StringComparison.Ordinal) && !f.EndsWith(".u8", StringComparison.Ordinal)).OrderBy(f => f, StringComparer.Ordinal).ToArray()
    : [];
if (files.Length == 0)
{
    Console.Error.WriteLine($"no corpus in {o.Corpus}: this example trains on the fortune cookies of a Debian package.");
    Console.Error.WriteLine("Install them with:  sudo apt-get install fortunes-min   (or fortunes for a larger corpus), or pass --corpus DIR with text files.");
    return 2;
}

// the vocabulary: printable ASCII (32..126) and '\n' = 96 characters; tabs become spaces, anything else '?'
const int Vocab = 96, Batch = 32, Steps = 64;
static int Id(char c) => c == '\n' ? 95 : c == '\t' ? 0 : c >= ' ' && c <= '~' ? c - ' ' : '?' - ' ';
static char Char(int id) => id == 95 ? '\n' : (char)(id + ' ');
var text = string.Join("\n", files.Select(File.ReadAllText)).Replace("\r", "").Replace("\n%\n", "\n\n");
var corpus = text.Select(Id).ToArray();
Console.WriteLine($"corpus: {files.Length} files from {o.Corpus}, {corpus.Length:N0} characters, vocabulary {Vocab}");

var device = Device.Default;
NetworkBase<float> net, sampler;
Func<Tensor<int>, Tensor<int>, Optimizer<float>, float> trainStep;
Func<Tensor<int>, Tensor<float>> logits;
if (o.Model == "gru")
{
    var g = new CharGru(device, o.Seed); var s = new CharGruSampler(device, o.Seed);
    (net, sampler, trainStep, logits) = (g, s, g.TrainStep, s.Forward);
    Console.WriteLine($"CharGru from {CharGru.SourceFile}: {CharGru.ParameterCount:N0} parameters, on {device.Name}");
}
else
{
    var l = new CharLstm(device, o.Seed); var s = new CharLstmSampler(device, o.Seed);
    (net, sampler, trainStep, logits) = (l, s, l.TrainStep, s.Forward);
    Console.WriteLine($"CharLstm from {CharLstm.SourceFile}: {CharLstm.ParameterCount:N0} parameters, on {device.Name}");
}
sampler.Eval();
var adam = new Adam<float>(net.Parameters, lr: o.LearningRate);
var rng = new Random(o.Seed);
var ids = device.Allocate<int>(Batch, Steps);
var next = device.Allocate<int>(Batch * Steps);
int[] hostIds = new int[Batch * Steps], hostNext = new int[Batch * Steps];
int stepsPerEpoch = Math.Max(1, corpus.Length / (Batch * Steps));
Console.WriteLine($"batches of {Batch} x {Steps} characters, {stepsPerEpoch} steps per epoch, Adam lr {o.LearningRate}; samples: {(o.Temperature > 0 ? $"temperature {o.Temperature}" : "greedy")}, seed {o.Seed}");

var clock = Stopwatch.StartNew();
var history = new TrainingHistory();
for (int epoch = 1; epoch <= o.Epochs; epoch++)
{
    var t0 = clock.Elapsed;
    double sum = 0;
    for (int step = 0; step < stepsPerEpoch; step++)
    {
        for (int b = 0; b < Batch; b++)
        {
            int start = rng.Next(0, corpus.Length - Steps - 1);
            Array.Copy(corpus, start, hostIds, b * Steps, Steps);
            Array.Copy(corpus, start + 1, hostNext, b * Steps, Steps);
        }
        ids.CopyFromHost(hostIds); next.CopyFromHost(hostNext);
        sum += trainStep(ids, next, adam);
    }
    var seconds = (clock.Elapsed - t0).TotalSeconds;
    Console.WriteLine($"epoch {epoch}/{o.Epochs}: loss {sum / stepsPerEpoch:F3} (cross-entropy per character, nats), {stepsPerEpoch * Batch * Steps / seconds:N0} characters/s, {seconds:F1} s");
    var log = new EpochLog();
    log.Set("epoch", epoch); log.Set("loss", sum / stepsPerEpoch);
    history.Epochs.Add(log);
    CurvePlot.Draw(history, o.Curves + ".png", o.Curves + ".svg", $"character {o.Model.ToUpperInvariant()}: cross-entropy per character (nats)");
    foreach (var p in net.Parameters) sampler.GetParameter(p.Name).Value.CopyFromHost(p.Value.CopyToHost());
    Console.WriteLine("  sample: " + Sample(o.Prompt, o.Length, new Random(o.Seed + epoch)).Replace("\n", "\n          "));
}
Console.WriteLine($"trained {o.Epochs} epochs in {clock.Elapsed.TotalSeconds:F1} s; loss curve: {Path.GetFullPath(o.Curves)}.png/.svg");
return 0;

// generation: the sampler reads the last (up to) 2·Steps characters and gives the next-character logits after each;
// the last row is sampled (softmax with a temperature, or the arg max when the temperature is 0)
string Sample(string prompt, int length, Random r)
{
    var seq = prompt.Select(Id).ToList();
    var sb = new StringBuilder(prompt);
    for (int i = 0; i < length; i++)
    {
        var window = seq.Skip(Math.Max(0, seq.Count - 2 * Steps)).ToArray();
        var x = device.Allocate<int>(1, window.Length);
        x.CopyFromHost(window);
        var all = logits(x).CopyToHost();
        var last = all.AsSpan((window.Length - 1) * Vocab, Vocab);
        int c = o.Temperature > 0 ? Draw(last, o.Temperature, r) : ArgMax(last);
        seq.Add(c);
        sb.Append(Char(c));
    }
    return sb.ToString();
}

static int ArgMax(ReadOnlySpan<float> v)
{
    int best = 0;
    for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
    return best;
}

static int Draw(ReadOnlySpan<float> v, double temperature, Random r)
{
    double max = double.MinValue;
    foreach (var x in v) max = Math.Max(max, x);
    var p = new double[v.Length];
    double sum = 0;
    for (int i = 0; i < v.Length; i++) sum += p[i] = Math.Exp((v[i] - max) / temperature);
    double u = r.NextDouble() * sum;
    for (int i = 0; i < p.Length; i++) if ((u -= p[i]) <= 0) return i;
    return p.Length - 1;
}

sealed record Options(string Model, int Epochs, float LearningRate, int Seed, double Temperature, int Length, string Prompt, string Corpus, string Curves)
{
    /// <summary>Parses the options with System.CommandLine: (options, 0), or (null, exit code) after --help or a bad option.</summary>
    public static (Options? Options, int Exit) Parse(string[] args)
    {
        var model = ExampleCli.Opt("--model", "lstm", "lstm or gru", v => v is "lstm" or "gru", "must be lstm or gru");
        var epochs = ExampleCli.Opt("--epochs", 10, "training epochs", v => v > 0, "must be positive");
        var lr = ExampleCli.Opt("--lr", 0.003f, "Adam learning rate", v => v > 0 && float.IsFinite(v), "must be a positive number");
        var seed = ExampleCli.Opt("--seed", 1, "seed of initialization, batches and samples");
        var temperature = ExampleCli.Opt("--temperature", 0.8, "sampling temperature (0: greedy)", v => v >= 0 && double.IsFinite(v), "must be >= 0");
        var length = ExampleCli.Opt("--length", 240, "characters per sample", v => v > 0, "must be positive");
        var prompt = ExampleCli.Opt("--prompt", "A ", "start of each sample");
        var corpus = ExampleCli.Opt("--corpus", "/usr/share/games/fortunes", "folder of text files");
        var curves = ExampleCli.Opt("--curves", "charrnn_curves", "loss curve path without extension (.png and .svg are written)");
        var root = new RootCommand("Train a character-level LSTM/GRU language model and print samples.") { model, epochs, lr, seed, temperature, length, prompt, corpus, curves };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("Run with --help for the options.");
            return (null, 2);
        }
        if (parse.Action is System.CommandLine.Help.HelpAction) { parse.Invoke(); return (null, 0); }
        return (new Options(parse.GetValue(model)!, parse.GetValue(epochs), parse.GetValue(lr), parse.GetValue(seed), parse.GetValue(temperature),
            parse.GetValue(length), parse.GetValue(prompt)!, parse.GetValue(corpus)!, parse.GetValue(curves)!), 0);
    }
}
