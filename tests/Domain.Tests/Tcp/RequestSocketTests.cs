using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_check_req() — net/ipv4/tcp_minisocks.c: what a request socket (SYN-RECV, NEW_SYN_RECV) does with each
/// segment. A listener on server:80; segments from 10.0.0.1:46000 are handed to the server directly (the link
/// is cut, so the client's stack never sees the SYN-ACKs). The peer's ISN is 1000.
/// </summary>
public class RequestSocketTests
{
    const uint PeerIsn = 1000;
    static readonly FourTuple PeerTuple = new(new Endpoint(IPv4.Parse("10.0.0.1"), 46000), new Endpoint(IPv4.Parse("10.0.0.2"), 80));

    static Fixtures.TwoHostHarness Listening(int backlog = 128, Action<Fixtures.TwoHostHarness>? setup = null)
    {
        var h = new Fixtures.TwoHostHarness();
        setup?.Invoke(h);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = backlog });
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        return h;
    }

    static void DeliverAt(Fixtures.TwoHostHarness h, double ms, TcpFlags flags, uint seq, uint ack = 0, TcpOptions? options = null) =>
        DeliverAt(h, ms, PeerTuple, flags, seq, ack, options);

    static void DeliverAt(Fixtures.TwoHostHarness h, double ms, FourTuple tuple, TcpFlags flags, uint seq, uint ack = 0, TcpOptions? options = null)
    {
        h.At(Ms(ms));
        h.Deliver(h.Server, new Segment(tuple, flags, seq, ack, 65535, 0, options ?? new TcpOptions(Mss: 1460)));
    }

    /// <summary>The peer 10.0.0.1 at another source port.</summary>
    static FourTuple Peer(ushort port) => new(new Endpoint(IPv4.Parse("10.0.0.1"), port), new Endpoint(IPv4.Parse("10.0.0.2"), 80));

    static IEnumerable<SegmentSent> ServerSent(Fixtures.TwoHostHarness h) => h.Sent("server");

    [Fact]
    public void SynRecv_DuplicateSynsEvery100ms_OneSynAckPerRatelimitAndTwoSkipped()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 100, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 200, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 300, TcpFlags.Syn, PeerIsn);
        var req = Assert.Single(h.Server.RequestSockets);
        // last_oow_ack_time starts at 0, so the first duplicate is answered (tcp_rtx_synack()) and stamps 100 ms;
        // 200 and 300 ms are within tcp_invalid_ratelimit (125 jiffies) of it.
        Assert.Equal([Ms(1), Ms(100)], ServerSent(h).Select(s => s.At));
        Assert.All(ServerSent(h), s => Assert.Equal("S.", s.Flags.ToLetters()));
        Assert.Equal(2, h.Server.Mib[MibCounter.TcpExtTCPACKSkippedSynRecv]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpRetransSegs]);
        Assert.Equal(1, req.NumRetrans);
        // mod_timer_pending(jiffies + reqsk_timeout()): 25 + 250 jiffies, a 1.1 s expiry; the wheel (level 1,
        // 8-jiffy buckets) runs it at jiffy 280, and the next SYN-ACK goes at 1.12 s.
        Assert.Equal(Ms(1100), req.TimerExpires);
        h.At(S(2));
        Assert.Equal([Ms(1), Ms(100), Ms(1120)], ServerSent(h).Select(s => s.At));
    }

    [Fact]
    public void SynRecv_DuplicateSynAt125JiffiesAfterTheLastAnswer_AnsweredAgain()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 100, TcpFlags.Syn, PeerIsn);   // jiffy 25: answered
        DeliverAt(h, 599, TcpFlags.Syn, PeerIsn);   // jiffy 149: 124 < 125, skipped
        DeliverAt(h, 600, TcpFlags.Syn, PeerIsn);   // jiffy 150: answered
        Assert.Equal([Ms(1), Ms(100), Ms(600)], ServerSent(h).Select(s => s.At));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPACKSkippedSynRecv]);
    }

    [Fact]
    public void SynRecv_SynWithAnotherIsnInWindow_RstAndRequestDropped()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 50, TcpFlags.Syn, PeerIsn + 100);
        Assert.Empty(h.Server.RequestSockets);
        var rst = ServerSent(h).Last();
        // tcp_v4_send_reset() to a segment without ACK: RST|ACK, seq 0, ack = end_seq.
        Assert.Equal((Ms(50), "R.", 0u, PeerIsn + 101), (rst.At, rst.Flags.ToLetters(), rst.SeqNo, rst.AckNo));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpAttemptFails]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpOutRsts]);
    }

    [Fact]
    public void SynRecv_SynWithAnotherIsnBelowWindow_RateLimitedAckAndRequestKept()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        var synAck = ServerSent(h).Single();
        DeliverAt(h, 50, TcpFlags.Syn, PeerIsn - 500);
        DeliverAt(h, 60, TcpFlags.Syn, PeerIsn - 400);
        Assert.Single(h.Server.RequestSockets);
        // tcp_v4_reqsk_send_ack(): seq snt_isn + 1, ack rcv_nxt, the SYN-ACK's window (no scaling offered).
        var ack = ServerSent(h).Last();
        Assert.Equal(2, ServerSent(h).Count());
        Assert.Equal((Ms(50), ".", synAck.SeqNo + 1, PeerIsn + 1, (ushort)64240), (ack.At, ack.Flags.ToLetters(), ack.SeqNo, ack.AckNo, ack.Win));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPACKSkippedSynRecv]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
    }

    [Fact]
    public void SynRecv_RstAtRcvNxtWithWrongAck_EmbryonicReset()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        // Observed on Linux 6.18.44: the RST is judged by its sequence number before its ACK (RFC 5961 §3.2):
        // at rcv_nxt it drops the request even though it acknowledges nothing we sent.
        DeliverAt(h, 50, TcpFlags.Rst | TcpFlags.Ack, PeerIsn + 1, 12345);
        Assert.Empty(h.Server.RequestSockets);
        Assert.Single(ServerSent(h));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpAttemptFails]);
    }

    [Fact]
    public void SynRecv_RstInWindowNotAtRcvNxt_ChallengeAckRateLimitedAndRequestKept()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        var synAck = ServerSent(h).Single();
        // Observed on Linux 6.18.44 (R. 1000, R. 64241 = rcv_nxt + 64240, and an RST with a wrong ack): an ACK
        // (tcp_v4_reqsk_send_ack(): seq snt_isn + 1, ack rcv_nxt, the SYN-ACK's window), the request kept; a
        // second such RST 10 ms later is within tcp_invalid_ratelimit: nothing.
        DeliverAt(h, 50, TcpFlags.Rst | TcpFlags.Ack, PeerIsn + 1000, synAck.SeqNo + 1);
        DeliverAt(h, 60, TcpFlags.Rst, PeerIsn + 1 + 64240);
        Assert.Single(h.Server.RequestSockets);
        var ack = ServerSent(h).Last();
        Assert.Equal(2, ServerSent(h).Count());
        Assert.Equal((Ms(50), ".", synAck.SeqNo + 1, PeerIsn + 1, (ushort)64240), (ack.At, ack.Flags.ToLetters(), ack.SeqNo, ack.AckNo, ack.Win));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPACKSkippedChallenge]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtTCPACKSkippedSynRecv]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpAttemptFails]);
        // The handshake ACK still completes the connection.
        DeliverAt(h, 70, TcpFlags.Ack, PeerIsn + 1, synAck.SeqNo + 1);
        Assert.Empty(h.Server.RequestSockets);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpPassiveOpens]);
    }

    [Fact]
    public void SynRecv_RstBeyondTheWindowOrBelowRcvNxt_DroppedSilently()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 50, TcpFlags.Rst | TcpFlags.Ack, PeerIsn + 70000, 12345);
        DeliverAt(h, 60, TcpFlags.Rst, PeerIsn);
        Assert.Single(h.Server.RequestSockets);
        Assert.Single(ServerSent(h));
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
    }

    [Fact]
    public void SynRecv_DuplicateSynWithOlderTsval_PawsRejectedWithAnAck()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn, options: new TcpOptions(Mss: 1460, HasTimestamp: true, TsVal: 5000));
        DeliverAt(h, 50, TcpFlags.Syn, PeerIsn, options: new TcpOptions(Mss: 1460, HasTimestamp: true, TsVal: 4000));
        Assert.Single(h.Server.RequestSockets);
        // Not a "pure retransmitted SYN" (paws_reject): the out-of-window branch ACKs, echoing req->ts_recent.
        var ack = ServerSent(h).Last();
        Assert.Equal((Ms(50), ".", PeerIsn + 1, 5000u), (ack.At, ack.Flags.ToLetters(), ack.AckNo, ack.Options.TsEcr));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtPAWSEstab]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpRetransSegs]);
    }

    [Fact]
    public void SynRecv_AckWithTsecrNoSynAckCarried_AckAndTSEcrRejected()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn, options: new TcpOptions(Mss: 1460, HasTimestamp: true, TsVal: 5000));
        var synAck = ServerSent(h).Single();
        DeliverAt(h, 50, TcpFlags.Ack, PeerIsn + 1, synAck.SeqNo + 1, new TcpOptions(HasTimestamp: true, TsVal: 5050, TsEcr: synAck.Options.TsVal + 1000));
        Assert.Single(h.Server.RequestSockets);
        Assert.Equal(".", ServerSent(h).Last().Flags.ToLetters());
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTSEcrRejected]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpPassiveOpens]);
        // The same ACK echoing the SYN-ACK's TSval completes the handshake.
        DeliverAt(h, 60, TcpFlags.Ack, PeerIsn + 1, synAck.SeqNo + 1, new TcpOptions(HasTimestamp: true, TsVal: 5060, TsEcr: synAck.Options.TsVal));
        Assert.Empty(h.Server.RequestSockets);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpPassiveOpens]);
    }

    /// <summary>
    /// Backlog 1: peer A completes at 2 ms (accept queue 1); B and C send SYNs while the queue holds one child
    /// (sk_acceptq_is_full(): 1 &gt; 1 is false) and ACK at 5 and 6 ms — B's child makes the queue 2, so C's ACK
    /// overflows in tcp_v4_syn_recv_sock().
    /// </summary>
    static (Fixtures.TwoHostHarness H, FourTuple C, uint CIss) AckOverflowsAcceptQueue(bool abortOnOverflow)
    {
        var h = Listening(backlog: 1, setup: abortOnOverflow ? x => x.Sim.SetSysctl("server", "net.ipv4.tcp_abort_on_overflow", "1") : null);
        FourTuple a = Peer(46001), b = Peer(46002), c = Peer(46003);
        DeliverAt(h, 1, a, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 2, a, TcpFlags.Ack, PeerIsn + 1, ServerSent(h).Last().SeqNo + 1);
        DeliverAt(h, 3, b, TcpFlags.Syn, PeerIsn);
        uint bIss = ServerSent(h).Last().SeqNo;
        DeliverAt(h, 4, c, TcpFlags.Syn, PeerIsn);
        uint cIss = ServerSent(h).Last().SeqNo;
        DeliverAt(h, 5, b, TcpFlags.Ack, PeerIsn + 1, bIss + 1);
        DeliverAt(h, 6, c, TcpFlags.Ack, PeerIsn + 1, cIss + 1);
        return (h, c, cIss);
    }

    [Fact]
    public void SynRecv_AckOverflowsAcceptQueue_RequestKeptAndNoReset()
    {
        var (h, c, _) = AckOverflowsAcceptQueue(abortOnOverflow: false);
        // listen_overflow without tcp_abort_on_overflow: inet_rsk(req)->acked = 1, the request stays for a later ACK.
        Assert.Equal(c.Reversed, Assert.Single(h.Server.RequestSockets).Tuple);
        Assert.Equal(["S.", "S.", "S."], ServerSent(h).Select(x => x.Flags.ToLetters()));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenOverflows]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenDrops]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpOutRsts]);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/observed-limits-abort-on-overflow-0.json): the SYN-ACK a request resends
    /// after its ACK overflowed the accept queue echoes the SYN's TSval, not the ACK's — tcp_check_req() no longer
    /// writes req->ts_recent (6.14+, "tcp: Defer ts_recent changes until req is owned"); linux-4.4 did.
    /// </summary>
    [Fact]
    public void SynRecv_AckOverflowsAcceptQueueThenSynAckTimer_EchoesTheSynsTsval()
    {
        var h = Listening(backlog: 1);
        FourTuple a = Peer(46001), b = Peer(46002), c = Peer(46003);
        var ts = (uint v) => new TcpOptions(Mss: 1460, HasTimestamp: true, TsVal: v);
        DeliverAt(h, 1, a, TcpFlags.Syn, PeerIsn, options: ts(4000));
        var aSynAck = ServerSent(h).Last();
        DeliverAt(h, 2, a, TcpFlags.Ack, PeerIsn + 1, aSynAck.SeqNo + 1, ts(4002) with { Mss = 0, TsEcr = aSynAck.Options.TsVal });
        DeliverAt(h, 3, b, TcpFlags.Syn, PeerIsn, options: ts(4500));
        var bSynAck = ServerSent(h).Last();
        DeliverAt(h, 4, c, TcpFlags.Syn, PeerIsn, options: ts(5000));
        var cSynAck = ServerSent(h).Last();
        DeliverAt(h, 5, b, TcpFlags.Ack, PeerIsn + 1, bSynAck.SeqNo + 1, ts(4505) with { Mss = 0, TsEcr = bSynAck.Options.TsVal });
        DeliverAt(h, 60, c, TcpFlags.Ack, PeerIsn + 1, cSynAck.SeqNo + 1, ts(5060) with { Mss = 0, TsEcr = cSynAck.Options.TsVal });
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenOverflows]);

        h.At(S(2));
        // The request's timer: SYN at jiffy 1, + 250 → bucket 256: the SYN-ACK again at 1.024 s.
        var resent = ServerSent(h).Last();
        Assert.Equal((Ms(1024), "S.", c.Reversed, cSynAck.SeqNo), (resent.At, resent.Flags.ToLetters(), resent.Tuple, resent.SeqNo));
        Assert.Equal(5000u, resent.Options.TsEcr);
    }

    [Fact]
    public void SynRecv_AckOverflowsAcceptQueueWithAbortOnOverflow_RstAndEmbryonicRsts()
    {
        var (h, c, cIss) = AckOverflowsAcceptQueue(abortOnOverflow: true);
        // embryonic_reset: tcp_v4_send_reset() to an ACK is a bare RST at its ack_seq; inet_csk_reqsk_queue_drop()
        // unlinks the request, so EmbryonicRsts — but no AttemptFails (counted only for an RST or SYN).
        Assert.Empty(h.Server.RequestSockets);
        var rst = ServerSent(h).Last();
        Assert.Equal((Ms(6), "R", cIss + 1, 0u, c.Reversed), (rst.At, rst.Flags.ToLetters(), rst.SeqNo, rst.AckNo, rst.Tuple));
        Assert.Equal("tcp_check_req (tcp_abort_on_overflow)", rst.Reason);
        Assert.Equal(["S.", "S.", "S.", "R"], ServerSent(h).Select(x => x.Flags.ToLetters()));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenOverflows]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenDrops]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpAttemptFails]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpOutRsts]);
    }

    [Fact]
    public void SynRecv_TimerFiresAfterListenerClosed_DroppedWithoutTcpTimeouts()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        var listener = h.Server.AllSockets.Single(s => s.State == TcpState.Listen);
        h.At(Ms(500));
        h.Call("server", SocketCallKind.Close, listener.Id);
        // inet_csk_listen_stop() leaves the request in the ehash; its timer (jiffy 0 + 250 → expires 1 s, run by the
        // wheel's level-1 bucket at jiffy 256, 1.024 s) finds the listener not in TCP_LISTEN and goes to drop
        // before tcp_syn_ack_timeout().
        var req = Assert.Single(h.Server.RequestSockets);
        Assert.Equal(S(1), req.TimerExpires);
        h.At(S(2));
        Assert.Empty(h.Server.RequestSockets);
        Assert.Single(ServerSent(h));
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpRetransSegs]);
        Assert.Equal([Ms(1024)], h.Sim.Journal.OfType<TimerFired>().Where(t => t.Host == "server").Select(t => t.At));
    }

    [Fact]
    public void SynRecv_ListenerClosedAndANewOneListening_RetransmittedSynTakenByTheNewListener()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        var old = h.Server.AllSockets.Single(s => s.State == TcpState.Listen);
        var oldIss = Assert.Single(h.Server.RequestSockets).Iss;
        h.At(Ms(50));
        h.Call("server", SocketCallKind.Close, old.Id);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        // tcp_v4_rcv(): the old request's listener left TCP_LISTEN — inet_csk_reqsk_queue_drop_and_put(), then the
        // lookup again finds the new listener, whose tcp_conn_request() answers the SYN (observed on Linux 6.18.44,
        // packetdrill/listen-close-request-then-new-listener-takes-retransmitted-syn.pkt); no RST.
        DeliverAt(h, 100, TcpFlags.Syn, PeerIsn);
        var req = Assert.Single(h.Server.RequestSockets);
        Assert.NotEqual(oldIss, req.Iss);
        Assert.Equal(TcpState.Listen, req.Listener.State);
        Assert.NotSame(old, req.Listener);
        Assert.Equal([("S.", Ms(1)), ("S.", Ms(100))], ServerSent(h).Select(s => (s.Flags.ToLetters(), s.At)));
        Assert.Equal((0, 0, 0, 0), (h.Server.Mib[MibCounter.TcpOutRsts], h.Server.Mib[MibCounter.TcpRetransSegs],
            h.Server.Mib[MibCounter.TcpExtEmbryonicRsts], h.Server.Mib[MibCounter.TcpAttemptFails]));
    }

    [Fact]
    public void SynRecv_TimerFiresWhileListening_SynAckResentAndTcpTimeoutsCounted()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        h.At(S(2));
        // The same timer at 1.024 s, listener still in LISTEN: tcp_syn_ack_timeout() counts, inet_rtx_syn_ack() resends.
        Assert.Equal([Ms(1), Ms(1024)], ServerSent(h).Select(s => s.At));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpRetransSegs]);
    }

    /// <summary>SYN-ACKs the server sent, as (time, how many at that time).</summary>
    static IEnumerable<(SimTime, int)> SynAcksPerTime(Fixtures.TwoHostHarness h) =>
        ServerSent(h).GroupBy(s => s.At).Select(g => (g.Key, g.Count()));

    /// <summary>
    /// reqsk_timer_handler(), listen backlog 8, six SYNs (ports 46001–46006 at 1–6 ms) never ACKed: qlen 6, and
    /// (6 &lt;&lt; 1) = 12 &gt; max(8, 8), so the young/old pruning runs. Round 1 (jiffy 250 → level-1 bucket 256, 1.024 s):
    /// young is 6, 5, 4, 3, 2, 1 as the requests fire in turn; the loop lowers max_syn_ack_retries to 5, 5, 5, 4, 4, 3,
    /// each above num_timeout 0, so all six resend. Round 2 (256 + 500 → 760, 3.04 s): young is 0, so the loop runs
    /// down to 2; num_timeout 1 &lt; 2 → all resend. Round 3 (760 + 1000 → 1784, 7.136 s): the first request has
    /// num_timeout 2 ≥ 2 → expire (qlen 5), the second too (10 &gt; 8, qlen 4); from the third on (4 &lt;&lt; 1) = 8 is not
    /// &gt; 8, so tcp_synack_retries 5 holds again and the last four resend at 7.136, 15.328 and 31.456 s and expire at
    /// the sixth expiry (7864 + 8000 → level-3 bucket 16120, 64.48 s). RetransSegs = TCPSynRetrans = 6 + 6 + 3 × 4 = 24;
    /// TCPTimeouts = 2 × 3 + 4 × 6 = 30 (tcp_syn_ack_timeout() runs on the expiring round too).
    /// </summary>
    [Fact]
    public void SynRecv_CrowdedQueueOfOldRequests_PrunedAfterTwoRetriesUntilHalfTheBacklog()
    {
        var h = Listening(backlog: 8);
        for (ushort i = 1; i <= 6; i++) DeliverAt(h, i, Peer((ushort)(46000 + i)), TcpFlags.Syn, PeerIsn);
        h.At(S(8));
        Assert.Equal(4, h.Server.RequestSockets.Count());
        h.At(S(70));
        Assert.Empty(h.Server.RequestSockets);
        Assert.Equal([(Ms(1), 1), (Ms(2), 1), (Ms(3), 1), (Ms(4), 1), (Ms(5), 1), (Ms(6), 1),
            (Ms(1024), 6), (Ms(3040), 6), (Ms(7136), 4), (Ms(15328), 4), (Ms(31456), 4)], SynAcksPerTime(h));
        Assert.Equal(24, h.Server.Mib[MibCounter.TcpRetransSegs]);
        Assert.Equal(24, h.Server.Mib[MibCounter.TcpExtTCPSynRetrans]);
        Assert.Equal(30, h.Server.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.Equal(Ms(64480), h.Sim.Journal.OfType<TimerFired>().Where(t => t.Host == "server").Max(t => t.At));
    }

    /// <summary>
    /// reqsk_queue_removed() decrements young for a request whose timer never fired. Six SYNs on a backlog-8 listener;
    /// the one from 46006 is ACKed at 500 ms (num_timeout 0: young 6 → 5, qlen 6 → 5; 10 &gt; 8, still crowded). Round 2
    /// (3.04 s): young 0 → max_syn_ack_retries 2, all five resend; round 3 (7.136 s): the first expires (qlen 4, no
    /// longer crowded) and the other four resend. Had young stayed at 1, round 2 would compare qlen 5 with 2, 4, 8 and
    /// stop at 3, and all five would resend at 7.136 s.
    /// </summary>
    [Fact]
    public void SynRecv_YoungRequestCompletedBeforeItsTimer_YoungCountDropsAndOldestPruned()
    {
        var h = Listening(backlog: 8);
        for (ushort i = 1; i <= 6; i++) DeliverAt(h, i, Peer((ushort)(46000 + i)), TcpFlags.Syn, PeerIsn);
        var synAck = ServerSent(h).Last();
        DeliverAt(h, 500, Peer(46006), TcpFlags.Ack, PeerIsn + 1, synAck.SeqNo + 1);
        Assert.Equal(5, h.Server.RequestSockets.Count());
        h.At(S(8));
        Assert.Equal(4, h.Server.RequestSockets.Count());
        Assert.Equal([(Ms(1024), 5), (Ms(3040), 5), (Ms(7136), 4)], SynAcksPerTime(h).Skip(6));
        Assert.Equal(14, h.Server.Mib[MibCounter.TcpRetransSegs]);
        Assert.Equal(15, h.Server.Mib[MibCounter.TcpExtTCPTimeouts]);
    }

    [Fact]
    public void SynRecv_AckEchoingAResentSynAckInTheSameMs_RttSampleIsOneMs()
    {
        // The duplicate SYN at 600 ms (jiffy 150, past tcp_invalid_ratelimit) is answered by tcp_rtx_synack():
        // num_retrans 1, so tcp_synack_rtt_meas() has no snt_synack sample and tcp_ack_update_rtt(FLAG_SYN_ACKED)
        // falls back to tcp_rtt_tsopt_us(tp, 1): the ACK 0.2 ms later echoes the TSval of this very millisecond,
        // delta 0 → min 1 tick = 1000 µs. tcp_rtt_estimator()'s first sample: srtt_us = 1000 << 3, mdev_us =
        // 1000 << 1 → tcpi_rtt 1000, tcpi_rttvar 2000 >> 2 = 500, min RTT 1000; rto = 1000 + max(mdev, rto_min
        // 200000) = 201000 µs → usecs_to_jiffies() 51 jiffies = 204000 µs.
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn, options: new TcpOptions(Mss: 1460, HasTimestamp: true, TsVal: 100));
        DeliverAt(h, 600, TcpFlags.Syn, PeerIsn, options: new TcpOptions(Mss: 1460, HasTimestamp: true, TsVal: 700));
        var resent = ServerSent(h).Last();
        Assert.Equal(Ms(600), resent.At);
        DeliverAt(h, 600.2, TcpFlags.Ack, PeerIsn + 1, resent.SeqNo + 1, new TcpOptions(HasTimestamp: true, TsVal: 701, TsEcr: resent.Options.TsVal));

        var info = h.Server.AllSockets.Single(x => x.State == TcpState.Established).Info;
        Assert.Equal(1000, info.RttUs);
        Assert.Equal(500, info.RttVarUs);
        Assert.Equal(1000, info.MinRttUs);
        Assert.Equal(204000, info.RtoUs);
    }

    /// <summary>
    /// tcp_synack_rtt_meas(): the SYN-ACK's sample is tcp_stamp_us_delta() from its send, 2 µs for an ACK 2 µs later —
    /// a real transit, kept as it is (tcpi_rtt 2, tcpi_rttvar (2 &lt;&lt; 1) &gt;&gt; 2 = 1, min_rtt 2). Only a transit
    /// of no virtual time at all is taken as TcpSocket.InstantTransitUs (docs/kernel-check.md, D116).
    /// </summary>
    [Fact]
    public void SynRecv_AckTwoMicrosecondsAfterTheSynAck_SampleIsTwoMicrosecondsNotTheInstantFloor()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        var synAck = ServerSent(h).Last();
        Assert.Equal(Ms(1), synAck.At);
        DeliverAt(h, 1.002, TcpFlags.Ack, PeerIsn + 1, synAck.SeqNo + 1);

        var info = h.Server.AllSockets.Single(x => x.State == TcpState.Established).Info;
        Assert.Equal((2L, 1L, 2L), (info.RttUs, info.RttVarUs, info.MinRttUs));
    }

    [Fact]
    public void SynRecv_DuplicateSynAnswered_SsCountsNumRetransProcCountsNumTimeout()
    {
        // tcp_req_diag_fill() (what ss -o reads): idiag_retrans = num_retrans, bumped by tcp_rtx_synack() for the
        // duplicate SYN at 100 ms; get_openreq4() (/proc/net/tcp) prints num_timeout, still 0. The timer was moved
        // to jiffy 25 + 250 = 275 (1.1 s): at 400 ms (jiffy 100) 175 jiffies are left = 700 ms, 70 clock_t (0x46).
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 100, TcpFlags.Syn, PeerIsn);
        h.At(Ms(400));

        var row = SocketListing.Rows(h.Server).Single(r => r.Kind == SocketRowKind.Request);
        Assert.Equal((1, 0), (row.TimerCount, row.NumTimeout));
        Assert.Contains(" timer:(on,700ms,1)", SsFormatter.Format(h.Server));
        Assert.Contains(" 01:00000046 00000000 ", ProcNetTcp.Format(h.Server));
    }

    [Fact]
    public void SynRecv_DeferAcceptSilentExpiries_SsCountsNoRetransProcCountsTwoTimeouts()
    {
        // TCP_DEFER_ACCEPT 5 (rskq_defer_accept 3): the handshake's bare ACK is dropped (inet_rsk(req)->acked = 1), so
        // the expiries at 1.024 s and 3.04 s resend nothing (syn_ack_recalc(): resend only once num_timeout ≥ 3 − 1) — num_timeout 2, num_retrans 0. The timer armed at the second expiry
        // (jiffy 760) for 1000 jiffies has timer_list expires 1760 (the wheel runs it at 1784): at 5 s (jiffy 1250)
        // 510 jiffies = 2040 ms are left (iproute2 6.1 prints "2.040ms"), 204 clock_t (0xCC).
        var h = Listening();
        var listener = h.Server.AllSockets.Single(x => x.State == TcpState.Listen);
        Assert.Null(h.SetOption(listener.Id, SocketOption.TCP_DEFER_ACCEPT, 5).Errno);
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 30, TcpFlags.Ack, PeerIsn + 1, ServerSent(h).Single().SeqNo + 1); // bare ACK: dropped, acked = 1
        h.At(S(5));

        var row = SocketListing.Rows(h.Server).Single(r => r.Kind == SocketRowKind.Request);
        Assert.Equal((0, 2), (row.TimerCount, row.NumTimeout));
        Assert.Contains(" timer:(on,2.040ms,0)", SsFormatter.Format(h.Server));
        Assert.Contains(" 01:000000CC 00000002 ", ProcNetTcp.Format(h.Server));
    }

    [Theory]
    [InlineData("1", "[    0.001000] TCP: tcp_parse_options: Illegal window scaling value 15 > 14 received\n" +
                     "[    0.600000] TCP: tcp_parse_options: Illegal window scaling value 15 > 14 received\n")]
    [InlineData("0", "")]
    public void Listen_SynWithWscale15_IllegalWindowScalingLoggedPerParse(string windowScaling, string dmesg)
    {
        // tcp_parse_options() (estab 0, tcp_window_scaling on): snd_wscale 15 > TCP_MAX_WSCALE → net_info_ratelimited(
        // "%s: Illegal window scaling value %d > %u received\n", __func__, …) with pr_fmt "TCP: ", then clamped to 14.
        // tcp_conn_request() parses the SYN at 1 ms; the retransmitted SYN at 600 ms reaches the request socket, whose
        // tcp_check_req() parses it again. With tcp_window_scaling 0 the option is not parsed at all.
        var h = Listening(setup: x => Assert.True(x.Server.Sysctls.TrySet("net.ipv4.tcp_window_scaling", windowScaling, out _)));
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn, options: new TcpOptions(Mss: 1460, WindowScale: 15));
        DeliverAt(h, 600, TcpFlags.Syn, PeerIsn, options: new TcpOptions(Mss: 1460, WindowScale: 15));

        Assert.Equal(dmesg, KernelLog.Dmesg(h.Server));
    }
}
