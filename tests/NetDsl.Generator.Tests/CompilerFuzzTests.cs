using NetDsl.Fuzz;
using Xunit.Abstractions;

namespace NetDsl.Generator.Tests;

/// <summary>
/// Generated code is always valid C#: a fixed-seed run of the fuzz harness's mutator (tests/NetDsl.Fuzz; docs/fuzzing.md)
/// over the small op networks and LeNet-5. Every input must compile without an internal error, and every file generated
/// for an input that compiles must parse with Roslyn without a syntax error. (Crashes would take the test host down and
/// hangs would time the run out: both fail the suite too.)
/// </summary>
public class CompilerFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Two_thousand_mutated_files_give_no_internal_error_and_only_valid_CSharp()
    {
        var corpus = Mutator.LoadCorpus(Path.Combine(RepoPaths.Root, "tests", "NetDsl.Tests", "Networks"), Path.Combine(RepoPaths.Root, "examples", "Mnist"));
        // (the literal snippets "repeat 100000 { }" can still appear: an empty loop body costs only iterations)
        Assert.True(corpus.Count >= 10, $"corpus of {corpus.Count} files");
        var mutator = new Mutator(corpus, seed: 20261207, light: true);
        var failures = new List<string>();
        int compiled = 0;
        long maxMs = 0;
        for (int i = 0; i < 2000; i++)
        {
            var text = mutator.Input(i);
            // each input has 60 s: a compile that takes longer fails the test with the input instead of hanging the run
            int generated = 0;
            var work = Task.Run(() => Oracle.Check(text, int.MaxValue, out generated));
            if (!work.Wait(TimeSpan.FromSeconds(60))) { failures.Add($"input {i}: no answer in 60 s\n{text}"); break; }
            var (verdict, detail, ms) = work.Result;
            maxMs = Math.Max(maxMs, ms);
            if (verdict != Verdict.Ok) failures.Add($"input {i}: {verdict} {detail}\n{text}");
            if (generated > 0) compiled++;
            if (failures.Count >= 3) break;
        }
        output.WriteLine($"{compiled} of 2000 inputs generated code; slowest compile {maxMs} ms");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.InRange(compiled, 200, 2000);   // the mutations leave many inputs compilable, so the C# check is exercised
    }
}
