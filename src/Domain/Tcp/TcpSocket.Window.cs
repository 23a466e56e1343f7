using System.Runtime.InteropServices;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// The receive side's memory and window, as Linux 6.18 computes them: sk_rcvbuf and sk_rmem_alloc in skb
/// truesize, tp->scaling_ratio (tcp_win_from_space()), window_clamp, rcv_ssthresh, icsk_ack.rcv_mss, the
/// receiver's RTT estimate and the receive-buffer autotuning of tcp_rcv_space_adjust().
/// </summary>
/// <remarks>
/// <para><b>The truesize model.</b> Every segment received off lo is one skb as the TUN device the kernel runs read
/// through builds it (tun_alloc_skb(), <see cref="NicSkb"/>): a packet under a page with its NET_SKB_PAD is copied whole
/// into a kmalloc'd head, truesize SKB_TRUESIZE of the head's size (<see cref="NicRcvTruesize"/>): 832 up to 192 bytes
/// (linux-6's small-head cache), 1280 up to 640, <see cref="RcvSkbTruesize"/> (2304) up to 1664, 4352 up to 3712, on
/// linux-6 8448 (a kmalloc-8k head) under a page with NET_SKB_PAD, and at a page and past it a kmalloc-4k head with
/// 3712 bytes of the packet plus alloc_skb_with_frags()'s pages (<see cref="TunPages"/>; linux-4.4: 2048 more per
/// further 2 KB). skb_try_coalesce() copies a later segment into the tail's
/// room while it fits (delta 0) and never steals a kmalloc'd head (<see cref="TailCoalesceCharge"/>,
/// <see cref="OfoTryCoalesce"/>). Not modelled: GRO (one skb per segment).</para>
/// <para>So tcp_measure_rcv_mss() sets scaling_ratio = len · 256 / 2304 on the first full-sized segment:
/// 160 for 1448-byte segments (timestamps), 162 for 1460.</para>
/// <para>Through lo there is no NIC buffer: the receiver gets the sender's skb (the clone tcp_transmit_skb() sent),
/// payload in page fragments, so its truesize is the payload plus <see cref="LoopbackSkbOverhead"/> (832), and a
/// coalesced one adds just its payload (skb_try_coalesce(): headlen 0, delta = the fragments' truesize). Observed on
/// Linux 6.18.44 with `ss -m`: skmem r932 for 100 bytes, r1856 for 1024, r2880 after a second 1024 coalesced; the
/// 1024-byte segment gives scaling_ratio 141 and grows rcv_ssthresh from 65483 to tcp_space() 71169.</para>
/// </remarks>
public sealed partial class TcpSocket
{
    /// <summary>SKB_TRUESIZE(2048 − 320): one received segment in a 2 KB page-fragment buffer.</summary>
    public const int RcvSkbTruesize = 2048 - TcpConstants.SkbSharedInfoSize + TcpConstants.SkBuffSize + TcpConstants.SkbSharedInfoSize;
    /// <summary>The IP packet bytes the 2 KB head fragment holds: SKB_WITH_OVERHEAD(2048) less NET_SKB_PAD (64) of headroom.</summary>
    const int RcvHeadPacketBytes = 2048 - TcpConstants.SkbSharedInfoSize - TcpConstants.NetSkbPad;
    /// <summary>A further 2 KB receive buffer a larger packet spills into: skb_add_rx_frag(…, truesize 2048).</summary>
    const int RcvFragTruesize = 2048;
    /// <summary>
    /// The longest packet a tun skb's head from skb_small_head_cache holds (6.3+: kmalloc_reserve() takes it for any head
    /// of at most SKB_SMALL_HEAD_CACHE_SIZE, 576): SKB_WITH_OVERHEAD(576) = 256 less NET_SKB_PAD (64), 192 bytes.
    /// </summary>
    static readonly int SmallHeadPacketBytes = SmallHeadTruesize(TcpConstants.MaxTcpHeader) - TcpConstants.SkBuffSize - TcpConstants.SkbSharedInfoSize - TcpConstants.NetSkbPad;
    /// <summary>The longest packet a tun skb's kmalloc-512 head holds: 512 − skb_shared_info (320) − NET_SKB_PAD (64).</summary>
    const int SmallSlabPacketBytes = 512 - TcpConstants.SkbSharedInfoSize - TcpConstants.NetSkbPad;
    /// <summary>The longest packet a tun skb's kmalloc-1024 head holds: 1024 − 320 − 64.</summary>
    const int MidSlabPacketBytes = 1024 - TcpConstants.SkbSharedInfoSize - TcpConstants.NetSkbPad;
    /// <summary>SKB_TRUESIZE(512 − 320): 768.</summary>
    const int SmallSlabTruesize = 512 - TcpConstants.SkbSharedInfoSize + TcpConstants.SkBuffSize + TcpConstants.SkbSharedInfoSize;
    /// <summary>SKB_TRUESIZE(1024 − 320): 1280.</summary>
    const int MidSlabTruesize = 1024 - TcpConstants.SkbSharedInfoSize + TcpConstants.SkBuffSize + TcpConstants.SkbSharedInfoSize;
    const int MaxSkbFrags = 17;
    /// <summary>
    /// What a segment received through lo is charged beyond its payload: the truesize of the sender's skb head
    /// (<see cref="SmallHeadTruesize"/> with MAX_TCP_HEADER 192: 256 + SKB_DATA_ALIGN(sizeof(struct sk_buff)) 256 +
    /// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) 320) — observed on Linux 6.18.44 as skmem r = payload + 832.
    /// </summary>
    public static readonly int LoopbackSkbOverhead = SmallHeadTruesize(TcpConstants.MaxTcpHeader);

    /// <summary>Whether this connection's segments come through lo (a local peer address).</summary>
    bool ViaLoopback => Host.IsLocal(Remote.Address);

    /// <summary>skb->truesize of the segment being received, of <paramref name="len"/> bytes: the NIC model, or lo's.</summary>
    int RcvTruesize(long len) => RcvTruesize(len, ArrivingSkb(len));

    /// <summary>skb->truesize of <paramref name="len"/> bytes in <paramref name="skb"/>: its payload and overhead over lo, else the NIC model.</summary>
    int RcvTruesize(long len, LoSkb skb) => (int)len + skb.Overhead;

    /// <summary>A lo skb as the sender's clone or a software GSO piece arrives: one small head (<see cref="LoopbackSkbOverhead"/>).</summary>
    static readonly LoSkb LoWholeSkb = new(LoopbackSkbOverhead, Own: false);

    /// <summary>
    /// The lo skb being received (<see cref="Simulation.LoRxSkb"/>): charged beyond its payload its head,
    /// <see cref="LoopbackSkbOverhead"/> — the sender's clone's and a software GSO piece's alike — or, for an skb
    /// tcp_add_backlog() merged others into, its truesize less its payload (the tail room took the small ones whole);
    /// its own skb when a piece or a merge. Only the segment in hand: an skb tcp_ofo_queue() moves keeps the one it came
    /// in. Off lo <see cref="TcpSocket.OnSegment"/> sets no segment and the NIC model reads none.
    /// </summary>
    LoSkb ArrivingLoSkb => ViaLoopback && _sim.LoRxSkb is { } seg
        ? new(seg.Truesize > 0 ? seg.Truesize - seg.Length : LoopbackSkbOverhead, seg.Segmented || seg.Truesize != 0,
            seg.LoTailRoom, seg.LoFragCount, seg.LoHeadLen)
        : LoWholeSkb;

    /// <summary>The skb a segment of <paramref name="len"/> payload bytes arrives in: lo's (<see cref="ArrivingLoSkb"/>) or a TUN device's (<see cref="NicSkb"/>).</summary>
    LoSkb ArrivingSkb(long len) => ViaLoopback ? ArrivingLoSkb : NicSkb(len);

    /// <summary>
    /// Models tun_alloc_skb() — drivers/net/tun.c — for a packet of <paramref name="len"/> payload bytes: under a page with
    /// its NET_SKB_PAD ("if (prepad + len &lt; PAGE_SIZE) linear = len") the whole packet is copied into a kmalloc'd head —
    /// truesize <see cref="NicRcvTruesize"/>; skb_tailroom() what SKB_WITH_OVERHEAD() of that head leaves after NET_SKB_PAD
    /// and the packet; the payload in the head once the headers are pulled (skb_headlen() = len), a head that is no page
    /// fragment (head_frag 0), so skb_head_is_locked() and no coalesce may steal it. A longer packet's bytes go into page
    /// fragments (headlen 0, no tail room).
    /// </summary>
    LoSkb NicSkb(long len)
    {
        int truesize = NicRcvTruesize(len);
        long packet = len + 20 + TcpHeaderLen;
        if (packet + TcpConstants.NetSkbPad >= PageSize)
        {
            // Linux 6.18.44: the head holds SKB_MAX_HEAD(NET_SKB_PAD) bytes of the packet, payload too, so it is locked.
            if (_sim.Profile != KernelProfile.Linux44)
                return new(truesize - (int)len, Own: true, Frags: TunPages(packet - TunPagedHeadPacketBytes).Count, HeadLen: TunPagedHeadPacketBytes - 20 - TcpHeaderLen);
            return new(truesize - (int)len, Own: true, Frags: 1);
        }
        int headRoom = truesize - TcpConstants.SkBuffSize - TcpConstants.SkbSharedInfoSize; // SKB_WITH_OVERHEAD(ksize(head))
        return new(truesize - (int)len, Own: true, TailRoom: headRoom - TcpConstants.NetSkbPad - (int)packet, HeadLen: (int)len);
    }

    /// <summary>
    /// The NIC model's skb->truesize for <paramref name="len"/> bytes of payload: the head fragment's 2304, and 2048 more
    /// for each further 2 KB buffer a packet (20-byte IP header, the TCP header with timestamps if negotiated) longer
    /// than <see cref="RcvHeadPacketBytes"/> (1664) fills — a driver's skb_add_rx_frag() of each buffer. So truesize
    /// stays above len and tcp_measure_rcv_mss()'s u8 scaling_ratio = len · 256 / truesize under 256, as on every
    /// kernel path (a 3000-byte segment: 4352, ratio 176). A TUN device's kmalloc'd head (tun_alloc_skb() → alloc_skb():
    /// SKB_TRUESIZE(kmalloc_size_roundup(SKB_HEAD_ALIGN(NET_SKB_PAD + packet)) − 320)) is the same 2304 and 4352 for
    /// packets of 641–1664 and 1665–3712 bytes; observed on Linux 6.18.44 (packetdrill/jumbo-segment-scaling-ratio-from-its-truesize.pkt).
    /// Past 3712 bytes linux-6 differs (D132): a kmalloc-8k head under a page, then a kmalloc-4k head and pages.
    /// </summary>
    int NicRcvTruesize(long len)
    {
        long packet = len + 20 + TcpHeaderLen;
        // tun_alloc_skb() -> alloc_skb(): a short packet's head (with NET_SKB_PAD and skb_shared_info) is not a 2 KB
        // buffer. On linux-6, kmalloc_reserve() takes a head of at most SKB_SMALL_HEAD_CACHE_SIZE (576) from
        // skb_small_head_cache: the small head's truesize, 832, up to 192 bytes (observed on Linux 6.18.44 as skmem
        // r832 for a 100-byte segment: packetdrill/close-wait-skmem-short-segment-small-head-832.pkt); linux-4.4, without
        // that cache, a kmalloc-512 head, SKB_TRUESIZE(512 - 320) = 768, up to 128 bytes. Then kmalloc-1024,
        // SKB_TRUESIZE(1024 - 320) = 1280, up to 640 bytes: observed on Linux 6.18.44 through scaling_ratio and the
        // window (packetdrill/short-segment-tun-truesize-sets-scaling-ratio-and-window.pkt).
        if (_sim.Profile != KernelProfile.Linux44 && packet <= SmallHeadPacketBytes) return LoopbackSkbOverhead;
        if (packet <= SmallSlabPacketBytes) return SmallSlabTruesize;
        if (packet <= MidSlabPacketBytes) return MidSlabTruesize;
        if (_sim.Profile != KernelProfile.Linux44 && packet > TunPagedHeadPacketBytes)
        {
            // Under a page with NET_SKB_PAD: a linear kmalloc-8k head, SKB_TRUESIZE(8192 − 320) = 8448. At a page and
            // past it: a kmalloc-4k head with SKB_MAX_HEAD(NET_SKB_PAD) bytes (4352) and alloc_skb_with_frags()'s pages.
            if (packet + TcpConstants.NetSkbPad < PageSize) return 2 * PageSize + TcpConstants.SkBuffSize;
            return PageSize + TcpConstants.SkBuffSize + TunPages(packet - TunPagedHeadPacketBytes).Sum();
        }
        long beyond = packet - RcvHeadPacketBytes;
        return beyond <= 0 ? RcvSkbTruesize : RcvSkbTruesize + (int)((beyond + RcvFragTruesize - 1) / RcvFragTruesize) * RcvFragTruesize;
    }

    /// <summary>
    /// SKB_MAX_HEAD(NET_SKB_PAD) = SKB_WITH_OVERHEAD(PAGE_SIZE − NET_SKB_PAD), 3712: the packet bytes a TUN skb's head holds
    /// when the packet and NET_SKB_PAD reach a page (tun_get_user()'s good_linear); the rest goes into page fragments.
    /// </summary>
    const int TunPagedHeadPacketBytes = PageSize - TcpConstants.NetSkbPad - TcpConstants.SkbSharedInfoSize;

    /// <summary>
    /// Models alloc_skb_with_frags() — net/core/skbuff.c — with tun_alloc_skb()'s max order PAGE_ALLOC_COSTLY_ORDER (3):
    /// the size of each page (compound) it fills with <paramref name="bytes"/>, the order lowered while the bytes left,
    /// page-aligned, are less than a page of it (each page adds PAGE_SIZE &lt;&lt; order to truesize). Observed on Linux
    /// 6.18.44 (one unread in-order segment, skmem_rmem_alloc): packets of 4040 and 5040 bytes 8448 (4352 + one 4 KB page),
    /// 8140 and 9040 bytes 12544 (+ 8 KB + 4 KB), 12040 bytes 16640 (+ 8 KB + 4 KB: the order stays lowered).
    /// </summary>
    static List<int> TunPages(long bytes)
    {
        var pages = new List<int>();
        int order = 3;
        while (bytes > 0)
        {
            while (order > 0 && (bytes + PageSize - 1) / PageSize * PageSize < (long)PageSize << order) order--;
            pages.Add(PageSize << order);
            bytes -= PageSize << order;
        }
        return pages;
    }

    /// <summary>
    /// Models truesize_adjust(adjust = true, skb) — net/ipv4/tcp_input.c (240bfd134c59, 5.16), what tcp_event_data_recv()'s
    /// tcp_grow_window(sk, skb, true) weighs: an skb with nothing in its head (skb_headlen() 0) less its head's
    /// SKB_TRUESIZE(skb_end_offset()). Through lo the skb is the sender's clone, its payload all in page fragments once
    /// the headers are pulled, so <paramref name="len"/> alone: tcp_win_from_space() of it never passes len, and the
    /// increment is 2 · advmss. The NIC model's skb holds its payload in the head (napi_build_skb()): its whole truesize.
    /// linux-4.4 has no truesize_adjust(). Observed on Linux 6.18.44 over lo: a 45226-byte segment took rcv_ssthresh
    /// from 95232 to 226198 (+ 2 · 65483), where the whole truesize would have given 2 · rcv_mss (+ 95232).
    /// </summary>
    int GrowTruesize(long len) => ViaLoopback && _sim.Profile != KernelProfile.Linux44 ? (int)len : RcvTruesize(len);

    /// <summary>
    /// Models tcp_try_coalesce() → skb_try_coalesce() (net/core/skbuff.c) of in-order <paramref name="payload"/> in
    /// <paramref name="skb"/> into the receive queue's unread tail: what sk_rmem_alloc grows by, or −1 when the tail does
    /// not take it (a FIN's, a clone's: <see cref="TailShared"/>). Over lo the sender's clone has its payload in page
    /// fragments: they move, and the delta is the payload. Off lo (a TUN device's skb, <see cref="NicSkb"/>) a payload the
    /// tail's room holds is copied there, delta 0; a linear skb's head is locked, so nothing else coalesces; a paged one
    /// gives its fragments, delta its truesize less its head's. Observed on Linux 6.18.44: two unread 1000-byte segments
    /// and a 100-byte one read skmem_rmem_alloc 4608 (2304 + 2304, the 100 bytes in the second's tail room).
    /// </summary>
    int TailCoalesceCharge(List<RcvSkb>? q, long payload, LoSkb skb)
    {
        if (q is not { Count: > 0 } || q[^1].Fin || TailShared(q[^1])) return -1;
        var tail = q[^1];
        if (ViaLoopback) return tail.Frags < MaxSkbFrags ? (int)payload : -1;
        if (payload <= tail.TailRoom) return 0; // "if (len <= skb_tailroom(to))": copied, *delta_truesize = 0
        if (skb.HeadLen != 0 || tail.Frags + skb.Frags > MaxSkbFrags) return -1; // skb_head_is_locked(from)
        return (int)payload + skb.Overhead - HeaderHeadTruesize; // from->truesize − SKB_TRUESIZE(skb_end_offset(from))
    }

    /// <summary>
    /// SKB_TRUESIZE(skb_end_offset()) of a TUN skb whose packet went into page fragments: its head holds NET_SKB_PAD and
    /// the headers only, a kmalloc of at most SKB_SMALL_HEAD_CACHE_SIZE — on linux-6 from skb_small_head_cache
    /// (kmalloc_reserve()), the small head's 832 (<see cref="LoopbackSkbOverhead"/>, the same size as lo's sender's head);
    /// on linux-4.4 a kmalloc-512, 768. What a paged skb's coalesce leaves of its truesize (skb_try_coalesce()'s delta).
    /// </summary>
    int HeaderHeadTruesize => _sim.Profile == KernelProfile.Linux44 ? SmallSlabTruesize : LoopbackSkbOverhead;

    /// <summary>sk->sk_rcvbuf while SO_RCVBUF has not locked it: tcp_rmem[1], then tcp_rcvbuf_grow(). An int, as the kernel's (tcp_rmem's values are ints).</summary>
    int _rcvBuf;
    /// <summary>tp->scaling_ratio: tcp_win_from_space() = space · ratio / 256.</summary>
    int _scalingRatio;
    /// <summary>tp->advmss: the MSS we advertised, less the timestamp option on an active open that negotiated it.</summary>
    int _advmss;

    /// <summary>tp->rcvq_space (autotuning's measure) and tp->rcv_rtt_est (the receiver's RTT).</summary>
    ReceiveSpace _rcvq;
    /// <summary>
    /// tp->tcp_mstamp: the clock as the socket last read it — tcp_mstamp_refresh() on every segment it receives
    /// and every tcp_write_xmit() with something to send; tcp_rcv_space_adjust() measures from it, not from the read.
    /// </summary>
    SimTime _mstamp;
    /// <summary>
    /// How many times the socket read the clock (<see cref="MstampRefresh"/>): the order of reads at one virtual instant,
    /// which on a real machine are microseconds apart (see <see cref="InFlight.SentEpoch"/>).
    /// </summary>
    long _mstampEpoch;
    /// <summary>
    /// The clock read (<see cref="InFlight.SentEpoch"/>) that stamped the last segment a cumulative ACK gave an RTT
    /// sample of (tcp_clean_rtx_queue()'s last_ackt), and that sample (ca_rtt_us) in ns. Every skb that read stamped
    /// carries the same skb_mstamp_ns, so it is at least that old from then on: over lo, where the engine's clock does
    /// not move, the sample's 7 µs (TcpSocket.InstantTransitUs) is all the engine knows of that age (<see cref="TsoShouldDefer"/>).
    /// </summary>
    (long Epoch, long AgeNs) _sampledRead;

    /// <summary>One skb of sk_receive_queue: a struct in the queue's array (no object per skb), changed in place by reference.</summary>
    internal struct RcvSkb(long left, int truesize, uint headEnd = 0)
    {
        public long Left = left;
        public int Truesize = truesize;
        /// <summary>The sequence after the segment whose skb this is (the head of any coalesced into it).</summary>
        public uint HeadEnd = headEnd;
        public int Frags;
        public bool Fin;
        /// <summary>Not a clone of a skb the sender keeps: a lo software GSO piece, or a backlog merge into one or into a pure ACK.</summary>
        public bool Own;
        /// <summary>skb_tailroom() of a TUN device's linear skb (<see cref="NicSkb"/>): what a later segment may be copied into.</summary>
        public int TailRoom;
    }

    /// <summary>sk->sk_rcvbuf: 2 · SO_RCVBUF (at most rmem_max, at least SOCK_MIN_RCVBUF) once set, else the autotuned value.</summary>
    internal long SkRcvbuf => RcvBufSet > 0 ? Math.Max(TcpConstants.SockMinRcvBuf, 2L * Math.Min(RcvBufSet, Host.Sysctls.RmemMax)) : _rcvBuf;

    /// <summary>
    /// The limit tcp_add_backlog() — net/ipv4/tcp_ipv4.c — gives sk_add_backlog() for a segment it did not merge: 6.18
    /// allows 2 · sk_rcvbuf, since "sk->sk_backlog.len is reset only at the end of __release_sock()" and both it and
    /// sk_rmem_alloc may reach sk_rcvbuf, plus sk_sndbuf / 2 and 64 KB of headroom (only the owner can collapse or
    /// prune its queues), as a u64 capped at UINT_MAX; linux-4.4's tcp_v4_rcv() passed sk_rcvbuf + sk_sndbuf.
    /// </summary>
    internal long BacklogLimit => _sim.Profile == KernelProfile.Linux44
        ? SkRcvbuf + SkSndbuf
        : Math.Min((SkRcvbuf << 1) + (SkSndbuf >> 1) + 64 * 1024, uint.MaxValue);

    /// <summary>sk_rmem_alloc: truesize of the receive and out-of-order queues.</summary>
    internal long RmemAlloc => (_data?.RcvQueueTruesize ?? 0) + OfoTruesize();

    /// <summary>The out-of-order queue's truesize: one skb per entry, the one it arrived in.</summary>
    long OfoTruesize()
    {
        if (Ofo.Count == 0) return 0; // the usual case: no locality test on every window computation
        long sum = 0;
        for (int i = 0; i < Ofo.Count; i++)
        {
            long len = Ofo[i].End - Ofo[i].Seq - (Ofo[i].Fin ? 1u : 0u);
            sum += RcvTruesize(len, Ofo[i].Skb);
        }
        return sum;
    }

    /// <summary>
    /// Models skb_try_coalesce()'s skb_cloned(to) refusal for a loopback skb: the receiver's skb shares its data with
    /// the clone the sender keeps in its retransmit queue until an ACK covering it reaches the sender (tcp_clean_rtx_queue()
    /// frees it). So over lo a segment is not coalesced into a tail whose head segment the sender still holds — the
    /// common case for a burst, which lands before the sender has processed the first ACK (observed on Linux 6.18.44:
    /// with SO_RCVBUF 4096 two back-to-back 2048-byte segments make sk_rmem_alloc 2 · 2880 and close the window, where
    /// the same segments 50 ms apart coalesce to 2880 + 2048).
    /// </summary>
    bool TailShared(in RcvSkb tail) => LoShared(tail.Own, tail.HeadEnd);

    /// <summary>skb_cloned() of a received lo skb that is not its own (<paramref name="own"/> false): its sender still holds the segment ending at <paramref name="headEnd"/>.</summary>
    bool LoShared(bool own, uint headEnd) =>
        ViaLoopback && !own && Host.Established.GetValueOrDefault(Tuple.Reversed) is { } sender && SeqMath.Before(sender.SndUna, headEnd);


    /// <summary>Models tcp_win_from_space() / __tcp_win_from_space() — include/net/tcp.h: space · scaling_ratio &gt;&gt; TCP_RMEM_TO_WIN_SCALE.</summary>
    long WinFromSpace(long space) => (space * _scalingRatio) >> TcpConstants.RmemToWinScale;

    /// <summary>Models tcp_space_from_win() — include/net/tcp.h: the inverse, win &lt;&lt; 8 / scaling_ratio.</summary>
    long SpaceFromWin(long win) => (win << TcpConstants.RmemToWinScale) / _scalingRatio;

    /// <summary>
    /// Models tcp_space() — include/net/tcp.h: tcp_win_from_space(sk_rcvbuf − sk_backlog.len − sk_rmem_alloc); may be
    /// negative. <paramref name="uncharged"/> is truesize the queues hold that sk_rmem_alloc does not count yet. While
    /// __release_sock() handles a lo backlog, sk_backlog.len still counts every skb it took (<see cref="Simulation.LoBacklogLen"/>),
    /// so the free space, and what __tcp_select_window() and tcp_grow_window() make of it, is smaller until the release
    /// ends. linux-4.4's tcp_space() is tcp_win_from_space(sk_rcvbuf − sk_rmem_alloc): no backlog term.
    /// </summary>
    long TcpSpace(long uncharged = 0) =>
        WinFromSpace(SkRcvbuf - (_sim.Profile == KernelProfile.Linux6 ? _sim.LoBacklogLen(this) : 0) - (RmemAlloc - uncharged));

    /// <summary>Models tcp_full_space() — include/net/tcp.h: tcp_win_from_space(sk_rcvbuf).</summary>
    internal long RcvSpace => WinFromSpace(SkRcvbuf);

    /// <summary>
    /// "Only allow window shrink if the sysctl is enabled and we have a non-zero scaling factor in effect"
    /// (tcp_select_window(), __tcp_select_window(); net.ipv4.tcp_shrink_window, 6.5+).
    /// </summary>
    bool ShrinkWindowAllowed => Host.Sysctls.TcpShrinkWindow && _rxOpt.RcvWscale != 0;

    /// <summary>round_down(x, granule) of an int that may be negative (two's complement: towards minus infinity).</summary>
    static long RoundDown(long x, long granule) => x >= 0 ? x / granule * granule : -((-x + granule - 1) / granule * granule);

    /// <summary>
    /// Models __tcp_select_window() — net/ipv4/tcp_output.c (tcp_shrink_window 0): the free space
    /// tcp_space(); below half of min(window_clamp, tcp_full_space()) it clears icsk_ack.quick (so a quick-ACK test made
    /// after this call, as in __tcp_ack_snd_check(), fails), under tcp_memory_pressure clamps rcv_ssthresh
    /// (<see cref="AdjustRcvSsthresh"/>; linux-4.4 the same min() written out), is rounded down to the window scale and becomes 0 when under
    /// 1/16 of the full space or under rcv_mss; it never exceeds rcv_ssthresh.
    /// With window scaling the window is the free space aligned up to the scale; without it, the current
    /// window is kept while within one rcv_mss of the free space, else the free space rounded down to rcv_mss.
    /// </summary>
    long SelectWindowRaw()
    {
        long mss = _rcvMss;
        long freeSpace = TcpSpace();
        long allowedSpace = RcvSpace;
        long fullSpace = Math.Min(_rcv.WindowClamp, allowedSpace);
        if (mss > fullSpace)
        {
            mss = fullSpace;
            if (mss <= 0) return 0;
        }
        if (ShrinkWindowAllowed) return SelectShrinkableWindow(freeSpace, fullSpace, allowedSpace, mss);
        if (freeSpace < fullSpace >> 1)
        {
            if (_data is { } data) data.Ack.Quick = 0;
            if (Host.TcpMemoryPressure) AdjustRcvSsthresh();
            freeSpace = RoundDown(freeSpace, 1L << _rxOpt.RcvWscale);
            if (freeSpace < allowedSpace >> 4 || freeSpace < mss) return 0;
        }
        if (freeSpace > _rcv.Ssthresh) freeSpace = _rcv.Ssthresh;
        if (_rxOpt.RcvWscale != 0)
        {
            long granule = 1L << _rxOpt.RcvWscale;
            return (freeSpace + granule - 1) / granule * granule;
        }
        long window = _rcv.Wnd;
        if (window <= freeSpace - mss || window > freeSpace) window = freeSpace / mss * mss;
        else if (mss == fullSpace && freeSpace > window + (fullSpace >> 1)) window = freeSpace;
        return window;
    }

    /// <summary>
    /// __tcp_select_window()'s shrink_window_allowed: path (tcp_shrink_window 1, a scaled window): the free space rounded
    /// down to the scale ("new window should always be an exact multiple of scaling factor"); below half of the full
    /// space icsk_ack.quick is cleared, rcv_ssthresh adjusted under memory pressure, and the window is 0 under 1/16 of the
    /// full space, under rcv_mss or under one scale unit; above rcv_ssthresh it is rcv_ssthresh aligned up to the scale.
    /// tcp_select_window() then offers it even below what is left of the last window.
    /// </summary>
    long SelectShrinkableWindow(long freeSpace, long fullSpace, long allowedSpace, long mss)
    {
        long granule = 1L << _rxOpt.RcvWscale;
        freeSpace = RoundDown(freeSpace, granule);
        if (freeSpace < fullSpace >> 1)
        {
            if (_data is { } data) data.Ack.Quick = 0;
            if (Host.TcpMemoryPressure) AdjustRcvSsthresh();
            if (freeSpace < allowedSpace >> 4 || freeSpace < mss || freeSpace < granule) return 0;
        }
        if (freeSpace > _rcv.Ssthresh) freeSpace = (_rcv.Ssthresh + granule - 1) / granule * granule;
        return freeSpace;
    }

    /// <summary>
    /// The timestamp option's 12 bytes come off tp->advmss once timestamps are agreed: tcp_rcv_synsent_state_process()
    /// on an active open, tcp_rcv_state_process() SYN_RECV on a passive one.
    /// </summary>
    void TakeTimestampOffAdvmss()
    {
        if (_rxOpt.TsOk) _advmss -= TcpConstants.TimestampOptionBytes;
    }

    /// <summary>
    /// The TCP_SYN_RECV case of tcp_rcv_state_process() (a child, or a simultaneous open): with timestamps,
    /// tp->advmss -= TCPOLEN_TSTAMP_ALIGNED — since 6.16 before tcp_init_transfer(), so tcp_init_buffer_space() sizes
    /// window_clamp and rcvq_space with it; linux-4.4 (and 6.x before 6.16) took it off after. Observed on Linux
    /// 6.18.44: the passive side's tcpi_advmss is the active side's (advmss − 12), rcv_space 10 · that.
    /// </summary>
    void EstablishBuffers()
    {
        bool before = _sim.Profile != KernelProfile.Linux44;
        if (before) TakeTimestampOffAdvmss();
        InitBufferSpace();
        if (!before) TakeTimestampOffAdvmss();
    }

    /// <summary>
    /// Models tcp_init_buffer_space() after tcp_sndbuf_expand() — net/ipv4/tcp_input.c: rcvq_space starts
    /// now; window_clamp becomes the full space (tcp_app_win 31 keeps all of it) less one advmss reserved
    /// for the application ("Force reservation of one segment"); rcv_ssthresh is capped by it; rcvq_space.space
    /// = min(rcv_ssthresh, rcv_wnd, TCP_INIT_CWND · advmss) — linux-4.4: "tp-&gt;rcvq_space.space = tp-&gt;rcv_wnd;" (the
    /// TCP_INIT_CWND bound is 4.19's). Then tcp_initialize_rcv_mss().
    /// </summary>
    void InitReceiveSpace()
    {
        MstampRefresh();
        _rcvq.Time = _mstamp;
        _rcvq.Copied = _data?.Copied ?? 0;
        long appWin = Host.Sysctls.TcpAppWin;
        long maxwin = RcvSpace;
        if (_rcv.WindowClamp >= maxwin)
        {
            _rcv.WindowClamp = (uint)maxwin;
            if (appWin != 0 && maxwin > 4L * _advmss)
                _rcv.WindowClamp = (uint)Math.Max(maxwin - (maxwin >> (int)appWin), 4L * _advmss);
        }
        if (appWin != 0 && _rcv.WindowClamp > 2L * _advmss && _rcv.WindowClamp + (long)_advmss > maxwin)
            _rcv.WindowClamp = (uint)Math.Max(2L * _advmss, maxwin - _advmss);
        _rcv.Ssthresh = Math.Min(_rcv.Ssthresh, _rcv.WindowClamp);
        _rcvq.Space = _sim.Profile == KernelProfile.Linux44 ? _rcv.Wnd
            : Math.Min(Math.Min(_rcv.Ssthresh, _rcv.Wnd), (long)TcpConstants.InitCwnd * _advmss);
        InitializeRcvMss(PayloadMss);
    }

    /// <summary>
    /// Models tcp_initialize_rcv_mss() — net/ipv4/tcp_input.c: min(advmss, mss_cache, rcv_wnd / 2, TCP_MSS_DEFAULT),
    /// at least TCP_MIN_MSS. tcp_connect_init() calls it before tcp_select_initial_window() sets rcv_wnd, so a
    /// SYN-SENT socket has rcv_mss 88 (observed on Linux 6.18.44: `ss -i` shows `rcvmss:88`); the handshake's end
    /// calls it again (536).
    /// </summary>
    void InitializeRcvMss(int mssCache)
    {
        long hint = Math.Min(Math.Min(_advmss, mssCache), Math.Min(_rcv.Wnd / 2, TcpConstants.MssDefault));
        _rcvMss = (int)Math.Max(hint, TcpConstants.MinMss);
    }

    /// <summary>
    /// Models tcp_measure_rcv_mss() — net/ipv4/tcp_input.c: a segment of at least rcv_mss re-derives
    /// scaling_ratio = len · 256 / truesize when its length differs from rcv_mss (then tcp_set_window_clamp(
    /// tcp_win_from_space(sk_rcvbuf)) if the ratio changed, and rcvq_space.space is cut to the clamp), sets
    /// rcv_mss = min(len, advmss) and ICSK_ACK_PUSHED on PSH; a smaller segment sets PUSHED (PUSHED2 when
    /// PUSHED already was), and one of at least TCP_MSS_DEFAULT (or TCP_MIN_MSS without FIN/PSH) that repeats
    /// the last such length becomes rcv_mss.
    /// </summary>
    void MeasureRcvMss(int skbLen, bool psh, bool fin, int gsoSize = 0)
    {
        int lss = Ack.LastSegSize;
        AckToWrite.LastSegSize = 0;
        int len = gsoSize != 0 ? gsoSize : skbLen; // "len = skb_shinfo(skb)->gso_size ? : skb->len"
        if (len >= _rcvMss)
        {
            if (len != _rcvMss)
            {
                int old = _scalingRatio;
                _scalingRatio = Math.Max(1, (int)(((long)skbLen << TcpConstants.RmemToWinScale) / RcvTruesize(skbLen)));
                if (old != _scalingRatio)
                {
                    SetWindowClamp(WinFromSpace(SkRcvbuf));
                    if (_rcv.WindowClamp < _rcvq.Space) _rcvq.Space = _rcv.WindowClamp;
                }
            }
            _rcvMss = Math.Min(len, _advmss);
            if (psh) AckToWrite.Pushed = true;
            return;
        }
        int headerLen = 20 + (_rxOpt.TsOk ? TcpConstants.TimestampOptionBytes : 0);
        int withHeader = len + headerLen;
        if (withHeader >= TcpConstants.MssDefault + 20 || withHeader >= TcpConstants.MinMss + 20 && !psh && !fin)
        {
            int l = withHeader - headerLen;
            AckToWrite.LastSegSize = l;
            if (l == lss)
            {
                _rcvMss = l;
                return;
            }
        }
        if (Ack.Pushed) AckToWrite.Pushed2 = true;
        AckToWrite.Pushed = true;
    }

    /// <summary>
    /// Models tcp_set_window_clamp() — net/ipv4/tcp.c: at least SOCK_MIN_RCVBUF / 2; shrinking caps
    /// rcv_ssthresh (__tcp_adjust_rcv_ssthresh(), no reserved memory), growing raises it to min(rcv_wnd, clamp).
    /// </summary>
    void SetWindowClamp(long val)
    {
        uint old = _rcv.WindowClamp;
        uint clamp = (uint)Math.Max(TcpConstants.SockMinRcvBuf / 2, val);
        if (clamp == old) return;
        _rcv.WindowClamp = clamp;
        if (clamp < old) _rcv.Ssthresh = Math.Min(_rcv.Ssthresh, clamp);
        else _rcv.Ssthresh = Math.Max(Math.Min(_rcv.Wnd, clamp), _rcv.Ssthresh);
    }

    /// <summary>
    /// Models tcp_grow_window() / __tcp_grow_window() — net/ipv4/tcp_input.c, for a segment of at least
    /// 128 bytes: room = min(window_clamp, tcp_space()) − rcv_ssthresh; when the skb's truesize, as window,
    /// fits its length (tcp_win_from_space(truesize) ≤ len) the increment is 2 · advmss, else 2 · rcv_mss
    /// while rcv_ssthresh is under the halved tcp_rmem[2] window that the halved truesize fits; at least
    /// 2 · len, at most room; a grown window also sets icsk_ack.quick |= 1 (an extra quick ACK when the count was even).
    /// <paramref name="uncharged"/> is the truesize of the segment's skb that the queue holds but sk_rmem_alloc does not
    /// count yet (tcp_data_queue_ofo() grows before skb_set_owner_r()); tcp_space() leaves it out.
    /// Under tcp_memory_pressure nothing grows and, since 5.15 ("tcp: adjust rcv_ssthresh according to sk_reserved_mem"),
    /// tcp_adjust_rcv_ssthresh() clamps rcv_ssthresh to 4 · advmss (<see cref="AdjustRcvSsthresh"/>); linux-4.4 only
    /// stops growing (its Check #1 has !tcp_under_memory_pressure() beside the room test).
    /// </summary>
    void GrowWindow(int len, int truesize, long uncharged = 0)
    {
        long room = Math.Min(_rcv.WindowClamp, TcpSpace(uncharged)) - _rcv.Ssthresh;
        if (room <= 0) return;
        if (Host.TcpMemoryPressure)
        {
            if (_sim.Profile != KernelProfile.Linux44) AdjustRcvSsthresh();
            return;
        }
        long incr;
        if (WinFromSpace(truesize) <= len) incr = 2L * _advmss;
        else
        {
            incr = 0;
            long t = WinFromSpace(truesize) >> 1;
            long window = WinFromSpace(Host.Sysctls.TcpRmem[2]) >> 1;
            while (_rcv.Ssthresh <= window)
            {
                if (t <= len)
                {
                    incr = 2L * _rcvMss;
                    break;
                }
                t >>= 1;
                window >>= 1;
            }
        }
        if (incr == 0) return;
        incr = Math.Max(incr, 2L * len);
        _rcv.Ssthresh += (uint)Math.Min(room, incr);
        AckToWrite.Quick |= 1;
    }

    /// <summary>
    /// Models tcp_adjust_rcv_ssthresh() — include/net/tcp.h: rcv_ssthresh = min(rcv_ssthresh, 4 · advmss), then raised to
    /// tcp_win_from_space() of the unused SO_RESERVE_MEM reserve (not modelled: always 0). Run under tcp_memory_pressure by
    /// tcp_grow_window(), __tcp_select_window() and tcp_prune_queue().
    /// </summary>
    void AdjustRcvSsthresh() => _rcv.Ssthresh = Math.Min(_rcv.Ssthresh, 4u * (uint)_advmss);

    /// <summary>
    /// Models tcp_rcv_rtt_measure() — net/ipv4/tcp_input.c: once a whole window (rcv_nxt passed the
    /// rcv_nxt + rcv_wnd noted at the last measure) has arrived, its duration is a sample (minimum-filtered).
    /// </summary>
    void RcvRttMeasure()
    {
        ref var est = ref DataToWrite.RcvRtt; // on received data
        if (est.Time is { } t)
        {
            if (SeqMath.Before(_rcv.Nxt, est.Seq)) return;
            RcvRttUpdate(ref est, Math.Max(1, (_sim.Now - t).Ns / 1000), winDep: true);
        }
        est.Seq = _rcv.Nxt + _rcv.Wnd;
        est.Time = _sim.Now;
    }

    /// <summary>
    /// Models tcp_rcv_rtt_measure_ts() + tcp_rtt_tsopt_us(tp, 0) — net/ipv4/tcp_input.c (6.16+: zero samples
    /// are dropped): a segment of at least rcv_mss with a new TSecr gives a sample of now − TSecr in
    /// milliseconds (TSecr less our tsoffset: the same clock as our TSval).
    /// </summary>
    void RcvRttMeasureTs(Segment seg)
    {
        if (!_rxOpt.TsOk || !seg.Options.HasTimestamp) return;
        uint tsecr = seg.Options.TsEcr;
        ref var est = ref DataToWrite.RcvRtt; // on received data
        if (tsecr == est.LastTsecr) return;
        est.LastTsecr = tsecr;
        if (seg.EndSeq - seg.Seq < (uint)_rcvMss) return;
        uint delta = unchecked(TsVal - tsecr);
        if (delta == 0 || delta >= int.MaxValue / 1000) return;
        RcvRttUpdate(ref est, delta * 1000L, winDep: false);
    }

    /// <summary>
    /// Models tcp_rcv_rtt_update() of 6.16+ ("always seek for minimal rtt", "skip big rtt sample if receive
    /// queue is not empty") — net/ipv4/tcp_input.c: a smaller sample (×8) replaces the estimate; a larger one
    /// is ignored from the window-based measure, or while data is unread, else smoothed by 1/8.
    /// </summary>
    void RcvRttUpdate(ref ReceiverRtt est, long sampleUs, bool winDep)
    {
        long old = est.RttUs8;
        long m = sampleUs << 3;
        if (old == 0 || m < old)
        {
            est.RttUs8 = m;
            return;
        }
        if (winDep || _rcv.Unread > 0) return;
        est.RttUs8 = old - (old >> 3) + sampleUs;
    }

    /// <summary>
    /// Models tcp_rcv_space_adjust() of Linux 6.16–6.18 — net/ipv4/tcp_input.c, which
    /// tcp_recvmsg_locked() calls after each skb's bytes are copied, <paramref name="inq"/> (rcv_nxt − copied_seq)
    /// still queued: tcp_mstamp_refresh() first, then once per receiver RTT (rcv_rtt_est.rtt_us / 8 since
    /// rcvq_space.time), the bytes read since the last measure less what is still queued; if more than
    /// rcvq_space.space, tcp_rcvbuf_grow() makes that the space and grows sk_rcvbuf (<see cref="RcvbufGrow"/>).
    /// A new measure starts at copied_seq and now. The read is the clock: 6.18.44 still calls tcp_mstamp_refresh()
    /// here (6.19's "tcp: remove one ktime_get() from recvmsg() fast path" drops it for the last cached stamp).
    /// Observed on Linux 6.18.44 over lo: 100000 bytes queued by 50 ms (rcv_rtt 20 ms), read as 500 at 70 ms, 10000 at
    /// 80 ms and the rest at 100 ms: the last read grows (SO_RCVBUF 420704; the tcp_rcvbuf_grow tracepoint's time is the
    /// gap to the first read), reads closer than the RTT do not (scenarios/loopback-reads-an-rtt-apart-grow-rcvbuf.json). A FIN received and not yet passed is in rcv_nxt − copied_seq
    /// (copied_seq passes it at found_fin_ok, after the skb's bytes): observed on Linux 6.18.44, a read of 95232 bytes
    /// ending at the FIN grew from 190463 (SO_RCVBUF 1864112), where the same bytes without a FIN grew from 190464
    /// (scenarios/loopback-read-merges-the-cut-pieces-with-the-fin.json).
    /// </summary>
    void RcvSpaceAdjust(long inq)
    {
        MstampRefresh(); // tcp_mstamp_refresh(): the read is the clock
        long rttUs8 = RcvRttUs8;
        if (rttUs8 == 0) return;
        long time = (_mstamp - _rcvq.Time).Ns / 1000;
        if (time < rttUs8 >> 3) return;
        if (SockDone && !FinCopied) inq++;
        long copied = (_data?.Copied ?? 0) - _rcvq.Copied - inq;
        if (copied > _rcvq.Space) RcvbufGrow(copied);
        _rcvq.Copied = _data?.Copied ?? 0;
        _rcvq.Time = _mstamp;
    }

    /// <summary>
    /// Models tcp_rcvbuf_grow(sk, newval) of Linux 6.18.44 — net/ipv4/tcp_input.c, with "tcp: fix too slow
    /// tcp_rcvbuf_grow() action": rcvq_space.space becomes <paramref name="newval"/>; with tcp_moderate_rcvbuf and no
    /// SO_RCVBUF lock, rcvwin = 2 · newval ("DRS is always one RTT late"), plus twice rcvwin · (newval − oldval) /
    /// oldval ("slow start: allow the sender to double its rate"; u32 rcvwin, u64 grow), plus the out-of-order span;
    /// sk_rcvbuf grows to tcp_space_from_win(rcvwin), at most tcp_rmem[2], window_clamp following. The out-of-order
    /// path passes the unchanged space (no grow term). Observed on Linux 6.18.44 over lo: a read of 95232 bytes after
    /// a space of 65483 (scaling_ratio 252) gives SO_RCVBUF 369290 = (190464 + 2 · 86528) · 256 / 252, where 6.16's
    /// 2 · space alone gave 193487. The linux-4.4 profile keeps 2 · space (4.4's own rule is not modelled).
    /// </summary>
    void RcvbufGrow(long newval)
    {
        long oldval = _rcvq.Space;
        _rcvq.Space = newval;
        if (!Host.Sysctls.TcpModerateRcvbuf || RcvBufSet > 0) return;
        uint rcvwin = (uint)newval << 1;
        if (_sim.Profile != KernelProfile.Linux44 && oldval > 0)
        {
            ulong grow = (ulong)rcvwin * (uint)(newval - oldval) / (uint)oldval;
            rcvwin += (uint)(grow << 1);
        }
        if (Ofo.Count > 0) rcvwin += Ofo[^1].End - _rcv.Nxt;
        long rcvbuf = Math.Min(SpaceFromWin(rcvwin), Host.Sysctls.TcpRmem[2]);
        if (rcvbuf > _rcvBuf)
        {
            _rcvBuf = (int)rcvbuf; // ≤ tcp_rmem[2], an int
            _rcv.WindowClamp = (uint)WinFromSpace(rcvbuf);
        }
    }

    /// <summary>
    /// Queues in-order payload (tcp_queue_rcv()): coalesced into the unread tail skb when it can take another
    /// fragment (tcp_try_coalesce(), which counts TCPRcvCoalesce), else a new skb; a FIN without payload is its own
    /// skb only on an empty queue.
    /// </summary>
    void QueueRcv(long payload, bool fin, uint end, LoSkb skb)
    {
        var q = DataToWrite.RcvQueue ??= _sim.FreeQueues.ReceiveQueue(SmallQueueCapacity);
        if (payload == 0)
        {
            if (!fin) return;
            if (q.Count > 0)
            {
                // tcp_try_coalesce(): a bare FIN merges into the unread tail — skb_try_coalesce() copies its 0 bytes into
                // the tail room — unless the tail is a clone (lo: skb_cloned(to)). Observed on Linux 6.18.44:
                // TCPRcvCoalesce 1 for a FIN after unread data (close-wait-close-with-unread-data-sends-rst.pkt).
                if (!TailShared(q[^1])) Host.Count(MibCounter.TcpExtTCPRcvCoalesce);
                CollectionsMarshal.AsSpan(q)[^1].Fin = true;
                return;
            }
            q.Add(new RcvSkb(0, RcvTruesize(0, skb)) { Fin = true });
            DataToWrite.RcvQueueTruesize += RcvTruesize(0, skb);
            return;
        }
        int charge = TailCoalesceCharge(q, payload, skb);
        if (charge >= 0)
        {
            ref var tail = ref CollectionsMarshal.AsSpan(q)[^1];
            tail.Left += payload;
            tail.Truesize += charge;
            if (ViaLoopback) tail.Frags++;
            else if (payload <= tail.TailRoom) tail.TailRoom -= (int)payload;
            else
            {
                tail.Frags += skb.Frags;
                tail.TailRoom = 0; // skb_tailroom(): 0 once the skb is nonlinear
            }
            tail.Fin = fin;
            DataToWrite.RcvQueueTruesize += charge;
            Host.Count(MibCounter.TcpExtTCPRcvCoalesce);
            return;
        }
        q.Add(new RcvSkb(payload, RcvTruesize(payload, skb), end) { Fin = fin, Own = skb.Own, TailRoom = ViaLoopback ? 0 : skb.TailRoom, Frags = ViaLoopback ? 0 : skb.Frags });
        DataToWrite.RcvQueueTruesize += RcvTruesize(payload, skb);
    }

    /// <summary>
    /// A read of <paramref name="n"/> bytes (already taken off <c>_rcv.Unread</c>), skb by skb as tcp_recvmsg_locked()
    /// copies them: after each skb's bytes, tcp_rcv_space_adjust() with what is still queued; every skb the read
    /// empties is freed (tcp_eat_recv_skb()); a FIN skb goes when the read reaches it.
    /// </summary>
    void ConsumeRcv(long n, bool eatFin)
    {
        var q = _data?.RcvQueue;
        if (q is null || q.Count == 0)
        {
            DataToWrite.Copied += n;
            if (n > 0) RcvSpaceAdjust(_rcv.Unread);
            return;
        }
        while (q.Count > 0)
        {
            ref var head = ref CollectionsMarshal.AsSpan(q)[0];
            long take = Math.Min(n, head.Left);
            head.Left -= take;
            n -= take;
            if (take > 0)
            {
                DataToWrite.Copied += take;
                RcvSpaceAdjust(_rcv.Unread + n);
            }
            if (head.Left > 0 || head.Fin && !eatFin) break;
            DataToWrite.RcvQueueTruesize -= head.Truesize;
            q.RemoveAt(0);
        }
        DataToWrite.Copied += n; // nothing is read past the queue's skbs; kept exact should they ever disagree
        SyncRmemCharge(); // sock_rfree() of each skb eaten: sk_mem_uncharge()
    }

    void ClearRcvQueue()
    {
        _data?.RcvQueue?.Clear();
        Data(nonZero: false)?.RcvQueueTruesize = 0;
        SyncRmemCharge();
    }
}
