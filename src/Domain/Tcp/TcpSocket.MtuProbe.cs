using SimService.Domain.Network;
using SimService.Domain.Engine;

namespace SimService.Domain.Tcp;

/// <summary>
/// Packetization-layer path MTU discovery's probes (RFC 4821) as Linux 6.18 sends them: tcp_mtu_probe() —
/// net/ipv4/tcp_output.c — once icsk_mtup.enabled, the probe's ACK (tcp_mtup_probe_success()) and loss
/// (tcp_mtup_probe_failed(), tcp_simple_retransmit()) — net/ipv4/tcp_input.c — and tcp_mtu_check_reprobe().
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// icsk_mtup's search state besides search_low (<see cref="_mtupSearchLow"/>) and tp->mtu_probe: created when
    /// probing is enabled (tcp_mtup_init() above tcp_mtu_probing 1, tcp_mtu_probing()'s first call), so a socket that
    /// never probes keeps none.
    /// </summary>
    sealed class MtupProbe
    {
        /// <summary>icsk_mtup.search_high: the largest MTU the search may try.</summary>
        public int SearchHigh;
        /// <summary>icsk_mtup.probe_size: the MTU of the probe in flight (tcp_mss_to_mtu() of its length), 0 for none.</summary>
        public int ProbeSize;
        /// <summary>tp->mtu_probe.probe_seq_start and probe_seq_end: the probe segment's sequence range.</summary>
        public uint SeqStart, SeqEnd;
        /// <summary>icsk_mtup.probe_timestamp (tcp_jiffies32): when the search last (re)started.</summary>
        public uint Timestamp;
        /// <summary>
        /// tcp_mtu_to_mss(search_low) as the last tcp_sync_mss() took it: mss_cache's bound (<see cref="MtupMss"/>),
        /// none before the first — tcp_mtup_init() and tcp_mtu_check_reprobe() move search_low without a sync.
        /// </summary>
        public int MssCap = int.MaxValue;
    }

    MtupProbe? _mtup;

    /// <summary>
    /// tcp_mtup_init()'s reset of the search — search_high = mss_clamp plus the TCP and IPv4 headers, not held to the
    /// route's MTU until the next tcp_sync_mss() (<see cref="SyncMtupMss"/>); no probe out; probe_timestamp now — on the
    /// socket's state, made on first use.
    /// </summary>
    MtupProbe MtupStart()
    {
        var m = _mtup ??= new MtupProbe();
        m.SearchHigh = _rxOpt.MssClamp + Network.Host.Ipv4TcpHeaders;
        m.ProbeSize = 0;
        m.Timestamp = Jiffies32;
        return m;
    }

    /// <summary>
    /// tcp_sync_mss()'s part in the search: search_high held to the path MTU (icsk_pmtu_cookie, the route's MTU here) at
    /// every sync, enabled or not, and while icsk_mtup.enabled mss_cache held to tcp_mtu_to_mss(search_low) from now on.
    /// </summary>
    void SyncMtupMss()
    {
        if (_mtup is not { } m) return;
        m.SearchHigh = Math.Min(m.SearchHigh, Host.RouteMtu(Remote.Address));
        if (MtupEnabled) m.MssCap = MtuToMss(_mtupSearchLow);
    }

    /// <summary>
    /// Models tcp_mtu_probe() — net/ipv4/tcp_output.c (6.18) — which tcp_write_xmit() (push_one 0) runs before its loop:
    /// -1 (go on) unless probing is enabled with no probe out, in TCP_CA_Open, a cwnd of at least 11 and no SACK block or
    /// D-SACK to send; probe_size = tcp_mtu_to_mss((search_high + search_low) &gt;&gt; 1); a probe_size past
    /// tcp_mtu_to_mss(search_high) or a range under tcp_probe_threshold runs tcp_mtu_check_reprobe() and returns -1, as
    /// do fewer than size_needed = probe_size + (reordering + 1) · mss_cache bytes unsent or a smaller snd_wnd. 0 (send
    /// nothing now) when size_needed passes the window's end, or when the cwnd has no room for 2 more with something in
    /// flight (none in flight: -1, "don't stall"). Otherwise the probe goes (<see cref="SendMtuProbe"/>) and 1.
    /// tcp_can_coalesce_send_queue_head() holds: no skb of the engine carries a TX timestamp request or MSG_EOR.
    /// </summary>
    int MtuProbe()
    {
        if (!MtupEnabled || _mtup is not { ProbeSize: 0 } m || _ca.State != CaState.Open || _ca.Cwnd < 11 || NumSacks > 0 || _rxOpt.Dsack)
            return -1;
        int probeSize = MtuToMss((m.SearchHigh + _mtupSearchLow) >> 1);
        if (probeSize > MtuToMss(m.SearchHigh) || m.SearchHigh - _mtupSearchLow < Host.Sysctls.TcpProbeThreshold)
        {
            MtuCheckReprobe(m);
            return -1;
        }
        if (MssToMtu(probeSize, _rxOpt.TsOk) > Host.RouteMtu(Remote.Address))
        {
            // search_high not yet held to the route (no tcp_sync_mss() since tcp_mtup_init()): the kernel builds the probe,
            // ip_fragment() refuses it (EMSGSIZE, DF) and tcp_mtu_probe() returns -1 with it unsent — not modelled.
            _sim.LeaveModel(Host.Name, Tuple.ToString(), "D161", "tcp_mtu_probe(): a probe above the route's MTU (EMSGSIZE)");
            return -1;
        }
        long sizeNeeded = probeSize + (_ca.Reordering + 1L) * MssCache;
        if (unchecked(_snd.WriteSeq - _snd.Nxt) < sizeNeeded || _snd.Wnd < sizeNeeded) return -1;
        if (SeqMath.After(unchecked(_snd.Nxt + (uint)sizeNeeded), WndEnd)) return 0;
        if (PacketsInFlight + 2 > _ca.Cwnd) return PacketsInFlight == 0 ? -1 : 0;
        SendMtuProbe(m, probeSize);
        return 1;
    }

    /// <summary>
    /// tcp_mtu_probe()'s probe: a new skb of probe_size bytes from the send head (tcp_clone_payload()), the skbs it
    /// covers whole eaten with their flags (tcp_eat_one_skb()), the one it ends inside trimmed at its head and keeping
    /// its PSH and FIN; sent alone (tcp_transmit_skb()), then cwnd − 1 ("we are sending effectively two packets") and
    /// tcp_event_new_data_sent(); probe_size = tcp_mss_to_mtu(len), probe_seq_start/end its range.
    /// </summary>
    void SendMtuProbe(MtupProbe m, int probeSize)
    {
        uint seq = _snd.Nxt, end = seq + (uint)probeSize;
        var flags = TcpFlags.Ack | (SkbBuildMtuProbe(seq, end) ? TcpFlags.Psh : 0);
        RtxToFill().Add(RateSkbSent(new InFlight(seq, end, _sim.Now, false, flags), PacketsOut));
        Segment? held = Transmit(flags, seq, probeSize, "tcp_mtu_probe", hold: true);
        SendChunkTail(ref held, 1, "tcp_mtu_probe");
        _ca.Cwnd--;
        _snd.Nxt = end;
        Host.Count(MibCounter.TcpExtTCPOrigDataSent);
        CheckSpace();
        m.ProbeSize = MssToMtu(probeSize, _rxOpt.TsOk);
        m.SeqStart = seq;
        m.SeqEnd = end;
    }

    /// <summary>
    /// The write queue's side of the probe: [<paramref name="seq"/>, <paramref name="end"/>) becomes one skb of its own
    /// (tcp_stream_alloc_skb() + the payload: SKB_TRUESIZE of the head plus probe_size added to sk_wmem_queued), each skb
    /// it covers whole freed, the one it ends inside keeping its truesize (__pskb_trim_head()). Returns whether an eaten
    /// skb carried PSH.
    /// </summary>
    bool SkbBuildMtuProbe(uint seq, uint end)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return false;
        SkbSplitAt(seq); // the send head starts at snd_nxt (a chunk sent before it ended there)
        int i = SndSkbHolding(skbs, seq);
        if (i < 0) return false;
        bool psh = false;
        while (i < skbs.Count && SeqMath.BeforeOrEqual(skbs[i].End, end))
        {
            psh |= skbs[i].Psh;
            FreeWmem(skbs[i].Truesize);
            skbs.RemoveAt(i);
        }
        if (i < skbs.Count) SndSkbAt(skbs, i).Seq = end;
        long truesize = SndSkbHeadTruesize + (end - seq);
        QueueWmem(truesize);
        skbs.Insert(i, new SndSkb(seq, end, truesize) { Psh = psh }); // tcp_eat_one_skb() ORs the eaten skbs' flags into nskb's
        return psh;
    }

    /// <summary>
    /// Models tcp_mtu_check_reprobe() — net/ipv4/tcp_output.c: once tcp_probe_interval seconds passed since
    /// probe_timestamp (tcp_jiffies32 − probe_timestamp ≥ interval · HZ, compared unsigned), the search restarts:
    /// search_high = mss_clamp + 40 (not held to the route until the next tcp_sync_mss()), search_low =
    /// tcp_mss_to_mtu(tcp_current_mss()), probe_timestamp now.
    /// </summary>
    void MtuCheckReprobe(MtupProbe m)
    {
        ulong interval = (ulong)Host.Sysctls.TcpProbeInterval * Jiffies.Hz;
        if (_sim.Profile == KernelProfile.Linux44) interval = unchecked((uint)interval); // 4.4: u32 interval * HZ, wrapping
        if (unchecked(Jiffies32 - m.Timestamp) < interval) return;
        m.ProbeSize = 0;
        m.SearchHigh = _rxOpt.MssClamp + Network.Host.Ipv4TcpHeaders;
        _mtupSearchLow = MssToMtu(CurrentMss, _rxOpt.TsOk);
        m.Timestamp = Jiffies32;
    }

    /// <summary>
    /// Models tcp_mtup_probe_success() — net/ipv4/tcp_input.c — which tcp_clean_rtx_queue() runs when an ACK of new data
    /// reaches probe_seq_end: prior_ssthresh = tcp_current_ssthresh(); cwnd scaled by the old MTU over the probe's,
    /// cwnd · tcp_mss_to_mtu(mss_cache) / probe_size (at least 1; linux-4.4: may be 0); snd_cwnd_cnt 0, snd_cwnd_stamp now, ssthresh =
    /// tcp_current_ssthresh() with the new cwnd; search_low = probe_size, and tcp_sync_mss() takes its MSS. TCPMTUPSuccess.
    /// </summary>
    void MtupProbeSuccessIfAcked()
    {
        if (_mtup is not { } m || m.ProbeSize == 0 || SeqMath.After(m.SeqEnd, _snd.Una)) return;
        _ca.PriorSsthresh = CurrentSsthresh;
        long cwnd = (long)_ca.Cwnd * MssToMtu(MssCache, _rxOpt.TsOk) / m.ProbeSize;
        _ca.Cwnd = (int)(_sim.Profile == KernelProfile.Linux44 ? cwnd : Math.Max(1L, cwnd)); // 4.4: u32, no max_t(1U, …) (5.19)
        _cwnd.Cnt = 0;
        _cwnd.Stamp = Jiffies32;
        _ca.Ssthresh = CurrentSsthresh;
        _mtupSearchLow = m.ProbeSize;
        m.ProbeSize = 0;
        SyncMtupMss();
        Host.Count(MibCounter.TcpExtTCPMTUPSuccess);
    }

    /// <summary>
    /// The MTU probe failure of tcp_fastretrans_alert() — net/ipv4/tcp_input.c — once loss is evident in Open or
    /// Disorder ("MTU probe failure: don't reduce cwnd"): with a probe out and snd_una at its start,
    /// tcp_mtup_probe_failed() (search_high = probe_size − 1, TCPMTUPFail), cwnd + 1 ("Restores the reduction we did in
    /// tcp_mtup_probe()") and tcp_simple_retransmit() instead of Recovery. False when it does not apply.
    /// </summary>
    bool MtupProbeFailed()
    {
        if (_ca.State >= CaState.Cwr || _mtup is not { } m || m.ProbeSize == 0 || _snd.Una != m.SeqStart) return false;
        m.SearchHigh = m.ProbeSize - 1;
        m.ProbeSize = 0;
        Host.Count(MibCounter.TcpExtTCPMTUPFail);
        _ca.Cwnd++;
        SimpleRetransmit();
        return true;
    }

    /// <summary>
    /// Models tcp_simple_retransmit() — net/ipv4/tcp_input.c: every queued segment longer than tcp_current_mss() is marked
    /// lost (tcp_mark_skb_lost()); with something lost — without SACK, sacked_out then held by tcp_limit_reno_sacked() — and the state not Loss, high_seq = snd_nxt, ssthresh =
    /// tcp_current_ssthresh(), prior_ssthresh and undo_marker 0 and TCP_CA_Loss ("Don't muck with the congestion window
    /// here"); then tcp_xmit_retransmit_queue().
    /// </summary>
    void SimpleRetransmit()
    {
        int mss = CurrentMss;
        for (int i = 0; i < _rtx.Count; i++)
            if (PayloadOf(_rtx[i]) > mss) MarkSkbLost(i);
        if (_ca.LostOut == 0) return;
        if (!IsSack) LimitRenoSacked();
        if (_ca.State != CaState.Loss)
        {
            _ca.HighSeq = _snd.Nxt;
            _ca.Ssthresh = CurrentSsthresh;
            _ca.PriorSsthresh = 0;
            _ca.UndoMarker = 0;
            SetCaState(CaState.Loss);
        }
        XmitRetransmitQueue();
    }

    /// <summary>__tcp_retransmit_skb(): "Inconclusive MTU probe" — any retransmission forgets the probe in flight.</summary>
    void MtuProbeInconclusive()
    {
        if (_mtup is { } m) m.ProbeSize = 0;
    }
}
