using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// How SACK blocks cut and join the sender's skbs (tcp_sacktag_walk(), tcp_match_skb_to_sack(), tcp_shift_skb_data() —
/// net/ipv4/tcp_input.c), seen in what a later retransmission resends as one piece. Values observed on Linux 6.18.44
/// (the two scripts pass on both; found by --fuzz-teardown seed 10305).
/// </summary>
public class SackSkbWalkTests
{
    /// <summary>The payload segments the local host sent at <paramref name="at"/>: relative seq, length, PSH.</summary>
    static (uint Rel, int Len, bool Psh)[] SentAt(Simulation sim, uint iss, SimTime at) =>
        [.. sim.Journal.OfType<SegmentSent>().Where(s => s.Host == PacketdrillRunner.LocalHost && s.Len > 0 && s.At == at)
            .Select(s => (s.SeqNo - iss, s.Len, s.Flags.Has(TcpFlags.Psh)))];

    [Fact]
    public void Open_BlockInsideAMultiSegmentSkb_CutsItAtTheNextSegmentBoundary_ProbeAndRtoResendThePieces()
    {
        var (sim, _, sk, iss) = SackReorderingTests.Run("sack-block-inside-skb-cuts-it.pkt");
        // 501:1501 over the skb 1:2001 (gso_size 1000): start − seq = 500, raised to one MSS → cut at 1001, nothing
        // SACKed. ACK 501 trims the head to 501:1001: the loss probe resends the last skb 1001:2001 whole (not 1501:2001
        // of one skb 501:2001), the RTO the head skb 501:1001 (not 501:1501).
        Assert.Equal([(1001u, 1000, true)], SentAt(sim, iss, Ms(308)));
        Assert.Equal([(501u, 500, false)], SentAt(sim, iss, Ms(640)));
        Assert.Equal(0, sk.Info.Sacked);
    }

    [Fact]
    public void Disorder_BlockGrowsOverTheNextSkbs_ShiftedOntoTheSackedSkb_ResentAsOnePieceAfterReneging()
    {
        var (sim, _, _, iss) = SackReorderingTests.Run("sack-shift-joins-sacked-skbs-resent-as-one.pkt");
        // 2001:3001 cuts 2001:4001 at 3001; 2001:5001 shifts 3001:4001 (whole) and 4001:5001 (the head of 4001:6001)
        // onto it: after the reneging timeout resends 2001:3001, the rest of that skb leaves as one two-segment piece.
        Assert.Equal([(2001u, 1000, false)], SentAt(sim, iss, Ms(256)));
        Assert.Equal([(3001u, 1000, false), (4001u, 1000, true)], SentAt(sim, iss, Ms(300)));
    }

    /// <summary>
    /// tcp_fragment()'s memory limit: 600000 bytes queued under SO_SNDBUF 2000000, then SO_SNDBUF 2048 (sk_sndbuf 4608):
    /// half of sk_wmem_queued is above 4608 + 2 · SKB_TRUESIZE(65536), so the SACKs of 3001:4001 and 7001:8001, each the
    /// second segment of a two-segment skb in the middle of the retransmission queue, cannot cut it (-ENOMEM,
    /// TCPWqueueTooBig once per block walked: 1 for the first ACK, 2 for the second, whose cached block 3001:4001 is
    /// walked again because nothing was SACKed before it — tcp_sacktag_write_queue() passes the cache over). Nothing is SACKed, so the dupacks send no new data and RACK resends nothing: the loss probe
    /// sends 10001:11001 at 36 ms, the RTO resends 1:1001 at 252 ms (the kernel: 32.1 or 36.1 ms, then 212 ms later). Engine and Linux 6.18.44 agree on every counter
    /// (kernel --counters). The engine cut the skbs before session 38: new data at 20 and 30 ms, 1:1001 at 40 ms.
    /// </summary>
    [Fact]
    public void Open_SackInsideAMiddleSkbAfterSndbufLowered_CutRefusedWqueueTooBigNothingSacked()
    {
        var (sim, mib, sk, iss) = SackReorderingTests.Run("sack-split-refused-wqueue-too-big-after-sndbuf-lowered.pkt");
        Assert.Equal(3, mib[MibCounter.TcpExtTCPWqueueTooBig]);
        Assert.Equal(0, sk.Info.Sacked);
        Assert.Equal([(10001u, 1000, false)], SentAt(sim, iss, Ms(36)));
        Assert.Equal([(1u, 1000, false)], SentAt(sim, iss, Ms(252)));
        Assert.Empty(SentAt(sim, iss, Ms(20)));
    }

    /// <summary>
    /// The same limit inside __tcp_retransmit_skb(): after the RTO (F-RTO off) slow start resends from the head, and where
    /// one segment of cwnd is left for a two-segment skb in the middle of the queue its cut is refused (-ENOMEM,
    /// TCPWqueueTooBig, no TCPRetransFail): tcp_xmit_retransmit_queue() stops and the room goes to new data. ack 1001
    /// (262 ms, cwnd 2): 1001:2001 resent, 2001:4001 refused, 11001:12001 new; ack 2001 (272 ms, cwnd 3): 2001:4001, the
    /// head now, resent whole. Linux 6.18.44 agrees (kernel --record, and --counters: TCPWqueueTooBig 4 on both). Before
    /// session 39 the engine cut 2001:4001 and resent 2001:3001 at 262 ms.
    /// </summary>
    [Fact]
    public void AfterRto_MiddleSkbCutRefusedWqueueTooBig_WalkStopsNewDataSent()
    {
        var (sim, mib, _, iss) = SackReorderingTests.Run("retransmit-cut-refused-wqueue-too-big-after-sndbuf-lowered.pkt");

        Assert.Equal([(1001u, 1000, false), (11001u, 1000, false)], SentAt(sim, iss, Ms(262)));
        Assert.Equal([(2001u, 1000, false), (3001u, 1000, true)], SentAt(sim, iss, Ms(272)));
        Assert.Equal(4, mib[MibCounter.TcpExtTCPWqueueTooBig]);
    }

    /// <summary>The walk's counters over a script: TCPSackShifted, TCPSackMerged, TCPSackShiftFallback.</summary>
    static (long Shifted, long Merged, long Fallback) WalkCounters(Mib mib) =>
        (mib[MibCounter.TcpExtTCPSackShifted], mib[MibCounter.TcpExtTCPSackMerged], mib[MibCounter.TcpExtTCPSackShiftFallback]);

    [Theory]
    // 2001:3001 cuts 2001:4001 (its skb's prev 1:2001 is not SACKed: fallback); 2001:5001 eats 3001:4001 (merged) and
    // shifts 4001:5001, the head of 4001:6001 (shifted).
    [InlineData("sack-shift-joins-sacked-skbs-resent-as-one.pkt", 1, 1, 1)]
    [InlineData("prr-proportional-reduction.pkt", 4, 3, 2)]
    [InlineData("prr-two-holes-sack-recovery.pkt", 2, 2, 4)]
    [InlineData("dsack-undo-in-recovery-restarts-retrans-stamp.pkt", 0, 1, 3)]
    [InlineData("sack-dsack-inside-block-tagged-once.pkt", 0, 1, 4)]
    public void Recovery_SackBlocksOverSkbs_WalkCountersAsOn6_18(string script, long shifted, long merged, long fallback)
    {
        // Values of `simservice kernel --counters` on Linux 6.18.44 (engine and kernel agree).
        var (_, mib, _, _) = SackReorderingTests.Run(script);
        Assert.Equal((shifted, merged, fallback), WalkCounters(mib));
    }

    [Fact]
    public void Recovery_DsackInsideTheNextSackBlock_TaggedOnceInThatBlocksWalk_NoReordering()
    {
        var (_, mib, sk, _) = SackReorderingTests.Run("sack-dsack-inside-block-tagged-once.pkt");
        // D-SACK 2001:3001 in 1001:6001: tagged once (next_dup), newly SACKed — no reordering, reordering stays 3.
        Assert.Equal(1, mib[MibCounter.TcpExtTCPDSACKOfoRecv]);
        Assert.Equal(0, mib[MibCounter.TcpExtTCPSACKReorder]);
        Assert.Equal((3, 0), (sk.Info.Reordering, sk.Info.ReordSeen));
    }
}
