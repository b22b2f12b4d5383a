namespace NetDsl.Runtime;

internal static class DeviceSelector
{
    /// <summary>Placeholder until the ILGPU device lands: always the CPU path.</summary>
    public static Device Select() => Device.Cpu;
}
