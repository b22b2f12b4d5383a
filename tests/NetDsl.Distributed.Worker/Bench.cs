namespace NetDsl.Distributed.Worker;

/// <summary>Allreduce timings (filled in below).</summary>
internal static class Bench
{
    public static int Run(DistributedContext ctx, Options o) => 0;
}
