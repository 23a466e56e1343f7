using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>Models tcp_write_timer_handler(): tcp_mstamp_refresh(), then a dispatch on icsk_pending.</summary>
    void OnXmitTimer()
    {
        MstampRefresh();
        var what = XmitPending;
        RecordFired(_xmitTimer);
        switch (what)
        {
            case TcpTimerKind.LossProbe: SendLossProbe(); break;
            case TcpTimerKind.ReorderTimeout: RackReoTimeout(); break;
            case TcpTimerKind.Persist: OnProbeTimer(); break;
            default: OnRetransmitTimer(); break;
        }
    }

    /// <summary>
    /// Models tcp_send_loss_probe() — net/ipv4/tcp_output.c: when the send head fits the peer's window
    /// (tcp_snd_wnd_test()), new data — tcp_write_xmit(push_one = 2, TCP_NAGLE_OFF), which lets one segment through
    /// even with cwnd full ("Force out a loss probe pkt."); if that sends nothing, only the timer is re-armed. Otherwise
    /// the tail is retransmitted once (tlp_retrans), without backoff and without setting retrans_stamp. Either probe
    /// sets tlp_high_seq = snd_nxt and counts TCPLossProbes, and the RTO restarts from now. With a probe already
    /// outstanding nothing is sent and the RTO is re-armed from the head.
    /// </summary>
    void SendLossProbe()
    {
        if (PacketsOut == 0) return;
        if (_ca.TlpOutstanding)
        {
            // "At most one outstanding TLP": goto rearm_timer — tcp_rearm_rto() with the loss probe still pending, so
            // the RTO counts from the head's transmission (tcp_rto_delta_us()). linux-4.4 re-arms a full icsk_rto.
            if (_sim.Profile == KernelProfile.Linux44) ResetXmitTimer(TcpTimerKind.Retransmit, _icsk.Rto);
            else RearmRto(fromHead: true);
            return;
        }
        _ca.TlpRetrans = false;
        if (SendHeadFitsWindow())
        {
            int before = PacketsOut;
            // tcp_write_xmit(push_one = 2): one TSO chunk (min(tcp_cwnd_test(), tcp_tso_segs()) segments), or one forced
            // segment when cwnd is full.
            Push("tcp_send_loss_probe (new data)", nonagle: Nagle.Off, lossProbe: true);
            if (PacketsOut == before)
            {
                // "goto rearm_timer": tcp_rearm_rto() with the loss probe still pending — the RTO from the head.
                RearmRto(fromHead: true);
                return;
            }
        }
        else
        {
            // __tcp_retransmit_skb() only: TCPCB_EVER_RETRANS, not TCPCB_SACKED_RETRANS (no retrans_out, no undo_retrans).
            int last = LossProbeIndex(out bool cut);
            // tcp_send_loss_probe(): tcp_fragment() at (pcount − 1) · mss comes before __tcp_retransmit_skb(), so the skb
            // stays cut there when its window test then refuses the probe (the RTO later resends the head skb alone).
            if (cut) SkbSplitAt(_rtx[last].Seq);
            MtuProbeInconclusive();
            SkbTrimHead(_snd.Una, _rtx[last].Seq); // __tcp_retransmit_skb()'s tcp_trim_head() when the tail is the head skb
            if (!RetransFitWindow(last, out _))
            {
                // __tcp_retransmit_skb() -EAGAIN (the tail starts past a shrunk window): "goto rearm_timer" — no probe,
                // tcp_rearm_rto() with the loss probe still pending, from the head.
                RearmRto(fromHead: true);
                return;
            }
            var tail = _rtx[last];
            Resent(last, sackedRetrans: false);
            SkbSplitAt(tail.Seq); // tcp_send_loss_probe(): tcp_fragment() leaves the resent piece an skb of its own
            SkbSplitAt(tail.End);
            Transmit(tail.Flags, tail.Seq, PayloadOf(tail), "tcp_send_loss_probe", retransmit: true);
            _ca.TlpRetrans = true;
        }
        // probe_sent:
        _ca.TlpOutstanding = true;
        _ca.TlpHighSeq = _snd.Nxt;
        Host.Count(MibCounter.TcpExtTCPLossProbes);
        // "Reset s.t. tcp_rearm_rto will restart timer from now." (tcp_rearm_rto(): icsk_rto, no user-timeout clamp)
        ResetXmitTimer(TcpTimerKind.Retransmit, _icsk.Rto);
    }

    /// <summary>
    /// tcp_send_head() and tcp_snd_wnd_test() — net/ipv4/tcp_output.c: unsent data whose first segment (at most one MSS;
    /// with the FIN when the FIN rides on it) ends inside the peer's window (tcp_wnd_end()).
    /// </summary>
    bool SendHeadFitsWindow()
    {
        if (!SeqMath.Before(_snd.Nxt, _snd.WriteSeq)) return false;
        uint dataEnd = _snd.FinQueued ? _snd.FinSeq : _snd.WriteSeq;
        long dataLeft = SeqMath.Before(_snd.Nxt, dataEnd) ? dataEnd - _snd.Nxt : 0;
        int mss = CurrentMss; // tcp_send_loss_probe(): tcp_snd_wnd_test(tp, skb, tcp_current_mss(sk))
        uint end = _snd.Nxt + (uint)Math.Min(mss, dataLeft);
        if (_snd.FinQueued && dataLeft <= mss) end++;
        return !SeqMath.After(end, WndEnd);
    }

    /// <summary>
    /// Models tcp_retransmit_timer() + tcp_write_timeout() — net/ipv4/tcp_timer.c. The first
    /// firing of an episode is never fatal; later ones expire the connection once
    /// now − retrans_stamp reaches TCP_USER_TIMEOUT or tcp_model_timeout(N) (N = tcp_retries2,
    /// or tcp_orphan_retries for orphans, 0 meaning 8 while the RTO is below rto_max). Expiry is
    /// silent (tcp_write_err). SYN_SENT counts SYN retransmissions instead, with
    /// tcp_syn_linear_timeouts non-doubling RTOs first.
    /// </summary>
    void OnRetransmitTimer()
    {
        if (PacketsOut == 0) return;
        if (_snd.Wnd == 0 && !Dead && IsSynchronized && State != TcpState.SynRecv)
        {
            // "Receiver dastardly shrinks window. Our retransmits become zero probes, but we should not timeout
            // this connection": no TCPTimeouts, no tcp_write_timeout(), no icsk_retransmits++ (the backoff grows at
            // out_reset_timer: on 6.8+).
            long rtxDeltaMs = _sim.Now.Ms - (RetransStamp ?? _rtx[0].SentAt).Ms;
            if (RtxProbe0TimedOut(rtxDeltaMs))
            {
                WriteErr("tcp_retransmit_timer (zero window)");
                return;
            }
            EnterLoss();
            RetransmitHead("tcp_retransmit_timer (zero window)");
            RetransStamp ??= _sim.Now; // tcp_retransmit_skb(): "Save stamp of the first (attempted) retransmit."
            OutResetTimer();
            return;
        }
        // 6.x counts every timeout here ("tcp: fix SNMP TCP timeout under-estimation", 5.5); linux-4.4
        // counts TCPTimeouts only as the last choice of the first timeout's failure counter, below.
        bool everyTimeout = _sim.Profile != KernelProfile.Linux44;
        if (everyTimeout) Host.Count(MibCounter.TcpExtTCPTimeouts);
        if (WriteTimeout()) return;
        if (_icsk.Retransmits == 0 && !CountRecoveryFailure() && !everyTimeout) Host.Count(MibCounter.TcpExtTCPTimeouts);
        EnterLoss();
        UpdateRtoStats();
        bool first = RetransStamp is null;
        if (State == TcpState.SynSent) SendSyn(retransmission: true);
        else RetransmitHead("tcp_retransmit_timer");
        if (first) RetransStamp = _sim.Now;
        // linux-4.4: "Increase the timeout each time we retransmit" — icsk_backoff++ before out_reset_timer:. Since 6.8
        // ("tcp: use tp->total_rto to track number of linear timeouts in SYN_SENT state") it is in OutResetTimer().
        if (_sim.Profile == KernelProfile.Linux44) _icsk.Backoff++;
        OutResetTimer();
    }

    /// <summary>
    /// tcp_retransmit_timer(), on the first timeout of an episode: which recovery the RTO ended — fast
    /// recovery (TCPSackRecoveryFail, TCPRenoRecoveryFail without SACK), an earlier loss recovery
    /// (TCPLossFailures), or Disorder / SACKed segments without recovery yet (TCPSackFailures, TCPRenoFailures).
    /// False when none applies: linux-4.4's "else mib_idx = LINUX_MIB_TCPTIMEOUTS".
    /// </summary>
    bool CountRecoveryFailure()
    {
        if (_ca.State == CaState.Recovery) Host.Count(IsSack ? MibCounter.TcpExtTCPSackRecoveryFail : MibCounter.TcpExtTCPRenoRecoveryFail);
        else if (_ca.State == CaState.Loss) Host.Count(MibCounter.TcpExtTCPLossFailures);
        else if (_ca.State == CaState.Disorder || _ca.SackedOut > 0) Host.Count(IsSack ? MibCounter.TcpExtTCPSackFailures : MibCounter.TcpExtTCPRenoFailures);
        else return false;
        return true;
    }

    /// <summary>tcp_stream_is_thin() — include/net/tcp.h: fewer than 4 packets out and past the initial slow start.</summary>
    bool StreamIsThin => PacketsOut < 4 && _ca.Ssthresh < TcpInfo.InfiniteSsthresh;

    /// <summary>
    /// Models tcp_rtx_probe0_timed_out() — net/ipv4/tcp_timer.c (6.10+): a zero-window RTO ends the connection
    /// only when no ACK came for more than 2·rto_max before the timer's expiry (icsk_timeout() − rcv_tstamp,
    /// in jiffies) and the retransmissions have lasted as long (rtx_delta, ms since retrans_stamp or the
    /// head's transmission); TCP_USER_TIMEOUT lowers the bound, and rtx_delta above it alone is fatal.
    /// linux-4.4: tcp_time_stamp − rcv_tstamp &gt; TCP_RTO_MAX (jiffies, now).
    /// </summary>
    bool RtxProbe0TimedOut(long rtxDeltaMs)
    {
        if (_sim.Profile == KernelProfile.Linux44)
            return Jiffies.At(_sim.Now) - Jiffies.At(_lastAckRecv) > Jiffies.FromDuration(RtoMax);
        long timeout = Jiffies.FromDuration(RtoMax * 2);
        if (UserTimeoutMs > 0)
        {
            if (rtxDeltaMs > UserTimeoutMs) return true;
            timeout = Math.Min(timeout, Jiffies.FromDuration(SimDuration.FromMilliseconds(UserTimeoutMs)));
        }
        long rcvDelta = Jiffies.At(_xmitTimer.Expires) - Jiffies.At(_lastAckRecv);
        if (rcvDelta <= timeout) return false;
        return Jiffies.FromDuration(SimDuration.FromMilliseconds(rtxDeltaMs)) > timeout;
    }

    /// <summary>
    /// The out_reset_timer: label of tcp_retransmit_timer(): a thin stream in ESTABLISHED (tcp_thin_linear_timeouts,
    /// tcp_stream_is_thin(), at most TCP_THIN_LINEAR_RETRIES) restarts its backoff and recomputes its RTO from the
    /// estimator — clamp(__tcp_set_rto(), rto_min, rto_max), which undoes a doubling from an earlier, thick RTO or a
    /// tcp_metrics seed; otherwise the RTO doubles (up to rto_max) — except in SYN_SENT during the
    /// tcp_syn_linear_timeouts first RTOs. Then the timer is re-armed (tcp_clamp_rto_to_user_timeout()).
    /// </summary>
    void OutResetTimer()
    {
        if (State == TcpState.Established && Host.Sysctls.TcpThinLinearTimeouts
            && StreamIsThin && _icsk.Retransmits <= TcpConstants.ThinLinearRetries)
        {
            _icsk.Backoff = 0;
            // linux-4.4: min(__tcp_set_rto(), TCP_RTO_MAX), without the rto_min floor.
            var floor = _sim.Profile == KernelProfile.Linux44 ? SimDuration.Zero : RtoMinimum;
            _icsk.Rto = SimDuration.Min(SimDuration.Max(EstimatedRto, floor), RtoMax);
        }
        else if (State != TcpState.SynSent || (_rare?.RetransStats?.TotalRto ?? 0) > Host.Sysctls.TcpSynLinearTimeouts)
        {
            // 6.8+: the backoff grows only with the doubling — not during SYN_SENT's linear timeouts, and also on the
            // zero-window branch, which jumps here.
            if (_sim.Profile != KernelProfile.Linux44) _icsk.Backoff++;
            _icsk.Rto = SimDuration.Min(_icsk.Rto * 2, RtoMax);
        }
        ResetXmitTimer(TcpTimerKind.Retransmit, ClampToUserTimeout(_icsk.Rto));
    }

    /// <summary>
    /// Models tcp_enter_loss() — net/ipv4/tcp_input.c: everything presumed lost (tcp_timeout_mark_lost()), ssthresh
    /// reduced once per window, cwnd = packets in flight + 1, tp->reordering back to at most tcp_reordering after a timeout
    /// in Open/Disorder with that many segments SACKed, CA_Loss with high_seq = snd_nxt, and F-RTO armed
    /// (tcp_frto) unless this RTO repeats one of a recovery already under way without a retransmission timeout.
    /// </summary>
    /// <summary>
    /// Models tcp_update_rto_stats() — net/ipv4/tcp_timer.c (6.7+): every RTO bumps icsk_retransmits and tp->total_rto; the
    /// first of an episode (icsk_retransmits still 0) starts an RTO recovery: total_rto_recoveries++ and rto_stamp = now (ms).
    /// </summary>
    void UpdateRtoStats()
    {
        var stats = RetransStatsToWrite;
        if (_icsk.Retransmits == 0)
        {
            stats.TotalRtoRecoveries++;
            stats.RtoStampMs = ClockMs(_sim.Now);
        }
        _icsk.Retransmits++;
        stats.TotalRto++;
    }

    /// <summary>
    /// Models tcp_update_rto_time() — net/ipv4/tcp_input.c: when CA_Loss ends, the recovery's milliseconds
    /// (tcp_time_stamp_ms() − rto_stamp) join total_rto_time and rto_stamp is cleared.
    /// </summary>
    void UpdateRtoTime()
    {
        if (_rare?.RetransStats is not { RtoStampMs: not 0 } stats) return;
        stats.TotalRtoTimeMs += ClockMs(_sim.Now) - stats.RtoStampMs;
        stats.RtoStampMs = 0;
    }

    /// <summary>tcp_clock_ms() (and tcp_time_stamp_ms(tp)) of a virtual time: the millisecond clock, in u32.</summary>
    static uint ClockMs(SimTime t) => unchecked((uint)(t.Ns / 1_000_000));

    /// <summary>
    /// tcp_clear_retrans() — net/ipv4/tcp_input.c, from tcp_disconnect(): retrans_out, lost_out and sacked_out (which
    /// tcp_write_queue_purge() leaves), undo_marker and the RTO statistics back to 0; with
    /// tcp_disconnect()'s bytes_retrans = 0.
    /// </summary>
    void ClearRetrans()
    {
        _ca.SackedOut = _ca.LostOut = _ca.RetransOut = 0;
        _ca.UndoMarker = 0; // (undo_retrans −1 as well: of no effect while undo_marker is 0, not kept here)
        if (_rare?.RetransStats is not { } stats) return;
        stats.BytesRetrans = 0; // tcp_disconnect(): bytes_retrans = 0
        stats.TotalRto = stats.TotalRtoRecoveries = 0;
        stats.TotalRtoTimeMs = stats.RtoStampMs = 0;
    }

    void EnterLoss()
    {
        bool newRecovery = _ca.State < CaState.Recovery;
        TimeoutMarkLost();
        // "Reduce ssthresh if it has not yet been made inside this window": from Open/Disorder, once high_seq is
        // acknowledged, or on the first timeout of a Loss episode (icsk_retransmits still 0) — not on a later RTO
        // of the same episode, nor on an RTO in fast recovery before its high_seq is acknowledged.
        if (_ca.State <= CaState.Disorder || !SeqMath.After(_ca.HighSeq, _snd.Una) || (_ca.State == CaState.Loss && _icsk.Retransmits == 0))
        {
            // prior_ssthresh = tcp_current_ssthresh(), prior_cwnd, CUBIC's ssthresh (cubictcp_recalc_ssthresh():
            // cwnd · 717 / 1024, at least 2), then tcp_init_undo().
            _ca.PriorSsthresh = CurrentSsthresh;
            _ca.PriorCwnd = _ca.Cwnd;
            _ca.Ssthresh = CaSsthresh();
            InitUndo();
        }
        // tcp_snd_cwnd_set(tp, tcp_packets_in_flight(tp) + 1): what is still in flight once the queue is marked lost.
        _ca.Cwnd = PacketsInFlight + 1;
        // "Timeout in disordered state after receiving substantial DUPACKs suggests that the degree of reordering is
        // over-estimated": back to at most tcp_reordering.
        byte sysctlReordering = unchecked((byte)Host.Sysctls.TcpReordering); // u8 reordering = READ_ONCE(net->ipv4.sysctl_tcp_reordering)
        if (_ca.State <= CaState.Disorder && _ca.SackedOut >= sysctlReordering)
            _ca.Reordering = Math.Min(_ca.Reordering, sysctlReordering);
        CaEnterLoss(); // snd_cwnd_cnt = 0, snd_cwnd_stamp
        SetCaState(CaState.Loss);
        _ca.HighSeq = _snd.Nxt;
        _ca.TlpOutstanding = false;
        EcnQueueCwr();
        // "F-RTO RFC5682 sec 3.1 step 1: retransmit SND.UNA if no previous loss recovery is underway except
        // recurring timeout(s) on the same SND.UNA (sec 3.2)."
        // "Disable F-RTO on path MTU probing": tcp_retransmit_timer() runs this before the retransmission that forgets the
        // probe, so a probe still in flight here keeps the RTO's recovery conventional.
        _ca.Frto = Host.Sysctls.TcpFrto && (newRecovery || _icsk.Retransmits > 0) && _mtup is not { ProbeSize: > 0 };
    }

    /// <summary>
    /// Models tcp_timeout_mark_lost() — net/ipv4/tcp_input.c: without SACK the duplicate-ACK count is forgotten
    /// (tcp_reset_reno_sack()); the head and every segment not SACKed and not sent within the last RACK RTT
    /// (tcp_rack_skb_timeout() &gt; 0: "Don't mark recently sent ones lost yet") is lost (tcp_mark_skb_lost()); a
    /// retransmission of a segment already lost is lost again (TCPCB_SACKED_RETRANS cleared: TCPLostRetransmit),
    /// so it goes out again. When the head is SACKed the receiver reneged (is_reneg): TCPSACKReneging, sacked_out = 0,
    /// and every segment loses its SACK mark and is lost, recently sent or not (tcp_is_sack_reneg for the rate sample
    /// is not modelled).
    /// </summary>
    void TimeoutMarkLost()
    {
        bool isReneg = _rtx.Count > 0 && _rtx[0].Sacked;
        if (isReneg)
        {
            Host.Count(MibCounter.TcpExtTCPSACKReneging);
            _ca.SackedOut = 0;
        }
        else if (!IsSack)
        {
            _ca.SackedOut = 0;
        }
        for (int i = 0; i < _rtx.Count; i++)
        {
            if (isReneg) _rtx[i] = _rtx[i] with { Sacked = false };
            else if (i > 0 && _rack.RttUs - (_sim.Now - _rtx[i].SentAt).Ns / 1000 > 0) continue;
            MarkSkbLost(i);
        }
    }

    /// <summary>Models tcp_write_timeout(): true when the connection was ended.</summary>
    bool WriteTimeout()
    {
        bool expired;
        if ((State is TcpState.SynSent or TcpState.SynRecv) && _sim.Profile == KernelProfile.Linux44)
        {
            // linux-4.4: retransmits_timed_out(sk, retry_until, syn_set ? 0 : icsk_user_timeout, syn_set) — the time
            // budget of tcp_syn_retries doublings from TCP_TIMEOUT_INIT only; TCP_USER_TIMEOUT does not count here.
            expired = RetransmitsTimedOut(SynRetries, 0, TcpConstants.TimeoutInit);
        }
        else if (State is TcpState.SynSent or TcpState.SynRecv)
        {
            // The count (plus tcp_syn_linear_timeouts in SYN_SENT), then — like data — the time budget
            // from the original SYN (tcp_connect set retrans_stamp) with tcp_timeout_init as base, or TCP_USER_TIMEOUT
            // (5.4+, "tcp: better handle TCP_USER_TIMEOUT in SYN_SENT state").
            int retryUntil = SynRetries;
            expired = _icsk.Retransmits >= retryUntil + (State == TcpState.SynSent ? Host.Sysctls.TcpSynLinearTimeouts : 0);
            if (!expired) expired = RetransmitsTimedOut(retryUntil, UserTimeoutMs, TcpConstants.TimeoutInit);
        }
        else
        {
            // Black hole detection (__dst_negative_advice() has nothing to drop: the engine keeps no route cache).
            if (RetransmitsTimedOut(Host.Sysctls.TcpRetries1, 0, TcpConstants.RtoMin)) MtuProbing();
            int retryUntil = Host.Sysctls.TcpRetries2;
            if (Dead)
            {
                bool alive = _icsk.Rto < RtoMax;
                retryUntil = OrphanRetries(alive);
                bool doReset = alive || !RetransmitsTimedOut(retryUntil, 0, TcpConstants.RtoMin);
                if (OutOfResources(doReset)) return true;
            }
            expired = RetransmitsTimedOut(retryUntil, UserTimeoutMs, TcpConstants.RtoMin);
        }
        if (!expired)
        {
            // sk_rethink_txhash(): a connected socket has a tx hash (tcp_v4_connect(), or the request's for a
            // child) and net.core.txrehash is 1, so every timeout that does not end the connection picks a new one.
            // "tp->timeout_rehash++; __NET_INC_STATS(..., LINUX_MIB_TCPTIMEOUTREHASH)"
            if (_sim.Profile == KernelProfile.Linux6)
            {
                RetransStatsToWrite.TimeoutRehash++;
                Host.Count(MibCounter.TcpExtTcpTimeoutRehash);
            }
            return false;
        }
        WriteErr("tcp_write_timeout");
        return true;
    }

    /// <summary>Models tcp_orphan_retries(): the sysctl, with 0 meaning 8 while the socket is "alive".</summary>
    int OrphanRetries(bool alive)
    {
        int retries = Host.Sysctls.TcpOrphanRetries;
        if (retries == 0 && alive) retries = 8;
        return retries;
    }

    /// <summary>Models retransmits_timed_out(): now − retrans_stamp ≥ (user timeout or tcp_model_timeout(boundary, base)).</summary>
    bool RetransmitsTimedOut(int boundary, int userTimeoutMs, SimDuration rtoBase)
    {
        if (_icsk.Retransmits == 0 || RetransStamp is not { } stamp) return false;
        var timeout = userTimeoutMs > 0
            ? SimDuration.FromMilliseconds(userTimeoutMs)
            : TcpConstants.ModelTimeout(boundary, rtoBase, RtoMax);
        return _sim.Now.Ms - stamp.Ms - timeout.TotalMilliseconds >= 0;
    }

    /// <summary>
    /// Models tcp_probe_timer() + tcp_send_probe0() — net/ipv4/tcp_timer.c / tcp_output.c:
    /// zero-window probes with backoff (capped by tcp_retries2), interval max(RTO,200 ms) doubled,
    /// at most rto_max. A non-orphan probes as long as the peer answers; an orphan dies once the
    /// backed-off interval reaches rto_max (silently), or after tcp_orphan_retries silent probes.
    /// </summary>
    void OnProbeTimer()
    {
        if (PacketsOut > 0 || !SeqMath.Before(_snd.Nxt, _snd.WriteSeq))
        {
            _icsk.ProbesOut = 0;
            _icsk.ProbesStampSet = false;
            return;
        }
        if (!_icsk.ProbesStampSet)
        {
            _icsk.ProbesStamp = _sim.Now;
            _icsk.ProbesStampSet = true;
        }
        else if (UserTimeoutMs > 0 && ProbesElapsedJiffies >= Jiffies.FromDuration(SimDuration.FromMilliseconds(UserTimeoutMs)))
        {
            WriteErr("tcp_probe_timer (TCP_USER_TIMEOUT)");
            return;
        }
        int maxProbes = Host.Sysctls.TcpRetries2;
        if (Dead)
        {
            // "alive" is inet_csk_rto_backoff(icsk, rto_max) < rto_max: icsk_rto, not tcp_probe0_base(), shifted by the backoff.
            bool alive = RtoBackoff(RtoMax) < RtoMax;
            maxProbes = OrphanRetries(alive);
            if (!alive && _icsk.Backoff >= maxProbes)
            {
                WriteErr("tcp_probe_timer (orphan)");
                return;
            }
            if (OutOfResources(true)) return;
        }
        if (_icsk.ProbesOut >= maxProbes)
        {
            WriteErr("tcp_probe_timer");
            return;
        }
        // tcp_send_probe0()
        WriteWakeup(MibCounter.TcpExtTCPWinProbe);
        if (PacketsOut > 0 || !SeqMath.Before(_snd.Nxt, _snd.WriteSeq))
        {
            _icsk.ProbesOut = 0;
            _icsk.Backoff = 0;
            _icsk.ProbesStampSet = false;
            return;
        }
        _icsk.ProbesOut++;
        if (_icsk.Backoff < Host.Sysctls.TcpRetries2) _icsk.Backoff++;
        ResetXmitTimer(TcpTimerKind.Persist, ClampProbeToUserTimeout(ProbeWhen(RtoMax)));
    }

    /// <summary>tcp_probe0_when(): probe base shifted by the backoff, capped at rto_max.</summary>
    SimDuration ProbeWhen(SimDuration max) => Backoff(ProbeBase, max);

    /// <summary>inet_csk_rto_backoff() — include/net/inet_connection_sock.h: icsk_rto &lt;&lt; icsk_backoff, at most <paramref name="max"/>.</summary>
    SimDuration RtoBackoff(SimDuration max) => Backoff(_icsk.Rto, max);

    /// <summary><paramref name="value"/> &lt;&lt; icsk_backoff (as a u64: no overflow at the backoffs allowed), at most <paramref name="max"/>.</summary>
    SimDuration Backoff(SimDuration value, SimDuration max)
    {
        long ns = value.Ns;
        for (int i = 0; i < _icsk.Backoff && ns < max.Ns; i++) ns <<= 1;
        return new SimDuration(Math.Min(ns, max.Ns));
    }

    /// <summary>
    /// Models tcp_clamp_probe0_to_user_timeout() — net/ipv4/tcp_timer.c, in whole jiffies: remaining =
    /// msecs_to_jiffies(user_timeout) − (jiffies − icsk_probes_tstamp), at least TCP_TIMEOUT_MIN (2 jiffies), and
    /// the probe interval no longer than that. 6.18 keeps remaining in a u32, so a negative one (an ACK after the
    /// user timeout passed, before the timer ran) is huge and leaves <paramref name="when"/>; a later stable fix
    /// ("prevent underflow", s32) makes it 2 jiffies.
    /// </summary>
    SimDuration ClampProbeToUserTimeout(SimDuration when)
    {
        if (UserTimeoutMs == 0 || !_icsk.ProbesStampSet) return when;
        long remaining = Jiffies.FromDuration(SimDuration.FromMilliseconds(UserTimeoutMs)) - ProbesElapsedJiffies;
        if (remaining < 0) return when; // max_t(u32, remaining, TCP_TIMEOUT_MIN) of a negative u32
        remaining = Math.Max(remaining, TcpConstants.TimeoutMinJiffies);
        return SimDuration.Min(when, Jiffies.ToDuration(remaining));
    }

    /// <summary>tcp_jiffies32 − icsk_probes_tstamp (never below 0).</summary>
    long ProbesElapsedJiffies => Math.Max(0, Jiffies.At(_sim.Now) - Jiffies.At(_icsk.ProbesStamp));

    /// <summary>
    /// Models tcp_delack_timer_handler(): ACKs held back by SACK compression go first ("Handling the sack compression
    /// case": tcp_sack_compress_send_ack(), nothing else); otherwise sends the pending ACK, and a missed ACK inflates
    /// ato or leaves ping-pong mode.
    /// </summary>
    void OnDelayedAckTimer()
    {
        RecordFired(_data!.DelackTimer);
        if (State is TcpState.Close or TcpState.Listen) return;
        if (CompressedAcks > 0)
        {
            SackCompressSendAck();
            return;
        }
        if (!Ack.Scheduled) return;
        if (!InPingPongMode)
        {
            // Delayed ACK missed: inflate ATO.
            AckToWrite.Ato = Jiffies.ToDuration(AtoField(Math.Min(Jiffies.FromDuration(Ack.Ato) * 2, Jiffies.FromDuration(_icsk.Rto))));
        }
        else
        {
            // Delayed ACK missed: leave ping-pong mode and deflate ATO.
            ExitPingPongMode();
            AckToWrite.Ato = TcpConstants.AtoMin;
        }
        SendAck("tcp_delack_timer");
        Host.Count(MibCounter.TcpExtDelayedACKs);
    }

    /// <summary>
    /// Models tcp_compressed_ack_kick() — net/ipv4/tcp_timer.c, the compressed-ACK hrtimer: with ACKs held back, one
    /// goes now ("subtract one from tp->compressed_ack to keep LINUX_MIB_TCPACKCOMPRESSED accurate"; tcp_event_ack_sent()
    /// counts the rest).
    /// </summary>
    void OnCompressedAckTimer()
    {
        RecordFired(_rare!.CompAck!.Timer);
        if (_rare?.CompAck is not { Count: > 0 } comp) return;
        comp.Count--;
        SendAck("tcp_compressed_ack_kick");
    }

    /// <summary>
    /// Models tcp_delack_max() — net/ipv4/tcp_output.c (6.11+, as 6.18): min(icsk_delack_max, max(tcp_rto_min(), 2) − 1),
    /// one jiffy below the RTO floor ("delack_from_rto_min") — with TCP_RTO_MIN (50 jiffies at HZ 250) that is 49 jiffies,
    /// 196 ms, below TCP_DELACK_MAX; a lower net.ipv4.tcp_rto_min_us (usecs_to_jiffies(), rounded up) lowers it further.
    /// </summary>
    SimDuration DelackMax => SimDuration.Min(TcpConstants.DelackMax, Jiffies.ToDuration(Math.Max(Jiffies.FromDuration(RtoMinimum), 2) - 1));

    /// <summary>
    /// The last step of tcp_send_delayed_ack() and tcp_get_info()'s tcpi_ato on 6.x: min(ato, tcp_delack_max()). linux-4.4
    /// has neither: its delayed ACK waits the whole ato (after the HZ/2 and srtt bounds) and tcpi_ato is the raw icsk_ack.ato.
    /// </summary>
    SimDuration CapByDelackMax(SimDuration ato) => _sim.Profile == KernelProfile.Linux44 ? ato : SimDuration.Min(ato, DelackMax);

    /// <summary>
    /// Models tcp_send_delayed_ack(): the ACK timer at ATO (the next tick when ATO is still 0,
    /// i.e. nothing was received yet), within its HZ/2 (TCP_DELACK_MAX) and srtt bounds and, on 6.x, tcp_delack_max().
    /// </summary>
    void ScheduleDelayedAck()
    {
        AckToWrite.Scheduled = true;
        var ato = Ack.Ato;
        if (ato > TcpConstants.AtoMin)
        {
            // Bounded by HZ/2 (TCP_DELACK_MAX in ping-pong mode or with ICSK_ACK_PUSHED) and by the smoothed RTT.
            var maxAto = InPingPongMode || Ack.Pushed ? TcpConstants.DelackMax : SimDuration.FromMilliseconds(500);
            if (_rtt.SrttUs != 0)
            {
                var rtt = SimDuration.Max(Jiffies.ToDuration(Jiffies.FromDuration(SimDuration.FromMicroseconds(_rtt.SrttUs >> 3))), TcpConstants.AtoMin);
                if (rtt < maxAto) maxAto = rtt;
            }
            ato = SimDuration.Min(ato, maxAto);
        }
        ato = CapByDelackMax(ato);
        if (_data is { DelackTimer: { Armed: true, Expires: var expires } })
        {
            // ICSK_ACK_TIMER already: "If delack timer is about to expire, send ACK now" (within ato / 4 jiffies),
            // else the earlier of the two expiries stays.
            long now = Jiffies.At(_sim.Now), atoJiffies = Jiffies.FromDuration(ato);
            if (Jiffies.At(expires) <= now + (atoJiffies >> 2))
            {
                SendAck("tcp_send_delayed_ack (timer about to expire)");
                return;
            }
            if (Jiffies.At(expires) <= now + atoJiffies) return;
        }
        ArmDelackTimer(ato);
    }

    /// <summary>
    /// Models tcp_keepalive_timer() — net/ipv4/tcp_timer.c. For an orphan in FIN_WAIT2 it is the
    /// FIN_WAIT2 timer: the rest of fin_time goes to a timewait socket, or (linger2 &lt; 0, or no
    /// time left) an active RST and death. Otherwise keepalive: idle → probe (snd_una − 1),
    /// after TCP_KEEPCNT unanswered probes (or TCP_USER_TIMEOUT) an active RST and ETIMEDOUT.
    /// </summary>
    void OnKeepaliveTimer()
    {
        RecordFired(KeepaliveTimer.State); // FinWait2 when the orphan's FIN_WAIT2 arming fired, else Keepalive
        if (State == TcpState.FinWait2 && Dead)
        {
            if (Linger2 >= 0)
            {
                var tmo = FinTime() - TcpConstants.TimeWaitLen;
                if (tmo.Ns > 0)
                {
                    TimeWait(TcpState.FinWait2, tmo, "tcp_keepalive_timer (FIN_WAIT2)");
                    return;
                }
            }
            SendActiveReset("tcp_keepalive_timer (FIN_WAIT2)");
            Done("tcp_keepalive_timer (FIN_WAIT2)");
            return;
        }
        if (!KeepOpen || State is TcpState.Close or TcpState.SynSent or TcpState.Listen) return;
        // The timer's `u32 elapsed` takes keepalive_time_when() / keepalive_intvl_when() (int jiffies) and is compared
        // with the int keepalive_time_when() as unsigned: a negative tcp_keepalive_time (proc_dointvec_jiffies takes
        // one) is never reached and re-arms ~2^32 jiffies ahead; a negative tcp_keepalive_intvl re-arms as far after a
        // probe. Observed on Linux 6.18.44: tcp_keepalive_time -1 sends no probe, the timer reads 71582min in ss.
        uint when = unchecked((uint)(KeepaliveTimeSec * Jiffies.Hz));
        uint next;
        if (PacketsOut > 0 || SeqMath.Before(_snd.Nxt, _snd.WriteSeq))
        {
            next = when;
        }
        else
        {
            uint elapsed = KeepaliveElapsedJiffies;
            if (elapsed >= when)
            {
                bool userExpired = UserTimeoutMs != 0 && Jiffies.ToDuration(elapsed) >= SimDuration.FromMilliseconds(UserTimeoutMs) && _icsk.ProbesOut > 0;
                if (userExpired || (UserTimeoutMs == 0 && _icsk.ProbesOut >= KeepaliveProbes))
                {
                    SendActiveReset("tcp_keepalive_timer");
                    WriteErr("tcp_keepalive_timer");
                    return;
                }
                WriteWakeup(MibCounter.TcpExtTCPKeepAlive);
                _icsk.ProbesOut++;
                next = unchecked((uint)(KeepaliveIntvlSec * Jiffies.Hz));
            }
            else
            {
                next = when - elapsed; // "It is tp->rcv_tstamp + keepalive_time_when(tp)"
            }
        }
        ArmTimer(KeepaliveTimer, TcpTimerKind.Keepalive, Jiffies.ToDuration(next));
    }

    /// <summary>
    /// Models keepalive_time_elapsed() — include/net/tcp.h: min(now − icsk_ack.lrcvtime, now − rcv_tstamp), jiffies since
    /// in-order data was last queued (tcp_event_data_recv(), tcp_finish_connect(), tcp_create_openreq_child()) or an
    /// acceptable ACK last processed (tcp_ack()). A segment that only passes the sequence check — a pure ACK of unsent
    /// data or an old one, an out-of-order segment — moves neither: observed on Linux 6.18.44, TCP_KEEPIDLE 1 s set 2.3 s
    /// after the last data sends a probe at once although ACKs came 0.2 s before. The subtraction is the kernel's, in u32
    /// jiffies: before the connection is established (a simultaneous open in SYN-RECV) both fields are still 0, so the
    /// elapsed time is the whole jiffies counter — more than any idle time (observed on Linux 6.18.44: TCP_KEEPIDLE set
    /// in SYN-RECV fires at once, and the timer, finding the SYN-ACK unacknowledged, re-arms a full keepalive time).
    /// </summary>
    uint KeepaliveElapsedJiffies
    {
        get
        {
            uint now = Jiffies32At(_sim.Now);
            uint rcvTstamp = TransferStamped ? Jiffies32At(_lastAckRecv) : 0;
            return Math.Min(unchecked(now - Lrcvtime32), unchecked(now - rcvTstamp));
        }
    }

    SimDuration KeepaliveElapsed => Jiffies.ToDuration(KeepaliveElapsedJiffies);

    /// <summary>Models tcp_set_keepalive(): arming keepalive_time from now; off in CLOSE/LISTEN.</summary>
    void SetKeepalive(bool on)
    {
        bool was = KeepOpen;
        Keepalive.On = on;
        if (State is TcpState.Close or TcpState.Listen) return;
        if (on && !was) ArmTimer(KeepaliveTimer, TcpTimerKind.Keepalive, SimDuration.FromSeconds(KeepaliveTimeSec));
        else if (!on && _rare?.KeepaliveTimer is { } keepalive) CancelTimer(keepalive);
    }

    /// <summary>tcp_sock_set_keepidle_locked(): re-arms an active keepalive for the remaining idle time.</summary>
    void SetKeepIdle(int seconds)
    {
        Keepalive.IdleSec = seconds;
        if (!KeepOpen || State is TcpState.Close or TcpState.Listen) return;
        var idle = SimDuration.FromSeconds(seconds);
        var elapsed = KeepaliveElapsed;
        ArmTimer(KeepaliveTimer, TcpTimerKind.Keepalive, idle > elapsed ? idle - elapsed : SimDuration.Zero);
    }

    /// <summary>
    /// Models tcp_fin_time() — include/net/tcp.h: TCP_LINGER2 if positive else tcp_fin_timeout,
    /// raised to at least 3.5 × RTO.
    /// </summary>
    SimDuration FinTime()
    {
        var fin = SimDuration.FromSeconds(Linger2 > 0 ? Linger2 : Host.Sysctls.TcpFinTimeoutSec);
        return SimDuration.Max(fin, ThreeAndAHalfRto);
    }
}
