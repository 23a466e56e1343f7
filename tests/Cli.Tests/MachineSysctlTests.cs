extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>kernel --machine-orphans</c> / <c>--machine-mem</c>: net.ipv4.tcp_max_orphans and net.ipv4.tcp_mem are machine-wide
/// (init_net only), so a scenario that sets one runs only with its flag, with one value for all its hosts, and only while the
/// machine's own orphans / TCP pages would not be judged too (a tcp_mem run also only up to 10 s).
/// </summary>
public sealed class MachineSysctlTests
{
    private static ScenarioDocument Parse(string text) => ScenarioParser.Parse(text).Document!;

    [Fact]
    public void MachineOrphans_ScenarioSettingTheLimit_NotRunWithoutTheFlag_RunWithIt()
    {
        var doc = Parse(File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios", "orphan-overflow-rst.json")));

        var without = KernelScenarioRunner.Unsupported(doc);
        var with = KernelScenarioRunner.Unsupported(doc, MachineWide.Orphans);

        var error = Assert.Single(without);
        Assert.Equal("$.hosts.client.sysctls.net.ipv4.tcp_max_orphans", error.Path);
        Assert.Contains("--machine-orphans", error.Message, StringComparison.Ordinal);
        Assert.Empty(with);
        Assert.Equal(("1", (string?)null), MachineSysctl.Orphans.ValueOf(doc));
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

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Orphans));

        Assert.Equal("$.hosts", error.Path);
        Assert.Equal("the hosts set different net.ipv4.tcp_max_orphans values (1, 2): the machine has one", error.Message);
    }

    [Fact]
    public void MachineOrphans_OrphansOnTheMachine_RefuseTheRun()
    {
        Assert.Null(MachineSysctl.OrphanRefusal(0));
        Assert.Equal("not run: 23 orphans on the machine (sockstat), which net.ipv4.tcp_max_orphans would judge too; run it when there are none",
            MachineSysctl.OrphanRefusal(23));
        Assert.Equal("not run: 1 orphan on the machine (sockstat), which net.ipv4.tcp_max_orphans would judge too; run it when there are none",
            MachineSysctl.OrphanRefusal(1));
    }

    [Fact]
    public void MachineMem_ScenarioSettingTcpMem_NotRunWithoutTheFlag_RunWithIt()
    {
        var doc = Parse(File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios", "tcp-mem-pressure-clamps-receive-window.json")));

        var without = KernelScenarioRunner.Unsupported(doc, MachineWide.Orphans);
        var with = KernelScenarioRunner.Unsupported(doc, MachineWide.Mem);

        Assert.Equal(["$.hosts.client.sysctls.net.ipv4.tcp_mem", "$.hosts.server.sysctls.net.ipv4.tcp_mem"], without.Select(e => e.Path));
        Assert.All(without, e => Assert.Contains("--machine-mem sets it", e.Message, StringComparison.Ordinal));
        Assert.Empty(with);
        Assert.Equal(("0 0 100000000", (string?)null), MachineSysctl.Mem.ValueOf(doc));
    }

    [Fact]
    public void MachineMem_RunPastTenSeconds_Refused()
    {
        var doc = Parse("""
            {
              "name": "long-pressure",
              "hosts": { "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_mem": "0 0 100000000" } } },
              "steps": [ { "at": "0ms", "host": "a", "call": "listen", "port": 80, "as": "l" } ],
              "runUntil": "11s"
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Mem));

        Assert.Equal("$.steps", error.Path);
        Assert.StartsWith("runs past 10s of real time with net.ipv4.tcp_mem set on the whole machine", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MachineMem_MachinePagesAtANonzeroLimit_RefuseTheRun()
    {
        Assert.Null(MachineSysctl.MemRefusal("0 0 100000000", 262));
        Assert.Null(MachineSysctl.MemRefusal("0 0 0", 262));
        Assert.Null(MachineSysctl.MemRefusal("300 400 600", 299));
        Assert.Equal("not run: 300 TCP pages on the machine (sockstat mem) reach net.ipv4.tcp_mem's 300; run it when fewer are in use",
            MachineSysctl.MemRefusal("300 400 600", 300));
    }
}
