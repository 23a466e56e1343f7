using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// A full TCP socket (struct tcp_sock): protocol state, options, sequence space, RTO estimator
/// and timers. One class; each input (a call, a segment, a timer) has its own method that
/// switches on the state and cites the kernel function it models. Only <see cref="TransitionTo"/>
/// assigns <see cref="State"/>.
/// </summary>
public sealed partial class TcpSocket : ITimerOwner, IBindOwner
{
    /// <summary>The simulation (sock_net(sk)): the host's, not a field of every socket.</summary>
    Simulation _sim => Host.Sim;
    /// <summary>icsk_retransmit_timer: the one xmit timer (retransmit, loss probe, reorder, persist), a field of the socket.</summary>
    TimerState _xmitTimer;
    /// <summary>The keys of the embedded timers' queue items (<see cref="ITimerOwner.TimerFor"/>).</summary>
    static readonly object XmitTimerKey = new(), DelackTimerKey = new(), CompressedAckTimerKey = new();
    /// <summary>The keepalive timer (also FIN-WAIT-2's, as sk_timer is): made on first use — most sockets never arm it (<see cref="Rare"/>).</summary>
    SimTimer KeepaliveTimer => RareToWrite.KeepaliveTimer ??= new SimTimer(this, KeepaliveTimerKind);
    /// <summary>The keepalive timer's <see cref="SimTimer.Kind"/>.</summary>
    const int KeepaliveTimerKind = 2;
    // The socket's enums are kept in a byte each, as the kernel keeps sk_state and icsk_pending in a u8.
    byte _xmitPending, _lastStateBeforeClose, _state, _caOps;
    /// <summary>icsk_pending: what the xmit timer is armed for.</summary>
    TcpTimerKind XmitPending { get => (TcpTimerKind)_xmitPending; set => _xmitPending = checked((byte)value); }
    /// <summary>The state a socket left for CLOSE (what a destroyed socket's record shows).</summary>
    TcpState LastStateBeforeClose { get => (TcpState)_lastStateBeforeClose; set => _lastStateBeforeClose = checked((byte)value); }

    internal TcpSocket(Host host, int id)
    {
        Host = host;
        Init(id); // TcpSocket.Slab.cs: sk_alloc()'s zeroed object and tcp_init_sock()
    }

    /// <summary>tcp_min_rtt() — include/net/tcp.h: minmax_get(&amp;tp->rtt_min), <see cref="long.MaxValue"/> while it is ~0U (no sample).</summary>
    long MinRttUs => _rtt.RttMin.Get == uint.MaxValue ? long.MaxValue : _rtt.RttMin.Get;

    public Host Host { get; }
    public int Id { get; private set; }
    /// <summary>
    /// The socket's slot in its host's set of allocated sockets (<see cref="Host.Free"/>): the 4 bytes tp->window_clamp left
    /// when it moved into <see cref="ReceiveSequence"/>'s padding, so the socket stays 648 bytes.
    /// </summary>
    internal int HostSlot;
    int IBindOwner.BindHash => Id;
    /// <summary>sk->sk_state.</summary>
    public TcpState State { get => (TcpState)_state; private set => _state = checked((byte)value); }
    public Endpoint Local { get; internal set; }
    public Endpoint Remote { get; private set; }
    public FourTuple Tuple => new(Local, Remote);
    /// <summary>The bytes sent, queued, delivered and lost: made by the first look or count, so a connection that moves no data holds none.</summary>
    public DataLedger Ledger => RareToWrite.Ledger ??= new DataLedger();

    /// <summary>The descriptor number in its owner process (0 when none).</summary>
    public int Fd { get; internal set; }
    /// <summary>
    /// The socket file's reference count (struct file f_count) held by descriptors: dup() adds one, close()
    /// of a descriptor drops one, and only the last drop reaches __fput() → sock_close() → tcp_close().
    /// </summary>
    public int FileRefs { get; internal set; }
    /// <summary>
    /// References held by blocked calls (fdget() in a multi-threaded process: __fget_light() takes a reference when
    /// the file table is shared, and fdput() drops it when the call returns; a sleeping poll() holds one too). The
    /// socket's own, not <see cref="Rare"/>'s: every blocked connect() takes one.
    /// </summary>
    internal int CallRefs { get; set; }

    /// <summary>The process whose file holds the socket (sk->sk_socket); null once tcp_close() orphans it (after any linger wait).</summary>
    public SimProcess? Owner { get; internal set; }
    public bool IsOrphan => Dead && State != TcpState.Close;

    /// <summary>The peer socket's id when both ends are simulated Linux sockets (for the data ledger).</summary>
    public int PeerSocketId { get; internal set; }

    // ---- options (setsockopt) -------------------------------------------------------------
    /// <summary>SO_LINGER and TCP_LINGER2, made by the first setsockopt() of either (null: the defaults).</summary>
    LingerSettings? LingerSet => _rare?.Options?.Linger;
    LingerSettings Linger => RareOptionsToWrite.Linger ??= new();
    public bool LingerOn => LingerSet?.On ?? false;
    /// <summary>
    /// l_linger as sk_getsockopt(SO_LINGER) reads it back: sk_lingertime / HZ stored in an int — its low 32 bits, so
    /// the saturated MAX_SCHEDULE_TIMEOUT reads as −1752346657.
    /// </summary>
    public int LingerSec => unchecked((int)(LingerJiffies / Jiffies.Hz));
    /// <summary>sk->sk_lingertime in jiffies (<see cref="MaxScheduleTimeout"/>: no limit).</summary>
    long LingerJiffies => LingerSet?.Jiffies ?? 0;
    /// <summary>tp->linger2 in seconds: 0 = use tcp_fin_timeout, -1 = RST instead of FIN_WAIT2.</summary>
    public int Linger2 => LingerSet?.Linger2 ?? 0;
    /// <summary>SO_KEEPALIVE, TCP_KEEP* and TCP_USER_TIMEOUT, made by the first setsockopt() of one (null: all zero).</summary>
    KeepaliveSettings? KeepaliveSet => _rare?.Options?.Keepalive;
    KeepaliveSettings Keepalive => RareOptionsToWrite.Keepalive ??= new();
    public bool KeepOpen => KeepaliveSet?.On ?? false;
    public int UserTimeoutMs => KeepaliveSet?.UserTimeoutMs ?? 0;
    /// <summary>
    /// struct socket's state (include/uapi/linux/net.h socket_state), distinct from sk_state: what
    /// __inet_stream_connect(), inet_listen() and inet_shutdown() switch on. SS_UNCONNECTED after socket().
    /// </summary>
    SocketState _sockState;

    /// <summary>sk->sk_disconnects++ before sk_prot->disconnect() (af_inet.c, 6.6+); linux-4.4 has no such count.</summary>
    void CountDisconnect()
    {
        if (_sim.Profile != KernelProfile.Linux44) RareToWrite.Disconnects++;
    }

    // ---- shutdown flags, errors -------------------------------------------------------------

    // ---- listener ---------------------------------------------------------------------------
    public bool IsListener => State == TcpState.Listen;
    internal TcpSocket? Parent;
    /// <summary>The accept queue, backlog and SYN-queue state: a listener's only (made by listen()).</summary>
    ListenerQueues ListenState => RareToWrite.Listen ??= new();
    /// <summary>Established children not yet accepted, oldest first.</summary>
    internal Queue<TcpSocket> AcceptQueue => ListenState.Accept;
    /// <summary>How many children wait in the accept queue (0 for a socket that never listened).</summary>
    internal int AcceptQueueCount => _rare?.Listen?.Accept.Count ?? 0;
    /// <summary>inet_csk_reqsk_queue_len(): this listener's request sockets (SYN-RECV) in the established hash.</summary>
    internal int ReqskQueueLen
    {
        get => _rare?.Listen?.Qlen ?? 0;
        set => ListenState.Qlen = value;
    }
    /// <summary>reqsk_queue_len_young(): this listener's requests whose SYN-ACK timer has not fired yet.</summary>
    internal int ReqskQueueYoung
    {
        get => _rare?.Listen?.Young ?? 0;
        set => ListenState.Young = value;
    }
    /// <summary>sk->sk_reuseport_cb: the listener's SO_REUSEPORT group (<see cref="ListenerQueues.Reuseport"/>).</summary>
    internal ReuseportGroup? Reuseport
    {
        get => _rare?.Listen?.Reuseport;
        set => ListenState.Reuseport = value;
    }
    /// <summary>sk_max_ack_backlog.</summary>
    internal int Backlog => _rare?.Listen?.Backlog ?? 0;

    // ---- protocol state, grouped as the kernel groups it (TcpSocket.State.cs) ------------------
    /// <summary>tp->snd_una … write_seq, the peer's window, the queued FIN, lsndtime.</summary>
    SendSequence _snd;
    /// <summary>tp->rcv_nxt, rcv_wup, rcv_wnd, rcv_ssthresh and what is unread.</summary>
    ReceiveSequence _rcv;
    /// <summary>tp->rx_opt: negotiated options and the PAWS timestamp state.</summary>
    ReceivedOptions _rxOpt;
    /// <summary>tcp_rtt_estimator() state and the minimum RTT.</summary>
    RttEstimator _rtt;
    /// <summary>icsk_rto, icsk_backoff, icsk_retransmits, icsk_probes_out.</summary>
    ConnectionTimers _icsk;
    /// <summary>snd_cwnd, snd_ssthresh, the Loss/Recovery states and the TLP.</summary>
    CongestionState _ca;
    /// <summary>Whether the loss-recovery scoreboard was made (tests: a connection that lost nothing makes none).</summary>
    internal bool HasLossScoreboard => _ca.HasScoreboard;
    /// <summary>The congestion and loss-recovery state (tests).</summary>
    internal CongestionState Ca => _ca;
    /// <summary>Whether icsk's back-off and probe counts were made (tests: a connection that never timed out or probed makes none).</summary>
    internal bool HasRetransmitCounts => _icsk.HasCounts;
    /// <summary>Whether RACK's reordering-window adaptation was made (tests).</summary>
    internal bool HasRackReoWnd => _rack.HasReo;
    /// <summary>tp->rack.</summary>
    RackState _rack; // tcp_init_sock(): tp->rack.reo_wnd_steps = 1 — RackState.ReoWndSteps reads 1 until it is changed

    /// <summary>The connection's ISS; after tcp_disconnect() snd_una, the base from which bytes_acked counts 0.</summary>
    public uint Iss => _snd.Iss;
    public uint SndUna => _snd.Una;
    public uint SndNxt => _snd.Nxt;
    public uint WriteSeq => _snd.WriteSeq;
    public uint Irs => _rcv.Irs;
    public uint RcvNxt => _rcv.Nxt;
    /// <summary>Payload bytes received in order and not yet read by the application.</summary>
    public long Unread => _rcv.Unread;

    /// <summary>tp->mss_cache: the current MSS for sending.</summary>
    int _mss;
    /// <summary>sk_sndbuf while SO_SNDBUF has not locked it: tcp_wmem[1], then tcp_sndbuf_expand(). An int, as the kernel's (tcp_wmem's values are ints).</summary>
    int _sndBuf;
    /// <summary>
    /// The retransmission queue (tcp_rtx_queue): what was sent and not yet acknowledged, with transmit times. While it is
    /// empty this is the simulation's one empty list (<see cref="FreeQueues.NoRtx"/>, never written): a list of the
    /// socket's own is taken when an entry is queued (<see cref="RtxToFill"/>) and given back when the queue empties
    /// (<see cref="RtxEmptied"/>), so an idle connection holds no queue storage, as an empty rtx rb-tree holds no skb.
    /// </summary>
    List<InFlight> _rtx;
    /// <summary>
    /// The first capacity of the retransmission, send and receive queues' lists: one. In a request/response
    /// connection each mostly holds one entry at a time (the SYN, the data, the FIN, each acknowledged or read
    /// before the next: W1 allocates 177 B less per lifecycle than with two), and a held idle connection keeps
    /// its lists' arrays; a queue that needs more grows as any list does (1, 2, 4 …).
    /// </summary>
    const int SmallQueueCapacity = 1;
    /// <summary>tp->tsoffset: this connection's TSval offset.</summary>
    uint _tsOffset;
    /// <summary>
    /// tp->total_retrans, bytes_retrans and 6.7's RTO statistics (<see cref="UpdateRtoStats"/>, <see cref="UpdateRtoTime"/>):
    /// made by the first retransmission or RTO (in <see cref="Rare"/>), so a connection that never lost a segment has none.
    /// </summary>
    RetransStats RetransStatsToWrite => RareToWrite.RetransStats ??= new RetransStats();
    int TotalRetrans => _rare?.RetransStats?.TotalRetrans ?? 0;
    /// <summary>tp->retrans_stamp (null: none).</summary>
    SimTime? RetransStamp
    {
        get => _retransStampNs1 == 0 ? null : new SimTime(_retransStampNs1 - 1);
        set => _retransStampNs1 = value is { } t ? t.Ns + 1 : 0;
    }
    /// <summary><see cref="RetransStamp"/> in nanoseconds plus one, 0 for none: 8 bytes where a <c>SimTime?</c> takes 16.</summary>
    long _retransStampNs1;
    /// <summary>tp->delivered: segments delivered to the peer, cumulatively acknowledged or SACKed (tcp_count_delivered()).</summary>
    long _delivered;
    SimTime _lastAckRecv;
    /// <summary>
    /// icsk_ack.lrcvtime: the jiffy (since boot) in-order data was last received (tcp_event_data_recv()); the ATO and ping-pong
    /// tests use it. Kept beside icsk_ack (<see cref="DataPath.Ack"/>): the handshake sets it.
    /// </summary>
    long _lrcvTime;
    /// <summary>icsk_ack.rcv_mss: the guess of the peer's MSS (tcp_initialize_rcv_mss(), tcp_measure_rcv_mss()); beside icsk_ack too, as connect() sets it.</summary>
    int _rcvMss;
    /// <summary>tcp_info's segment counts: tp->segs_out (__tcp_transmit_skb()) and tp->segs_in (tcp_segs_in()), u32 in tcp_sock
    /// (the data-segment and byte counts are in <see cref="DataPath"/>).</summary>
    uint _segsOut, _segsIn;

    // ---- blocked calls (send, recv and close in TcpSocket.Rare.cs) --------------------------------
    /// <summary>A connect() asleep in inet_wait_for_connect(): every client's first call, so the socket's own.</summary>
    PendingCall? _pendingConnect;
    /// <summary>
    /// Further connect() calls asleep in inet_wait_for_connect() beside <see cref="_pendingConnect"/> (other threads that
    /// called connect() while SS_CONNECTING), in the order they came; rare, so made on first use.
    /// </summary>
    List<PendingCall>? _otherConnects;
    /// <summary>This socket's woken tasks queued to run at this instant (<see cref="Simulation.WakeTask"/>).</summary>
    WokenTasks _woken;

    /// <summary>
    /// One segment of the retransmission queue with its skb sacked bits: <see cref="Retransmitted"/> is
    /// TCPCB_EVER_RETRANS (Karn: no RTT sample), <see cref="RetransOut"/> TCPCB_SACKED_RETRANS (a retransmission
    /// in flight: tp->retrans_out), <see cref="Lost"/> TCPCB_LOST, <see cref="Sacked"/> TCPCB_SACKED_ACKED. The Tx* fields
    /// are TCP_SKB_CB(skb)->tx as tcp_rate_skb_sent() records it at each transmission (<see cref="RateSkbSent"/>).
    /// <see cref="TsortedPos"/> is the skb's place in tp->tsorted_sent_queue: each (re)transmission moves it to the tail.
    /// <see cref="SentEpoch"/> is the clock read (tcp_mstamp_refresh(), <see cref="MstampRefresh"/>) whose time stamped it:
    /// <see cref="RackSentAfter"/> orders two skbs of one virtual microsecond by it before their end_seq.
    /// Auto layout: the runtime puts the six one-byte fields together after the longs, not padded one by one between
    /// them; nothing reads the struct's bytes.
    /// </summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
    internal readonly record struct InFlight(uint Seq, uint End, SimTime SentAt, bool Retransmitted, TcpFlags Flags, bool Sacked = false,
        bool RetransOut = false, bool Lost = false, long TxDelivered = 0, long TxFirstTxUs = 0, long TxDeliveredUs = 0,
        bool TxAppLimited = false, long TsortedPos = 0, long SentEpoch = 0);

    // ---- derived views ------------------------------------------------------------------------

    /// <summary>
    /// Models tcp_receive_window() — include/net/tcp.h: what is left of the window last advertised,
    /// rcv_wup + rcv_wnd − rcv_nxt, never negative.
    /// </summary>
    uint ReceiveWindow() => (uint)Math.Max(0, (int)(_rcv.Wup + _rcv.Wnd - _rcv.Nxt));

    /// <summary>
    /// The 3.5·RTO floor of tcp_fin_time() and tcp_time_wait() — include/net/tcp.h, net/ipv4/tcp_minisocks.c:
    /// <c>(icsk_rto &lt;&lt; 2) - (icsk_rto &gt;&gt; 1)</c>.
    /// </summary>
    SimDuration ThreeAndAHalfRto => new(_icsk.Rto.Ns * 4 - _icsk.Rto.Ns / 2);

    /// <summary>Whether `ss` shows this socket: listeners and sockets in the established hash.</summary>
    public bool IsHashed => State == TcpState.Listen || Host.Established.TryGetValue(Tuple, out var s) && ReferenceEquals(s, this);

    /// <summary>Send-Q: write_seq − snd_una (includes a queued FIN); for a listener the backlog.</summary>
    public long SendQueue => State == TcpState.Listen ? Backlog : (long)(_snd.WriteSeq - _snd.Una);

    /// <summary>
    /// Recv-Q: rcv_nxt − copied_seq — the FIN's byte counts until a read passes it (tcp_recvmsg_locked);
    /// for a listener the accept queue length.
    /// </summary>
    public long RecvQueue => State == TcpState.Listen ? AcceptQueueCount : _rcv.Unread + (SockDone && !FinCopied && State != TcpState.Close ? 1 : 0);

    public SimDuration Rto => _icsk.Rto;
    public int Retransmits => _icsk.Retransmits;
    public int ProbesOut => _icsk.ProbesOut;

    /// <summary>The `ss -o` timer of this socket: name and expiry, or null for none.</summary>
    public (string Name, SimTime Expires, int Count)? SsTimer
    {
        get
        {
            if (_xmitTimer.Armed)
            {
                return XmitPending == TcpTimerKind.Persist
                    ? ("persist", _xmitTimer.Expires, _icsk.ProbesOut)
                    : ("on", _xmitTimer.Expires, _icsk.Retransmits);
            }
            if (_rare?.KeepaliveTimer is { Armed: true } keepalive) return ("keepalive", keepalive.Expires, _icsk.ProbesOut);
            return null;
        }
    }

    /// <summary>/proc/net/tcp "tr" code: 0 none, 1 retransmit/TLP, 2 keepalive (sk_timer), 4 zero-window probe.</summary>
    public int ProcTimerCode => _xmitTimer.Armed ? (XmitPending == TcpTimerKind.Persist ? 4 : 1) : _rare?.KeepaliveTimer is { Armed: true } ? 2 : 0;

    bool IsSynchronized => State is not (TcpState.Close or TcpState.Listen or TcpState.SynSent or TcpState.SynRecv or TcpState.NewSynRecv);

    /// <summary>Packets in flight (tp->packets_out).</summary>
    int PacketsOut => _rtx.Count;

    /// <summary>The retransmission queue to append to: the socket's own list, taken from the free lists if it had none.</summary>
    List<InFlight> RtxToFill() => _rtx != _sim.FreeQueues.NoRtx ? _rtx : _rtx = _sim.FreeQueues.RtxQueue(SmallQueueCapacity);

    /// <summary>The retransmission queue is empty: its list goes back to the free lists.</summary>
    void RtxEmptied()
    {
        _sim.FreeQueues.Give(_rtx);
        _rtx = _sim.FreeQueues.NoRtx;
    }

    /// <summary>
    /// mss_cache as tcp_sync_mss() leaves it: the MSS less the timestamp option, bounded by tcp_bound_to_half_wnd() —
    /// half the largest window the peer offered once that is above TCP_MSS_DEFAULT, never under 68 − tcp_header_len.
    /// tcp_ack_update_window() re-syncs whenever max_window grows, so the bound follows max_window. It matters where
    /// the route's MSS is large: observed on Linux 6.18.44 on loopback (advmss 65483), mss 32741 after a SYN-ACK
    /// window of 65483, 35840 once the peer offered 71680. With MTU probing enabled, at most <see cref="MtupMss"/>.
    /// </summary>
    int PayloadMss => Math.Min(BoundToHalfWindow(_mss - (_rxOpt.TsOk ? TcpConstants.TimestampOptionBytes : 0)), MtupMss);

    /// <summary>
    /// Models tcp_current_mss() — net/ipv4/tcp_output.c: mss_cache sized for tp->tcp_header_len (the TCP header and the
    /// timestamp option), less the header-length delta of the options the next segment carries beyond those —
    /// tcp_established_options() with no skb: the SACK blocks queued (rx_opt.num_sacks) and a pending D-SACK
    /// (rx_opt.dsack), 4 + 8 bytes a block. With MSS 536 and one SACK block queued a full segment is 524 bytes.
    /// Used where the kernel calls tcp_current_mss(): tcp_send_mss() (size_goal), __tcp_push_pending_frames() /
    /// tcp_write_xmit(), tcp_write_wakeup(), tcp_send_loss_probe() and __tcp_retransmit_skb(); the rest of the stack
    /// (pacing, tcp_tso_should_defer()'s windows, reordering) reads mss_cache (<see cref="PayloadMss"/>).
    /// </summary>
    int CurrentMss => PayloadMss - PendingSackOptionBytes;

    /// <summary>Models tcp_bound_to_half_wnd() — include/net/tcp.h.</summary>
    int BoundToHalfWindow(int pktsize)
    {
        long cutoff = _snd.MaxWindow > TcpConstants.MssDefault ? _snd.MaxWindow >> 1 : _snd.MaxWindow;
        return cutoff != 0 && pktsize > cutoff
            ? (int)Math.Max(cutoff, 68 - (20 + (_rxOpt.TsOk ? TcpConstants.TimestampOptionBytes : 0)))
            : pktsize;
    }

    /// <summary>ipv4_default_advmss() of the route to the peer: 65495 through lo, 1460 over a link.</summary>
    int RouteAdvmss => Host.RouteAdvmss(Remote.Address);


    /// <summary>
    /// Models tcp_set_state() — net/ipv4/tcp.c: the one writer of the state. Leaving
    /// ESTABLISHED or CLOSE_WAIT for CLOSE counts EstabResets; CLOSE unhashes the socket and
    /// releases an automatically bound port.
    /// </summary>
    void TransitionTo(TcpState next, string cause)
    {
        var old = State;
        if (old == next) return;
        State = next;
        Host.StateMoved(old, next);
        if (next == TcpState.Close) LastStateBeforeClose = old;
        if (next == TcpState.Close)
        {
            if (old is TcpState.Established or TcpState.CloseWait) Host.Count(MibCounter.TcpEstabResets);
            Unhash();
            if (BoundPort && !UserBoundPort) ReleasePort();
        }
        if (_sim.Journals(JournalLevel.States)) _sim.Record(JournalLevel.States, new StateChanged(_sim.Now, _sim.JournalSeq, Host.Name, Id, old, next, cause));
    }

    void Unhash()
    {
        // One probe: the slot that holds the tuple, looked at and emptied (a lookup and then a removal probed twice).
        if (Host.Established.SlotOf(Tuple) is >= 0 and var slot && ReferenceEquals(Host.Established.ValueAt(slot), this))
        {
            Host.Established.RemoveSlot(slot);
            Host.ConnectHeld(this, held: false);
        }
        Host.RemoveListener(this);
    }

    /// <summary>__inet_put_port(): leaves the port's bucket; SOCK_CONNECT_BIND goes with it.</summary>
    void ReleasePort()
    {
        Host.ConnectHeld(this, held: false);
        ConnectBind = false;
        Host.RemoveBindOwner(Local.Port, this);
        BoundPort = false;
    }

    // ---- timers ------------------------------------------------------------------------------

    void ArmTimer(SimTimer timer, TcpTimerKind kind, SimDuration timeout) =>
        _sim.ArmTimer(timer, Host, Id, kind, Jiffies.Expiry(_sim.Now, timeout));

    void CancelTimer(SimTimer timer) => _sim.CancelTimer(timer, Host, Id);

    /// <summary>inet_csk_reset_xmit_timer(): the one xmit timer, with what it is pending for.</summary>
    void ResetXmitTimer(TcpTimerKind what, SimDuration timeout)
    {
        XmitPending = what;
        _sim.ArmTimer(ref _xmitTimer, this, XmitTimerKey, Host, Id, what, Jiffies.Expiry(_sim.Now, SimDuration.Min(timeout, RtoMax)));
    }

    /// <summary>
    /// Models inet_csk_clear_xmit_timer() — include/net/inet_connection_sock.h: icsk_pending = 0. Built without
    /// INET_CSK_CLEAR_TIMERS it calls no sk_stop_timer(): the timer_list stays queued, holding the reference
    /// sk_reset_timer() took, until it runs and finds nothing pending (tcp_write_timer_handler()).
    /// </summary>
    void ClearXmitTimer()
    {
        if (_xmitTimer.Armed) _xmitTimerListUntil = _xmitTimer.FiresAt;
        _sim.CancelTimer(ref _xmitTimer, this, XmitTimerKey, Host, Id);
    }

    /// <summary>
    /// When the kernel's timer_list of a cleared xmit / delayed-ACK timer runs and drops its socket reference
    /// (inet_csk_clear_xmit_timer() leaves it queued); /proc/net/tcp's refcount counts it until then.
    /// </summary>
    SimTime _xmitTimerListUntil;

    /// <summary>sk_reset_timer(icsk_delack_timer).</summary>
    void ArmDelackTimer(SimDuration timeout) =>
        _sim.ArmTimer(ref DataToWrite.DelackTimer, this, DelackTimerKey, Host, Id, TcpTimerKind.DelayedAck, Jiffies.Expiry(_sim.Now, timeout));

    /// <summary>inet_csk_clear_xmit_timer(ICSK_TIME_DACK): icsk_ack.pending = 0; the timer_list stays queued (no sk_stop_timer()).</summary>
    void CancelDelackTimer()
    {
        if (_data is not { } data) return; // never armed
        if (data.DelackTimer.Armed) data.DelackTimerListUntil = data.DelackTimer.FiresAt;
        _sim.CancelTimer(ref data.DelackTimer, this, DelackTimerKey, Host, Id);
    }

    /// <summary>hrtimer_start_range_ns(&amp;tp->compressed_ack_timer, delay, slack, HRTIMER_MODE_REL_PINNED_SOFT).</summary>
    void ArmCompressedAckTimer(SimDuration delay, SimDuration slack) =>
        _sim.ArmHrtimer(ref _rare!.CompAck!.Timer, this, CompressedAckTimerKey, Host, Id, TcpTimerKind.CompressedAck, delay, slack);

    /// <summary>hrtimer_try_to_cancel(&amp;tp->compressed_ack_timer).</summary>
    void CancelCompressedAckTimer()
    {
        if (_rare?.CompAck is { } comp) _sim.CancelTimer(ref comp.Timer, this, CompressedAckTimerKey, Host, Id);
    }

    /// <summary>tp->compressed_ack: ACKs held back by SACK compression (0 until it first holds one).</summary>
    int CompressedAcks => _rare?.CompAck?.Count ?? 0;

    /// <summary>Whether the SACK-compression state was made (tests: only out-of-order data makes it).</summary>
    internal bool HasSackCompressionState => _rare?.CompAck is not null;

    ref TimerState ITimerOwner.TimerFor(object? key) => ref TimerFor(key);

    /// <summary>The embedded timer named by <paramref name="key"/> (<see cref="Simulation"/>'s step asks directly, not through the interface).</summary>
    internal ref TimerState TimerFor(object? key)
    {
        if (ReferenceEquals(key, XmitTimerKey)) return ref _xmitTimer;
        if (ReferenceEquals(key, DelackTimerKey)) return ref _data!.DelackTimer;
        if (ReferenceEquals(key, CompressedAckTimerKey)) return ref _rare!.CompAck!.Timer;
        throw new InvalidOperationException("not a timer of this socket");
    }

    /// <summary>tcp_clear_xmit_timers() + the keepalive/linger timers: the one place every timer stops.</summary>
    void CancelAllTimers()
    {
        ClearXmitTimer();
        CancelDelackTimer();
        // inet_csk_clear_xmit_timers(): sk_stop_timer() on both, so no queued timer_list is left holding a reference.
        _xmitTimerListUntil = SimTime.Zero;
        Data(nonZero: false)?.DelackTimerListUntil = SimTime.Zero;
        CancelCompressedAckTimer(); // tcp_clear_xmit_timers(): hrtimer_try_to_cancel(&tp->compressed_ack_timer)
        if (_rare?.KeepaliveTimer is { } keepalive) CancelTimer(keepalive); // inet_csk_clear_xmit_timers(): sk_stop_timer(sk, &sk->sk_timer)
        if (_data is { } data) data.Ack.Scheduled = false; // icsk_ack.pending = 0: nothing is pending without a data path
    }

    /// <summary>tcp_rto_max() — include/net/tcp.h: the socket's icsk_rto_max.</summary>
    internal SimDuration RtoMax => _icsk.RtoMax;
    /// <summary>tcp_rto_min() — include/net/tcp.h: the socket's icsk_rto_min (no route carries an RTAX_RTO_MIN metric here).</summary>
    SimDuration RtoMinimum => _icsk.RtoMin;

    /// <summary>tcp_rto_min_us() — include/net/tcp.h: jiffies_to_usecs(tcp_rto_min()), so in whole jiffies.</summary>
    long RtoMinUs => _icsk.RtoMin.Ns / 1_000;

    void IEventTarget.OnDue(Simulation sim, object? payload) => OnDue(sim, payload);

    /// <summary>A timer's expiry or a woken task (<see cref="Simulation"/>'s step calls it directly, not through the interface).</summary>
    internal void OnDue(Simulation sim, object? payload)
    {
        if (payload is TaskWake woken)
        {
            TaskWoken(woken.Task);
            return;
        }
        // run_timer_softirq() / the hrtimer softirq: a task the timer wakes runs after it.
        using (sim.EnterSoftirq()) OnTimerDue(payload);
    }

    void OnTimerDue(object? payload)
    {
        if (ReferenceEquals(payload, XmitTimerKey) || ReferenceEquals(payload, DelackTimerKey) || ReferenceEquals(payload, CompressedAckTimerKey))
        {
            if (Destroyed) return; // a destroyed socket's timers hand nothing on (as a detached timer object did)
            if (ReferenceEquals(payload, XmitTimerKey)) OnXmitTimer();
            else if (ReferenceEquals(payload, DelackTimerKey)) OnDelayedAckTimer();
            else OnCompressedAckTimer();
            WakeWriteSpace();
            return;
        }
        if (payload is not SimTimer t) throw new InvalidOperationException("a socket only receives its timers");
        if (ReferenceEquals(t, _rare?.KeepaliveTimer)) OnKeepaliveTimer();
        WakeWriteSpace(); // a wakeup made by the timer's transmissions (tcp_event_new_data_sent() → tcp_check_space())
    }

    /// <summary>Journals the expiry of one of this socket's timers under the name it was armed as.</summary>
    void RecordFired(in TimerState timer) => _sim.TimerFired(Host, Id, timer);

    // ---- RTT estimation -----------------------------------------------------------------------

    /// <summary>Models tcp_rtt_estimator() — net/ipv4/tcp_input.c (Jacobson/Karels with Linux's mdev_max).</summary>
    void RttEstimator(long mrttUs)
    {
        long m = mrttUs;
        long srtt = _rtt.SrttUs;
        long rtoMinUs = RtoMinUs; // tcp_rto_min_us(sk)
        if (srtt != 0)
        {
            m -= srtt >> 3;
            srtt += m;
            if (m < 0)
            {
                m = -m;
                m -= _rtt.MdevUs >> 2;
                if (m > 0) m >>= 3;
            }
            else
            {
                m -= _rtt.MdevUs >> 2;
            }
            _rtt.MdevUs += m;
            if (_rtt.MdevUs > _rtt.MdevMaxUs)
            {
                _rtt.MdevMaxUs = _rtt.MdevUs;
                if (_rtt.MdevMaxUs > _rtt.RttvarUs) _rtt.RttvarUs = _rtt.MdevMaxUs;
            }
            if (SeqMath.After(_snd.Una, _rtt.RttSeq))
            {
                if (_rtt.MdevMaxUs < _rtt.RttvarUs) _rtt.RttvarUs -= (_rtt.RttvarUs - _rtt.MdevMaxUs) >> 2;
                _rtt.RttSeq = _snd.Nxt;
                _rtt.MdevMaxUs = rtoMinUs;
            }
        }
        else
        {
            srtt = m << 3;
            _rtt.MdevUs = m << 1;
            _rtt.RttvarUs = Math.Max(_rtt.MdevUs, rtoMinUs);
            _rtt.MdevMaxUs = _rtt.RttvarUs;
            _rtt.RttSeq = _snd.Nxt;
        }
        _rtt.SrttUs = Math.Max(1, srtt);
        // tcp_set_rto(): tcp_bound_rto(__tcp_set_rto()).
        _icsk.Rto = SimDuration.Min(EstimatedRto, RtoMax);
        _icsk.Backoff = 0;
    }

    /// <summary>__tcp_set_rto() — include/net/tcp.h: srtt/8 + rttvar, rounded up to whole jiffies (usecs_to_jiffies()).</summary>
    SimDuration EstimatedRto => Jiffies.ToDuration(Jiffies.FromDuration(SimDuration.FromMicroseconds((_rtt.SrttUs >> 3) + _rtt.RttvarUs)));
}
