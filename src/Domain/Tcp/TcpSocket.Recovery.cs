using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>icsk_ca_state (enum tcp_ca_state — include/net/tcp.h), in the kernel's order: "≤ Disorder" and "&lt; Recovery" compare.</summary>
internal enum CaState
{
    Open,
    Disorder,
    Cwr,
    Recovery,
    Loss,
}

/// <summary>The FLAG_* bits tcp_ack() gathers about one ACK (net/ipv4/tcp_input.c); only those the engine reads.</summary>
[Flags]
internal enum AckFlags
{
    None = 0,
    /// <summary>FLAG_DATA: the ACK carries data.</summary>
    Data = 0x01,
    /// <summary>FLAG_WIN_UPDATE: tcp_may_update_window() took its window.</summary>
    WinUpdate = 0x02,
    /// <summary>FLAG_DATA_ACKED: new data cumulatively acknowledged.</summary>
    DataAcked = 0x04,
    /// <summary>FLAG_RETRANS_DATA_ACKED: some of it had been retransmitted.</summary>
    RetransDataAcked = 0x08,
    /// <summary>FLAG_SYN_ACKED: our SYN acknowledged.</summary>
    SynAcked = 0x10,
    /// <summary>FLAG_DATA_SACKED: new data SACKed.</summary>
    DataSacked = 0x20,
    /// <summary>FLAG_LOST_RETRANS: RACK found a retransmission lost.</summary>
    LostRetrans = 0x80,
    /// <summary>FLAG_ORIG_SACK_ACKED: a never-retransmitted segment below high_seq (S)ACKed.</summary>
    OrigSackAcked = 0x200,
    /// <summary>FLAG_SND_UNA_ADVANCED.</summary>
    SndUnaAdvanced = 0x400,
    /// <summary>FLAG_DSACKING_ACK: the ACK carries a D-SACK the sender believes.</summary>
    DsackingAck = 0x800,
    /// <summary>FLAG_SET_XMIT_TIMER: set the TLP or RTO timer after the ACK.</summary>
    SetXmitTimer = 0x1000,
    /// <summary>FLAG_DSACK_TLP: the D-SACK reports the loss probe.</summary>
    DsackTlp = 0x2000,
    /// <summary>FLAG_SACK_RENEGING: after the ACK the retransmission queue's head is one the peer had SACKed.</summary>
    SackReneging = 0x4000,
    Acked = DataAcked | SynAcked,
    NotDup = Data | WinUpdate | Acked,
    CaAlert = DataSacked | DsackingAck,
    ForwardProgress = Acked | DataSacked,
}

/// <summary>REXMIT_NONE / REXMIT_LOST / REXMIT_NEW: what tcp_xmit_recovery() is asked to send.</summary>
internal enum Rexmit { None, Lost, New }

/// <summary>
/// Loss recovery as Linux 6.18 does it — net/ipv4/tcp_input.c, tcp_recovery.c, tcp_output.c: the congestion
/// states tcp_fastretrans_alert() drives (Open, Disorder, CWR, Recovery, Loss), RACK marking every lost
/// segment, NewReno marking for a peer without SACK, Proportional Rate Reduction (RFC 6937) in Recovery and
/// CWR, tcp_xmit_retransmit_queue() sending each lost segment PRR lets out, F-RTO (RFC 5682) in Loss, and
/// the undo paths.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>rx_opt.rcv_tsecr of the ACK being processed (0 without a timestamp): tcp_packet_delayed() reads it.</summary>
    uint _ackTsEcr;

    /// <summary>tcp_is_sack(): the peer SACKs; without it tcp_is_reno() and sacked_out counts duplicate ACKs.</summary>
    bool IsSack => _rxOpt.SackOk;

    /// <summary>tcp_left_out(): sacked_out + lost_out.</summary>
    int LeftOut => _ca.SackedOut + _ca.LostOut;

    /// <summary>tcp_packets_in_flight(): packets_out − left_out + retrans_out.</summary>
    int PacketsInFlight => PacketsOut - LeftOut + _ca.RetransOut;

    /// <summary>tcp_in_cwnd_reduction(): CWR or Recovery.</summary>
    bool InCwndReduction => _ca.State is CaState.Cwr or CaState.Recovery;

    /// <summary>
    /// tcp_set_ca_state(): the one writer of icsk_ca_state, after the module's set_state hook — cubictcp_state():
    /// TCP_CA_Loss resets CUBIC (bictcp_reset() + bictcp_hystart_reset()), from tcp_enter_loss() and
    /// tcp_simple_retransmit() alike; Reno has none.
    /// </summary>
    void SetCaState(CaState state)
    {
        if (state == CaState.Loss) CubicReset();
        _ca.State = state;
    }

    /// <summary>
    /// Models tcp_fastretrans_alert() — net/ipv4/tcp_input.c (6.18, RACK the only SACK loss detection): called for
    /// a "dubious" ACK (a duplicate, one carrying SACK or D-SACK, or any ACK outside Open). State exits once
    /// high_seq is acknowledged (CWR: above it; Recovery: tcp_try_undo_recovery() or tcp_end_cwnd_reduction()),
    /// then per state: Recovery (Reno dupacks, tcp_try_undo_partial(), tcp_try_undo_dsack() + tcp_try_to_open() — linux-4.4:
    /// + tcp_try_keep_open() and return —, loss marking),
    /// Loss (tcp_process_loss()), and Open/Disorder/CWR (Reno dupacks, D-SACK undo, loss marking, and
    /// tcp_enter_recovery() once something is marked lost — tcp_time_to_recover(): lost_out != 0). Before any of it,
    /// in all states, SACK reneging (<see cref="CheckSackReneging"/>) ends the call. ECN is not modelled.
    /// </summary>
    void FastretransAlert(uint priorSndUna, int numDupack, ref AckFlags flag, ref Rexmit rexmit)
    {
        if (PacketsOut == 0 && _ca.SackedOut > 0) _ca.SackedOut = 0;
        // B. "In all the states check for reneging SACKs."
        if (CheckSackReneging(ref flag)) return;
        // D. Check state exit conditions. State can be terminated when high_seq is ACKed.
        if (_ca.State == CaState.Open)
        {
            RetransStamp = null;
        }
        else if (!SeqMath.Before(_snd.Una, _ca.HighSeq))
        {
            switch (_ca.State)
            {
                case CaState.Cwr:
                    // "CWR is to be held something *above* high_seq is ACKed for CWR bit to reach receiver."
                    if (_snd.Una != _ca.HighSeq)
                    {
                        EndCwndReduction();
                        SetCaState(CaState.Open);
                    }
                    break;
                case CaState.Recovery:
                    if (!IsSack) _ca.SackedOut = 0; // tcp_reset_reno_sack()
                    if (TryUndoRecovery()) return;
                    EndCwndReduction();
                    break;
            }
        }
        // E. Process state.
        switch (_ca.State)
        {
            case CaState.Recovery:
                if ((flag & AckFlags.SndUnaAdvanced) == 0)
                {
                    if (!IsSack) AddRenoSack(numDupack);
                }
                else if (TryUndoPartial(priorSndUna))
                {
                    return;
                }
                // tcp_try_to_open(), not only tcp_try_keep_open(): retrans_stamp is forgotten once nothing retransmitted is left.
                // linux-4.4: tcp_try_keep_open() and return — no loss marking, no new Recovery and no retransmission on
                // this ACK, and retrans_stamp stays until an ACK is processed in Open.
                if (TryUndoDsack())
                {
                    if (_sim.Profile == KernelProfile.Linux44)
                    {
                        TryKeepOpen();
                        return;
                    }
                    TryToOpen();
                }
                IdentifyPacketLoss(ref flag);
                if (_ca.State != CaState.Recovery)
                {
                    if (_ca.LostOut == 0) return;
                    // "Undo reverts the recovery state. If loss is evident, starts a new recovery."
                    EnterRecovery();
                }
                break;
            case CaState.Loss:
                ProcessLoss(flag, numDupack, ref rexmit);
                if (_ca.State != CaState.Loss) UpdateRtoTime();
                IdentifyPacketLoss(ref flag);
                if (!(_ca.State == CaState.Open || (flag & AckFlags.LostRetrans) != 0)) return;
                // "Change state if cwnd is undone or retransmits are lost"
                goto default;
            default:
                if (!IsSack)
                {
                    if ((flag & AckFlags.SndUnaAdvanced) != 0) _ca.SackedOut = 0;
                    AddRenoSack(numDupack);
                }
                if (_ca.State <= CaState.Disorder) TryUndoDsack();
                IdentifyPacketLoss(ref flag);
                if (_ca.LostOut == 0)
                {
                    TryToOpen();
                    return;
                }
                if (MtupProbeFailed()) return; // "MTU probe failure: don't reduce cwnd"
                EnterRecovery();
                break;
        }
        rexmit = Rexmit.Lost;
    }

    /// <summary>
    /// Models tcp_check_sack_reneging() — net/ipv4/tcp_input.c: an ACK that advanced snd_una up to a segment the peer
    /// had SACKed ("our remembered SACKs do not reflect real state of receiver") gives the receiver max(RTT/2, 10 ms) —
    /// max(usecs_to_jiffies(srtt_us &gt;&gt; 4), msecs_to_jiffies(10)) — to send ACKs that restore the scoreboard: the
    /// RTO timer is reset to that (inet_csk_reset_xmit_timer()), FLAG_SET_XMIT_TIMER is cleared so tcp_ack() keeps it,
    /// and tcp_fastretrans_alert() returns. If the reneging still holds when it fires, tcp_timeout_mark_lost() clears
    /// the SACK scoreboard (<see cref="TimeoutMarkLost"/>). Observed on Linux 6.18.44 (--fuzz-teardown seed 10342: the
    /// SACKed 1001:2001 resent 21 ms after the ACK of 1:1001, not at the 215 ms RTO). The FLAG_SND_UNA_ADVANCED test came
    /// in 6.1 ("tcp: fix indefinite deferral of RTO with SACK reneging"); the delay itself in 4.16 ("tcp: reduce spurious
    /// retransmits due to transient SACK reneging"). Not modelled: linux-4.4 entered loss at once (TCPSACKReneging,
    /// tcp_enter_loss(), icsk_retransmits++, the head resent, the RTO timer re-armed) — its profile here takes the
    /// 4.16–6.0 delay on FLAG_SACK_RENEGING alone.
    /// </summary>
    bool CheckSackReneging(ref AckFlags flag)
    {
        if ((flag & AckFlags.SackReneging) == 0) return false;
        if ((flag & AckFlags.SndUnaAdvanced) == 0 && _sim.Profile == KernelProfile.Linux6) return false;
        long delay = Math.Max(Jiffies.FromDuration(new SimDuration((_rtt.SrttUs >> 4) * 1000)), Jiffies.FromDuration(SimDuration.FromMilliseconds(10)));
        ResetXmitTimer(TcpTimerKind.Retransmit, Jiffies.ToDuration(delay));
        flag &= ~AckFlags.SetXmitTimer;
        return true;
    }

    /// <summary>
    /// Models tcp_identify_packet_loss(): NewReno marking without SACK, else RACK (tcp_rack_mark_lost()); a
    /// reordering timer RACK armed keeps FLAG_SET_XMIT_TIMER from replacing it, and a retransmission found lost
    /// sets FLAG_LOST_RETRANS.
    /// </summary>
    void IdentifyPacketLoss(ref AckFlags flag)
    {
        if (PacketsOut == 0) return;
        if (!IsSack)
        {
            NewRenoMarkLost((flag & AckFlags.SndUnaAdvanced) != 0);
            return;
        }
        int priorRetrans = _ca.RetransOut;
        if (RackMarkLost()) flag &= ~AckFlags.SetXmitTimer;
        if (priorRetrans > _ca.RetransOut) flag |= AckFlags.LostRetrans;
    }

    /// <summary>
    /// Models tcp_newreno_mark_lost() — net/ipv4/tcp_recovery.c: without SACK the head is lost once
    /// tp->reordering duplicate ACKs came (before Recovery), or on a partial ACK in Recovery (NewReno, RFC 6582).
    /// </summary>
    void NewRenoMarkLost(bool sndUnaAdvanced)
    {
        if ((_ca.State < CaState.Recovery && _ca.SackedOut >= _ca.Reordering) || (_ca.State == CaState.Recovery && sndUnaAdvanced))
        {
            if (_rtx[0].Lost) return;
            MarkSkbLost(0);
        }
    }

    /// <summary>
    /// Models tcp_mark_skb_lost() — net/ipv4/tcp_input.c: a SACKed segment is never lost; a retransmission of a
    /// segment already lost is lost again (TCPCB_SACKED_RETRANS cleared: TCPLostRetransmit); otherwise TCPCB_LOST
    /// and lost_out. Either way tp->lost grows (tcp_notify_skb_loss_event()).
    /// </summary>
    void MarkSkbLost(int index)
    {
        var s = _rtx[index];
        if (s.Sacked) return;
        if (s.Lost)
        {
            if (!s.RetransOut) return;
            _rtx[index] = s with { RetransOut = false };
            _ca.RetransOut--;
            Host.Count(MibCounter.TcpExtTCPLostRetransmit);
        }
        else
        {
            _rtx[index] = s with { Lost = true };
            _ca.LostOut++;
        }
        _ca.Lost++;
    }

    /// <summary>
    /// Models tcp_enter_recovery(): TCPSackRecovery or TCPRenoRecovery, tcp_init_undo(), and — unless a cwnd
    /// reduction is under way already — prior_ssthresh = tcp_current_ssthresh() and tcp_init_cwnd_reduction().
    /// </summary>
    void EnterRecovery()
    {
        Host.Count(IsSack ? MibCounter.TcpExtTCPSackRecovery : MibCounter.TcpExtTCPRenoRecovery);
        _ca.PriorSsthresh = 0;
        InitUndo();
        if (!InCwndReduction)
        {
            _ca.PriorSsthresh = CurrentSsthresh;
            InitCwndReduction();
        }
        SetCaState(CaState.Recovery);
    }

    /// <summary>
    /// Models tcp_init_cwnd_reduction(): high_seq = snd_nxt, the TLP episode forgotten (tlp_high_seq = 0),
    /// prior_cwnd, PRR's counters zeroed, ssthresh from the congestion control.
    /// </summary>
    void InitCwndReduction()
    {
        _ca.HighSeq = _snd.Nxt;
        _ca.TlpOutstanding = false;
        _ca.PriorCwnd = _ca.Cwnd;
        _ca.PrrDelivered = 0;
        _ca.PrrOut = 0;
        _ca.Ssthresh = CaSsthresh();
        EcnQueueCwr();
    }

    /// <summary>
    /// Models tcp_cwnd_reduction() — Proportional Rate Reduction (RFC 6937), integer math as the kernel: with
    /// more in flight than ssthresh, sndcnt = ⌈ssthresh · prr_delivered / prior_cwnd⌉ − prr_out; otherwise
    /// max(prr_delivered − prr_out, newly delivered), one more when snd_una advanced and nothing was newly lost
    /// (the slow-start reduction bound), at most ssthresh − in flight. At least one segment while nothing was
    /// sent yet ("Force a fast retransmit upon entering fast recovery"). cwnd = in flight + sndcnt.
    /// </summary>
    void CwndReduction(int newlyAckedSacked, int newlyLost, AckFlags flag)
    {
        if (newlyAckedSacked <= 0 || _ca.PriorCwnd == 0) return;
        int sndcnt;
        int delta = _ca.Ssthresh - PacketsInFlight;
        _ca.PrrDelivered += newlyAckedSacked;
        if (delta < 0)
        {
            long dividend = (long)_ca.Ssthresh * _ca.PrrDelivered + _ca.PriorCwnd - 1;
            sndcnt = (int)(dividend / _ca.PriorCwnd) - _ca.PrrOut;
        }
        else
        {
            sndcnt = Math.Max(_ca.PrrDelivered - _ca.PrrOut, newlyAckedSacked);
            if ((flag & AckFlags.SndUnaAdvanced) != 0 && newlyLost == 0) sndcnt++;
            sndcnt = Math.Min(delta, sndcnt);
        }
        sndcnt = Math.Max(sndcnt, _ca.PrrOut > 0 ? 0 : 1);
        _ca.Cwnd = PacketsInFlight + sndcnt;
    }

    /// <summary>
    /// Models tcp_end_cwnd_reduction(): leaving CWR or Recovery, cwnd = ssthresh (CWR, or an episode not undone:
    /// undo_marker still set) unless ssthresh is still infinite.
    /// </summary>
    void EndCwndReduction()
    {
        if (_ca.Ssthresh < TcpInfo.InfiniteSsthresh && (_ca.State == CaState.Cwr || _ca.UndoMarker != 0))
            _ca.Cwnd = _ca.Ssthresh;
    }

    /// <summary>
    /// Models tcp_cong_control() (the module has no cong_control hook): in CWR or Recovery PRR sets cwnd
    /// (tcp_cwnd_reduction()); otherwise, when new data was cumulatively acknowledged (tcp_may_raise_cwnd() with
    /// tp->reordering at most net.ipv4.tcp_reordering; any forward progress once it is above), tcp_cong_avoid() with what the ACK
    /// delivered (<see cref="CongAvoid"/>) — also on the ACK that just ended a reduction, whose cwnd is ssthresh by
    /// then. Then tcp_update_pacing_rate().
    /// </summary>
    void CongControl(int delivered, int newlyLost, AckFlags flag)
    {
        if (InCwndReduction)
            CwndReduction(delivered, newlyLost, flag);
        else if ((flag & (_ca.Reordering > unchecked((uint)Host.Sysctls.TcpReordering) ? AckFlags.ForwardProgress : AckFlags.DataAcked)) != 0)
            CongAvoid((uint)delivered);
        UpdatePacingRate(PayloadMss, _ca.Cwnd);
    }

    /// <summary>
    /// Models tcp_xmit_recovery(): after the congestion control set cwnd, F-RTO's new data (REXMIT_NEW, then
    /// F-RTO ends unless snd_nxt passed high_seq) or the lost segments (tcp_xmit_retransmit_queue()).
    /// </summary>
    void XmitRecovery(Rexmit rexmit)
    {
        if (rexmit == Rexmit.None || State == TcpState.SynSent) return;
        if (rexmit == Rexmit.New)
        {
            // __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF): no Minshall hold, whatever tp->nonagle.
            Push("tcp_xmit_recovery (F-RTO new data)", nonagle: Nagle.Off);
            if (SeqMath.After(_snd.Nxt, _ca.HighSeq)) return;
            _ca.Frto = false;
        }
        XmitRetransmitQueue();
    }

    /// <summary>icsk_pending == ICSK_TIME_REO_TIMEOUT: RACK's reordering timer is armed (the cleared timer's kind is stale).</summary>
    bool ReoTimerArmed => _xmitTimer.Armed && XmitPending == TcpTimerKind.ReorderTimeout;

    /// <summary>
    /// Models tcp_xmit_retransmit_queue() — net/ipv4/tcp_output.c: from the head, each skb marked lost and neither
    /// SACKed nor already retransmitted is resent while cwnd exceeds what is in flight and fewer retransmissions than
    /// lost segments are out, whole up to segs = min(cwnd − in flight, max_segs = tcp_tso_segs()) segments
    /// (TCPFastRetrans outside Loss, TCPSlowStartRetrans in Loss, and prr_out in CWR/Recovery, by the skb's
    /// tcp_skb_pcount()). A segment past the peer's window stops the walk (__tcp_retransmit_skb(): -EAGAIN), unless it
    /// is at snd_una. Resending the head re-arms the RTO unless the reordering timer is pending — running
    /// (<paramref name="fromReoTimer"/>) or armed by this ACK's tcp_rack_mark_lost() ("skb == rtx_head &amp;&amp;
    /// icsk->icsk_pending != ICSK_TIME_REO_TIMEOUT"): that timer then still marks the later holes lost in time.
    /// </summary>
    void XmitRetransmitQueue(bool fromReoTimer = false)
    {
        if (PacketsOut == 0) return;
        bool rearm = false;
        int maxSegs = TsoSegs(CurrentMss); // tcp_tso_segs(sk, tcp_current_mss(sk))
        for (int i = 0; i < _rtx.Count; i++)
        {
            int segs = Math.Min(_ca.Cwnd - PacketsInFlight, maxSegs);
            if (segs <= 0) break;
            if (_ca.RetransOut >= _ca.LostOut) break;
            var s = _rtx[i];
            if (!s.Lost || s.Sacked || s.RetransOut) continue;
            var mib = _ca.State != CaState.Loss ? MibCounter.TcpExtTCPFastRetrans : MibCounter.TcpExtTCPSlowStartRetrans;
            // The journal names a fast retransmission after the path that decided it (tcp_fastretrans_alert() →
            // tcp_xmit_recovery(), or the RACK timer's tcp_enter_recovery()), a CA_Loss one after the queue walk.
            int sent = RetransmitSkb(i, _ca.State != CaState.Loss ? "tcp_fastretrans_alert" : "tcp_xmit_retransmit_queue", segs);
            if (sent == 0) break; // "if (tcp_retransmit_skb(sk, skb, segs)) break;"
            for (int k = 0; k < sent; k++) Host.Count(mib); // NET_ADD_STATS(mib_idx, tcp_skb_pcount(skb))
            if (InCwndReduction) _ca.PrrOut += sent;
            if (i == 0 && sent > 0 && !fromReoTimer && !ReoTimerArmed) rearm = true;
            if (sent > 1) i += sent - 1;
        }
        if (rearm) ResetXmitTimer(TcpTimerKind.Retransmit, _icsk.Rto); // "inet_csk(sk)->icsk_rto": no user-timeout clamp
    }

    /// <summary>
    /// Models tcp_retransmit_skb(sk, skb, segs) — net/ipv4/tcp_output.c: __tcp_retransmit_skb() resends the skb that
    /// starts at the queued segment <paramref name="index"/> whole when it is at most segs · mss (and fits the window),
    /// else its first segs · mss bytes (tcp_fragment()); RetransSegs, total_retrans and TCPCB_EVER_RETRANS per
    /// segment. Then TCPCB_SACKED_RETRANS and retrans_out, retrans_stamp at the first retransmission, and undo_retrans.
    /// A resent skb of two or more segments ends with PSH (<see cref="SendChunkTail"/>: __tcp_transmit_skb()'s "Force
    /// a PSH flag on all (GSO) packets", observed on Linux 6.18.44) — the skb's own flags are left as they were.
    /// The engine queues one entry per segment: the skb is the run of entries inside one send skb that are all lost,
    /// not SACKed and not retransmitted (the kernel splits skbs at SACK edges and at each retransmission's end).
    /// Returns the segments sent (0 when the window holds the skb back, or tcp_fragment() refuses the cut:
    /// <see cref="RtxCutRefused"/>).
    /// </summary>
    int RetransmitSkb(int index, string reason, int segs = 1)
    {
        MtuProbeInconclusive();
        SkbTrimHead(_snd.Una, _rtx[index].Seq); // __tcp_retransmit_skb(): "if (before(TCP_SKB_CB(skb)->seq, tp->snd_una))" tcp_trim_head()
        RetransRecut(index);
        int n = 1;
        if (!RetransFitWindow(index, out bool fragmented)
            || !fragmented && RtxCutRefused(_rtx[index + (n = RetransRunLength(index, segs)) - 1].End))
        {
            // tcp_retransmit_skb(): an attempt __tcp_retransmit_skb() refuses (-EAGAIN for the window, -ENOMEM for the
            // cut) still saves "the stamp of the first (attempted) retransmit" (the skb's last send) and adds the skb's
            // tcp_skb_pcount() to undo_retrans, so a later D-SACK of the retransmissions that did leave does not bring
            // undo_retrans to 0.
            RetransStamp ??= _rtx[index].SentAt;
            for (int k = SkbPcountAt(index); k > 0; k--) CountUndoRetrans();
            return 0;
        }
        if (n == 1 && !fragmented) RetransTryCollapse(index);
        var first = _rtx[index];
        var last = _rtx[index + n - 1];
        SkbSplitAt(first.Seq); // tcp_fragment(): the resent skb is one of its own
        SkbSplitAt(last.End);
        Segment? held = null;
        ChunkHeader chunkHeader = default;
        for (int k = 0; k < n; k++)
        {
            var s = _rtx[index + k];
            Resent(index + k, sackedRetrans: true);
            RetransStamp ??= _sim.Now;
            CountUndoRetrans();
            // tcp_gso_segment(): PSH and FIN stay on the last segment of the skb only.
            var flags = k < n - 1 ? s.Flags & ~(TcpFlags.Psh | TcpFlags.Fin) : s.Flags;
            var seg = Transmit(flags, s.Seq, PayloadOf(s), reason, retransmit: true, hold: true, gso: k > 0 ? chunkHeader : null);
            if (k == 0) chunkHeader = new ChunkHeader(seg.Options, seg.Window); // tcp_gso_segment(): one header, the skb's, for every segment
            ChunkAppend(ref held, seg, reason, countOutSeg: false);
        }
        SendChunkTail(ref held, n, reason, countOutSeg: false);
        return n;
    }

    /// <summary>
    /// Models the segmentation __tcp_retransmit_skb() — net/ipv4/tcp_output.c — gives the skb it resends: from the skb's
    /// first byte in pieces of cur_mss = tcp_current_mss() (tcp_fragment() at cur_mss · segs, then
    /// tcp_set_skb_tso_segs(cur_mss) on both parts; tcp_adjust_pcount() moves packets_out and lost_out by the change).
    /// The engine's skb at <paramref name="index"/> is the run of queued segments inside one send skb in the same state
    /// (lost, not SACKed, not retransmitted alike). Their boundaries are where the first transmission cut them: after
    /// an ACK that ended inside a segment (tcp_tso_acked() → tcp_trim_head() keeps the skb, its head trimmed), or once
    /// tcp_current_mss() changed (SACK blocks queued), they no longer fall at cur_mss steps from the skb's start, and the
    /// kernel resends cur_mss bytes from snd_una where the engine would resend the first segment's remains. Observed on
    /// Linux 6.18.44 (--fuzz-pkt seeds 1008, 8005): ACK 548 of [101, 1673) sent as 3 × 524, then an RTO resends 548:1072.
    /// Runs already cut at cur_mss steps are left as they are.
    /// </summary>
    void RetransRecut(int index)
    {
        var first = _rtx[index];
        if (first.Flags.Has(TcpFlags.Syn)) return;
        uint skbEnd = SendSkbEndAt(first.Seq);
        int n = 1;
        while (index + n < _rtx.Count && SameRtxSkb(_rtx[index + n - 1], _rtx[index + n], first) && !SeqMath.After(_rtx[index + n].End, skbEnd))
            n++;
        RecutAtMss(index, n, CurrentMss);
    }

    /// <summary>
    /// Whether queued segment <paramref name="next"/> continues the kernel skb whose segment <paramref name="prev"/> is
    /// (the send skb's bounds are the caller's): contiguous, no SYN, and in the same scoreboard state as
    /// <paramref name="first"/> (lost, SACKed, retransmitted alike: the kernel splits skbs where these change).
    /// </summary>
    static bool SameRtxSkb(InFlight prev, InFlight next, InFlight first) =>
        next.Seq == prev.End && !next.Flags.Has(TcpFlags.Syn)
        && next.Lost == first.Lost && next.Sacked == first.Sacked && next.RetransOut == first.RetransOut;

    /// <summary>
    /// tcp_set_skb_tso_segs(skb, mss) on the skb made of the <paramref name="n"/> queued segments from
    /// <paramref name="index"/>: unless they already fall at <paramref name="mss"/> steps from its start, they are
    /// replaced by pieces of <paramref name="mss"/> (the last one shorter, with the skb's PSH and FIN), each taking the
    /// first segment's fields; tcp_adjust_pcount() moves lost_out and retrans_out by the change in count (not with
    /// <paramref name="adjustCounts"/> false: tcp_tso_acked() counts the packets it loses as acknowledged).
    /// </summary>
    void RecutAtMss(int index, int n, int mss, bool adjustCounts = true)
    {
        var first = _rtx[index];
        bool aligned = PayloadOf(_rtx[index + n - 1]) <= mss;
        for (int k = 0; k < n - 1 && aligned; k++) aligned = PayloadOf(_rtx[index + k]) == mss;
        if (aligned) return;
        var last = _rtx[index + n - 1];
        uint dataEnd = last.End - (last.Flags.Has(TcpFlags.Fin) ? 1u : 0u);
        var pieces = new List<InFlight>();
        for (uint seq = first.Seq; ; )
        {
            uint end = seq + (uint)Math.Min((long)(dataEnd - seq), mss);
            if (end == dataEnd)
            {
                pieces.Add(first with { Seq = seq, End = last.End, Flags = last.Flags });
                break;
            }
            pieces.Add(first with { Seq = seq, End = end, Flags = first.Flags & ~(TcpFlags.Psh | TcpFlags.Fin) });
            seq = end;
        }
        int diff = adjustCounts ? pieces.Count - n : 0;
        if (first.Lost) _ca.LostOut += diff;
        if (first.RetransOut) _ca.RetransOut += diff;
        _rtx.RemoveRange(index, n);
        _rtx.InsertRange(index, pieces);
    }

    /// <summary>
    /// Models what tcp_send_loss_probe() — net/ipv4/tcp_output.c — resends: the retransmission queue's last skb; with
    /// pcount &gt; 1 segments and longer than (pcount − 1) · mss (mss = tcp_current_mss()) it is cut there
    /// (tcp_fragment()) and the piece from the cut goes, itself cut to mss by __tcp_retransmit_skb(); else the skb's first
    /// mss. The engine's skb is the run of queued segments at the tail inside one send skb in the same state; pcount is
    /// their number. Returns the index of the segment to resend, and in <paramref name="cut"/> whether tcp_fragment()
    /// cut the skb (at that segment's start). Observed on Linux 6.18.44: 1000 bytes sent as 536 + 464, a SACK block
    /// queued since (mss 524): the probe is 525:1001, not 537:1001.
    /// </summary>
    int LossProbeIndex(out bool cut)
    {
        cut = false;
        int last = _rtx.Count - 1;
        var tail = _rtx[last];
        if (tail.Flags.Has(TcpFlags.Syn)) return last;
        uint skbStart = SendSkbBounds(tail.Seq).Start;
        int i0 = last;
        while (i0 > 0 && !SeqMath.Before(_rtx[i0 - 1].Seq, skbStart) && SameRtxSkb(_rtx[i0 - 1], _rtx[i0], tail)) i0--;
        int pcount = last - i0 + 1, mss = CurrentMss;
        long len = (long)(tail.End - _rtx[i0].Seq) - (tail.Flags.Has(TcpFlags.Fin) ? 1 : 0);
        if (pcount == 1 || len <= (long)(pcount - 1) * mss)
        {
            RetransRecut(i0);
            return i0;
        }
        RecutAtMss(i0, pcount, mss);
        cut = true;
        return i0 + pcount - 1;
    }

    /// <summary>
    /// tcp_skb_pcount() of the skb that starts at the queued segment <paramref name="index"/>: the following entries of
    /// the same send skb that are lost, neither SACKed nor retransmitted (the kernel splits skbs at those edges).
    /// </summary>
    int SkbPcountAt(int index)
    {
        uint skbEnd = SendSkbEndAt(_rtx[index].Seq);
        int n = 1;
        for (; index + n < _rtx.Count; n++)
        {
            var s = _rtx[index + n];
            if (!s.Lost || s.Sacked || s.RetransOut || s.Seq != _rtx[index + n - 1].End || SeqMath.After(s.End, skbEnd)) break;
        }
        return n;
    }

    /// <summary>
    /// The segments __tcp_retransmit_skb() sends from the queued segment at <paramref name="index"/>: len = mss · segs,
    /// rounded down to whole MSS within the window room (avail_wnd = tcp_wnd_end() − seq), over the following entries of
    /// the same send skb that are lost, neither SACKed nor retransmitted, at most <paramref name="segs"/> of them.
    /// </summary>
    int RetransRunLength(int index, int segs)
    {
        var first = _rtx[index];
        if (segs <= 1 || first.Flags.Has(TcpFlags.Syn)) return 1;
        int mss = CurrentMss; // cur_mss = tcp_current_mss(sk)
        long availWnd = unchecked((int)(WndEnd - first.Seq));
        if (availWnd <= 0) availWnd = mss;
        long len = Math.Min((long)mss * segs, Math.Max(availWnd / mss * mss, mss));
        uint skbEnd = SendSkbEndAt(first.Seq);
        int n = 1;
        while (n < segs && index + n < _rtx.Count)
        {
            var s = _rtx[index + n];
            if (!s.Lost || s.Sacked || s.RetransOut || s.Flags.Has(TcpFlags.Syn)) break;
            if (s.Seq != _rtx[index + n - 1].End || SeqMath.After(s.End, skbEnd)) break;
            if ((long)(s.Seq - first.Seq) + PayloadOf(s) > len || PayloadOf(s) > mss) break;
            n++;
        }
        return n;
    }

    /// <summary>
    /// Models __tcp_retransmit_skb()'s window test — net/ipv4/tcp_output.c: avail_wnd = tcp_wnd_end() − seq. A segment
    /// that starts past a window the peer shrank is not resent (-EAGAIN: false) unless it is at snd_una, where the
    /// retransmission is a zero-window probe (avail_wnd = mss). One longer than avail_wnd is cut to rounddown(avail_wnd,
    /// mss), or to avail_wnd below one MSS (tcp_fragment(): the first piece loses PSH and FIN, the rest keeps them with
    /// the scoreboard bits — tcp_adjust_pcount() counts it in lost_out/retrans_out too); no collapse then. A cut
    /// tcp_fragment() refuses (<see cref="RtxCutRefused"/>: -ENOMEM) is false too.
    /// </summary>
    bool RetransFitWindow(int index, out bool fragmented)
    {
        fragmented = false;
        var s = _rtx[index];
        if (s.Flags.Has(TcpFlags.Syn)) return true;
        int mss = CurrentMss; // cur_mss = tcp_current_mss(sk): a segment sent before SACK blocks were queued is cut to it
        int availWnd = unchecked((int)(WndEnd - s.Seq));
        if (availWnd <= 0)
        {
            if (s.Seq != _snd.Una) return false;
            availWnd = mss;
        }
        int len = mss; // tcp_retransmit_skb(sk, skb, 1): the engine's queue holds one segment per entry
        if (len > availWnd)
        {
            len = availWnd / mss * mss;
            if (len == 0) len = availWnd;
        }
        if (PayloadOf(s) <= len) return true;
        uint cut = s.Seq + (uint)len;
        if (RtxCutRefused(cut)) return false;
        _rtx[index] = s with { End = cut, Flags = s.Flags & ~(TcpFlags.Fin | TcpFlags.Psh) };
        _rtx.Insert(index + 1, s with { Seq = cut });
        if (s.Lost) _ca.LostOut++;
        if (s.RetransOut) _ca.RetransOut++;
        fragmented = true;
        return true;
    }

    /// <summary>
    /// The tcp_fragment(TCP_FRAG_IN_RTX_QUEUE) __tcp_retransmit_skb() makes when the skb is longer than what it resends
    /// (segs · cur_mss, or the window's room): a cut at <paramref name="end"/> inside a send skb, refused by the memory limit
    /// (<see cref="RtxFragmentRefused"/>: TCPWqueueTooBig) unless that skb is the queue's head or tail. Refused,
    /// __tcp_retransmit_skb() returns -ENOMEM ("We'll try again later") before anything is sent or counted —
    /// TCPRetransFail is added only after tcp_transmit_skb() — and tcp_xmit_retransmit_queue() stops its walk. Observed
    /// on Linux 6.18.44: packetdrill/retransmit-cut-refused-wqueue-too-big-after-sndbuf-lowered.pkt.
    /// </summary>
    bool RtxCutRefused(uint end)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return false;
        int i = SndSkbHolding(skbs, end);
        return i >= 0 && skbs[i].Seq != end && RtxFragmentRefused(i);
    }

    /// <summary>
    /// Models tcp_retrans_try_collapse() + tcp_collapse_retrans() — net/ipv4/tcp_output.c, from __tcp_retransmit_skb():
    /// with net.ipv4.tcp_retrans_collapse, a retransmission shorter than min(window room, mss) (never a SYN) takes in the
    /// segments after it while each is a one-segment skb not SACKed (tcp_can_collapse()), the payloads fit that room and
    /// the window holds its end: end_seq and tcp_flags (PSH, FIN) move over, TCPCB_EVER_RETRANS is merged, and
    /// tcp_adjust_pcount() takes the eaten skb out of packets_out, retrans_out, lost_out (and, without SACK, one of
    /// sacked_out). Above all an RTO after write(500); close() resends "FP. 1:501(500)" with the FIN skb folded in.
    /// </summary>
    void RetransTryCollapse(int index)
    {
        var to = _rtx[index];
        if (!Host.Sysctls.TcpRetransCollapse || to.Flags.Has(TcpFlags.Syn)) return;
        uint wndEnd = WndEnd;
        int mss = CurrentMss; // __tcp_retransmit_skb(): avail_wnd = min(avail_wnd, cur_mss)
        int availWnd = unchecked((int)(wndEnd - to.Seq));
        if (availWnd <= 0) availWnd = mss; // a zero-window probe at snd_una (callers send nothing else past the window)
        int space = Math.Min(availWnd, mss);
        if (PayloadOf(to) >= space) return; // "if (skb->len < avail_wnd) tcp_retrans_try_collapse()"
        space -= PayloadOf(to);
        bool collapsed = false;
        while (index + 1 < _rtx.Count)
        {
            var next = _rtx[index + 1];
            if (next.Sacked || !SkbIsOneSegment(next.Seq, next.End)) break;
            space -= PayloadOf(next);
            if (space < 0 || SeqMath.After(next.End, wndEnd)) break;
            to = to with { End = next.End, Flags = to.Flags | next.Flags, Retransmitted = to.Retransmitted || next.Retransmitted };
            if (next.RetransOut) _ca.RetransOut--;
            if (next.Lost) _ca.LostOut--;
            if (!IsSack && _ca.SackedOut > 0) _ca.SackedOut--; // "Reno case is special. Sigh..."
            _rtx.RemoveAt(index + 1);
            SkbCollapse(to.Seq, next.Seq);
            collapsed = true;
        }
        if (collapsed) _rtx[index] = to;
    }

    /// <summary>
    /// Models tcp_process_loss() — F-RTO (RFC 5682, net.ipv4.tcp_frto) in CA_Loss: an ACK that advances snd_una may
    /// undo (tcp_try_undo_loss()); with F-RTO on, a never-retransmitted segment (S)ACKed below high_seq proves the
    /// timeout spurious (undo: TCPSpuriousRTOs); the first ACK after the RTO that advances snd_una sends new data
    /// instead of retransmitting (step 2.b, REXMIT_NEW) when there is some and the window takes it; a SACK or
    /// duplicate ACK after that new data means the loss was real (step 3.a). Once high_seq is acknowledged,
    /// tcp_try_undo_recovery(); else the lost segments go out (REXMIT_LOST).
    /// </summary>
    void ProcessLoss(AckFlags flag, int numDupack, ref Rexmit rexmit)
    {
        bool recovered = !SeqMath.Before(_snd.Una, _ca.HighSeq);
        if ((flag & AckFlags.SndUnaAdvanced) != 0 && TryUndoLoss(false)) return;
        if (_ca.Frto)
        {
            // Step 3.b. "A timeout is spurious if not all data are lost, i.e., never-retransmitted data are (s)acked."
            if ((flag & AckFlags.OrigSackAcked) != 0 && TryUndoLoss(true)) return;
            if (SeqMath.After(_snd.Nxt, _ca.HighSeq))
            {
                if ((flag & AckFlags.DataSacked) != 0 || numDupack > 0) _ca.Frto = false; // Step 3.a. loss was real
            }
            else if ((flag & AckFlags.SndUnaAdvanced) != 0 && !recovered)
            {
                _ca.HighSeq = _snd.Nxt;
                // Step 2.b. Try send new data (deferred until cwnd is updated), else the conventional recovery.
                if (SeqMath.Before(_snd.Nxt, _snd.WriteSeq) && SeqMath.After(WndEnd, _snd.Nxt))
                {
                    rexmit = Rexmit.New;
                    return;
                }
                _ca.Frto = false;
            }
        }
        if (recovered)
        {
            // F-RTO RFC5682 sec 3.1 step 2.a and 1st part of step 3.a
            TryUndoRecovery();
            return;
        }
        if (!IsSack)
        {
            // "A Reno DUPACK means new data in F-RTO step 2.b above are delivered."
            if (SeqMath.After(_snd.Nxt, _ca.HighSeq) && numDupack > 0) AddRenoSack(numDupack);
            else if ((flag & AckFlags.SndUnaAdvanced) != 0) _ca.SackedOut = 0;
        }
        rexmit = Rexmit.Lost;
    }

    /// <summary>
    /// Models tcp_packet_delayed() — net/ipv4/tcp_input.c: with a retrans_stamp, the ACK echoes a timestamp older
    /// than the first retransmission; without one nothing was retransmitted, so the original was merely delayed —
    /// except (6.13+, e37ab7373696 and its 6.16 fix) without SACK once snd_una reached high_seq, or in SYN-SENT
    /// (FLAG_SYN_ACKED cleared the stamp though the SYN was resent). Linux 4.4 returns true without a stamp
    /// (bc9f38c8328e, 5.3 to 6.12, returned false). A simultaneous open's SYN-ACK acks the resent SYN in SYN-RECV:
    /// the stamp is cleared, so the loss is undone (TCPLossUndo) and tcp_init_transfer() keeps the initial cwnd.
    /// </summary>
    bool PacketDelayed
    {
        get
        {
            if (RetransStamp is { } stamp) return _ackTsEcr != 0 && SeqMath.Before(_ackTsEcr, TsValAt(stamp));
            if (_sim.Profile == KernelProfile.Linux44) return true;
            if (!IsSack && !SeqMath.Before(_snd.Una, _ca.HighSeq)) return false;
            return State != TcpState.SynSent;
        }
    }

    /// <summary>tcp_may_undo(): an undo_marker, and every retransmission D-SACKed or the original proven delivered.</summary>
    bool MayUndo => _ca.UndoMarker != 0 && (_ca.UndoRetrans == 0 || PacketDelayed);

    /// <summary>tcp_any_retrans_done(): a retransmission in flight, or the head was ever retransmitted.</summary>
    bool AnyRetransDone => _ca.RetransOut > 0 || _rtx.Count > 0 && _rtx[0].Retransmitted;

    /// <summary>
    /// Models tcp_is_non_sack_preventing_reopen(): without SACK, hold the state until something above high_seq
    /// is acknowledged (RFC 2582: no false fast retransmits).
    /// </summary>
    bool NonSackPreventingReopen()
    {
        if (_snd.Una != _ca.HighSeq || IsSack) return false;
        if (!AnyRetransDone) RetransStamp = null;
        return true;
    }

    /// <summary>
    /// Models tcp_try_undo_recovery(): at the end of Recovery or Loss, undo when tcp_may_undo() (TCPFullUndo, or
    /// TCPLossUndo in Loss); then Open — except without SACK while snd_una is still high_seq.
    /// </summary>
    bool TryUndoRecovery()
    {
        if (MayUndo)
        {
            UndoCwndReduction(unmarkLoss: false);
            Host.Count(_ca.State == CaState.Loss ? MibCounter.TcpExtTCPLossUndo : MibCounter.TcpExtTCPFullUndo);
        }
        else if (_rack.ReoWndPersist > 0)
        {
            _rack.ReoWndPersist--; // one more recovery without an undo
        }
        if (NonSackPreventingReopen()) return true;
        SetCaState(CaState.Open);
        return false;
    }

    /// <summary>Models tcp_try_undo_dsack(): every retransmission D-SACKed — undo (TCPDSACKUndo).</summary>
    bool TryUndoDsack()
    {
        if (_ca.UndoMarker == 0 || _ca.UndoRetrans != 0) return false;
        _rack.ReoWndPersist = Math.Min(TcpConstants.RackRecoveryThresh, _rack.ReoWndPersist + 1);
        UndoCwndReduction(unmarkLoss: false);
        Host.Count(MibCounter.TcpExtTCPDSACKUndo);
        return true;
    }

    /// <summary>
    /// Models tcp_try_undo_loss(): in Loss, undo (lost marks cleared) when F-RTO proved the RTO spurious or
    /// tcp_may_undo() — TCPLossUndo, and TCPSpuriousRTOs for F-RTO; icsk_retransmits = 0; Open (with SACK, or F-RTO).
    /// </summary>
    bool TryUndoLoss(bool frtoUndo)
    {
        if (!frtoUndo && !MayUndo) return false;
        UndoCwndReduction(unmarkLoss: true);
        Host.Count(MibCounter.TcpExtTCPLossUndo);
        if (frtoUndo) Host.Count(MibCounter.TcpExtTCPSpuriousRTOs);
        _icsk.Retransmits = 0;
        if (NonSackPreventingReopen()) return true;
        if (frtoUndo || IsSack) SetCaState(CaState.Open);
        return true;
    }

    /// <summary>
    /// Models tcp_try_undo_partial(): a partial ACK in Recovery whose timestamp proves the original delivered is
    /// reordering (tcp_check_sack_reordering(prior_snd_una, ts): TCPTSReorder) — with retransmissions still out, keep
    /// clocking (true); else undo with the lost marks cleared (TCPPartialUndo) and tcp_try_keep_open().
    /// </summary>
    bool TryUndoPartial(uint priorSndUna)
    {
        if (_ca.UndoMarker == 0 || !PacketDelayed) return false;
        // "Plain luck! Hole if filled with delayed packet, rather than with a retransmit. Check reordering."
        CheckSackReordering(priorSndUna, _snd.Una, ts: true);
        if (_ca.RetransOut > 0) return true;
        if (!AnyRetransDone) RetransStamp = null;
        UndoCwndReduction(unmarkLoss: true);
        Host.Count(MibCounter.TcpExtTCPPartialUndo);
        TryKeepOpen();
        return false;
    }

    /// <summary>
    /// Models tcp_undo_cwnd_reduction(): optionally every TCPCB_LOST cleared (lost_out 0); with a prior_ssthresh,
    /// cwnd = CUBIC's undo_cwnd (tcp_reno_undo_cwnd(): max(cwnd, prior_cwnd)) and ssthresh back up to
    /// prior_ssthresh; undo_marker 0, and RACK re-examines losses (rack.advanced).
    /// </summary>
    void UndoCwndReduction(bool unmarkLoss)
    {
        if (unmarkLoss)
        {
            for (int i = 0; i < _rtx.Count; i++)
                if (_rtx[i].Lost) _rtx[i] = _rtx[i] with { Lost = false };
            _ca.LostOut = 0;
        }
        if (_ca.PriorSsthresh != 0)
        {
            _ca.Cwnd = Math.Max(_ca.Cwnd, _ca.PriorCwnd);
            if (_ca.PriorSsthresh > _ca.Ssthresh)
            {
                _ca.Ssthresh = _ca.PriorSsthresh;
                EcnWithdrawCwr();
            }
        }
        _ca.UndoMarker = 0;
        _rack.Advanced = true;
    }

    /// <summary>tcp_try_keep_open(): Disorder while segments are SACKed, lost or retransmitted, else Open; high_seq = snd_nxt on a change.</summary>
    void TryKeepOpen()
    {
        var state = LeftOut > 0 || AnyRetransDone ? CaState.Disorder : CaState.Open;
        if (_ca.State == state) return;
        SetCaState(state);
        _ca.HighSeq = _snd.Nxt;
    }

    /// <summary>tcp_try_to_open(): retrans_stamp cleared when nothing was retransmitted; outside CWR, tcp_try_keep_open().</summary>
    void TryToOpen()
    {
        if (!AnyRetransDone) RetransStamp = null;
        if (_ca.State != CaState.Cwr) TryKeepOpen();
    }

    /// <summary>
    /// Models tcp_add_reno_sack(): without SACK, each duplicate ACK stands for one segment delivered out of order
    /// (sacked_out, tcp_count_delivered()), capped by tcp_check_reno_reordering().
    /// </summary>
    void AddRenoSack(int numDupack)
    {
        if (numDupack == 0) return;
        int prior = _ca.SackedOut;
        _ca.SackedOut += numDupack;
        CheckRenoReordering(0);
        int delivered = _ca.SackedOut - prior;
        if (delivered > 0) _delivered += delivered;
    }

    /// <summary>
    /// Models tcp_remove_reno_sacks(): a cumulative ACK of <paramref name="acked"/> segments filled one hole;
    /// the rest were already counted by duplicate ACKs.
    /// </summary>
    void RemoveRenoSacks(int acked)
    {
        if (acked > 0)
        {
            _delivered += Math.Max(acked - _ca.SackedOut, 1);
            if (acked - 1 >= _ca.SackedOut) _ca.SackedOut = 0;
            else _ca.SackedOut -= acked - 1;
        }
        CheckRenoReordering(acked);
    }

    /// <summary>
    /// tcp_limit_reno_sacked(): without SACK, sacked_out (the duplicate ACKs counted) is held to packets_out less the
    /// holes (lost_out, at least 1); true when it had to be.
    /// </summary>
    bool LimitRenoSacked()
    {
        int holes = Math.Min(Math.Max(_ca.LostOut, 1), PacketsOut);
        if (_ca.SackedOut + holes <= PacketsOut) return false;
        _ca.SackedOut = PacketsOut - holes;
        return true;
    }

    /// <summary>min_t(u32, segments, READ_ONCE(net.ipv4.tcp_max_reordering)): the sysctl compared as a u32.</summary>
    uint MaxReorderingCap(long segments) => Math.Min(unchecked((uint)segments), unchecked((uint)Host.Sysctls.TcpMaxReordering));

    /// <summary>
    /// Models tcp_check_reno_reordering() + tcp_limit_reno_sacked(): more duplicate ACKs than segments out (less
    /// the holes) is reordering — sacked_out capped, tp->reordering raised (at most net.ipv4.tcp_max_reordering),
    /// reord_seen, TCPRenoReorder.
    /// </summary>
    void CheckRenoReordering(int addend)
    {
        if (!LimitRenoSacked()) return;
        _ca.Reordering = MaxReorderingCap(PacketsOut + addend);
        _ca.ReordSeen++;
        Host.Count(MibCounter.TcpExtTCPRenoReorder);
    }

    /// <summary>
    /// Models tcp_process_tlp_ack() — net/ipv4/tcp_input.c: once tlp_high_seq is acknowledged the probe episode
    /// ends; a probe of new data, a D-SACK of the probe, or a pure duplicate ACK mean nothing was lost; an ACK
    /// above tlp_high_seq after a retransmitted probe means the probe repaired a loss — a CWR episode
    /// (tcp_init_cwnd_reduction(), tcp_end_cwnd_reduction(): cwnd = ssthresh), then tcp_try_keep_open(), and
    /// TCPLossProbeRecovery.
    /// </summary>
    void ProcessTlpAck(uint ack, AckFlags flag)
    {
        if (SeqMath.Before(ack, _ca.TlpHighSeq)) return;
        if (!_ca.TlpRetrans || (flag & AckFlags.DsackTlp) != 0)
        {
            _ca.TlpOutstanding = false;
        }
        else if (SeqMath.After(ack, _ca.TlpHighSeq))
        {
            InitCwndReduction();
            SetCaState(CaState.Cwr);
            EndCwndReduction();
            TryKeepOpen();
            Host.Count(MibCounter.TcpExtTCPLossProbeRecovery);
        }
        else if ((flag & (AckFlags.SndUnaAdvanced | AckFlags.NotDup | AckFlags.DataSacked)) == 0)
        {
            _ca.TlpOutstanding = false;
        }
    }

    /// <summary>
    /// Models tcp_rack_mark_lost() — net/ipv4/tcp_recovery.c: when RACK advanced since the last look,
    /// tcp_rack_detect_loss(); segments still within their reordering window arm the reordering timer for the
    /// largest remaining time, usecs_to_jiffies(remaining + TCP_TIMEOUT_MIN_US), never later than the RTO.
    /// True when that timer was armed.
    /// </summary>
    bool RackMarkLost()
    {
        if (!_rack.Advanced) return false;
        _rack.Advanced = false;
        long remainingUs = RackDetectLoss();
        if (remainingUs == 0) return false;
        var timeout = Jiffies.ToDuration(Jiffies.FromDuration(SimDuration.FromMicroseconds(remainingUs + TcpConstants.TimeoutMinUs)));
        ResetXmitTimer(TcpTimerKind.ReorderTimeout, SimDuration.Min(timeout, _icsk.Rto));
        return true;
    }

    /// <summary>
    /// Models tcp_rack_detect_loss(): the segments in send order (tp->tsorted_sent_queue: a retransmission moves to
    /// the tail) — skipping SACKed ones and ones marked lost and not yet retransmitted — up to the first not sent
    /// before rack.mstamp (tcp_rack_sent_after()): each whose remaining time (tcp_rack_skb_timeout(): rack.rtt_us +
    /// reo_wnd − time since sent, µs) is ≤ 0 is lost (tcp_mark_skb_lost() — a retransmission lost again included);
    /// returns the largest remaining time of the others (0: none). reo_wnd is tcp_rack_reo_wnd(): 0 in Recovery
    /// or Loss or once tp->reordering segments are SACKed (no reordering seen), else min(min_rtt / 4 · reo_wnd_steps, srtt).
    /// </summary>
    long RackDetectLoss()
    {
        if (_rack.RttUs == 0) return 0;
        long minRttUs = MinRttUs == long.MaxValue ? _rack.RttUs : MinRttUs;
        long reoWndUs = RackReoWndUs(minRttUs);
        var order = new List<int>();
        for (int i = 0; i < _rtx.Count; i++)
        {
            var r = _rtx[i];
            if (r.Sacked || r.Lost && !r.RetransOut) continue;
            order.Add(i);
        }
        // Transmission order, not sequence: segments sent at one virtual instant keep the order they left in.
        order.Sort((a, b) => _rtx[a].TsortedPos.CompareTo(_rtx[b].TsortedPos));
        long maxRemaining = 0;
        foreach (int i in order)
        {
            var r = _rtx[i];
            if (!RackSentAfter(_rack.SentAt, _rack.SentEpoch, r.SentAt, r.SentEpoch, _rack.EndSeq, r.End)) break;
            long remaining = _rack.RttUs + reoWndUs - (ClockUs(_sim.Now) - ClockUs(r.SentAt)); // tcp_stamp_us_delta()
            if (remaining <= 0) MarkSkbLost(i);
            else maxRemaining = Math.Max(maxRemaining, remaining);
        }
        return maxRemaining;
    }

    /// <summary>
    /// Models tcp_rack_reo_wnd() — net/ipv4/tcp_recovery.c: while no reordering was seen (tp->reord_seen 0), 0 in Recovery
    /// or Loss and once tp->reordering segments are SACKed ("be aggressive during the recovery or starting the recovery
    /// by DUPACK threshold") unless net.ipv4.tcp_recovery has TCP_RACK_NO_DUPTHRESH; otherwise min(min_rtt / 4 ·
    /// reo_wnd_steps, srtt) (<see cref="RackUpdateReoWnd"/>).
    /// </summary>
    long RackReoWndUs(long minRttUs)
    {
        if (_ca.ReordSeen == 0
            && (_ca.State >= CaState.Recovery
                || _ca.SackedOut >= _ca.Reordering && (Host.Sysctls.TcpRecovery & TcpConstants.RackNoDupthresh) == 0))
            return 0;
        return Math.Min((minRttUs >> 2) * _rack.ReoWndSteps, _rtt.SrttUs >> 3);
    }

    /// <summary>
    /// Models tcp_rack_update_reo_wnd() — net/ipv4/tcp_recovery.c, after tcp_clean_rtx_queue() on an ACK that delivered
    /// something (rs->prior_delivered): a D-SACK seen within a round trip of the last widening is disregarded; otherwise
    /// it widens RACK's window by one min_rtt / 4 step (at most 255), remembers tp->delivered and keeps the width for
    /// TCP_RACK_RECOVERY_THRESH (16) recoveries; with none left to keep, the window is back to one step. Nothing changes
    /// with net.ipv4.tcp_recovery's TCP_RACK_STATIC_REO_WND.
    /// </summary>
    void RackUpdateReoWnd(long priorDelivered)
    {
        if ((Host.Sysctls.TcpRecovery & TcpConstants.RackStaticReoWnd) != 0 || priorDelivered == 0) return;
        // "Disregard DSACK if a rtt has not passed since we adjusted reo_wnd"
        if (unchecked((int)((uint)priorDelivered - (uint)_rack.LastDelivered)) < 0) _rack.DsackSeen = false;
        if (_rack.DsackSeen)
        {
            _rack.ReoWndSteps = Math.Min(0xFF, _rack.ReoWndSteps + 1);
            _rack.DsackSeen = false;
            _rack.LastDelivered = _delivered;
            _rack.ReoWndPersist = TcpConstants.RackRecoveryThresh;
        }
        else if (_rack.ReoWndPersist == 0)
        {
            _rack.ReoWndSteps = 1;
        }
    }

    /// <summary>
    /// tcp_skb_sent_after() (tcp_rack_sent_after()): sent later, or at the same time with a later end_seq — times as the
    /// kernel compares them, whole microseconds (tcp_skb_timestamp_us()). Two skbs of one virtual microsecond stamped by
    /// different clock reads (<paramref name="e1"/>, <paramref name="e2"/>: <see cref="MstampRefresh"/>) are ordered by
    /// the read: on the kernel each read is tcp_clock_ns() a few microseconds after the one before (a segment processed,
    /// tcp_write_xmit(), a timer), so what left while processing a later ACK has the later stamp, and end_seq only breaks
    /// ties within one read (D35).
    /// </summary>
    static bool RackSentAfter(SimTime t1, long e1, SimTime t2, long e2, uint seq1, uint seq2)
    {
        long us1 = ClockUs(t1), us2 = ClockUs(t2);
        return us1 > us2 || us1 == us2 && (e1 > e2 || e1 == e2 && SeqMath.After(seq1, seq2));
    }

    /// <summary>tcp_time_stamp_ms(tp): tp->tcp_mstamp in milliseconds (a u32), the clock as the socket last read it.</summary>
    internal uint TimeStampMs => unchecked((uint)_mstamp.Ms);

    /// <summary>
    /// Models tcp_mstamp_refresh() — net/ipv4/tcp_output.c: tp->tcp_clock_cache and tp->tcp_mstamp read the clock; the
    /// read is counted (<see cref="_mstampEpoch"/>), the order <see cref="RackSentAfter"/> gives stamps of one instant.
    /// </summary>
    void MstampRefresh()
    {
        _mstamp = _sim.Now;
        _mstampEpoch++;
    }

    /// <summary>
    /// Models tcp_rack_advance(): the (S)ACKed segment's RTT and, when it was sent after the one remembered, its
    /// send time and end — except a retransmission acknowledged sooner than min_rtt (it may be the original).
    /// </summary>
    void RackAdvance(InFlight r)
    {
        long rttUs = AtLeastATransit(_sim.Now - r.SentAt);
        if (r.Retransmitted && MinRttUs != long.MaxValue && rttUs < MinRttUs) return;
        _rack.Advanced = true;
        _rack.RttUs = rttUs;
        if (RackSentAfter(r.SentAt, r.SentEpoch, _rack.SentAt, _rack.SentEpoch, r.End, _rack.EndSeq))
        {
            _rack.SentAt = r.SentAt;
            _rack.SentEpoch = r.SentEpoch;
            _rack.EndSeq = r.End;
        }
    }

    /// <summary>
    /// Models tcp_rack_reo_timeout() — net/ipv4/tcp_recovery.c: tcp_rack_detect_loss() again; if that marked
    /// something lost, Recovery (tcp_enter_recovery() + tcp_cwnd_reduction(1) outside it) and
    /// tcp_xmit_retransmit_queue(); icsk_pending is still ICSK_TIME_REO_TIMEOUT, so tcp_rearm_rto() then arms the
    /// RTO from the head's (new) transmit time.
    /// </summary>
    void RackReoTimeout()
    {
        if (PacketsOut == 0) return;
        int priorInflight = PacketsInFlight;
        long lost = _ca.Lost;
        RackDetectLoss();
        if (priorInflight != PacketsInFlight)
        {
            if (_ca.State != CaState.Recovery)
            {
                EnterRecovery();
                CwndReduction(1, (int)(_ca.Lost - lost), AckFlags.None);
            }
            XmitRetransmitQueue(fromReoTimer: true);
        }
        RearmRto(fromHead: true);
    }
}
