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

    [Theory]
    [InlineData("orphan-overflow-rst.json", "Orphans", "1", "client")]
    [InlineData("tcp-mem-pressure-clamps-receive-window.json", "Mem", "0 0 100000000", "client,server")]
    public void MachineSysctl_ScenarioSettingIt_NotRunWithoutItsFlag_RunWithIt(string file, string flagName, string value, string hosts)
    {
        var flag = Enum.Parse<MachineWide>(flagName);
        var doc = Parse(File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios", file)));
        var kind = MachineSysctl.Of(flag).Single();

        var without = KernelScenarioRunner.Unsupported(doc, (MachineWide.Orphans | MachineWide.Mem) & ~flag);
        var with = KernelScenarioRunner.Unsupported(doc, flag);

        Assert.Equal(hosts.Split(',').Select(h => $"$.hosts.{h}.sysctls.{kind.Sysctl}"), without.Select(e => e.Path));
        Assert.All(without, e => Assert.Contains($"{kind.Option} sets it", e.Message, StringComparison.Ordinal));
        Assert.Empty(with);
        Assert.Equal((value, (string?)null), kind.ValueOf(doc));
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

    /// <summary>
    /// Without runUntil a --machine-mem run goes on until the kernel is idle, up to 130 s under the scenario's tcp_mem: refused
    /// at $.runUntil (review36b M-1: "at most 10 s" did not hold).
    /// </summary>
    [Fact]
    public void MachineMem_NoRunUntil_Refused()
    {
        var doc = Parse("""
            {
              "name": "open-ended-pressure",
              "hosts": { "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_mem": "0 0 100000000" } } },
              "steps": [ { "at": "0ms", "host": "a", "call": "listen", "port": 80, "as": "l" } ]
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Mem));

        Assert.Equal("$.runUntil", error.Path);
        Assert.StartsWith("--machine-mem needs runUntil", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A value a run left set — its process gone without restoring it (SIGKILL) — is restored by the next kernel run and
    /// said; a saved value of a run still alive (this process) is left alone (review36b M-2). Restores the machine's own
    /// value of net.ipv4.tcp_max_orphans, so nothing changes.
    /// </summary>
    [KernelFact]
    public void RestoreLeftovers_ValueOfARunThatDied_WrittenBackAndSaid_ALiveRunsKept()
    {
        var folder = Tool.TempFolder();
        var before = MachineSysctl.SavedFolder;
        MachineSysctl.SavedFolder = folder;
        try
        {
            var current = File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim();
            using var gone = System.Diagnostics.Process.Start("true")!;
            gone.WaitForExit();
            File.WriteAllText(MachineSysctl.Orphans.Saved, $"{gone.Id}\n{current}\n");
            File.WriteAllText(MachineSysctl.Mem.Saved, $"{Environment.ProcessId}\n0 0 0\n");
            var said = new StringWriter();

            MachineSysctl.RestoreLeftovers(said);

            Assert.Equal($"simservice: kernel: restored net.ipv4.tcp_max_orphans to {current}, left set on the whole machine by a run that did not end (process {gone.Id})\n", said.ToString());
            Assert.Equal((false, true), (File.Exists(MachineSysctl.Orphans.Saved), File.Exists(MachineSysctl.Mem.Saved)));
            Assert.Equal(current, File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim());
        }
        finally
        {
            MachineSysctl.SavedFolder = before;
        }
    }

    /// <summary>
    /// --machine-mem sets one tcp_mem for the machine, so a host that does not set it would run under the default on the
    /// engine and under the scenario's value on the kernel: refused, naming that host (review36b S-4).
    /// </summary>
    [Fact]
    public void MachineMem_AHostWithoutIt_Refused()
    {
        var doc = Parse("""
            {
              "name": "one-host-pressure",
              "hosts": {
                "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_mem": "0 0 100000000" } },
                "b": { "address": "10.0.0.2" }
              },
              "links": [ { "between": ["a", "b"] } ],
              "steps": [ { "at": "0ms", "host": "b", "call": "listen", "port": 80, "as": "l" } ],
              "runUntil": "1s"
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Mem));

        Assert.Equal("$.hosts.b.sysctls", error.Path);
        Assert.StartsWith("--machine-mem sets one net.ipv4.tcp_mem for the whole machine: every host must set it", error.Message, StringComparison.Ordinal);
    }
}
