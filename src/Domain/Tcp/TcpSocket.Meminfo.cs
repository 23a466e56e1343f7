using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// The socket's memory as sk_get_meminfo() — net/core/sock.c — reports it (getsockopt(SO_MEMINFO), <c>ss -m</c>'s
/// <c>skmem:(r,rb,t,tb,f,w,o,bl,d)</c>), and sk->sk_drops, the one of its fields that only this view shows.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// Models sk_get_meminfo(): sk_rmem_alloc (the receive and out-of-order queues' truesize), sk_rcvbuf,
    /// sk_wmem_alloc_get() (0: the engine's skbs leave the socket's account at the device — lo's loopback_xmit() and the
    /// kernel harness's TUN device's tun_net_xmit() both skb_orphan() them, and the engine holds none in a qdisc),
    /// sk_sndbuf, sk_forward_alloc, sk_wmem_queued, sk_omem_alloc (0: no socket filter, TCP-MD5 key, IP option or
    /// zerocopy notification, the things that charge it), sk_backlog.len (while a call owns the socket and lo segments
    /// wait for it) and sk_drops.
    /// </summary>
    public SkMeminfo Meminfo => new(
        (uint)RmemAlloc, (uint)SkRcvbuf, 0, (uint)SkSndbuf, (uint)(FwdAllocNow + SynSkbForwardAlloc), (uint)(WmemQueued + SynSkbTruesize), 0,
        (uint)_sim.LoBacklogLen(this), _data?.Drops ?? 0);

    /// <summary>
    /// Models the SYN's skb in the retransmission queue: tcp_connect() — net/ipv4/tcp_output.c — allocates it with
    /// tcp_stream_alloc_skb(sk, …, true) (alloc_skb_fclone(MAX_TCP_HEADER): 832 bytes on linux-6, 896 on linux-4.4, and
    /// sk_forced_mem_schedule() of one page), tcp_connect_queue_skb() charges it (sk_wmem_queued_add(), sk_mem_charge())
    /// and tcp_rbtree_insert() queues it. A retransmission sends the same skb, a simultaneous open's tcp_send_synack() the
    /// same with ACK; the SYN-ACK's tcp_ack() → tcp_clean_rtx_queue() frees it (w0, and sk_mem_reclaim() the page: f0),
    /// as tcp_write_queue_purge() does on a reset or timeout (the socket leaves SYN_SENT/SYN_RECV). Until then nothing
    /// else is charged (no data is queued before ESTABLISHED), so the engine reports it as a view of the handshake's
    /// state, with no data path: a connection that never moves data makes none (<see cref="DataPath"/>).
    /// </summary>
    long SynSkbTruesize => State is TcpState.SynSent or TcpState.SynRecv && _snd.Una == _snd.Iss ? SndSkbHeadTruesize : 0;

    /// <summary>The page sk_forced_mem_schedule() scheduled for the SYN's skb, less its charge (<see cref="SynSkbTruesize"/>).</summary>
    long SynSkbForwardAlloc => SynSkbTruesize == 0 ? 0 : (SynSkbTruesize + PageSize - 1) / PageSize * PageSize - SynSkbTruesize;

    /// <summary>
    /// sk_forward_alloc as a reader sees it now: what sk_rmem_alloc moved since the engine last accounted it is charged
    /// (skb_set_owner_r()) or uncharged and reclaimed (sock_rfree() → sk_mem_uncharge() → sk_mem_reclaim()), as
    /// <see cref="SyncRmemCharge"/> will do — without changing the socket.
    /// </summary>
    long FwdAllocNow
    {
        get
        {
            long pending = RmemAlloc - (_data?.RmemCharged ?? 0);
            long fwd = (_data?.FwdAlloc ?? 0) - pending;
            return pending < 0 && fwd >= PageSize ? fwd % PageSize : fwd;
        }
    }

    /// <summary>
    /// Models sk_drops_skbadd() — include/net/sock.h — for <paramref name="seg"/>, dropped where the kernel calls it or
    /// tcp_drop_reason() (net/ipv4/tcp_input.c): sk_drops grows by max(1, gso_segs) of the skb.
    /// </summary>
    internal void SkDropsAdd(Segment seg) => CountDrops(Math.Max(1, seg.GsoSegs));

    /// <summary><see cref="SkDropsAdd"/>, and the segment journaled as ignored (<paramref name="why"/>).</summary>
    internal void Drop(Segment seg, string why)
    {
        SkDropsAdd(seg);
        Ignore(seg, why);
    }

    /// <summary>
    /// sk_drops_add(sk, segs): atomic_add(segs, &amp;sk->sk_drops). linux-4.4's TCP counts none: tcp_drop() and
    /// tcp_listendrop() came in 4.7, and its tcp_v4_rcv() frees a backlog drop without sk_drops_add().
    /// </summary>
    void CountDrops(int segs)
    {
        if (_sim.Profile == KernelProfile.Linux6) DataToWrite.Drops += (uint)segs;
    }

    /// <summary>Models tcp_listendrop() — include/net/tcp.h: sk_drops_inc() on the listener and LINUX_MIB_LISTENDROPS.</summary>
    internal void ListenDrop()
    {
        CountDrops(1);
        Host.Count(MibCounter.TcpExtListenDrops);
    }
}

/// <summary>
/// u32 meminfo[SK_MEMINFO_VARS] as sk_get_meminfo() fills it, in its order: SK_MEMINFO_RMEM_ALLOC, RCVBUF, WMEM_ALLOC,
/// SNDBUF, FWD_ALLOC, WMEM_QUEUED, OPTMEM, BACKLOG, DROPS.
/// </summary>
public readonly record struct SkMeminfo(uint RmemAlloc, uint Rcvbuf, uint WmemAlloc, uint Sndbuf, uint FwdAlloc, uint WmemQueued,
    uint Optmem, uint Backlog, uint Drops)
{
    /// <summary>getsockopt(SO_MEMINFO)'s value: each SK_MEMINFO_ field by its name in lower case.</summary>
    public string Json =>
        $"{{\"rmem_alloc\":{RmemAlloc},\"rcvbuf\":{Rcvbuf},\"wmem_alloc\":{WmemAlloc},\"sndbuf\":{Sndbuf},\"fwd_alloc\":{FwdAlloc}," +
        $"\"wmem_queued\":{WmemQueued},\"optmem\":{Optmem},\"backlog\":{Backlog},\"drops\":{Drops}}}";

    /// <summary>The <paramref name="index"/>th field, in SK_MEMINFO_ order (0 SK_MEMINFO_RMEM_ALLOC … 8 SK_MEMINFO_DROPS).</summary>
    public uint Field(int index) => index switch
    {
        0 => RmemAlloc, 1 => Rcvbuf, 2 => WmemAlloc, 3 => Sndbuf, 4 => FwdAlloc, 5 => WmemQueued, 6 => Optmem, 7 => Backlog,
        _ => Drops,
    };

    /// <summary>iproute2's print_skmeminfo(): <c>skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0)</c>.</summary>
    public string SsText => $"skmem:(r{RmemAlloc},rb{Rcvbuf},t{WmemAlloc},tb{Sndbuf},f{FwdAlloc},w{WmemQueued},o{Optmem},bl{Backlog},d{Drops})";
}
