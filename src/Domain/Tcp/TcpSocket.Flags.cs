namespace SimService.Domain.Tcp;

/// <summary>
/// The socket's yes/no state as bits of one word, as the kernel keeps it: sk->sk_flags (SOCK_DEAD, SOCK_DONE, SOCK_NOSPACE …,
/// tested with sock_flag() — include/net/sock.h), sk_shutdown's two bits, sk_reuse/sk_reuseport and sk_userlocks bitfields,
/// inet->bind_address_no_port, icsk_ca_setsockopt:1, tp->is_cwnd_limited:1 — not a byte each. Every held connection has two
/// sockets, so the 23 flags in 4 bytes instead of 23 keep 16 bytes less per socket (the fields' 8-byte-aligned end; docs/benchmarks-history.md,
/// the session-25 note).
/// </summary>
public sealed partial class TcpSocket
{
    [Flags]
    enum SockFlags : uint
    {
        CloseDeferred = 1 << 0,
        Dead = 1 << 1,
        Destroyed = 1 << 2,
        ReuseAddr = 1 << 3,
        ReusePort = 1 << 4,
        ConnectBind = 1 << 5,
        NonBlocking = 1 << 6,
        RcvShutdown = 1 << 7,
        SendShutdown = 1 << 8,
        Done = 1 << 9,
        FinCopied = 1 << 10,
        BoundPort = 1 << 11,
        UserBoundPort = 1 << 12,
        TransferStamped = 1 << 13,
        LrcvStamped = 1 << 14,
        PredOn = 1 << 15,
        FastPathData = 1 << 16,
        MssSynced = 1 << 17,
        BindAddressNoPort = 1 << 18,
        NoSpace = 1 << 19,
        WriteSpaceWake = 1 << 20,
        CaSetsockopt = 1 << 21,
        CwndLimited = 1 << 22,
        MtupEnabled = 1 << 23,
    }

    /// <summary>The flags below; sk_alloc()'s zeroed memory clears them all (<see cref="Init"/>).</summary>
    SockFlags _flags;

    bool Flag(SockFlags f) => (_flags & f) != 0;

    void SetFlag(SockFlags f, bool on) => _flags = on ? _flags | f : _flags & ~f;

    /// <summary>The last descriptor was closed while a blocked call still held the file: tcp_close() waits for its fdput().</summary>
    internal bool CloseDeferred { get => Flag(SockFlags.CloseDeferred); set => SetFlag(SockFlags.CloseDeferred, value); }
    /// <summary>SOCK_DEAD: no descriptor any more; an orphan while not CLOSE.</summary>
    public bool Dead { get => Flag(SockFlags.Dead); private set => SetFlag(SockFlags.Dead, value); }
    /// <summary>Destroyed (inet_csk_destroy_sock) — nothing of it remains in the kernel.</summary>
    public bool Destroyed { get => Flag(SockFlags.Destroyed); private set => SetFlag(SockFlags.Destroyed, value); }
    /// <summary>sk->sk_reuse (SO_REUSEADDR).</summary>
    public bool ReuseAddr { get => Flag(SockFlags.ReuseAddr); internal set => SetFlag(SockFlags.ReuseAddr, value); }
    /// <summary>sk->sk_reuseport (SO_REUSEPORT).</summary>
    public bool ReusePort { get => Flag(SockFlags.ReusePort); internal set => SetFlag(SockFlags.ReusePort, value); }
    /// <summary>SOCK_CONNECT_BIND: the port came from connect()'s ephemeral search (__inet_hash_connect()).</summary>
    public bool ConnectBind { get => Flag(SockFlags.ConnectBind); internal set => SetFlag(SockFlags.ConnectBind, value); }
    /// <summary>O_NONBLOCK on the socket's file (fcntl F_SETFL).</summary>
    public bool NonBlocking { get => Flag(SockFlags.NonBlocking); private set => SetFlag(SockFlags.NonBlocking, value); }
    /// <summary>RCV_SHUTDOWN in sk->sk_shutdown.</summary>
    public bool RcvShutdown { get => Flag(SockFlags.RcvShutdown); private set => SetFlag(SockFlags.RcvShutdown, value); }
    /// <summary>SEND_SHUTDOWN in sk->sk_shutdown.</summary>
    public bool SendShutdown { get => Flag(SockFlags.SendShutdown); private set => SetFlag(SockFlags.SendShutdown, value); }
    /// <summary>SOCK_DONE: the peer's FIN was received.</summary>
    bool SockDone { get => Flag(SockFlags.Done); set => SetFlag(SockFlags.Done, value); }
    /// <summary>copied_seq has passed the FIN: a read reached it (tcp_recvmsg_locked found_fin_ok).</summary>
    bool FinCopied { get => Flag(SockFlags.FinCopied); set => SetFlag(SockFlags.FinCopied, value); }
    /// <summary>The socket holds its port's bind bucket (inet_csk(sk)->icsk_bind_hash is set).</summary>
    internal bool BoundPort { get => Flag(SockFlags.BoundPort); set => SetFlag(SockFlags.BoundPort, value); }
    /// <summary>SOCK_BINDPORT_LOCK: the port came from an explicit bind(), so CLOSE does not release it.</summary>
    bool UserBoundPort { get => Flag(SockFlags.UserBoundPort); set => SetFlag(SockFlags.UserBoundPort, value); }
    /// <summary>
    /// tcp_finish_connect() / tcp_create_openreq_child() (or a simultaneous open's SYN_RECV → ESTABLISHED) has
    /// stamped tp->rcv_tstamp and tp->lsndtime: before, both are still 0 — raw jiffies 0, not the boot time.
    /// </summary>
    bool TransferStamped { get => Flag(SockFlags.TransferStamped); set => SetFlag(SockFlags.TransferStamped, value); }
    /// <summary>icsk_ack.lrcvtime was set (tcp_finish_connect(), tcp_create_openreq_child(), tcp_event_data_recv()).</summary>
    bool LrcvStamped { get => Flag(SockFlags.LrcvStamped); set => SetFlag(SockFlags.LrcvStamped, value); }
    /// <summary>tp->pred_flags != 0: header prediction is on.</summary>
    bool PredOn { get => Flag(SockFlags.PredOn); set => SetFlag(SockFlags.PredOn, value); }
    /// <summary>The segment being handled took the fast path with data: tcp_queue_rcv() without tcp_try_rmem_schedule().</summary>
    bool FastPathData { get => Flag(SockFlags.FastPathData); set => SetFlag(SockFlags.FastPathData, value); }
    /// <summary>tcp_sync_mss() has run (tcp_connect_init(), or a child's creation): mss_cache is the connection's.</summary>
    bool MssSynced { get => Flag(SockFlags.MssSynced); set => SetFlag(SockFlags.MssSynced, value); }
    /// <summary>inet->bind_address_no_port (IP_BIND_ADDRESS_NO_PORT).</summary>
    public bool BindAddressNoPort { get => Flag(SockFlags.BindAddressNoPort); private set => SetFlag(SockFlags.BindAddressNoPort, value); }
    /// <summary>SOCK_NOSPACE: a writer (tcp_sendmsg_locked() or tcp_poll()) found the send buffer full.</summary>
    bool NoSpace { get => Flag(SockFlags.NoSpace); set => SetFlag(SockFlags.NoSpace, value); }
    /// <summary>sk_stream_write_space() woke the socket's sleepers; the writer runs once the softirq is done.</summary>
    bool WriteSpaceWake { get => Flag(SockFlags.WriteSpaceWake); set => SetFlag(SockFlags.WriteSpaceWake, value); }
    /// <summary>icsk_ca_setsockopt: TCP_CONGESTION chose the module, so an accepted child keeps it (tcp_ca_openreq_child()).</summary>
    bool CaSetsockopt { get => Flag(SockFlags.CaSetsockopt); set => SetFlag(SockFlags.CaSetsockopt, value); }
    /// <summary>tp->is_cwnd_limited: the current window was limited by cwnd (tcp_cwnd_validate()).</summary>
    bool CwndLimited { get => Flag(SockFlags.CwndLimited); set => SetFlag(SockFlags.CwndLimited, value); }
    /// <summary>icsk_mtup.enabled: tcp_sync_mss() holds mss_cache to search_low's MSS (<see cref="MtupMss"/>).</summary>
    bool MtupEnabled { get => Flag(SockFlags.MtupEnabled); set => SetFlag(SockFlags.MtupEnabled, value); }
}
