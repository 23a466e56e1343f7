using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>table_perturb[] drawn lazily: the same values as the 65,536 draws in a row, a few entries held per host.</summary>
public class PerturbTableTests
{
    [Fact]
    public void Pcg32_Skip_GivesEachSkippedDrawAndLeavesTheGeneratorWhereTheDrawsWouldHave()
    {
        var drawn = new Pcg32(11);
        var skipped = new Pcg32(11);
        var draws = skipped.Skip(65_536);
        var expected = Enumerable.Range(0, 65_536).Select(_ => drawn.NextUInt32()).ToArray();
        foreach (ulong i in new ulong[] { 0, 1, 2, 1000, 32_767, 65_535 }) Assert.Equal(expected[i], draws[i]);
        Assert.Equal(drawn.NextUInt32(), skipped.NextUInt32());
        Assert.Equal(drawn.NextUInt32(), skipped.NextUInt32());
    }

    /// <summary>
    /// 48 client hosts connect once each: the table of each holds its touched entry, not 65,536 of them. Measured: 7.7 MB
    /// allocated in all (hosts, sockets, segments); the array every host allocated added 48 × 256 KB = 12.6 MB to that.
    /// </summary>
    [Fact]
    public void ManyHosts_EachConnectingOnce_HoldNoWholePerturbTable()
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 3);
        Apply(sim, new AddHostCommand("server", "10.0.0.254", HostKind.Linux, []));
        Apply(sim, new SocketCallCommand(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 }));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i <= 48; i++)
        {
            Apply(sim, new AddHostCommand($"c{i}", $"10.0.0.{i}", HostKind.Linux, []));
            Apply(sim, new AddLinkCommand($"c{i}", "server", SimDuration.FromMilliseconds(1), 0));
            Apply(sim, new SocketCallCommand(new SocketCallRequest($"c{i}", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }));
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(48, sim.Hosts.Count(h => h.Name.StartsWith('c') && h.Allocated == 1));
        Assert.True(allocated < 12_000_000, $"{allocated} bytes for 48 hosts' first connect()");
    }

    static void Apply(Simulation sim, SimCommand c)
    {
        var o = CommandApplier.Apply(sim, c);
        Assert.True(o.IsOk, o.Error?.Message);
    }
}
