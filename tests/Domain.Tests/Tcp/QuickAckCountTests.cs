using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_dec_quickack_mode() — include/net/tcp.h, from tcp_event_ack_sent(): which segments spend a quick ACK.
/// Client 10.0.0.1, server 10.0.0.2, 10 ms apart. The client's 100-byte request at 100 ms reaches the server at
/// 110 ms: the first data, so tcp_event_data_recv() grants the quick ACKs (tcp_incr_quickack(): rcv_wnd / (2 ·
/// rcv_mss), at most 16) and the server ACKs at once, spending one. At 200 ms the server answers with 20 full
/// segments (10 at once, 10 more on the client's ACKs at 220 ms) — each carries an ACK, but no ACK is scheduled
/// (nothing new arrived). A second request, sent at 250 ms, arrives at 260 ms: 150 ms after the first, less than
/// icsk_rto (220 ms), so tcp_event_data_recv() grants no new quick ACKs ("m > icsk->icsk_rto" refills them).
/// </summary>
public class QuickAckCountTests
{
    static (TwoHostHarness H, bool AckedAt410) RequestResponseRequest(KernelProfile profile)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 100);
        h.At(Ms(200));
        h.Send(s.Id, 20 * 1448);
        h.At(Ms(250));
        h.Send(c.Id, 100);
        h.At(Ms(600));
        bool acked = h.Sent("server").Any(e => e.At == Ms(260) && e.Len == 0 && e.AckNo == c.SndNxt);
        return (h, acked);
    }

    [Fact]
    public void Established_ResponseSegmentsWithNothingScheduled_SpendNoQuickAckOn618()
    {
        // 6.7+ ("count actual ACKs of new data"): pkts = inet_csk_ack_scheduled(sk) ? 1 : 0. The 20 response segments
        // spend nothing, so the server is still in quick-ACK mode for the second request: its ACK leaves at 260 ms.
        var (h, ackedAt260) = RequestResponseRequest(KernelProfile.Linux6);

        Assert.True(ackedAt260, h.Trace());
        Assert.Equal(20 * 1448, h.Sent("server").Where(e => e.At >= Ms(200) && e.At < Ms(250)).Sum(e => e.Len));
    }

    [Fact]
    public void Established_ResponseSegmentsOn44_EachSpendsAQuickAckAndTheSecondRequestWaits()
    {
        // linux-4.4: tcp_event_ack_sent(sk, tcp_skb_pcount(skb)) spends one per segment; the 20 response segments
        // use up the rest, so the second request's ACK is delayed (no segment at 260 ms).
        var (h, ackedAt260) = RequestResponseRequest(KernelProfile.Linux44);

        Assert.False(ackedAt260, h.Trace());
        Assert.Contains(h.Sent("server"), e => e.At > Ms(260) && e.Len == 0);
    }
}
