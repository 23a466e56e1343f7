using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The RTO floor is per socket (6.18): tcp_init_sock() — net/ipv4/tcp.c — sets icsk_rto_min =
/// usecs_to_jiffies(net.ipv4.tcp_rto_min_us) when the socket is made, a child of tcp_create_openreq_child() keeps the
/// listener's (inet_csk_clone_lock() copies the socket), and tcp_rto_min() reads the socket's value (no route metric
/// here). tcp_rtt_estimator() floors rttvar at tcp_rto_min_us() = jiffies_to_usecs(tcp_rto_min()): whole jiffies.
/// <para>Links of 10 ms: a 20 ms handshake RTT, srtt_us 160000, mdev 40000. With the default 200 ms floor the first
/// RTO is 20000 + 200000 µs = 55 jiffies (220 ms); with 50000 µs (12.5 → 13 jiffies, 52000 µs) it is 20000 + 52000
/// µs = 18 jiffies (72 ms).</para>
/// </summary>
public class RtoMinTests
{
    /// <summary>
    /// A socket made before net.ipv4.tcp_rto_min_us changes keeps the floor tcp_init_sock() read; one made after the
    /// change takes the new value.
    /// </summary>
    [Fact]
    public void SynSent_RtoMinChangedAfterSocket_KeepsTheFloorTcpInitSockRead()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var before = h.Call("client", SocketCallKind.Socket);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_min_us", "50000"));
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = before.SocketId, ToHost = "server", ToPort = 80 });
        var after = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));

        var old = h.Sim.FindSocket(before.SocketId)!;
        var fresh = h.Sim.FindSocket(after.SocketId)!;
        Assert.Equal((TcpState.Established, TcpState.Established), (old.State, fresh.State));
        Assert.Equal((20_000L, 20_000L), (old.Info.RttUs, fresh.Info.RttUs));
        Assert.Equal((220_000L, 72_000L), (old.Info.RtoUs, fresh.Info.RtoUs));
    }

    /// <summary>
    /// An accepted child copies the listener's floor (inet_csk_clone_lock()), whatever the sysctl says when the SYN
    /// comes: the listener was made with 50000 µs, the sysctl is back at 200000 before the connection.
    /// </summary>
    [Fact]
    public void SynRecv_RtoMinChangedAfterListen_ChildKeepsTheListenersFloor()
    {
        var h = new TwoHostHarness();
        Assert.Null(h.Sim.SetSysctl("server", "net.ipv4.tcp_rto_min_us", "50000"));
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Assert.Null(h.Sim.SetSysctl("server", "net.ipv4.tcp_rto_min_us", "200000"));
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));

        var child = h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!;
        Assert.Equal((TcpState.Established, 20_000L), (child.State, child.Info.RttUs));
        Assert.Equal(72_000L, child.Info.RtoUs);
    }

    /// <summary>
    /// tcp_rtt_estimator() floors rttvar at tcp_rto_min_us(), the floor in whole jiffies: with 5 ms links (srtt 10 ms)
    /// and 41000 µs (11 jiffies, 44000 µs) the first RTO is 10000 + 44000 µs = 14 jiffies (56 ms), not the 13 jiffies
    /// (52 ms) the unrounded 41000 would give.
    /// </summary>
    [Fact]
    public void SynSent_RtoMinNotAWholeJiffy_RttvarFlooredAtWholeJiffies()
    {
        var h = new TwoHostHarness(delayMs: 5);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_min_us", "41000"));
        var (c, _, _) = h.Establish();
        Assert.Equal((10_000L, 56_000L), (c.Info.RttUs, c.Info.RtoUs));
    }
}
