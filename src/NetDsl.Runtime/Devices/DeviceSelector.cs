namespace NetDsl.Runtime;

/// <summary>
/// Picks <see cref="Device.Default"/> once per process: an ILGPU CUDA device, else an ILGPU OpenCL GPU, else the CPU
/// path. The ILGPU context is created only on first use, and any failure (no driver, no library) means the CPU path.
/// The environment variable NETDSL_DEVICE overrides the choice: <c>cpu</c>, <c>gpu</c> (the search above, the default),
/// or <c>ilgpu-cpu</c> (ILGPU's CPU simulator, for debugging the ILGPU path).
/// </summary>
internal static class DeviceSelector
{
    private static readonly Lazy<Device> s_selected = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Why the selected device was chosen (e.g. "no CUDA or OpenCL GPU found").</summary>
    public static string Reason { get; private set; } = "not selected yet";

    public static Device Select() => s_selected.Value;

    private static Device Create()
    {
        var env = Environment.GetEnvironmentVariable("NETDSL_DEVICE")?.Trim().ToLowerInvariant();
        switch (env)
        {
            case "cpu":
                Reason = "NETDSL_DEVICE=cpu";
                return Device.Cpu;
            case "ilgpu-cpu":
                try
                {
                    Reason = "NETDSL_DEVICE=ilgpu-cpu";
                    return IlgpuDevice.CreateCpuSimulator();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Reason = $"ILGPU CPU simulator failed ({e.Message})";
                    return Device.Cpu;
                }
        }
        var gpu = IlgpuDevice.TryCreateGpu(out var reason);
        Reason = reason;
        return gpu ?? Device.Cpu;
    }
}
