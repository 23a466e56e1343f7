using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The delayed-ACK path of Linux 6.18: tcp_event_data_recv() → __tcp_ack_snd_check() → tcp_send_delayed_ack()
/// (net/ipv4/tcp_output.c) and tcp_delack_timer_handler() (net/ipv4/tcp_timer.c). The client's link is cut after
/// the handshake (at 200 ms, jiffy 50 at HZ 250): the server's data is injected, the client's ACKs read back.
/// </summary>
public class DelayedAckTests
{
    /// <summary>
    /// tcp_send_delayed_ack() caps ato by tcp_delack_max() = min(icsk_delack_max (TCP_DELACK_MAX, 200 ms),
    /// tcp_rto_min()) — 6.7+. With net.ipv4.tcp_rto_min_us 20000 (usecs_to_jiffies: 5 jiffies) a receiver in
    /// ping-pong mode (TCP_QUICKACK 0) delays the ACK of 100 bytes 5 jiffies, not TCP_ATO_MIN's 10: expiry jiffy 55
    /// (220 ms), run by the timer wheel one jiffy later (level 0), at 224 ms.
    /// </summary>
    [Fact]
    public void Established_RtoMinTwentyMs_DelayedAckCappedAtFiveJiffies()
    {
        var p = InjectedPeer.Connected(beforeSocket: h => h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_min_us", "20000"));
        p.H.SetOption(p.C.Id, SocketOption.TCP_QUICKACK, 0);
        var ack = p.Data(100);
        Assert.Equal((Ms(224), "tcp_delack_timer", 100L), (ack.At, ack.Reason, p.Acked(ack)));
        // tcp_get_info(): tcpi_ato = min(ato, tcp_delack_max()) = 5 jiffies.
        Assert.Equal(20_000, p.C.Info.AtoUs);
    }

    /// <summary>The default tcp_rto_min_us (200 ms) leaves TCP_ATO_MIN: expiry jiffy 60 (240 ms), the ACK at 244 ms.</summary>
    [Fact]
    public void Established_DefaultRtoMin_DelayedAckAfterAtoMin()
    {
        var p = InjectedPeer.Connected();
        p.H.SetOption(p.C.Id, SocketOption.TCP_QUICKACK, 0);
        var ack = p.Data(100);
        Assert.Equal((Ms(244), "tcp_delack_timer"), (ack.At, ack.Reason));
    }
}
