using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>
    /// What tcp_ack() returned: 1 (Ok), 0 for an old ACK (Old), or a drop reason — SKB_DROP_REASON_TCP_TOO_OLD_ACK
    /// (TooOld) or SKB_DROP_REASON_TCP_ACK_UNSENT_DATA (Invalid).
    /// </summary>
    enum AckVerdict { Old, Ok, Invalid, TooOld }

    /// <summary>A segment for this socket's 4-tuple (tcp_v4_do_rcv).</summary>
    internal void OnSegment(Segment seg)
    {
        var outer = _sim.LoRxSkb;
        _sim.LoRxSkb = ViaLoopback ? seg : null;
        Receive(seg);
        _sim.LoRxSkb = outer;
    }

    void Receive(Segment seg)
    {
        MstampRefresh(); // tcp_rcv_established() / tcp_rcv_state_process()
        SegsIn(seg);
        switch (State)
        {
            case TcpState.SynSent:
                RcvSynSent(seg);
                break;
            case TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait
                or TcpState.Closing or TcpState.LastAck or TcpState.SynRecv:
                RcvStateProcess(seg);
                break;
            default:
                Ignore(seg, "socket in " + State);
                break;
        }
        SyncRmemCharge();
        FastPathData = false;
    }

    /// <summary>
    /// Models tcp_parse_options()'s TCPOPT_WINDOW branch — net/ipv4/tcp_input.c: parsing a SYN (estab 0) with
    /// net.ipv4.tcp_window_scaling on, a shift over TCP_MAX_WSCALE is logged through net_info_ratelimited() — pr_fmt
    /// "TCP: ", "%s: Illegal window scaling value %d > %u received" (linux-4.4: "%d >14") — and clamped to 14 (the
    /// clamp is where the options are kept). Called where the kernel parses a SYN's options with estab 0:
    /// tcp_conn_request(), tcp_rcv_synsent_state_process(), tcp_check_req() and, when the connection used
    /// timestamps, tcp_timewait_state_process().
    /// </summary>
    internal static void ParseSynWindowScale(Host host, Segment seg)
    {
        if (!seg.Has(TcpFlags.Syn) || seg.Options.WindowScale is not { } ws || ws <= TcpConstants.MaxWscale || !host.Sysctls.TcpWindowScaling) return;
        host.LogRateLimited(host.Sim.Profile == KernelProfile.Linux44
            ? $"TCP: tcp_parse_options: Illegal window scaling value {ws} >14 received"
            : $"TCP: tcp_parse_options: Illegal window scaling value {ws} > {TcpConstants.MaxWscale} received");
    }

    /// <summary>Models tcp_segs_in() — include/net/tcp.h, which tcp_v4_rcv() calls for every segment a full, non-listening socket gets.</summary>
    internal void SegsIn(Segment seg)
    {
        // tcp_segs_in(): max(1, gso_segs) — a GSO packet that crossed lo whole counts its segments.
        _segsIn += (uint)seg.GsoSegs;
        if (seg.Length > 0) DataToWrite.DataSegsIn += (uint)seg.GsoSegs;
    }

    internal void Ignore(Segment seg, string why)
    {
        if (_sim.Journals(JournalLevel.Full)) _sim.Record(JournalLevel.Full, new SegmentIgnored(_sim.Now, _sim.JournalSeq, Host.Name, Id, seg.Tuple, seg.Flags, why));
    }

    /// <summary>Models tcp_rcv_synsent_state_process() — net/ipv4/tcp_input.c.</summary>
    void RcvSynSent(Segment seg)
    {
        ParseSynWindowScale(Host, seg); // tcp_parse_options(sock_net(sk), skb, &tp->rx_opt, 0, &foc) comes first
        if (seg.Has(TcpFlags.Ack))
        {
            if (!SeqMath.After(seg.Ack, _snd.Iss) || SeqMath.After(seg.Ack, _snd.Nxt))
            {
                // "Previous FIN/ACK or RST/ACK might be ignored": resend the SYN soon (TCP_TIMEOUT_MIN),
                // then "reset_and_undo": an unacceptable ACK gets a reply RST (never to a RST).
                if (_icsk.Retransmits == 0) ResetXmitTimer(TcpTimerKind.Retransmit, Jiffies.Tick * 2);
                Host.SendResetReply(seg, "tcp_rcv_synsent_state_process (bad ACK)");
                return;
            }
            // PAWS for the SYN-ACK: the echoed TSval must lie between our first SYN's and now.
            if (Host.Sysctls.TcpTimestamps && seg.Options.HasTimestamp && seg.Options.TsEcr != 0 && RetransStamp is { } firstSyn
                && !SeqMath.Between(seg.Options.TsEcr, TsValAt(firstSyn), TsVal))
            {
                Host.Count(MibCounter.TcpExtPAWSActive);
                Host.SendResetReply(seg, "tcp_rcv_synsent_state_process (PAWS: bad TSecr)");
                return;
            }
            if (seg.Has(TcpFlags.Rst))
            {
                Reset("tcp_rcv_synsent_state_process (RST)");
                return;
            }
            if (!seg.Has(TcpFlags.Syn))
            {
                Ignore(seg, "ACK without SYN in SYN-SENT");
                return;
            }
            _rcv.Irs = seg.Seq;
            _rcv.Nxt = _rcv.Irs + 1;
            _rcv.Wup = _rcv.Nxt;
            NegotiateOptions(seg.Options);
            EcnRcvSynAck(seg);
            // tcp_rcv_synsent_state_process(): with timestamps, tp->advmss -= TCPOLEN_TSTAMP_ALIGNED.
            TakeTimestampOffAdvmss();
            TryUndoSpuriousSyn(seg);
            ProcessAck(seg);
            _snd.Wnd = seg.Window;
            _snd.MaxWindow = Math.Max(_snd.MaxWindow, _snd.Wnd); // tcp_ack() → tcp_ack_update_window() took the SYN-ACK's window
            _snd.Wl1 = seg.Seq;
            // tcp_finish_connect(): header prediction on with the SYN-ACK's window only without window scaling.
            if (_rxOpt.SndWscale == 0) FastPathOn(_snd.Wnd);
            else FastPathOff();
            InitMetrics(); // tcp_finish_connect() → tcp_init_transfer()
            TransitionTo(TcpState.Established, "tcp_finish_connect");
            InitBufferSpace(activeOpen: true);
            _lastAckRecv = _sim.Now;
            _snd.Lsndtime = _sim.Now; // tcp_finish_connect(): "Prevent spurious tcp_cwnd_restart() on first data packet"
            TransferStamped = true;
            StampLrcvTime(); // tcp_finish_connect(): icsk->icsk_ack.lrcvtime = tcp_jiffies32
            if (KeepOpen) ArmTimer(KeepaliveTimer, TcpTimerKind.Keepalive, SimDuration.FromSeconds(KeepaliveTimeSec));
            if (PendingSend is not null || DeferAcceptRetrans != 0 || InPingPongMode)
            {
                // sk_write_pending, rskq_defer_accept or ping-pong (TCP_QUICKACK 0): "Save one ACK. Data will be ready
                // after several ticks, if write_pending is set." inet_csk_schedule_ack(), tcp_enter_quickack_mode(),
                // and the delayed-ACK timer at TCP_DELACK_MAX; data sent meanwhile carries the ACK.
                AckToWrite.Scheduled = true;
                EnterQuickAckMode();
                ArmDelackTimer(TcpConstants.DelackMax);
            }
            else SendAck("tcp_rcv_synsent_state_process");
            LinkPeer();
            WakeConnector();
            WakeWriter(); // sk_state_change(): a send() asleep in sk_stream_wait_connect()
            return;
        }
        if (seg.Has(TcpFlags.Rst))
        {
            Ignore(seg, "RST without ACK in SYN-SENT"); // discard_and_undo
            return;
        }
        // PAWS against a timestamp inherited from a reused TIME-WAIT (tcp_paws_reject(&tp->rx_opt, 0)).
        if (_rxOpt.TsRecentStampSec != 0 && seg.Options.HasTimestamp && Host.Sysctls.TcpTimestamps && (int)(_rxOpt.TsRecent - seg.Options.TsVal) > 0)
        {
            Ignore(seg, "PAWS: SYN older than the TIME-WAIT's timestamp");
            return;
        }
        if (seg.Has(TcpFlags.Syn))
        {
            SimultaneousOpen(seg);
            return;
        }
        Ignore(seg, "neither SYN nor RST in SYN-SENT");
    }

    /// <summary>
    /// Models tcp_try_undo_spurious_syn() — net/ipv4/tcp_input.c, before tcp_ack() of the SYN-ACK: the SYN's
    /// timeouts were spurious when the SYN-ACK echoes the original SYN's timestamp (rcv_tsecr − tsoffset ==
    /// retrans_stamp, the time tcp_connect() sent it), and undo_marker is cleared.
    /// </summary>
    void TryUndoSpuriousSyn(Segment seg)
    {
        if (_ca.UndoMarker != 0 && RetransStamp is { } firstSyn && _rxOpt.TsOk && seg.Options.HasTimestamp
            && seg.Options.TsEcr == TsValAt(firstSyn))
            _ca.UndoMarker = 0;
    }

    /// <summary>
    /// Models tcp_try_undo_spurious_syn() — net/ipv4/tcp_input.c, for a passive child in tcp_rcv_state_process()
    /// SYN_RECV: the SYN-ACK timeouts were spurious when the handshake's ACK echoes retrans_stamp, which
    /// tcp_create_openreq_child() set to the first SYN-ACK's time in ms (treq->snt_synack); tcp_fast_parse_options()
    /// took ts_off off rcv_tsecr, so an ACK echoing the first SYN-ACK's TSval undoes (observed on Linux 6.18.44).
    /// </summary>
    void TryUndoSpuriousSynAck(Segment ack, SimTime firstSynAck)
    {
        if (_rxOpt.TsOk && ack.Options.HasTimestamp && ack.Options.TsEcr == TsValAt(firstSynAck))
            _ca.UndoMarker = 0;
    }

    /// <summary>
    /// Models the "SYN without ACK" branch of tcp_rcv_synsent_state_process() — net/ipv4/tcp_input.c:
    /// crossed SYNs (simultaneous open, or connect to self). The full socket goes SYN_RECV with
    /// rcv_nxt = seq + 1 and the peer's (unscaled) window, and tcp_send_synack() sends the SYN still in
    /// the retransmission queue again, now with ACK: the original ISN and options, ack = rcv_nxt.
    /// The SYN's RTO keeps running and retransmits it as a SYN-ACK. Data on the SYN is discarded
    /// ("goto consume"); connect() keeps waiting (inet_wait_for_connect: SYN_SENT | SYN_RECV).
    /// </summary>
    void SimultaneousOpen(Segment seg)
    {
        TransitionTo(TcpState.SynRecv, "tcp_rcv_synsent_state_process (SYN without ACK)");
        _rcv.Irs = seg.Seq;
        _rcv.Nxt = _rcv.Irs + 1;
        _rcv.Wup = _rcv.Nxt;
        NegotiateOptions(seg.Options, crossedSyn: true);
        EcnRcvSyn(seg);
        _snd.Wnd = seg.Window; // RFC 1323: the window of a SYN is never scaled
        _snd.MaxWindow = _snd.Wnd;
        _snd.Wl1 = seg.Seq;
        // The transmission stamps the skb again (skb_mstamp_ns): an RTT sample runs from the SYN-ACK.
        _rtx[0] = RateSkbSent(_rtx[0] with { Flags = TcpFlags.Syn | TcpFlags.Ack, SentAt = _sim.Now }, PacketsOut);
        // tcp_send_synack(): a transmission of the queued SYN skb, not a retransmission (no RetransSegs).
        Transmit(TcpFlags.Syn | TcpFlags.Ack, _snd.Iss, 0, "tcp_send_synack (simultaneous open)", syn: true, retransmit: true);
    }

    /// <summary>
    /// The TCP_SYN_RECV case of tcp_rcv_state_process() for a full socket (simultaneous open): an
    /// acceptable ACK makes it ESTABLISHED — snd_una = ack, the scaled window, retrans_stamp cleared,
    /// tcp_init_transfer() (TCP_TIMEOUT_FALLBACK without an RTT sample), lsndtime — and
    /// sk_state_change() wakes connect(), which returns 0. The keepalive timer is not armed here
    /// (only tcp_finish_connect() and tcp_create_openreq_child() arm it).
    /// </summary>
    void EstablishFromSynRecv(Segment seg)
    {
        RetransStamp = null;
        _delivered++; // tcp_rcv_state_process() SYN_RECV: "SYN-ACK delivery isn't tracked in tcp_ack"
        InitMetrics();
        TransitionTo(TcpState.Established, "tcp_rcv_state_process (SYN_RECV, ACK)");
        EstablishBuffers();
        // "tp->snd_wnd = ntohs(th->window) << tp->rx_opt.snd_wscale" — max_window is not touched here: only
        // tcp_ack_update_window() (ProcessAck, just before) grows it, and from a crossed SYN-ACK with the window
        // unscaled, so mss_cache keeps the half-window bound of the peer's SYN (observed on Linux 6.18.44).
        _snd.Wnd = (uint)seg.Window << _rxOpt.SndWscale;
        _snd.Wl1 = seg.Seq;
        FastPathOn(); // tcp_rcv_state_process(), TCP_SYN_RECV: tcp_fast_path_on(tp)
        _lastAckRecv = _sim.Now;
        _snd.Lsndtime = _sim.Now; // "Prevent spurious tcp_cwnd_restart() on first data packet"
        TransferStamped = true;
        LinkPeer();
        // "if (sk->sk_shutdown & SEND_SHUTDOWN) tcp_shutdown(sk, SEND_SHUTDOWN)": a shutdown(SHUT_WR) made in SYN_RECV
        // (or on the CLOSE socket before its connect()) sends its FIN now (6.10+; linux-4.4 has no such step).
        if (SendShutdown && _sim.Profile != KernelProfile.Linux44) TcpShutdown("tcp_rcv_state_process (SYN_RECV, SEND_SHUTDOWN)");
        WakeConnector();
        WakeWriter(); // sk_state_change(): a send() asleep in sk_stream_wait_connect()
    }

    /// <summary>
    /// Models tcp_init_metrics() — net/ipv4/tcp_metrics.c, from tcp_init_transfer() on both opens: linux-6 seeds
    /// the first RTO from the RTT the host cached for this address pair when it is above the handshake's srtt
    /// (<see cref="TcpMetrics.InitialRto"/>); without an RTT sample from the handshake nor the cache, RFC 6298 §5.7's
    /// TCP_TIMEOUT_FALLBACK. linux-4.4's cache is not modelled there: only the fallback. linux-6 first restores
    /// snd_ssthresh to TCP_INFINITE_SSTHRESH ("ssthresh may have been reduced unnecessarily during 3WHS": a SYN or SYN-ACK
    /// timeout's tcp_enter_loss() had cut it; tcp_no_ssthresh_metrics_save, default 1, keeps a cached one out) — observed
    /// on Linux 6.18.44: tcpi_snd_ssthresh 2147483647 right after a handshake whose SYN was resent. linux-4.4 restores it
    /// only from a cached metrics entry, which the engine does not keep for it.
    /// </summary>
    void InitMetrics()
    {
        if (_sim.Profile == KernelProfile.Linux44)
        {
            if (_rtt.SrttUs == 0) _icsk.Rto = TcpConstants.TimeoutFallback;
            return;
        }
        _ca.Ssthresh = TcpInfo.InfiniteSsthresh;
        if (Host.TcpMetrics.InitialRto(Local.Address, Remote.Address, _sim.Now, _rtt.SrttUs, RtoMinUs) is { } rto)
            _icsk.Rto = rto;
    }

    /// <summary>
    /// What a SYN's options settle (tcp_parse_options() on a SYN, kept by tcp_openreq_init() and
    /// tcp_rcv_synsent_state_process()) — net/ipv4/tcp_input.c: timestamps and SACK when both ends
    /// offer them and the sysctl allows; the peer's window scale (clamped to TCP_MAX_WSCALE) only with
    /// ours — without it neither direction scales; mss_clamp is the peer's MSS option, else
    /// TCP_MSS_DEFAULT (536), and the send MSS is the smaller of that and ours, never under
    /// tcp_min_snd_mss (__tcp_mtu_to_mss()).
    /// </summary>
    /// <param name="crossedSyn">The SYN-without-ACK branch of tcp_rcv_synsent_state_process() (simultaneous open): it has no
    /// "if (!tp->rx_opt.wscale_ok)" reset, so a SYN without the option leaves snd_wscale 0 but our rcv_wscale (and window
    /// clamp) as connect() chose them — our windows stay scaled although the peer never agreed (observed on Linux 6.18.44).</param>
    /// <param name="reqMss">A child's: its request's req->mss, which tcp_create_openreq_child() makes rx_opt.mss_clamp as it is.</param>
    void NegotiateOptions(TcpOptions peer, bool crossedSyn = false, int? reqMss = null)
    {
        _rxOpt.TsOk = peer.HasTimestamp && Host.Sysctls.TcpTimestamps;
        _rxOpt.SackOk = peer.SackPermitted && Host.Sysctls.TcpSack;
        if (peer.WindowScale is { } ws && Host.Sysctls.TcpWindowScaling)
        {
            _rxOpt.SndWscale = Math.Min((int)ws, TcpConstants.MaxWscale);
        }
        else if (crossedSyn)
        {
            _rxOpt.SndWscale = 0;
        }
        else
        {
            // "if (!tp->rx_opt.wscale_ok) { snd_wscale = rcv_wscale = 0; window_clamp = min(window_clamp, 65535) }"
            _rxOpt.SndWscale = 0;
            _rxOpt.RcvWscale = 0;
            _rcv.WindowClamp = Math.Min(_rcv.WindowClamp, (uint)TcpConstants.MaxTcpWindow);
        }
        // tcp_parse_options(): a SYN's MSS option, lowered to user_mss (TCP_MAXSEG) when that is smaller.
        int mssClamp = reqMss ?? (peer.Mss > 0 ? ClampToUserMss(peer.Mss) : TcpConstants.MssDefault);
        _rxOpt.MssClamp = mssClamp;
        _mss = Math.Max(Math.Min(_mss, mssClamp), Host.Sysctls.TcpMinSndMss);
        _connectMssCache = 0; // tcp_rcv_synsent_state_process(): tcp_sync_mss() with the negotiated options
        SyncMtupMss(); // with search_low as tcp_connect_init()'s tcp_mtup_init() took it (tcp_init_transfer()'s comes after)
        if (_rxOpt.TsOk)
        {
            _rxOpt.TsRecent = peer.TsVal;
            _rxOpt.TsRecentStampSec = KernelSeconds.At(_sim.Now);
        }
    }

    /// <summary>
    /// Models tcp_replace_ts_recent() — net/ipv4/tcp_input.c: an acceptable segment at or before rcv_wup whose TSval
    /// passes tcp_paws_check(&amp;tp-&gt;rx_opt, 0) becomes the new ts_recent (what TSecr echoes): a TSval not older than
    /// ts_recent, but also any TSval once ts_recent is older than TCP_PAWS_WRAP (linux-4.4: TCP_PAWS_24DAYS) or is 0.
    /// </summary>
    void ReplaceTsRecent(Segment seg)
    {
        if (_rxOpt.TsOk && seg.Options.HasTimestamp && !SeqMath.After(seg.Seq, _rcv.Wup)
            && TcpTimestamp.PawsCheck(_sim.Profile, _rxOpt.TsRecent, _rxOpt.TsRecentStampSec, seg.Options.TsVal, KernelSeconds.At(_sim.Now), pawsWin: 0))
            StoreTsRecent(seg.Options.TsVal);
    }

    /// <summary>Models tcp_store_ts_recent() — net/ipv4/tcp_input.c: ts_recent and its stamp (ktime_get_seconds()).</summary>
    void StoreTsRecent(uint tsVal)
    {
        _rxOpt.TsRecent = tsVal;
        _rxOpt.TsRecentStampSec = KernelSeconds.At(_sim.Now);
    }

    /// <summary>Links the two ends of a connection between simulated Linux hosts (for the data ledger).</summary>
    void LinkPeer()
    {
        var peerHost = _sim.FindHost(Remote.Address);
        if (peerHost is null) return;
        if (peerHost.Established.TryGetValue(Tuple.Reversed, out var peer))
        {
            PeerSocketId = peer.Id;
            peer.PeerSocketId = Id;
        }
    }

    /// <summary>
    /// Models tcp_rcv_state_process() — net/ipv4/tcp_input.c, for synchronized states: PAWS and
    /// sequence checks, RST (RFC 5961: exact match resets, else a challenge ACK), SYN (challenge
    /// ACK), the ACK and its state changes (FIN_WAIT1→FIN_WAIT2/TIME_WAIT, CLOSING→TIME_WAIT,
    /// LAST_ACK→CLOSE), then the data, which after close() (RCV_SHUTDOWN) aborts with a reply RST.
    /// </summary>
    void RcvStateProcess(Segment seg)
    {
        // tcp_rcv_established()'s header prediction decides the path (and the counters) in ESTABLISHED.
        bool slowPath = TakesSlowPath(seg);
        // "if (!th->ack && !th->rst && !th->syn) goto discard" (SKB_DROP_REASON_TCP_FLAGS): in tcp_rcv_established()'s
        // slow path and in tcp_rcv_state_process() alike this comes before tcp_validate_incoming(), so a segment with
        // none of the three is dropped in silence, never answered by an out-of-window dupack or counted by PAWS —
        // observed on Linux 6.18.44 (a far-off FIN without ACK in ESTABLISHED draws no ACK).
        if (!seg.Has(TcpFlags.Ack) && !seg.Has(TcpFlags.Rst) && !seg.Has(TcpFlags.Syn))
        {
            Drop(seg, "no ACK flag"); // goto discard: tcp_drop_reason()
            return;
        }
        // tcp_validate_incoming(): PAWS (RFC 7323 H1), tcp_paws_check(&tp->rx_opt, TCP_PAWS_WINDOW), unless
        // tcp_disordered_ack_check() excuses the segment; a RST is accepted even if it did not pass PAWS.
        if (_rxOpt.TsOk && seg.Options.HasTimestamp && _rxOpt.TsRecentStampSec != 0 && !seg.Has(TcpFlags.Rst)
            && !TcpTimestamp.PawsCheck(_sim.Profile, _rxOpt.TsRecent, _rxOpt.TsRecentStampSec, seg.Options.TsVal, KernelSeconds.At(_sim.Now), pawsWin: 1)
            && DisorderedAckCheck(seg) is var paws && paws != PawsVerdict.Accept)
        {
            // 6.x: "if (unlikely(th->syn)) goto syn_challenge;"; linux-4.4 rejects a SYN as any other segment (PAWSEstab,
            // a rate-limited dupack).
            if (seg.Has(TcpFlags.Syn) && _sim.Profile == KernelProfile.Linux6)
            {
                SynChallenge(seg);
                return;
            }
            if (paws == PawsVerdict.OldAck)
            {
                // "Old ACK are common, increment PAWS_OLD_ACK and do not send a dupack."
                Host.Count(MibCounter.TcpExtPAWSOldAck);
                Drop(seg, "tcp_validate_incoming (PAWS: old ACK)");
                return;
            }
            Host.Count(MibCounter.TcpExtPAWSEstab);
            if (!OowRateLimited(seg, MibCounter.TcpExtTCPACKSkippedPAWS)) SendDupAck(seg, "tcp_validate_incoming (PAWS)");
            SkDropsAdd(seg); // discard: tcp_drop_reason()
            return;
        }
        // Step 1: tcp_sequence().
        var sequence = SequenceCheck(seg);
        if (sequence != SequenceVerdict.Ok)
        {
            if (!seg.Has(TcpFlags.Rst))
            {
                if (seg.Has(TcpFlags.Syn))
                {
                    SynChallenge(seg);
                    return;
                }
                if (sequence != SequenceVerdict.Old) Host.Count(MibCounter.TcpExtBeyondWindow);
                if (!OowRateLimited(seg, MibCounter.TcpExtTCPACKSkippedSeq)) SendDupAck(seg, "tcp_validate_incoming (out of window)");
                SkDropsAdd(seg);
            }
            else if (ResetCheck(seg))
            {
                Reset("tcp_validate_incoming (RST at rcv_nxt - 1)"); // reset: tcp_reset(), __kfree_skb(): no drop
            }
            else
            {
                Drop(seg, "out-of-window RST");
            }
            return;
        }
        // Step 2: RST (RFC 5961 3.2): a RST at rcv_nxt (or rcv_nxt − 1 after a FIN, tcp_reset_check()) or at the
        // right edge of the highest SACK block resets, else a challenge ACK.
        if (seg.Has(TcpFlags.Rst))
        {
            if (seg.Seq == _rcv.Nxt || ResetCheck(seg)) Reset("tcp_validate_incoming (RST)");
            else if (RstAtMaxSack(seg)) Reset("tcp_validate_incoming (RST at max_sack)");
            else
            {
                SendChallengeAck();
                SkDropsAdd(seg);
            }
            return;
        }
        // Step 4: a SYN in a synchronized state gets a challenge ACK — except, in SYN_RECV with a user
        // socket, the crossed SYN-ACK of a simultaneous open (seq + 1 == rcv_nxt, ack == snd_nxt): "pass" (6.11;
        // linux-4.4 challenges it too).
        if (seg.Has(TcpFlags.Syn) && !IsCrossedSynAck(seg))
        {
            SynChallenge(seg);
            return;
        }
        // Step 5: the ACK (tcp_ack() with FLAG_UPDATE_TS_RECENT). tcp_rcv_established()'s fast path instead stores
        // ts_recent itself when rcv_nxt == rcv_wup ("Predicted packet is in window by definition"), before
        // tcp_ack(sk, skb, 0 or FLAG_DATA) — so before tcp_ack() can refuse a too-old ACK and answer it with a
        // challenge ACK, which then echoes this segment's TSval: observed on Linux 6.18.44 (kernel --fuzz-pkt seed 1046).
        if (!slowPath && _rxOpt.TsOk && _rcv.Nxt == _rcv.Wup) StoreTsRecent(seg.Options.TsVal);
        bool acksNothing = FastPathData && seg.Ack == _snd.Una;
        var verdict = acksNothing ? FastPathDataAcksNothing(seg) : ProcessAck(seg, updateTsRecent: slowPath, slowPath);
        // The fast path's pure ACK, whatever tcp_ack() made of it: "When receiving pure ack in fast path, update last ts
        // ecr directly instead of calling tcp_rcv_rtt_measure_ts()" — data echoing the same TSval then gives no sample.
        // linux-4.4 has no rcv_rtt_last_tsecr.
        if (!slowPath && seg.Length == 0 && _rxOpt.TsOk && _sim.Profile == KernelProfile.Linux6) DataToWrite.RcvRtt.LastTsecr = seg.Options.TsEcr;
        if (State == TcpState.SynRecv && verdict != AckVerdict.Ok)
        {
            // tcp_ack() not acceptable in SYN_RECV: "send one RST" (tcp_v4_do_rcv → tcp_v4_send_reset).
            Host.SendResetReply(seg, "tcp_rcv_state_process (SYN_RECV, unacceptable ACK)");
            return;
        }
        if (verdict == AckVerdict.Invalid)
        {
            // An ACK of unsent data (RFC 5961 5.2, RFC 9293 3.10.7.4) gets a challenge ACK and the segment is dropped:
            // from tcp_ack() itself in ESTABLISHED (tcp_rcv_established()), from tcp_rcv_state_process() (which passes
            // FLAG_NO_CHALLENGE_ACK) in the other states. tcp_ack() gained its challenge ACK with 42726ec644cb ("tcp: send
            // a challenge ACK on SEG.ACK > SND.NXT", 7.1), in 6.18.y since 6.18.38 (observed on Linux 6.18.44); linux-4.4's
            // tcp_ack() drops it in silence.
            SkDropsAdd(seg); // tcp_ack() < 0: goto discard
            if (State == TcpState.Established && _sim.Profile != KernelProfile.Linux6) Ignore(seg, "ACK of unsent data");
            else SendChallengeAck();
            return;
        }
        if (verdict == AckVerdict.TooOld && FastPathData)
        {
            // tcp_rcv_established()'s fast path queued predicted data (tcp_queue_rcv()) before tcp_ack(sk, skb, FLAG_DATA),
            // whose verdict it ignores: the data stays, tcp_ack()'s challenge ACK carries the new rcv_nxt, then
            // tcp_data_snd_check() and __tcp_ack_snd_check() only while an ACK is still scheduled (a rate-limited
            // challenge) — observed on Linux 6.18.44 (kernel --fuzz-pkt --fuzz-edges seed 7040).
            RcvRttMeasureTs(seg);
            bool fastQueued = DataQueue(seg);
            SendChallengeAck();
            Push("tcp_data_snd_check");
            if (Ack.Scheduled) AckSendCheck();
            if (fastQueued && !Dead) DataReady();
            return;
        }
        if (verdict == AckVerdict.TooOld)
        {
            // RFC 5961 5.2: a challenge ACK — from tcp_ack() itself in ESTABLISHED, from tcp_rcv_state_process() (which
            // passes FLAG_NO_CHALLENGE_ACK) in the other states — and the segment is dropped.
            SendChallengeAck();
            Drop(seg, "ACK older than snd_una - max_window (RFC 5961 5.2)");
            return;
        }
        // ts_recent was taken inside tcp_ack() (ProcessAck, updateTsRecent) — not for an old ACK (old_ack: returns first).
        bool finAcked = _snd.Una == _snd.WriteSeq && _snd.FinQueued;
        switch (State)
        {
            case TcpState.SynRecv:
                EstablishFromSynRecv(seg);
                break;
            case TcpState.FinWait1 when finAcked:
                TransitionTo(TcpState.FinWait2, "tcp_rcv_state_process (FIN acked)");
                SendShutdown = true;
                if (!Dead)
                {
                    // "Wake up lingering close()": sk_state_change() wakes every sleeper (a recv() sleeps again).
                    WakeAll();
                    break;
                }
                if (Linger2 < 0)
                {
                    Done("tcp_rcv_state_process (TCP_LINGER2 < 0)");
                    Host.Count(MibCounter.TcpExtTCPAbortOnData);
                    Host.SendResetReply(seg, "tcp_rcv_state_process (TCP_LINGER2 < 0)");
                    return;
                }
                if (seg.EndSeq != seg.Seq && SeqMath.After(seg.EndSeq - (seg.Has(TcpFlags.Fin) ? 1u : 0u), _rcv.Nxt))
                {
                    Done("tcp_rcv_state_process (data after close)");
                    Host.Count(MibCounter.TcpExtTCPAbortOnData);
                    Host.SendResetReply(seg, "tcp_rcv_state_process (data after close)");
                    return;
                }
                var tmo = FinTime();
                if (tmo > TcpConstants.TimeWaitLen)
                {
                    ArmTimer(KeepaliveTimer, TcpTimerKind.FinWait2, tmo - TcpConstants.TimeWaitLen);
                }
                else if (seg.Has(TcpFlags.Fin))
                {
                    // "Bad case. We could lose such FIN otherwise."
                    ArmTimer(KeepaliveTimer, TcpTimerKind.FinWait2, tmo);
                }
                else
                {
                    TimeWait(TcpState.FinWait2, tmo, "tcp_rcv_state_process (orphan FIN_WAIT2)");
                    return;
                }
                break;
            case TcpState.Closing when finAcked:
                TimeWait(TcpState.TimeWait, SimDuration.Zero, "tcp_rcv_state_process (CLOSING, FIN acked)");
                return;
            case TcpState.LastAck when finAcked:
                UpdateMetrics();
                Done("tcp_rcv_state_process (LAST_ACK, FIN acked)");
                return;
        }
        // Step 7: the segment text.
        bool queued = false;
        bool newData = seg.EndSeq != seg.Seq && SeqMath.After(seg.EndSeq - (seg.Has(TcpFlags.Fin) ? 1u : 0u), _rcv.Nxt);
        bool pastPeerFin = State is TcpState.CloseWait or TcpState.Closing or TcpState.LastAck;
        if (pastPeerFin && !SeqMath.Before(seg.Seq, _rcv.Nxt))
        {
            // Not queued: "if (!queued) discard: tcp_drop_reason()" — a pure ACK too.
            SkDropsAdd(seg);
            if (seg.Length > 0 || seg.Has(TcpFlags.Fin)) Ignore(seg, "data beyond the peer's FIN");
        }
        else if (State != TcpState.Established && RcvShutdown && newData)
        {
            // RFC 1122: new data after close()/SHUT_RD in FIN_WAIT1/2 (or past the FIN) must be answered with a reset.
            Host.Count(MibCounter.TcpExtTCPAbortOnData);
            Reset("tcp_rcv_state_process (data after shutdown)");
            Host.SendResetReply(seg, "tcp_rcv_state_process (data after shutdown)");
            return;
        }
        else
        {
            // tcp_rcv_established() step 5: tcp_rcv_rtt_measure_ts() before the data is queued.
            if (newData) RcvRttMeasureTs(seg);
            queued = DataQueue(seg);
        }
        if (acksNothing)
        {
            // tcp_rcv_established()'s else branch runs no tcp_data_snd_check() (review40a N-12): tcp_update_wl(), then
            // __tcp_ack_snd_check(sk, 0) only. This data freed nothing and moved no window, so a push would send nothing.
            AckSendCheck();
        }
        else if (State != TcpState.Close)
        {
            // tcp_data_snd_check(): tcp_push_pending_frames(), then tcp_check_space() — the woken writer runs after
            // this softirq's ACK decision.
            Push("tcp_data_snd_check");
            AckSendCheck();
            CheckSpace();
            WakeWriteSpace();
        }
        // tcp_data_ready() only wakes the reader; it runs after this softirq (WakeReader) — after the ACK decision, so
        // the ACK's window still counts the segment it acknowledges, and after the other segments of the burst that
        // arrived with it (then tcp_recvmsg() → tcp_cleanup_rbuf()). The same
        // wakeup reaches a send() asleep in sk_stream_wait_memory() (woken_wake_function() takes any wakeup).
        if (queued && !Dead) DataReady();
    }

    /// <summary>
    /// The "goto pass" of tcp_validate_incoming() step 4: the peer's SYN-ACK crossing ours. It came with 6.11's
    /// 23e89e8ee7be ("tcp: Don't drop SYN+ACK for simultaneous connect()"); 4.4's step 4 is only "if (th-&gt;syn) {
    /// syn_challenge: … tcp_send_challenge_ack(sk, skb); goto discard; }", so linux-4.4 stays in SYN_RECV.
    /// </summary>
    bool IsCrossedSynAck(Segment seg) =>
        _sim.Profile == KernelProfile.Linux6 && State == TcpState.SynRecv && Owner is not null && seg.Has(TcpFlags.Ack)
        && seg.Seq + 1 == seg.EndSeq && seg.Seq + 1 == _rcv.Nxt && seg.Ack == _snd.Nxt;

    /// <summary>
    /// tcp_validate_incoming() step 2 — net/ipv4/tcp_input.c ("tcp: accept RST if SEQ matches right-most SACK
    /// block", 4.7): with SACK in use (tcp_is_sack()) and blocks to report (rx_opt.num_sacks &gt; 0), a RST whose
    /// seq is max_sack, the highest end_seq among tp->selective_acks, resets the connection.
    /// </summary>
    bool RstAtMaxSack(Segment seg)
    {
        if (_sim.Profile != KernelProfile.Linux6 || !_rxOpt.SackOk || NumSacks == 0) return false;
        var sp = _rare!.SelectiveAcks!;
        uint maxSack = sp[0].Right;
        for (int i = 1; i < NumSacks; i++)
            if (SeqMath.After(sp[i].Right, maxSack)) maxSack = sp[i].Right;
        return seg.Seq == maxSack;
    }

    /// <summary>tcp_reset_check(): a RST at rcv_nxt − 1 is acceptable in CLOSE_WAIT, LAST_ACK and CLOSING.</summary>
    enum PawsVerdict : byte { Accept, Reject, OldAck }

    /// <summary>
    /// Models tcp_disordered_ack_check() — net/ipv4/tcp_input.c: a segment that failed PAWS is still accepted when
    /// it is a pure duplicate ACK at rcv_nxt of snd_una that does not update the window and whose TSval lies within
    /// the replay window (icsk_rto · 1200 / HZ; linux-4.4: · 1024 / HZ). A pure ACK below rcv_nxt is an old ACK
    /// (6.14+, SKB_DROP_REASON_TCP_RFC7323_PAWS_ACK): dropped without a dupack.
    /// </summary>
    PawsVerdict DisorderedAckCheck(Segment seg)
    {
        if (!seg.Has(TcpFlags.Ack) || seg.Seq != seg.EndSeq) return PawsVerdict.Reject;
        if (seg.Seq != _rcv.Nxt)
            return SeqMath.Before(seg.Seq, _rcv.Nxt) && _sim.Profile == KernelProfile.Linux6 ? PawsVerdict.OldAck : PawsVerdict.Reject;
        if (seg.Ack != _snd.Una) return PawsVerdict.Reject;
        if (MayUpdateWindow(seg.Ack, seg.Seq, (uint)seg.Window << _rxOpt.SndWscale)) return PawsVerdict.Reject;
        long rtoJiffies = Jiffies.FromDuration(_icsk.Rto);
        long replay = rtoJiffies * (_sim.Profile == KernelProfile.Linux6 ? 1200 : 1024) / Jiffies.Hz;
        return (int)(_rxOpt.TsRecent - seg.Options.TsVal) > replay ? PawsVerdict.Reject : PawsVerdict.Accept;
    }

    /// <summary>
    /// Models tcp_may_update_window(): the ACK advances snd_una, or comes from a later segment than the last
    /// window update (snd_wl1), or from the same one with a larger window — or, 6.4+, a zero window ("|| !nwin").
    /// </summary>
    bool MayUpdateWindow(uint ack, uint ackSeq, uint nwin) =>
        SeqMath.After(ack, _snd.Una) || SeqMath.After(ackSeq, _snd.Wl1)
        || (ackSeq == _snd.Wl1 && (nwin > _snd.Wnd || (nwin == 0 && _sim.Profile == KernelProfile.Linux6)));

    enum SequenceVerdict : byte { Ok, Old, Invalid, InvalidEnd }

    /// <summary>
    /// Models tcp_sequence() — net/ipv4/tcp_input.c: a segment ending before rcv_wup is old; one starting beyond
    /// rcv_nxt + the receive window is invalid. 6.17+ ("tcp: do not accept packets beyond window") also refuses a
    /// segment whose end lies beyond the window while the receive queue holds data (TCP_INVALID_END_SEQUENCE), a
    /// FIN's own sequence number excused (6.18.y, "tcp: be more lenient with FIN beyond the window").
    /// </summary>
    SequenceVerdict SequenceCheck(Segment seg)
    {
        if (SeqMath.Before(seg.EndSeq, _rcv.Wup)) return SequenceVerdict.Old;
        uint limit = _rcv.Nxt + ReceiveWindow();
        if (!SeqMath.After(seg.EndSeq, limit)) return SequenceVerdict.Ok;
        if (SeqMath.After(seg.Seq, limit)) return SequenceVerdict.Invalid;
        if (_sim.Profile != KernelProfile.Linux6) return SequenceVerdict.Ok;
        if (!SeqMath.After(seg.EndSeq - (seg.Has(TcpFlags.Fin) ? 1u : 0u), limit)) return SequenceVerdict.Ok;
        return _rcv.Unread > 0 ? SequenceVerdict.InvalidEnd : SequenceVerdict.Ok;
    }

    bool ResetCheck(Segment seg) =>
        seg.Seq == _rcv.Nxt - 1 && State is TcpState.CloseWait or TcpState.LastAck or TcpState.Closing;

    /// <summary>
    /// Models tcp_oow_rate_limited(): dup-ACKs to pure ACKs and SYNs are limited to one per
    /// tcp_invalid_ratelimit per socket (tp->last_oow_ack_time, shared with challenge ACKs);
    /// segments with data are never limited.
    /// </summary>
    bool OowRateLimited(Segment seg, MibCounter skipped) => RareToWrite.OowAck.Limited(Host, _sim.Now, seg, skipped);

    /// <summary>__tcp_oow_rate_limited().</summary>
    bool RateLimited(MibCounter skipped) => RareToWrite.OowAck.Limited(Host, _sim.Now, skipped);

    /// <summary>Models tcp_send_dupack(): a duplicate with data means our ACK was lost — quick-ACK mode and a D-SACK (<see cref="DupAckDsack"/>).</summary>
    void SendDupAck(Segment seg, string reason)
    {
        DupAckDsack(seg);
        SendAck(reason);
    }

    /// <summary>tcp_enter_quickack_mode(): quick ACKs again, out of ping-pong, ATO back to the minimum.</summary>
    void EnterQuickAckMode()
    {
        IncrQuickAck();
        ExitPingPongMode();
        AckToWrite.Ato = TcpConstants.AtoMin;
    }

    /// <summary>
    /// Models tcp_incr_quickack(sk, TCP_MAX_QUICKACKS): rcv_wnd / (2 · rcv_mss) quick ACKs — 2 when that is 0
    /// (a 1 stays 1), at most 16 — unless more are left already.
    /// </summary>
    void IncrQuickAck()
    {
        uint quickacks = _rcv.Wnd / (2 * (uint)_rcvMss);
        if (quickacks == 0) quickacks = 2;
        quickacks = Math.Min(quickacks, (uint)TcpConstants.MaxQuickAcks);
        if (quickacks > Ack.Quick) AckToWrite.Quick = (int)quickacks;
    }

    /// <summary>The "syn_challenge" path of tcp_validate_incoming().</summary>
    void SynChallenge(Segment seg)
    {
        // syn_challenge: "if (syn_inerr) TCP_INC_STATS(TCP_MIB_INERRS)" — syn_inerr is 1 only from tcp_rcv_established().
        if (State == TcpState.Established) Host.Count(MibCounter.TcpInErrs);
        Host.Count(MibCounter.TcpExtTCPSYNChallenge);
        SendChallengeAck();
        SkDropsAdd(seg); // goto discard
    }

    /// <summary>
    /// tcp_rcv_established()'s fast path for predicted data whose ACK field is snd_una: "if (TCP_SKB_CB(skb)->ack_seq !=
    /// tp->snd_una) { tcp_ack(sk, skb, FLAG_DATA); … } else { tcp_update_wl(tp, TCP_SKB_CB(skb)->seq); }" — tcp_ack() never
    /// runs, so rcv_tstamp (tcpi_last_ack_recv, the zero-window RTO's rcv_delta) and icsk_probes_out keep what the last
    /// ACK that ran it left. Observed on Linux 6.18.44: a receiver whose peer streams into its small window reads
    /// tcpi_last_ack_recv from the first data segment, which took the slow path (its truesize past sk_forward_alloc), not
    /// from the later predicted ones.
    /// </summary>
    /// <remarks>
    /// The else branch came with Neal Cardwell's 2020 "tcp: fix to update snd_wl1 in bulk receiver fast path" (Fixes:
    /// 1da177e4c3f4, backported to the stable series); v4.4 itself, as the linux-4.4 profile is, leaves snd_wl1 alone
    /// there (review40a N-8), as RtxFragmentRefused takes v4.4 itself and not its stable series.
    /// </remarks>
    AckVerdict FastPathDataAcksNothing(Segment seg)
    {
        if (_sim.Profile == KernelProfile.Linux6) _snd.Wl1 = seg.Seq;
        return AckVerdict.Ok;
    }

    /// <summary>
    /// tcp_send_challenge_ack(): rate limited with the other out-of-window ACKs per socket, then by the host-wide
    /// budget of tcp_challenge_ack_limit (<see cref="Host.ChallengeAckAllowed"/>); only an ACK sent counts TCPChallengeACK.
    /// </summary>
    void SendChallengeAck()
    {
        if (RateLimited(MibCounter.TcpExtTCPACKSkippedChallenge)) return;
        if (!Host.ChallengeAckAllowed()) return;
        Host.Count(MibCounter.TcpExtTCPChallengeACK);
        SendAck("tcp_send_challenge_ack");
    }

    /// <summary>
    /// Models tcp_ack() — net/ipv4/tcp_input.c: an ACK below snd_una − min(max_window, bytes_acked) is refused (RFC 5961
    /// 5.2: TooOld, the caller sends the challenge ACK), one otherwise below snd_una takes the old_ack: path
    /// (<see cref="OldAck"/>). Else ts_recent first (tcp_replace_ts_recent() under FLAG_UPDATE_TS_RECENT,
    /// <paramref name="updateTsRecent"/>), the window update, SACK tagging (its newly SACKed segments delivered: sack_delivered),
    /// cleaning the retransmission queue and the RTT sample (tcp_clean_rtx_queue(), on every ACK while data is out), the
    /// TLP episode (tcp_process_tlp_ack()), then for a dubious ACK tcp_fastretrans_alert(), the TLP/RTO timer
    /// (tcp_set_xmit_timer()), TCPDelivered, the congestion control (PRR in CWR/Recovery, else growth) and the recovery
    /// transmissions (tcp_xmit_recovery()).
    /// </summary>
    /// <param name="slowPath">FLAG_SLOWPATH: false for tcp_rcv_established()'s fast path (<see cref="TakesSlowPath"/>).</param>
    AckVerdict ProcessAck(Segment seg, bool updateTsRecent = false, bool slowPath = true)
    {
        uint ack = seg.Ack;
        uint priorSndUna = _snd.Una;
        // rx_opt.rcv_tsecr for tcp_packet_delayed() and tcp_skb_spurious_retrans().
        _ackTsEcr = _rxOpt.TsOk && seg.Options.HasTimestamp ? seg.Options.TsEcr : 0;
        if (SeqMath.Before(ack, priorSndUna))
        {
            // "do not accept ACK for bytes we never sent" — RFC 5961 5.2 [Blind Data Injection Attack].[Mitigation]
            uint maxWindow = (uint)Math.Min(_snd.MaxWindow, BytesAcked);
            if (SeqMath.Before(ack, priorSndUna - maxWindow)) return AckVerdict.TooOld;
            OldAck(seg, priorSndUna);
            return AckVerdict.Old;
        }
        if (SeqMath.After(ack, _snd.Nxt)) return AckVerdict.Invalid;
        // "ts_recent update must be made after we are sure that the packet is in window": before the queue is
        // cleaned and anything is sent, so every segment this ACK releases (fast retransmits, tcp_xmit_recovery(),
        // F-RTO's new data) echoes this ACK's TSval.
        if (updateTsRecent) ReplaceTsRecent(seg);
        var flag = AckFlags.None;
        if (SeqMath.After(ack, priorSndUna))
        {
            flag |= AckFlags.SndUnaAdvanced;
            _icsk.Retransmits = 0;
        }
        uint priorFack = IsSack ? HighestSackSeq(priorSndUna) : priorSndUna;
        int priorPackets = PacketsOut;
        long priorDelivered = _delivered, priorLost = _ca.Lost;
        CountAckPath(seg, slowPath, (flag & AckFlags.SndUnaAdvanced) != 0);
        if (seg.EndSeq != seg.Seq) flag |= AckFlags.Data;
        uint nwin = seg.Has(TcpFlags.Syn) ? seg.Window : (uint)seg.Window << _rxOpt.SndWscale;
        // tcp_sacktag_write_queue(): a first block that is a D-SACK is judged by tcp_check_dsack(), then every
        // valid block tags the queue; "if (sack_state.sack_delivered) tcp_count_delivered(...)".
        var sack = new SacktagState();
        if (_rxOpt.SackOk && seg.Options.HasSack)
            flag |= SacktagWriteQueue(seg, ack, priorSndUna, ref sack);
        _delivered += sack.SackDelivered;
        if (MayUpdateWindow(ack, seg.Seq, nwin))
        {
            flag |= AckFlags.WinUpdate;
            // tcp_ack_update_window(): a new window with data still unsent checks for a restart after idle.
            if (nwin != _snd.Wnd && SeqMath.Before(_snd.Nxt, _snd.WriteSeq)) SlowStartAfterIdleCheck();
            bool windowChanged = nwin != _snd.Wnd;
            _snd.Wnd = nwin;
            if (windowChanged)
            {
                // "Note, it is the only place, where fast path is recovered for sending TCP."
                FastPathOff();
                FastPathCheck();
                // Only a changed window may raise max_window ("if (tp->snd_wnd != nwin)"): after crossed SYNs snd_wnd
                // (set scaled by TCP_SYN_RECV) can exceed max_window, and the same window again leaves it.
                if (nwin > _snd.MaxWindow)
                {
                    _snd.MaxWindow = nwin;
                    SyncMtupMss(); // "tp->max_window = nwin; tcp_sync_mss(sk, inet_csk(sk)->icsk_pmtu_cookie);"
                }
            }
            _snd.Wl1 = seg.Seq;
        }
        _lastAckRecv = _sim.Now;
        _icsk.ProbesOut = 0;
        if (priorPackets == 0)
        {
            // no_queue: "If data was DSACKed, see if we can undo a cwnd reduction."
            if ((flag & AckFlags.DsackingAck) != 0)
            {
                var none = Rexmit.None;
                FastretransAlert(priorSndUna, 0, ref flag, ref none);
            }
            CountDelivered(priorDelivered);
            if (_xmitTimer.Armed && XmitPending == TcpTimerKind.Persist) AckProbe();
            if (_ca.TlpOutstanding) ProcessTlpAck(ack, flag);
            return AckVerdict.Ok;
        }
        flag |= CleanRtxQueue(seg, ack, priorFack, ref sack);
        RackUpdateReoWnd(sack.PriorDelivered);
        if (_ca.TlpOutstanding) ProcessTlpAck(ack, flag);
        var rexmit = Rexmit.None;
        // tcp_ack_is_dubious(): a duplicate, a SACK or D-SACK, or any ACK outside Open.
        if ((flag & AckFlags.NotDup) == 0 || (flag & AckFlags.CaAlert) != 0 || _ca.State != CaState.Open)
        {
            // num_dupack: "Consider if pure acks were aggregated in tcp_add_backlog()" — a merged pure ACK counts its
            // gso_segs, the ACKs merged into it (observed on Linux 6.18.44: two merged duplicate ACKs of a Reno sender
            // counted 2 in TCPDelivered through tcp_add_reno_sack()).
            int numDupack = (flag & (AckFlags.SndUnaAdvanced | AckFlags.NotDup | AckFlags.DsackingAck)) != 0 ? 0
                : (flag & AckFlags.Data) == 0 ? Math.Max(1, seg.BacklogSegs) : 1;
            FastretransAlert(priorSndUna, numDupack, ref flag, ref rexmit);
        }
        // "If needed, reset TLP/RTO timer when RACK doesn't set." linux-4.4: tcp_clean_rtx_queue() re-arms the RTO
        // (tcp_rearm_rto()), and the probe comes at the end of tcp_ack().
        bool legacy = _sim.Profile == KernelProfile.Linux44;
        if ((flag & AckFlags.SetXmitTimer) != 0 && (legacy || !ScheduleLossProbe(advancingRto: true))) RearmRto();
        int delivered = CountDelivered(priorDelivered);
        RateGen(delivered, ref sack);
        CongControl(delivered, (int)(_ca.Lost - priorLost), flag);
        XmitRecovery(rexmit);
        // linux-4.4's tcp_ack(): "if (icsk->icsk_pending == ICSK_TIME_RETRANS) tcp_schedule_loss_probe(sk);" — on every
        // ACK that reaches the end, not only one that re-armed the timer.
        if (legacy) ScheduleLossProbe44();
        // The writer is woken by tcp_check_space() after tcp_data_snd_check()'s push (RcvStateProcess).
        if (_xmitTimer.Armed && XmitPending == TcpTimerKind.Persist) AckProbe();
        return AckVerdict.Ok;
    }

    /// <summary>
    /// Models tcp_ack()'s old_ack: path — net/ipv4/tcp_input.c: "If data was SACKed, tag it and see if we should send
    /// more data. If data was DSACKed, see if we can undo a cwnd reduction." With SACK blocks: tcp_sacktag_write_queue()
    /// (snd_una unchanged), tcp_fastretrans_alert() with no duplicate counted, tcp_newly_delivered() — which finds
    /// nothing new, since this path never adds sack_delivered to tp->delivered — and tcp_xmit_recovery(). No window
    /// update, no RTT sample, no timer re-arm, no congestion control; rcv_tstamp and ts_recent stay as they were.
    /// </summary>
    void OldAck(Segment seg, uint priorSndUna)
    {
        if (!_rxOpt.SackOk || !seg.Options.HasSack) return;
        long priorDelivered = _delivered;
        var sack = new SacktagState();
        var flag = SacktagWriteQueue(seg, _snd.Una, priorSndUna, ref sack);
        var rexmit = Rexmit.None;
        FastretransAlert(priorSndUna, 0, ref flag, ref rexmit);
        CountDelivered(priorDelivered);
        XmitRecovery(rexmit);
    }

    /// <summary>tcp_newly_delivered(): TCPDelivered grows by what this ACK delivered (a MIB since 4.18); returns it.</summary>
    int CountDelivered(long priorDelivered)
    {
        long delivered = _delivered - priorDelivered;
        if (_sim.Profile == KernelProfile.Linux6) Host.Count(MibCounter.TcpExtTCPDelivered, delivered);
        return (int)delivered;
    }

    /// <summary>
    /// The start_seq tcp_clean_rtx_queue() reads for the head skb, whose first queued segment starts at
    /// <paramref name="segmentSeq"/> in the engine: an skb of one segment (tcp_skb_pcount() == 1) that an earlier ACK
    /// covered in part was left whole — the loop breaks before tcp_tso_acked() could trim it — so its seq is still
    /// where it was sent from, below snd_una; a multi-segment one was trimmed to snd_una (<see cref="SkbAcked"/> keeps
    /// the send skbs the same way). When its rest is acknowledged, that old start_seq is below the prior snd_una
    /// (prior_fack): "Non-retransmitted hole got filled? That's reordering" — tcp_check_sack_reordering() counts
    /// TCPSACKReorder and reord_seen. Observed on Linux 6.18.44 (packetdrill/send-queue-counts-the-fin.pkt: the data
    /// and FIN skb acked to its last byte, then the FIN: TCPSACKReorder 1).
    /// </summary>
    uint HeadSkbStartSeq(uint segmentSeq) =>
        _data?.SndSkbs is { Count: > 0 } skbs && SeqMath.Before(skbs[0].Seq, segmentSeq) ? skbs[0].Seq : segmentSeq;

    /// <summary>
    /// The body of tcp_clean_rtx_queue()'s loop — net/ipv4/tcp_input.c — for <paramref name="pcount"/> packets of the skb
    /// <paramref name="s"/> stands for (<paramref name="startSeq"/>, <paramref name="endSeq"/>: its scb->seq before any
    /// trim and scb->end_seq): FLAG_RETRANS_DATA_ACKED, or the first and last ackt, the lowest start (reord) and
    /// FLAG_ORIG_SACK_ACKED below high_seq; retrans_out, sacked_out and lost_out less pcount; with SACK the packets
    /// delivered and RACK advanced; the rate sample; FLAG_DATA_ACKED (FLAG_SYN_ACKED for the SYN).
    /// </summary>
    void AckedSkb(InFlight s, uint startSeq, uint endSeq, int pcount, ref AckFlags flag, ref uint reord, ref SimTime? firstAckt,
        ref (SimTime At, long Epoch)? lastAckt, ref SacktagState sack)
    {
        if (s.Retransmitted)
        {
            flag |= AckFlags.RetransDataAcked;
        }
        else if (!s.Sacked)
        {
            firstAckt ??= s.SentAt;
            lastAckt = (s.SentAt, s.SentEpoch);
            if (SeqMath.Before(startSeq, reord)) reord = startSeq;
            if (!SeqMath.After(endSeq, _ca.HighSeq)) flag |= AckFlags.OrigSackAcked;
        }
        if (s.RetransOut) _ca.RetransOut -= pcount;
        if (s.Sacked)
        {
            _ca.SackedOut -= pcount;
        }
        else if (IsSack)
        {
            _delivered += pcount;
            if (!SpuriousRetrans(s)) RackAdvance(s with { End = endSeq });
        }
        if (s.Lost) _ca.LostOut -= pcount;
        if (!s.Sacked) RateSkbDelivered(s, ref sack);
        if (s.Flags.Has(TcpFlags.Syn))
        {
            flag |= AckFlags.SynAcked;
            RetransStamp = null;
        }
        else
        {
            flag |= AckFlags.DataAcked;
        }
    }

    /// <summary>
    /// Models tcp_tso_acked() — net/ipv4/tcp_input.c — for the skb <paramref name="ack"/> ends inside (the queue's head
    /// segment and those after it in the same send skb and scoreboard state): unless the skb is one packet,
    /// tcp_trim_head() cuts it to snd_una and tcp_set_skb_tso_segs() counts its packets again at tcp_skb_mss() (the
    /// length of its segments); the packets that count drops by are acknowledged (<see cref="AckedSkb"/>) and the rest is
    /// cut at that MSS from snd_una. The engine keeps one entry per segment first sent, so a trimmed skb whose last
    /// segment was short (1449:2921 as 1448 + 24, acked to 2080) would stay two packets where the kernel's 841 bytes
    /// are one: packets_out, lost_out and what the ACK delivered (the cwnd's growth) follow the kernel's count. Returns
    /// the packets acknowledged; the head's seq becomes <paramref name="ack"/> either way.
    /// Observed on Linux 6.18.44 (--fuzz-pkt seed 13306 --fuzz-sysctls, no SACK: ack 2080 after RTOs of 1:1449 let
    /// three new segments go in slow start, not two).
    /// </summary>
    int TsoAcked(uint ack, bool headSkb, ref AckFlags flag, ref uint reord, ref SimTime? firstAckt, ref (SimTime At, long Epoch)? lastAckt, ref SacktagState sack)
    {
        if (_rtx.Count == 0 || !SeqMath.After(ack, _rtx[0].Seq)) return 0;
        var first = _rtx[0];
        uint startSeq = headSkb ? HeadSkbStartSeq(first.Seq) : first.Seq;
        int n = 0;
        if (!first.Flags.Has(TcpFlags.Syn))
        {
            uint skbEnd = SendSkbEndAt(first.Seq);
            n = 1;
            while (n < _rtx.Count && SameRtxSkb(_rtx[n - 1], _rtx[n], first) && !SeqMath.After(_rtx[n].End, skbEnd)) n++;
        }
        int mss = PayloadOf(first); // the skb's segments lie at tcp_skb_mss() steps from its start (below)
        _rtx[0] = first with { Seq = ack };
        if (n < 2) return 0; // "if (tcp_skb_pcount(skb) == 1 || ...) break;"
        var last = _rtx[n - 1];
        RecutAtMss(0, n, mss, adjustCounts: false); // tcp_trim_head() → tcp_set_skb_tso_segs(skb, tcp_skb_mss(skb))
        int pieces = 1;
        while (_rtx[pieces - 1].End != last.End) pieces++;
        int packetsAcked = n - pieces;
        if (packetsAcked <= 0) return 0; // "if (!acked_pcount) break;"
        AckedSkb(first, startSeq, last.End, packetsAcked, ref flag, ref reord, ref firstAckt, ref lastAckt, ref sack);
        return packetsAcked;
    }

    /// <summary>
    /// Models tcp_clean_rtx_queue() — net/ipv4/tcp_input.c: removes what <paramref name="ack"/> covers, keeping the
    /// scoreboard counts (sacked_out, lost_out, retrans_out); with SACK each segment not SACKed before is delivered
    /// now and advances RACK (unless its retransmission was spurious), without SACK tcp_remove_reno_sacks(). The RTT
    /// samples (tcp_ack_update_rtt()): seq_rtt_us from the oldest never-retransmitted, not SACKed segment acknowledged
    /// (none when a retransmitted one is: Karn), else the SACK's (sack_rtt_us, from the first never-retransmitted
    /// segment newly SACKed), else the timestamp echo's when data was acknowledged; ca_rtt_us from the last such segment,
    /// the SACK's last one taking precedence. A hole filled by a never-retransmitted segment below the highest SACK is
    /// reordering (tcp_check_sack_reordering()). An ACK that acknowledges nothing re-arms the RTO/TLP only when its SACK
    /// RTT is longer than the head has been out. Returns FLAG_DATA_ACKED / FLAG_SYN_ACKED / FLAG_RETRANS_DATA_ACKED /
    /// FLAG_ORIG_SACK_ACKED and FLAG_SET_XMIT_TIMER.
    /// </summary>
    AckFlags CleanRtxQueue(Segment seg, uint ack, uint priorFack, ref SacktagState sack)
    {
        var flag = AckFlags.None;
        int acked = 0;
        uint priorSndUna = _snd.Una;
        int priorSacked = _ca.SackedOut;
        uint reord = _snd.Nxt; // "lowest acked un-retx un-sacked seq"
        // never-retransmitted, not SACKed packets acknowledged: the first one's send time, the last one's and its clock read
        SimTime? firstAckt = null;
        (SimTime At, long Epoch)? lastAckt = null;
        while (acked < _rtx.Count && !SeqMath.After(_rtx[acked].End, ack))
        {
            var s = _rtx[acked];
            AckedSkb(s, acked == 0 ? HeadSkbStartSeq(s.Seq) : s.Seq, s.End, 1, ref flag, ref reord, ref firstAckt, ref lastAckt, ref sack);
            acked++;
        }
        _rtx.RemoveRange(0, acked); // one move of what is left, not one per segment acknowledged
        int tsoAcked = TsoAcked(ack, acked == 0, ref flag, ref reord, ref firstAckt, ref lastAckt, ref sack);
        int pktsAcked = acked + tsoAcked;
        bool fullyAcked = tsoAcked == 0; // "fully_acked = false" once tcp_tso_acked() counted packets of a trimmed skb
        // "if (TCP_SKB_CB(skb)->sacked & TCPCB_SACKED_ACKED) flag |= FLAG_SACK_RENEGING" for the skb the loop stopped at.
        if (_rtx.Count > 0 && _rtx[0].Sacked) flag |= AckFlags.SackReneging;
        _snd.Una = ack;
        if (_rtx.Count == 0)
        {
            RtxEmptied();
            ChronoStop(TcpChrono.Busy); // "if (!skb) tcp_chrono_stop(sk, TCP_CHRONO_BUSY)"
        }
        SkbAcked(ack);
        Recharge();
        long seqRttUs = -1, sackRttUs = -1, caRttUs = -1;
        bool maybeDelayed = false;
        if (firstAckt is { } first && (flag & AckFlags.RetransDataAcked) == 0)
        {
            seqRttUs = RttSampleUs(first);
            var last = lastAckt!.Value;
            caRttUs = RttSampleUs(last.At);
            _sampledRead = (last.Epoch, caRttUs * 1000);
            // "Conservatively mark a delayed ACK. It's typically from a lone runt packet over the round trip to a receiver
            // w/o out-of-order or CE events." (The function's own flags: FLAG_CA_ALERT is never among them.)
            maybeDelayed = pktsAcked == 1 && fullyAcked && priorSacked == 0 && ack - priorSndUna < PayloadMss
                && sack.PriorDelivered + 1 == _delivered && (flag & AckFlags.SynAcked) == 0;
        }
        if (sack.FirstSackt is { } firstSackt)
        {
            sackRttUs = RttSampleUs(firstSackt);
            caRttUs = RttSampleUs(sack.LastSackt);
        }
        bool rttUpdate = AckUpdateRtt(seg, flag, seqRttUs, sackRttUs, ref caRttUs, maybeDelayed);
        // tcp_ack_update_rtt(): "RFC6298: only reset backoff on valid RTT measurement" — RttEstimator() clears
        // icsk_backoff after a sample; an ACK without one (Karn, no TSecr) leaves it.
        if ((flag & AckFlags.Acked) != 0)
        {
            flag |= AckFlags.SetXmitTimer;
            MtupProbeSuccessIfAcked();
            if (!IsSack)
            {
                RemoveRenoSacks(pktsAcked);
                // "non-SACK case cannot confirm that progress was due to original transmission"
                if ((flag & AckFlags.RetransDataAcked) != 0) flag &= ~AckFlags.OrigSackAcked;
            }
            else if (SeqMath.Before(reord, priorFack))
            {
                // "Non-retransmitted hole got filled? That's reordering"
                CheckSackReordering(reord, _snd.Una, ts: false);
            }
        }
        else if (_rtx.Count > 0 && rttUpdate && sack.FirstSackt is { } sackt && UsSince(sackt) > UsSince(_rtx[0].SentAt))
        {
            // "Do not re-arm RTO if the sack RTT is measured from data sent after when the head was last
            // (re)transmitted. Otherwise the timeout may continue to extend in loss recovery." sack_rtt_us and the head's
            // age are two readings of one clock: compared raw, not the sample as taken for a same-instant transit (D116).
            flag |= AckFlags.SetXmitTimer;
        }
        // icsk_ca_ops->pkts_acked() with rs->rtt_us = ca_rtt_us.
        CaPktsAcked(caRttUs);
        return flag;
    }

    /// <summary>tcp_stamp_us_delta(tp->tcp_mstamp, t): microseconds from <paramref name="t"/> to now.</summary>
    long UsSince(SimTime t) => (_sim.Now - t).Ns / 1000;

    /// <summary>
    /// An RTT sample of tcp_clean_rtx_queue(), tcp_synack_rtt_meas() or tcp_rack_advance(): tcp_stamp_us_delta() from the
    /// send, <see cref="InstantTransitUs"/> for a send in this very instant. The engine's lo, a zero-delay link and a packetdrill peer answering
    /// "+0" hand a segment over in the instant it is sent, so their samples would be 0 µs; no real transit is: over lo
    /// 6.18.44 measures the CPU's 7–230 µs (docs/kernel-behaviour.md, "lo's RTT"), through packetdrill's TUN 25–30 µs. A
    /// 0 µs sample would take the kernel's rules for one, which no real connection takes: tcp_update_rtt_min()'s one jiffy
    /// (min_rtt 4000 µs, so tcp_tso_autosize() adds gso_max_size &gt;&gt; 7 where lo's min_rtt adds it whole: over lo two
    /// segments a skb where 6.18.44 sends three) and srtt_us = max(1U, 0) (tcp_set_rto()'s 200 ms where lo's RTO is 204 ms).
    /// So the engine takes such a transit as the shortest the kernel was measured to take (docs/kernel-check.md, D116: an
    /// approximation of the kernel's real transit). Only a transit of no virtual time: one of 1–6 µs (a link's delay, a
    /// script's "+0.000002") is a real one and its sample the kernel's own, and one under 1 µs reads 0 µs as the kernel's
    /// tcp_stamp_us_delta() would.
    /// </summary>
    internal static long AtLeastATransit(SimDuration transit) => transit.Ns == 0 ? InstantTransitUs : transit.Ns / 1000;

    /// <summary>
    /// The shortest transit 6.18.44 gave an RTT sample over lo (docs/kernel-check.md, D57: 7, 9 and 13 µs for 100 bytes
    /// ACKed at once; session 34: 9–15 µs over eight connections). At 4 µs or more, RACK's reordering window
    /// (tcp_rack_reo_wnd(): min_rtt / 4) is not 0 as on the kernel, so a segment sent with the one an ACK just
    /// measured is not lost for it (D116); under 512 µs, tcp_tso_autosize()'s min_rtt &gt;&gt; tcp_tso_rtt_log is 0 as over lo.
    /// </summary>
    internal const long InstantTransitUs = 7;

    long RttSampleUs(SimTime sent) => AtLeastATransit(_sim.Now - sent);

    /// <summary>
    /// Models tcp_ack_update_rtt() — net/ipv4/tcp_input.c: "Prefer RTT measured from ACK's timing to TS-ECR": seq_rtt_us,
    /// else sack_rtt_us, else — only when the ACK acknowledged new data (FLAG_ACKED, the RTTM rule) — the timestamp echo
    /// (tcp_rtt_tsopt_us(tp, 1), which is then ca_rtt_us too). With a sample: the min-RTT filter takes ca_rtt_us
    /// (tcp_update_rtt_min(): 0 counts as one jiffy; skipped when FLAG_ACK_MAYBE_DELAYED and above the minimum), tcp_rtt_estimator() and tcp_set_rto() the sample, and the backoff
    /// is reset ("RFC6298: only reset backoff on valid RTT measurement"). <paramref name="caRttUs"/> ends as rs->rtt_us.
    /// </summary>
    bool AckUpdateRtt(Segment seg, AckFlags flag, long seqRttUs, long sackRttUs, ref long caRttUs, bool maybeDelayed)
    {
        if (seqRttUs < 0) seqRttUs = sackRttUs;
        if (seqRttUs < 0)
        {
            long tsRttUs = CaRttFromTsopt(seg, (flag & AckFlags.Acked) != 0);
            if (tsRttUs >= 0) seqRttUs = caRttUs = tsRttUs;
        }
        if (seqRttUs < 0) return false;
        // tcp_update_rtt_min(): "If the remote keeps returning delayed ACKs, eventually the min filter would pick it up and
        // overestimate the prop. delay when it expires. Skip suspected delayed ACKs."
        if (!maybeDelayed || caRttUs <= MinRttUs) UpdateRttMin(caRttUs);
        RttEstimator(seqRttUs);
        return true;
    }

    /// <summary>
    /// Models tcp_update_rtt_min() — net/ipv4/tcp_input.c: minmax_running_min(&amp;tp->rtt_min, wlen, tcp_jiffies32, rtt_us ?:
    /// jiffies_to_usecs(1)) with wlen = net.ipv4.tcp_min_rtt_wlen · HZ: the minimum of the last tcp_min_rtt_wlen seconds
    /// (<see cref="WinMinMax"/>). linux-4.4 has no window (the minimum is kept for the connection's life).
    /// </summary>
    void UpdateRttMin(long rttUs)
    {
        uint meas = rttUs > 0 ? (uint)Math.Min(rttUs, uint.MaxValue) : (uint)(Jiffies.Tick.Ns / 1000);
        int wlenSec = Host.Sysctls.TcpMinRttWlenSec;
        uint win = wlenSec < 0 ? uint.MaxValue : (uint)(wlenSec * Jiffies.Hz);
        _rtt.RttMin.RunningMin(win, Jiffies32, meas);
    }

    /// <summary>tcp_skb_spurious_retrans(): a retransmitted segment whose ACK echoes a timestamp older than its last transmission.</summary>
    bool SpuriousRetrans(InFlight s) => s.Retransmitted && _ackTsEcr != 0 && SeqMath.Before(_ackTsEcr, TsValAt(s.SentAt));

    /// <summary>
    /// Models tcp_sacktag_one() for the segments a SACK block covers (tcp_sacktag_write_queue(); <paramref name="sndUna"/>
    /// is tp->snd_una there): a D-SACKed retransmission takes one from undo_retrans, and one already SACKed is reordering
    /// evidence (state->reord); a newly SACKed segment advances RACK, leaves lost_out (and retrans_out, when its
    /// retransmission was lost), is delivered (state->sack_delivered, FLAG_DATA_SACKED); one never retransmitted also sets
    /// FLAG_ORIG_SACK_ACKED below high_seq, is reordering evidence when it lies below the highest SACK ("New sack for not
    /// retransmitted frame, which was in hole. It is reordering."), and gives the SACK RTT sample (first_sackt,
    /// last_sackt). tcp_sacktag_walk() then moves tp->highest_sack past it (tcp_advance_highest_sack()). A D-SACK clears
    /// a retransmission still counted in flight.
    /// </summary>
    AckFlags MarkSacked(uint left, uint right, uint sndUna, bool dupSack, ref SacktagState state)
    {
        var flag = AckFlags.None;
        // The segments the block covers whole: from the first that starts in it, while they end inside it.
        for (int i = RtxFirstFrom(left); i < _rtx.Count && !SeqMath.After(_rtx[i].End, right); i++)
        {
            var r = _rtx[i];
            // tcp_sacktag_walk(): tcp_rate_skb_delivered() for every segment in the block (a SACKed one is marked off).
            if (!r.Sacked) RateSkbDelivered(r, ref state);
            // "Account D-SACK for retransmitted packet."
            if (dupSack && r.Retransmitted)
            {
                if (_ca.UndoMarker != 0 && _ca.UndoRetrans > 0 && SeqMath.After(r.End, _ca.UndoMarker)) _ca.UndoRetrans--;
                if (r.Sacked && SeqMath.Before(r.Seq, state.Reord)) state.Reord = r.Seq;
            }
            // "Nothing to do; acked frame is about to be dropped (was ACKed)."
            if (!SeqMath.After(r.End, sndUna)) continue;
            if (!r.Sacked)
            {
                RackAdvance(r);
                if (r.RetransOut)
                {
                    // "If the segment is not tagged as lost, we do not clear RETRANS, believing that retransmission is still in flight."
                    if (r.Lost)
                    {
                        r = r with { Lost = false, RetransOut = false };
                        _ca.LostOut--;
                        _ca.RetransOut--;
                    }
                }
                else
                {
                    if (!r.Retransmitted)
                    {
                        if (SeqMath.Before(r.Seq, HighestSackSeq(sndUna)) && SeqMath.Before(r.Seq, state.Reord)) state.Reord = r.Seq;
                        if (!SeqMath.After(r.End, _ca.HighSeq)) flag |= AckFlags.OrigSackAcked;
                        state.FirstSackt ??= r.SentAt;
                        state.LastSackt = r.SentAt;
                    }
                    if (r.Lost)
                    {
                        r = r with { Lost = false };
                        _ca.LostOut--;
                    }
                }
                r = r with { Sacked = true };
                flag |= AckFlags.DataSacked;
                _ca.SackedOut++;
                state.SackDelivered++; // "Out-of-order packets delivered"
            }
            if (dupSack && r.RetransOut)
            {
                r = r with { RetransOut = false };
                _ca.RetransOut--;
            }
            _rtx[i] = r;
            // tcp_sacktag_walk(): "if (!before(TCP_SKB_CB(skb)->seq, tcp_highest_sack_seq(tp))) tcp_advance_highest_sack(sk, skb)".
            if (!SeqMath.Before(r.Seq, HighestSackSeq(sndUna))) _ca.HighestSack = r.End;
        }
        return flag;
    }

    /// <summary>
    /// Models tcp_ack_probe(): once the whole send head skb (tcp_send_head()'s end_seq, with the FIN if it rides
    /// on it — not just its first MSS) fits the window, stop probing and clear icsk_backoff; else re-arm the probe
    /// timer (a window that lets only part of a long skb out keeps the backoff: tcp_data_snd_check() then sends that
    /// part and tcp_rearm_rto() replaces the timer). It sends nothing: "Socket must be waked up
    /// by subsequent tcp_data_snd_check()" — after step 7 has queued the segment's text (its data and FIN), so what
    /// leaves then carries their ACK, and new data after close() resets the connection before anything is sent.
    /// </summary>
    void AckProbe()
    {
        if (!SeqMath.After(SendHeadEndSeq(), WndEnd))
        {
            _icsk.Backoff = 0;
            _icsk.ProbesStampSet = false;
            ClearXmitTimer();
        }
        else
        {
            ResetXmitTimer(TcpTimerKind.Persist, ClampProbeToUserTimeout(ProbeWhen(RtoMax)));
        }
    }

    /// <summary>
    /// tcp_send_head()'s end_seq: the end of the first unsent skb, its FIN included. Without skbs (none queued by
    /// tcp_sendmsg_locked()), the end of the next segment.
    /// </summary>
    uint SendHeadEndSeq()
    {
        if (_data?.SndSkbs is { } skbs && SndSkbHolding(skbs, _snd.Nxt) is var head and >= 0) return skbs[head].End;
        uint dataEnd = _snd.FinQueued ? _snd.FinSeq : _snd.WriteSeq;
        long dataLeft = SeqMath.Before(_snd.Nxt, dataEnd) ? dataEnd - _snd.Nxt : 0;
        uint headEnd = _snd.Nxt + (uint)Math.Min(PayloadMss, dataLeft);
        return _snd.FinQueued && headEnd == _snd.FinSeq ? headEnd + 1 : headEnd;
    }

    /// <summary>
    /// Models tcp_data_queue() — net/ipv4/tcp_input.c: in-order data is queued (and out-of-order
    /// data kept until the hole fills, its ACK scheduled for tcp_ack_snd_check()); a FIN in order runs tcp_fin();
    /// a duplicate, and text into a zero receive window (dropped: TCPZeroWindowDrop), enter quick-ACK mode and schedule
    /// the ACK for tcp_ack_snd_check().
    /// </summary>
    bool DataQueue(Segment seg)
    {
        bool fin = seg.Has(TcpFlags.Fin);
        // seq == end_seq: nothing to queue. A crossed SYN-ACK occupies its SYN's sequence number and
        // falls to the duplicate branch below (DelayedACKLost, quick-ACK, an ACK now).
        if (seg.Seq == seg.EndSeq) return false;
        uint seq = seg.Seq, end = seg.EndSeq;
        EcnAcceptCwr(seg);
        // tcp_data_queue(): "tp->rx_opt.dsack = 0" — a D-SACK not yet sent is forgotten when new text arrives.
        _rxOpt.Dsack = false;
        if (!SeqMath.After(end, _rcv.Nxt))
        {
            // "A retransmit, 2nd most common case. Force an immediate ack." (DelayedACKLost, the whole segment
            // D-SACKed), then out_of_window: tcp_enter_quickack_mode() and inet_csk_schedule_ack() — the ACK is
            // tcp_ack_snd_check()'s, after tcp_data_snd_check(): data sent then carries it and the D-SACK.
            Host.Count(MibCounter.TcpExtDelayedACKLost);
            DsackSet(seq, end);
            EnterQuickAckMode();
            AckToWrite.Scheduled = true;
            SkDropsAdd(seg); // out_of_window: … drop: tcp_drop_reason()
            return false;
        }
        // linux-4.4 (until 4.18, "tcp: do not force quickack when receiving out-of-order packets"): tcp_data_queue() runs
        // tcp_enter_quickack_mode() for every segment it does not take in order — the partial ones and the out-of-order ones.
        bool legacy = _sim.Profile == KernelProfile.Linux44;
        if (SeqMath.After(seq, _rcv.Nxt) && !SeqMath.Before(seq, _rcv.Nxt + ReceiveWindow()))
        {
            // "Out of window. F.e. zero window probe.": text starting at the window's right edge or past it is not
            // queued out of order — out_of_window (SKB_DROP_REASON_TCP_OVERWINDOW, no counter): quick-ACK mode and
            // the ACK scheduled for tcp_ack_snd_check(). linux-4.4 alike.
            EnterQuickAckMode();
            AckToWrite.Scheduled = true;
            SkDropsAdd(seg);
            return false;
        }
        if (legacy && seq != _rcv.Nxt) EnterQuickAckMode();
        if (SeqMath.After(seq, _rcv.Nxt))
        {
            if (!OfoSchedule(seg)) return false;
            var ofoSkb = DataQueueOfo(seg, seq, end, fin);
            // tcp_data_queue_ofo(): tcp_grow_window() with SACK — whatever the length; the 128-byte floor is
            // tcp_event_data_recv()'s, for in-order data — then tcp_rcvbuf_grow() (a user socket). A queued skb is not in
            // sk_rmem_alloc yet when its window grows (end: tcp_grow_window(sk, skb, false) before skb_set_owner_r()), so
            // tcp_space() leaves out its truesize; a dropped duplicate grows nothing. Observed on Linux 6.18.44 (loss
            // profile seed 18 case 1). A coalesced segment grows by coalesce_done's tcp_grow_window(sk, skb, true), its
            // truesize adjusted (<see cref="OfoCoalescedTruesize"/>: nothing for a bare FIN, 2 · advmss while there is room).
            if (_rxOpt.SackOk && ofoSkb != OfoSkb.Dropped)
            {
                if (ofoSkb == OfoSkb.Coalesced)
                    GrowWindow(seg.Length, OfoCoalescedTruesize(seg.Length));
                else GrowWindow(seg.Length, RcvTruesize(seg.Length), RcvTruesize((long)(end - seq) - (fin ? 1 : 0)));
            }
            if (Owner is not null) RcvbufGrow(_rcvq.Space);
            // The ACK DataQueueOfo() scheduled is tcp_ack_snd_check()'s, after tcp_data_snd_check() (data sent now carries
            // it) — on linux-4.4 too, whose __tcp_ack_snd_check() ACKs at once while out-of-order data is queued.
            return false;
        }
        // "Partial packet, seq < rcv_next < end_seq": its head is D-SACKed, the rest queued.
        if (SeqMath.Before(seq, _rcv.Nxt)) DsackSet(seq, _rcv.Nxt);
        if (ReceiveWindow() == 0 && seg.Length > 0)
        {
            // "Some stacks are known to send bare FIN packets in a loop even if we send RWIN 0": only a bare FIN is
            // queued; text is dropped (TCPZeroWindowDrop, 5.x+: linux-4.4 counts nothing) and goes out_of_window:
            // tcp_enter_quickack_mode() and inet_csk_schedule_ack() — the ACK is tcp_ack_snd_check()'s (quick-ACK mode:
            // at once), after tcp_data_snd_check(): data sent then carries it (both profiles).
            if (_sim.Profile == KernelProfile.Linux6) Host.Count(MibCounter.TcpExtTCPZeroWindowDrop);
            EnterQuickAckMode();
            AckToWrite.Scheduled = true;
            SkDropsAdd(seg);
            return false;
        }
        // queue_and_out: tcp_try_rmem_schedule(sk, skb, skb->truesize) — not on tcp_rcv_established()'s fast path.
        if (!FastPathData && !QueueAndOutSchedule(seg)) return false;
        Accept(seq, end, fin, ArrivingSkb(seg.Length), runFin: false);
        // queue_and_out: "if (skb->len) tcp_event_data_recv(sk, skb)" — the skb's whole text, so a partial segment
        // whose text is all old (a byte below rcv_nxt carrying a FIN) still counts as data received: the first one
        // sets ATO before tcp_fin() enters ping-pong mode, and its ACK waits the delayed-ACK time — observed on Linux
        // 6.18.44 (kernel --fuzz-pkt seed 1013: 40 ms, where the engine, ATO unset, ACKed at the next jiffy).
        if (seg.Length > 0) EventDataRecv(seg);
        // Then "if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN) tcp_fin(sk)": after tcp_event_data_recv(), so the ACK
        // tcp_fin() sends in FIN_WAIT1/FIN_WAIT2 clears the ACK that scheduled (tcp_event_ack_sent()) and
        // tcp_ack_snd_check() sends no second one — observed on Linux 6.18.44 (--fuzz-teardown seed 10696).
        if (fin)
        {
            Fin();
            SyncRmemCharge(); // tcp_fin() purged the out-of-order queue: its skbs' memory is uncharged (as Accept() does)
        }
        bool hadOfo = Ofo.Count > 0;
        OfoQueue();
        SackRemove();
        FastPathCheck();
        // RFC 5681 4.2: "SHOULD send immediate ACK, when gap in queue is filled" — tcp_data_queue() sets ICSK_ACK_NOW
        // for tcp_ack_snd_check(); with a hole left, that check finds the out-of-order data (SACK compression, whose
        // duplicate-ACK count starts again for the new rcv_nxt). linux-4.4 ("RFC2581. 4.2.") only leaves ping-pong mode
        // (icsk_ack.pingpong = 0): the quick ACKs the out-of-order segments granted make the ACK go at once.
        if (hadOfo && Ofo.Count == 0)
        {
            if (legacy) ExitPingPongMode();
            else AckToWrite.Now = true;
        }
        return true;
    }

    /// <summary>
    /// Queues in-order text (tcp_queue_rcv()) of <paramref name="skb"/>: rcv_nxt moves, and a FIN runs tcp_fin() unless
    /// the caller runs it itself (<paramref name="runFin"/> false: tcp_data_queue() first runs tcp_event_data_recv()).
    /// Returns the new payload.
    /// </summary>
    long Accept(uint seq, uint end, bool fin, LoSkb skb, bool runFin = true)
    {
        long payload = (long)(end - seq) - (fin ? 1 : 0) - (long)(_rcv.Nxt - seq);
        if (payload > 0) _rcv.Unread += payload;
        QueueRcv(Math.Max(0, payload), fin, end, skb);
        if (payload > 0) Recharge();
        _rcv.Nxt = end;
        AckToWrite.Scheduled = true;
        if (fin && runFin) Fin();
        SyncRmemCharge(); // skb_set_owner_r() / tcp_try_coalesce(): sk_mem_charge() as the skb is queued
        return payload;
    }

    /// <summary>
    /// Models tcp_event_data_recv() — net/ipv4/tcp_input.c, for a segment with text queued in order: the ACK
    /// is scheduled, tcp_measure_rcv_mss(), tcp_rcv_rtt_measure(), the first data starts quick-ACK mode
    /// (tcp_incr_quickack(): rcv_wnd / (2 · rcv_mss) ACKs, 2 to 16) and sets ATO, and a segment of at least
    /// 128 bytes runs tcp_grow_window().
    /// </summary>
    void EventDataRecv(Segment seg)
    {
        AckToWrite.Scheduled = true;
        MeasureRcvMss(seg.Length, seg.Has(TcpFlags.Psh), seg.Has(TcpFlags.Fin), seg.GsoSize);
        RcvRttMeasure();
        if (Ack.Ato == SimDuration.Zero)
        {
            // "The _first_ data packet received, initialize delayed ACK engine."
            IncrQuickAck();
            AckToWrite.Ato = TcpConstants.AtoMin;
        }
        else
        {
            // ATO follows the inter-arrival time m, "int m = now - icsk->icsk_ack.lrcvtime" in jiffies. A never-stamped
            // lrcvtime (0: a simultaneous open) makes m tcp_jiffies32 itself, which on a machine up more than 300 s has
            // wrapped past 0 and counts up from there: a gap longer than any RTO ("too long gap"), as the u32 difference
            // here reads it. (The engine's hosts count jiffies from INITIAL_JIFFIES at virtual time 0, where the int would
            // be negative; the kernels this is checked against have been up for hours — docs/kernel-check.md D110.)
            long m = unchecked(Jiffies32 - Lrcvtime32);
            long ato = Jiffies.FromDuration(Ack.Ato), atoMin = Jiffies.FromDuration(TcpConstants.AtoMin), rto = Jiffies.FromDuration(_icsk.Rto);
            if (m <= atoMin / 2)
            {
                ato = AtoField((ato >> 1) + atoMin / 2); // "The fastest case is the first."
            }
            else if (m < ato)
            {
                ato = AtoField((ato >> 1) + m);
                if (ato > rto) ato = rto;
            }
            else if (m > rto)
            {
                IncrQuickAck(); // "Too long gap. Apparently sender failed to restart window, so that we send ACKs quickly."
            }
            AckToWrite.Ato = Jiffies.ToDuration(ato);
        }
        StampLrcvTime();
        if (seg.Length >= 128) GrowWindow(seg.Length, GrowTruesize(seg.Length)); // tcp_grow_window(sk, skb, true)
    }

    /// <summary>
    /// Models tcp_fin() — net/ipv4/tcp_input.c: RCV_SHUTDOWN and SOCK_DONE; ESTABLISHED →
    /// CLOSE_WAIT (delayed-ACK ping-pong mode); FIN_WAIT1 → CLOSING with an immediate ACK
    /// (simultaneous close); FIN_WAIT2 → immediate ACK and TIME_WAIT.
    /// </summary>
    void Fin()
    {
        RcvShutdown = true;
        SockDone = true;
        switch (State)
        {
            case TcpState.SynRecv or TcpState.Established:
                TransitionTo(TcpState.CloseWait, "tcp_fin");
                EnterPingPongMode();
                break;
            case TcpState.FinWait1:
                SendAck("tcp_fin (simultaneous close)");
                TransitionTo(TcpState.Closing, "tcp_fin");
                break;
            case TcpState.FinWait2:
                SendAck("tcp_fin");
                TimeWait(TcpState.TimeWait, SimDuration.Zero, "tcp_fin");
                break;
        }
        Ofo.Clear();
        NumSacks = 0; // tcp_sack_reset(): num_sacks and dsack
        _rxOpt.Dsack = false;
        // "if (!sock_flag(sk, SOCK_DEAD)) sk->sk_state_change(sk)": a lingering close() wakes (and, in CLOSING, sleeps again).
        if (!Dead) WakeLingeringClose();
    }

    /// <summary>
    /// Models tcp_ack_snd_check() + __tcp_ack_snd_check() — net/ipv4/tcp_input.c: nothing when no ACK is scheduled
    /// ("We sent a data segment already"). ACK now when more than rcv_mss is unacknowledged and either fewer than
    /// SO_RCVLOWAT bytes wait to be read (rcv_nxt − copied_seq &lt; sk_rcvlowat) or the window __tcp_select_window()
    /// would offer now reaches rcv_wnd ("right edge of window advances far enough"; that call clears the quick ACKs when
    /// less than half the receive space is free, before the next test reads them), in quick-ACK mode (not
    /// ping-pong), or with ICSK_ACK_NOW ("Protocol state mandates a one-time immediate ACK"). Otherwise, with the
    /// out-of-order queue empty, a delayed ACK; with out-of-order data, SACK compression (4.20+;
    /// <see cref="CompressSack"/>). linux-4.4 has no SO_RCVLOWAT clause (4.18's 796f82eafcd9): its "More than one full
    /// frame received" tests the window alone; and it ACKs out-of-order data at once. An ACK due now while the socket
    /// handles its backlog waits for tcp_release_cb() (6.7+, tcp_backlog_ack_defer: <see cref="Simulation.DeferAck"/>);
    /// SACK compression's ACKs sent at once (goto send_now) are not deferred.
    /// </summary>
    void AckSendCheck()
    {
        if (!Ack.Scheduled) return;
        bool legacy = _sim.Profile == KernelProfile.Linux44;
        if (_rcv.Nxt - _rcv.Wup > (uint)_rcvMss && ((!legacy && RcvAvail < RcvLowat) || SelectWindowRaw() >= _rcv.Wnd)
            || (Ack.Quick > 0 && !InPingPongMode) || Ack.Now || (legacy && Ofo.Count > 0))
        {
            // "If we are running from __release_sock() in user context, Defer the ack until tcp_release_cb()."
            if (_sim.DeferAck(this)) return;
            SendAck("__tcp_ack_snd_check");
            return;
        }
        if (Ofo.Count == 0)
        {
            ScheduleDelayedAck();
            return;
        }
        CompressSack();
    }

    /// <summary>
    /// Models the SACK-compression part of __tcp_ack_snd_check() (4.20+): without SACK, or with tcp_comp_sack_nr ACKs
    /// held back already, the ACK goes now. The first TCP_FASTRETRANS_THRESH (3) duplicate ACKs for one rcv_nxt go
    /// now (dup_ack_counter, reset when rcv_nxt moves: compressed_ack_rcv_nxt), so the sender can fast-retransmit;
    /// later ones are held back (compressed_ack++) until the hrtimer, armed once, fires after min(tcp_comp_sack_delay_ns,
    /// 5 % of the RTT) plus tcp_comp_sack_slack_ns. The RTT is the receiver's estimate (rcv_rtt_est.rtt_us) or the
    /// smoothed RTT if that is smaller and non-zero — so a receiver that has no estimate of its own waits 0 ns plus
    /// the slack. (6.19 raised the share to a third of the RTT and cut the slack default to 10 µs; 6.18 is modelled.)
    /// </summary>
    void CompressSack()
    {
        if (!_rxOpt.SackOk || CompressedAcks >= Host.Sysctls.TcpCompSackNr)
        {
            SendAck("__tcp_ack_snd_check");
            return;
        }
        var comp = RareToWrite.CompAck ??= new();
        if (comp.RcvNxt != _rcv.Nxt)
        {
            comp.RcvNxt = _rcv.Nxt;
            comp.DupAckCounter = 0;
        }
        if (comp.DupAckCounter < TcpConstants.FastRetransThresh)
        {
            comp.DupAckCounter++;
            SendAck("__tcp_ack_snd_check");
            return;
        }
        comp.Count++;
        if (comp.Timer.Armed) return; // hrtimer_is_queued()
        // "compress ack timer : 5 % of rtt, but no more than tcp_comp_sack_delay_ns": rtt in µs · 8, so
        // rtt · (NSEC_PER_USEC >> 3) / 20 ns.
        long rtt = RcvRttUs8;
        if (_rtt.SrttUs != 0 && _rtt.SrttUs < rtt) rtt = _rtt.SrttUs;
        long delay = Math.Min(Host.Sysctls.TcpCompSackDelayNs, rtt * (1000 >> 3) / 20);
        ArmCompressedAckTimer(SimDuration.FromNanoseconds(delay), SimDuration.FromNanoseconds(Host.Sysctls.TcpCompSackSlackNs));
    }

    /// <summary>
    /// Models tcp_release_cb()'s TCPF_ACK_DEFERRED — net/ipv4/tcp_output.c, from release_sock() after __release_sock():
    /// the ACK __tcp_ack_snd_check() deferred goes now if one is still scheduled (inet_csk_ack_scheduled(); data the
    /// release sent carried it otherwise).
    /// </summary>
    internal void SendDeferredAck()
    {
        if (Ack.Scheduled && State != TcpState.Close) SendAck("tcp_release_cb");
    }

    /// <summary>
    /// Models __tcp_cleanup_rbuf() — net/ipv4/tcp.c, after a read: with an ACK pending, ACK when more than
    /// rcv_mss is unacknowledged, or when the read emptied sk_rmem_alloc and a pushed segment is waiting
    /// (ICSK_ACK_PUSHED2, or ICSK_ACK_PUSHED outside ping-pong mode); otherwise, when what is left of the
    /// window is at most half of window_clamp, a window update once __tcp_select_window() offers a non-zero
    /// window at least twice that (never after RCV_SHUTDOWN).
    /// </summary>
    void CleanupRbuf(long copied)
    {
        bool timeToAck = Ack.Scheduled && (_rcv.Nxt - _rcv.Wup > (uint)_rcvMss
            || copied > 0 && (Ack.Pushed2 || Ack.Pushed && !InPingPongMode) && RmemAlloc == 0);
        if (!timeToAck && copied > 0 && !RcvShutdown)
        {
            long current = ReceiveWindow();
            if (2 * current <= _rcv.WindowClamp)
            {
                long newWindow = SelectWindowRaw();
                if (newWindow != 0 && newWindow >= 2 * current) timeToAck = true;
            }
        }
        if (timeToAck && State != TcpState.Close) SendAck("tcp_cleanup_rbuf");
    }

    // ---- listener -------------------------------------------------------------------------------

    /// <summary>
    /// A segment for a listener (tcp_v4_do_rcv → tcp_rcv_state_process in LISTEN): an ACK without SYN may
    /// return a SYN cookie (tcp_v4_cookie_check(), <see cref="CookieCheck"/>), else it gets a reply RST; a SYN
    /// makes a request socket or, when the SYN queue is full, a cookie SYN-ACK (tcp_conn_request); anything
    /// else is dropped. <paramref name="twIsn"/> is the ISN a SYN that came through a TIME-WAIT must use.
    /// </summary>
    internal void OnListenSegment(Segment seg, uint? twIsn)
    {
        // "if (th->ack) return 1" comes first (a RST with ACK is answered by nothing and freed, tcp_v4_do_rcv()'s
        // reset:); a RST without: "goto discard", tcp_drop_reason().
        if (seg.Has(TcpFlags.Rst))
        {
            if (!seg.Has(TcpFlags.Ack)) SkDropsAdd(seg);
            return;
        }
        if (seg.Has(TcpFlags.Ack))
        {
            if (!seg.Has(TcpFlags.Syn) && CookieCheck(seg)) return;
            Host.SendResetReply(seg, "tcp_rcv_state_process (LISTEN, ACK)");
            return;
        }
        if (!seg.Has(TcpFlags.Syn) || seg.Has(TcpFlags.Fin))
        {
            Drop(seg, seg.Has(TcpFlags.Syn) ? "LISTEN: SYN with FIN is discarded" : "LISTEN: neither SYN nor ACK");
            return;
        }
        if (twIsn is null && Host.Sysctls.TcpTwRecycle
            && !Host.PeerIsProven(seg.Source.Address, seg.Options.HasTimestamp, seg.Options.TsVal))
        {
            // linux-4.4 tcp_conn_request(): tcp_peer_is_proven() failed — SYN silently dropped.
            Host.Count(MibCounter.TcpExtPAWSPassive);
            Ignore(seg, "tcp_tw_recycle: timestamp older than the cached one for this peer");
            return;
        }
        // tcp_conn_request(): a SYN through a TIME-WAIT (isn) skips the SYN-queue test; a full queue (or
        // tcp_syncookies=2) means a cookie, or with tcp_syncookies=0 a drop.
        bool wantCookie = false;
        if (twIsn is null && (Host.Sysctls.TcpSyncookies == 2 || ReqskQueueIsFull))
        {
            wantCookie = SynFloodAction();
            if (!wantCookie)
            {
                ListenDrop(); // drop: tcp_listendrop()
                Ignore(seg, "SYN queue full (tcp_syncookies=0)");
                return;
            }
        }
        if (AcceptQueueIsFullForSyn)
        {
            Host.Count(MibCounter.TcpExtListenOverflows);
            ListenDrop();
            Ignore(seg, "accept queue full");
            return;
        }
        ParseSynWindowScale(Host, seg); // inet_reqsk_alloc(), then tcp_parse_options(..., &tmp_opt, 0, ...)
        // tcp_v4_init_req(): ir_loc_addr = the SYN's destination address (one of the host's, or 127.x over lo).
        var tuple = new FourTuple(seg.Destination, seg.Source);
        if (!wantCookie && twIsn is null && SynBacklogKeptForProvenPeers(tuple))
        {
            ListenDrop(); // drop_and_release → tcp_listendrop(); pr_drop_req() is a debug line
            Ignore(seg, "tcp_max_syn_backlog: the last quarter of the SYN queue is kept for proven peers (tcp_syncookies=0)");
            return;
        }
        if (wantCookie)
        {
            SendCookieSynAck(tuple, seg);
            return;
        }
        var req = RequestSocket.Alloc(this, tuple, seg, twIsn ?? SecureSeq(tuple));
        Host.Requests[tuple] = req;
        ReqskQueueLen++; // inet_csk_reqsk_queue_added() → reqsk_queue_added(): qlen and young
        ReqskQueueYoung++;
        req.SendSynAck(retransmission: false);
    }

    /// <summary>
    /// tcp_conn_request()'s accept-queue test — net/ipv4/tcp_input.c: sk_acceptq_is_full() (sk_ack_backlog &gt;
    /// sk_max_ack_backlog) drops the SYN (ListenOverflows, then drop: ListenDrops). linux-4.4 drops it only when more
    /// than one young request also waits: "if (sk_acceptq_is_full(sk) &amp;&amp; inet_csk_reqsk_queue_young(sk) &gt; 1)" ("If we
    /// have already queued enough of warm entries in syn queue, drop request"); with at most one, the SYN gets its
    /// request (or cookie) and SYN-ACK, and its ACK overflows in tcp_v4_syn_recv_sock() instead. 4.9's 5ea8ea2cb7f1
    /// ("tcp/dccp: drop SYN packets if accept queue is full") removed the young test.
    /// </summary>
    bool AcceptQueueIsFullForSyn =>
        AcceptQueueCount > Backlog && (_sim.Profile != KernelProfile.Linux44 || ReqskQueueYoung > 1);

    /// <summary>
    /// tcp_conn_request()'s "Kill the following clause, if you dislike this way." — net/ipv4/tcp_input.c: with
    /// tcp_syncookies 0, once fewer than tcp_max_syn_backlog / 4 request slots are left (max_syn_backlog −
    /// reqsk_queue_len &lt; max_syn_backlog &gt;&gt; 2), a new SYN from a peer tcp_peer_is_proven() does not know (no cached
    /// RTT for the address pair) is dropped. linux-4.4 has the clause as the else of its tcp_tw_recycle check.
    /// </summary>
    bool SynBacklogKeptForProvenPeers(FourTuple tuple)
    {
        int maxSynBacklog = Host.Sysctls.TcpMaxSynBacklog;
        return Host.Sysctls.TcpSyncookies == 0 && !Host.Sysctls.TcpTwRecycle
            && maxSynBacklog - ReqskQueueLen < maxSynBacklog >> 2
            && !Host.TcpMetrics.PeerIsProven(tuple.Local.Address, tuple.Remote.Address, _sim.Now);
    }

    /// <summary>
    /// Models tcp_create_openreq_child() + the SYN_RECV → ESTABLISHED step: a full child socket
    /// inheriting the listener's options, hashed in the established table and queued for accept().
    /// </summary>
    internal static TcpSocket CreateChild(TcpSocket listener, RequestSocket req, Segment ack)
    {
        var host = listener.Host;
        var child = host.NewSocket();
        child.InheritOptions(listener);
        child.Local = req.Tuple.Local;
        child.Remote = req.Tuple.Remote;
        child.BoundPort = true;
        child.UserBoundPort = true;
        host.AddBindOwner(child.Local.Port, child);
        child._snd.Iss = req.Iss;
        child._snd.Una = child._snd.Nxt = child._snd.WriteSeq = req.Iss + 1;
        child._rcv.Irs = req.Irs;
        child._rcv.Nxt = child._rcv.Wup = req.Irs + 1;
        child._rxOpt.RcvWscale = req.RcvWscale;
        child._tsOffset = req.TsOffset;
        // tcp_v4_syn_recv_sock(): newtp->advmss = tcp_mss_clamp(listener, dst advmss); tcp_sync_mss().
        child._advmss = child.ClampToUserMss(child.RouteAdvmss);
        child._mss = child._advmss;
        child.MssSynced = true;
        child.NegotiateOptions(req.PeerOptions, reqMss: req.Mss);
        child.EcnOpenreqChild(req.EcnOk);
        // tcp_create_openreq_child(): newtp->total_retrans = req->num_retrans.
        if (req.NumRetrans != 0) child.RetransStatsToWrite.TotalRetrans = req.NumRetrans;
        // 6.7+: a request whose SYN-ACK timed out hands on one finished RTO recovery: total_rto = num_timeout,
        // total_rto_time = tcp_clock_ms() − retrans_stamp (the first SYN-ACK's time in ms).
        if (req.NumTimeout > 0)
        {
            // undo_marker = snt_isn (retrans_stamp = the first SYN-ACK's ms), so tcp_init_transfer() starts the
            // child at cwnd 1 when more than one SYN-ACK was resent — unless tcp_try_undo_spurious_syn() clears it.
            // Linux 5.2 added both; 4.4's child keeps the listener's undo_marker of 0.
            if (child._sim.Profile != KernelProfile.Linux44)
            {
                child._ca.UndoMarker = req.Iss;
                child.TryUndoSpuriousSynAck(ack, req.SynAckSentFirst);
            }
            var stats = child.RetransStatsToWrite;
            stats.TotalRto = req.NumTimeout;
            stats.TotalRtoRecoveries = 1;
            stats.TotalRtoTimeMs = ClockMs(child._sim.Now) - ClockMs(req.SynAckSentFirst);
        }
        child._rcv.Wnd = req.RcvWnd;
        child._rcv.Ssthresh = req.RcvWnd;
        child._rcv.WindowClamp = req.WindowClamp;
        child._snd.Wnd = (uint)ack.Window << child._rxOpt.SndWscale;
        child._snd.MaxWindow = child._snd.Wnd; // tcp_create_openreq_child(): newtp->max_window = newtp->snd_wnd
        child._snd.Wl1 = ack.Seq;
        // tcp_rcv_state_process(SYN_RECV): tcp_ack() with FLAG_UPDATE_TS_RECENT takes the ACK's TSval.
        child.ReplaceTsRecent(ack);
        child.Parent = listener;
        host.Established[child.Tuple] = child;
        host.Count(MibCounter.TcpPassiveOpens);
        child.TransitionTo(TcpState.SynRecv, "tcp_create_openreq_child");
        if (req.RttSampleUs is { } rtt)
        {
            // tcp_synack_rtt_meas(): tcp_ack_update_rtt(sk, FLAG_SYN_ACKED, rtt_us, -1L, rtt_us, &rs).
            child.UpdateRttMin(rtt);
            child.RttEstimator(rtt);
        }
        child._delivered++; // tcp_rcv_state_process() SYN_RECV: "SYN-ACK delivery isn't tracked in tcp_ack"
        child.InitMetrics(); // tcp_init_transfer()
        // The child's tcp_rcv_state_process(): tcp_ack() with FLAG_SLOWPATH counts a handshake ACK without data as pure.
        if (ack.Seq == ack.EndSeq) host.Count(MibCounter.TcpExtTCPPureAcks);
        child.TransitionTo(TcpState.Established, "tcp_rcv_state_process (SYN_RECV, ACK)");
        child.EstablishBuffers();
        child.FastPathOn(); // tcp_rcv_state_process(), TCP_SYN_RECV: tcp_fast_path_on(tp)
        child._lastAckRecv = host.Sim.Now;
        child._snd.Lsndtime = host.Sim.Now; // tcp_create_openreq_child(): newtp->lsndtime = tcp_jiffies32
        child.TransferStamped = true;
        child.StampLrcvTime(); // tcp_create_openreq_child(): newicsk->icsk_ack.lrcvtime = tcp_jiffies32
        // tcp_create_openreq_child(): segs_in = 1 (the SYN); tcp_child_process() → tcp_segs_in() for the ACK.
        child._segsIn = 1;
        child.SegsIn(ack);
        if (child.KeepOpen) child.ArmTimer(child.KeepaliveTimer, TcpTimerKind.Keepalive, SimDuration.FromSeconds(child.KeepaliveTimeSec));
        child.LinkPeer();
        // tcp_rcv_state_process() SYN_RECV (6.10+): "if (sk->sk_shutdown & SEND_SHUTDOWN) tcp_shutdown(sk, SEND_SHUTDOWN)"
        // — the child of a listener shut down before listen() inherited SEND_SHUTDOWN and sends its FIN now, before the
        // ACK's data (step 7) and the listener's sk_data_ready(). linux-4.4 has no such step: its child stays ESTABLISHED.
        if (child.SendShutdown && child._sim.Profile != KernelProfile.Linux44) child.TcpShutdown("tcp_rcv_state_process (SYN_RECV, SEND_SHUTDOWN)");
        child._sockState = SocketState.Connected; // __inet_accept() when accept() takes it; no call reaches it before
        // inet_csk_complete_hashdance() → inet_csk_reqsk_queue_add(), then the listener's sk_data_ready() wakes an
        // accept() (WakeAcceptor).
        listener.AcceptQueue.Enqueue(child);
        listener.WakeAcceptor();
        // The ACK that completed the handshake may carry data.
        if (ack.Length > 0 || ack.Has(TcpFlags.Fin)) child.RcvStateProcess(ack);
        return child;
    }
}
