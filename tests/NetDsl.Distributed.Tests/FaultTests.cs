using Xunit.Abstractions;

namespace NetDsl.Distributed.Tests;

/// <summary>A mismatched network fails at start; a lost rank ends the job (no hang) naming it; resuming equals not stopping.</summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private static string Dir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), $"netdsl-dist-{Environment.ProcessId}-{name}");
        if (Directory.Exists(d)) Directory.Delete(d, true);
        Directory.CreateDirectory(d);
        return d;
    }

    [SkippableFact]
    public void MismatchedNetworksFailAtStartNamingTheDifference()
    {
        Skip.If(Mpi.Missing() != null, Mpi.Missing());
        var res = Mpi.Run(2, "mismatch", timeoutSeconds: 60);
        output.WriteLine(res.ToString());
        Assert.NotEqual(0, res.ExitCode);
        Assert.Contains("the ranks do not hold the same network: rank 0 has 'LeNet5 <Single> seed 1' where rank 1 has 'BnDrop <Single> seed 1'", res.Stderr);
        Assert.DoesNotContain("no mismatch detected", res.Stdout);
    }

    /// <summary>
    /// SIGKILL of rank 1 mid-epoch: MPICH's launcher (Hydra) ends every rank at once and exits non-zero (no hang). Hydra
    /// names the first abnormally ended process it reaps ("PID n"), which under load can be a survivor it killed itself, so the
    /// test does not rely on it; rank 0's start-up line maps pids to ranks. Measured here: the job ends 1.4–2 s after start.
    /// </summary>
    [SkippableFact]
    public void KilledRankEndsTheJobWithinThirtySeconds()
    {
        Skip.If(Mpi.Missing() != null, Mpi.Missing());
        var res = Mpi.Run(3, "train --steps 400 --kill-rank 1 --kill-step 5 --kill-signal 9", timeoutSeconds: 90);
        output.WriteLine(res.ToString());
        Assert.NotEqual(0, res.ExitCode);
        Assert.Matches(@"rank 1 = pid \d+ on", res.Stderr);
        Assert.Contains("BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES", res.All);
        Assert.DoesNotContain("done:", res.Stdout);
        Assert.True(res.Elapsed < TimeSpan.FromSeconds(30), $"the job took {res.Elapsed.TotalSeconds:F1} s to end");
    }

    /// <summary>
    /// A rank that stops responding (SIGSTOP: the launcher sees no exit and keeps the job) is named by the others, which check
    /// the processes of ranks on their machine every second while they wait, then abort the job with exit code 4.
    /// </summary>
    [SkippableFact]
    public void StoppedRankIsNamedAndTheOthersExitNonZero()
    {
        Skip.If(Mpi.Missing() != null, Mpi.Missing());
        var res = Mpi.Run(3, "train --steps 400 --kill-rank 1 --kill-step 5 --kill-signal 19", timeoutSeconds: 90);
        output.WriteLine(res.ToString());
        Assert.NotEqual(0, res.ExitCode);
        Assert.Matches(@"rank [02]: the allreduce of gradient bucket \d+ has waited [\d.]+ s: lost rank 1 \(pid \d+ on .* is stopped\); aborting the job", res.Stderr);
        Assert.True(res.Elapsed < TimeSpan.FromSeconds(30), $"the job took {res.Elapsed.TotalSeconds:F1} s to end");
    }

    /// <summary>Killed at step 12 with a checkpoint every 5 steps (rank 0 writes it), resumed from step 10: the same bits as 20 uninterrupted steps.</summary>
    [SkippableTheory]
    [InlineData("lenet")]
    [InlineData("bndrop")]   // synchronized batchnorm statistics and dropout masks continue too
    public void ResumeFromLastCheckpointEqualsUninterrupted(string net)
    {
        Skip.If(Mpi.Missing() != null, Mpi.Missing());
        var dir = Dir("resume-" + net);
        string full = Path.Combine(dir, "full.txt"), resumed = Path.Combine(dir, "resumed.txt");
        var a = Mpi.Run(2, $"train --net {net} --steps 20 --out {full}");
        Assert.True(a.ExitCode == 0, a.ToString());
        var b = Mpi.Run(2, $"train --net {net} --steps 20 --checkpoint-dir {dir} --checkpoint-every 5 --kill-rank 1 --kill-step 12", timeoutSeconds: 90);
        Assert.NotEqual(0, b.ExitCode);
        string ckpt = Path.Combine(dir, "last.ckpt");
        Assert.True(File.Exists(ckpt), b.ToString());
        var c = Mpi.Run(2, $"train --net {net} --steps 20 --resume {ckpt} --out {resumed}");
        Assert.True(c.ExitCode == 0, c.ToString());
        Assert.Contains("resumed from", c.Stdout);
        Assert.Contains("at step 10", c.Stdout);
        var (max, where) = Mpi.MaxDiff(Mpi.ReadState(full), Mpi.ReadState(resumed));
        output.WriteLine($"resumed vs uninterrupted: max |difference| {max:E2} {where}");
        Assert.Equal(0.0, max);
    }
}
