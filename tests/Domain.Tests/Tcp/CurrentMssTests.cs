using SimService.Domain.Network;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_current_mss() — net/ipv4/tcp_output.c: the segment size of the moment is mss_cache less the header bytes that
/// tcp_established_options() adds beyond tp->tcp_header_len — the SACK option (4 + 8 per block) while blocks are queued
/// (rx_opt.num_sacks) or a D-SACK is pending (rx_opt.dsack). The client (timestamps on: mss_cache 1448) sends to an
/// injected server (<see cref="AckedSender"/>); packetdrill/current-mss-less-sack-option.pkt shows the rule on Linux 6.18.44.
/// </summary>
public class CurrentMssTests
{
    const int Mss = 1448;

    /// <summary>
    /// Out-of-order data (a hole at [0, 100)) queues one SACK block: 3000 bytes written at 220 ms go as 1436 + 1436 + 128
    /// (tcp_send_mss() sizes the skb with mss_now 1436, tcp_write_xmit() cuts it so), each segment carrying the block.
    /// Once the hole is filled (230 ms, everything ACKed) no block is left: 3000 bytes at 240 ms go as 1448 + 1448 + 104.
    /// </summary>
    [Fact]
    public void Established_WriteWhileSackBlockQueued_SegmentsLessTheSackOption()
    {
        var f = new AckedSender();
        var options = new TcpOptions(HasTimestamp: true, TsVal: f.TsVal + 10, TsEcr: f.H.Sent("client").Last().Options.TsVal);
        f.H.Sim.Schedule(Ms(210), f.H.Client, new Segment(f.S.Tuple, TcpFlags.Ack | TcpFlags.Psh, f.S.Iss + 101, f.C.Iss + 1, 64, 100, options));
        f.H.At(Ms(220));
        f.H.Send(f.C.Id, 3000);
        f.H.At(Ms(221));

        var sent = f.H.Sent("client").Where(s => s.At == Ms(220)).ToArray();
        Assert.Equal(new[] { (f.C.Iss + 1, Mss - 12), (f.C.Iss + 1 + Mss - 12, Mss - 12), (f.C.Iss + 1 + 2 * (Mss - 12), 128) },
            sent.Select(s => (s.SeqNo, s.Len)));
        Assert.All(sent, s => Assert.Equal(new[] { new SackBlock(f.S.Iss + 101, f.S.Iss + 201) }, s.Options.Sack.ToArray()));

        f.Ack(Ms(230), 3000, data: 100); // fills the hole: rcv_nxt passes the block, num_sacks 0
        f.H.Send(f.C.Id, 3000);
        f.H.At(Ms(231));

        sent = f.H.Sent("client").Where(s => s.At == Ms(230) && s.Len > 0).ToArray();
        Assert.Equal(new[] { (f.C.Iss + 3001, Mss), (f.C.Iss + 3001 + Mss, Mss), (f.C.Iss + 3001 + 2 * Mss, 104) },
            sent.Select(s => (s.SeqNo, s.Len)));
        Assert.All(sent, s => Assert.Empty(s.Options.Sack.ToArray()));
    }

    /// <summary>
    /// A retransmission is cut at cur_mss from snd_una: 3 · 1448 bytes sent at 200 ms (one TSO chunk, one skb), the
    /// server ACKs 100 bytes at 210 ms (tcp_tso_acked() trims the skb's head: 100 … 4344 left). The loss probe resends
    /// the tail; the RTO then resends 1448 bytes from snd_una (__tcp_retransmit_skb() → tcp_fragment() at cur_mss), not
    /// the 1348 left of the first segment (packetdrill/retransmit-after-partial-ack-cuts-from-snd-una.pkt on Linux 6.18.44).
    /// The probe at 248 ms, the RTO at 472 ms.
    /// </summary>
    [Fact]
    public void Established_RtoAfterAckInsideASegment_ResendsAFullMssFromSndUna()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 3 * Mss);
        f.Ack(Ms(210), 100);
        f.H.At(S(2));

        var resent = f.H.Sent("client").Where(s => s.At > Ms(210) && s.Len > 0).Take(2).ToArray();
        Assert.Equal(new[] { (Ms(248), f.C.Iss + 1 + 2 * Mss, Mss), (Ms(472), f.C.Iss + 101, Mss) }, resent.Select(s => (s.At, s.SeqNo, s.Len)));
        Assert.Equal(new[] { "tcp_send_loss_probe", "tcp_retransmit_timer" }, resent.Select(s => s.Reason));
    }
}
