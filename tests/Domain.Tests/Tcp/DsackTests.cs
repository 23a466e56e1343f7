using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// D-SACK on the receiver (RFC 2883 as Linux does it — net/ipv4/tcp_input.c): tcp_data_queue() D-SACKs a
/// duplicate below rcv_nxt (tcp_dsack_set(): TCPDSACKOldSent) and the head of a partial one; tcp_data_queue_ofo()
/// an out-of-order duplicate (TCPDSACKOfoSent, TCPOFOMerge); tcp_ofo_queue() the part of queued data the
/// in-order segment already brought. tcp_options_write() sends tp->duplicate_sack[0] once, before the SACK
/// blocks. The server's data is injected into the client 200 ms apart; offsets relative to the server's ISN + 1.
/// </summary>
public class DsackTests
{
    const int L = 1448;

    static long Count(InjectedPeer p, MibCounter c) => p.H.Client.Mib[c];

    [Fact]
    public void Established_DuplicateBelowRcvNxt_DsackBlockOnceAndOldSentCounted()
    {
        var p = InjectedPeer.Connected();
        var a0 = p.Data(L);
        Assert.Equal((1448L, 0), (p.Acked(a0), p.Sacks(a0).Length));

        // The same segment again: the whole of it below rcv_nxt is D-SACKed, and the ACK goes at once (quick-ACK mode).
        var dup = p.Data(L, at: 0);
        Assert.Equal(1448L, p.Acked(dup));
        Assert.Equal(new[] { (0L, 1448L) }, p.Sacks(dup));
        Assert.Equal((1, 0, 1), (Count(p, MibCounter.TcpExtTCPDSACKOldSent), Count(p, MibCounter.TcpExtTCPDSACKOfoSent), Count(p, MibCounter.TcpExtDelayedACKLost)));

        // Sent once: the next ACK carries no block.
        var a1 = p.Data(L);
        Assert.Equal((2896L, 0), (p.Acked(a1), p.Sacks(a1).Length));
    }

    [Fact]
    public void Established_PartialDuplicate_HeadDsackedTailQueued()
    {
        var p = InjectedPeer.Connected();
        p.Data(L);
        // [0, 2896): its first 1448 bytes are old — D-SACK [0, 1448) — and the rest is new text.
        var ack = p.Data(2 * L, at: 0);
        Assert.Equal(2896L, p.Acked(ack));
        Assert.Equal(new[] { (0L, 1448L) }, p.Sacks(ack));
        Assert.Equal(1, Count(p, MibCounter.TcpExtTCPDSACKOldSent));
    }

    [Fact]
    public void Established_OutOfOrderDuplicate_DsackThenSackBlockAndOfoSentCounted()
    {
        var p = InjectedPeer.Connected();
        var first = p.Data(L, at: 2 * L);
        Assert.Equal(new[] { (2896L, 4344L) }, p.Sacks(first));

        // The queue already holds every byte: dropped (TCPOFOMerge), D-SACKed above rcv_nxt (TCPDSACKOfoSent);
        // the D-SACK block comes first, then the SACK block that contains it (RFC 2883 section 4.2.2).
        var again = p.Data(L, at: 2 * L);
        Assert.Equal(0L, p.Acked(again));
        Assert.Equal(new[] { (2896L, 4344L), (2896L, 4344L) }, p.Sacks(again));
        Assert.Equal((0, 1, 1, 2), (Count(p, MibCounter.TcpExtTCPDSACKOldSent), Count(p, MibCounter.TcpExtTCPDSACKOfoSent),
            Count(p, MibCounter.TcpExtTCPOFOMerge), Count(p, MibCounter.TcpExtTCPOFOQueue)));
    }

    [Fact]
    public void Established_OutOfOrderPartialOverlap_OverlapDsacked()
    {
        var p = InjectedPeer.Connected();
        p.Data(1000, at: 2000);
        // [2500, 3500) overlaps the queued [2000, 3000) by [2500, 3000): that part is the D-SACK.
        var ack = p.Data(1000, at: 2500);
        Assert.Equal(new[] { (2500L, 3000L), (2000L, 3500L) }, p.Sacks(ack));
        Assert.Equal(1, Count(p, MibCounter.TcpExtTCPDSACKOfoSent));
    }

    [Fact]
    public void Established_OutOfOrderCoveringQueuedSegments_EachCoveredOneExtendsTheDsack()
    {
        var p = InjectedPeer.Connected();
        p.Data(500, at: 2000);
        p.Data(500, at: 3000);
        // [2000, 4000) replaces [2000, 2500) (same start: tcp_dsack_extend() sets the D-SACK to it) and covers
        // [3000, 3500) (merge_right: removed, tcp_dsack_extend() again — but tcp_sack_extend() joins only ranges
        // that overlap or touch, so the D-SACK stays [2000, 2500)); two TCPOFOMerge, one TCPDSACKOfoSent.
        var ack = p.Data(2000, at: 2000);
        Assert.Equal(new[] { (2000L, 2500L), (2000L, 4000L) }, p.Sacks(ack));
        Assert.Equal((1, 2), (Count(p, MibCounter.TcpExtTCPDSACKOfoSent), Count(p, MibCounter.TcpExtTCPOFOMerge)));
    }

    [Fact]
    public void Established_InOrderSegmentReachesIntoQueuedData_OfoQueueDsacksTheOverlap()
    {
        var p = InjectedPeer.Connected();
        p.Data(1000, at: 2000);
        // [0, 2500) fills the hole and brings [2000, 2500) a second time: tcp_ofo_queue() D-SACKs it (below the
        // new rcv_nxt: TCPDSACKOldSent) and queues the rest of [2000, 3000). The gap filled, the ACK goes at once.
        var ack = p.Data(2500, at: 0);
        Assert.Equal(3000L, p.Acked(ack));
        Assert.Equal(new[] { (2000L, 2500L) }, p.Sacks(ack));
        Assert.Equal(1, Count(p, MibCounter.TcpExtTCPDSACKOldSent));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 110L)]
    [InlineData(KernelProfile.Linux44, 1000L)]
    public void Established_InOrderSegmentCoversAQueuedSegment_OfoQueueDsacksOnlyThatSegment(KernelProfile profile, long dsackEnd)
    {
        var p = InjectedPeer.Connected(profile: profile);
        p.Data(10, at: 100);
        // [0, 1000) covers the queued [100, 110): tcp_ofo_queue() D-SACKs [100, 110) on 6.18 (observed on Linux
        // 6.18.44: "sack 101:111" relative to the ISN); before the 2025 fix the block ran to rcv_nxt, [100, 1000).
        var ack = p.Data(1000, at: 0);
        Assert.Equal(1000L, p.Acked(ack));
        Assert.Equal(new[] { (100L, dsackEnd) }, p.Sacks(ack));
        Assert.Equal(1, Count(p, MibCounter.TcpExtTCPDSACKOldSent));
    }

    [Fact]
    public void Established_DuplicateWithTcpDsackOff_NoBlockNoCounter()
    {
        var p = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_dsack", "0"));
        p.Data(L);
        var dup = p.Data(L, at: 0);
        Assert.Empty(p.Sacks(dup));
        Assert.Equal((0, 1), (Count(p, MibCounter.TcpExtTCPDSACKOldSent), Count(p, MibCounter.TcpExtDelayedACKLost)));
    }

    /// <summary>
    /// Seed 5076's exchange (the peer's ISN 1000000): a bare FIN at 1001000, data 1001002:1001102, then 1001001:1001011 —
    /// not coalesced into the FIN skb, inserted, and merge_right D-SACKs 1001002:1001011 — then a bare FIN at 1001011,
    /// answered by <paramref name="lastAck"/>.
    /// </summary>
    static string BareFinAtTheEndOfAQueuedSegment(string lastAck) => $"""
        `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.010 connect(3, ..., ...) = 0
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S. 1000000:1000000(0) ack 1 win 1000 <mss 1460,nop,nop,sackOK,nop,wscale 7>
           +0 > . 1:1(0) ack 1000001
         +.01 < F. 1001000:1001000(0) ack 1 win 1000
           +0 > . 1:1(0) ack 1000001 <nop,nop,sack 1001000:1001001>
         +.01 < P. 1001002:1001102(100) ack 1 win 1000
           +0 > . 1:1(0) ack 1000001 <nop,nop,sack 1001002:1001102 1001000:1001001>
         +.01 < P. 1001001:1001011(10) ack 1 win 1000
           +0 > . 1:1(0) ack 1000001 <nop,nop,sack 1001002:1001011 1001000:1001102>
           +0 < F. 1001011:1001011(0) ack 1 win 1000
           +0 > . 1:1(0) ack 1000001 <nop,nop,{lastAck}>
        """;

    [Fact]
    public void OutOfOrder_BareFinAtTheEndOfAQueuedSegment_CoalescedNotDsacked()
    {
        // Observed on Linux 6.18.44 (simservice kernel --fuzz-pkt, seed 5076): tcp_try_coalesce() merges the last FIN
        // into 1001001:1001011, so no D-SACK 1001011:1001012 (the engine sent one before), only the SACK block.
        var mib = Sender(BareFinAtTheEndOfAQueuedSegment("sack 1001000:1001102"));

        Assert.Equal((1L, 0L, 1L), (mib[MibCounter.TcpExtTCPDSACKOfoSent], mib[MibCounter.TcpExtTCPOFOMerge], mib[MibCounter.TcpExtTCPRcvCoalesce]));
        Assert.Equal(4L, mib[MibCounter.TcpExtTCPOFOQueue]);
    }

    /// <summary>
    /// linux-4.4's tcp_data_queue_ofo() (net/ipv4/tcp_input.c, v4.4: a list) offers a segment to the queue's tail alone —
    /// "skb1 = skb_peek_tail(&amp;tp->out_of_order_queue)", then "if (seq == TCP_SKB_CB(skb1)->end_seq)" and only there
    /// tcp_try_coalesce(sk, skb1, skb, &amp;fragstolen). The last FIN ends 1001001:1001011, which is not the tail
    /// (1001002:1001102): the walk ("Find place to insert this segment") stops at 1001002:1001102, which holds every
    /// bit ("All the bits are present. Drop."): TCPOFOMerge, tcp_dsack_set(1001011, 1001012) and no merge. Not run on
    /// a 4.4 kernel here; the rule is the source's.
    /// </summary>
    [Fact]
    public void Linux44_BareFinAtTheEndOfAQueuedSegmentNotTheTail_NotCoalescedButDroppedAndDsacked()
    {
        var mib = Sender(BareFinAtTheEndOfAQueuedSegment("sack 1001011:1001012 1001000:1001102"), profile: KernelProfile.Linux44);

        Assert.Equal((2L, 1L, 0L), (mib[MibCounter.TcpExtTCPDSACKOfoSent], mib[MibCounter.TcpExtTCPOFOMerge], mib[MibCounter.TcpExtTCPRcvCoalesce]));
        Assert.Equal(4L, mib[MibCounter.TcpExtTCPOFOQueue]);
    }

    // ---- the sender: tcp_check_dsack() / tcp_dsack_seen() / tcp_try_undo_dsack() ----

    const string Handshake = """
        `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.010 connect(3, ..., ...) = 0
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>
           +0 > . 1:1(0) ack 1

        """;

    static Mib Sender(string script, string name = "t.pkt", KernelProfile profile = KernelProfile.Linux6)
    {
        var result = PacketdrillRunner.Run(script, new PacketdrillOptions { ScriptName = name, Profile = profile });
        Assert.True(result.Passed, result.Output);
        return result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
    }

    [Fact]
    public void Recovery_DsackForTheOnlyRetransmission_UndoneAndCounted()
    {
        var mib = Sender(ProjectScripts.Read("dsack-undoes-spurious-fast-retransmit.pkt"), "dsack-undoes-spurious-fast-retransmit.pkt");

        Assert.Equal((1L, 1L, 1L), (mib[MibCounter.TcpExtTCPFastRetrans], mib[MibCounter.TcpRetransSegs], mib[MibCounter.TcpExtTCPDSACKRecv]));
        Assert.Equal((1L, 1L, 0L), (mib[MibCounter.TcpExtTCPDSACKRecvSegs], mib[MibCounter.TcpExtTCPDSACKUndo], mib[MibCounter.TcpExtTCPFullUndo]));
        // Below snd_una and from undo_marker on, the block is valid (tcp_is_sackblock_valid()): nothing ignored.
        Assert.Equal((0L, 0L, 0L), (mib[MibCounter.TcpExtTCPDSACKIgnoredNoUndo], mib[MibCounter.TcpExtTCPDSACKIgnoredOld], mib[MibCounter.TcpExtTCPDSACKIgnoredDubious]));
    }

    [Fact]
    public void Open_DsackForDataNeverRetransmitted_IgnoredAsDubious()
    {
        // dsack_dups (1) > total_retrans (0): tcp_dsack_seen() returns 0 — TCPDSACKRecv, then TCPDSACKIgnoredDubious.
        var mib = Sender(Handshake + """
               +0 write(3, ..., 1000) = 1000
               +0 > P. 1:1001(1000) ack 1
             +.01 < . 1:1(0) ack 1001 win 257
               +0 < . 1:1(0) ack 1001 win 257 <nop,nop,sack 1:1001>
            """);

        Assert.Equal((1L, 1L, 0L), (mib[MibCounter.TcpExtTCPDSACKRecv], mib[MibCounter.TcpExtTCPDSACKIgnoredDubious], mib[MibCounter.TcpExtTCPDSACKRecvSegs]));
        Assert.Equal(0L, mib[MibCounter.TcpExtTCPDSACKUndo]);
    }

    [Fact]
    public void Open_DsackInsideSecondBlock_CountedAsOfoRecv()
    {
        // The first block lies inside the second and above the ACK: a D-SACK of out-of-order data
        // (TCPDSACKOfoRecv); nothing was retransmitted, so it is dubious as well.
        var mib = Sender(Handshake + """
               +0 write(3, ..., 3000) = 3000
               +0 > . 1:1001(1000) ack 1
               +0 > P. 1001:2001(1000) ack 1
               +0 > P. 2001:3001(1000) ack 1
             +.01 < . 1:1(0) ack 1 win 257 <nop,nop,sack 2001:3001 1001:3001>
            """);

        Assert.Equal((0L, 1L, 1L), (mib[MibCounter.TcpExtTCPDSACKRecv], mib[MibCounter.TcpExtTCPDSACKOfoRecv], mib[MibCounter.TcpExtTCPDSACKIgnoredDubious]));
    }

    /// <summary>
    /// tcp_retransmit_skb() counts an attempted retransmission in undo_retrans even when __tcp_retransmit_skb() refuses
    /// it (-EAGAIN past a shrunk window): 1:1001 resent, 1001:2001 refused, undo_retrans 2; the D-SACK of 1:1001 leaves
    /// 1, so tcp_try_undo_dsack() does not undo and the recovery resends 1001:2001 once the window opens. Observed on
    /// Linux 6.18.44 (recovery-retransmit-refused-by-shrunk-window-counts-in-undo-retrans.pkt, --counters).
    /// </summary>
    [Fact]
    public void SackRecovery_RetransmitRefusedByShrunkWindow_StillCountsInUndoRetransSoTheDsackDoesNotUndo()
    {
        var (sim, mib, _, iss) = SackReorderingTests.Run("recovery-retransmit-refused-by-shrunk-window-counts-in-undo-retrans.pkt");
        Assert.Equal((1L, 1L, 0L), (mib[MibCounter.TcpExtTCPDSACKRecv], mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPDSACKUndo]));
        Assert.Equal([TwoHostHarness.Ms(10), TwoHostHarness.Ms(30)], SackReorderingTests.SentAt(sim, iss, 1001));
    }
}
