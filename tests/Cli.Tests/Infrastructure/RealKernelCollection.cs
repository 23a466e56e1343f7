namespace SimService.Cli.Tests.Infrastructure;

/// <summary>
/// The test classes that run scripts and scenarios on this machine's kernel: one at a time. A kernel run's threads are
/// real-time and spin the last 1.5 ms before each script time; two runs at once on a 2-core machine took each other's
/// cores at those moments (a --tolerance_usecs=1000 script stopped at its first line in three of three attempts).
/// </summary>
[CollectionDefinition(Name)]
public sealed class RealKernelCollection
{
    public const string Name = "real kernel";
}
