using System.Diagnostics;
using System.Text.Json;

namespace NetDsl.Benchmarks;

/// <summary>
/// Memory of a NetDsl training step, measured in a fresh child process per model (so kernel scratch buffers grown by one
/// model do not hide another's): Planned = the generated class's planned arena bytes (PlannedBytesPerSample × batch) +
/// parameters, gradients and SGD momentum (3 × ParameterCount × 4 bytes); Live = managed bytes still reachable after
/// building the network and optimizer and running 3 training steps (GC.GetTotalMemory after a full collection, minus the
/// same before, minus the input batch). A steady-state step allocates nothing (arenas, parameters, optimizer state and
/// kernel scratch are all kept), so what is live after a step is what was live at its peak, GEMM packing and im2col
/// scratch included. Allocated = all managed bytes allocated in that window (garbage from initialization included).
/// </summary>
public static class MemoryProbe
{
    public sealed record Result(string Model, int Batch, long PlannedBytes, long LiveBytes, long AllocatedBytes);

    public static Result Run(string model)
    {
        long liveBefore = GC.GetTotalMemory(forceFullCollection: true);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var (step, batch, net, opt) = TrainingStep.Create(model, out long inputBytes);
        for (int i = 0; i < 3; i++) step();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before - inputBytes;
        long live = GC.GetTotalMemory(forceFullCollection: true) - liveBefore - inputBytes;
        GC.KeepAlive(step); GC.KeepAlive(net); GC.KeepAlive(opt);
        // parameters, gradients and momentum (3 copies), or 2 when the momentum lives in the gradients ("/sig")
        int copies = model.EndsWith("/sig", StringComparison.Ordinal) ? 2 : 3;
        long planned = model.Split('/')[0] switch
        {
            "lenet5" => LeNet5<float>.PlannedBytesPerSample * batch + copies * LeNet5<float>.ParameterCount * 4,
            "mlp" => Mlp<float>.PlannedBytesPerSample * batch + copies * Mlp<float>.ParameterCount * 4,
            "resnet20" => ResNet20<float>.PlannedBytesPerSample * batch + copies * ResNet20<float>.ParameterCount * 4,
            _ => TransformerBench<float>.PlannedBytesPerSample * batch + copies * TransformerBench<float>.ParameterCount * 4,
        };
        return new Result(model, batch, planned, live, allocated);
    }

    public static Result? InChild(string model)
    {
        try
        {
            var self = Environment.ProcessPath!;
            var dll = typeof(MemoryProbe).Assembly.Location;
            var psi = Path.GetFileNameWithoutExtension(self) == "dotnet"
                ? new ProcessStartInfo(self, [dll, "--memory-probe", model])
                : new ProcessStartInfo(self, ["--memory-probe", model]);
            psi.RedirectStandardOutput = true;
            using var p = Process.Start(psi)!;
            var line = p.StandardOutput.ReadToEnd().Trim().Split('\n').Last();
            p.WaitForExit();
            return JsonSerializer.Deserialize<Result>(line);
        }
        catch (Exception e)
        {
            Console.WriteLine($"memory probe for {model} failed: {e.Message}");
            return null;
        }
    }
}
