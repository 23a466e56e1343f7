using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §6.9 and issue 4: ephemeral port choice, reserved ports, exhaustion, run-time sysctl changes.</summary>
public class PortSelectionTests
{
    static TwoHostHarness WithRange(string range, string? reserved = null)
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", range);
        if (reserved is not null) h.Sim.SetSysctl("client", "net.ipv4.ip_local_reserved_ports", reserved);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 100 });
        return h;
    }

    static List<int> ConnectAll(TwoHostHarness h, int count) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
            return c.Errno is null ? (int)h.Sim.FindSocket(c.SocketId)!.Local.Port : -1;
        }).ToList();

    [Fact]
    public void Connect_EightPortRange_EveryEvenPortBeforeAnyOddThenEaddrnotavail()
    {
        // The first pass scans the ports of the low end's parity; where it starts moves by a keyed
        // hash plus a randomly advanced perturbation entry, so only the parity split is a rule.
        var h = WithRange("40000 40007");
        var ports = ConnectAll(h, 9);
        Assert.All(ports.Take(4), p => Assert.Equal(0, p % 2));
        Assert.All(ports.Skip(4).Take(4), p => Assert.Equal(1, p % 2));
        Assert.Equal(8, ports.Take(8).Distinct().Count());
        Assert.Equal(-1, ports[8]);
    }

    [Fact]
    public void Connect_ReservedPorts_NeverChosen()
    {
        var h = WithRange("40000 40003", reserved: "40000-40001");
        var ports = ConnectAll(h, 3);
        Assert.Equal([40002, 40003], ports.Take(2).Order());
        Assert.Equal(-1, ports[2]);
    }

    [Fact]
    public void Bind0_PrefersOddPortsAndExhaustionIsEaddrinuse()
    {
        var h = WithRange("40000 40003");
        var ports = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            var s = h.Call("client", SocketCallKind.Socket);
            var b = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = s.SocketId, Port = 0 });
            ports.Add(b.Errno is null ? h.Sim.FindSocket(s.SocketId)!.Local.Port : -1);
            if (i == 4) Assert.Equal("EADDRINUSE", b.Errno);
        }
        Assert.All(ports.Take(2), p => Assert.Equal(1, p % 2));
        Assert.All(ports.Skip(2).Take(2), p => Assert.Equal(0, p % 2));
    }

    [Fact]
    public void Connect_PortHeldByBind_IsSkipped()
    {
        var h = WithRange("40000 40001");
        var s = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = s.SocketId, Port = 40000 });
        Assert.Equal([40001, -1], ConnectAll(h, 2));
    }

    [Fact]
    public void TimeWait_LoweringMaxTwBucketsAtRunTime_KeepsExistingOnes()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));
        Assert.Equal(1, h.Client.TimeWaitCount);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_max_tw_buckets", "0"));
        h.At(S(30));
        Assert.Equal(1, h.Client.TimeWaitCount);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPTimeWaitOverflow]);
    }

    [Theory]
    [InlineData("net.ipv4.ip_local_port_range", "40000 39999")]
    [InlineData("net.ipv4.ip_local_port_range", "1000 2000")]
    [InlineData("net.ipv4.tcp_tw_reuse", "3")]
    [InlineData("net.ipv4.tcp_tw_recycle", "1")]
    [InlineData("net.ipv4.no_such_thing", "1")]
    public void SetSysctl_ValueTheKernelRefuses_RejectedAndNothingChanges(string name, string value)
    {
        var h = new TwoHostHarness();
        var before = h.Client.Sysctls.PortRangeLow;
        var error = h.Sim.SetSysctl("client", name, value);
        Assert.NotNull(error);
        Assert.Equal(before, h.Client.Sysctls.PortRangeLow);
        Assert.DoesNotContain(h.Sim.Journal, e => e is SimService.Domain.Journal.SysctlChanged);
    }
}
