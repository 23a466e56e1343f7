using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
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

    static Fixtures.TwoHostHarness Listening()
    {
        var h = new Fixtures.TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        return h;
    }

    static void DeliverAt(Fixtures.TwoHostHarness h, double ms, TcpFlags flags, uint seq, uint ack = 0, TcpOptions? options = null)
    {
        h.At(Ms(ms));
        h.Deliver(h.Server, new Segment(PeerTuple, flags, seq, ack, 65535, 0, options ?? new TcpOptions(Mss: 1460)));
    }

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
    public void SynRecv_RstWithWrongAck_IgnoredByTheListener()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        DeliverAt(h, 50, TcpFlags.Rst | TcpFlags.Ack, PeerIsn + 1, 12345);
        Assert.Single(h.Server.RequestSockets);
        Assert.Single(ServerSent(h));
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
    }

    [Fact]
    public void SynRecv_RstAtRightEdge_EmbryonicReset()
    {
        var h = Listening();
        DeliverAt(h, 1, TcpFlags.Syn, PeerIsn);
        // tcp_in_window(): a bare segment at rcv_nxt + tcp_synack_window() (64240) is in the window.
        DeliverAt(h, 50, TcpFlags.Rst, PeerIsn + 1 + 64240);
        Assert.Empty(h.Server.RequestSockets);
        Assert.Single(ServerSent(h));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtEmbryonicRsts]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpAttemptFails]);
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
}
