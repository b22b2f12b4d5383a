using Xunit;

namespace NetDsl.Tests;

/// <summary>
/// Tests that measure the calling thread's allocations run alone: the op-reference tests (ILGPU simulator threads, many
/// kernel loops) load both cores, and a starved kernel worker makes a step's wait take a slower path that allocates.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial (allocation measurements)";
}
