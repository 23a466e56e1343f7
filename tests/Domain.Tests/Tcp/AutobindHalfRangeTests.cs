using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// bind(0) / listen() autobind as inet_csk_find_open_port() — net/ipv4/inet_connection_sock.c — chooses:
/// odd offsets (the parity opposite to the range's low end) first, then even; a socket with SO_REUSEADDR
/// scans the lower half of the range, then the upper half (half = low + ((high + 1 − low) / 4) · 2), with
/// IP_LOCAL_PORT_RANGE too (which scans in steps of 1, without parity passes); ip_autobind_reuse relaxes the
/// conflict test only after the whole range failed. Each test leaves exactly one candidate, so the port
/// chosen is exact whatever the random offset.
/// </summary>
public class AutobindHalfRangeTests
{
    /// <summary>The client host with ip_local_port_range 40000–40007 and the given ports held by bound sockets.</summary>
    static TwoHostHarness Holding(string range, params (int Port, bool ReuseAddr)[] held)
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", range);
        foreach (var (port, reuse) in held)
        {
            var s = h.Call("client", SocketCallKind.Socket);
            if (reuse) Assert.Null(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = s.SocketId, Option = SocketOption.SO_REUSEADDR, Value = 1 }).Errno);
            Assert.Null(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = s.SocketId, Port = (ushort)port }).Errno);
        }
        return h;
    }

    /// <summary>A new socket (with the options given) calls bind(0); the port it got, or its errno.</summary>
    static (int Port, string? Errno) BindZero(TwoHostHarness h, bool reuseAddr = false, int? localPortRange = null)
    {
        var s = h.Call("client", SocketCallKind.Socket);
        if (reuseAddr) h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = s.SocketId, Option = SocketOption.SO_REUSEADDR, Value = 1 });
        if (localPortRange is { } r) h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = s.SocketId, Option = SocketOption.IP_LOCAL_PORT_RANGE, Value = r });
        var b = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = s.SocketId, Port = 0 });
        return (b.Errno is null ? h.Sim.FindSocket(s.SocketId)!.Local.Port : -1, b.Errno);
    }

    [Fact]
    public void Close_Bind0WithReuseAddr_LowerHalfEvenPortBeforeAnyUpperHalfPort()
    {
        // half = 40000 + ((40008 − 40000) >> 2 << 1) = 40004. Lower half [40000, 40004): odd 40001 and 40003 held,
        // even 40002 held: 40000 is the one port left there, and it comes before the free odd 40005 of the upper half.
        var h = Holding("40000 40007", (40001, false), (40003, false), (40002, false), (40007, false));
        Assert.Equal((40000, (string?)null), BindZero(h, reuseAddr: true));
    }

    [Fact]
    public void Close_Bind0WithoutReuseAddr_WholeRangeOddPortsFirst()
    {
        // The same ports held; without SO_REUSEADDR there are no halves: the odd pass over [40000, 40008)
        // finds 40005 before the even pass reaches 40000.
        var h = Holding("40000 40007", (40001, false), (40003, false), (40002, false), (40007, false));
        Assert.Equal((40005, (string?)null), BindZero(h));
    }

    [Fact]
    public void Close_Bind0WithReuseAddrLowerHalfFull_UpperHalfOddPort()
    {
        var h = Holding("40000 40007", (40000, false), (40001, false), (40002, false), (40003, false), (40005, false));
        Assert.Equal((40007, (string?)null), BindZero(h, reuseAddr: true));
    }

    [Fact]
    public void Close_Bind0RangeOfThreePorts_TopPortNeverTried()
    {
        // high + 1 − low = 3 < 4: no halves even with SO_REUSEADDR. remaining = 3 & ~1 = 2, so the scan covers
        // low + offset for two ports only: 40001 (odd pass) and 40000 (even pass). 40002 is never tried, and with
        // the other two held bind(0) fails although it is free.
        var h = Holding("40000 40002", (40000, false), (40001, false));
        Assert.Equal((-1, Errno.EADDRINUSE), BindZero(h, reuseAddr: true));
        Assert.Equal((-1, Errno.EADDRINUSE), BindZero(h));
    }

    [Fact]
    public void Close_Bind0WithLocalPortRangeOptionAndReuseAddr_HalvesStillSplitTheRange()
    {
        // IP_LOCAL_PORT_RANGE 40000–40003: step 1, no parity passes — but SO_REUSEADDR still splits the range at
        // 40002. 40000 and 40003 held: the lower half [40000, 40002) leaves only 40001, found before 40002.
        var h = Holding("32768 60999", (40000, false), (40003, false));
        Assert.Equal((40001, (string?)null), BindZero(h, reuseAddr: true, localPortRange: 40000 | 40003 << 16));
    }

    [Fact]
    public void Close_Bind0WithAutobindReuse_FreePortBeforeARelaxedOne()
    {
        // ip_autobind_reuse relaxes only after the whole range failed with relax = false. Range 40000–40003 with
        // SO_REUSEADDR: halves [40000, 40002) and [40002, 40004). 40001 is held by a SO_REUSEADDR owner (relaxable),
        // 40000 and 40002 by owners without it; the free 40003 wins over reusing 40001.
        var h = Holding("40000 40003", (40001, true), (40000, false), (40002, false));
        h.Sim.SetSysctl("client", "net.ipv4.ip_autobind_reuse", "1");
        Assert.Equal((40003, (string?)null), BindZero(h, reuseAddr: true));
    }

    [Fact]
    public void Close_Bind0WithAutobindReuseRangeFull_RelaxedPassSharesTheReuseAddrPort()
    {
        var h = Holding("40000 40003", (40001, true), (40000, false), (40002, false), (40003, false));
        Assert.Equal((-1, Errno.EADDRINUSE), BindZero(h, reuseAddr: true));
        h.Sim.SetSysctl("client", "net.ipv4.ip_autobind_reuse", "1");
        Assert.Equal((40001, (string?)null), BindZero(h, reuseAddr: true));
        // Without SO_REUSEADDR on the new socket nothing is relaxed.
        Assert.Equal((-1, Errno.EADDRINUSE), BindZero(h));
    }

    [Fact]
    public void Close_Bind0WithAutobindReuseWhereBothSetReusePort_RelaxedPassStillConflicts()
    {
        // inet_bind_conflict(relax = true, reuseport_ok = false): both set SO_REUSEADDR, but both also set SO_REUSEPORT
        // (and one user, so uid_eq() holds for a full socket as well as a TIME-WAIT one): "return true".
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40001");
        h.Sim.SetSysctl("client", "net.ipv4.ip_autobind_reuse", "1");
        int Socket()
        {
            var s = h.Call("client", SocketCallKind.Socket).SocketId;
            foreach (var option in new[] { SocketOption.SO_REUSEADDR, SocketOption.SO_REUSEPORT })
                h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = s, Option = option, Value = 1 });
            return s;
        }
        foreach (var port in new ushort[] { 40000, 40001 })
            Assert.Null(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = Socket(), Port = port }).Errno);

        var bind = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = Socket(), Port = 0 });

        Assert.Equal(Errno.EADDRINUSE, bind.Errno);
    }
}
