using SimService.Domain.Network;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// skb_try_coalesce() as tcp_add_backlog() — net/ipv4/tcp_ipv4.c — calls it for a lo segment contiguous with the
/// backlog's tail (<see cref="Segment.CoalesceBacklog"/>): which tails take a segment and what the merged skb is.
/// The connection-level outcome, observed on Linux 6.18.44, is LoopbackTests' and the scenarios'.
/// </summary>
public class LoBacklogCoalesceTests
{
    static readonly FourTuple Tuple = new(new Endpoint(IPv4.Parse("127.0.0.1"), 40000), new Endpoint(IPv4.Parse("127.0.0.1"), 80));
    static readonly TcpOptions Ts = new(HasTimestamp: true, TsVal: 7, TsEcr: 3);

    static Segment Data(uint seq, int len, bool segmented, TcpFlags extra = 0, uint ack = 1, ushort win = 64)
    {
        var seg = new Segment(Tuple, TcpFlags.Ack | extra, seq, ack, win, len, Ts);
        if (segmented) seg.MarkSegmented();
        return seg;
    }

    /// <summary>The two pieces software GSO cut from a 95232-byte lo skb (scenarios/loopback-read-grows-rcvbuf-and-window.json).</summary>
    [Fact]
    public void CoalesceBacklog_TwoCutPieces_OneSkbOfBothPayloadsGsoSizeTheMssTruesizeOneSmallHead()
    {
        var a = Data(1, 47616, segmented: true);
        var b = Data(47617, 47616, segmented: true, TcpFlags.Psh, ack: 1, win: 93);

        Assert.True(a.CoalesceBacklog(b));
        Assert.Equal((95232, 47616, 95232 + 832), (a.Length, a.GsoSize, a.Truesize));
        Assert.Equal((TcpFlags.Ack | TcpFlags.Psh, (ushort)93, 95233u), (a.Flags, a.Window, a.EndSeq));
        Assert.Equal(1, a.GsoSegs); // the tail's own count: tcp_v4_rcv() counted the piece merged into it
    }

    [Fact]
    public void CoalesceBacklog_IntoASegmentSentWhole_RefusedAsTheSendersClone()
    {
        var a = Data(1, 45226, segmented: false);
        var b = Data(45227, 1000, segmented: true);

        Assert.False(a.CoalesceBacklog(b));
        Assert.Equal((45226, 0, 0), (a.Length, a.GsoSize, a.Truesize));
    }

    /// <summary>
    /// Behind a pure ACK (tcp_send_ack()'s own skb, 64 bytes of tail room): 40 bytes are copied into its head (truesize
    /// stays 832), then 100 do not fit the 24 left and are taken by reference (truesize + 100); an ACK before the tail's
    /// leaves its ack_seq and window; a FIN is ORed in.
    /// </summary>
    [Fact]
    public void CoalesceBacklog_BehindAPureAck_SmallPayloadCopiedIntoTheTailRoomLargerTakenByReference()
    {
        var ack = Data(1, 0, segmented: false, ack: 500, win: 80);

        Assert.True(ack.CoalesceBacklog(Data(1, 40, segmented: false, ack: 500, win: 81)));
        Assert.Equal((40, 832), (ack.Length, ack.Truesize));
        Assert.True(ack.CoalesceBacklog(Data(41, 100, segmented: false, TcpFlags.Fin, ack: 400, win: 90)));
        Assert.Equal((140, 932), (ack.Length, ack.Truesize));
        Assert.Equal((500u, (ushort)81, TcpFlags.Ack | TcpFlags.Fin, 142u), (ack.Ack, ack.Window, ack.Flags, ack.EndSeq));
    }

    /// <summary>
    /// MAX_SKB_FRAGS: each 65483-byte piece holds two 32 KB page fragments, so a cut piece takes seven more (16
    /// fragments) and refuses the eighth (18 &gt; 17).
    /// </summary>
    [Fact]
    public void CoalesceBacklog_PastSeventeenPageFragments_Refused()
    {
        var tail = Data(1, 65483, segmented: true);
        uint seq = 65484;
        for (int i = 0; i < 7; i++, seq += 65483) Assert.True(tail.CoalesceBacklog(Data(seq, 65483, segmented: true)));

        Assert.False(tail.CoalesceBacklog(Data(seq, 65483, segmented: true)));
        Assert.Equal((8 * 65483, 8 * 65483 + 832), (tail.Length, tail.Truesize));
    }

    /// <summary>
    /// tcp_data_queue_ofo() — net/ipv4/tcp_input.c — counts "tp->rcv_ooopack += max_t(u16, 1, skb_shinfo(skb)->gso_segs)":
    /// a backlog tail that took two more pieces (gso_segs 3, <see cref="Segment.BacklogSegs"/>) queued out of order
    /// adds 3, not the tail's own 1 (review35 N2).
    /// </summary>
    [Fact]
    public void MergedBacklogSkbQueuedOutOfOrder_RcvOoopackCountsItsGsoSegs()
    {
        var p = InjectedPeer.Connected();
        var opts = new TcpOptions(HasTimestamp: true, TsVal: p.H.Sent("server").Last().Options.TsVal + 200,
            TsEcr: p.H.Sent("client").Last().Options.TsVal);
        Segment Piece(int at)
        {
            var seg = new Segment(p.S.Tuple, TcpFlags.Ack, p.S.Iss + 1 + (uint)at, p.C.SndNxt, 502, 1000, opts);
            seg.MarkSegmented();
            return seg;
        }
        var tail = Piece(1000); // [1000, 4000): byte 0 missing, so out of order
        Assert.True(tail.CoalesceBacklog(Piece(2000)));
        Assert.True(tail.CoalesceBacklog(Piece(3000)));

        p.H.Deliver(p.H.Client, tail);

        Assert.Equal((1L, 3), (p.H.Client.Mib[MibCounter.TcpExtTCPOFOQueue], p.C.Info.RcvOoopack));
    }
}
