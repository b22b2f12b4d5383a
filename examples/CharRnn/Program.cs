// Trains a character-level language model (charlm.net: embedding -> lstm or gru -> linear, compiled to C# at build time
// by the NetDsl generator) on the fortune cookies of the Debian package fortunes-min (/usr/share/games/fortunes), and
// prints a generated sample after every epoch.
//
//   sudo apt-get install fortunes-min        (the program installs nothing itself)
//   dotnet run -c Release --project examples/CharRnn [-- --model lstm|gru --epochs 10 --lr 0.003 --seed 1
//                                                      --temperature 0.8 --length 240 --prompt "A " --corpus DIR]
//
// Parameters (PyTorch 1.13: nn.Embedding(96, 32) + nn.LSTM(32, 256) or nn.GRU(32, 256) + nn.Linear(256, 96)):
// CharLstm 324,704 and CharGru 250,464. Batches are 32 chunks of 64 characters from random offsets; each chunk starts
// from a zero state (truncated back-propagation through time: the model sees 64 characters of context at most).
using System.Diagnostics;
using System.Text;
using NetDsl.Examples;
using NetDsl.Runtime;
using NetDsl.Runtime.Optim;

var o = Options.Parse(args);
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
    foreach (var p in net.Parameters) sampler.GetParameter(p.Name).Value.CopyFromHost(p.Value.CopyToHost());
    Console.WriteLine("  sample: " + Sample(o.Prompt, o.Length, new Random(o.Seed + epoch)).Replace("\n", "\n          "));
}
Console.WriteLine($"trained {o.Epochs} epochs in {clock.Elapsed.TotalSeconds:F1} s");
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

sealed record Options(string Model, int Epochs, float LearningRate, int Seed, double Temperature, int Length, string Prompt, string Corpus)
{
    public static Options Parse(string[] args)
    {
        var o = new Options("lstm", 10, 0.003f, 1, 0.8, 240, "A ", "/usr/share/games/fortunes");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--model" => o with { Model = Next() switch { "lstm" => "lstm", "gru" => "gru", var m => throw new ArgumentException($"--model is lstm or gru, got {m}") } },
                "--epochs" => o with { Epochs = int.Parse(Next(), inv) },
                "--lr" => o with { LearningRate = float.Parse(Next(), inv) },
                "--seed" => o with { Seed = int.Parse(Next(), inv) },
                "--temperature" => o with { Temperature = double.Parse(Next(), inv) },
                "--length" => o with { Length = int.Parse(Next(), inv) },
                "--prompt" => o with { Prompt = Next() },
                "--corpus" => o with { Corpus = Next() },
                _ => throw new ArgumentException($"unknown option {args[i]} (options: --model lstm|gru --epochs N --lr X --seed N --temperature T --length N --prompt TEXT --corpus DIR)"),
            };
        }
        return o;
    }
}
