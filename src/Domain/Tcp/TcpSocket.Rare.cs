using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// What a socket holds only once something rare happened to it: it listened, set an uncommon option (SO_SNDBUF,
/// SO_RCVBUF, SO_LINGER, a keepalive, a timeout, bind() to an address), blocked in send(), recv() or close(), took an
/// error, lost or retransmitted a segment, answered an out-of-window segment, tagged SACK blocks, compressed ACKs or
/// counted its data in a ledger. In the kernel these are fields of struct sock (sk_err, sk_timer, sk_userlocks'
/// buffer sizes, sk_disconnects, sk_wq's sleepers), inet_sock (inet_rcv_saddr), inet_connection_sock
/// (icsk_accept_queue) and tcp_sock (last_oow_ack_time, recv_sack_cache, compressed_ack, total_retrans);
/// here they live in a <see cref="Rare"/> made by the first write of a value other than the default (0, null), so a
/// connection that is only opened and held — a pool, a proxy's idle backends — carries one null reference for all of
/// them: a reader takes the default from an absent one (<c>_rare?.SoftError</c>), a writer of a value that may be the
/// default writes through a property that makes nothing for it. The object stays with the socket object across slab
/// reuse (<see cref="Init"/> resets it), so a churn of connections that block in recv() makes one per socket object,
/// not one per connection (as <see cref="DataPath"/>).
/// </summary>
public sealed partial class TcpSocket
{
    Rare? _rare;

    /// <summary>The rare state, made if absent (something other than a default is written).</summary>
    Rare RareToWrite => _rare ??= new Rare();

    /// <summary>Whether the rare state was made (tests: a connection only opened and held makes none).</summary>
    internal bool HasRareState => _rare is not null;

    /// <summary>sk->sk_err: a pending error reported once by the next call (null: none).</summary>
    string? SoftError
    {
        get => _rare?.SoftError;
        set { if (value is not null || _rare is not null) RareToWrite.SoftError = value; }
    }

    /// <summary>A send() asleep for memory or a connection (sk_stream_wait_memory(), sk_stream_wait_connect()).</summary>
    PendingCall? PendingSend
    {
        get => _rare?.PendingSend;
        set { if (value is not null || _rare is not null) RareToWrite.PendingSend = value; }
    }

    /// <summary>
    /// send() calls of other threads asleep beside <see cref="PendingSend"/>: sk_stream_wait_memory() and
    /// sk_stream_wait_connect() release the socket lock while they sleep, so another thread's tcp_sendmsg_locked() runs and
    /// sleeps too. The kernel wakes them all (sk_stream_write_space(), sk_state_change()) from the wait queue's head, the
    /// newest first (<see cref="QueueSender"/>, <see cref="NextSender"/>).
    /// </summary>
    List<PendingCall>? OtherSends
    {
        get => _rare?.OtherSends;
        set { if (value is not null || _rare is not null) RareToWrite.OtherSends = value; }
    }

    /// <summary>
    /// The head of the recv() calls asleep in sk_wait_data(), linked through <see cref="PendingCall.NextSleepingReader"/>
    /// in the order of the socket's wait queue: sk_wait_data() → add_wait_queue() puts a (non-exclusive) sleeper at the
    /// head, and __wake_up_common() wakes them all from the head.
    /// </summary>
    PendingCall? SleepingReaders
    {
        get => _rare?.SleepingReaders;
        set { if (value is not null || _rare is not null) RareToWrite.SleepingReaders = value; }
    }

    bool HasSleepingReader => _rare?.SleepingReaders is not null;

    /// <summary>sk_wait_data()'s add_wait_queue(): the reader sleeps at the head of the wait queue.</summary>
    void AddSleepingReader(PendingCall call)
    {
        call.NextSleepingReader = SleepingReaders;
        SleepingReaders = call;
    }

    /// <summary>remove_wait_queue() of a reader that leaves its sleep (its timeo ran out, a signal).</summary>
    void RemoveSleepingReader(PendingCall call)
    {
        if (_rare is not { } rare) return;
        if (rare.SleepingReaders == call)
        {
            rare.SleepingReaders = call.NextSleepingReader;
            call.NextSleepingReader = null;
            return;
        }
        for (var prev = rare.SleepingReaders; prev is not null; prev = prev.NextSleepingReader)
        {
            if (prev.NextSleepingReader != call) continue;
            prev.NextSleepingReader = call.NextSleepingReader;
            call.NextSleepingReader = null;
            return;
        }
    }

    /// <summary>A close() asleep in sk_lingertime's wait (tcp_close() with SO_LINGER on).</summary>
    PendingCall? PendingClose
    {
        get => _rare?.PendingClose;
        set { if (value is not null || _rare is not null) RareToWrite.PendingClose = value; }
    }

    /// <summary>The SO_SNDBUF value set (0: none; SOCK_SNDBUF_LOCK while set).</summary>
    int SndBufSet
    {
        get => _rare?.SndBufSet ?? 0;
        set { if (value != 0 || _rare is not null) RareToWrite.SndBufSet = value; }
    }

    /// <summary>The SO_RCVBUF value set (0: none; SOCK_RCVBUF_LOCK while set).</summary>
    int RcvBufSet
    {
        get => _rare?.RcvBufSet ?? 0;
        set { if (value != 0 || _rare is not null) RareToWrite.RcvBufSet = value; }
    }

    /// <summary>
    /// sk->sk_disconnects: bumped by connect(AF_UNSPEC) and by a failed connect()'s sock_error path before they call
    /// tcp_disconnect(). A call asleep meanwhile (sk_wait_event(), inet_wait_for_connect()) wakes to -EPIPE.
    /// An int, as the kernel's.
    /// </summary>
    int Disconnects => _rare?.Disconnects ?? 0;

    /// <summary>The address bind() gave (INADDR_ANY unless bound to a specific one); SOCK_BINDADDR_LOCK when specific.</summary>
    IPv4 BindAddress
    {
        get => _rare?.BindAddress ?? IPv4.Any;
        set { if (value != IPv4.Any || _rare is not null) RareToWrite.BindAddress = value; }
    }

    /// <summary>tp->rx_opt.num_sacks: how many of <see cref="Rare.SelectiveAcks"/> are in use (0 until out-of-order data arrives).</summary>
    int NumSacks
    {
        get => _rare?.NumSacks ?? 0;
        set { if (value != 0 || _rare is not null) RareToWrite.NumSacks = value; }
    }

    /// <summary>tp->out_of_order_queue as a reader sees it: an empty one (<see cref="NoOfo"/>) while there is no rare state.</summary>
    ref readonly OfoQueue Ofo => ref _rare is { } rare ? ref rare.Ofo : ref NoOfo;
    /// <summary>tp->out_of_order_queue to add to.</summary>
    ref OfoQueue OfoToWrite => ref RareToWrite.Ofo;
    /// <summary>An empty out-of-order queue (never written).</summary>
    static readonly OfoQueue NoOfo;

    sealed class Rare
    {
        /// <summary>tp->out_of_order_queue: segments received beyond rcv_nxt (its list made by the first one).</summary>
        public OfoQueue Ofo;
        /// <summary>tp->selective_acks[TCP_NUM_SACKS]: the SACK blocks to report, most recent first (made by the first out-of-order segment).</summary>
        public SackBlock[]? SelectiveAcks;
        /// <summary>tp->rx_opt.num_sacks.</summary>
        public int NumSacks;
        /// <summary>tp->rcv_ooopack: packets tcp_data_queue_ofo() took into the out-of-order queue (tcpi_rcv_ooopack).</summary>
        public int RcvOoopack;
        /// <summary>tp->duplicate_sack[0]: the D-SACK block to report (RFC 2883), sent before the SACK blocks while rx_opt.dsack is set.</summary>
        public SackBlock DuplicateSack;
        /// <summary>The accept queue, backlog and SYN-queue state: a listener's only (made by listen()).</summary>
        public ListenerQueues? Listen;
        /// <summary>The bytes sent, queued, delivered and lost (made by the first look or count).</summary>
        public DataLedger? Ledger;
        /// <summary>tp->compressed_ack, compressed_ack_rcv_nxt, dup_ack_counter and compressed_ack_timer (SACK compression).</summary>
        public SackCompression? CompAck;
        /// <summary>tp->total_retrans, bytes_retrans and 6.7's RTO statistics.</summary>
        public RetransStats? RetransStats;
        /// <summary>The options most sockets never set (<see cref="RareOptions"/>).</summary>
        public RareOptions? Options;
        /// <summary>tp->recv_sack_cache.</summary>
        public SackBlock[]? RecvSackCache;
        /// <summary>sk->sk_err.</summary>
        public string? SoftError;
        /// <summary>The keepalive timer (also FIN-WAIT-2's, as sk_timer is).</summary>
        public SimTimer? KeepaliveTimer;
        /// <summary>Blocked send() and close() calls (a connect() is the socket's own: every client makes one).</summary>
        public PendingCall? PendingSend, PendingClose;
        /// <summary>Further send() calls asleep behind <see cref="PendingSend"/>, newest first (other threads).</summary>
        public List<PendingCall>? OtherSends;
        /// <summary>The first recv() asleep in sk_wait_data() (<see cref="TcpSocket.SleepingReaders"/>).</summary>
        public PendingCall? SleepingReaders;
        /// <summary>SO_SNDBUF / SO_RCVBUF as set (0: not set).</summary>
        public int SndBufSet, RcvBufSet;
        /// <summary>sk->sk_disconnects.</summary>
        public int Disconnects;
        /// <summary>tp->last_oow_ack_time: the one rate limit of dup-ACKs to invalid segments and of challenge ACKs.</summary>
        public OowRateLimit OowAck;
        /// <summary>inet_rcv_saddr as bind() set it.</summary>
        public IPv4 BindAddress;

        /// <summary>
        /// A new socket's values (sk_alloc()'s zeroed object), for an object taken again from the free list. The ledger is
        /// kept, zeroed: only an unreachable socket is reused, and nothing else holds its ledger at level counters; the
        /// keepalive timer object is kept too (a churn's FIN-WAIT-2 arms it once per connection).
        /// </summary>
        public void Reset()
        {
            Ofo = default;
            SelectiveAcks = null;
            NumSacks = RcvOoopack = 0;
            DuplicateSack = default;
            Listen = null;
            Ledger?.Clear();
            CompAck = null;
            RetransStats = null;
            Options = null;
            RecvSackCache = null;
            SoftError = null;
            // KeepaliveTimer is kept: TcpSocket.Init() attaches it to the socket again as a new timer (SimTimer.Reuse()).
            PendingSend = SleepingReaders = PendingClose = null;
            OtherSends = null;
            SndBufSet = RcvBufSet = Disconnects = 0;
            OowAck = default;
            BindAddress = IPv4.Any;
        }
    }
}
