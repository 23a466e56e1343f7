using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>Builds and transmits one segment from this socket (tcp_transmit_skb): options, window, counters.</summary>
    /// <remarks>
    /// OutSegs counts only segments that carry new sequence space or none at all
    /// (__tcp_transmit_skb: after(end_seq, snd_nxt) || seq == end_seq): never retransmissions.
    /// </remarks>
    /// <param name="hold">
    /// Build the segment and do the socket's part, but leave putting it on the link to the caller (the segment is
    /// returned): tcp_write_xmit() holds each segment of a TSO chunk until it knows whether it is the chunk's last.
    /// </param>
    /// <param name="gso">
    /// A later segment of a TSO chunk: the chunk is one skb with one TCP header, written once by __tcp_transmit_skb()
    /// (tcp_established_options() + tcp_options_write(), which clears rx_opt.dsack after it; tcp_select_window(), which
    /// counts TCPWantZeroWindowAdv and moves rcv_wnd/rcv_wup), and tcp_gso_segment() copies that header to every
    /// segment — so each carries the first one's options, a D-SACK included, and its window, selected once. Observed on
    /// Linux 6.18.44: both segments of a two-segment chunk carry the D-SACK block; four two-segment chunks sent under a
    /// zero window held back count TCPWantZeroWindowAdv 4 (fuzz seed 37900 case 0).
    /// </param>
    Segment Transmit(TcpFlags flags, uint seq, int len, string reason, bool syn = false, bool retransmit = false, bool hold = false,
        ChunkHeader? gso = null)
    {
        var options = gso is { } header ? header.Options : syn
            ? new TcpOptions(Mss: (ushort)ClampToUserMss(RouteAdvmss), // tcp_syn_options(): tp->advmss = tcp_mss_clamp()
                WindowScale: Host.Sysctls.TcpWindowScaling ? (byte)_rxOpt.RcvWscale : null, SackPermitted: Host.Sysctls.TcpSack,
                HasTimestamp: Host.Sysctls.TcpTimestamps, TsVal: Host.Sysctls.TcpTimestamps ? TsVal : 0,
                // tcp_syn_options(): opts->tsecr = rx_opt.ts_recent on every SYN — 0 on a fresh socket, the peer's TSval
                // on a SYN-ACK, the TIME-WAIT's tw_ts_recent on a SYN that took one over (tcp_twsk_unique() copies it).
                TsEcr: Host.Sysctls.TcpTimestamps ? _rxOpt.TsRecent : 0)
            : _rxOpt.TsOk ? new TcpOptions(HasTimestamp: true, TsVal: TsVal, TsEcr: _rxOpt.TsRecent) : TcpOptions.None;
        if (gso is null && !syn && _rxOpt.SackOk && (NumSacks > 0 || _rxOpt.Dsack) && flags.Has(TcpFlags.Ack))
            options = options with { Sack = SackOption() };
        uint ack = flags.Has(TcpFlags.Ack) ? _rcv.Nxt : 0;
        ushort win = gso is { } chunk ? chunk.Window
            : flags.Has(TcpFlags.Rst) && !flags.Has(TcpFlags.Ack) ? (ushort)0 : SelectWindow(syn);
        flags = EcnSend(flags, seq, len, syn, retransmit, gso is not null);
        var seg = _sim.NewSegment(Tuple, flags, seq, ack, win, len, options);
        _wstamp = _sim.Now; // __tcp_transmit_skb(): tp->tcp_wstamp_ns = max(tcp_wstamp_ns, tcp_clock_cache) (no pacing)
        if (flags.Has(TcpFlags.Ack)) EventAckSent();
        if (len > 0) EventDataSent(retransmit);
        // __tcp_transmit_skb(): segs_out for every segment, data_segs_out and bytes_sent for one with payload;
        // __tcp_retransmit_skb(): bytes_retrans += skb->len.
        _segsOut++;
        if (len > 0)
        {
            var data = DataToWrite;
            data.DataSegsOut++;
            data.BytesSent += len;
            if (retransmit) RetransStatsToWrite.BytesRetrans += len;
        }
        if (!hold) Host.Transmit(seg, reason, countOutSeg: !retransmit);
        return seg;
    }

    /// <summary>The one TCP header of a TSO chunk's skb that tcp_gso_segment() copies to its later segments.</summary>
    readonly record struct ChunkHeader(TcpOptions Options, ushort Window);

    /// <summary>
    /// Models tcp_event_ack_sent() — net/ipv4/tcp_output.c: any segment carrying an ACK ends SACK compression
    /// (TCPAckCompressed += compressed_ack, the hrtimer cancelled), spends a quick ACK and satisfies a pending
    /// delayed ACK (inet_csk_clear_xmit_timer(ICSK_TIME_DACK): icsk_ack.pending = 0 — SCHED, TIMER, PUSHED, PUSHED2, NOW).
    /// </summary>
    void EventAckSent()
    {
        if (_rare?.CompAck is { Count: > 0 } comp)
        {
            Host.Count(MibCounter.TcpExtTCPAckCompressed, comp.Count);
            comp.Count = 0;
            CancelCompressedAckTimer();
        }
        DecQuickAckMode();
        if (_data is { } data) // icsk_ack.pending = 0: nothing is pending without a data path
        {
            data.Ack.Scheduled = false;
            data.Ack.Pushed = data.Ack.Pushed2 = data.Ack.Now = data.Ack.NoMem = false;
        }
        CancelDelackTimer();
    }

    /// <summary>
    /// Models tcp_dec_quickack_mode() — include/net/tcp.h, from tcp_event_ack_sent(): 6.7+ ("count actual ACKs of
    /// new data") spends a quick ACK only when an ACK was scheduled (inet_csk_ack_scheduled()), so the sender's own
    /// data or a window update with nothing newly received spends none; linux-4.4 spends one per segment
    /// (tcp_skb_pcount()). Spending the last one leaves quick-ACK mode: "Leaving quickack mode we deflate ATO"
    /// (TCP_ATO_MIN).
    /// </summary>
    void DecQuickAckMode()
    {
        if (Ack.Quick == 0) return;
        int pkts = _sim.Profile == KernelProfile.Linux6 ? (Ack.Scheduled ? 1 : 0) : 1;
        if (pkts >= Ack.Quick)
        {
            AckToWrite.Quick = 0;
            AckToWrite.Ato = TcpConstants.AtoMin;
        }
        else
        {
            AckToWrite.Quick -= pkts;
        }
    }

    /// <summary>
    /// Models tcp_event_data_sent() — net/ipv4/tcp_output.c, called by __tcp_transmit_skb() only
    /// for a segment that carries data (skb->len != tcp_header_size): lsndtime = now, and data sent
    /// within ATO of the last data received means an interactive flow (ping-pong) — a retransmission
    /// too (__tcp_retransmit_skb() sends through __tcp_transmit_skb(); observed on Linux 6.18.44:
    /// <c>PingPongRetransmitTests</c>). A bare ACK, SYN, FIN, RST or keepalive/window probe leaves
    /// lsndtime alone.
    /// </summary>
    void EventDataSent(bool retransmit)
    {
        // The segment is already counted as out (queued by Push, or the queued one resent).
        EventDataSentCongestion(PacketsInFlight - 1, PacketsOut - (retransmit ? 0 : 1));
        _snd.Lsndtime = _sim.Now;
        // "If it is a reply for ato after last received packet, increase pingpong count": (u32)(now − lrcvtime) < ato, in jiffies.
        if (unchecked(Jiffies32 - Lrcvtime32) < Jiffies.FromDuration(Ack.Ato)) IncPingPongCnt();
    }

    /// <summary>
    /// inet_csk_in_pingpong_mode() — include/net/inet_connection_sock.h: icsk_ack.pingpong ≥ net.ipv4.tcp_pingpong_thresh
    /// (6.5+, default 1; linux-4.4: a flag, i.e. 1).
    /// </summary>
    bool InPingPongMode => Ack.PingPong >= PingPongThresh;

    int PingPongThresh => _sim.Profile == KernelProfile.Linux6 ? Host.Sysctls.TcpPingpongThresh : 1;

    /// <summary>inet_csk_enter_pingpong_mode(): pingpong = tcp_pingpong_thresh.</summary>
    void EnterPingPongMode() => AckToWrite.PingPong = (byte)PingPongThresh;

    /// <summary>inet_csk_exit_pingpong_mode(): pingpong = 0.</summary>
    void ExitPingPongMode()
    {
        if (_data is { } data) data.Ack.PingPong = 0;
    }

    /// <summary>inet_csk_inc_pingpong_cnt(): one more quick reply, at most U8_MAX (linux-4.4: pingpong = 1).</summary>
    void IncPingPongCnt()
    {
        if (_sim.Profile == KernelProfile.Linux44) AckToWrite.PingPong = 1;
        else if (Ack.PingPong < byte.MaxValue) AckToWrite.PingPong++;
    }

    /// <summary>
    /// Models tcp_select_window() — net/ipv4/tcp_output.c: __tcp_select_window(), but never less than what is left of
    /// the window already offered (then aligned up to the window scale) — unless tcp_shrink_window is 1 and the window
    /// is scaled (<see cref="ShrinkWindowAllowed"/>), when the new window is offered as it is;
    /// rcv_wnd and rcv_wup are updated, and the field is the window scaled down, at most 65535.
    /// TCPWantZeroWindowAdv counts a zero window held back by that rule, TCPToZeroWindowAdv and
    /// TCPFromZeroWindowAdv a field of 0 after a non-zero rcv_wnd and the reverse. With ICSK_ACK_NOMEM pending (in-order
    /// text refused for want of receive memory) the window is 0 at once: rcv_wnd 0, rcv_wup = rcv_nxt, no counter.
    /// </summary>
    ushort SelectWindow(bool syn)
    {
        if (syn)
        {
            // tcp_transmit_skb(): a SYN's field is min(rcv_wnd, 65535), rcv_wnd as tcp_connect_init() chose it
            // (SendSyn): a retransmitted SYN and a simultaneous open's SYN-ACK (tcp_send_synack()) keep it.
            return (ushort)Math.Min(_rcv.Wnd, TcpConstants.MaxTcpWindow);
        }
        if (_data is { Ack.NoMem: true })
        {
            // "Make the window 0 if we failed to queue the data because we are out of memory." (6.x): before the
            // shrink rule and the zero-window counters.
            FastPathOff();
            _rcv.Wnd = 0;
            _rcv.Wup = _rcv.Nxt;
            return 0;
        }
        long current = ReceiveWindow();
        long window = SelectWindowRaw();
        long granule = 1L << _rxOpt.RcvWscale;
        uint oldWin = _rcv.Wnd;
        // "Never shrink the offered window": ALIGN(cur_win, 1 << rcv_wscale).
        if (window < current && !ShrinkWindowAllowed)
        {
            if (window == 0) Host.Count(MibCounter.TcpExtTCPWantZeroWindowAdv);
            window = (current + granule - 1) / granule * granule;
        }
        _rcv.Wnd = (uint)window;
        _rcv.Wup = _rcv.Nxt;
        // "Make sure we do not exceed the maximum possible scaled window": MAX_TCP_WINDOW when unscaled under
        // tcp_workaround_signed_windows, else 65535U << rcv_wscale; rcv_wnd keeps the uncapped window.
        var field = (ushort)(_rxOpt.RcvWscale == 0 && Host.Sysctls.TcpWorkaroundSignedWindows
            ? Math.Min(window, TcpConstants.MaxSignedWindow)
            : Math.Min(window >> _rxOpt.RcvWscale, TcpConstants.MaxTcpWindow));
        if (field == 0) FastPathOff(); // tcp_select_window(): "If we advertise zero window, disable fast path."
        if (field == 0 && oldWin != 0) Host.Count(MibCounter.TcpExtTCPToZeroWindowAdv);
        else if (field != 0 && oldWin == 0) Host.Count(MibCounter.TcpExtTCPFromZeroWindowAdv);
        return field;
    }

    /// <summary>tcp_sack_extend(): a block overlapping or touching [seq, end) absorbs it.</summary>
    static bool SackExtend(ref SackBlock sp, uint seq, uint end)
    {
        if (SeqMath.After(seq, sp.Right) || SeqMath.After(sp.Left, end)) return false;
        sp = new SackBlock(SeqMath.Before(seq, sp.Left) ? seq : sp.Left, SeqMath.After(end, sp.Right) ? end : sp.Right);
        return true;
    }

    /// <summary>
    /// Models tcp_sack_new_ofo_skb() — net/ipv4/tcp_input.c, for each out-of-order segment queued: a block it
    /// extends moves to the front (then tcp_sack_maybe_coalesce()); otherwise a new block goes in front, the
    /// others shift down and, with TCP_NUM_SACKS (4) already, the oldest is forgotten.
    /// </summary>
    void SackNewOfoSkb(uint seq, uint end)
    {
        var sp = RareToWrite.SelectiveAcks ??= new SackBlock[SackBlocks.Max];
        int cur = NumSacks;
        for (int i = 0; i < cur; i++)
        {
            if (!SackExtend(ref sp[i], seq, end)) continue;
            // "Reasonable amount of sack blocks included in TCP SACK option ... be conservative and use 2"
            // (TCP_SACK_BLOCKS_EXPECTED): a held-back ACK goes before an older block changes.
            if (i >= SackBlocksExpected) SackCompressSendAck();
            for (; i > 0; i--) (sp[i], sp[i - 1]) = (sp[i - 1], sp[i]);
            if (cur > 1) SackMaybeCoalesce();
            return;
        }
        int at = cur;
        if (at >= SackBlocksExpected) SackCompressSendAck();
        if (at >= SackBlocks.Max)
        {
            at--;
            NumSacks--;
        }
        for (; at > 0; at--) sp[at] = sp[at - 1];
        sp[0] = new SackBlock(seq, end);
        NumSacks++;
    }

    /// <summary>TCP_SACK_BLOCKS_EXPECTED — net/ipv4/tcp_input.c.</summary>
    const int SackBlocksExpected = 2;

    /// <summary>
    /// Models tcp_sack_compress_send_ack() — net/ipv4/tcp_input.c: with ACKs held back, the hrtimer is cancelled and
    /// one ACK goes now; TCPAckCompressed counts compressed_ack − 1 ("we have to send one ack finally"), which
    /// tcp_event_ack_sent() adds as it clears compressed_ack.
    /// </summary>
    void SackCompressSendAck()
    {
        if (_rare?.CompAck is not { Count: > 0 } comp) return;
        CancelCompressedAckTimer();
        comp.Count--;
        SendAck("tcp_sack_compress_send_ack");
    }

    /// <summary>Models tcp_sack_maybe_coalesce() — net/ipv4/tcp_input.c: the first block absorbs any later one it now reaches.</summary>
    void SackMaybeCoalesce()
    {
        var sp = _rare!.SelectiveAcks!;
        for (int i = 1; i < NumSacks;)
        {
            if (SackExtend(ref sp[0], sp[i].Left, sp[i].Right))
            {
                NumSacks--;
                for (int j = i; j < NumSacks; j++) sp[j] = sp[j + 1];
                continue;
            }
            i++;
        }
    }

    /// <summary>
    /// Models tcp_sack_remove() — net/ipv4/tcp_input.c, after in-order data: an empty out-of-order queue
    /// clears every block; otherwise each block rcv_nxt has reached is dropped, the rest keep their order.
    /// </summary>
    void SackRemove()
    {
        if (NumSacks == 0) return;
        if (Ofo.Count == 0)
        {
            NumSacks = 0;
            return;
        }
        var sp = _rare!.SelectiveAcks!;
        for (int i = 0; i < NumSacks;)
        {
            if (!SeqMath.Before(_rcv.Nxt, sp[i].Left))
            {
                for (int j = i + 1; j < NumSacks; j++) sp[j - 1] = sp[j];
                NumSacks--;
                continue;
            }
            i++;
        }
    }

    /// <summary>Models tcp_send_ack() → __tcp_send_ack() — net/ipv4/tcp_output.c: a pure ACK at tcp_acceptable_seq().</summary>
    void SendAck(string reason) => Transmit(TcpFlags.Ack, AcceptableSeq, 0, reason);

    /// <summary>
    /// Models tcp_send_active_reset() — net/ipv4/tcp_output.c: RST+ACK at tcp_acceptable_seq() with
    /// ack = rcv_nxt, normal window and timestamps; counts OutRsts. Every RST a socket sends of its own
    /// accord (unread data or SO_LINGER {1,0} at close, TCP_LINGER2 &lt; 0, tcp_check_oom(), the keepalive timeout) is this one.
    /// </summary>
    void SendActiveReset(string reason)
    {
        Host.Count(MibCounter.TcpOutRsts);
        Transmit(TcpFlags.Rst | TcpFlags.Ack, AcceptableSeq, 0, reason);
    }

    /// <summary>Models tcp_wnd_end() — include/net/tcp.h: snd_una + snd_wnd, the right edge of the peer's window.</summary>
    uint WndEnd => _snd.Una + _snd.Wnd;

    /// <summary>
    /// Models tcp_acceptable_seq() — net/ipv4/tcp_output.c: snd_nxt when it is not beyond tcp_wnd_end(), or beyond it
    /// by less than one unit of our window scale (1 &lt;&lt; rcv_wscale; 0 without wscale_ok: "the amount of shrunk was
    /// less than one window scaling factor due to loss of precision"); else tcp_wnd_end() — a window the peer shrank.
    /// linux-4.4's version has no such tolerance: tcp_wnd_end() whenever snd_nxt lies beyond it.
    /// </summary>
    uint AcceptableSeq =>
        !SeqMath.Before(WndEnd, _snd.Nxt)
        || _sim.Profile != KernelProfile.Linux44 && _snd.Nxt - WndEnd < 1u << _rxOpt.RcvWscale ? _snd.Nxt : WndEnd;

    void SendSyn(bool retransmission)
    {
        if (!retransmission)
        {
            // tcp_connect_init(): advmss = tcp_mss_clamp(dst advmss), mss_clamp = user_mss when set, tcp_sync_mss().
            _advmss = ClampToUserMss(RouteAdvmss);
            _mss = ClampToUserMss(RouteAdvmss);
            MssSynced = true;
            MtupInit(timestampHeader: Host.Sysctls.TcpTimestamps);
            _connectMssCache = ConnectMssCache();
            InitializeRcvMss(_connectMssCache); // tcp_connect_init(), while rcv_wnd is still 0
            _rxOpt.RcvWscale = InitialWindowScale();
            // tcp_connect_init(): tcp_select_initial_window() over tcp_full_space() with ConnectInitWindowMss and
            // wscale_ok = tcp_window_scaling (linux-4.4's cap depends on the scale); rcv_ssthresh starts at rcv_wnd, the
            // cap on later windows until tcp_grow_window().
            _rcv.Wnd = SelectInitialWindow(Host, RcvSpace, ConnectInitWindowMss, Host.Sysctls.TcpWindowScaling, RcvBufLocked).RcvWnd;
            _rcv.Ssthresh = _rcv.Wnd;
            _rcv.Wup = _rcv.Nxt;
            // tcp_connect_queue_skb() counts the SYN in packets_out before tcp_transmit_skb() → tcp_rate_skb_sent().
            RtxToFill().Add(RateSkbSent(new InFlight(_snd.Iss, _snd.Iss + 1, _sim.Now, false, TcpFlags.Syn), packetsOut: 1));
            _snd.Nxt = _snd.Iss + 1;
        }
        else
        {
            // Karn: an ACK of a retransmitted SYN gives no sequence-based RTT sample. __tcp_retransmit_skb()
            // counts the SYN in tp->total_retrans like any retransmission, and tcp_retransmit_timer() sends it through
            // tcp_retransmit_skb(), which counts it in undo_retrans too ("if (tp->undo_retrans < 0) tp->undo_retrans = 0;
            // tp->undo_retrans += tcp_skb_pcount(skb)"): tcp_enter_loss() had set undo_marker = the ISN and undo_retrans
            // −1, so a connection whose SYN was resent (and not undone by the SYN-ACK) keeps undo_retrans 1 — one D-SACK
            // of a retransmission later (a loss probe's) brings it to 0 and tcp_try_undo_dsack() undoes (TCPDSACKUndo).
            // Observed on Linux 6.18.44 (fuzz --profile listen, seed 31 case 10).
            Resent(0);
            CountUndoRetrans();
        }
        Transmit(TcpFlags.Syn, _snd.Iss, 0, retransmission ? "tcp_retransmit_timer (SYN)" : "tcp_connect", syn: true, retransmit: retransmission);
        ResetXmitTimer(TcpTimerKind.Retransmit, _icsk.Rto);
    }

    /// <summary>
    /// The window scale this socket offers in its SYN and its window_clamp (tcp_connect_init() →
    /// tcp_select_initial_window()).
    /// </summary>
    int InitialWindowScale()
    {
        var initial = SelectInitialWindow(Host, RcvSpace, ClampToUserMss(RouteAdvmss), Host.Sysctls.TcpWindowScaling, RcvBufLocked);
        _rcv.WindowClamp = initial.WindowClamp;
        return initial.RcvWscale;
    }

    /// <summary>
    /// Models the MSS tcp_connect_init() — net/ipv4/tcp_output.c hands to tcp_select_initial_window():
    /// tp->advmss less (tcp_header_len − sizeof(tcphdr)) when rx_opt.ts_recent_stamp is already set, i.e. less the
    /// 12 timestamp bytes with net.ipv4.tcp_timestamps on. Only a connect that took over a TIME-WAIT
    /// (tcp_twsk_unique() copies tw_ts_recent_stamp) has a stamp before its SYN: its SYN offers 45 × 1448 = 65160
    /// instead of 44 × 1460 = 64240, as observed on Linux 6.18.44. The window scale does not depend on it.
    /// </summary>
    int ConnectInitWindowMss => _advmss
        - (_rxOpt.TsRecentStampSec != 0 && Host.Sysctls.TcpTimestamps ? TcpConstants.TimestampOptionBytes : 0);

    /// <summary>SOCK_RCVBUF_LOCK: SO_RCVBUF was set, so the window clamp is the full space.</summary>
    internal bool RcvBufLocked => RcvBufSet > 0;

    /// <summary>
    /// Models tcp_select_initial_window() — net/ipv4/tcp_output.c, with the window clamp its callers
    /// (tcp_connect_init(), tcp_openreq_init_rwin()) pass: the full space when SO_RCVBUF locked the
    /// buffer, else none (U16_MAX &lt;&lt; TCP_MAX_WSCALE). The space is capped by the clamp and rounded
    /// down to a multiple of <paramref name="mss"/> (the MSS less the timestamp option when it is in
    /// use); the scale is ilog2(max(space, tcp_rmem[2], rmem_max), capped by the clamp) − 15, in [0, 14].
    /// rcv_wnd is the whole space (6.10+). linux-4.4 then caps it at tcp_default_init_rwnd(mss) MSS when the MSS is above
    /// 1 &lt;&lt; wscale (<see cref="DefaultInitRwnd44"/>). tcp_workaround_signed_windows caps rcv_wnd at 32767; the route's
    /// initrwnd is not modelled (0 by default).
    /// </summary>
    internal static (uint RcvWnd, int RcvWscale, uint WindowClamp) SelectInitialWindow(Host host, long fullSpace, int mss, bool wscaleOk, bool rcvBufLocked)
    {
        long clamp = rcvBufLocked ? fullSpace : (long)ushort.MaxValue << TcpConstants.MaxWscale;
        long space = Math.Max(0, Math.Min(clamp, fullSpace));
        if (space > mss) space = space / mss * mss;
        int wscale = 0;
        if (wscaleOk)
        {
            long maxSpace = Math.Min(Math.Max(Math.Max(space, host.Sysctls.TcpRmem[2]), host.Sysctls.RmemMax), clamp);
            wscale = Math.Clamp(63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)Math.Max(1, maxSpace)) - 15, 0, TcpConstants.MaxWscale);
        }
        // rcv_wnd is the whole space: 4.19 to 6.9 capped it at U16_MAX (a337531b942b), 6.10 removed the cap again
        // ("tcp: remove 64 KByte limit for initial tp->rcv_wnd value"); only the SYN's own field stays at most 65535
        // (SelectWindow(), tcp_make_synack()). Observed on Linux 6.18.44: with tcp_rmem[1] 540000 the handshake's ACK
        // offers 1050 << 8 = ALIGN(rounddown(270000, 1460), 256), not 65536.
        // "offering an initial window larger than 32767 will break some buggy TCP stacks": with
        // tcp_workaround_signed_windows, min(space, MAX_TCP_WINDOW) — whether or not the window will be scaled.
        long rcvWnd = host.Sysctls.TcpWorkaroundSignedWindows ? Math.Min(space, TcpConstants.MaxSignedWindow) : space;
        // linux-4.4: "if (mss > (1 << *rcv_wscale)) { if (!init_rcv_wnd) init_rcv_wnd = tcp_default_init_rwnd(mss);
        // *rcv_wnd = min(*rcv_wnd, init_rcv_wnd * mss); }" — removed by 4.19's a337531b942b ("tcp: up initial rmem to
        // 128KB and SYN rwin to around 64KB"). So 4.4's SYN offers 20 × 1460 = 29200 and its SYN-ACK 20 × 1448 = 28960.
        if (host.Sim.Profile == KernelProfile.Linux44 && mss > 1L << wscale) rcvWnd = Math.Min(rcvWnd, (long)DefaultInitRwnd44(mss) * mss);
        return ((uint)rcvWnd, wscale, (uint)Math.Min((long)ushort.MaxValue << wscale, clamp));
    }

    /// <summary>
    /// linux-4.4's tcp_default_init_rwnd() — net/ipv4/tcp_output.c: "Initial receive window should be twice of
    /// TCP_INIT_CWND to enable proper sending of new unsent data during fast recovery", so 20 segments; for an MSS above
    /// 1460, max(1460 · 20 / mss, 2).
    /// </summary>
    static int DefaultInitRwnd44(int mss)
    {
        int initRwnd = TcpConstants.InitCwnd * 2;
        return mss > 1460 ? Math.Max(1460 * initRwnd / mss, 2) : initRwnd;
    }

    /// <summary>
    /// Models tcp_close_state() + tcp_send_fin() — net/ipv4/tcp.c: the new_state[] table
    /// (ESTABLISHED/SYN_RECV → FIN_WAIT1 + FIN, CLOSE_WAIT → LAST_ACK + FIN, SYN_SENT/LISTEN/CLOSE →
    /// CLOSE with nothing on the wire, the FIN_WAIT*/CLOSING/LAST_ACK states unchanged). The state
    /// changes when the FIN is queued, not when it is sent; the queue is then pushed with Nagle off. Under tcp_mem
    /// pressure with nothing unsent the FIN goes onto the last skb already sent and leaves only with its retransmission
    /// (a loss probe or the RTO).
    /// </summary>
    void CloseStateAndFin(string cause)
    {
        switch (State)
        {
            case TcpState.Established or TcpState.SynRecv:
                TransitionTo(TcpState.FinWait1, cause);
                break;
            case TcpState.CloseWait:
                TransitionTo(TcpState.LastAck, cause);
                break;
            case TcpState.SynSent or TcpState.Listen or TcpState.Close:
                TransitionTo(TcpState.Close, cause);
                return;
            default:
                return;
        }
        // tcp_send_fin(): "tack on the FIN if we have one skb in write queue and this skb was not yet sent, or we are
        // under memory pressure" — then on the last skb already sent, and nothing goes now: "FIN packet will be sent
        // after a timeout, as TCP stack thinks it has already been transmitted" (snd_nxt moves past it).
        bool onSentTail = _snd.Nxt == _snd.WriteSeq && Host.TcpMemoryPressure && _rtx.Count > 0 && !_rtx[^1].Flags.Has(TcpFlags.Syn);
        _snd.FinQueued = true;
        _snd.FinSeq = _snd.WriteSeq;
        _snd.WriteSeq++;
        if (onSentTail)
        {
            var tail = _rtx[^1];
            _rtx[^1] = tail with { End = tail.End + 1, Flags = tail.Flags | TcpFlags.Fin };
            SkbFinOnSentTail();
            _snd.Nxt++;
            return;
        }
        SkbQueueFin();
        Push("tcp_send_fin", nonagle: Nagle.Off); // __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF)
    }

    /// <summary>
    /// Models tcp_write_xmit() — net/ipv4/tcp_output.c: sends what the peer's window and the
    /// congestion window allow, MSS-sized, the FIN riding on the last data segment; then arms the
    /// loss probe / RTO, or the zero-window probe timer when the window holds everything back.
    /// </summary>
    /// <param name="reason">The kernel path that pushes (journalled with each segment).</param>
    /// <param name="maxSegments">At most this many segments.</param>
    /// <param name="windowProbe">
    /// tcp_write_wakeup(): one segment cut to the window's edge (tcp_fragment) and pushed (PSH), where
    /// tcp_write_xmit() would hold a segment that does not fit whole; it carries PSH and no Nagle test holds it. It is
    /// sent by tcp_transmit_skb() and tcp_event_new_data_sent() alone: the RTO is armed, but no loss probe is scheduled,
    /// and neither snd_sml (tcp_minshall_update()), prr_out nor tcp_cwnd_validate() are touched.
    /// </param>
    /// <param name="nonagle">tcp_write_xmit()'s nonagle argument; null: tp->nonagle (tcp_push_pending_frames()).</param>
    /// <param name="lossProbe">
    /// tcp_write_xmit(push_one = 2) from tcp_send_loss_probe(): with cwnd full one segment still goes ("Force out a loss
    /// probe pkt.": cwnd_quota = 1), and no new loss probe is scheduled ("if (push_one != 2) tcp_schedule_loss_probe()").
    /// </param>
    /// <param name="pushOne">tcp_write_xmit(push_one = 1) from tcp_push_one(): no TSO deferral, and one chunk only.</param>
    /// <param name="mssNow">
    /// tcp_write_xmit()'s mss_now: tcp_sendmsg_locked() passes the tcp_send_mss() of its start (a D-SACK its first
    /// segment sent does not change it); null: tcp_current_mss() now (<see cref="CurrentMss"/>).
    /// </param>
    void Push(string reason, int maxSegments = int.MaxValue, bool windowProbe = false, Nagle? nonagle = null, bool lossProbe = false,
        bool pushOne = false, int? mssNow = null)
    {
        var nagle = windowProbe ? Nagle.Push : nonagle ?? _nonagle;
        if (State is TcpState.Close or TcpState.Listen or TcpState.SynSent or TcpState.SynRecv) return;
        // Every segment of this call is cut at one mss_now, though the first one's D-SACK leaves the later ones' options shorter.
        int mss = mssNow ?? CurrentMss;
        // tcp_push_pending_frames() reaches tcp_write_xmit() only with a send head.
        bool sendHead = SeqMath.Before(_snd.Nxt, _snd.WriteSeq);
        if (sendHead) MstampRefresh(); // tcp_write_xmit()
        // tcp_write_xmit(push_one 0) → tcp_mtu_probe(): "if (!result) return false; else if (result > 0) sent_pkts = 1;"
        int mtuProbe = sendHead && !pushOne && !lossProbe && !windowProbe ? MtuProbe() : -1;
        if (mtuProbe == 0) return;
        bool sent = mtuProbe > 0, rwndLimited = false, deferCwndLimited = false, growAfterChunk = false;
        int segments = 0;
        uint wndEnd = WndEnd;
        // Each TSO chunk of tcp_write_xmit() is one skb: at most min(cwnd quota, tcp_tso_segs()) segments.
        int maxSegs = TsoSegs(mss);
        uint chunkStart = _snd.Nxt;
        // tcp_cwnd_test(): what is in flight (tcp_packets_in_flight()), not everything unacknowledged, against cwnd.
        int chunkSegs = 0, chunkQuota = Math.Min(CwndQuota, maxSegs);
        // tcp_mss_split_point() runs before the chunk is sent: its tcp_nagle_check() sees that moment's packets_out and snd_nxt.
        bool chunkNagleHolds = NagleCheckPartial(nagle, chunkStart);
        Segment? held = null; // the chunk's latest segment: it goes on the link once the chunk's end is known
        ChunkHeader chunkHeader = default; // the chunk's one TCP header (the first segment's options and window)
        (uint End, bool Last)? headSkb = null; // the send head skb of the chunk (tcp_grow_skb())
        uint? nagleCut = null; // tcp_mss_split_point(): the chunk ends here, its partial last segment cut off under Nagle
        while (SeqMath.Before(_snd.Nxt, _snd.WriteSeq)
               && (PacketsInFlight < _ca.Cwnd || lossProbe && segments == 0 || chunkSegs == 0 && FinalFinIgnoresCwnd(mss))
               && segments++ < maxSegments)
        {
            // tcp_write_xmit(): "missing_bytes = cwnd_quota * mss_now - skb->len; if (missing_bytes > 0)
            // tcp_grow_skb(...)" before tcp_snd_wnd_test(), so the head grows even when the window then holds it.
            if (chunkSegs == 0) headSkb = GrowSendHead(chunkStart, Math.Max(chunkQuota, 1), mss, grow: !windowProbe);
            uint dataEnd = _snd.FinQueued ? _snd.FinSeq : _snd.WriteSeq;
            // A chunk is its skb: it ends where the (grown) send head skb ends, its FIN only if that skb holds it.
            bool skbHoldsFin = headSkb is not { } hs || _snd.FinQueued && hs.End == _snd.FinSeq + 1;
            if (headSkb is { } head && !skbHoldsFin && SeqMath.Before(head.End, dataEnd)) dataEnd = head.End;
            long dataLeft = SeqMath.Before(_snd.Nxt, dataEnd) ? dataEnd - _snd.Nxt : 0;
            if (chunkSegs == 0)
                nagleCut = windowProbe || headSkb is not { } hd ? null
                    : MssSplitPointNagleCut(dataLeft, hd.Last, wndEnd, mss, Math.Max(chunkQuota, 1), chunkNagleHolds);
            int len = (int)Math.Min(mss, dataLeft);
            // tcp_snd_wnd_test() on an skb of at most one MSS tests its end_seq, so when the FIN rides on it (the
            // tail, tcp_send_fin()) data and FIN must fit together or nothing goes (a longer skb tests seq + mss only).
            if (!windowProbe && chunkSegs == 0 && _snd.FinQueued && skbHoldsFin && dataLeft <= mss && SeqMath.After(_snd.FinSeq + 1, wndEnd))
            {
                rwndLimited = true;
                break;
            }
            // tcp_snd_wnd_test(): the segment's first MSS must fit the peer's window whole. Further into a multi-MSS skb
            // tcp_mss_split_point() cuts it at the window's edge (needed = min(skb->len, window)), or at the last whole
            // MSS when tcp_nagle_check() holds the partial segment; tso_fragment() gives the rest the PSH and FIN.
            bool cut = false, splitAtWindow = false;
            if (len > 0 && SeqMath.After(_snd.Nxt + (uint)len, wndEnd))
            {
                if (!windowProbe && (chunkSegs == 0 || chunkNagleHolds || !SeqMath.Before(_snd.Nxt, wndEnd)))
                {
                    rwndLimited = true; // "if (unlikely(!tcp_snd_wnd_test(tp, skb, mss_now))) { is_rwnd_limited = true; break; }"
                    // Mid-chunk: the kernel cut the skb here (tcp_mss_split_point(), tso_fragment()), sent it, and met
                    // the window test on its next turn, after growing the new send head.
                    growAfterChunk = chunkSegs > 0;
                    break;
                }
                len = (int)(wndEnd - _snd.Nxt);
                cut = windowProbe;
                splitAtWindow = !windowProbe;
            }
            // Inside a multi-MSS skb tcp_mss_split_point() sends it whole once its data fits: the FIN may end one
            // past the window.
            bool fin = _snd.FinQueued && skbHoldsFin && _snd.Nxt + (uint)len == _snd.FinSeq
                && SeqMath.BeforeOrEqual(_snd.Nxt + (uint)len + (chunkSegs > 0 ? 0u : 1u), wndEnd);
            if (len == 0 && !fin) break;
            // tcp_write_xmit(): a send head of more than one segment (after tcp_grow_skb()) may wait for more room
            // (tcp_tso_should_defer()); tcp_push_one(), the loss probe and tcp_write_wakeup() never defer.
            if (chunkSegs == 0 && !pushOne && !lossProbe && !windowProbe
                && TsoShouldDefer(chunkQuota, maxSegs, mss, ref deferCwndLimited, ref rwndLimited))
                break;
            // tcp_nagle_test(): a sub-MSS segment waits under TCP_CORK / MSG_MORE, or (Nagle on) while an earlier
            // small one is unacknowledged; a FIN (and tcp_send_fin's push) never waits. Only the write queue's last
            // skb is tested with the socket's nonagle: an skb before it gets TCP_NAGLE_PUSH.
            if (!fin && len < mss && !NagleAllowsPartial(headSkb is { Last: false } ? Nagle.Push : nagle))
                break;
            var flags = TcpFlags.Ack | (fin ? TcpFlags.Fin : 0);
            // tcp_write_wakeup() sets TCPHDR_PSH on the segment it sends.
            if (len > 0 ? PshAt(_snd.Nxt + (uint)len, dataEnd) || cut || windowProbe : fin && FinSplitFromPushedData) flags |= TcpFlags.Psh;
            uint end = _snd.Nxt + (uint)len + (fin ? 1u : 0u);
            // __tcp_transmit_skb() → tcp_rate_skb_sent(), before tcp_event_new_data_sent() counts the skb in packets_out.
            RtxToFill().Add(RateSkbSent(new InFlight(_snd.Nxt, end, _sim.Now, false, flags), PacketsOut));
            var seg = Transmit(flags, _snd.Nxt, len, reason, hold: true, gso: chunkSegs > 0 ? chunkHeader : null);
            if (chunkSegs == 0) chunkHeader = new ChunkHeader(seg.Options, seg.Window);
            ChunkAppend(ref held, seg, reason); // the previous one is not the chunk's last segment

            Host.Count(MibCounter.TcpExtTCPOrigDataSent); // tcp_event_new_data_sent(): new data or a FIN leaves the write queue
            // tcp_write_xmit() only: tcp_write_wakeup() sends with tcp_transmit_skb() + tcp_event_new_data_sent() alone.
            if (InCwndReduction && !windowProbe) _ca.PrrOut++; // "if (tcp_in_cwnd_reduction(sk)) tp->prr_out += ..."
            if (len < mss && !windowProbe) _snd.Sml = end; // tcp_minshall_update()
            _snd.Nxt = end;
            sent = true;
            if (++chunkSegs < chunkQuota && !splitAtWindow && !(headSkb is { } h && _snd.Nxt == h.End) && _snd.Nxt != nagleCut) continue;
            SendChunkTail(ref held, chunkSegs, reason);
            SkbChunkSent(chunkStart, _snd.Nxt, wakeup: windowProbe);
            CheckSpace(); // tcp_event_new_data_sent()
            chunkStart = _snd.Nxt;
            chunkSegs = 0;
            chunkQuota = Math.Min(CwndQuota, maxSegs);
            chunkNagleHolds = NagleCheckPartial(nagle, chunkStart);
            // tcp_write_xmit(): "if (push_one) break;" — tcp_push_one() (1) and the loss probe (2) send one skb, one chunk.
            if (pushOne || lossProbe) break;
        }
        if (chunkSegs > 0)
        {
            SendChunkTail(ref held, chunkSegs, reason);
            SkbChunkSent(chunkStart, _snd.Nxt, wakeup: windowProbe);
            CheckSpace(); // tcp_event_new_data_sent()
            // tcp_write_xmit(): the turn after a chunk that ended at the window's edge takes tcp_cwnd_test()'s quota and
            // grows the send head (tcp_grow_skb()) before tcp_snd_wnd_test() stops the loop — the head stays grown for
            // the next window update. Not after tcp_push_one() or a loss probe ("if (push_one) break;").
            if (growAfterChunk && !pushOne && !lossProbe && CwndQuota > 0)
                GrowSendHead(_snd.Nxt, Math.Min(CwndQuota, maxSegs), mss, grow: true);
        }
        // tcp_write_xmit(): the receive-window chrono (tcp_write_wakeup() sends through tcp_transmit_skb() alone).
        if (sendHead && !windowProbe)
        {
            if (rwndLimited) ChronoStart(TcpChrono.RwndLimited);
            else ChronoStop(TcpChrono.RwndLimited);
        }
        if (sendHead && !windowProbe) WriteXmitCwndValidate(sent, deferCwndLimited);
        if (sent)
        {
            // tcp_event_new_data_sent(): (re)arm the RTO if nothing was pending, then maybe a loss probe.
            if (!_xmitTimer.Armed || XmitPending is TcpTimerKind.LossProbe or TcpTimerKind.Persist) RearmRto();
            // tcp_write_xmit(): "if (push_one != 2) tcp_schedule_loss_probe(sk, false)" — not after tcp_write_wakeup().
            if (!lossProbe && !windowProbe) ScheduleLossProbe(advancingRto: false);
        }
        else if (PacketsOut == 0 && SeqMath.Before(_snd.Nxt, _snd.WriteSeq) && !_xmitTimer.Armed)
        {
            // tcp_check_probe_timer(): data waits behind a zero window with nothing in flight.
            ResetXmitTimer(TcpTimerKind.Persist, ProbeBase);
        }
    }

    /// <summary>
    /// linux-4.4's tcp_cwnd_test() — net/ipv4/tcp_output.c: "Don't be strict about the congestion window for the final
    /// FIN." A send head skb that carries the FIN and is one segment (tcp_skb_pcount() 1: at most mss_now of data) gets a
    /// quota of 1 whatever is in flight. 6.10 removed it ("tcp: remove dubious FIN exception from tcp_cwnd_test()", the
    /// first patch of the tcp_grow_skb() series): a bare FIN behind a full cwnd waits for an ACK (observed on Linux
    /// 6.18.44, packetdrill/close-cwnd-full-bare-fin-waits-for-an-ack.pkt).
    /// </summary>
    bool FinalFinIgnoresCwnd(int mssNow)
    {
        if (_sim.Profile != KernelProfile.Linux44 || !_snd.FinQueued || _data?.SndSkbs is not { } skbs) return false;
        int i = SndSkbHolding(skbs, _snd.Nxt);
        return i >= 0 && skbs[i].Fin && skbs[i].End - _snd.Nxt - 1 <= (uint)mssNow;
    }

    /// <summary>
    /// Models the Nagle cut of tcp_mss_split_point() — net/ipv4/tcp_output.c — for a send head skb of more than one
    /// segment (<paramref name="skbLen"/> bytes from snd_nxt, after tcp_grow_skb()): when the chunk cannot simply be
    /// max_len = mss_now · cwnd_quota (the skb is the write queue's tail, or max_len passes the window), it is
    /// needed = min(skb-&gt;len, window), and when that ends in a partial segment that tcp_nagle_check() holds (TCP_CORK,
    /// or Nagle on with a small segment in flight: <paramref name="nagleHolds"/>), tso_fragment() cuts the skb at the
    /// last whole MSS. Returns where the chunk then ends — the rest is a new skb, which tcp_write_xmit()'s loop grows
    /// and tests again (window, Nagle) — or null when the chunk takes the skb's data whole (or the window cuts it:
    /// that case is the window test's). Not tcp_write_wakeup(): it cuts at the window itself.
    /// </summary>
    uint? MssSplitPointNagleCut(long skbLen, bool isTail, uint wndEnd, int mssNow, int cwndQuota, bool nagleHolds)
    {
        if (skbLen <= mssNow || !nagleHolds) return null; // tso_segs == 1: tcp_nagle_test() decides; no Nagle hold
        long window = unchecked((int)(wndEnd - _snd.Nxt));
        long maxLen = (long)mssNow * cwndQuota;
        if (maxLen <= window && !isTail) return null; // "return max_len"
        if (skbLen > window || maxLen <= skbLen) return null; // needed is the window's (or max_len): not this cut
        long partial = skbLen % mssNow;
        return partial == 0 ? null : _snd.Nxt + (uint)(skbLen - partial);
    }

    /// <summary>
    /// Puts a TSO chunk's last segment on the link. __tcp_transmit_skb() — net/ipv4/tcp_output.c — sets PSH on every
    /// non-SYN skb with tcp_skb_pcount() &gt; 1 ("Force a PSH flag on all (GSO) packets to expedite GRO flush at
    /// receiver"; Linux 5.4+, so not on linux-4.4), and tcp_gso_segment() — net/ipv4/tcp_offload.c — clears PSH and FIN
    /// on every segment but the last: a chunk of two or more segments ends with PSH; a one-segment skb keeps only
    /// tcp_mark_push()'s.
    /// </summary>
    /// <remarks>
    /// Over lo the chunk is one packet: loopback_xmit() takes a GSO skb whole (lo has every GSO feature), so the
    /// chunk's segments are joined into the first (gso_size = its length, PSH and FIN of the last) — unless
    /// gso_features_check() — net/core/dev.c — takes the GSO features away because skb->len reaches lo's
    /// gso_ipv4_max_size 65536: then tcp_gso_segment() cuts it in software into gso_size pieces, the segments as
    /// built. validate_xmit_skb() runs in __dev_queue_xmit(), after neigh_hh_output() pushed lo's 14-byte Ethernet
    /// header, so skb->len is the IP datagram + 14: a datagram of 65522 bytes or more is cut. Observed on Linux
    /// 6.18.44 (tshark on lo): a 62491-byte chunk leaves as one packet with PSH, a 72027-byte one with the FIN as
    /// 47616 + 24411 FP; at mss 32735 a 65470-byte chunk (datagram 65522) as 32735 + 32735, at mss 32734 a
    /// 65468-byte one (datagram 65520) whole.
    /// </remarks>
    void SendChunkTail(ref Segment? held, int chunkSegs, string reason, bool countOutSeg = true)
    {
        if (held is null) return;
        if (chunkSegs > 1 && _sim.Profile != KernelProfile.Linux44) held.AddFlags(TcpFlags.Psh);
        if (_sim.LoChunk is { Count: > 0 } chunk)
        {
            var first = chunk[0];
            long datagram = first.DatagramLength + (long)held.Length;
            for (int i = 1; i < chunk.Count; i++) datagram += chunk[i].Length;
            if (datagram + LoHardHeaderLen < LoGsoMaxSize) // gso_features_check(): skb->len >= gso_ipv4_max_size
            {
                for (int i = 1; i < chunk.Count; i++) Absorb(first, chunk[i]);
                Absorb(first, held);
                held = first;
            }
            else
            {
                // Software GSO after the IP layer: OutRequests, OutTransmits and OutOctets counted the skb once; each
                // piece is a new skb (skb_segment()), not a clone of the one the sender keeps.
                for (int i = 0; i < chunk.Count; i++)
                {
                    chunk[i].MarkSegmented();
                    Host.Transmit(chunk[i], reason, countOutSeg, ipDatagram: i == 0 ? datagram : 0);
                }
                held.MarkSegmented();
                Host.Transmit(held, reason, countOutSeg, ipDatagram: 0);
                chunk.Clear();
                held = null;
                return;
            }
            chunk.Clear();
        }
        TransmitChunkPiece(held, reason, countOutSeg);
        Data(nonZero: false)?.ChunkPiecesSent = 0;
        held = null;
    }

    /// <summary>
    /// Puts one segment of a TSO chunk on a link other than lo. The chunk is one skb down to the device: __ip_local_out()
    /// counts OutRequests, ip_finish_output2() OutTransmits and ip_output() skb-&gt;len in OutOctets once for it, before
    /// software GSO (validate_xmit_skb() → tcp_gso_segment(), net/core/dev.c) or the device cuts it into segments — so
    /// the first segment counts as the skb's datagram and each later one adds only its payload (the skb's IP and TCP
    /// headers are counted once). Observed on Linux 6.18.44 through a TUN device: a 2-segment chunk of 1000-byte
    /// segments is one OutRequests and 2040 OutOctets.
    /// </summary>
    void TransmitChunkPiece(Segment seg, string reason, bool countOutSeg)
    {
        if (DataToWrite.ChunkPiecesSent++ == 0)
        {
            Host.Transmit(seg, reason, countOutSeg);
            return;
        }
        Host.Transmit(seg, reason, countOutSeg, ipDatagram: 0);
        Host.Count(MibCounter.IpExtOutOctets, seg.Length);
    }

    /// <summary>lo's gso_max_size and gso_ipv4_max_size (GSO_LEGACY_MAX_SIZE, 65536): gso_features_check()'s bound.</summary>
    const int LoGsoMaxSize = 65536;

    /// <summary>
    /// lo's hard_header_len (ETH_HLEN, 14; loopback_setup()): the Ethernet header neigh_hh_output() pushes before
    /// dev_queue_xmit(), part of skb->len when validate_xmit_skb() compares it with gso_max_size.
    /// </summary>
    const int LoHardHeaderLen = 14;


    /// <summary>
    /// <paramref name="seg"/> is the chunk's latest segment; the one held before it is not the chunk's last: it goes on
    /// the link at once, or over lo waits to be joined with the rest (<see cref="SendChunkTail"/>).
    /// </summary>
    void ChunkAppend(ref Segment? held, Segment seg, string reason, bool countOutSeg = true)
    {
        if (held is not null)
        {
            if (ViaLoopback) _sim.LoChunk.Add(held);
            else TransmitChunkPiece(held, reason, countOutSeg);
        }
        held = seg;
    }

    /// <summary>Joins <paramref name="next"/> into the GSO packet <paramref name="first"/> and frees it.</summary>
    void Absorb(Segment first, Segment next)
    {
        first.Absorb(next);
        _sim.RecycleSegment(next);
    }

    /// <summary>
    /// tcp_cwnd_test() — net/ipv4/tcp_output.c: the segments one skb may take, min(cwnd − in flight, max(cwnd / 2, 1))
    /// ("For better scheduling, ensure we have at least 2 GSO packets in flight"): at cwnd 2 or 3 every chunk is one segment.
    /// </summary>
    int CwndQuota => Math.Min(_ca.Cwnd - PacketsInFlight, Math.Max(_ca.Cwnd >> 1, 1));

    /// <summary>tcp_probe0_base(): max(icsk_rto, TCP_RTO_MIN).</summary>
    SimDuration ProbeBase => SimDuration.Max(_icsk.Rto, TcpConstants.RtoMin);

    /// <summary>
    /// tcp_rearm_rto(): RTO from the head's transmit time (tcp_rto_delta_us(), at least 1 µs, when a loss
    /// probe or RACK reordering timer was pending — <paramref name="fromHead"/> for the latter's own
    /// handler), or stop when nothing is in flight.
    /// </summary>
    void RearmRto(bool fromHead = false)
    {
        if (PacketsOut == 0)
        {
            if (XmitPending != TcpTimerKind.Persist) ClearXmitTimer();
            return;
        }
        var rto = _icsk.Rto;
        if (fromHead || _xmitTimer.Armed && XmitPending is TcpTimerKind.LossProbe or TcpTimerKind.ReorderTimeout)
        {
            // Offset the time elapsed since the head was sent (tcp_rto_delta_us).
            var delta = _icsk.Rto - (_sim.Now - _rtx[0].SentAt);
            rto = delta.Ns > 0 ? delta : new SimDuration(1);
        }
        ResetXmitTimer(TcpTimerKind.Retransmit, rto); // no TCP_USER_TIMEOUT clamp: only tcp_retransmit_timer() has one
    }

    /// <summary>
    /// Models tcp_schedule_loss_probe() — net/ipv4/tcp_output.c: with tcp_early_retrans 3/4 and
    /// SACK, the first retransmission of a tail is a probe after 2·SRTT (+ rto_min for a single
    /// packet in flight, else + TCP_TIMEOUT_MIN_US; 1 s without an RTT sample), never later than
    /// the RTO (the whole RTO when an ACK advanced it, else what is left of it). Only in TCP_CA_Open or CWR.
    /// False when no probe was scheduled (tcp_set_xmit_timer() then re-arms the RTO).
    /// </summary>
    bool ScheduleLossProbe(bool advancingRto)
    {
        if (_sim.Profile == KernelProfile.Linux44) return ScheduleLossProbe44();
        int early = Host.Sysctls.TcpEarlyRetrans;
        // No test of tlp_high_seq here: a probe timer is armed during an open episode too, and tcp_send_loss_probe()
        // then only re-arms the RTO ("At most one outstanding TLP").
        if (early is not (3 or 4) || PacketsOut == 0 || !_rxOpt.SackOk || _ca.State is not (CaState.Open or CaState.Cwr)) return false;
        if (!IsSynchronized) return false;
        long timeoutUs = _rtt.SrttUs != 0
            ? (_rtt.SrttUs >> 2) + (PacketsOut == 1 ? RtoMinUs : 2000)
            : TcpConstants.TimeoutInit.Ns / 1000;
        long rtoDeltaUs = advancingRto ? _icsk.Rto.Ns / 1000 : (_icsk.Rto - (_sim.Now - _rtx[0].SentAt)).Ns / 1000;
        if (rtoDeltaUs > 0) timeoutUs = Math.Min(timeoutUs, rtoDeltaUs);
        ResetXmitTimer(TcpTimerKind.LossProbe, SimDuration.FromMicroseconds(timeoutUs));
        return true;
    }

    /// <summary>
    /// Models linux-4.4's tcp_schedule_loss_probe() — net/ipv4/tcp_output.c, in jiffies: only while the RTO is what the
    /// xmit timer is pending for ("TLP is only scheduled when next timer event is RTO"), with tcp_early_retrans ≥ 3, SACK
    /// and packets out, in TCP_CA_Open alone, and not when cwnd leaves room for a send head still to go. rtt =
    /// usecs_to_jiffies(srtt_us &gt;&gt; 3); "timeout = rtt &lt;&lt; 1 ? : TCP_TIMEOUT_INIT", with one packet out at least
    /// rtt + rtt / 2 + TCP_DELACK_MAX ("to account for delayed ack"), and at least msecs_to_jiffies(10); "If RTO is
    /// shorter, just schedule TLP in its place": a probe due after the armed RTO (icsk_timeout) takes the RTO's time. 4.13's
    /// bb4d991a28cc ("tcp: adjust tail loss probe timeout") brought 6.x's 2·srtt + TCP_RTO_MIN / TCP_TIMEOUT_MIN.
    /// </summary>
    bool ScheduleLossProbe44()
    {
        if (!_xmitTimer.Armed || XmitPending != TcpTimerKind.Retransmit) return false;
        // 4.4's only state test is "Don't do any loss probe on a Fast Open connection before 3WHS finishes" (tp->fastopen_rsk),
        // and the engine has no Fast Open: no test of the socket's state here.
        if (Host.Sysctls.TcpEarlyRetrans < 3 || PacketsOut == 0 || !_rxOpt.SackOk || _ca.State != CaState.Open) return false;
        if (_ca.Cwnd > PacketsInFlight && SeqMath.Before(_snd.Nxt, _snd.WriteSeq)) return false;
        long rtt = Jiffies.FromDuration(SimDuration.FromMicroseconds(_rtt.SrttUs >> 3));
        long timeout = rtt != 0 ? rtt << 1 : Jiffies.FromDuration(TcpConstants.TimeoutInit);
        if (PacketsOut == 1) timeout = Math.Max(timeout, rtt + (rtt >> 1) + Jiffies.FromDuration(TcpConstants.DelackMax));
        timeout = Math.Max(timeout, Jiffies.FromDuration(SimDuration.FromMilliseconds(10)));
        long now = Jiffies.At(_sim.Now), rtoAt = Jiffies.At(_xmitTimer.Expires);
        if (now + timeout > rtoAt && rtoAt - now > 0) timeout = rtoAt - now;
        ResetXmitTimer(TcpTimerKind.LossProbe, Jiffies.ToDuration(timeout));
        return true;
    }

    /// <summary>
    /// tcp_clamp_rto_to_user_timeout() — net/ipv4/tcp_timer.c: never sleep past TCP_USER_TIMEOUT since the first
    /// retransmission. Its one caller is tcp_retransmit_timer()'s out_reset_timer: (<see cref="OutResetTimer"/>); the
    /// RTO re-arms of an ACK (tcp_rearm_rto()), of tcp_xmit_retransmit_queue() and of the loss probe are not clamped.
    /// 4.19+: linux-4.4's out_reset_timer re-arms with icsk_rto as it is, so the connection dies at the first RTO at or
    /// past the deadline.
    /// </summary>
    SimDuration ClampToUserTimeout(SimDuration rto)
    {
        if (_sim.Profile == KernelProfile.Linux44) return rto;
        if (UserTimeoutMs == 0 || RetransStamp is not { } stamp) return rto;
        var remaining = SimDuration.FromMilliseconds(UserTimeoutMs) - (_sim.Now - stamp);
        if (remaining.Ns <= 0) return Jiffies.Tick;
        return SimDuration.Min(rto, Jiffies.ToDuration(Jiffies.FromDuration(remaining)));
    }

    /// <summary>Retransmits the head of the retransmission queue (tcp_retransmit_skb).</summary>
    void RetransmitHead(string reason)
    {
        if (_rtx.Count == 0) return;
        var head = _rtx[0];
        if (head.Flags.Has(TcpFlags.Syn))
        {
            Resent(0);
            // In SYN_RECV (simultaneous open) the queued SYN carries ACK since tcp_send_synack(). tcp_retransmit_skb()
            // resends the queue's head whatever the state: a crossed-SYN socket closed in SYN_RECV (FIN_WAIT1, its FIN
            // queued behind the unacknowledged SYN-ACK) resends the SYN-ACK, its window min(rcv_wnd, 65535) as the FIN's
            // tcp_select_window() left rcv_wnd (observed on Linux 6.18.44, --fuzz-edges seed 8159).
            Transmit(head.Flags, _snd.Iss, 0, reason, syn: true, retransmit: true);
            return;
        }
        RetransmitSkb(0, reason);
    }

    /// <summary>The payload bytes of a queued segment: its sequence space less the FIN's.</summary>
    static int PayloadOf(InFlight s) => (int)(s.End - s.Seq) - (s.Flags.Has(TcpFlags.Fin) ? 1 : 0);

    /// <summary>
    /// __tcp_retransmit_skb() — net/ipv4/tcp_output.c — for the queued segment at <paramref name="index"/>:
    /// TCPCB_EVER_RETRANS set and the send time renewed; RetransSegs and tp->total_retrans by the segment count
    /// (one per queued entry: a multi-segment skb is resent entry by entry), TCPSynRetrans for a SYN. tcp_retransmit_skb() also sets TCPCB_SACKED_RETRANS
    /// (<paramref name="sackedRetrans"/>: retrans_out); a loss probe's retransmission does not.
    /// </summary>
    void Resent(int index, bool sackedRetrans = true)
    {
        var s = _rtx[index];
        if (sackedRetrans && !s.RetransOut) _ca.RetransOut++;
        // __tcp_retransmit_skb() → tcp_transmit_skb() → tcp_rate_skb_sent(): the skb is in packets_out already.
        _rtx[index] = RateSkbSent(s with { SentAt = _sim.Now, Retransmitted = true, RetransOut = s.RetransOut || sackedRetrans }, PacketsOut);
        Host.Count(MibCounter.TcpRetransSegs);
        if (s.Flags.Has(TcpFlags.Syn)) Host.Count(MibCounter.TcpExtTCPSynRetrans);
        RetransStatsToWrite.TotalRetrans++;
    }

    /// <summary>
    /// Models tcp_write_wakeup(): new data if the window allows some, else a probe — an ACK
    /// carrying the already-acknowledged byte snd_una − 1 (tcp_xmit_probe_skb).
    /// </summary>
    void WriteWakeup(MibCounter counter)
    {
        uint wndEnd = WndEnd;
        if (SeqMath.Before(_snd.Nxt, _snd.WriteSeq) && SeqMath.Before(_snd.Nxt, wndEnd))
        {
            Push("tcp_write_wakeup", maxSegments: 1, windowProbe: true);
            return;
        }
        Host.Count(counter);
        Transmit(TcpFlags.Ack, _snd.Una - 1, 0, counter == MibCounter.TcpExtTCPKeepAlive ? "tcp_keepalive_timer" : "tcp_send_probe0");
    }
}
