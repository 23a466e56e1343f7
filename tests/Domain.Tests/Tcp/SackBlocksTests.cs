using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The SACK blocks of the receiver's ACKs with several holes, as Linux builds them: tcp_data_queue_ofo() →
/// tcp_sack_new_ofo_skb() (a block the segment extends moves to the front, then tcp_sack_maybe_coalesce();
/// else a new block in front, the oldest forgotten beyond TCP_NUM_SACKS = 4), tcp_sack_remove() as rcv_nxt
/// passes blocks (all cleared once the out-of-order queue is empty), tcp_established_options() /
/// tcp_options_write(): most recent first, 3 blocks beside the timestamp option ((40 − 12 − 4) / 8), 4 without
/// ((40 − 4) / 8). The server's 1448-byte segments are injected into the client 200 ms apart; offsets are
/// relative to the server's ISN + 1 (segment k covers [1448·k, 1448·(k+1))).
/// From the 4th duplicate ACK for one rcv_nxt on, SACK compression holds the ACK back by ~150 µs (see
/// SackCompressionTests); 200 ms apart, each segment still gets one ACK with the same blocks.
/// </summary>
public class SackBlocksTests
{
    const int L = 1448;

    static void Check(InjectedPeer p, SimService.Domain.Journal.SegmentSent ack, long acked, params (long, long)[] blocks)
    {
        Assert.Equal(acked, p.Acked(ack));
        Assert.Equal(blocks, p.Sacks(ack));
    }

    [Fact]
    public void Established_FourHolesWithTimestamps_ThreeMostRecentBlocksThenCoalescedAndRemoved()
    {
        var p = InjectedPeer.Connected();
        // Segments 1, 3, 5, 7 leave holes at 0, 2, 4, 6: each ACK acknowledges 0 and lists the newest block first.
        var a1 = p.Data(L, at: 1 * L);
        Check(p, a1, 0, (1448L, 2896L));
        var a3 = p.Data(L, at: 3 * L);
        Assert.Equal(new[] { (4344L, 5792L), (1448L, 2896L) }, p.Sacks(a3));
        var a5 = p.Data(L, at: 5 * L);
        Assert.Equal(new[] { (7240L, 8688L), (4344L, 5792L), (1448L, 2896L) }, p.Sacks(a5));
        // A fourth block: selective_acks holds all four, the option has room for three beside the timestamps.
        var a7 = p.Data(L, at: 7 * L);
        Assert.Equal(new[] { (10136L, 11584L), (7240L, 8688L), (4344L, 5792L) }, p.Sacks(a7));
        // Segment 2 extends [4344, 5792) to [2896, 5792), which moves to the front and swallows [1448, 2896):
        // tcp_sack_maybe_coalesce() leaves three blocks, the oldest ([1448, 2896)) gone into the first.
        var a2 = p.Data(L, at: 2 * L);
        Check(p, a2, 0, (1448L, 5792L), (10136L, 11584L), (7240L, 8688L));
        // Segment 0 fills the head: rcv_nxt moves to 5792 through the queued data; tcp_sack_remove() drops the
        // block it reached and keeps the others in order.
        var a0 = p.Data(L, at: 0);
        Check(p, a0, 5792, (10136L, 11584L), (7240L, 8688L));
        var a4 = p.Data(L, at: 4 * L);
        Check(p, a4, 8688, (10136L, 11584L));
        // The last hole filled: the out-of-order queue is empty, num_sacks = 0.
        var a6 = p.Data(L, at: 6 * L);
        Check(p, a6, 11584);
    }

    [Fact]
    public void Established_FourHolesWithoutTimestamps_FourBlocksThenTheOldestForgotten()
    {
        // tcp_timestamps = 0 on the client: no timestamp option, room for TCP_NUM_SACKS = 4 blocks.
        var p = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0"));
        Assert.False(p.C.Info.Timestamps);
        p.Data(L, at: 1 * L);
        p.Data(L, at: 3 * L);
        p.Data(L, at: 5 * L);
        var a7 = p.Data(L, at: 7 * L);
        Assert.Equal(new[] { (10136L, 11584L), (7240L, 8688L), (4344L, 5792L), (1448L, 2896L) }, p.Sacks(a7));
        // A fifth hole: the new block goes in front and the oldest, [1448, 2896), is forgotten.
        var a9 = p.Data(L, at: 9 * L);
        Assert.Equal(new[] { (13032L, 14480L), (10136L, 11584L), (7240L, 8688L), (4344L, 5792L) }, p.Sacks(a9));
        // Segment 8 joins [10136, 11584) and [13032, 14480): the extended block moves to the front and absorbs the other.
        var a8 = p.Data(L, at: 8 * L);
        Assert.Equal(new[] { (10136L, 14480L), (7240L, 8688L), (4344L, 5792L) }, p.Sacks(a8));
    }
}
