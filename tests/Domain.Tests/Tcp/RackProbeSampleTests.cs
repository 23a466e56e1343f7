using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_rack_advance() — net/ipv4/tcp_recovery.c: a SACKed skb that was ever retransmitted (TCPCB_RETRANS holds
/// TCPCB_EVER_RETRANS, which __tcp_retransmit_skb() sets for a tail loss probe too) is ignored when its RTT is below
/// tcp_min_rtt() — "rtt_us &lt; tcp_min_rtt(tp)", so an RTT equal to min_rtt advances RACK. The engine's samples are
/// exact link times, so a probe over an unchanged link ties the handshake's min_rtt; on a real host the two samples
/// differ by the CPU's microseconds and either outcome happens (fuzz case listen-28011-1, docs/kernel-check.md session
/// 29: traced on Linux 6.18.44, the kernel recovered at the SACK when the probe's sample was the larger and waited for
/// the RTO when it was the smaller, 2 runs each). 1811 bytes in two segments (1448 + 363) are sent into a black hole at 100 ms; the
/// hole lifts at 110 ms; the probe re-sends the tail 363 bytes and the server SACKs it.
/// </summary>
public class RackProbeSampleTests
{
    static (TwoHostHarness H, TcpSocket C) TailProbeSacked(SimDuration? clientToServerAfterHandshake)
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.At(Ms(100));
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        h.Send(c.Id, 1811);
        h.At(Ms(110));
        h.Sim.ChangeLink("client", "server", oneDirection: true, clientToServerAfterHandshake, 0.0, null);
        h.At(Ms(600));
        return (h, c);
    }

    [Fact]
    public void Established_ProbeSackedAtMinRtt_RackAdvancesAndTheHeadIsResentAtTheSack()
    {
        var (h, c) = TailProbeSacked(null);
        var probe = h.Sent("client").Single(x => x.Reason == "tcp_send_loss_probe");
        var resent = h.Sent("client").Single(x => x.Reason == "tcp_fastretrans_alert");
        // The probe at 148 ms, SACKed at 168 ms: its RTT 20,000 µs is min_rtt's (the handshake's), not below it —
        // RACK advances, and the head, sent 68 ms before, is past rtt 20 ms + reo_wnd 5 ms: lost, resent at once.
        Assert.Equal((Ms(148), c.Iss + 1 + 1448, 363), (probe.At, probe.SeqNo, probe.Len));
        Assert.Equal((Ms(168), c.Iss + 1, 1448), (resent.At, resent.SeqNo, resent.Len));
        Assert.Equal(20_000L, c.Info.MinRttUs);
        Assert.Equal((1L, 0L), (h.Client.Mib[MibCounter.TcpExtTCPSackRecovery], h.Client.Mib[MibCounter.TcpExtTCPTimeouts]));
    }

    [Fact]
    public void Established_ProbeSackedSoonerThanMinRtt_RackIgnoresItAndTheRtoResendsTheHead()
    {
        // The client-to-server delay 0.1 ms shorter once the hole lifts: the probe's RTT is 19,900 µs, below min_rtt
        // 20,000 — "it's ambiguous whether the retransmission or the original … was sacked": RACK stays where it was,
        // nothing is marked lost, and the RTO armed at the probe (55 jiffies from jiffy 37, run at 93) resends the head.
        var (h, c) = TailProbeSacked(new SimDuration(9_900_000));
        var probe = h.Sent("client").Single(x => x.Reason == "tcp_send_loss_probe");
        Assert.Equal(Ms(148), probe.At);
        Assert.DoesNotContain(h.Sent("client"), x => x.Reason == "tcp_fastretrans_alert");
        var rto = h.Sent("client").First(x => x.Reason == "tcp_retransmit_timer");
        Assert.Equal((Ms(372), c.Iss + 1), (rto.At, rto.SeqNo));
        Assert.Equal((0L, 1L), (h.Client.Mib[MibCounter.TcpExtTCPSackRecovery], h.Client.Mib[MibCounter.TcpExtTCPTimeouts]));
    }
}
