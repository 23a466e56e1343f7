using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>
    /// Models tcp_close() / __tcp_close() — net/ipv4/tcp.c, steps 1–7: reached when the last
    /// descriptor goes (the caller has released it: <see cref="SimProcess.ReleaseFd"/>). Unread data → RST (TCPAbortOnClose); SO_LINGER {1,0} → tcp_disconnect
    /// (TCPAbortOnData); else the close state table and a FIN. SO_LINGER {1,N} (not while the
    /// process exits) blocks while FIN_WAIT1/CLOSING/LAST_ACK, at most N s, and returns 0.
    /// </summary>
    internal CallOutcome Close(PendingCall call)
    {
        var process = call.Process;
        Fd = 0;
        bool linger = LingerOn && !process.Exiting;
        RcvShutdown = SendShutdown = true;
        if (State == TcpState.Listen)
        {
            TransitionTo(TcpState.Close, "tcp_close (LISTEN)");
            ListenStop();
        }
        else
        {
            long unread = _rcv.Unread;
            // __tcp_close() frees sk_receive_queue only: the out-of-order queue (and the SACK blocks that describe it)
            // stays until the socket is destroyed, so the RST of an unread close or SO_LINGER {1, 0}, and an orphan's
            // ACKs, still carry them — observed on Linux 6.18.44 (kernel --fuzz-pkt seeds 1021, 1023).
            DropReceiveQueue("close() discarded unread data");
            if (State == TcpState.Close)
            {
                // already reset or never connected
            }
            else if (unread > 0)
            {
                // RFC 2525 §2.17: unread data → RST instead of FIN.
                Host.Count(MibCounter.TcpExtTCPAbortOnClose);
                TransitionTo(TcpState.Close, "__tcp_close (unread data)");
                SendActiveReset("__tcp_close (unread data)");
            }
            else if (LingerOn && LingerJiffies == 0)
            {
                Disconnect("__tcp_close (SO_LINGER 0)");
                Host.Count(MibCounter.TcpExtTCPAbortOnData);
            }
            else
            {
                CloseStateAndFin("__tcp_close");
            }
            if (linger && StreamClosing && Sleep(call, LingerJiffies, TcpTimerKind.Linger))
            {
                // sk_stream_wait_close(sk, sk_lingertime): sk_wait_event() until !sk_stream_closing(), the
                // timeout used up or a signal.
                PendingClose = call;
                return CallOutcome.Block;
            }
        }
        FinishClose();
        return CallOutcome.Ok();
    }

    /// <summary>Models sk_stream_closing() — net/core/stream.c: FIN_WAIT1, CLOSING or LAST_ACK, what a lingering close() waits out.</summary>
    bool StreamClosing => State is TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck;

    /// <summary>
    /// A wakeup of the socket's wait queue (sk_state_change(), sk_data_ready(), sk_stream_write_space():
    /// woken_wake_function() takes any) reaches a close() asleep in sk_stream_wait_close(); the task runs as an item
    /// of this instant queued after those already due (<see cref="LingerWoken"/>), whoever woke it.
    /// </summary>
    void WakeLingeringClose()
    {
        if (PendingClose is not null) _sim.QueueTask(this, ref _woken, WokenTasks.Close);
    }

    /// <summary>
    /// Models sk_stream_wait_close()'s loop — net/core/stream.c: the woken task re-tests !sk_stream_closing();
    /// while it still holds (a simultaneous FIN moved FIN_WAIT1 to CLOSING, an ACK freed send space) it calls
    /// sk_wait_event() again with the timeout schedule_timeout() returned — the jiffies left, i.e. a new timer
    /// for the first expiry, placed on the wheel from the clock of the new sleep (<see cref="CallSleep.Arm"/>).
    /// </summary>
    void LingerWoken()
    {
        if (PendingClose is not { } call) return;
        if (StreamClosing)
        {
            Sleep(call, LingerJiffies, TcpTimerKind.Linger);
            return;
        }
        EndLinger();
    }

    void EndLinger()
    {
        if (PendingClose is not { } call) return;
        PendingClose = null;
        call.Sleep?.Cancel(); // also for a close no caller waits on (dup2(), a returning call's fdput())
        FinishClose();
        _sim.CompleteCall(call, 0, null);
    }

    /// <summary>
    /// __tcp_close steps 8–11: orphan the socket (sock_orphan(): SOCK_DEAD, no struct socket; orphan count), apply the orphan
    /// FIN_WAIT2 rules (linger2 &lt; 0 → RST + TCPAbortOnLinger; fin_time ≤ 60 s → timewait
    /// socket with substate FIN_WAIT2; else the full socket on its keepalive timer), then
    /// tcp_check_oom(), and destroy it if it is CLOSE.
    /// </summary>
    void FinishClose()
    {
        // sock_orphan(): SOCK_DEAD and sk_set_socket(sk, NULL) — only now, after any linger wait, does the socket lose
        // its struct socket (the inode /proc/net/tcp prints).
        Owner = null;
        Dead = true;
        Host.OrphanCount++;
        if (State == TcpState.FinWait2)
        {
            if (Linger2 < 0)
            {
                TransitionTo(TcpState.Close, "__tcp_close (TCP_LINGER2 < 0)");
                SendActiveReset("__tcp_close (TCP_LINGER2 < 0)");
                Host.Count(MibCounter.TcpExtTCPAbortOnLinger);
            }
            else
            {
                var tmo = FinTime();
                if (tmo > TcpConstants.TimeWaitLen)
                {
                    ArmTimer(KeepaliveTimer, TcpTimerKind.FinWait2, tmo - TcpConstants.TimeWaitLen);
                }
                else
                {
                    TimeWait(TcpState.FinWait2, tmo, "__tcp_close (orphan FIN_WAIT2)");
                    return;
                }
            }
        }
        if (State != TcpState.Close && CheckOom(0))
        {
            TransitionTo(TcpState.Close, "__tcp_close (tcp_check_oom)");
            SendActiveReset("__tcp_close (tcp_check_oom)");
            Host.Count(MibCounter.TcpExtTCPAbortOnMemory);
        }
        if (State == TcpState.Close) Destroy();
    }

    /// <summary>
    /// Models tcp_check_oom() — net/ipv4/tcp.c: too many orphans (<see cref="Host.TooManyOrphans"/>: tcp_orphan_cache,
    /// refreshed every 104 ms by tcp_orphan_timer, shifted; linux-4.4 the per-CPU counter), or tcp_out_of_memory()
    /// (include/net/tcp.h: sk_wmem_queued above SOCK_MIN_SNDBUF while TCP memory is above tcp_mem[2]), each with
    /// its rate-limited log line.
    /// </summary>
    bool CheckOom(int shift)
    {
        bool tooMany = Host.TooManyOrphans(shift);
        bool outOfMemory = WmemQueued > TcpConstants.SockMinSndBuf && Host.TcpMemPages > Host.Sysctls.TcpMem[2];
        if (tooMany) Host.LogRateLimited("TCP: too many orphaned sockets");
        if (outOfMemory) Host.LogRateLimited("TCP: out of memory -- consider tuning tcp_mem");
        return tooMany || outOfMemory;
    }

    /// <summary>
    /// Re-computes this socket's share of the host's TCP pages after its queues changed: the pages
    /// sk_mem_schedule() took and sk_mem_reclaim() has not given back — sk_wmem_queued + sk_rmem_alloc +
    /// sk_forward_alloc, a whole number of pages (what __sk_mem_raise_allocated() / __sk_mem_reduce_allocated() move
    /// memory_allocated by). Without <paramref name="pressure"/> the pressure is neither entered nor left: the pages of
    /// sk_forced_mem_schedule(), or the sk_memory_allocated_sub() of a refused schedule.
    /// </summary>
    void Recharge(bool pressure = true)
    {
        long charged = WmemQueued + RmemAlloc + FwdAllocNow;
        Host.ChargeTcpMemory(charged - (_data?.MemCharged ?? 0), pressure);
        Data(charged != 0)?.MemCharged = charged;
    }

    /// <summary>
    /// Models tcp_out_of_resources() — net/ipv4/tcp_timer.c, on each RTO/probe firing of an
    /// orphan: idle for 2·rto_max or no reset wanted doubles the weight; when over the limit the
    /// orphan is killed (RST if wanted, or sent within 60 s, or zero window) with TCPAbortOnMemory.
    /// </summary>
    bool OutOfResources(bool doReset)
    {
        int shift = 0;
        if (_sim.Now - _snd.Lsndtime > RtoMax * 2 || !doReset) shift++;
        if (!CheckOom(shift)) return false;
        if (doReset || _sim.Now - _snd.Lsndtime <= TcpConstants.TimeWaitLen || (_snd.Wnd == 0 && PacketsOut == 0))
            SendActiveReset("tcp_out_of_resources");
        Done("tcp_out_of_resources");
        Host.Count(MibCounter.TcpExtTCPAbortOnMemory);
        return true;
    }

    /// <summary>
    /// Models tcp_disconnect() — net/ipv4/tcp.c (SO_LINGER 0, shutdown in SYN_SENT, listener
    /// SHUT_RD, connect(AF_UNSPEC)): CLOSE; an active RST when tcp_need_reset() (ESTABLISHED,
    /// CLOSE_WAIT, FIN_WAIT1/2, SYN_RECV) or CLOSING/LAST_ACK with unsent data; both queues purged;
    /// the port released unless bind() chose it (tcp_set_state(CLOSE): inet_put_port() without
    /// SOCK_BINDPORT_LOCK); write_seq moved on by max_window + 2 (1 if that wraps to 0), which the next
    /// tcp_v4_connect() keeps as its ISN since rx_opt was cleared (memset: no ts_recent_stamp, so the next SYN offers a
    /// fresh socket's window, 64240, as observed on Linux 6.18.44); the socket can connect again.
    /// </summary>
    void Disconnect(string cause)
    {
        var old = State;
        if (old != TcpState.Close) TransitionTo(TcpState.Close, cause);
        if (old == TcpState.Listen)
        {
            ListenStop();
        }
        else if (old is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.SynRecv
                 || (_snd.Nxt != _snd.WriteSeq && old is TcpState.Closing or TcpState.LastAck))
        {
            SendActiveReset(cause);
            SoftError = Errno.ECONNRESET;
        }
        else if (old == TcpState.SynSent)
        {
            SoftError = Errno.ECONNRESET;
        }
        CancelAllTimers();
        PurgeReceiveQueue("tcp_disconnect discarded received data");
        PurgeWriteQueue("tcp_disconnect discarded queued data");
        ClearRetrans();
        if (BoundPort && !UserBoundPort) ReleasePort();
        RcvShutdown = SendShutdown = false;
        SockDone = FinCopied = false;
        Remote = default;
        uint seq = unchecked(_snd.WriteSeq + _snd.MaxWindow + 2);
        _snd.WriteSeq = seq == 0 ? 1 : seq;
        _snd.WriteSeqKept = true;
        DisconnectResets();
        // memset(&tp->rx_opt, 0, …): no peer timestamp (ts_recent_stamp 0), so the next SYN's window is a fresh socket's;
        // mss_clamp as tcp_v4_connect() sets it (TCP_MSS_DEFAULT).
        _rxOpt = new() { MssClamp = TcpConstants.MssDefault };
        // The same memset clears a listener's ts_recent_stamp, its SYN-queue overflow stamp (tcp_synq_overflow()): listening
        // again, it resets the ACK of a cookie it sent before (a SO_REUSEPORT group's stamp is the group's, and stays).
        if (_rare?.Listen is { } listen) listen.SynqOverflowStamp = 0;
        _sockState = SocketState.Unconnected; // the callers' "sock->state = SS_UNCONNECTED"
        // tcp_disconnect(): "There's a bubble in the pipe until at least the first ACK." (app_limited = ~0U, rate_app_limited = 1)
        _rate.AppLimited = uint.MaxValue;
        _rate.RateAppLimited = true;
        WakeAll();
    }

    /// <summary>
    /// The rest of tcp_disconnect()'s resets — net/ipv4/tcp.c —, as TCP_INFO reads them on the closed socket and as the
    /// next connect() of the same socket starts from them (observed on Linux 6.18.44:
    /// scenarios/disconnect-resets-tcp-info-counters.json): srtt_us 0 and mdev_us = TCP_TIMEOUT_INIT (tcpi_rttvar 250000),
    /// icsk_probes_out and icsk_probes_tstamp, icsk_rto = TCP_TIMEOUT_INIT, snd_ssthresh infinite, cwnd TCP_INIT_CWND,
    /// CA_Open, delivered, total_retrans, bytes_sent / bytes_acked / bytes_received / bytes_retrans, segs_in / segs_out and the data
    /// segment counts, reord_seen; inet_csk_delack_init() zeroes icsk_ack (ato 0, lrcvtime 0, ping-pong off) and
    /// rcv_mss becomes TCP_MIN_MSS. mss_cache is left: tcpi_snd_mss keeps the connection's MSS although rx_opt is
    /// cleared (so it is held as the connect-time value until the next tcp_connect_init()). min_rtt, the pacing and
    /// delivery rates and the chronographs are left too. linux-4.4 (read from the source) resets srtt, the backoff, the
    /// probes, ssthresh, snd_cwnd_cnt, the CA state and icsk_ack, and sets cwnd to 2.
    /// What a reconnect would meet again (session 33): snd_cwnd_cnt (a stale credit makes the first +1 of congestion
    /// avoidance early), tlp_high_seq (an old probe outstanding: the reconnect's SYN-ACK "acknowledges" it — with a
    /// retransmitted probe a CWR episode and TCPLossProbeRecovery — and no new probe goes until then), dsack_dups
    /// (reset with total_retrans, else tcp_dsack_seen() finds every D-SACK of the new connection dubious) and the RACK state.
    /// Reset too but not observable here: is_cwnd_limited and max_packets_out (tcp_cwnd_validate() replaces them at the
    /// first send, cwnd_usage_seq being below the new ISN), window_clamp (tcp_connect_init() computes it as from 0, which
    /// the engine always does), duplicate_sack (rx_opt.dsack, cleared above, says whether it is sent).
    /// </summary>
    void DisconnectResets()
    {
        if (MssSynced) _connectMssCache = MssCache;
        _rtt.SrttUs = 0;
        _icsk.Backoff = 0;
        _icsk.ProbesOut = 0;
        _ca.Ssthresh = TcpInfo.InfiniteSsthresh;
        _cwnd.Cnt = 0;
        SetCaState(CaState.Open);
        if (_data is { } ack) ack.Ack = default; // inet_csk_delack_init(): icsk_ack zeroed, lrcvtime with it
        _lrcvTime = 0;
        LrcvStamped = false;
        if (_sim.Profile == KernelProfile.Linux44)
        {
            _ca.Cwnd = 2; // linux-4.4: "tp->snd_cwnd = 2", and neither the RTO nor the counters below
            return;
        }
        _ca.Cwnd = TcpConstants.InitCwnd;
        _rtt.MdevUs = TcpConstants.TimeoutInit.Ns / 1_000;
        _icsk.ProbesStampSet = false;
        _icsk.Rto = TcpConstants.TimeoutInit;
        _ca.ReordSeen = 0;
        _ca.DsackDups = 0;
        if (_rare is { } rare) rare.RcvOoopack = 0;
        _ca.TlpOutstanding = false; // tlp_high_seq = 0
        _ca.TlpHighSeq = 0;
        _cwnd.MaxPacketsOut = 0;
        CwndLimited = false; // is_cwnd_limited
        _rcv.WindowClamp = 0;
        _rack.Disconnect();
        _delivered = 0;
        _segsOut = _segsIn = 0;
        _snd.Iss = _snd.Una; // bytes_acked = 0 (the engine counts it from the ISS)
        _rcv.Irs = _rcv.Nxt; // bytes_received = 0 (the engine counts it from the IRS; InfoSynchronized)
        if (_rare?.RetransStats is { } stats) stats.TotalRetrans = 0;
        if (_data is { } data)
        {
            data.BytesSent = 0;
            data.DataSegsOut = data.DataSegsIn = 0;
        }
        _rcvMss = TcpConstants.MinMss;
    }

    /// <summary>
    /// Models tcp_done() — net/ipv4/tcp.c: AttemptFails from SYN_SENT/SYN_RECV, CLOSE, timers
    /// cleared, both directions shut; waiters are woken, an orphan is destroyed.
    /// </summary>
    void Done(string cause)
    {
        if (State is TcpState.SynSent or TcpState.SynRecv) Host.Count(MibCounter.TcpAttemptFails);
        TransitionTo(TcpState.Close, cause);
        CancelAllTimers();
        RcvShutdown = SendShutdown = true;
        if (!Dead) WakeAll();
        else Destroy();
    }

    /// <summary>
    /// Models tcp_reset() — net/ipv4/tcp_input.c, an acceptable RST: the error is ECONNREFUSED in
    /// SYN_SENT, EPIPE in CLOSE_WAIT, ECONNRESET otherwise; queued data is discarded.
    /// </summary>
    internal void Reset(string cause)
    {
        string err;
        switch (State)
        {
            case TcpState.SynSent: err = Errno.ECONNREFUSED; break;
            case TcpState.CloseWait: err = Errno.EPIPE; break;
            case TcpState.Close: return;
            default: err = Errno.ECONNRESET; break;
        }
        PurgeWriteQueue("RST received");
        SoftError = err;
        Done(cause);
    }

    /// <summary>Models tcp_write_err(): ETIMEDOUT (silent: no RST), queue purged, TCPAbortOnTimeout.</summary>
    void WriteErr(string cause)
    {
        SoftError = Errno.ETIMEDOUT;
        PurgeWriteQueue("connection timed out");
        Done(cause);
        Host.Count(MibCounter.TcpExtTCPAbortOnTimeout);
    }

    /// <summary>
    /// Models tcp_time_wait() — net/ipv4/tcp_minisocks.c: a timewait socket replaces this one
    /// (TIME_WAIT always 60 s; FIN_WAIT2 substate the given time, at least 3.5·RTO), counted as
    /// TW, or TWKilled when armed for at most 4 s; when tcp_max_tw_buckets is reached nothing
    /// replaces it (TCPTimeWaitOverflow, no log line in 4.4 or 6.18). Then tcp_done() on the full socket.
    /// </summary>
    void TimeWait(TcpState substate, SimDuration timeout, string cause)
    {
        if (timeout < ThreeAndAHalfRto) timeout = ThreeAndAHalfRto;
        if (substate == TcpState.TimeWait)
        {
            timeout = TcpConstants.TimeWaitLen;
            // linux-4.4 tcp_tw_recycle: with a remembered peer timestamp, TIME-WAIT lasts 3.5·RTO.
            if (Host.Sysctls.TcpTwRecycle && _rxOpt.TsOk && _rxOpt.TsRecentStampSec != 0)
            {
                Host.RememberPeerTimestamp(Remote.Address, _rxOpt.TsRecent, _rxOpt.TsRecentStampSec);
                timeout = ThreeAndAHalfRto;
            }
        }
        if (TimeWaitBucketsFull())
        {
            // Counted, never logged: "TCP: time wait bucket table overflow" went in 2.6/3.x, long before 4.4.
            Host.Count(MibCounter.TcpExtTCPTimeWaitOverflow);
        }
        else
        {
            Host.TimeWaits.Create(this, substate, _rxOpt.TsOk, _rxOpt.TsRecent, _rxOpt.TsRecentStampSec, _tsOffset, ReceiveWindow(), _rxOpt.RcvWscale,
                ThreeAndAHalfRto, timeout, cause);
        }
        UpdateMetrics();
        Done(cause);
    }

    /// <summary>inet_twsk_alloc()'s limit, as each profile's kernel compares it (<see cref="SysctlTable.TimeWaitLimit"/>).</summary>
    bool TimeWaitBucketsFull() => Host.Sysctls.TimeWaitLimit is { } limit && Host.TimeWaitCount >= limit;

    /// <summary>
    /// Models tcp_update_metrics() — net/ipv4/tcp_metrics.c, called by tcp_time_wait() (TIME-WAIT and the orphan
    /// FIN-WAIT-2 alike, even when no timewait socket could be had) and by LAST-ACK → CLOSE: unless
    /// net.ipv4.tcp_no_metrics_save, the host's cache takes this connection's srtt (<see cref="TcpMetrics.Update"/>).
    /// linux-4.4's cache is not modelled.
    /// </summary>
    void UpdateMetrics()
    {
        if (_sim.Profile == KernelProfile.Linux44 || Host.Sysctls.Get("net.ipv4.tcp_no_metrics_save") != 0) return;
        Host.TcpMetrics.Update(Local.Address, Remote.Address, _sim.Now, _icsk.Backoff, _rtt.SrttUs);
    }

    /// <summary>
    /// Models inet_csk_listen_stop() — net/ipv4/inet_connection_sock.c: every established child not yet accepted moves to
    /// the listener <see cref="ReuseportMigrate"/> picks — inet_reqsk_clone() and inet_csk_reqsk_queue_add(), which
    /// checks no backlog and wakes no accept() (no sk_data_ready()); TCPMigrateReqSuccess — or, with none, is
    /// disconnected (active RST) and destroyed (inet_child_forget()); request sockets are left to notice the listener's
    /// absence on their own (<see cref="RequestSocket"/>).
    /// </summary>
    void ListenStop()
    {
        if (_rare?.Listen is not { } listen) return;
        while (listen.Accept.TryDequeue(out var child))
        {
            if (ReuseportMigrate() is { } nsk)
            {
                child.Parent = nsk;
                nsk.AcceptQueue.Enqueue(child);
                Host.Count(MibCounter.TcpExtTCPMigrateReqSuccess);
                continue;
            }
            child.Disconnect("inet_csk_listen_stop");
            child.Dead = true;
            Host.OrphanCount++;
            child.Destroy();
        }
        while (listen.Waiters.TryDequeue(out var call)) _sim.CompleteCall(call, -1, Errno.EINVAL);
    }

    /// <summary>
    /// Models reuseport_migrate_sock() — net/core/sock_reuseport.c — for this listener, closed or shut down, with no BPF
    /// program (the engine has none): null if it left its SO_REUSEPORT group (none, or net.ipv4.tcp_migrate_req was off
    /// when it stopped listening: reuseport_detach_sock()); TCPMigrateReqFailure and null if the group has no listener
    /// left or the sysctl is off now; else reuseport_select_sock_by_hash() on the child's or request's hash, for which
    /// the engine takes the listener a new SYN finds (<see cref="Host.FindListener"/>: the group's first in listen()
    /// order), the kernel's hash having a secret of the boot.
    /// </summary>
    internal TcpSocket? ReuseportMigrate()
    {
        if (Reuseport is not { } group) return null;
        if (group.Listening.Count == 0 || !Host.Sysctls.TcpMigrateReq)
        {
            Host.Count(MibCounter.TcpExtTCPMigrateReqFailure);
            return null;
        }
        return group.Listening[0];
    }

    /// <summary>Models inet_csk_destroy_sock(): timers stopped, queues purged, the port released, the orphan count decremented.</summary>
    void Destroy()
    {
        if (Destroyed) return;
        CancelAllTimers();
        PurgeWriteQueue("socket destroyed");
        PurgeReceiveQueue("socket destroyed with unread data");
        Unhash();
        if (BoundPort) ReleasePort();
        if (Dead) Host.OrphanCount--;
        Destroyed = true;
        _xmitTimer.Cancel(this, XmitTimerKey); // silently, as Detach() does: CancelAllTimers() journaled the armed ones
        _data?.DelackTimer.Cancel(this, DelackTimerKey);
        _rare?.CompAck?.Timer.Cancel(this, CompressedAckTimerKey);
        _rare?.KeepaliveTimer?.Detach();
        GiveBackQueues();
        Host.Free(this);
        _sim.Bury(this, LastStateBeforeClose);
        FreeToSlab();
    }

    /// <summary>
    /// The purged write and receive queues' lists go to the simulation's <see cref="FreeQueues"/> for the next sockets
    /// (the retransmission queue's went when the purge emptied it); a destroyed socket reads as empty queues.
    /// </summary>
    void GiveBackQueues()
    {
        _sim.FreeQueues.Give(_data?.SndSkbs);
        Data(nonZero: false)?.SndSkbs = null;
        _sim.FreeQueues.Give(_data?.RcvQueue);
        Data(nonZero: false)?.RcvQueue = null;
    }

    /// <summary>Receive-queue bytes the application will never read are lost to the sender; the out-of-order queue goes too.</summary>
    void PurgeReceiveQueue(string reason)
    {
        Ofo.Clear();
        NumSacks = 0;
        DropReceiveQueue(reason);
    }

    /// <summary>The in-order receive queue freed (__tcp_close()'s loop over sk_receive_queue); its unread bytes are lost to the sender.</summary>
    void DropReceiveQueue(string reason)
    {
        if (_rcv.Unread > 0) _sim.RecordLost(PeerSocketId, Host, _rcv.Unread, reason);
        _rcv.Unread = 0;
        ClearRcvQueue();
        Recharge();
    }

    /// <summary>
    /// tcp_write_queue_purge() — net/ipv4/tcp.c: queued bytes the peer never acknowledged are lost. It frees the skbs,
    /// sets packets_out and (4.20+) icsk_backoff to 0, but leaves snd_una, snd_nxt and write_seq, so SIOCOUTQ
    /// (write_seq − snd_una) on the socket a reset or timeout closed still counts the bytes the peer never acknowledged,
    /// and leaves sacked_out, lost_out and retrans_out (only tcp_disconnect()'s tcp_clear_retrans() clears them): after
    /// tcp_write_err() or tcp_reset() tcpi_backoff reads 0 while tcpi_lost and tcpi_retrans keep their counts, as
    /// observed on Linux 6.18.44. linux-4.4's purge resets neither.
    /// </summary>
    void PurgeWriteQueue(string reason)
    {
        // tcp_write_queue_purge() stops the busy chrono before it empties the queues: a socket still timing one stays
        // busy (tcp_chrono_stop() sees them full), so tcpi_busy_time keeps growing after a reset or abort.
        ChronoStop(TcpChrono.Busy);
        uint dataEnd = _snd.FinQueued ? _snd.FinSeq : _snd.WriteSeq;
        long lost = !_snd.QueuePurged && SeqMath.After(dataEnd, _snd.Una) ? dataEnd - _snd.Una : 0;
        if (lost > 0 && IsSynchronized) _sim.RecordLost(Id, Host, lost, reason);
        if (_rtx.Count > 0)
        {
            _rtx.Clear();
            RtxEmptied();
        }
        if (_sim.Profile != KernelProfile.Linux44) _icsk.Backoff = 0;
        SkbPurge();
        _snd.QueuePurged = true;
        Recharge();
    }

    /// <summary>
    /// sk_state_change(): wakes every blocked call of this socket. A connect() that finds the handshake ended in CLOSE
    /// takes the error and disconnects the socket (<see cref="ConnectFailed"/>) once the other sleepers have run: run
    /// now it completes first and disconnects last; after the softirq (<see cref="Simulation.RunsAfterSoftirq"/>) it is
    /// queued after them.
    /// </summary>
    void WakeAll()
    {
        bool later = _sim.RunsAfterSoftirq(WokenTasks.Connect), connectFailed = !later && _pendingConnect is not null && ConnectWoken();
        WakeReader();
        WakeWriter();
        WakeLingeringClose();
        if (later) WakeConnector();
        if (connectFailed) DisconnectFailedConnect();
    }

    /// <summary>
    /// A wakeup (sk_state_change(): tcp_finish_connect(), tcp_done(), tcp_set_state()) reaches a connect() asleep in
    /// inet_wait_for_connect(); from a softirq it runs after it (<see cref="Simulation.WakeTask"/>) — so a segment of the
    /// same burst that followed the SYN-ACK (a RST: TCP_CLOSE, sk_err) is what it finds.
    /// </summary>
    void WakeConnector()
    {
        if (_pendingConnect is null || WakeLater(WokenTasks.Connect)) return;
        RunWokenConnect();
    }

    /// <summary>The woken connect() runs (<see cref="WakeConnector"/>): a failed handshake disconnects the socket.</summary>
    void RunWokenConnect()
    {
        if (ConnectWoken()) DisconnectFailedConnect();
    }

    /// <summary>
    /// Models __inet_stream_connect() after inet_wait_for_connect() — net/ipv4/af_inet.c: still SYN_SENT or SYN_RECV,
    /// it sleeps on (the loop's condition); -EPIPE when another call disconnected the socket meanwhile; TCP_CLOSE →
    /// sock_error() (consumed), else -ECONNABORTED, and true (the caller disconnects); any other state: sock->state =
    /// SS_CONNECTED and 0.
    /// </summary>
    bool ConnectWoken()
    {
        if (_pendingConnect is not { } c || State is TcpState.SynSent or TcpState.SynRecv) return false;
        _pendingConnect = null;
        bool failed = false;
        // "if (dis != sk->sk_disconnects) { err = -EPIPE; goto out; }": another call disconnected the socket.
        if (c.DisconnectsAtSleep != Disconnects) _sim.CompleteCall(c, -1, Errno.EPIPE);
        else if (State != TcpState.Close)
        {
            _sockState = SocketState.Connected;
            _sim.CompleteCall(c, 0, null);
        }
        else
        {
            _sim.CompleteCall(c, -1, TakeStreamErrorOr(Errno.ECONNABORTED));
            failed = true;
        }
        CompleteOtherConnects(failed);
        return failed;
    }

    /// <summary>
    /// The other connect() calls woken with the first (<see cref="_otherConnects"/>) run after it, each past
    /// inet_wait_for_connect() under the socket lock: connected, sock->state is SS_CONNECTED and each returns 0; if the
    /// first took the sock_error path (<paramref name="firstDisconnects"/>: its sk_disconnects++), or another call had
    /// disconnected the socket while they slept, "dis != sk->sk_disconnects" gives each -EPIPE. The kernel wakes them
    /// from one wait queue and whichever thread takes the lock first takes the error (observed on 6.18.44: either of
    /// two); the engine lets the first caller take it.
    /// </summary>
    void CompleteOtherConnects(bool firstDisconnects)
    {
        if (_otherConnects is not { Count: > 0 } others) return;
        _otherConnects = null;
        foreach (var c in others)
        {
            bool epipe = firstDisconnects || c.DisconnectsAtSleep != Disconnects || State == TcpState.Close;
            _sim.CompleteCall(c, epipe ? -1 : 0, epipe ? Errno.EPIPE : null);
        }
    }

    /// <summary>A sleeping connect() leaves its wait (timeout, signal) without the others'.</summary>
    void ForgetConnect(PendingCall call)
    {
        if (_pendingConnect == call)
        {
            _pendingConnect = null;
            if (_otherConnects is { Count: > 0 } others)
            {
                _pendingConnect = others[0];
                others.RemoveAt(0);
            }
        }
        else _otherConnects?.Remove(call);
    }

    /// <summary>__inet_stream_connect()'s sock_error path, after the call's error: sk_disconnects++ and tcp_disconnect().</summary>
    void DisconnectFailedConnect()
    {
        CountDisconnect();
        Disconnect("__inet_stream_connect (sock_error)");
    }

    /// <summary>
    /// Models __inet_stream_connect()'s sock_error path — net/ipv4/af_inet.c: the handshake ended in TCP_CLOSE (RST,
    /// timeout, shutdown()); the call returns sock_error() (consumed), else -ECONNABORTED; sock->state = SS_UNCONNECTED,
    /// sk_disconnects++, and sk_prot->disconnect() — tcp_disconnect() on the closed socket (<see cref="Disconnect"/>:
    /// inet_dport 0, sk_shutdown and SOCK_DONE cleared, write_seq moved on by max_window + 2), so connect() may be
    /// called again on the same socket and starts a new handshake.
    /// </summary>
    string ConnectFailed()
    {
        var err = TakeStreamErrorOr(Errno.ECONNABORTED);
        DisconnectFailedConnect();
        return err;
    }

    string TakeStreamErrorOr(string fallback)
    {
        var e = SoftError ?? fallback;
        SoftError = null;
        return e;
    }
}
