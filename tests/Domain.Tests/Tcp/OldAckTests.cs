using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;
using static SimService.Domain.Tests.Tcp.SackReorderingTests;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// ACKs below snd_una as tcp_ack() takes them (net/ipv4/tcp_input.c): within min(max_window, bytes_acked) of it,
/// the old_ack: path still tags the SACK blocks, runs tcp_fastretrans_alert() and tcp_xmit_recovery() — and never adds
/// the newly SACKed segments to tp->delivered; further below, RFC 5961 5.2's challenge ACK and the segment dropped.
/// </summary>
public class OldAckTests
{
    [Fact]
    public void Open_OldAckSackingTheLastSegment_TaggedAndRackResendsTheHoleAtTheReorderTimer()
    {
        var (sim, mib, sk, iss) = Run("old-ack-sack-starts-rack-recovery.pkt");
        // Old ACK at 21 ms (jiffy 5): 2001:3001 has 11 + 2.5 − 11 = 2.5 ms left → 2 jiffies → expires jiffy 7, run at 8.
        Assert.Contains(sim.Journal.OfType<TimerArmed>(), t => t.At == Ms(21) && t.Timer == TcpTimerKind.ReorderTimeout && t.Expires == Ms(32));
        Assert.Equal([Ms(10), Ms(32)], SentAt(sim, iss, 2001));
        Assert.Equal((1L, 1L, 0L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans], mib[MibCounter.TcpExtTCPLossProbes]));
        // TCPDelivered: our SYN, 1:2001 (2), and at 42 ms the retransmitted 2001:3001; 3001:4001, SACKed by the old
        // ACK (whose sack_delivered is never added) and then cumulatively acknowledged as SACKed, is never counted.
        Assert.Equal(4L, mib[MibCounter.TcpExtTCPDelivered]);
        Assert.Equal(0, sk.Info.Unacked);
    }

    [Fact]
    public void Open_DsackOnOldAckAfterRecoveryEnded_DumbCountingUndoesTheReduction()
    {
        var (_, mib, sk, _) = Run("old-ack-dsack-undoes-recovery.pkt");
        Assert.Equal((1L, 1L, 1L), (mib[MibCounter.TcpExtTCPDSACKRecv], mib[MibCounter.TcpExtTCPDSACKRecvSegs], mib[MibCounter.TcpExtTCPDSACKUndo]));
        Assert.Equal((0L, 0L), (mib[MibCounter.TcpExtTCPDSACKIgnoredDubious], mib[MibCounter.TcpExtTCPDSACKIgnoredOld]));
        Assert.Equal((10, int.MaxValue), (sk.Info.SndCwnd, sk.Info.SndSsthresh));
        // SYN, 1001:4001 SACKed (3), the retransmitted 1:1001 (1), 4001:5001 (1) — not the D-SACKed duplicate the old
        // ACK reported (the main path would add it as sack_delivered).
        Assert.Equal(6L, mib[MibCounter.TcpExtTCPDelivered]);
    }

    [Fact]
    public void Established_AckBelowSndUnaMinusBytesAcked_ChallengeAckAndDataDropped() =>
        AssertChallengedThenTaken("too-old-ack-challenged-data-dropped.pkt", sndNxt: 1001, bytes: 100);

    /// <summary>
    /// An ACK of unsent data in ESTABLISHED, observed on Linux 6.18.44 (established-ack-of-unsent-data-challenged.pkt):
    /// tcp_ack() sends the challenge ACK itself (the fix backported to 6.18.y), where the engine used to drop the segment
    /// in silence as linux-4.4's tcp_rcv_established() does. The 10 bytes are dropped with it and taken at 30 ms.
    /// </summary>
    [Fact]
    public void Established_AckOfUnsentData_ChallengeAckAndDataDropped() =>
        AssertChallengedThenTaken("established-ack-of-unsent-data-challenged.pkt", sndNxt: 1, bytes: 10);

    /// <summary>
    /// At 20 ms the challenge ACK (rcv_nxt unchanged: the segment's bytes were dropped with it), at 30 ms the same data
    /// queued and acknowledged at once; one TCPChallengeACK.
    /// </summary>
    static void AssertChallengedThenTaken(string script, uint sndNxt, uint bytes)
    {
        var (sim, mib, sk, iss) = Run(script);
        var acks = sim.Journal.OfType<SegmentSent>().Where(s => s.Host == PacketdrillRunner.LocalHost && s.Len == 0 && s.At >= Ms(20)).ToList();
        Assert.Equal(new[] { (Ms(20), iss + sndNxt, "tcp_send_challenge_ack"), (Ms(30), iss + sndNxt, "__tcp_ack_snd_check") },
            acks.Select(a => (a.At, a.SeqNo, a.Reason)));
        Assert.Equal(bytes, acks[1].AckNo - acks[0].AckNo);
        Assert.Equal(1L, mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal((long)bytes, sk.Info.BytesReceived);
    }
}
