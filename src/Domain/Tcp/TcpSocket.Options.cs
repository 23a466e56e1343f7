using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>tp->nonagle's bits — include/net/tcp.h: TCP_NAGLE_OFF (TCP_NODELAY), TCP_NAGLE_CORK, TCP_NAGLE_PUSH.</summary>
[Flags]
internal enum Nagle : byte
{
    /// <summary>0: Nagle's algorithm with Minshall's check (tcp_nagle_check()'s "!nonagle").</summary>
    On = 0,
    /// <summary>TCP_NAGLE_OFF (1): TCP_NODELAY — no Minshall hold.</summary>
    Off = 1,
    /// <summary>TCP_NAGLE_CORK (2): TCP_CORK, or one tcp_push() with MSG_MORE — every partial segment waits.</summary>
    Cork = 2,
    /// <summary>TCP_NAGLE_PUSH (4): send what is queued now, partial or not (tcp_nagle_test()'s first test).</summary>
    Push = 4,
}

/// <summary>send()/recv() flags the engine models (include/linux/socket.h values).</summary>
[Flags]
public enum MsgFlags
{
    None = 0,
    /// <summary>MSG_PEEK: recv() copies without consuming.</summary>
    MSG_PEEK = 0x2,
    /// <summary>MSG_DONTWAIT: this call alone is non-blocking (sock_sndtimeo()/sock_rcvtimeo() with noblock: 0).</summary>
    MSG_DONTWAIT = 0x40,
    /// <summary>MSG_NOSIGNAL: no SIGPIPE with EPIPE (the engine sends no signal either way).</summary>
    MSG_NOSIGNAL = 0x4000,
    /// <summary>MSG_MORE: tcp_push() corks this call's tail (TCP_NAGLE_CORK) and leaves it without PSH.</summary>
    MSG_MORE = 0x8000,
}

/// <summary>
/// The per-socket TCP options beyond the teardown ones: TCP_NODELAY / TCP_CORK (tp->nonagle), TCP_QUICKACK
/// (icsk_ack.pingpong), TCP_SYNCNT (icsk_syn_retries) — do_tcp_setsockopt() / do_tcp_getsockopt() in net/ipv4/tcp.c.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>MAX_TCP_SYNCNT — include/net/tcp.h: TCP_SYNCNT's upper bound (and tcp_syn_retries').</summary>
    public const int MaxTcpSyncnt = 127;

    /// <summary>tp->nonagle.</summary>
    Nagle _nonagle;
    /// <summary>icsk->icsk_syn_retries: 0 uses net.ipv4.tcp_syn_retries (SYN) / tcp_synack_retries (a listener's SYN-ACKs).</summary>
    int SynRetriesSet => _rare?.Options?.SynRetries ?? 0;

    /// <summary>
    /// Models __tcp_sock_set_nodelay() — net/ipv4/tcp.c: on sets TCP_NAGLE_OFF | TCP_NAGLE_PUSH and pushes what is
    /// queued (tcp_push_pending_frames(), even past TCP_CORK); off clears TCP_NAGLE_OFF only.
    /// </summary>
    void SetNoDelay(bool on)
    {
        if (!on)
        {
            _nonagle &= ~Nagle.Off;
            return;
        }
        _nonagle |= Nagle.Off | Nagle.Push;
        PushPendingFrames("__tcp_sock_set_nodelay");
    }

    /// <summary>
    /// Models __tcp_sock_set_cork() — net/ipv4/tcp.c: on sets TCP_NAGLE_CORK; off clears it, sets TCP_NAGLE_PUSH
    /// when TCP_NODELAY is on, and pushes (tcp_push_pending_frames() with tp->nonagle: without TCP_NODELAY the
    /// partial tail still obeys Nagle's Minshall check).
    /// </summary>
    void SetCork(bool on)
    {
        if (on)
        {
            _nonagle |= Nagle.Cork;
            return;
        }
        _nonagle &= ~Nagle.Cork;
        if ((_nonagle & Nagle.Off) != 0) _nonagle |= Nagle.Push;
        PushPendingFrames("__tcp_sock_set_cork");
    }

    /// <summary>
    /// Models tcp_push_pending_frames() — include/net/tcp.h: with a send head, __tcp_push_pending_frames() with
    /// tp->nonagle (nothing in CLOSE; the engine's Push also skips the handshake states, where nothing is queued).
    /// </summary>
    void PushPendingFrames(string reason)
    {
        if (SeqMath.Before(_snd.Nxt, _snd.WriteSeq)) Push(reason);
    }

    /// <summary>
    /// Models __tcp_sock_set_quickack() — net/ipv4/tcp.c: 0 enters ping-pong mode (delayed ACKs); any other value
    /// leaves it, and in ESTABLISHED / CLOSE-WAIT with an ACK scheduled marks ICSK_ACK_PUSHED and runs
    /// tcp_cleanup_rbuf(sk, 1) — an ACK now if more than rcv_mss is unacknowledged, or nothing is left unread
    /// — then an even value goes back to ping-pong.
    /// </summary>
    void SetQuickAck(int value)
    {
        if (value == 0)
        {
            EnterPingPongMode();
            return;
        }
        ExitPingPongMode();
        if (State is TcpState.Established or TcpState.CloseWait && Ack.Scheduled)
        {
            AckToWrite.Pushed = true;
            CleanupRbuf(1);
            if ((value & 1) == 0) EnterPingPongMode();
        }
    }

    /// <summary>icsk_accept_queue.rskq_defer_accept: TCP_DEFER_ACCEPT as a count of SYN-ACK retransmissions (0: off).</summary>
    internal int DeferAcceptRetrans => _rare?.Options?.DeferAcceptRetrans ?? 0;

    /// <summary>
    /// Models do_tcp_setsockopt(TCP_DEFER_ACCEPT) — net/ipv4/tcp.c: the seconds become retransmits with
    /// secs_to_retrans(val, TCP_TIMEOUT_INIT / HZ, TCP_RTO_MAX / HZ): the smallest count of doubling timeouts
    /// (1, 2, 4 … s, at most 120 s each) whose sum reaches val, at most 255; 0 or less turns it off. Never an error.
    /// </summary>
    void SetDeferAccept(int seconds)
    {
        int retrans = 0;
        if (seconds > 0)
        {
            int timeout = 1, period = 1;
            retrans = 1;
            while (seconds > period && retrans < 255)
            {
                retrans++;
                timeout = Math.Min(timeout << 1, RtoMaxSec);
                period += timeout;
            }
        }
        if (retrans != 0 || _rare?.Options is not null) RareOptionsToWrite.DeferAcceptRetrans = retrans;
    }

    /// <summary>Models retrans_to_secs(rskq_defer_accept, 1, 120) — net/ipv4/tcp.c: getsockopt(TCP_DEFER_ACCEPT) in seconds.</summary>
    int DeferAcceptSeconds
    {
        get
        {
            if (DeferAcceptRetrans == 0) return 0;
            int timeout = 1, period = 1;
            for (int r = DeferAcceptRetrans; --r > 0;)
            {
                timeout = Math.Min(timeout << 1, RtoMaxSec);
                period += timeout;
            }
            return period;
        }
    }

    /// <summary>tp->rx_opt.user_mss: TCP_MAXSEG (0: none).</summary>
    int UserMss => _rare?.Options?.UserMss ?? 0;

    /// <summary>MAX_TCP_WINDOW — include/net/tcp.h (32767): TCP_MAXSEG's upper bound.</summary>
    const int MaxTcpMaxseg = 32767;

    /// <summary>Models tcp_sock_set_maxseg() — net/ipv4/tcp.c: 0, or TCP_MIN_MSS (88) to MAX_TCP_WINDOW (32767), else EINVAL.</summary>
    CallOutcome SetMaxSeg(int value)
    {
        if (value != 0 && value is < TcpConstants.MinMss or > MaxTcpMaxseg) return CallOutcome.Fail(Errno.EINVAL);
        if (value != 0 || _rare?.Options is not null) RareOptionsToWrite.UserMss = value;
        return CallOutcome.Ok();
    }

    /// <summary>Models tcp_mss_clamp() — include/net/tcp.h: user_mss when set and smaller, else <paramref name="mss"/>.</summary>
    internal int ClampToUserMss(int mss) => UserMss is var user && user != 0 && user < mss ? user : mss;

    /// <summary>getsockopt(TCP_MAXSEG) — do_tcp_getsockopt(): tp->mss_cache, but user_mss in CLOSE or LISTEN when set.</summary>
    int MaxSegOption => State is TcpState.Close or TcpState.Listen && UserMss != 0 ? UserMss : MssCache;

    /// <summary>
    /// tp->mss_cache as tcp_connect_init()'s tcp_sync_mss() left it, until the handshake's tcp_sync_mss() replaces it
    /// (0: not connecting, or synced since).
    /// </summary>
    int _connectMssCache;

    /// <summary>
    /// tp->mss_cache, what TCP_INFO's tcpi_snd_mss, TCP_MAXSEG and ss `mss:` read: tcp_init_sock()'s TCP_MSS_DEFAULT
    /// (536) until tcp_sync_mss() first runs; from tcp_connect_init() until the SYN-ACK (or crossed SYN) the
    /// connect-time value (<see cref="ConnectMssCache"/>); then the connection's payload MSS.
    /// </summary>
    int MssCache => !MssSynced ? TcpConstants.MssDefault : _connectMssCache != 0 ? _connectMssCache : PayloadMss;

    /// <summary>
    /// Models tcp_connect_init() → tcp_sync_mss(sk, dst_mtu) — net/ipv4/tcp_output.c: tcp_v4_connect() set
    /// mss_clamp = TCP_MSS_DEFAULT (536), tcp_connect_init() replaces it with user_mss when set and counts the
    /// timestamp option in tcp_header_len when net.ipv4.tcp_timestamps is on. __tcp_mtu_to_mss() clamps
    /// pmtu − 40 (1460; 65495 on lo) to mss_clamp ("mss_clamp does not include tcp options") and floors it at tcp_min_snd_mss;
    /// tcp_mtu_to_mss() then subtracts the options: min(1460, mss_clamp) − 12 — 524, or 988 with TCP_MAXSEG 1000.
    /// (tcp_bound_to_half_wnd() does nothing yet: max_window is 0.)
    /// </summary>
    int ConnectMssCache() => ConnectHeaderMss(UserMss != 0 ? UserMss : TcpConstants.MssDefault);

    /// <summary>
    /// Models the tcp_sync_mss() that the SYN-ACK's own tcp_ack() runs — net/ipv4/tcp_input.c: tcp_ack_update_window()
    /// finds the SYN-ACK's window above max_window (0 since tcp_connect_init()) and re-syncs the MSS, with the mss_clamp
    /// tcp_parse_options() took from the SYN-ACK (the peer's MSS, lowered to user_mss) and still the connect-time
    /// tcp_header_len (the timestamp option counted when net.ipv4.tcp_timestamps is on, whatever the peer said), bounded
    /// by half that window (tcp_bound_to_half_wnd()): 1448 over Ethernet. tcp_cong_control() then sets the pacing rate
    /// from it, before tcp_rcv_synsent_state_process() syncs the MSS with the negotiated options. Observed on Linux
    /// 6.18.44: TCP_INFO's pacing_rate after an active open is 1448 · 10 · 200 % / srtt (4686084 B/s at a 6.18 ms RTT,
    /// 1428007 at 20.28 ms), not 524-based. With icsk_mtup.enabled (net.ipv4.tcp_mtu_probing 2) that sync also holds it to
    /// tcp_mtu_to_mss(search_low), tcp_connect_init()'s tcp_mtup_init() search_low with the same connect-time header
    /// ("if (icsk->icsk_mtup.enabled) mss_now = min(mss_now, tcp_mtu_to_mss(sk, icsk->icsk_mtup.search_low))"). Observed
    /// on Linux 6.18.44: tcp_base_mss 512 over a 5 ms link sends its first flight in 2-segment skbs (512-based pacing), not 5.
    /// </summary>
    int SynAckMssCache()
    {
        int mss = BoundToHalfWindow(ConnectHeaderMss(_rxOpt.MssClamp));
        if (!MtupEnabled) return mss;
        int searchLow = MssToMtu(Host.Sysctls.TcpBaseMss, Host.Sysctls.TcpTimestamps);
        return Math.Min(mss, ConnectHeaderMss(_rxOpt.MssClamp, unchecked(searchLow - Network.Host.Ipv4TcpHeaders)));
    }

    /// <summary>tcp_mtu_to_mss() with the connect-time tcp_header_len: min(pmtu − 40, mss_clamp), at least tcp_min_snd_mss, less the timestamp option when the sysctl is on.</summary>
    int ConnectHeaderMss(int mssClamp) => ConnectHeaderMss(mssClamp, RouteAdvmss);

    /// <summary>tcp_mtu_to_mss() with the connect-time tcp_header_len, for a pmtu of <paramref name="pmtuMss"/> + 40.</summary>
    int ConnectHeaderMss(int mssClamp, int pmtuMss)
    {
        int mss = Math.Max(Math.Min(pmtuMss, mssClamp), Host.Sysctls.TcpMinSndMss);
        return mss - (Host.Sysctls.TcpTimestamps ? TcpConstants.TimestampOptionBytes : 0);
    }

    /// <summary>icsk_mtup.search_low: the largest MTU that MTU probing takes as known to work (tcp_mtup_init(), lowered by tcp_mtu_probing()).</summary>
    int _mtupSearchLow;

    /// <summary>
    /// Models tcp_mtup_init() — net/ipv4/tcp_output.c — as tcp_connect_init() runs it before its tcp_sync_mss(), and
    /// tcp_init_transfer() again once the connection is established: enabled when net.ipv4.tcp_mtu_probing is above 1;
    /// search_low = tcp_mss_to_mtu(net.ipv4.tcp_base_mss) with tcp_header_len as it is then (<paramref name="timestampHeader"/>:
    /// at connect() the timestamp option counts when net.ipv4.tcp_timestamps is on; from tcp_init_transfer() as negotiated).
    /// Observed on Linux 6.18.44: a connect() with timestamps on to a peer without them lowers its MSS to 1024, not 1036.
    /// </summary>
    void MtupInit(bool timestampHeader)
    {
        MtupEnabled = Host.Sysctls.TcpMtuProbing > 1;
        _mtupSearchLow = MssToMtu(Host.Sysctls.TcpBaseMss, timestampHeader);
        if (MtupEnabled) MtupStart(); // search_high and probe_size reset, probe_timestamp; mss_cache waits for a tcp_sync_mss()
        else _mtup = null;
        // linux-4.4 runs tcp_mtup_init() right before the handshake's tcp_sync_mss() (tcp_rcv_synsent_state_process(),
        // tcp_v4_syn_recv_sock()), not from connect() and tcp_init_transfer(): not modelled.
        if (MtupEnabled && _sim.Profile == Engine.KernelProfile.Linux44)
            _sim.LeaveModel(Host.Name, Tuple.ToString(), "D161", "linux-4.4: tcp_mtup_init() before the handshake's tcp_sync_mss() (tcp_mtu_probing >= 2)");
    }

    /// <summary>tcp_mss_to_mtu(): mss + tcp_header_len + the IPv4 header (an int: a tcp_base_mss near INT_MAX wraps as the kernel's does).</summary>
    static int MssToMtu(int mss, bool timestampHeader) =>
        unchecked(mss + Network.Host.Ipv4TcpHeaders + (timestampHeader ? TcpConstants.TimestampOptionBytes : 0));

    /// <summary>
    /// tcp_mtu_to_mss(sk, pmtu): __tcp_mtu_to_mss()'s pmtu − 40 clamped to rx_opt.mss_clamp and floored at
    /// tcp_min_snd_mss (48 on linux-4.4), less the timestamp option when the connection uses it.
    /// </summary>
    int MtuToMss(int pmtu) =>
        Math.Max(Math.Min(unchecked(pmtu - Network.Host.Ipv4TcpHeaders), _rxOpt.MssClamp), Host.Sysctls.TcpMinSndMss)
        - (_rxOpt.TsOk ? TcpConstants.TimestampOptionBytes : 0);

    /// <summary>
    /// What tcp_sync_mss() holds mss_cache to while icsk_mtup.enabled: tcp_mtu_to_mss(search_low) as the last sync took
    /// it (<see cref="SyncMtupMss"/>); no bound otherwise.
    /// </summary>
    int MtupMss => MtupEnabled && _mtup is { } m ? m.MssCap : int.MaxValue;

    /// <summary>
    /// Models tcp_mtu_probing() — net/ipv4/tcp_timer.c — black-hole detection, which tcp_write_timeout() runs on each RTO of
    /// a synchronized socket once retransmits_timed_out(tcp_retries1) holds: nothing with net.ipv4.tcp_mtu_probing 0; the
    /// first time icsk_mtup.enabled is set, so mss_cache drops to tcp_mtu_to_mss(search_low) (tcp_base_mss 1024: 1024);
    /// each later time search_low halves — the MSS halved, at most tcp_base_mss, at least tcp_mtu_probe_floor and
    /// tcp_min_snd_mss (linux-4.4: 68 − tcp_header_len) — and tcp_sync_mss() takes it. The next retransmission is cut to it (__tcp_retransmit_skb()'s tcp_fragment()).
    /// </summary>
    void MtuProbing()
    {
        if (Host.Sysctls.TcpMtuProbing == 0) return;
        if (!MtupEnabled)
        {
            MtupEnabled = true;
            MtupStart(); // icsk_mtup.probe_timestamp = tcp_jiffies32
        }
        else
        {
            int mss = Math.Min(MtuToMss(_mtupSearchLow) >> 1, Host.Sysctls.TcpBaseMss);
            mss = _sim.Profile == Engine.KernelProfile.Linux44
                ? Math.Max(mss, 68 - TcpHeaderLen)
                : Math.Max(Math.Max(mss, Host.Sysctls.TcpMtuProbeFloor), Host.Sysctls.TcpMinSndMss);
            _mtupSearchLow = MssToMtu(mss, _rxOpt.TsOk);
        }
        SyncMtupMss(); // tcp_sync_mss(sk, icsk->icsk_pmtu_cookie)
    }

    /// <summary>TCP_RTO_MAX / HZ.</summary>
    const int RtoMaxSec = 120;

    /// <summary>Models tcp_sock_set_syncnt() — net/ipv4/tcp.c: 1 to MAX_TCP_SYNCNT, else EINVAL.</summary>
    CallOutcome SetSynCount(int value)
    {
        if (value is < 1 or > MaxTcpSyncnt) return CallOutcome.Fail(Errno.EINVAL);
        RareOptionsToWrite.SynRetries = value;
        return CallOutcome.Ok();
    }

    /// <summary>The SYN retry bound of tcp_write_timeout(): icsk_syn_retries, else net.ipv4.tcp_syn_retries.</summary>
    int SynRetries => SynRetriesSet != 0 ? SynRetriesSet : Host.Sysctls.TcpSynRetries;

    /// <summary>reqsk_timer_handler()'s max_syn_ack_retries on this listener: icsk_syn_retries, else net.ipv4.tcp_synack_retries.</summary>
    internal int SynAckRetries => SynRetriesSet != 0 ? SynRetriesSet : Host.Sysctls.TcpSynackRetries;

    /// <summary>
    /// Models tcp_nagle_check() — net/ipv4/tcp_output.c — for a partial last segment, as tcp_mss_split_point() asks it
    /// before sending a multi-MSS skb from <paramref name="sndNxt"/>: TCP_NAGLE_CORK holds, and so does Nagle on (nonagle
    /// 0) with packets out and Minshall's check (snd_una &lt; snd_sml ≤ snd_nxt); TCP_NAGLE_PUSH is not consulted here.
    /// </summary>
    bool NagleCheckPartial(Nagle nonagle, uint sndNxt) =>
        (nonagle & Nagle.Cork) != 0
        || nonagle == Nagle.On && PacketsOut > 0 && SeqMath.After(_snd.Sml, _snd.Una) && !SeqMath.After(_snd.Sml, sndNxt);

    /// <summary>
    /// tcp_nagle_test() — net/ipv4/tcp_output.c — for a segment shorter than the MSS that is not a FIN: sent with
    /// TCP_NAGLE_PUSH; held under TCP_NAGLE_CORK, or (nonagle 0) while an earlier small segment is unacknowledged
    /// (tcp_minshall_check(): snd_una &lt; snd_sml ≤ snd_nxt).
    /// </summary>
    bool NagleAllowsPartial(Nagle nonagle)
    {
        if ((nonagle & Nagle.Push) != 0) return true;
        if ((nonagle & Nagle.Cork) != 0) return false;
        return nonagle != Nagle.On || PacketsOut == 0 || !(SeqMath.After(_snd.Sml, _snd.Una) && !SeqMath.After(_snd.Sml, _snd.Nxt));
    }
}
