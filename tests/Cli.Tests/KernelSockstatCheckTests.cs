extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// A sockstat check on the kernel runner, at a step as in the final expect: <c>alloc</c> (and <c>orphan</c> unless
/// --machine-orphans) are machine-wide on 6.18 and never compared, and the run says so (review40a M-1: a step's were
/// skipped silently, and a check naming only them was counted as a passed kernel check comparing nothing).
/// </summary>
public sealed class KernelSockstatCheckTests
{
    private static KernelScenarioRunner.Reading Reading(long inuse, long orphan, long tw, long alloc) => new(1_000_000, [], [],
        new() { ["a"] = new() { ["inuse"] = inuse, ["orphan"] = orphan, ["tw"] = tw, ["alloc"] = alloc } }, []);

    [Fact]
    public void OnlyAllocAndOrphan_NoCheckButANote()
    {
        var notes = new List<string>();

        var check = KernelScenarioRunner.Sockstat(new SockstatCheck("a", null, 1, null, 7), "$.steps[3].expect.sockstat.a",
            [Reading(4, 99, 1, 99)], machineOrphans: false, notes);

        Assert.Null(check);
        Assert.Equal(["not checked on the kernel: $.steps[3].expect.sockstat.a orphan/alloc (machine-wide counters on Linux 6.18)"], notes);
    }

    [Fact]
    public void InuseAndAlloc_ComparesInuseNotesAlloc()
    {
        var notes = new List<string>();

        var check = KernelScenarioRunner.Sockstat(new SockstatCheck("a", 4, null, 1, 7), "$.steps[3].expect.sockstat.a",
            [Reading(5, 0, 1, 7)], machineOrphans: false, notes);

        Assert.NotNull(check);
        Assert.False(check.Passed);
        Assert.Equal("inuse=4 tw=1", check.Expected);
        Assert.Equal("inuse=5 tw=1", check.Actual);
        Assert.Equal(["not checked on the kernel: $.steps[3].expect.sockstat.a alloc (machine-wide counters on Linux 6.18)"], notes);
    }

    [Fact]
    public void MachineOrphans_ComparesOrphanNotesOnlyAlloc()
    {
        var notes = new List<string>();

        var check = KernelScenarioRunner.Sockstat(new SockstatCheck("a", null, 1, null, 7), "$.expect.sockstat.a",
            [Reading(4, 1, 0, 99)], machineOrphans: true, notes);

        Assert.NotNull(check);
        Assert.True(check.Passed);
        Assert.Equal("orphan=1", check.Expected);
        Assert.Equal(["not checked on the kernel: $.expect.sockstat.a alloc (machine-wide counters on Linux 6.18)"], notes);
    }
}
