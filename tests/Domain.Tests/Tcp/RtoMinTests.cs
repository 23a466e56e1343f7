using SimService.Domain.Commands;
using SimService.Domain.Packetdrill;
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

    /// <summary>
    /// The RTO ceiling too (6.15+): tcp_init_sock() sets icsk_rto_max = msecs_to_jiffies(net.ipv4.tcp_rto_max_ms) and
    /// tcp_rto_max() reads it. SYNs into a dead link (tcp_syn_linear_timeouts 0): a socket made before tcp_rto_max_ms
    /// became 1000 doubles its RTO (SYNs 1, 2 and 4 s apart); one made after stays at 1 s (each run by the timer wheel at
    /// its level's granularity: 250 jiffies fire at 256; tcp_syn_retries 6 ends it at seven SYNs).
    /// </summary>
    [Fact]
    public void SynSent_RtoMaxChangedAfterSocket_KeepsTheCeilingTcpInitSockRead()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_syn_linear_timeouts", "0")); // no linear SYN timeouts (6.17+)
        var before = h.Call("client", SocketCallKind.Socket);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_max_ms", "1000"));
        var after = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = before.SocketId, ToHost = "server", ToPort = 80 });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = after.SocketId, ToHost = "server", ToPort = 81 });
        h.At(Ms(8000));

        long[] SynTimesMs(int socketId)
        {
            var port = h.Sim.FindSocket(socketId)!.Local.Port;
            return [.. h.Sent("client").Where(s => s.Tuple.Local.Port == port).Select(s => s.At.Ns / 1_000_000)];
        }
        Assert.Equal(new long[] { 0, 1024, 3040, 7136 }, SynTimesMs(before.SocketId));
        Assert.Equal(new long[] { 0, 1024, 2048, 3072, 4096, 5120, 6144 }, SynTimesMs(after.SocketId));
    }

    /// <summary>
    /// On 6.18 reqsk_timer_handler() re-arms with reqsk_timeout(req, TCP_RTO_MAX): a listener made with tcp_rto_max_ms 1000
    /// still resends the unanswered SYN-ACK at 1.024 and 3.04 s after the SYN (TCP_TIMEOUT_INIT doubled, the wheel's rounding),
    /// not 1 s apart — the cap at the listener's tcp_rto_max() came after 6.18 (fuzz-workload-39002-5: a SYN-ACK at
    /// 2.08 s on the engine, none on 6.18.44 in three runs; packetdrill/listen-synack-backoff-not-capped-by-tcp-rto-max-ms.pkt).
    /// </summary>
    [Fact]
    public void SynRecv_ListenerMadeWithRtoMaxOneSecond_SynAckBackoffNotCappedAtIt()
    {
        const string script = """
            `./defaults.sh`
            `sysctl -q net.ipv4.tcp_rto_max_ms=1000`

                0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
               +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
               +0 bind(3, ..., ...) = 0
               +0 listen(3, 1) = 0
            `sysctl -q net.ipv4.tcp_rto_max_ms=120000`

              +.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
               +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
            +1.024 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
            +2.016 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
              +.1 < . 1:1(0) ack 1 win 257
               +0 accept(3, ..., ...) = 4
            """;
        var result = PacketdrillRunner.Run(script, new PacketdrillOptions { ScriptName = "synack-rto-max.pkt" });
        Assert.True(result.Passed, result.Output);
    }
}
