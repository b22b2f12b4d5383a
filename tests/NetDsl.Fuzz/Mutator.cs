using System.Text;
using System.Text.RegularExpressions;

namespace NetDsl.Fuzz;

/// <summary>
/// Mutates .net files the way a careless or hostile author would: hostile names in every position a name can take,
/// extreme numbers, deleted, duplicated and swapped text, stray quotes, braces and line separators, and huge loops. Input
/// i of a run is a pure function of (seed, i), so any input can be regenerated from its number.
/// </summary>
public sealed class Mutator
{
    private readonly IReadOnlyList<string> _corpus;
    private readonly int _seed;

    private readonly bool _light;

    /// <param name="light">
    /// No mutation that makes a big network (loops of 100,000, chains of thousands of steps): for the short run in the
    /// default test suite, which must stay under a minute. The harness runs the full set.
    /// </param>
    public Mutator(IReadOnlyList<string> corpus, int seed, bool light = false) { _corpus = corpus; _seed = seed; _light = light; }

    /// <summary>
    /// The .net files under <paramref name="roots"/>, in a stable order. A file without blocks whose networks stand alone
    /// (the op-network files hold a dozen each) is split into one entry per network, so that an input compiles one network
    /// and a run covers more of them.
    /// </summary>
    public static List<string> LoadCorpus(params string[] roots) =>
        roots.Where(Directory.Exists)
            .SelectMany(r => Directory.GetFiles(r, "*.net", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .OrderBy(p => p, StringComparer.Ordinal)
            .Select(File.ReadAllText)
            .SelectMany(Split)
            .ToList();

    private static IEnumerable<string> Split(string text)
    {
        var lines = text.Split('\n');
        if (lines.Any(l => l.StartsWith("block ", StringComparison.Ordinal)) || lines.Any(l => Regex.IsMatch(l, @"^network \w+ *=")))
            return [text];
        var parts = new List<string>();
        var current = new StringBuilder();
        foreach (var l in lines)
        {
            if (l.StartsWith("network ", StringComparison.Ordinal) && current.ToString().Contains("network ")) { parts.Add(current.ToString()); current.Clear(); }
            current.Append(l).Append('\n');
        }
        parts.Add(current.ToString());
        return parts;
    }

    public static readonly string[] HostileNames =
    [
        "class", "event", "base", "this", "Forward", "TrainStep", "forward", "trainStep", "NetworkBase", "Tensor", "System",
        "Device", "T", "Item1", "Item2", "Rest", "ToString", "optimizer", "loss", "y", "Training", "_lossValue", "_arena0",
        "Math", "K", "value", "var", "@x", "x y", "a.b", "A.b", "1x", new string('n', 129), "N", "sym_N", "Bind", "Plan",
    ];

    public static readonly string[] HostileStrings =
    [
        "fc\"", "fc\\nx", "fc\\\\x", "fc*/x", "fc x", "fc#x", "fc&x", "fc\0x", "fc\u0085x", "", "1fc", "fc\u2028x", "<fc>",
        "fc{x}", "a..b", ".a", "a.", "\uff46", "fc/*\\\" + System.Diagnostics.Process.Start(\\\"touch\\\", \\\"pwned\\\").Id + \\\"*/",
        "forward", "layer1.0", "features.0.1", "a.b", "A.b", "Item1", "_x", "class", new string('q', 200),
    ];

    private static readonly string[] Numbers =
    [
        "0", "-1", "1", "2147483647", "2147483648", "-2147483648", "9223372036854775807", "9223372036854775808", "100000",
        "1000000", "65536", "1e308", "0.0", "-0.5", "3.5", "999999999999",
    ];

    private static readonly string[] Snippets =
    [
        "\"", "\\", "{", "}", "(", ")", "[", "]", "|>", "\n", "\u2028", "\0", "#", "*/", "/*", ",", ":", "=", "..", "\r",
        " |> relu", " + x", "name: \"q\"", "repeat 100000 { }", "for q in [1, 1] { x = x + x }", "\u0085", "'", "`",
    ];

    private static readonly Regex Ident = new(@"\b[A-Za-z_][A-Za-z0-9_]*\b", RegexOptions.Compiled);
    private static readonly Regex Number = new(@"\b\d+(\.\d+)?\b", RegexOptions.Compiled);
    private static readonly Regex NameArg = new("name: *\"[^\"\\n]*\"", RegexOptions.Compiled);

    /// <summary>Input <paramref name="index"/> of this run: a corpus file with 1–4 mutations.</summary>
    public string Input(long index)
    {
        // splitmix64 of (seed, index): the same input in every process (HashCode.Combine is randomized per process)
        ulong z = unchecked((ulong)_seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        var rng = new Random((int)((z ^ (z >> 31)) & 0x7FFFFFFF));
        var text = _corpus[rng.Next(_corpus.Count)];
        int n = 1 + rng.Next(4);
        for (int k = 0; k < n; k++) text = Mutate(text, rng, _light);
        return text;
    }

    private static string Mutate(string s, Random rng, bool light)
    {
        if (s.Length == 0) return Snippets[rng.Next(Snippets.Length)];
        switch (rng.Next(10))
        {
            case 0: // an identifier becomes a hostile name (everywhere it occurs, or once)
            {
                var ms = Ident.Matches(s);
                if (ms.Count == 0) goto default;
                var m = ms[rng.Next(ms.Count)];
                var to = HostileNames[rng.Next(HostileNames.Length)];
                return rng.Next(2) == 0 ? Regex.Replace(s, $@"\b{Regex.Escape(m.Value)}\b", to) : s.Substring(0, m.Index) + to + s.Substring(m.Index + m.Length);
            }
            case 1: // a name: string becomes hostile, or one is added to a call
            {
                var hostile = "name: \"" + HostileStrings[rng.Next(HostileStrings.Length)] + "\"";
                var ms = NameArg.Matches(s);
                if (ms.Count > 0 && rng.Next(2) == 0)
                {
                    var m = ms[rng.Next(ms.Count)];
                    return s.Substring(0, m.Index) + hostile + s.Substring(m.Index + m.Length);
                }
                var closes = AllIndexes(s, ')');
                if (closes.Count == 0) goto default;
                int at = closes[rng.Next(closes.Count)];
                return s.Substring(0, at) + ", " + hostile + s.Substring(at);
            }
            case 2: // an extreme number
            {
                var ms = Number.Matches(s);
                if (ms.Count == 0) goto default;
                var m = ms[rng.Next(ms.Count)];
                return s.Substring(0, m.Index) + Numbers[rng.Next(Numbers.Length)] + s.Substring(m.Index + m.Length);
            }
            case 3: // delete a span
            {
                int at = rng.Next(s.Length), len = 1 + rng.Next(Math.Min(40, s.Length - at));
                return s.Remove(at, Math.Min(len, s.Length - at));
            }
            case 4: // duplicate a line
            {
                var lines = s.Split('\n').ToList();
                int i = rng.Next(lines.Count);
                lines.Insert(i, lines[i]);
                return string.Join("\n", lines);
            }
            case 5: // swap two lines
            {
                var lines = s.Split('\n');
                int i = rng.Next(lines.Length), j = rng.Next(lines.Length);
                (lines[i], lines[j]) = (lines[j], lines[i]);
                return string.Join("\n", lines);
            }
            case 6: // wrap a line in a loop
            {
                var lines = s.Split('\n');
                int i = rng.Next(lines.Length);
                if (!lines[i].Contains('=') || lines[i].Contains("input") || lines[i].Contains("output")) goto default;
                lines[i] = $"repeat {(rng.Next(3) == 0 && !light ? "100000" : rng.Next(1, light ? 5 : 40).ToString())} {{ {lines[i].Trim()} }}";
                return string.Join("\n", lines);
            }
            case 7: // a long chain on a line
            {
                var lines = s.Split('\n');
                int i = rng.Next(lines.Length);
                if (!lines[i].Contains("|>")) goto default;
                lines[i] += string.Concat(Enumerable.Repeat(" |> relu", 1 + rng.Next(rng.Next(2) == 0 || light ? 50 : 3000)));
                return string.Join("\n", lines);
            }
            default: // a stray character or snippet
            {
                int at = rng.Next(s.Length + 1);
                return s.Insert(at, Snippets[rng.Next(Snippets.Length)]);
            }
        }
    }

    private static List<int> AllIndexes(string s, char c)
    {
        var l = new List<int>();
        for (int i = s.IndexOf(c); i >= 0; i = s.IndexOf(c, i + 1)) l.Add(i);
        return l;
    }
}
