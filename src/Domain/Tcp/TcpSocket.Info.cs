using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// A read-only snapshot of struct tcp_info (include/uapi/linux/tcp.h) holding the fields the
/// simulator models, with the kernel's units: times in microseconds (tcpi_rto, tcpi_rtt ...)
/// or milliseconds (tcpi_last_ack_recv), windows in bytes. A listener fills only State, Cwnd and
/// Unacked (its accept queue), as tcp_get_info() returns early for TCP_LISTEN.
/// </summary>
public sealed record TcpInfo(
    TcpState State,
    string CongestionControl,
    bool Timestamps,
    bool Sack,
    bool WindowScale,
    int SndWscale,
    int RcvWscale,
    long RtoUs,
    long AtoUs,
    int Backoff,
    int Retransmits,
    int Probes,
    int SndMss,
    int AdvMss,
    int Pmtu,
    int Unacked,
    int Retrans,
    int TotalRetrans,
    long LastAckRecvMs,
    long RttUs,
    long RttVarUs,
    int SndSsthresh,
    int SndCwnd,
    long RcvSsthresh,
    long BytesAcked,
    long BytesReceived,
    long NotSentBytes,
    long SndWnd,
    int Lost = 0,
    int Sacked = 0,
    int Reordering = TcpConstants.DefaultReordering,
    int ReordSeen = 0,
    long MinRttUs = uint.MaxValue,
    int RcvMss = 0,
    long BytesSent = 0,
    long BytesRetrans = 0,
    long SegsOut = 0,
    long SegsIn = 0,
    long DataSegsOut = 0,
    long DataSegsIn = 0,
    long LastDataSentMs = 0,
    long LastDataRecvMs = 0,
    ulong PacingRate = ulong.MaxValue,
    long Delivered = 0,
    long RcvSpace = 0,
    long RcvRttUs = 0,
    ulong DeliveryRate = 0,
    bool DeliveryRateAppLimited = false,
    long BusyTimeUs = 0,
    long RwndLimitedUs = 0,
    long SndbufLimitedUs = 0,
    long DeliveredCe = 0,
    int CaState = 0,
    int TotalRto = 0,
    int TotalRtoRecoveries = 0,
    long TotalRtoTimeMs = 0,
    int DsackDups = 0,
    int RcvOoopack = 0,
    long RcvWnd = 0,
    int Rehash = 0,
    bool Ecn = false)
{
    /// <summary>TCP_INFINITE_SSTHRESH: snd_ssthresh before the first loss (tcp_in_initial_slowstart).</summary>
    public const int InfiniteSsthresh = 0x7fffffff;
}

public sealed partial class TcpSocket
{
    /// <summary>
    /// Models tcp_get_info() — net/ipv4/tcp.c: the tcp_info snapshot `ss -i` and getsockopt(TCP_INFO)
    /// read, with the delivery-rate sampler's tcpi_delivery_rate (tcp_compute_delivery_rate()) and
    /// tcpi_delivery_rate_app_limited (tp->rate_app_limited), and tcp_get_info_chrono_stats()'s tcpi_busy_time,
    /// tcpi_rwnd_limited and tcpi_sndbuf_limited (<see cref="RateSkbSent"/> … <see cref="ChronoStatsUs"/>). linux-4.4's
    /// struct tcp_info ends at tcpi_segs_in: the later members (notsent_bytes, min_rtt, data_segs_in/out 4.6; these 4.9 and
    /// 4.10 ones; delivered 4.18; bytes_sent, bytes_retrans, reord_seen 4.19; snd_wnd 5.4; the 6.7 RTO stats) read 0 on
    /// that profile, as `ss` shows a 4.4 kernel's shorter tcp_info (iproute2 zeroes what the kernel did not copy). tcpi_delivered_ce stays 0: nothing
    /// modelled marks CE. TCPI_OPT_ECN (<see cref="TcpInfo.Ecn"/>) is ECN negotiated. tcpi_ca_state is the congestion state (icsk_ca_state). dsack_dups and rcv_ooopack (4.19, 5.4) and 6.2's rcv_wnd
    /// (tp->rcv_wnd) and rehash (tp->plb_rehash + tp->timeout_rehash; PLB is off, tcp_plb_enabled 0) follow snd_wnd; iproute2 6.1
    /// prints the first two only.
    /// </summary>
    public TcpInfo Info
    {
        get
        {
            if (State == TcpState.Listen)
            {
                // tcp_get_info(): "listeners aliased fields": tcpi_unacked is the accept queue; return early.
                return new TcpInfo(State, CaOps.ToName(), false, false, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    AcceptQueueCount, 0, 0, 0, 0, 0, 0, _ca.Cwnd, 0, 0, 0, 0, 0);
            }
            bool wscaleOk = InfoSynchronized && (_rxOpt.SndWscale != 0 || _rxOpt.RcvWscale != 0);
            bool later = _sim.Profile != KernelProfile.Linux44; // the members after tcpi_segs_in
            var chrono = later ? ChronoStatsUs() : default;
            return new TcpInfo(
                State,
                CaOps.ToName(),
                Timestamps: _rxOpt.TsOk,
                Sack: _rxOpt.SackOk,
                WindowScale: wscaleOk,
                SndWscale: wscaleOk ? _rxOpt.SndWscale : 0,
                RcvWscale: wscaleOk ? _rxOpt.RcvWscale : 0,
                RtoUs: _icsk.Rto.Ns / 1_000,
                AtoUs: CapByDelackMax(Ack.Ato).Ns / 1_000, // tcp_get_info(): min(ato, tcp_delack_max(sk)); linux-4.4 the raw ato
                Backoff: _icsk.Backoff,
                Retransmits: _icsk.Retransmits,
                Probes: _icsk.ProbesOut,
                SndMss: MssCache,
                AdvMss: _advmss,
                Pmtu: Host.RouteMtu(Remote.Address), // icsk_pmtu_cookie: tcp_sync_mss() with the route's MTU
                Unacked: PacketsOut,
                Retrans: _ca.RetransOut,
                TotalRetrans: TotalRetrans,
                LastAckRecvMs: JiffiesAgoMs(TransferStamped ? Jiffies32At(_lastAckRecv) : 0),
                RttUs: _rtt.SrttUs >> 3,
                RttVarUs: _rtt.MdevUs >> 2,
                SndSsthresh: _ca.Ssthresh,
                SndCwnd: _ca.Cwnd,
                RcvSsthresh: _rcv.Ssthresh,
                BytesAcked: BytesAcked,
                // tcp_rcv_nxt_update(): rcv_nxt was set to irs + 1 directly by the handshake.
                BytesReceived: InfoSynchronized ? (uint)(_rcv.Nxt - _rcv.Irs - 1) : 0,
                NotSentBytes: later ? Math.Max(0, (int)(_snd.WriteSeq - _snd.Nxt)) : 0,
                SndWnd: later ? _snd.Wnd : 0,
                Lost: _ca.LostOut,
                Sacked: _ca.SackedOut,
                Reordering: unchecked((int)_ca.Reordering),
                ReordSeen: later ? _ca.ReordSeen : 0,
                // tcp_min_rtt(): ~0U until the first sample (minmax_reset(&tp->rtt_min, tcp_jiffies32, ~0U)).
                MinRttUs: !later ? 0 : MinRttUs == long.MaxValue ? uint.MaxValue : MinRttUs,
                RcvMss: _rcvMss,
                BytesSent: later ? _data?.BytesSent ?? 0 : 0,
                BytesRetrans: later ? _rare?.RetransStats?.BytesRetrans ?? 0 : 0,
                SegsOut: _segsOut,
                SegsIn: _segsIn,
                DataSegsOut: later ? _data?.DataSegsOut ?? 0 : 0,
                DataSegsIn: later ? _data?.DataSegsIn ?? 0 : 0,
                LastDataSentMs: JiffiesAgoMs(TransferStamped ? Jiffies32At(_snd.Lsndtime) : 0),
                LastDataRecvMs: JiffiesAgoMs(Lrcvtime32),
                PacingRate: _pacingRate,
                Delivered: later ? _delivered : 0,
                RcvSpace: _rcvq.Space,
                RcvRttUs: RcvRttUs8 >> 3,
                DeliveryRate: later ? DeliveryRate : 0,
                DeliveryRateAppLimited: later && _rate.RateAppLimited,
                BusyTimeUs: chrono.BusyUs,
                RwndLimitedUs: chrono.RwndLimitedUs,
                SndbufLimitedUs: chrono.SndbufLimitedUs,
                // tcpi_ca_state = icsk->icsk_ca_state: TCP_CA_Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4.
                CaState: (int)_ca.State,
                // 6.7+: tcpi_total_rto, tcpi_total_rto_recoveries, tcpi_total_rto_time (ms; an unfinished recovery counts
                // up to now: tcp_clock_ms() − rto_stamp).
                TotalRto: later ? _rare?.RetransStats?.TotalRto ?? 0 : 0,
                TotalRtoRecoveries: later ? _rare?.RetransStats?.TotalRtoRecoveries ?? 0 : 0,
                TotalRtoTimeMs: later && _rare?.RetransStats is { } stats ? unchecked(stats.TotalRtoTimeMs + (stats.RtoStampMs != 0 ? ClockMs(_sim.Now) - stats.RtoStampMs : 0u)) : 0,
                DsackDups: later ? _ca.DsackDups : 0,
                RcvOoopack: later ? _rare?.RcvOoopack ?? 0 : 0,
                RcvWnd: later ? _rcv.Wnd : 0,
                Rehash: later ? _rare?.RetransStats?.TimeoutRehash ?? 0 : 0,
                Ecn: (_ecn & EcnFlags.Ok) != 0); // tcp_get_info(): TCPI_OPT_ECN with TCP_ECN_OK
        }
    }

    /// <summary>
    /// The connection was synchronized and tcp_disconnect() has not undone it since. tcp_get_info() reads rx_opt.wscale_ok
    /// (with both scales) and tp->bytes_received as they are, so a socket tcp_done() closed — an RST, a timeout, TIME-WAIT
    /// taking the connection from under an open descriptor — still reports them; tcp_disconnect() clears both (the memset
    /// of rx_opt; bytes_received = 0, which <see cref="DisconnectResets"/> models by moving irs up to rcv_nxt).
    /// </summary>
    bool InfoSynchronized => IsSynchronized || (State == TcpState.Close && _rcv.Nxt != _rcv.Irs);

    /// <summary>
    /// tp->bytes_acked (RFC 4898 tcpEStatsAppHCThruOctetsAcked): tcp_snd_una_update() counts from the SYN-ACK's ack on an
    /// active open; a passive child starts at snd_una = isn + 1.
    /// </summary>
    long BytesAcked => Math.Max(0L, (long)(uint)(_snd.Una - _snd.Iss) - (Parent is null ? 0 : 1));

    /// <summary>
    /// jiffies_to_msecs(now − stamp) in u32, as tcp_get_info() reports tcpi_last_data_sent, tcpi_last_data_recv and
    /// tcpi_last_ack_recv from tcp_jiffies32. A stamp never set is 0, so before the handshake the age counts from raw
    /// jiffies 0: INITIAL_JIFFIES makes that (u32)(4 · jiffies32) — 4294668896 at 1.6 s.
    /// </summary>
    long JiffiesAgoMs(uint stamp32) => unchecked((uint)((uint)(Jiffies32 - stamp32) * (1000u / Jiffies.Hz)));

    /// <summary>
    /// icsk->icsk_ack.lrcvtime as the kernel holds it: u32 jiffies, 0 until first stamped. A socket that never stamped it
    /// (a simultaneous open reaches ESTABLISHED through SYN-RECV, which neither tcp_finish_connect() nor
    /// tcp_create_openreq_child() runs for) is compared as 0 against tcp_jiffies32, which starts at INITIAL_JIFFIES: the
    /// elapsed time is then most of the u32 range, never "less than ato".
    /// </summary>
    uint Lrcvtime32 => LrcvStamped ? unchecked((uint)(Jiffies.Initial + _lrcvTime)) : 0;

    /// <summary>
    /// A value in jiffies as icsk_ack.ato holds it once stored: on linux-6 the field is <c>__u32 ato:ATO_BITS</c> (8 bits,
    /// beside the IPv6 flow label), so it keeps the value mod 256 jiffies (1.024 s) — an ATO grown past that by
    /// tcp_event_data_recv() or the delayed-ACK timer's inflation (bounded only by the RTO) wraps; linux-4.4's is a __u32.
    /// </summary>
    long AtoField(long jiffies) => _sim.Profile == KernelProfile.Linux6 ? jiffies & 0xFF : jiffies;

    /// <summary>icsk->icsk_ack.lrcvtime = tcp_jiffies32.</summary>
    void StampLrcvTime()
    {
        _lrcvTime = Jiffies.At(_sim.Now);
        LrcvStamped = true;
    }

    /// <summary>/proc/net/tcp's "(icsk_ack.quick &lt;&lt; 1) | inet_csk_in_pingpong_mode(sk)" column (get_tcp4_sock).</summary>
    public int AckQuickPingPong => (Ack.Quick << 1) | (InPingPongMode ? 1 : 0);

    /// <summary>
    /// sk_refcnt as /proc/net/tcp prints it, modelled as one reference plus one per queued
    /// timer (sk_reset_timer() takes a reference when it arms an idle timer; a cleared xmit or delayed-ACK
    /// timer stays queued until its time, inet_csk_clear_xmit_timer() stopping nothing) and, for a
    /// listener, one per request or child socket waiting on it (reqsk_alloc() holds the listener).
    /// Observed on Linux 6.18.44: an idle client shows refcount 2 for the first second after its handshake
    /// (the SYN's cleared RTO timer runs at 1 s), 3 with its keepalive timer armed.
    /// </summary>
    public int RefCount
    {
        get
        {
            var now = _sim.Now;
            int timers = (_xmitTimer.Armed || now < _xmitTimerListUntil ? 1 : 0) + (_data is { } data && (data.DelackTimer.Armed || now < data.DelackTimerListUntil) ? 1 : 0)
                + (_rare?.KeepaliveTimer is { Armed: true } ? 1 : 0);
            if (State != TcpState.Listen) return 1 + timers;
            int requests = Host.RequestSockets.Count(r => ReferenceEquals(r.Listener, this));
            return 1 + timers + requests + AcceptQueueCount;
        }
    }
}
