using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_init_transfer() — net/ipv4/tcp_input.c: "Cut cwnd down to 1 per RFC5681 if SYN or SYN-ACK has been
/// retransmitted ... we only reset cwnd when more than 1 SYN/SYN-ACK retransmission has occurred":
/// <c>if (tp->total_retrans &gt; 1 &amp;&amp; tp->undo_marker) tcp_snd_cwnd_set(tp, 1)</c>. undo_marker is set by the
/// first SYN timeout (tcp_enter_loss() → tcp_init_undo()) and cleared by tcp_try_undo_spurious_syn() when the
/// SYN-ACK echoes the original SYN's timestamp (retrans_stamp).
/// Timeline (10 ms link, HZ 250, INITIAL_JIFFIES ≡ 0 mod 8): connect() at 1 ms (jiffy 0) arms the SYN RTO of
/// 250 jiffies — level 1 of the timer wheel, fired at the next multiple of 8 after 250: jiffy 256 = 1024 ms;
/// tcp_syn_linear_timeouts keeps the RTO at 1 s: 256 + 250 = 506 → 512 = 2048 ms; then 512 + 250 = 762 → 768 = 3072 ms.
/// </summary>
public class SynRetransmitCwndTests
{
    /// <summary>The first <paramref name="lostSyns"/> SYNs are dropped; the next reaches the server.</summary>
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) ConnectLosing(int lostSyns, SimTime restoreAt)
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        h.At(Ms(1));
        var cc = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(restoreAt);
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 0.0, null);
        h.At(restoreAt + SimDuration.FromMilliseconds(100));
        Assert.Equal(lostSyns + 1, h.Sent("client").Count(x => x.Flags == TcpFlags.Syn));
        return (h, h.Sim.FindSocket(cc.SocketId)!, h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!);
    }

    static List<SegmentSent> DataFrom(TwoHostHarness h, TcpSocket c) =>
        h.Sent("client").Where(x => x.Len > 0).ToList();

    [Fact]
    public void SynSent_TwoSynsRetransmittedThenSynAck_FirstFlightIsOneSegment()
    {
        // SYNs at 1, 1024 (lost) and 2048 ms; SYN-ACK back at 2068 ms echoing the third SYN's TSval, not
        // retrans_stamp (the first SYN's): undo_marker stays, total_retrans = 2 > 1 → snd_cwnd = 1.
        var (h, c, s) = ConnectLosing(2, Ms(2000));
        Assert.Equal(new[] { Ms(1), Ms(1024), Ms(2048) }, h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At));
        var established = h.States(c.Id).Single(x => x.To == TcpState.Established).At;
        Assert.Equal(Ms(2068), established);
        Assert.Contains(" cwnd:1 ", SsFormatter.InfoText(c.Info));
        Assert.Equal(2, c.Info.TotalRetrans);

        // 10,000 bytes at 2100 ms: one 1448-byte segment; the server's quick ACK (first data) returns at 2120 ms
        // and slow start (cwnd 1 < ssthresh) opens cwnd to 2: two more segments then.
        h.Send(c.Id, 10_000);
        h.At(Ms(2119));
        Assert.Equal(new[] { (Ms(2100), 1448) }, DataFrom(h, c).Select(x => (x.At, x.Len)));
        h.At(Ms(2120));
        Assert.Equal(new[] { Ms(2100), Ms(2120), Ms(2120) }, DataFrom(h, c).Select(x => x.At));
        Assert.Equal(TcpState.Established, s.State);
    }

    [Fact]
    public void SynSent_OneSynRetransmittedThenSynAck_FirstFlightIsTenSegments()
    {
        // total_retrans = 1 is not > 1: tcp_init_cwnd() = TCP_INIT_CWND.
        var (h, c, _) = ConnectLosing(1, Ms(1000));
        Assert.Contains(" cwnd:10 ", SsFormatter.InfoText(c.Info));
        var now = h.Sim.Now;
        h.Send(c.Id, 100_000);
        h.At(now + SimDuration.FromMilliseconds(19));
        Assert.Equal(10, DataFrom(h, c).Count);
        Assert.Equal(1, c.Info.TotalRetrans);
    }

    [Fact]
    public void SynSent_SynAckEchoesFirstSynAfterTwoRetransmissions_SpuriousUndoneCwndTen()
    {
        // A 1.5 s one-way delay: SYNs at 1, 1024 and 2048 ms all reach the server; its SYN-ACK to the first one
        // (TSecr = the first SYN's TSval = retrans_stamp) arrives at 3001 ms. tcp_try_undo_spurious_syn() clears
        // undo_marker, so tcp_init_transfer() keeps TCP_INIT_CWND although total_retrans = 2.
        var h = new TwoHostHarness(delayMs: 1500);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.At(Ms(1));
        var cc = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(3001));
        var c = h.Sim.FindSocket(cc.SocketId)!;
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(Ms(3001), h.States(c.Id).Single(x => x.To == TcpState.Established).At);
        Assert.Equal(2, c.Info.TotalRetrans);
        Assert.Contains(" cwnd:10 ", SsFormatter.InfoText(c.Info));
    }

    /// <summary>
    /// The passive side: SYN-ACKs lost until 2.5 s. tcp_create_openreq_child() copies req->num_retrans (every
    /// SYN-ACK inet_rtx_syn_ack() resent, by the timer or for a retransmitted SYN) into total_retrans and, because
    /// the request's timer fired (req->num_timeout), sets undo_marker = snt_isn and retrans_stamp = the first
    /// SYN-ACK's ms. The ACK echoes a later SYN-ACK's TSval (which also carries ts_off), so
    /// tcp_try_undo_spurious_syn() leaves undo_marker and tcp_init_transfer() starts the child at cwnd 1
    /// (observed on Linux 6.18.44: packetdrill/syn-recv-synack-retries-tcp-info-of-child.pkt).
    /// </summary>
    [Fact]
    public void SynRecv_SynAcksRetransmittedThenAck_ChildCountsThemAndStartsAtCwndOne()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 1.0, null);
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(2500));
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 0.0, null);
        h.At(Ms(8000));
        var s = h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!;
        var synAcks = h.Sent("server").Where(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack)).Select(x => (x.At, x.Reason)).ToList();
        // The first SYN-ACK, those of the request's timer, and one at once for the client's SYN retransmitted at 1024 ms.
        Assert.Equal(new[] { (Ms(11), "tcp_conn_request"), (Ms(1024), "inet_rtx_syn_ack"), (Ms(1034), "inet_rtx_syn_ack"),
            (Ms(2058), "inet_rtx_syn_ack"), (Ms(3082), "inet_rtx_syn_ack") }, synAcks);
        Assert.Equal(4, s.Info.TotalRetrans);
        Assert.Contains(" cwnd:1 ", SsFormatter.InfoText(s.Info));
    }

    [Fact]
    public void SynSent_OneSynRetransmittedThenSynAck_SsthreshRestoredToInfinite()
    {
        // The SYN timeout's tcp_enter_loss() cut ssthresh to max(10 · 717 / 1024, 2) = 7; tcp_init_transfer() →
        // tcp_init_metrics() restores TCP_INFINITE_SSTHRESH ("reduced unnecessarily during 3WHS"). Observed on Linux 6.18.44
        // (packetdrill/syn-retransmitted-then-fin-probe-dsack-undoes.pkt: tcpi_snd_ssthresh 2147483647).
        var (_, c, _) = ConnectLosing(1, Ms(1000));
        Assert.Equal(TcpInfo.InfiniteSsthresh, c.Info.SndSsthresh);
        Assert.Equal(1, c.Info.TotalRetrans);
    }

    [Fact]
    public void SynSent_SynResentThenFinProbeDsacked_UndoesAsOn61844()
    {
        // tcp_retransmit_skb() counts the resent SYN in undo_retrans (−1 from tcp_init_undo() → 1); the FIN's loss probe
        // (__tcp_retransmit_skb(): EVER_RETRANS, no count) is D-SACKed, tcp_sacktag_one() takes undo_retrans to 0 and
        // tcp_try_undo_dsack() undoes: TCPDSACKUndo 1 on Linux 6.18.44 (simservice kernel --counters), 0 on the engine before.
        // (The script asserts tcpi_snd_ssthresh 2147483647 and tcpi_total_retrans 2 after the D-SACK, as the kernel showed.)
        var (_, mib, _, _) = SackReorderingTests.Run("syn-retransmitted-then-fin-probe-dsack-undoes.pkt");
        Assert.Equal((1L, 1L, 1L, 1L), (mib[MibCounter.TcpExtTCPSynRetrans], mib[MibCounter.TcpExtTCPLossProbes],
            mib[MibCounter.TcpExtTCPDSACKRecv], mib[MibCounter.TcpExtTCPDSACKUndo]));
    }
}
