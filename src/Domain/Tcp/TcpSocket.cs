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
public sealed partial class TcpSocket : IEventTarget, IBindOwner
{
    readonly Simulation _sim;
    readonly SimTimer _xmitTimer;
    readonly SimTimer _delackTimer;
    readonly SimTimer _keepaliveTimer;
    readonly SimTimer _lingerTimer;
    TcpTimerKind _xmitPending;
    TcpState _lastStateBeforeClose = TcpState.Close;

    internal TcpSocket(Host host, int id)
    {
        Host = host;
        Id = id;
        _sim = host.Sim;
        _xmitTimer = new SimTimer(this, 0);
        _delackTimer = new SimTimer(this, 1);
        _keepaliveTimer = new SimTimer(this, 2);
        _lingerTimer = new SimTimer(this, 3);
        Local = new Endpoint(host.Address, 0);
        Ledger = new DataLedger();
        _sndBuf = host.Sysctls.TcpWmem[1]; // tcp_init_sock(): sk_sndbuf = tcp_wmem[1]
        _rcvBuf = host.Sysctls.TcpRmem[1]; // tcp_init_sock(): sk_rcvbuf = tcp_rmem[1]
    }

    public Host Host { get; }
    public int Id { get; }
    int IBindOwner.BindHash => Id;
    public TcpState State { get; private set; } = TcpState.Close;
    public Endpoint Local { get; internal set; }
    public Endpoint Remote { get; private set; }
    public FourTuple Tuple => new(Local, Remote);
    public DataLedger Ledger { get; }

    /// <summary>The descriptor number in its owner process (0 when none).</summary>
    public int Fd { get; internal set; }
    /// <summary>
    /// The socket file's reference count (struct file f_count) held by descriptors: dup() adds one, close()
    /// of a descriptor drops one, and only the last drop reaches __fput() → sock_close() → tcp_close().
    /// </summary>
    public int FileRefs { get; internal set; }

    /// <summary>The descriptor's owner; null once the last descriptor is closed.</summary>
    public SimProcess? Owner { get; internal set; }
    /// <summary>SOCK_DEAD: no descriptor any more; an orphan while not CLOSE.</summary>
    public bool Dead { get; private set; }
    public bool IsOrphan => Dead && State != TcpState.Close;
    /// <summary>Destroyed (inet_csk_destroy_sock) — nothing of it remains in the kernel.</summary>
    public bool Destroyed { get; private set; }

    /// <summary>The peer socket's id when both ends are simulated Linux sockets (for the data ledger).</summary>
    public int PeerSocketId { get; internal set; }

    // ---- options (setsockopt) -------------------------------------------------------------
    public bool ReuseAddr { get; internal set; }
    public bool ReusePort { get; internal set; }
    public bool LingerOn { get; private set; }
    public int LingerSec { get; private set; }
    /// <summary>tp->linger2 in seconds: 0 = use tcp_fin_timeout, -1 = RST instead of FIN_WAIT2.</summary>
    public int Linger2 { get; private set; }
    public bool KeepOpen { get; private set; }
    int _keepIdle, _keepIntvl, _keepCnt;
    public int UserTimeoutMs { get; private set; }
    int _sndBufSet, _rcvBufSet;
    /// <summary>O_NONBLOCK on the socket's file (fcntl F_SETFL).</summary>
    public bool NonBlocking { get; private set; }
    /// <summary>sock->state == SS_CONNECTING: a non-blocking connect() returned EINPROGRESS and was not yet collected.</summary>
    bool _connecting;

    // ---- shutdown flags, errors -------------------------------------------------------------
    public bool RcvShutdown { get; private set; }
    public bool SendShutdown { get; private set; }
    /// <summary>SOCK_DONE: the peer's FIN was received.</summary>
    bool _done;
    /// <summary>copied_seq has passed the FIN: a read reached it (tcp_recvmsg_locked found_fin_ok).</summary>
    bool _finCopied;
    /// <summary>sk->sk_err: a pending error reported once by the next call.</summary>
    string? _softError;
    internal bool BoundPort;
    /// <summary>SOCK_BINDPORT_LOCK: the port came from an explicit bind(), so CLOSE does not release it.</summary>
    bool _userBoundPort;

    // ---- listener ---------------------------------------------------------------------------
    public bool IsListener => State == TcpState.Listen;
    internal TcpSocket? Parent;
    Queue<TcpSocket>? _acceptQueue;
    /// <summary>Established children not yet accepted, oldest first (a listener's only; allocated on listen).</summary>
    internal Queue<TcpSocket> AcceptQueue => _acceptQueue ??= new();
    int _backlog;
    Queue<PendingCall>? _pendingAcceptsQueue;
    Queue<PendingCall> _pendingAccepts => _pendingAcceptsQueue ??= new();

    // ---- send sequence space ------------------------------------------------------------------
    public uint Iss { get; private set; }
    public uint SndUna { get; private set; }
    public uint SndNxt { get; private set; }
    public uint WriteSeq { get; private set; }
    uint _sndWnd;
    /// <summary>tp->max_window: the largest window the peer offered (tcp_ack_update_window(), the SYN's, the child's first).</summary>
    uint _maxWindow;
    uint _sndWl1;
    int _sndWscale;
    bool _finQueued;
    uint _finSeq;
    /// <summary>write_seq is already set (non-zero), so tcp_v4_connect() keeps it: a reused TIME-WAIT's, or tcp_disconnect()'s.</summary>
    bool _writeSeqKept;
    int _mss = TcpConstants.EthernetMss;
    int _cwnd = TcpConstants.InitCwnd;
    /// <summary>sk_sndbuf while SO_SNDBUF has not locked it: tcp_wmem[1], then tcp_sndbuf_expand().</summary>
    long _sndBuf;
    /// <summary>tp->rx_opt.mss_clamp: the MSS the peer's SYN offered (TCP_MSS_DEFAULT without the option).</summary>
    int _mssClamp = TcpConstants.MssDefault;
    int _ssthresh = int.MaxValue;
    /// <summary>The retransmission queue: what was sent and not yet acknowledged, with transmit times.</summary>
    readonly List<InFlight> _rtx = [];
    uint _lossHigh;
    /// <summary>In fast recovery (TCP_CA_Recovery) until <see cref="_recoveryHigh"/> is acknowledged.</summary>
    bool _inRecovery;
    uint _recoveryHigh;
    /// <summary>tp->snd_sml: end of the last small segment sent (Minshall's Nagle variant).</summary>
    uint _sndSml;
    bool _inLoss;
    bool _tlpOutstanding;

    // ---- receive sequence space ---------------------------------------------------------------
    public uint Irs { get; private set; }
    public uint RcvNxt { get; private set; }
    uint _rcvWup;
    uint _rcvWnd;
    /// <summary>tp->rcv_ssthresh: the window clamp that tcp_grow_window() raises as in-order data arrives.</summary>
    uint _rcvSsthresh = TcpConstants.MaxTcpWindow;
    int _rcvWscale;
    /// <summary>Payload bytes received in order and not yet read by the application.</summary>
    public long Unread { get; private set; }
    readonly List<(uint Seq, uint End, bool Fin)> _ofo = [];

    // ---- timestamps, SACK -----------------------------------------------------------------
    bool _tsOk;
    bool _sackOk;
    uint _tsOffset;
    uint _tsRecent;
    long _tsRecentStampSec;

    // ---- RTT / RTO (tcp_rtt_estimator, icsk) ------------------------------------------------
    long _srttUs, _mdevUs, _mdevMaxUs, _rttvarUs;
    uint _rttSeq;
    SimDuration _rto = TcpConstants.TimeoutInit;
    int _backoff;
    int _retransmits;
    int _totalRto;
    int _totalRetrans;
    /// <summary>
    /// tp->undo_marker: snd_una when the loss episode began (tcp_init_undo() from tcp_enter_loss()), 0 when
    /// there is nothing to undo. Read by tcp_init_transfer() to tell a handshake whose SYN timed out.
    /// </summary>
    uint _undoMarker;
    SimTime? _retransStamp;
    int _probesOut;
    SimTime _probesStamp;
    bool _probesStampSet;
    SimTime _lastRecv;
    /// <summary>icsk_ack.lrcvtime: when data was last received (ping-pong detection).</summary>
    SimTime _lastDataRecv;
    /// <summary>tp->last_oow_ack_time: the one rate limit of dup-ACKs to invalid segments and of challenge ACKs.</summary>
    SimTime? _lastOowAck;
    /// <summary>tp->tlp_high_seq: snd_nxt when the loss probe went out; no other probe until it is acknowledged.</summary>
    uint _tlpHighSeq;
    SimTime _lastAckRecv;
    /// <summary>tp->lsndtime: when data was last sent (tcp_event_data_sent), set at ESTABLISHED too; feeds tcp_out_of_resources().</summary>
    SimTime _lsndtime;

    // ---- delayed ACK (icsk_ack) --------------------------------------------------------------
    int _quick;
    bool _pingPong;
    SimDuration _ato;
    bool _ackScheduled;

    // ---- blocked calls ------------------------------------------------------------------------
    PendingCall? _pendingConnect;
    PendingCall? _pendingSend;
    PendingCall? _pendingRecv;
    PendingCall? _pendingClose;

    readonly record struct InFlight(uint Seq, uint End, SimTime SentAt, bool Retransmitted, TcpFlags Flags, bool Sacked = false);

    /// <summary>RACK: send time and RTT of the most recently sent segment known delivered (tp->rack.mstamp, rack.rtt_us).</summary>
    SimTime _rackSentAt;
    long _rackRttUs;
    /// <summary>tcp_min_rtt(): the smallest RTT sample (RACK's reordering window is a quarter of it).</summary>
    long _minRttUs = long.MaxValue;
    /// <summary>The start of the latest out-of-order segment received (its SACK block is reported first).</summary>
    uint _lastOfoSeq;

    // ---- derived views ------------------------------------------------------------------------

    /// <summary>Whether `ss` shows this socket: listeners and sockets in the established hash.</summary>
    public bool IsHashed => State == TcpState.Listen || Host.Established.TryGetValue(Tuple, out var s) && ReferenceEquals(s, this);

    /// <summary>Send-Q: write_seq − snd_una (includes a queued FIN); for a listener the backlog.</summary>
    public long SendQueue => State == TcpState.Listen ? _backlog : (long)(WriteSeq - SndUna);

    /// <summary>
    /// Recv-Q: rcv_nxt − copied_seq — the FIN's byte counts until a read passes it (tcp_recvmsg_locked);
    /// for a listener the accept queue length.
    /// </summary>
    public long RecvQueue => State == TcpState.Listen ? _acceptQueue?.Count ?? 0 : Unread + (_done && !_finCopied && State != TcpState.Close ? 1 : 0);

    public SimDuration Rto => _rto;
    public int Retransmits => _retransmits;
    public int ProbesOut => _probesOut;

    /// <summary>The `ss -o` timer of this socket: name and expiry, or null for none.</summary>
    public (string Name, SimTime Expires, int Count)? SsTimer
    {
        get
        {
            if (_xmitTimer.Armed)
            {
                return _xmitPending == TcpTimerKind.Persist
                    ? ("persist", _xmitTimer.Expires, _probesOut)
                    : ("on", _xmitTimer.Expires, _retransmits);
            }
            if (_keepaliveTimer.Armed) return ("keepalive", _keepaliveTimer.Expires, _probesOut);
            return null;
        }
    }

    /// <summary>/proc/net/tcp "tr" code: 0 none, 1 retransmit/TLP, 2 keepalive (sk_timer), 4 zero-window probe.</summary>
    public int ProcTimerCode => _xmitTimer.Armed ? (_xmitPending == TcpTimerKind.Persist ? 4 : 1) : _keepaliveTimer.Armed ? 2 : 0;

    bool IsSynchronized => State is not (TcpState.Close or TcpState.Listen or TcpState.SynSent or TcpState.SynRecv or TcpState.NewSynRecv);

    /// <summary>Packets in flight (tp->packets_out).</summary>
    int PacketsOut => _rtx.Count;

    int PayloadMss => _mss - (_tsOk ? TcpConstants.TimestampOptionBytes : 0);

    /// <summary>Send buffer capacity in payload bytes: sk_sndbuf accounts truesize, about 3/2 of the payload.</summary>
    long SndBufPayload => (_sndBufSet > 0 ? 2L * Math.Min(_sndBufSet, Host.Sysctls.WmemMax) : Host.Sysctls.TcpWmem[2]) * 2 / 3;


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
        if (next == TcpState.Close) _lastStateBeforeClose = old;
        if (next == TcpState.Close)
        {
            if (old is TcpState.Established or TcpState.CloseWait) Host.Count(MibCounter.TcpEstabResets);
            Unhash();
            if (BoundPort && !_userBoundPort) ReleasePort();
        }
        if (_sim.Journals(JournalLevel.States)) _sim.Record(JournalLevel.States, new StateChanged(_sim.Now, _sim.JournalSeq, Host.Name, Id, old, next, cause));
    }

    void Unhash()
    {
        if (Host.Established.TryGetValue(Tuple, out var s) && ReferenceEquals(s, this)) Host.Established.Remove(Tuple);
        Host.RemoveListener(this);
    }

    void ReleasePort()
    {
        Host.RemoveBindOwner(Local.Port, this);
        BoundPort = false;
    }

    // ---- timers ------------------------------------------------------------------------------

    void ArmTimer(SimTimer timer, TcpTimerKind kind, SimDuration timeout) =>
        _sim.ArmTimer(timer, Host, Id, kind, Jiffies.Expiry(_sim.Now, timeout));

    void CancelTimer(SimTimer timer, TcpTimerKind kind) => _sim.CancelTimer(timer, Host, Id, kind);

    /// <summary>inet_csk_reset_xmit_timer(): the one xmit timer, with what it is pending for.</summary>
    void ResetXmitTimer(TcpTimerKind what, SimDuration timeout)
    {
        _xmitPending = what;
        ArmTimer(_xmitTimer, what, SimDuration.Min(timeout, RtoMax));
    }

    void ClearXmitTimer() => CancelTimer(_xmitTimer, _xmitPending);

    /// <summary>tcp_clear_xmit_timers() + the keepalive/linger timers: the one place every timer stops.</summary>
    void CancelAllTimers()
    {
        ClearXmitTimer();
        CancelTimer(_delackTimer, TcpTimerKind.DelayedAck);
        CancelTimer(_keepaliveTimer, State == TcpState.FinWait2 ? TcpTimerKind.FinWait2 : TcpTimerKind.Keepalive);
        _ackScheduled = false;
    }

    SimDuration RtoMax => SimDuration.FromMilliseconds(Host.Sysctls.TcpRtoMaxMs);
    SimDuration RtoMinimum => SimDuration.FromMicroseconds(Host.Sysctls.TcpRtoMinUs);

    void IEventTarget.OnDue(Simulation sim, object? payload)
    {
        if (ReferenceEquals(payload, LingerWake))
        {
            EndLinger();
            return;
        }
        if (payload is not SimTimer t) throw new InvalidOperationException("a socket only receives its timers");
        if (ReferenceEquals(t, _xmitTimer)) OnXmitTimer();
        else if (ReferenceEquals(t, _delackTimer)) OnDelayedAckTimer();
        else if (ReferenceEquals(t, _keepaliveTimer)) OnKeepaliveTimer();
        else if (ReferenceEquals(t, _lingerTimer)) OnLingerTimeout();
    }

    void RecordFired(TcpTimerKind kind) => _sim.TimerFired(Host, Id, kind);

    // ---- RTT estimation -----------------------------------------------------------------------

    /// <summary>Models tcp_rtt_estimator() — net/ipv4/tcp_input.c (Jacobson/Karels with Linux's mdev_max).</summary>
    void RttEstimator(long mrttUs)
    {
        long m = Math.Max(1, mrttUs);
        _minRttUs = Math.Min(_minRttUs, m);
        long srtt = _srttUs;
        long rtoMinUs = Host.Sysctls.TcpRtoMinUs;
        if (srtt != 0)
        {
            m -= srtt >> 3;
            srtt += m;
            if (m < 0)
            {
                m = -m;
                m -= _mdevUs >> 2;
                if (m > 0) m >>= 3;
            }
            else
            {
                m -= _mdevUs >> 2;
            }
            _mdevUs += m;
            if (_mdevUs > _mdevMaxUs)
            {
                _mdevMaxUs = _mdevUs;
                if (_mdevMaxUs > _rttvarUs) _rttvarUs = _mdevMaxUs;
            }
            if (SeqMath.After(SndUna, _rttSeq))
            {
                if (_mdevMaxUs < _rttvarUs) _rttvarUs -= (_rttvarUs - _mdevMaxUs) >> 2;
                _rttSeq = SndNxt;
                _mdevMaxUs = rtoMinUs;
            }
        }
        else
        {
            srtt = m << 3;
            _mdevUs = m << 1;
            _rttvarUs = Math.Max(_mdevUs, rtoMinUs);
            _mdevMaxUs = _rttvarUs;
            _rttSeq = SndNxt;
        }
        _srttUs = Math.Max(1, srtt);
        // tcp_set_rto(): __tcp_set_rto() = srtt/8 + rttvar, in whole jiffies, bounded by rto_max.
        var rto = SimDuration.FromMicroseconds((_srttUs >> 3) + _rttvarUs);
        _rto = SimDuration.Min(Jiffies.ToDuration(Jiffies.FromDuration(rto)), RtoMax);
        _backoff = 0;
    }
}
