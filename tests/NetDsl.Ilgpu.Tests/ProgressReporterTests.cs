using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;
using Spectre.Console;

namespace NetDsl.Tests;

public class ProgressReporterTests
{
    [Fact]
    public void Plain_output_when_redirected()
    {
        var sw = new StringWriter();
        var r = new ProgressReporter(epochs: 2, plainOut: sw);
        Assert.False(r.Interactive);
        var stats = r.RunEpoch(0, 3, p => { p.Batch(1.0, 10); p.Batch(2.0, 10); p.Batch(3.0, 20); });
        Assert.Equal(40, stats.Samples);
        Assert.Equal(2.25, stats.MeanLoss, 10);
        r.EpochResult(stats, 0.975, 1950, 2000, learningRate: 0.01);
        var text = sw.ToString();
        Assert.Contains("epoch 1/2", text);
        Assert.Contains("loss  2.2500", text);
        Assert.Contains("held-out accuracy 97.50% (1950/2000)", text);
        Assert.DoesNotContain("\u001b[", text);
    }

    [Fact]
    public void Live_progress_renders_through_spectre()
    {
        var sw = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(sw),
        });
        var r = new ProgressReporter(epochs: 3, console: console, interactive: true);
        Assert.True(r.Interactive);
        var stats = r.RunEpoch(1, 2, p => { p.Batch(0.5, 8); p.Batch(0.25, 8); });
        r.EpochResult(stats, 0.5, 1, 2);
        var text = sw.ToString();
        Assert.Contains("epoch 2/3", text);
        Assert.Contains("held-out accuracy 50.00% (1/2)", text);
        Assert.Equal(0.375, stats.MeanLoss, 10);
    }
}
