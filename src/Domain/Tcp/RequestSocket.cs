using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// A request socket (state NEW_SYN_RECV): a half-open passive connection owned by a listener,
/// living in the established hash. Not counted in "inuse"; shown by `ss` as SYN-RECV.
/// </summary>
/// <remarks>It is its own SYN-ACK timer (rsk_timer is a field of struct request_sock), as a TIME-WAIT entry is: one object per request.</remarks>
public sealed class RequestSocket : SimTimer
{
    readonly Simulation _sim;
    SimTime _synAckSentFirst;
    /// <summary>req->num_timeout: the timer's expiries so far (each resends the SYN-ACK unless TCP_DEFER_ACCEPT holds it back).</summary>
    int _retransmits;
    /// <summary>inet_rsk(req)->acked: a bare ACK completed the handshake but was dropped (TCP_DEFER_ACCEPT, or a full accept queue).</summary>
    bool _acked;
    /// <summary>tcp_rsk(req)->last_oow_ack_time: when a duplicate SYN or an out-of-window segment was last answered.</summary>
    OowRateLimit _oowAck;
    /// <summary>tcp_rsk(req)->snt_tsval_first / snt_tsval_last: the TSvals of the first and the latest SYN-ACK.</summary>
    uint? _sntTsvalFirst;
    uint _sntTsvalLast;
    /// <summary>req->num_retrans: any SYN-ACK resent (timer or duplicate SYN) rules out a sequence-based RTT sample.</summary>
    bool _resent;
    SimDuration _timeout;

    /// <param name="cookie">
    /// A SYN cookie's request (req->syncookie): sent once as TCP_SYNACK_COOKIE, never hashed. tcp_conn_request() clears
    /// its ecn_ok when the SYN has no usable timestamp (!tmp_opt.tstamp_ok): only the cookie's TSval could carry ECN back
    /// (cookie_init_timestamp(), cookie_ecn_ok()), so that SYN-ACK is a plain S. and the connection has no ECN.
    /// </param>
    internal RequestSocket(TcpSocket listener, FourTuple tuple, Segment syn, uint iss, bool cookie = false)
        : this(listener, tuple, syn.Seq, iss, syn.Options, windowMss: null, cookie,
            TcpSocket.EcnCreateRequest(listener.Host, syn) && (!cookie || syn.Options.HasTimestamp && listener.Host.Sysctls.TcpTimestamps))
    {
    }

    RequestSocket(TcpSocket listener, FourTuple tuple, uint irs, uint iss, TcpOptions peerOptions, int? windowMss, bool cookie, bool ecnOk)
    {
        Host = listener.Host;
        _sim = Host.Sim;
        Init(listener, tuple, irs, iss, peerOptions, windowMss, cookie, ecnOk);
    }

    /// <summary>
    /// Models inet_reqsk_alloc() — net/ipv4/tcp_input.c: a request from the listener's host's free list (reqsk_free()
    /// gave it back to tcp_request_sock_ops.slab, <see cref="Drop"/>) once the event that freed it has ended, else a
    /// new one; then tcp_openreq_init() and tcp_v4_init_req() (<see cref="Init"/>).
    /// </summary>
    internal static RequestSocket Alloc(TcpSocket listener, FourTuple tuple, Segment syn, uint iss)
    {
        if (listener.Host.TakeFreeRequest() is not { } req) return new RequestSocket(listener, tuple, syn, iss);
        req.Init(listener, tuple, syn.Seq, iss, syn.Options, windowMss: null, cookie: false, TcpSocket.EcnCreateRequest(listener.Host, syn));
        return req;
    }

    /// <summary>Every field as a new request's: the one place they are set, for a new object and a reused one alike.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(Listener))]
    void Init(TcpSocket listener, FourTuple tuple, uint irs, uint iss, TcpOptions peerOptions, int? windowMss, bool cookie, bool ecnOk)
    {
        State.Recycle(); // the generation goes on: no queue item of an earlier life can be current again
        FreedAtEvent = 0;
        _retransmits = 0;
        _acked = false;
        _oowAck = default;
        _sntTsvalFirst = null;
        _sntTsvalLast = 0;
        _resent = false;
        _timeout = TcpConstants.TimeoutInit;
        NumRetrans = 0;
        RttSampleUs = null;
        Listener = listener;
        Tuple = tuple;
        Irs = irs;
        Iss = iss;
        PeerOptions = peerOptions;
        // tcp_conn_request(): tcp_parse_options() with the listener's user_mss, then tcp_openreq_init(): req->mss.
        Mss = peerOptions.Mss > 0 ? listener.ClampToUserMss(peerOptions.Mss) : TcpConstants.MssDefault;
        Cookie = cookie;
        EcnOk = ecnOk;
        // tcp_openreq_init(): req->ts_recent = rx_opt->saw_tstamp ? rcv_tsval : 0 (saw_tstamp needs tcp_timestamps).
        TsRecent = peerOptions.HasTimestamp && listener.Host.Sysctls.TcpTimestamps ? peerOptions.TsVal : 0;
        TsOffset = _sim.Profile == KernelProfile.Linux6
            ? unchecked((uint)KeyedHash.Of(_sim.TsSecret, tuple.Local.Address.Value, tuple.Remote.Address.Value))
            : Host.BootClockOffset;
        // tcp_openreq_init_rwin(): the listener's full space, the advertised MSS less the timestamp
        // option when the peer offered timestamps; scaling only when the peer offered it (wscale_ok).
        // cookie_v4_check() redoes it with req->mss, the MSS the cookie carried.
        bool tstampOk = peerOptions.HasTimestamp && Host.Sysctls.TcpTimestamps;
        bool wscaleOk = peerOptions.WindowScale is not null && Host.Sysctls.TcpWindowScaling;
        var initial = TcpSocket.SelectInitialWindow(Host, listener.RcvSpace,
            windowMss ?? listener.ClampToUserMss(Host.RouteAdvmss(tuple.Remote.Address)) - (tstampOk ? TcpConstants.TimestampOptionBytes : 0), wscaleOk, listener.RcvBufLocked);
        RcvWscale = initial.RcvWscale;
        WscaleOk = wscaleOk;
        RcvWnd = initial.RcvWnd;
        WindowClamp = initial.WindowClamp;
        _synAckSentFirst = _sim.Now;
    }

    /// <summary>The event during which the request was freed: it is not handed out again before that event ends.</summary>
    internal long FreedAtEvent { get; private set; }

    /// <summary>
    /// Models cookie_tcp_reqsk_alloc() and the rest of cookie_v4_check(): the request an ACK returning a valid
    /// cookie stands for — rcv_isn = seq − 1, snt_isn = ack − 1, req->mss from the cookie, window scaling and SACK
    /// from the echoed TSval (none without timestamps), ts_recent the ACK's TSval, num_retrans 0 and no snt_synack,
    /// so the child's RTT comes from the TSecr (tcp_ack_update_rtt() → tcp_rtt_tsopt_us(), at least 1 ms) or, without
    /// timestamps, is not sampled (TCP_TIMEOUT_FALLBACK).
    /// </summary>
    internal static RequestSocket FromCookie(TcpSocket listener, FourTuple tuple, Segment ack, int mss, SynCookies.DecodedOptions options, bool sawTs)
    {
        var peer = new TcpOptions(Mss: (ushort)mss, WindowScale: options.WscaleOk ? (byte)options.SndWscale : null,
            SackPermitted: options.SackOk, HasTimestamp: sawTs, TsVal: sawTs ? ack.Options.TsVal : 0);
        // cookie_ecn_ok(): the echoed TSval's ECN bit, and tcp_ecn not 0.
        bool ecnOk = options.EcnOk && listener.Host.Sysctls.TcpEcn != 0;
        var req = new RequestSocket(listener, tuple, ack.Seq - 1, ack.Ack - 1, peer, windowMss: mss, cookie: true, ecnOk);
        if (sawTs && ack.Options.TsEcr != 0) req.RttSampleUs = req.TsoptRttUs(ack);
        return req;
    }

    /// <summary>tcp_rtt_tsopt_us(tp, 1) for the ACK's TSecr against the clock of this request's TSval; null: no sample.</summary>
    long? TsoptRttUs(Segment ack) => TcpSocket.TsoptRttUs(_sim.Profile, unchecked(TsValNow - ack.Options.TsEcr)) is var us and >= 0 ? us : null;

    public TcpSocket Listener { get; private set; }
    /// <summary>req->syncookie: a cookie's request, never in the established hash.</summary>
    public bool Cookie { get; private set; }
    public Host Host { get; }
    public FourTuple Tuple { get; private set; }
    public uint Irs { get; private set; }
    public uint Iss { get; private set; }
    public TcpOptions PeerOptions { get; private set; }
    /// <summary>
    /// req->mss: the SYN's MSS option (TCP_MSS_DEFAULT without one) lowered to the TCP_MAXSEG of the listener the SYN came
    /// to, as it was then; the child's mss_clamp whichever listener takes it (tcp_create_openreq_child()).
    /// </summary>
    public int Mss { get; private set; }
    public uint TsOffset { get; private set; }
    public int RcvWscale { get; private set; }
    /// <summary>ireq->ecn_ok: the SYN asked for ECN and the listener agreed (tcp_ecn_create_request(); cookie_ecn_ok()).</summary>
    public bool EcnOk { get; private set; }
    /// <summary>tcp_ecn_make_synack(): ECE on the SYN-ACK of a request that agreed to ECN.</summary>
    TcpFlags SynAckFlags => TcpFlags.Syn | TcpFlags.Ack | (EcnOk ? TcpFlags.Ece : TcpFlags.None);
    /// <summary>ireq->wscale_ok: the peer offered window scaling and tcp_window_scaling allows it.</summary>
    public bool WscaleOk { get; private set; }
    /// <summary>req->rsk_rcv_wnd: the window chosen by tcp_openreq_init_rwin().</summary>
    public uint RcvWnd { get; private set; }
    /// <summary>req->rsk_window_clamp: the clamp tcp_select_initial_window() left (65535 &lt;&lt; wscale, or the full space under SO_RCVBUF).</summary>
    public uint WindowClamp { get; private set; }
    /// <summary>req->num_timeout: the SYN-ACK timer's expiries, resending or not (/proc/net/tcp's retrnsmt column).</summary>
    public int NumTimeout => _retransmits;
    /// <summary>treq->snt_synack: when the first SYN-ACK went out (tcp_make_synack() stamps only the first).</summary>
    internal SimTime SynAckSentFirst => _synAckSentFirst;
    /// <summary>req->num_retrans: every SYN-ACK resent (inet_rtx_syn_ack(), by the timer or for a duplicate SYN).</summary>
    public int NumRetrans { get; private set; }
    public SimTime TimerExpires => Expires;
    /// <summary>req->ts_recent: the SYN's TSval (0: none); on linux-4.4 then that of in-window segments.</summary>
    public uint TsRecent { get; private set; }
    /// <summary>ireq->tstamp_ok: the SYN offered timestamps and tcp_timestamps allows them.</summary>
    bool TstampOk => PeerOptions.HasTimestamp && Host.Sysctls.TcpTimestamps;
    /// <summary>An RTT sample from the SYN-ACK when it was not retransmitted (tcp_synack_rtt_meas).</summary>
    public long? RttSampleUs { get; private set; }

    /// <summary>The TSval this request would put on a segment now.</summary>
    uint TsValNow => TcpTimestamp.At(_sim.Profile, _sim.Now, TsOffset);

    /// <summary>
    /// Models tcp_v4_send_synack(): SYN-ACK with our ISN, MSS, SACK-permitted, timestamps and window scale.
    /// <paramref name="sk"/> is the listener it is sent for (default: the request's own) — tcp_check_req() resends a
    /// migrated request's SYN-ACK for the listener reuseport_migrate_sock() picked (inet_rtx_syn_ack(sk, req)), and
    /// tcp_make_synack() clamps the MSS by that listener's TCP_MAXSEG (tcp_mss_clamp(tcp_sk(sk), ...)).
    /// </summary>
    internal void SendSynAck(bool retransmission, TcpSocket? sk = null)
    {
        if (Cookie)
        {
            SendCookieSynAck();
            return;
        }
        bool ts = TstampOk;
        uint tsVal = TsValNow;
        if (ts)
        {
            // tcp_make_synack() (6.14+): the TSvals a valid TSecr may echo (tcp_check_req()'s tsecr_reject).
            _sntTsvalFirst ??= tsVal;
            _sntTsvalLast = tsVal;
        }
        var options = new TcpOptions(
            Mss: (ushort)(sk ?? Listener).ClampToUserMss(Host.RouteAdvmss(Tuple.Remote.Address)), // tcp_make_synack(): tcp_mss_clamp(dst advmss)
            WindowScale: WscaleOk ? (byte)RcvWscale : null,
            SackPermitted: PeerOptions.SackPermitted && Host.Sysctls.TcpSack,
            HasTimestamp: ts, TsVal: ts ? tsVal : 0, TsEcr: ts ? TsRecent : 0);
        // tcp_make_synack(): the SYN-ACK's window field is min(rsk_rcv_wnd, 65535), never scaled.
        Host.Transmit(_sim.NewSegment(Tuple, SynAckFlags, Iss, Irs + 1, (ushort)Math.Min(RcvWnd, TcpConstants.MaxTcpWindow), 0, options),
            retransmission ? "inet_rtx_syn_ack" : "tcp_conn_request");
        if (retransmission)
        {
            // tcp_rtx_synack()
            Host.Count(MibCounter.TcpRetransSegs);
            Host.Count(MibCounter.TcpExtTCPSynRetrans);
            _resent = true;
            NumRetrans++;
        }
        _sim.ArmTimer(this, Host, 0, TcpTimerKind.SynAckRetransmit, Jiffies.Expiry(_sim.Now, _timeout));
    }

    /// <summary>
    /// tcp_make_synack() for TCP_SYNACK_COOKIE: the same options as any SYN-ACK, the ISN the cookie, and with
    /// timestamps a TSval from cookie_init_timestamp() (the peer's wscale, SACK and ECN in its low 6 bits) plus
    /// ts_off. No timer: the request is freed once the SYN-ACK is out.
    /// </summary>
    void SendCookieSynAck()
    {
        bool ts = TstampOk;
        bool sackOk = PeerOptions.SackPermitted && Host.Sysctls.TcpSack;
        uint tsVal = 0;
        if (ts)
        {
            // tcp_ns_to_ts() of now, without ts_off (4.4: the host's own jiffies clock, which TsOffset is there).
            bool linux6 = _sim.Profile == KernelProfile.Linux6;
            uint clock = TcpTimestamp.At(_sim.Profile, _sim.Now, linux6 ? 0 : TsOffset);
            int sndWscale = Math.Min((int)(PeerOptions.WindowScale ?? 0), TcpConstants.MaxWscale);
            tsVal = unchecked(SynCookies.InitTimestamp(clock, WscaleOk, sndWscale, sackOk, EcnOk) + (linux6 ? TsOffset : 0));
        }
        var options = new TcpOptions(
            Mss: (ushort)Listener.ClampToUserMss(Host.RouteAdvmss(Tuple.Remote.Address)), // tcp_make_synack(): tcp_mss_clamp(dst advmss)
            WindowScale: WscaleOk ? (byte)RcvWscale : null,
            SackPermitted: sackOk,
            HasTimestamp: ts, TsVal: tsVal, TsEcr: ts ? TsRecent : 0);
        Host.Transmit(_sim.NewSegment(Tuple, SynAckFlags, Iss, Irs + 1, (ushort)Math.Min(RcvWnd, TcpConstants.MaxTcpWindow), 0, options),
            "tcp_conn_request (TCP_SYNACK_COOKIE)");
    }

    /// <summary>
    /// Models reqsk_timer_handler(): retransmits the SYN-ACK with backoff; drops the request after
    /// <see cref="MaxSynAckRetries"/> expiries (TCP_DEFER_ACCEPT: <see cref="SynAckRecalc"/>). With the listener gone, the
    /// request moves to the listener reuseport_migrate_sock() picks (<see cref="TcpSocket.ReuseportMigrate"/>) and the
    /// round goes on there — TCPMigrateReqSuccess, or TCPMigrateReqFailure when that round expires it — else it is dropped.
    /// </summary>
    protected override void Expired(Simulation sim)
    {
        sim.TimerFired(Host, 0, TcpTimerKind.SynAckRetransmit);
        bool migrated = false;
        if (Listener.State != TcpState.Listen)
        {
            // No listener to migrate to: goto drop, before req->rsk_ops->syn_ack_timeout() — so no TCPTimeouts.
            if (Listener.ReuseportMigrate() is not { } nsk)
            {
                Drop();
                return;
            }
            MoveTo(nsk);
            migrated = true;
        }
        Host.Count(MibCounter.TcpExtTCPTimeouts); // tcp_syn_ack_timeout(), also on the expiring round
        var (expire, resend) = SynAckRecalc(MaxSynAckRetries(), Listener.DeferAcceptRetrans);
        if (expire)
        {
            if (migrated) Host.Count(MibCounter.TcpExtTCPMigrateReqFailure);
            Drop();
            return;
        }
        if (migrated) Host.Count(MibCounter.TcpExtTCPMigrateReqSuccess);
        // if (req->num_timeout++ == 0) atomic_dec(&queue->young), then mod_timer(reqsk_timeout(req, TCP_RTO_MAX)): the
        // doubled timeout, at most TCP_RTO_MAX on 6.18 as on linux-4.4 — the listener's tcp_rto_max_ms is not read (its cap,
        // tcp_reqsk_timeout() with tcp_rto_max(req->rsk_listener), came after 6.18: "tcp: Apply max RTO to non-TFO SYN+ACK").
        if (_retransmits++ == 0) Listener.ReqskQueueYoung--;
        _timeout = SimDuration.Min(_timeout * 2, ReqskTimeoutMax);
        if (resend) SendSynAck(retransmission: true);
        else _sim.ArmTimer(this, Host, 0, TcpTimerKind.SynAckRetransmit, Jiffies.Expiry(_sim.Now, _timeout));
    }

    /// <summary>
    /// reqsk_timer_handler()'s max_syn_ack_retries: the listener's TCP_SYNCNT (icsk_syn_retries), else
    /// tcp_synack_retries — lowered (down to 2) while more than half of max(8, sk_max_ack_backlog) is in
    /// SYN-RECV: "we reserve half of room for young embrions; and abort old ones without pity". Each step down
    /// needs qlen ≥ young &lt;&lt; k (k = 1, 2, …), young being the requests whose timer has not fired yet.
    /// </summary>
    int MaxSynAckRetries()
    {
        int max = Listener.SynAckRetries;
        int qlen = Listener.ReqskQueueLen;
        // (qlen << 1) > max(8U, sk_max_ack_backlog): an unsigned comparison.
        if ((uint)(qlen << 1) > Math.Max(8u, (uint)Listener.Backlog))
        {
            long young = (long)Listener.ReqskQueueYoung << 1;
            while (max > 2)
            {
                if (qlen < young) break;
                max--;
                young <<= 1;
            }
        }
        return max;
    }

    /// <summary>
    /// Models syn_ack_recalc() — net/ipv4/inet_connection_sock.c: without TCP_DEFER_ACCEPT the request expires after
    /// max_syn_ack_retries timeouts and every timeout resends. With it (rskq_defer_accept retransmits), a request
    /// whose bare ACK was dropped (acked) lives until num_timeout reaches both bounds, and its SYN-ACK is resent
    /// only from the last deferring period on ("start to resend on end of deferring period to give last chance
    /// for data or ACK to create established socket").
    /// </summary>
    (bool Expire, bool Resend) SynAckRecalc(int maxSynAckRetries, int deferAccept)
    {
        if (deferAccept == 0) return (_retransmits >= maxSynAckRetries, true);
        bool expire = _retransmits >= maxSynAckRetries && (!_acked || _retransmits >= deferAccept);
        bool resend = !_acked || _retransmits >= deferAccept - 1;
        return (expire, resend);
    }

    /// <summary>
    /// reqsk_timer_handler()'s migration: inet_reqsk_clone() for <paramref name="nsk"/>, reqsk_queue_migrated() on its
    /// queue (qlen, and young while the timer never fired) and reqsk_queue_removed() on the closed listener's; the clone
    /// takes the request's place in the established hash (inet_ehash_insert()), keeping its timer's schedule.
    /// </summary>
    void MoveTo(TcpSocket nsk)
    {
        if (_retransmits == 0)
        {
            Listener.ReqskQueueYoung--;
            nsk.ReqskQueueYoung++;
        }
        Listener.ReqskQueueLen--;
        nsk.ReqskQueueLen++;
        Listener = nsk;
    }

    void Drop()
    {
        _sim.CancelTimer(this, Host, 0); // its queue slot is vacated: nothing pins the request (reqsk_free())
        if (Host.Requests.Remove(Tuple))
        {
            // reqsk_queue_removed(): young too while the request's timer never fired.
            if (_retransmits == 0) Listener.ReqskQueueYoung--;
            Listener.ReqskQueueLen--;
            // reqsk_free(): back to the slab — at level counters, where nothing names a request once it is unhashed.
            if (!_sim.Journals(JournalLevel.States))
            {
                FreedAtEvent = _sim.EventsProcessed;
                Host.FreeRequest(this);
            }
        }
    }

    /// <summary>
    /// Models tcp_check_req() — net/ipv4/tcp_minisocks.c, branch by branch: PAWS (and, 6.14+, a TSecr
    /// outside the SYN-ACKs' TSvals); a retransmitted SYN (same ISN) gets the SYN-ACK again, at most once
    /// per tcp_invalid_ratelimit (tcp_oow_rate_limited(), TCPACKSkippedSynRecv); an ACK of anything
    /// but our ISN + 1 goes to the listener, which answers with a RST; a segment outside the
    /// window gets a rate-limited ACK (tcp_v4_reqsk_send_ack()); an in-window RST or SYN (another
    /// ISN) is an embryonic reset (AttemptFails, EmbryonicRsts; a SYN is answered with a RST) — on linux-6 an RST
    /// only at rcv_nxt, one elsewhere in the window being answered with an ACK (<see cref="Linux6RstCheck"/>); an
    /// ACK of our ISN creates the child. With the listener gone any segment drops the request and is looked up
    /// again: a new listener on the port takes it, else a host RST. With net.ipv4.tcp_migrate_req, the listener
    /// reuseport_migrate_sock() picks judges the segment instead, the request staying its closed listener's until an
    /// ACK makes the child, which joins the new listener's accept queue (inet_csk_complete_hashdance(): TCPMigrateReqSuccess).
    /// </summary>
    internal void OnSegment(Segment seg)
    {
        var sk = Listener.State == TcpState.Listen ? Listener : Listener.ReuseportMigrate();
        if (sk is null)
        {
            // tcp_v4_rcv(): a request whose listener left TCP_LISTEN is dropped (inet_csk_reqsk_queue_drop_and_put())
            // and the segment looked up again (goto lookup): a new listener on the port takes it (a retransmitted SYN
            // gets its SYN-ACK), else no socket, and the host answers it as any stray segment — as on Linux 6.18.44.
            Drop();
            Host.ReceiveByListener(seg);
            return;
        }
        // tcp_v4_rcv(): "if (!nsk) { reqsk_put(req); … goto discard_and_relse; }" — sk_drops_skbadd() on the listener
        // for every segment tcp_check_req() returns NULL for.
        if (!CheckReq(seg, sk)) sk.SkDropsAdd(seg);
    }

    /// <summary>
    /// tcp_check_req(<paramref name="sk"/>, <paramref name="seg"/>, req) — <paramref name="sk"/> the request's listener or
    /// the one it migrates to: false where it returns NULL (the segment is dropped), true where the listener (a bad ACK:
    /// nsk == sk) or a new child takes it.
    /// </summary>
    bool CheckReq(Segment seg, TcpSocket sk)
    {
        var flg = seg.Flags & (TcpFlags.Rst | TcpFlags.Syn | TcpFlags.Ack);
        bool rst = seg.Has(TcpFlags.Rst), ack = seg.Has(TcpFlags.Ack);
        // tcp_parse_options(estab = 0): a timestamp counts only under tcp_timestamps.
        TcpSocket.ParseSynWindowScale(Host, seg);
        bool sawTs = seg.Options.HasTimestamp && Host.Sysctls.TcpTimestamps;
        bool pawsReject = false, tsecrReject = false;
        if (sawTs)
        {
            if (seg.Options.TsEcr != 0 && TstampOk && _sim.Profile == KernelProfile.Linux6)
                tsecrReject = _sntTsvalFirst is not { } first || !SeqMath.Between(seg.Options.TsEcr, first, _sntTsvalLast);
            pawsReject = PawsReject(seg.Options.TsVal, rst);
        }

        // "Check for pure retransmitted SYN": the SYN-ACK again (tcp_rtx_synack()), which re-arms the
        // request timer at reqsk_timeout() from now — unless rate limited.
        if (seg.Seq == Irs && flg == TcpFlags.Syn && !pawsReject)
        {
            if (!OowRateLimited(seg)) SendSynAck(retransmission: true, sk);
            return false;
        }
        uint rcvNxt = Irs + 1;
        if (rst && Linux6RstCheck(seg, rcvNxt, pawsReject || tsecrReject)) return false;
        // "Invalid ACK: reset will be sent by listening socket": tcp_rcv_state_process(LISTEN) returns 1 for
        // any ACK and tcp_v4_send_reset() answers (never an RST).
        if (ack && seg.Ack != Iss + 1)
        {
            Host.SendResetReply(seg, "tcp_check_req (bad ACK)");
            return true;
        }
        if (pawsReject || tsecrReject || !SeqMath.InWindow(seg.Seq, seg.EndSeq, rcvNxt, rcvNxt + SynAckWindow))
        {
            // "Out of window: send ACK and drop."
            if (!rst && !OowRateLimited(seg)) SendAck();
            if (pawsReject) Host.Count(MibCounter.TcpExtPAWSEstab);
            else if (tsecrReject) Host.Count(MibCounter.TcpExtTSEcrRejected);
            return false;
        }
        // "In sequence, PAWS is OK": 4.4 stores the TSval in req->ts_recent here. 6.14+ ("tcp: Defer ts_recent
        // changes until req is owned") leaves req->ts_recent the SYN's — a SYN-ACK resent after an ACK the full
        // accept queue refused still echoes the SYN (observed on Linux 6.18.44) — and the child takes the ACK's
        // TSval itself (CreateChild()).
        if (sawTs && !SeqMath.After(seg.Seq, rcvNxt) && _sim.Profile == KernelProfile.Linux44) TsRecent = seg.Options.TsVal;
        // "Truncate SYN, it is out of window starting at rcv_isn + 1."
        if (seg.Seq == Irs) flg &= ~TcpFlags.Syn;
        if ((flg & (TcpFlags.Rst | TcpFlags.Syn)) != 0)
        {
            EmbryonicReset(seg, rst);
            return false;
        }
        if (!ack) return false;
        if (_retransmits < sk.DeferAcceptRetrans && seg.EndSeq == Irs + 1)
        {
            // "While TCP_DEFER_ACCEPT is active, drop bare ACK": the request stays in SYN-RECV, marked acked.
            _acked = true;
            Host.Count(MibCounter.TcpExtTCPDeferAcceptDrop);
            return false;
        }
        if (sk.AcceptQueue.Count > sk.SendQueue)
        {
            // tcp_v4_syn_recv_sock(): sk_acceptq_is_full() → exit_overflow (ListenOverflows) → tcp_listendrop().
            Host.Count(MibCounter.TcpExtListenOverflows);
            sk.ListenDrop();
            _acked = true;
            // listen_overflow: without tcp_abort_on_overflow the request stays (inet_rsk(req)->acked = 1); with it,
            // fall into embryonic_reset: send_reset(), then inet_csk_reqsk_queue_drop() — which unlinks the
            // request, so EmbryonicRsts (no AttemptFails: that is only counted for an RST or SYN).
            if (Host.Sysctls.TcpAbortOnOverflow)
            {
                Host.SendResetReply(seg, "tcp_check_req (tcp_abort_on_overflow)");
                Drop();
                Host.Count(MibCounter.TcpExtEmbryonicRsts);
            }
            return false;
        }
        // tcp_synack_rtt_meas(): from the SYN-ACK's send time unless it was resent; then from the timestamp echo
        // (tcp_ack_update_rtt(FLAG_SYN_ACKED) → tcp_rtt_tsopt_us(tp, 1): an echo of this very millisecond is 1 ms).
        if (!_resent) RttSampleUs = TcpSocket.AtLeastATransit(_sim.Now - _synAckSentFirst);
        else if (seg.Options.HasTimestamp && seg.Options.TsEcr != 0 && PeerOptions.HasTimestamp && Host.Sysctls.TcpTimestamps)
            RttSampleUs = TsoptRttUs(seg);
        // inet_csk_complete_hashdance(): the request leaves its own listener's queue; the child joins sk's.
        if (sk != Listener) Host.Count(MibCounter.TcpExtTCPMigrateReqSuccess);
        Drop();
        TcpSocket.CreateChild(sk, this, seg);
        return true;
    }

    /// <summary>
    /// An RST to a request socket on Linux 6.18.44, as observed there (RFC 5961 §3.2 in tcp_check_req()): the RST is
    /// judged by its sequence number before the ACK is — at rcv_nxt it is the embryonic reset, whatever it acknowledges;
    /// inside the window but elsewhere it is answered with a challenge ACK (<see cref="SendChallengeAck"/>) and the
    /// request stays; outside the window, or refused by PAWS
    /// or the TSecr check, it is dropped. True when the RST was dealt with here. linux-4.4 and the 6.18 sources we
    /// read (net/ipv4/tcp_minisocks.c) check the ACK first and reset on any in-window RST: that path is kept for 4.4.
    /// </summary>
    bool Linux6RstCheck(Segment seg, uint rcvNxt, bool rejected)
    {
        if (_sim.Profile != KernelProfile.Linux6) return false;
        if (rejected || !SeqMath.InWindow(seg.Seq, seg.EndSeq, rcvNxt, rcvNxt + SynAckWindow)) return false;
        if (seg.Seq == rcvNxt) EmbryonicReset(seg, rst: true);
        else SendChallengeAck(seg);
        return true;
    }

    /// <summary>
    /// The request's challenge ACK as tcp_send_challenge_ack() counts it (observed on Linux 6.18.44: TCPChallengeACK, a
    /// skipped one TCPACKSkippedChallenge): rate limited on the request's last_oow_ack_time, then by the host-wide
    /// tcp_challenge_ack_limit budget; the ACK is tcp_v4_reqsk_send_ack()'s.
    /// </summary>
    void SendChallengeAck(Segment seg)
    {
        if (_oowAck.Limited(Host, _sim.Now, seg, MibCounter.TcpExtTCPACKSkippedChallenge)) return;
        if (!Host.ChallengeAckAllowed()) return;
        Host.Count(MibCounter.TcpExtTCPChallengeACK);
        SendAck();
    }

    /// <summary>tcp_check_req()'s embryonic_reset: a SYN is answered with a RST (req->rsk_ops->send_reset); the request is dropped.</summary>
    void EmbryonicReset(Segment seg, bool rst)
    {
        Host.Count(MibCounter.TcpAttemptFails);
        if (!rst) Host.SendResetReply(seg, "tcp_check_req (embryonic reset)");
        Drop();
        Host.Count(MibCounter.TcpExtEmbryonicRsts);
    }

    /// <summary>
    /// tcp_synack_window() (6.x): the in-window test of tcp_check_req() uses the window the SYN-ACK
    /// could carry, min(rsk_rcv_wnd, 65535); linux-4.4 used req->rsk_rcv_wnd itself.
    /// </summary>
    uint SynAckWindow => _sim.Profile == KernelProfile.Linux6 ? Math.Min(RcvWnd, (uint)TcpConstants.MaxTcpWindow) : RcvWnd;

    /// <summary>
    /// tcp_paws_reject() as tcp_check_req() calls it: ts_recent_stamp is estimated as now − reqsk_timeout()
    /// in seconds, so only the RST exception (ts_recent older than TCP_PAWS_MSL) depends on it; a
    /// ts_recent of 0 never rejects.
    /// </summary>
    bool PawsReject(uint tsVal, bool rst)
    {
        if ((int)(TsRecent - tsVal) <= 0 || TsRecent == 0) return false;
        long timeoutSec = (long)(ReqskTimeout.Ns / 1_000_000_000);
        return !(rst && timeoutSec >= TcpConstants.PawsMslSec);
    }

    /// <summary>reqsk_timeout(req, TCP_RTO_MAX): the initial timeout shifted by req->num_timeout, at most TCP_RTO_MAX.</summary>
    SimDuration ReqskTimeout => _timeout;

    /// <summary>TCP_RTO_MAX (120 s), reqsk_timeout()'s cap on 6.18 and linux-4.4, whatever the listener's tcp_rto_max_ms.</summary>
    static readonly SimDuration ReqskTimeoutMax = SimDuration.FromSeconds(120);

    /// <summary>
    /// Models tcp_oow_rate_limited() on tcp_rsk(req)->last_oow_ack_time: a pure segment or a SYN is
    /// answered at most once per tcp_invalid_ratelimit (compared in jiffies, as tcp_jiffies32);
    /// a skipped answer counts TCPACKSkippedSynRecv. Segments with data are never limited.
    /// </summary>
    bool OowRateLimited(Segment seg) => _oowAck.Limited(Host, _sim.Now, seg, MibCounter.TcpExtTCPACKSkippedSynRecv);

    /// <summary>
    /// Models tcp_v4_reqsk_send_ack() → tcp_v4_send_ack(): seq = snt_isn + 1, ack = rcv_nxt, the SYN-ACK
    /// window shifted by our scale, and a timestamp option (TSval now, TSecr = req->ts_recent) when
    /// ts_recent is not 0.
    /// </summary>
    void SendAck()
    {
        var options = TsRecent != 0 ? new TcpOptions(HasTimestamp: true, TsVal: TsValNow, TsEcr: TsRecent) : TcpOptions.None;
        Host.Transmit(_sim.NewSegment(Tuple, TcpFlags.Ack, Iss + 1, Irs + 1, (ushort)(SynAckWindow >> RcvWscale), 0, options),
            "tcp_v4_reqsk_send_ack");
    }
}
