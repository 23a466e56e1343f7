namespace SimService.Domain.Tcp;

// The rarely used parts of a socket, each made on first use so that a socket that never needs one carries
// only a null reference (most sockets never set an option, never listen). Grouped as the kernel groups them.

/// <summary>
/// SO_LINGER and TCP_LINGER2: sock_flag(SOCK_LINGER) and sk->sk_lingertime (struct sock), tp->linger2
/// (struct tcp_sock). Made by the first setsockopt() of either; absent means the defaults (no linger,
/// linger2 0 = tcp_fin_timeout).
/// </summary>
internal sealed class LingerSettings
{
    /// <summary>SOCK_LINGER.</summary>
    public bool On;
    /// <summary>sk_lingertime in jiffies (MAX_SCHEDULE_TIMEOUT: no limit); kept when l_onoff 0 clears SOCK_LINGER.</summary>
    public long Jiffies;
    /// <summary>tp->linger2 in seconds: 0 = use tcp_fin_timeout, -1 = RST instead of FIN_WAIT2.</summary>
    public int Linger2;

    /// <summary>sk_clone_lock() copies them into an accepted child.</summary>
    public LingerSettings Clone() => new() { On = On, Jiffies = Jiffies, Linger2 = Linger2 };
}

/// <summary>
/// SO_KEEPALIVE, TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT and TCP_USER_TIMEOUT: sock_flag(SOCK_KEEPOPEN),
/// tp->keepalive_time/keepalive_intvl/keepalive_probes (0 = the sysctl, keepalive_time_when() and friends)
/// and icsk->icsk_user_timeout. Made by the first setsockopt() of one; absent means all zero.
/// </summary>
internal sealed class KeepaliveSettings
{
    /// <summary>SOCK_KEEPOPEN.</summary>
    public bool On;
    public int IdleSec, IntvlSec, Probes;
    /// <summary>icsk_user_timeout in milliseconds (0: none).</summary>
    public int UserTimeoutMs;

    public KeepaliveSettings Clone() => (KeepaliveSettings)MemberwiseClone();
}

/// <summary>
/// SO_SNDTIMEO / SO_RCVTIMEO: sk->sk_sndtimeo and sk->sk_rcvtimeo in jiffies. Made by the first setsockopt()
/// of either; absent means sock_init_data()'s MAX_SCHEDULE_TIMEOUT for both.
/// </summary>
internal sealed class SockTimeouts
{
    public long Snd = TcpSocket.MaxScheduleTimeout;
    public long Rcv = TcpSocket.MaxScheduleTimeout;

    public SockTimeouts Clone() => (SockTimeouts)MemberwiseClone();
}

/// <summary>
/// What only a listener has: icsk_accept_queue (struct request_sock_queue — the established children not yet
/// accepted, qlen, synflood_warned), sk_max_ack_backlog, the stamp of its last SYN-queue overflow, and the
/// accept() calls asleep on it. Made by listen() (or the first look at a queue).
/// </summary>
internal sealed class ListenerQueues
{
    /// <summary>rskq_accept_head…tail: established children not yet accepted, oldest first.</summary>
    public readonly Queue<TcpSocket> Accept = new();
    /// <summary>accept() calls asleep on the listener, oldest first.</summary>
    public readonly Queue<PendingCall> Waiters = new();
    /// <summary>sk_max_ack_backlog: min(backlog, somaxconn).</summary>
    public int Backlog;
    /// <summary>inet_csk_reqsk_queue_len(): this listener's request sockets (SYN-RECV) in the established hash.</summary>
    public int Qlen;
    /// <summary>queue->young: requests whose timer has not fired yet (reqsk_queue_added() / the first timeout / reqsk_queue_removed()).</summary>
    public int Young;
    /// <summary>rx_opt.ts_recent_stamp, which a listener uses as the u32 jiffies of its last SYN-queue overflow (tcp_synq_overflow()).</summary>
    public uint SynqOverflowStamp;
    /// <summary>icsk_accept_queue.synflood_warned: the "Possible SYN flooding" line is logged once per listener.</summary>
    public bool SynfloodWarned;
    /// <summary>
    /// sk->sk_reuseport_cb: the SO_REUSEPORT group the listener joined at listen(); kept after close() or shutdown() when
    /// net.ipv4.tcp_migrate_req was on then (the group's closed section), so its children and requests can move on.
    /// </summary>
    public ReuseportGroup? Reuseport;
}

/// <summary>
/// struct sock_reuseport — net/core/sock_reuseport.c: the listeners sharing one address and port by SO_REUSEPORT.
/// <see cref="Listening"/> is socks[0, num_socks) in listen() order.
/// </summary>
internal sealed class ReuseportGroup
{
    public readonly List<TcpSocket> Listening = [];
    /// <summary>
    /// reuse->synq_overflow_ts: the u32 jiffies of the group's last SYN-queue overflow, which tcp_synq_overflow() and
    /// tcp_synq_no_recent_overflow() use in place of a member's own stamp (linux-6), so any listener of the group
    /// validates a cookie another one sent, also after that one closed.
    /// </summary>
    public uint SynqOverflowStamp;
}

/// <summary>
/// What the receive queues keep of a received lo skb besides its sequence: its truesize less its payload — the head it
/// came in (<c>TcpSocket.LoopbackSkbOverhead</c>), or what a tcp_add_backlog() merge left — and whether it is an skb of its own
/// (a software GSO piece, a backlog merge) rather than the clone of an skb its sender keeps until an ACK covers it,
/// which skb_try_coalesce() refuses to add to (skb_cloned()). A segment off a link keeps the default: the NIC model's
/// truesize depends on its length alone (<c>TcpSocket.NicRcvTruesize</c>). What skb_try_coalesce() reads of it when
/// tcp_data_queue_ofo() merges a later segment into it (<c>TcpSocket.OfoTryCoalesce</c>): the room left in its head
/// (skb_tailroom()), its page fragments (nr_frags), and the payload bytes in its head (skb_headlen(), once a backlog
/// merge copied some into its tail room: a kmalloc'd head skb_head_is_locked(), which no merge may steal).
/// </summary>
internal readonly record struct LoSkb(int Overhead, bool Own, int TailRoom = 0, int Frags = 0, int HeadLen = 0);

/// <summary>
/// tp->out_of_order_queue, kept sorted by sequence (tcp_data_queue_ofo()): its list is made by the first
/// out-of-order segment — most connections never see one — so an empty queue is one null reference. Each skb keeps
/// the lo skb it arrived in (<see cref="LoSkb"/>), which it still is when tcp_ofo_queue() moves it to the receive queue.
/// </summary>
internal struct OfoQueue
{
    List<(uint Seq, uint End, bool Fin, LoSkb Skb)>? _items;

    public readonly int Count => _items?.Count ?? 0;

    public (uint Seq, uint End, bool Fin, LoSkb Skb) this[int index]
    {
        readonly get => _items![index];
        set => _items![index] = value;
    }

    public void Add((uint Seq, uint End, bool Fin, LoSkb Skb) skb) => (_items ??= []).Add(skb);

    public void Insert(int index, (uint Seq, uint End, bool Fin, LoSkb Skb) skb) => (_items ??= []).Insert(index, skb);

    public readonly void RemoveAt(int index) => _items!.RemoveAt(index);

    public readonly int FindLastIndex(Predicate<(uint Seq, uint End, bool Fin, LoSkb Skb)> match) => _items?.FindLastIndex(match) ?? -1;

    public readonly void Clear() => _items?.Clear();
}

/// <summary>
/// The retransmission statistics of tcp_info: tp->total_retrans and bytes_retrans (__tcp_retransmit_skb()), and 6.7's
/// RTO statistics — tp->total_rto, total_rto_recoveries, total_rto_time and rto_stamp (tcp_update_rto_stats(),
/// tcp_update_rto_time()). Made by the first retransmission or RTO (or a child's request that had some); absent
/// means all zero, which is what a connection that never lost a segment reports.
/// </summary>
internal sealed class RetransStats
{
    public int TotalRetrans;
    public long BytesRetrans;
    public int TotalRto;
    public int TotalRtoRecoveries;
    /// <summary>Milliseconds of finished RTO recoveries.</summary>
    public uint TotalRtoTimeMs;
    /// <summary>tcp_clock_ms() when the current RTO recovery began; 0: none.</summary>
    public uint RtoStampMs;
    /// <summary>tp->timeout_rehash: timeouts that picked a new tx hash (tcp_write_timeout(), TcpTimeoutRehash).</summary>
    public int TimeoutRehash;
}

/// <summary>
/// Socket options most sockets never set: SO_RCVLOWAT (sk->sk_rcvlowat), TCP_NOTSENT_LOWAT (tp->notsent_lowat),
/// TCP_SYNCNT (icsk->icsk_syn_retries), TCP_MAXSEG (tp->rx_opt.user_mss), TCP_DEFER_ACCEPT (the accept queue's
/// rskq_defer_accept) and IP_LOCAL_PORT_RANGE (inet->local_port_range), and the groups of them made on first use
/// (<see cref="LingerSettings"/>, <see cref="KeepaliveSettings"/>, <see cref="SockTimeouts"/>): one reference in the
/// socket for all of them. Made by the first setsockopt() of one; absent means the defaults (sk_rcvlowat 1, the
/// others 0, no group).
/// </summary>
internal sealed class RareOptions
{
    /// <summary>sk->sk_rcvlowat: sock_init_data() sets 1; never 0.</summary>
    public int RcvLowat = 1;
    /// <summary>tp->notsent_lowat: 0 until TCP_NOTSENT_LOWAT sets it (then tcp_notsent_lowat() reads the sysctl).</summary>
    public uint NotsentLowat;
    /// <summary>icsk->icsk_syn_retries: 0 uses the sysctls.</summary>
    public int SynRetries;
    /// <summary>tp->rx_opt.user_mss (0: none).</summary>
    public int UserMss;
    /// <summary>rskq_defer_accept as a count of SYN-ACK retransmissions (0: off).</summary>
    public int DeferAcceptRetrans;
    /// <summary>inet->local_port_range: lo | hi &lt;&lt; 16 (0: not set).</summary>
    public uint LocalPortRange;
    /// <summary>SO_LINGER and TCP_LINGER2 (null: the defaults).</summary>
    public LingerSettings? Linger;
    /// <summary>SO_KEEPALIVE, TCP_KEEP* and TCP_USER_TIMEOUT (null: all zero).</summary>
    public KeepaliveSettings? Keepalive;
    /// <summary>SO_SNDTIMEO / SO_RCVTIMEO (null: MAX_SCHEDULE_TIMEOUT both).</summary>
    public SockTimeouts? Timeouts;

    /// <summary>
    /// What an accepted child copies from its listener (<c>TcpSocket.InheritOptions</c>): sk_rcvlowat, notsent_lowat,
    /// icsk_syn_retries, user_mss and a copy of each group; null when those are all defaults.
    /// </summary>
    public RareOptions? CloneForChild()
    {
        if (RcvLowat == 1 && NotsentLowat == 0 && SynRetries == 0 && UserMss == 0 && Linger is null && Keepalive is null && Timeouts is null)
            return null;
        return new()
        {
            RcvLowat = RcvLowat, NotsentLowat = NotsentLowat, SynRetries = SynRetries, UserMss = UserMss,
            Linger = Linger?.Clone(), Keepalive = Keepalive?.Clone(), Timeouts = Timeouts?.Clone(),
        };
    }
}
