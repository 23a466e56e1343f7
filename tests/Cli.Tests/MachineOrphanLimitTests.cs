extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>kernel --machine-orphans</c>: net.ipv4.tcp_max_orphans is machine-wide (init_net only), so a scenario that sets it
/// runs only with the flag, with one value for all its hosts, and only while the machine has no orphans.
/// </summary>
public sealed class MachineOrphanLimitTests
{
    private static ScenarioDocument Parse(string text) => ScenarioParser.Parse(text).Document!;

    [Fact]
    public void MachineOrphans_ScenarioSettingTheLimit_NotRunWithoutTheFlag_RunWithIt()
    {
        var doc = Parse(File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios", "orphan-overflow-rst.json")));

        var without = KernelScenarioRunner.Unsupported(doc);
        var with = KernelScenarioRunner.Unsupported(doc, machineOrphans: true);

        var error = Assert.Single(without);
        Assert.Equal("$.hosts.client.sysctls.net.ipv4.tcp_max_orphans", error.Path);
        Assert.Contains("--machine-orphans", error.Message, StringComparison.Ordinal);
        Assert.Empty(with);
        Assert.Equal(("1", (string?)null), MachineOrphanLimit.ValueOf(doc));
    }

    [Fact]
    public void MachineOrphans_HostsSettingDifferentLimits_Refused()
    {
        var doc = Parse("""
            {
              "name": "two-limits",
              "hosts": {
                "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_max_orphans": 1 } },
                "b": { "address": "10.0.0.2", "sysctls": { "net.ipv4.tcp_max_orphans": 2 } }
              },
              "steps": [ { "at": "0ms", "host": "b", "call": "listen", "port": 80, "as": "l" } ]
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, machineOrphans: true));

        Assert.Equal("$.hosts", error.Path);
        Assert.Equal("the hosts set different net.ipv4.tcp_max_orphans values (1, 2): the machine has one", error.Message);
    }

    [Fact]
    public void MachineOrphans_OrphansOnTheMachine_RefuseTheRun()
    {
        Assert.Null(MachineOrphanLimit.Refusal(0));
        Assert.Equal("not run: 23 orphans on the machine (sockstat), which net.ipv4.tcp_max_orphans would judge too; run it when there are none",
            MachineOrphanLimit.Refusal(23));
        Assert.Equal("not run: 1 orphan on the machine (sockstat), which net.ipv4.tcp_max_orphans would judge too; run it when there are none",
            MachineOrphanLimit.Refusal(1));
    }
}
