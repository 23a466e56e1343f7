using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// sk_get_meminfo() — net/core/sock.c — as getsockopt(SO_MEMINFO) and `ss -m` report it, and sk->sk_drops at each site
/// the engine reaches: tcp_drop_reason() in tcp_data_queue(), tcp_data_queue_ofo() and tcp_ofo_queue();
/// tcp_validate_incoming() and the flag check before it; tcp_ack() &lt; 0; tcp_rcv_state_process()'s "if (!queued)
/// discard"; tcp_v4_rcv()'s discard_and_relse (tcp_check_req() returning NULL); tcp_listendrop(). The server's data is
/// injected into the client (<see cref="InjectedPeer"/>): offsets relative to the server's ISN + 1; the client's
/// segments carry timestamps, so a 1000-byte segment is a 1052-byte packet, one 2304-byte skb of the NIC model.
/// </summary>
public class SkMeminfoTests
{
    static uint Drops(TcpSocket sk) => sk.Meminfo.Drops;

    /// <summary>A segment from the server's side of the connection with <paramref name="flags"/> only (no timestamp).</summary>
    static void Inject(InjectedPeer p, TcpFlags flags, long at, int len = 0, uint? ack = null)
    {
        p.H.Deliver(p.H.Client, new Segment(p.S.Tuple, flags, p.S.Iss + 1 + (uint)at, ack ?? p.C.SndNxt, 502, len, TcpOptions.None));
        p.H.At(p.H.Sim.Now + SimDuration.FromMilliseconds(10));
    }

    [Fact]
    public void Established_UnreadSegment_ItsSkbChargedAndOnePageScheduled()
    {
        var p = InjectedPeer.Connected();
        p.Data(1000);

        // sk_rmem_schedule() scheduled one page for the 2304-byte skb: 4096 − 2304 left in sk_forward_alloc.
        Assert.Equal(new SkMeminfo(2304, 131072, 0, 46080, 1792, 0, 0, 0, 0), p.C.Meminfo);
        var call = p.H.GetOption(p.C.Id, SocketOption.SO_MEMINFO);
        Assert.Equal("""{"rmem_alloc":2304,"rcvbuf":131072,"wmem_alloc":0,"sndbuf":46080,"fwd_alloc":1792,"wmem_queued":0,"optmem":0,"backlog":0,"drops":0}""",
            p.H.Returned(call.CallId)!.Value);
        Assert.Equal("ENOPROTOOPT", p.H.Returned(p.H.SetOption(p.C.Id, SocketOption.SO_MEMINFO, 1).CallId)!.Errno);
        Assert.Contains("\n\t skmem:(r2304,rb131072,t0,tb46080,f1792,w0,o0,bl0,d0)\n", SsFormatter.Format(p.H.Client, info: false, memory: true));
    }

    /// <summary>SO_MEMINFO came with Linux 4.12 ("sock: introduce SO_MEMINFO getsockopt"): 4.4's sock_getsockopt() answers its default.</summary>
    [Fact]
    public void Linux44_SoMeminfo_Enoprotoopt()
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var sock = h.Call("client", SocketCallKind.Socket).SocketId;

        Assert.Equal("ENOPROTOOPT", h.GetOption(sock, SocketOption.SO_MEMINFO).Errno);
        Assert.Equal("ENOPROTOOPT", h.SetOption(sock, SocketOption.SO_MEMINFO, 1).Errno);
    }

    [Fact]
    public void Established_ReadAll_EverySkbUnchargedAndThePagesReclaimed()
    {
        var p = InjectedPeer.Connected();
        p.Data(1000);
        p.Data(1000);
        p.H.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = p.C.Id, Bytes = 2000 });

        // sock_rfree() → sk_mem_uncharge() → sk_mem_reclaim(): every whole page goes back.
        Assert.Equal((0u, 0u), (p.C.Meminfo.RmemAlloc, p.C.Meminfo.FwdAlloc));
    }

    /// <summary>
    /// tcp_try_coalesce() → skb_try_coalesce() on a TUN device's skbs (timestamps: a packet is the payload + 52): a
    /// segment that fits the tail skb's room is copied into it (delta 0); one that does not is an skb of its own, for its
    /// kmalloc'd head is never stolen (skb_head_is_locked()) — a 1000-byte one too (a kmalloc-2048 head, 2304). Observed on
    /// Linux 6.18.44: packetdrill/kmalloc-head-segments-copied-into-tail-room-never-stolen.pkt and
    /// packetdrill/in-order-short-segment-copied-into-tun-skb-tail-room.pkt.
    /// </summary>
    [Fact]
    public void Established_UnreadSegments_CopiedIntoTheTailRoomOrQueuedWhole_NoHeadStolen()
    {
        var p = InjectedPeer.Connected();
        long before = p.H.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce];
        var rmem = new List<uint>();
        foreach (int len in new[] { 536, 50, 20, 100, 40, 1000 })
        {
            p.Data(len);
            rmem.Add(p.C.Meminfo.RmemAlloc);
        }

        // 536: kmalloc-1024 (1280), 52 bytes of room; 50 copied; 20: a small head (832), 120 of room; 100 copied;
        // 40: a small head; 1000: a kmalloc-2048 head of its own (+ 2304).
        Assert.Equal([1280u, 1280, 2112, 2112, 2944, 5248], rmem);
        Assert.Equal(2L, p.H.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce] - before);
    }

    /// <summary>
    /// tcp_data_queue_ofo() → tcp_ooo_try_coalesce() → skb_try_coalesce() on the NIC model's skbs: 30 bytes after a queued
    /// 100-byte segment (a 152-byte packet, 40 bytes of room in its small head) are copied into it; the next 100 bytes
    /// are an skb of their own. Observed on Linux 6.18.44: packetdrill/ofo-short-segment-copied-into-queued-skb-room.pkt.
    /// </summary>
    [Fact]
    public void Established_OutOfOrderShortSegment_CopiedIntoTheQueuedSkbsRoom()
    {
        var p = InjectedPeer.Connected();
        long before = p.H.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce];
        var rmem = new List<uint>();
        foreach (var (len, at) in new[] { (100, 100L), (30, 200L), (100, 230L), (100, 0L), (20, 330L) })
        {
            p.Data(len, at);
            rmem.Add(p.C.Meminfo.RmemAlloc);
        }

        // In order, 0:100 takes an skb; 100:230 (130 bytes) and 230:330 do not fit the room before them; 20 bytes do.
        Assert.Equal([832u, 832, 1664, 2496, 2496], rmem);
        Assert.Equal(2L, p.H.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce] - before);
    }

    /// <summary>
    /// tun_alloc_skb() → alloc_skb_with_frags() for packets near and past a page (timestamps: the payload + 52): under a
    /// page with NET_SKB_PAD a linear kmalloc-8k head (8448); at a page and past it a kmalloc-4k head holding
    /// SKB_MAX_HEAD(NET_SKB_PAD) = 3712 bytes of the packet (4352) and pages of order ≤ 3 for the rest, the order lowered
    /// while the rest fits a smaller one (D132). The head holds payload, so such an skb is never coalesced into the tail;
    /// it is nonlinear, so nothing is copied into it. Observed on Linux 6.18.44 (skmem_rmem_alloc): 1000, 4500 and 50
    /// bytes unread 2304, 10752, 11584 (review35a); alone, 3700 bytes 8448 and 12000 bytes 16640 (without timestamps:
    /// packetdrill/tun-skb-at-and-past-a-page-truesize.pkt).
    /// </summary>
    [Fact]
    public void Established_PacketsNearAndPastAPage_KmallocHeadAndPagesAsTunAllocSkb()
    {
        var p = InjectedPeer.Connected();
        long before = p.H.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce];
        var rmem = new List<uint>();
        foreach (int len in new[] { 1000, 4500, 50 })
        {
            p.Data(len);
            rmem.Add(p.C.Meminfo.RmemAlloc);
        }
        var alone = new List<uint>();
        foreach (int len in new[] { 3600, 3700, 12000 })
        {
            var q = InjectedPeer.Connected();
            q.Data(len);
            alone.Add(q.C.Meminfo.RmemAlloc);
        }

        // 4552-byte packet: 4352 + one 4 KB page; the 50 bytes: a small head of their own (no room in a paged skb).
        Assert.Equal([2304u, 10752, 11584], rmem);
        Assert.Equal(0L, p.H.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce] - before);
        // 3652: kmalloc-4k (4352); 3752: kmalloc-8k (8448); 12052: 4352 + an 8 KB and a 4 KB page (16640).
        Assert.Equal([4352u, 8448, 16640], alone);
    }

    [Fact]
    public void Established_OldText_DroppedByTcpDataQueue()
    {
        var p = InjectedPeer.Connected();
        p.Data(1000);
        p.Data(1000, at: 0);
        Assert.Equal(1u, Drops(p.C));
    }

    [Fact]
    public void Established_OutOfOrderCopyReplacementAndCoveredSkb_EachDropped()
    {
        var p = InjectedPeer.Connected();
        p.Data(1000, at: 2000);
        p.Data(1000, at: 2000); // "All the bits are present. Drop."
        Assert.Equal(1u, Drops(p.C));
        p.Data(1500, at: 2000); // same start, longer: the queued skb is replaced and dropped
        Assert.Equal(2u, Drops(p.C));
        p.Data(1000, at: 5000);
        p.Data(3000, at: 3000); // reaches over the whole of [5000, 6000): merge_right drops it
        Assert.Equal((3u, 3L), (Drops(p.C), p.H.Client.Mib[MibCounter.TcpExtTCPOFOMerge]));
    }

    [Fact]
    public void Established_SegmentPastTheWindowSynAndNoAckFlag_EachDropped()
    {
        var p = InjectedPeer.Connected();
        p.Data(1000);
        Inject(p, TcpFlags.Ack, at: 400_000, len: 10); // tcp_sequence(): a duplicate ACK, then discard
        Assert.Equal(1u, Drops(p.C));
        Inject(p, TcpFlags.Syn, at: 5000); // syn_challenge: a challenge ACK, then discard
        Assert.Equal(2u, Drops(p.C));
        Inject(p, TcpFlags.Psh, at: 1000, len: 100); // neither ACK, RST nor SYN: SKB_DROP_REASON_TCP_FLAGS
        Assert.Equal(3u, Drops(p.C));
    }

    [Fact]
    public void CloseWait_PureAckAndAckOfUnsentData_Dropped()
    {
        var p = InjectedPeer.Connected();
        p.Data(0, fin: true);
        Assert.Equal(TcpState.CloseWait, p.C.State);
        Inject(p, TcpFlags.Ack, at: 1); // not queued: "if (!queued) discard"
        Assert.Equal(1u, Drops(p.C));
        Inject(p, TcpFlags.Ack, at: 1, ack: p.C.SndNxt + 1000); // tcp_ack() < 0
        Assert.Equal(2u, Drops(p.C));
    }

    [Fact]
    public void Established_ResetAtRcvNxt_NotCountedAsADrop()
    {
        var p = InjectedPeer.Connected();
        Inject(p, TcpFlags.Rst, at: 0); // tcp_validate_incoming()'s reset: tcp_reset() then __kfree_skb()
        Assert.Equal((TcpState.Close, 0u), (p.C.State, Drops(p.C)));
    }

    [Fact]
    public void Linux44_OldText_NoDropCounted()
    {
        // tcp_drop() came in 4.7: linux-4.4's tcp_data_queue() frees the skb with __kfree_skb().
        var p = InjectedPeer.Connected(profile: KernelProfile.Linux44);
        p.Data(1000);
        p.Data(1000, at: 0);
        Assert.Equal(0u, Drops(p.C));
    }

    [Fact]
    public void Listener_RstSynFinRetransmittedSynAndFullQueue_EachCountedOnTheListener()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 0 });
        var listener = h.Sim.FindSocket(l.SocketId)!;
        var server = new Endpoint(h.Server.Address, 80);
        Segment From(ushort port, TcpFlags flags, uint seq = 1000, uint ack = 0) =>
            new(new FourTuple(new Endpoint(h.Client.Address, port), server), flags, seq, ack, 65535, 0, new TcpOptions(Mss: 1460));

        h.Deliver(h.Server, From(40000, TcpFlags.Rst));
        h.Deliver(h.Server, From(40000, TcpFlags.Syn | TcpFlags.Fin));
        Assert.Equal(2u, Drops(listener)); // tcp_rcv_state_process(LISTEN): "goto discard"
        h.Deliver(h.Server, From(40001, TcpFlags.Syn));
        h.Deliver(h.Server, From(40001, TcpFlags.Syn)); // tcp_check_req(): SYN-ACK again, NULL → discard_and_relse
        Assert.Equal(3u, Drops(listener));
        var synAck = h.Sent("server").Last();
        h.Deliver(h.Server, From(40001, TcpFlags.Ack, 1001, synAck.SeqNo + 1)); // the child: no drop
        h.Deliver(h.Server, From(40002, TcpFlags.Syn)); // backlog 0, one child queued: tcp_conn_request() → tcp_listendrop()
        Assert.Equal((4u, 1L), (Drops(listener), h.Server.Mib[MibCounter.TcpExtListenDrops]));
    }
    [Fact]
    public void SynSent_TheSynSkbChargedUntilTheSynAckAcknowledgesIt_TheRequestSocketShowsNoSkmem()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.At(Ms(1));
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var client = h.Sim.FindSocket(c.SocketId)!;

        // tcp_connect(): the SYN's 832-byte skb (tcp_stream_alloc_skb(), one page force-scheduled) in the retransmission
        // queue: sk_wmem_queued 832, sk_forward_alloc 4096 − 832 (observed on Linux 6.18.44: ss -tm "f3264,w832").
        Assert.Equal((TcpState.SynSent, new SkMeminfo(0, 131072, 0, 16384, 3264, 832, 0, 0, 0)), (client.State, client.Meminfo));
        Assert.Contains("\n\t skmem:(r0,rb131072,t0,tb16384,f3264,w832,o0,bl0,d0)\n", SsFormatter.Format(h.Client, info: false, memory: true));

        // At 11 ms the server holds a request socket (SYN-RECV): ss -m prints no skmem for it, only the listener's.
        h.At(Ms(12));
        var serverSs = SsFormatter.Format(h.Server, info: false, memory: true);
        Assert.Contains("SYN-RECV", serverSs);
        Assert.Single(serverSs.Split("skmem:").Skip(1));

        // At 21 ms the SYN-ACK's tcp_ack() → tcp_clean_rtx_queue() frees the SYN: w0, and sk_mem_reclaim() the page.
        h.At(Ms(22));
        Assert.Equal((TcpState.Established, 0u, 0u), (client.State, client.Meminfo.WmemQueued, client.Meminfo.FwdAlloc));
        _ = l;
    }

    [Fact]
    public void SynSent_SynResentAfterItsTimeout_TheSameSkbStillCharged_ThenFreedByTheResetThatEndsIt()
    {
        var h = new TwoHostHarness();
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 81 });
        var client = h.Sim.FindSocket(c.SocketId)!;
        Assert.Null(h.Sim.ChangeLink("client", "server", oneDirection: false, null, null, blackhole: true));
        h.At(Ms(1500)); // the SYN resent at 1 s (tcp_retransmit_skb() of the same skb: no new charge)
        Assert.Equal(2, h.Sent("client").Count(s => s.Flags.HasFlag(TcpFlags.Syn)));
        Assert.Equal((832u, 3264u), (client.Meminfo.WmemQueued, client.Meminfo.FwdAlloc));

        Assert.Null(h.Sim.ChangeLink("client", "server", oneDirection: false, null, null, blackhole: false));
        h.At(Ms(3500)); // the SYN at 3 s meets no listener: RST → tcp_reset() → tcp_write_queue_purge()
        Assert.Equal((TcpState.Close, 0u, 0u), (client.State, client.Meminfo.WmemQueued, client.Meminfo.FwdAlloc));
    }

    [Fact]
    public void Linux44_SynSent_ItsSynSkbIs896Bytes()
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var client = h.Sim.FindSocket(c.SocketId)!;
        Assert.Equal((896u, 3200u), (client.Meminfo.WmemQueued, client.Meminfo.FwdAlloc));
    }
}
