using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>The congestion control module a socket runs (icsk_ca_ops), by its tcp_congestion_control name.</summary>
public enum CongestionAlgorithm
{
    /// <summary>"cubic" — net/ipv4/tcp_cubic.c, the default of both profiles.</summary>
    Cubic,
    /// <summary>"reno" — tcp_reno_cong_avoid() / tcp_reno_ssthresh() of net/ipv4/tcp_cong.c.</summary>
    Reno,
}

public static class CongestionAlgorithms
{
    /// <summary>The modules the engine runs, by name.</summary>
    public static CongestionAlgorithm? Find(string name) => name switch
    {
        "cubic" => CongestionAlgorithm.Cubic,
        "reno" => CongestionAlgorithm.Reno,
        _ => null,
    };

    /// <summary>
    /// The other congestion control modules of net/ipv4 (tcp_bbr.c, tcp_dctcp.c, …): a real kernel loads one on
    /// TCP_CONGESTION, the engine does not run them, so a script or scenario naming one is refused, not answered ENOENT.
    /// </summary>
    public static readonly IReadOnlySet<string> Unmodelled = new HashSet<string>(StringComparer.Ordinal)
    {
        "bbr", "bic", "cdg", "dctcp", "highspeed", "htcp", "hybla", "illinois", "lp", "nv", "scalable", "vegas", "veno",
        "westwood", "yeah",
    };

    /// <summary>The module's name (tcp_congestion_ops.name), as ss and TCP_CONGESTION show it.</summary>
    public static string ToName(this CongestionAlgorithm algorithm) => algorithm switch
    {
        CongestionAlgorithm.Cubic => "cubic",
        CongestionAlgorithm.Reno => "reno",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}

/// <summary>
/// The tcp_sock fields of cwnd growth and validation: snd_cwnd_cnt, snd_cwnd_clamp, snd_cwnd_used,
/// snd_cwnd_stamp, max_packets_out and cwnd_usage_seq (linux-4.4: max_packets_seq); is_cwnd_limited, a bit of tcp_sock's
/// bitfields, is one of the socket's flags (<see cref="TcpSocket.CwndLimited"/>), so the struct is 24 bytes, not 28 padded to 32.
/// </summary>
internal struct CwndUse
{
    /// <summary>tp->snd_cwnd_cnt: ACKed packets credited towards the next +1 in congestion avoidance.</summary>
    public uint Cnt;
    /// <summary>tp->snd_cwnd_clamp: ~0 from tcp_init_sock() (no route metric lowers it here).</summary>
    public uint Clamp;
    /// <summary>tp->snd_cwnd_used: the most packets out while the sender was not cwnd-limited.</summary>
    public uint Used;
    /// <summary>tp->snd_cwnd_stamp: tcp_jiffies32 when cwnd was last used in full or changed.</summary>
    public uint Stamp;
    /// <summary>tp->max_packets_out: the most packets out in the current window.</summary>
    public uint MaxPacketsOut;
    /// <summary>tp->cwnd_usage_seq: the window ends once snd_una reaches it.</summary>
    public uint UsageSeq;
}

/// <summary>
/// Congestion control as Linux 6.18 runs it for a socket: tcp_cong_control() → tcp_cong_avoid() on each ACK
/// (net/ipv4/tcp_input.c), cwnd validation on each send (tcp_cwnd_validate(), tcp_cwnd_application_limited(),
/// tcp_cwnd_restart() — tcp_output.c), tcp_slow_start() / tcp_cong_avoid_ai() (tcp_cong.c), and the module's
/// hooks: CUBIC with HyStart (tcp_cubic.c, the default) or Reno.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>hystart_low_window: HyStart looks for the exit only from this cwnd on.</summary>
    const uint HystartLowWindow = 16;
    /// <summary>hystart_ack_delta_us: ACKs closer than this are one train (linux-4.4: hystart_ack_delta, 2 ms).</summary>
    const uint HystartAckDeltaUs = 2000;
    /// <summary>HYSTART_MIN_SAMPLES: delay samples per round before the delay test.</summary>
    const int HystartMinSamples = 8;
    /// <summary>HYSTART_DELAY_MIN / HYSTART_DELAY_MAX: the delay increase that ends slow start, 4..16 ms.</summary>
    const uint HystartDelayMinUs = 4000, HystartDelayMaxUs = 16000;
    /// <summary>HYSTART_ACK_TRAIN | HYSTART_DELAY: the bits of linux-4.4's ca->found.</summary>
    const byte HystartAckTrain = 0x1, HystartDelay = 0x2;

    /// <summary>
    /// icsk_ca_ops: tcp_init_sock() → tcp_assign_congestion_control() gives every new socket the host's
    /// tcp_congestion_control; a passive child gets it again (tcp_ca_openreq_child(), no TCP_CONGESTION here).
    /// </summary>
    CongestionAlgorithm CaOps { get => (CongestionAlgorithm)_caOps; set => _caOps = checked((byte)value); }
    Bictcp _cubic;
    CwndUse _cwnd;

    /// <summary>The congestion control module the socket runs (TCP_CONGESTION's name).</summary>
    public CongestionAlgorithm CongestionControl => CaOps;

    /// <summary>CUBIC's state (inet_csk_ca()), for tests.</summary>
    internal Bictcp CubicState => _cubic;

    /// <summary>tp->snd_cwnd_cnt, for tests.</summary>
    internal uint SndCwndCnt => _cwnd.Cnt;

    /// <summary>tp->snd_wl1, for tests.</summary>
    internal uint SndWl1 => _snd.Wl1;

    /// <summary>tcp_jiffies32: the low 32 bits of jiffies.</summary>
    uint Jiffies32 => unchecked((uint)Jiffies.Absolute(_sim.Now));

    /// <summary>tcp_jiffies32 at <paramref name="t"/>.</summary>
    static uint Jiffies32At(SimTime t) => unchecked((uint)Jiffies.Absolute(t));

    /// <summary>
    /// bictcp_clock_us() — the low 32 bits of tp->tcp_mstamp (µs); linux-4.4's bictcp_clock(): milliseconds
    /// (HZ &lt; 1000: ktime_to_ms()).
    /// </summary>
    uint HystartClock => unchecked(_sim.Profile == KernelProfile.Linux44 ? (uint)(_sim.Now.Ns / 1_000_000) : (uint)(_sim.Now.Ns / 1000));

    /// <summary>tcp_in_slow_start(): snd_cwnd &lt; snd_ssthresh.</summary>
    bool InSlowStart => _ca.Cwnd < _ca.Ssthresh;

    /// <summary>
    /// Models tcp_is_cwnd_limited() — include/net/tcp.h: was the last window limited by cwnd? In slow start it is
    /// enough that cwnd is below twice the most packets out ("ensure cwnd grows to twice what was ACKed").
    /// linux-4.4: in slow start only that test, otherwise is_cwnd_limited (6.x checks is_cwnd_limited first).
    /// </summary>
    bool IsCwndLimited
    {
        get
        {
            bool slowStartRoom = (ulong)_ca.Cwnd < 2UL * _cwnd.MaxPacketsOut;
            if (_sim.Profile == KernelProfile.Linux44) return InSlowStart ? slowStartRoom : CwndLimited;
            if (CwndLimited) return true;
            return InSlowStart && slowStartRoom;
        }
    }

    /// <summary>
    /// Models tcp_init_congestion_control() from tcp_init_transfer(): prior_ssthresh 0 and the module's init —
    /// cubictcp_init(): bictcp_reset() and (hystart) bictcp_hystart_reset(); tcp_init_transfer() also stamps
    /// snd_cwnd_stamp.
    /// </summary>
    void InitCongestionControl()
    {
        _ca.PriorSsthresh = 0;
        _cwnd.Stamp = Jiffies32;
        CubicReset();
    }

    /// <summary>
    /// Models do_tcp_setsockopt(TCP_CONGESTION) → tcp_set_congestion_control() — net/ipv4/tcp.c, tcp_cong.c: an empty
    /// name is EINVAL (optlen &lt; 1), the name is cut to TCP_CA_NAME_MAX − 1 (15) bytes; the module in use changes nothing
    /// but icsk_ca_setsockopt; an unknown one is ENOENT. Else tcp_reinit_congestion_control(): the new module with its
    /// private state zeroed, and outside CLOSE and LISTEN tcp_init_congestion_control() (prior_ssthresh 0, the module's
    /// init) — cwnd and ssthresh stay as they are.
    /// </summary>
    internal CallOutcome SetCongestionControl(string? name)
    {
        if (string.IsNullOrEmpty(name)) return CallOutcome.Fail(Errno.EINVAL);
        if (name.Length > 15) name = name[..15];
        if (CongestionAlgorithms.Find(name) is not { } ca) return CallOutcome.Fail(Errno.ENOENT);
        CaSetsockopt = true;
        if (ca == CaOps) return CallOutcome.Ok();
        CaOps = ca;
        _cubic = default; // memset(icsk->icsk_ca_priv, 0, ...)
        if (State is not (TcpState.Close or TcpState.Listen))
        {
            _ca.PriorSsthresh = 0;
            CubicReset();
        }
        return CallOutcome.Ok();
    }

    /// <summary>tcp_ca_openreq_child(): a listener's TCP_CONGESTION choice (icsk_ca_setsockopt, copied by sk_clone_lock()) stays; else the host's default.</summary>
    void InheritCongestionControl(TcpSocket listener)
    {
        if (!listener.CaSetsockopt) return;
        CaOps = listener.CaOps;
        CaSetsockopt = true;
    }

    /// <summary>bictcp_reset() + bictcp_hystart_reset(): what cubictcp_init() and cubictcp_state(TCP_CA_Loss) both do.</summary>
    void CubicReset()
    {
        if (CaOps != CongestionAlgorithm.Cubic) return;
        _cubic.Reset();
        HystartReset();
    }

    /// <summary>
    /// The module's pkts_acked hook as tcp_clean_rtx_queue() calls it on every ACK that found packets out, with
    /// rs->rtt_us = ca_rtt_us (the RTT of the last packet this ACK acknowledged, the last newly SACKed one
    /// (sack->last_sackt) taking precedence; −1 for none): cubictcp_acked(); Reno has none.
    /// </summary>
    void CaPktsAcked(long caRttUs)
    {
        if (CaOps == CongestionAlgorithm.Cubic) CubicAcked(caRttUs);
    }

    /// <summary>
    /// tcp_ack_update_rtt()'s fallback for ca_rtt_us when no packet gave a clean sample: with a timestamp echo on an
    /// ACK of new data (FLAG_ACKED), tcp_rtt_tsopt_us(tp, 1) — (now − TSecr) ms, at least 1, in µs (linux-4.4:
    /// jiffies_to_usecs(tcp_time_stamp − rcv_tsecr)); else −1.
    /// </summary>
    long CaRttFromTsopt(Segment seg, bool acked)
    {
        if (!acked || !_rxOpt.TsOk || !seg.Options.HasTimestamp || seg.Options.TsEcr == 0) return -1;
        return TsoptRttUs(_sim.Profile, unchecked(TsVal - seg.Options.TsEcr));
    }

    /// <summary>
    /// Models tcp_rtt_tsopt_us(tp, 1) — net/ipv4/tcp_input.c: <paramref name="delta"/> = tcp_time_stamp_ts(tp) −
    /// rcv_tsecr in TCP_TS_HZ (1000 Hz) ticks; "if (!delta) delta = min", so at least 1 ms, in µs; a delta of
    /// INT_MAX / 1000 or more (an echo from the future) is no sample (−1). linux-4.4 used jiffies_to_usecs(delta),
    /// where 0 stays 0.
    /// </summary>
    internal static long TsoptRttUs(KernelProfile profile, uint delta)
    {
        if (delta >= int.MaxValue / 1000) return -1;
        if (profile == KernelProfile.Linux44) return Jiffies.ToDuration(delta).Ns / 1000;
        return Math.Max(delta, 1u) * 1000L;
    }

    /// <summary>
    /// Models tcp_cong_avoid(): the module's cong_avoid with the ACK (snd_una by now) and the packets it delivered,
    /// then snd_cwnd_stamp = now.
    /// </summary>
    void CongAvoid(uint acked)
    {
        if (CaOps == CongestionAlgorithm.Cubic) CubicCongAvoid(_snd.Una, acked);
        else RenoCongAvoid(acked);
        _cwnd.Stamp = Jiffies32;
    }

    /// <summary>
    /// Models tcp_reno_cong_avoid() — net/ipv4/tcp_cong.c: nothing unless cwnd-limited; slow start up to
    /// ssthresh, and whatever is left of <paramref name="acked"/> grows cwnd by 1/cwnd per packet.
    /// </summary>
    void RenoCongAvoid(uint acked)
    {
        if (!IsCwndLimited) return;
        if (InSlowStart)
        {
            acked = SlowStart(acked);
            if (acked == 0) return;
        }
        CongAvoidAi((uint)_ca.Cwnd, acked);
    }

    /// <summary>
    /// Models cubictcp_cong_avoid() — net/ipv4/tcp_cubic.c: nothing unless cwnd-limited; slow start up to
    /// ssthresh; what is left grows by bictcp_update()'s cnt through tcp_cong_avoid_ai(). linux-4.4's
    /// bictcp_cong_avoid() also starts a new HyStart round in slow start once <paramref name="ack"/> passes end_seq.
    /// </summary>
    void CubicCongAvoid(uint ack, uint acked)
    {
        if (!IsCwndLimited) return;
        if (InSlowStart)
        {
            if (_sim.Profile == KernelProfile.Linux44 && SeqMath.After(ack, _cubic.EndSeq)) HystartReset();
            acked = SlowStart(acked);
            if (acked == 0) return;
        }
        _cubic.Update((uint)_ca.Cwnd, acked, Jiffies32, _sim.Profile);
        CongAvoidAi(_cubic.Cnt, acked);
    }

    /// <summary>
    /// Models tcp_slow_start() — net/ipv4/tcp_cong.c: cwnd += acked, but not past ssthresh (nor snd_cwnd_clamp);
    /// returns the packets left over for congestion avoidance.
    /// </summary>
    uint SlowStart(uint acked)
    {
        long cwnd = Math.Min((long)_ca.Cwnd + acked, _ca.Ssthresh);
        acked -= (uint)(cwnd - _ca.Cwnd);
        _ca.Cwnd = (int)Math.Min(cwnd, _cwnd.Clamp);
        return acked;
    }

    /// <summary>
    /// Models tcp_cong_avoid_ai() — net/ipv4/tcp_cong.c: +1 cwnd per <paramref name="w"/> packets ACKed, counted
    /// in snd_cwnd_cnt ("If credits accumulated at a higher w, apply them gently now"), capped by snd_cwnd_clamp.
    /// </summary>
    void CongAvoidAi(uint w, uint acked)
    {
        unchecked
        {
            long cwnd = _ca.Cwnd;
            if (_cwnd.Cnt >= w)
            {
                _cwnd.Cnt = 0;
                cwnd++;
            }
            _cwnd.Cnt += acked;
            if (_cwnd.Cnt >= w)
            {
                uint delta = _cwnd.Cnt / w;
                _cwnd.Cnt -= delta * w;
                cwnd += delta;
            }
            _ca.Cwnd = (int)Math.Min(cwnd, _cwnd.Clamp);
        }
    }

    /// <summary>
    /// The module's ssthresh hook, called on entering Recovery (tcp_init_cwnd_reduction()) and Loss
    /// (tcp_enter_loss()): cubictcp_recalc_ssthresh() (Wmax, fast convergence, max(cwnd · 717/1024, 2)) or
    /// tcp_reno_ssthresh() (max(cwnd / 2, 2)). Both callers also clear snd_cwnd_cnt.
    /// </summary>
    int CaSsthresh()
    {
        _cwnd.Cnt = 0;
        if (CaOps == CongestionAlgorithm.Reno) return Math.Max(_ca.Cwnd >> 1, 2);
        return (int)_cubic.RecalcSsthresh((uint)_ca.Cwnd);
    }

    /// <summary>
    /// tcp_enter_loss()'s snd_cwnd_cnt 0 and snd_cwnd_stamp; CUBIC's reset is tcp_set_ca_state(TCP_CA_Loss)'s
    /// (<see cref="SetCaState"/>).
    /// </summary>
    void CaEnterLoss()
    {
        _cwnd.Cnt = 0;
        _cwnd.Stamp = Jiffies32;
    }

    /// <summary>
    /// Models cubictcp_acked() — net/ipv4/tcp_cubic.c, CUBIC's pkts_acked hook: an RTT sample (none: −1) lowers
    /// delay_min — unless the epoch began less than a second (HZ jiffies) ago, "right after fast recovery" — and,
    /// in slow start until the exit is found, feeds HyStart: 6.14+ ("tcp_cubic: fix incorrect HyStart round start
    /// detection") at any cwnd, hystart_update() checking hystart_low_window after its round reset; linux-4.4's
    /// bictcp_acked() from cwnd 16 only (its rounds are reset by bictcp_cong_avoid()), the delay in milliseconds · 8.
    /// </summary>
    void CubicAcked(long rttUs)
    {
        if (rttUs < 0) return;
        if (_cubic.EpochStart != 0 && unchecked((int)(Jiffies32 - _cubic.EpochStart)) < Jiffies.Hz) return;
        bool legacy = _sim.Profile == KernelProfile.Linux44;
        uint delay = legacy ? (uint)((rttUs << 3) / 1000) : (uint)rttUs;
        if (delay == 0) delay = 1;
        if (_cubic.DelayMin == 0 || _cubic.DelayMin > delay) _cubic.DelayMin = delay;
        if (legacy && InSlowStart && (uint)_ca.Cwnd >= HystartLowWindow) HystartUpdate44(delay);
        else if (!legacy && _cubic.Found == 0 && InSlowStart) HystartUpdate(delay);
    }

    /// <summary>
    /// Models bictcp_hystart_reset(): a new round begins now — round_start = last_ack = now, end_seq = snd_nxt,
    /// curr_rtt unset (~0U; linux-4.4: 0), no samples.
    /// </summary>
    void HystartReset()
    {
        _cubic.RoundStart = _cubic.LastAck = HystartClock;
        _cubic.EndSeq = _snd.Nxt;
        _cubic.CurrRtt = _sim.Profile == KernelProfile.Linux44 ? 0 : uint.MaxValue;
        _cubic.SampleCnt = 0;
    }

    /// <summary>
    /// Models hystart_update() — net/ipv4/tcp_cubic.c (6.14+): a new round once snd_una passes end_seq, then nothing
    /// more below hystart_low_window ("hystart triggers when cwnd is larger than some threshold"). ACK train:
    /// ACKs no more than hystart_ack_delta_us apart that keep coming for longer than (delay_min +
    /// hystart_ack_delay()) / 2 after the round began (halved as sk_pacing_status is SK_PACING_NONE: the engine
    /// does not pace) mean the pipe is full. Delay: after 8 samples, a round whose smallest RTT exceeds delay_min
    /// by clamp(delay_min / 8, 4 ms, 16 ms). Either sets found, ssthresh = cwnd (slow start ends) and counts
    /// TCPHystart{Train,Delay}Detect and, by cwnd, TCPHystart{Train,Delay}Cwnd.
    /// </summary>
    void HystartUpdate(uint delay)
    {
        if (SeqMath.After(_snd.Una, _cubic.EndSeq)) HystartReset();
        if ((uint)_ca.Cwnd < HystartLowWindow) return;
        uint now = HystartClock;
        if (unchecked((int)(now - _cubic.LastAck)) <= HystartAckDeltaUs)
        {
            _cubic.LastAck = now;
            uint threshold = (_cubic.DelayMin + HystartAckDelayUs()) >> 1;
            if (unchecked((int)(now - _cubic.RoundStart)) > threshold)
                HystartFound(MibCounter.TcpExtTCPHystartTrainDetect, MibCounter.TcpExtTCPHystartTrainCwnd, 1);
        }
        if (_cubic.CurrRtt > delay) _cubic.CurrRtt = delay;
        if (_cubic.SampleCnt < HystartMinSamples)
        {
            _cubic.SampleCnt++;
        }
        else if (_cubic.CurrRtt > _cubic.DelayMin + Math.Clamp(_cubic.DelayMin >> 3, HystartDelayMinUs, HystartDelayMaxUs))
        {
            HystartFound(MibCounter.TcpExtTCPHystartDelayDetect, MibCounter.TcpExtTCPHystartDelayCwnd, 1);
        }
    }

    /// <summary>
    /// Models linux-4.4's hystart_update(): nothing once a detector has found the exit (found &amp; hystart_detect);
    /// milliseconds throughout — ACK train: ACKs ≤ 2 ms apart lasting more than delay_min / 16 ms (half the
    /// minimum RTT); delay: the smallest of the round's first 8 samples above delay_min + clamp(delay_min / 8, 4 ms,
    /// 16 ms) (all in ms · 8). The round is reset by bictcp_cong_avoid(), not here.
    /// </summary>
    void HystartUpdate44(uint delay)
    {
        if ((_cubic.Found & (HystartAckTrain | HystartDelay)) != 0) return;
        uint now = HystartClock;
        if (unchecked((int)(now - _cubic.LastAck)) <= (int)(HystartAckDeltaUs / 1000))
        {
            _cubic.LastAck = now;
            if (unchecked((int)(now - _cubic.RoundStart)) > (int)(_cubic.DelayMin >> 4))
                HystartFound(MibCounter.TcpExtTCPHystartTrainDetect, MibCounter.TcpExtTCPHystartTrainCwnd, HystartAckTrain);
        }
        if (_cubic.SampleCnt < HystartMinSamples)
        {
            if (_cubic.CurrRtt == 0 || _cubic.CurrRtt > delay) _cubic.CurrRtt = delay;
            _cubic.SampleCnt++;
        }
        else if (_cubic.CurrRtt > _cubic.DelayMin + Math.Clamp(_cubic.DelayMin >> 3, (HystartDelayMinUs / 1000) << 3, (HystartDelayMaxUs / 1000) << 3))
        {
            HystartFound(MibCounter.TcpExtTCPHystartDelayDetect, MibCounter.TcpExtTCPHystartDelayCwnd, HystartDelay);
        }
    }

    /// <summary>HyStart found the exit: the detector's counters, ssthresh = cwnd.</summary>
    void HystartFound(MibCounter detect, MibCounter cwnd, byte bit)
    {
        _cubic.Found |= bit;
        Host.Count(detect);
        Host.Count(cwnd, _ca.Cwnd);
        _ca.Ssthresh = _ca.Cwnd;
    }

    /// <summary>
    /// Models hystart_ack_delay(): the time 4 GSO packets take at the pacing rate (sk_gso_max_size · 4 s / rate),
    /// at most 1 ms; 0 while there is no pacing rate.
    /// </summary>
    uint HystartAckDelayUs() =>
        _pacingRate == 0 ? 0 : (uint)Math.Min(1000UL, (ulong)GsoMaxSize * 4 * 1_000_000 / _pacingRate);

    /// <summary>
    /// The end of tcp_write_xmit(): "is_cwnd_limited |= (tcp_packets_in_flight(tp) &gt;= tcp_snd_cwnd(tp))", then
    /// tcp_cwnd_validate() when something was sent or cwnd is full (linux-4.4: only when something was sent).
    /// </summary>
    void WriteXmitCwndValidate(bool sent, bool deferCwndLimited = false)
    {
        // "is_cwnd_limited |= (tcp_packets_in_flight(tp) >= tcp_snd_cwnd(tp))": tcp_tso_should_defer() may have set it.
        bool isCwndLimited = deferCwndLimited || PacketsInFlight >= _ca.Cwnd;
        if (sent || (isCwndLimited && _sim.Profile != KernelProfile.Linux44)) CwndValidate(isCwndLimited);
    }

    /// <summary>
    /// Models tcp_cwnd_validate() — net/ipv4/tcp_output.c, at the end of tcp_write_xmit() when it sent something or
    /// found cwnd full: the window's is_cwnd_limited and max_packets_out (a new window once snd_una passed
    /// cwnd_usage_seq; a cwnd-limited send, or more packets out while not limited, updates the current one); then,
    /// cwnd-limited, snd_cwnd_stamp = now; not limited, snd_cwnd_used tracks the packets out and, with
    /// tcp_slow_start_after_idle, an RTO without using cwnd in full shrinks it (tcp_cwnd_application_limited()).
    /// linux-4.4: the window is updated on a new window or more packets out, whatever the limit.
    /// </summary>
    void CwndValidate(bool isCwndLimited)
    {
        uint packetsOut = (uint)PacketsOut;
        bool update = _sim.Profile == KernelProfile.Linux44
            ? !SeqMath.Before(_snd.Una, _cwnd.UsageSeq) || packetsOut > _cwnd.MaxPacketsOut
            : !SeqMath.Before(_snd.Una, _cwnd.UsageSeq) || isCwndLimited || (!CwndLimited && packetsOut > _cwnd.MaxPacketsOut);
        if (update)
        {
            CwndLimited = isCwndLimited;
            _cwnd.MaxPacketsOut = packetsOut;
            _cwnd.UsageSeq = _snd.Nxt;
        }
        if (IsCwndLimited)
        {
            // Network is fed fully.
            _cwnd.Used = 0;
            _cwnd.Stamp = Jiffies32;
            return;
        }
        // Network starves.
        if (packetsOut > _cwnd.Used) _cwnd.Used = packetsOut;
        if (SlowStartAfterIdle && unchecked((int)(Jiffies32 - _cwnd.Stamp)) >= Jiffies.FromDuration(_icsk.Rto))
            CwndApplicationLimited();
        // "The following conditions together indicate the starvation is caused by insufficient sender buffer": nothing
        // left unsent, not cwnd-limited, the application hitting the buffer limit (SOCK_NOSPACE), ESTABLISHED or CLOSE_WAIT.
        if (_snd.Nxt == _snd.WriteSeq && !Dead && NoSpace && State is TcpState.Established or TcpState.CloseWait)
            ChronoStart(TcpChrono.SndbufLimited);
    }

    /// <summary>
    /// Models tcp_cwnd_application_limited() — net/ipv4/tcp_output.c (RFC 2861): in Open (no loss state, no
    /// recovery), with its struct socket (sk->sk_socket: not an orphan) and not waiting for send-buffer space, a cwnd
    /// larger than what was used (at least the initial window) falls halfway to it, ssthresh keeping ¾ of the old cwnd
    /// (tcp_current_ssthresh()). An orphan keeps its cwnd; snd_cwnd_stamp moves either way.
    /// </summary>
    void CwndApplicationLimited()
    {
        if (_ca.State == CaState.Open && !Dead && !NoSpace)
        {
            uint winUsed = Math.Max(_cwnd.Used, (uint)TcpConstants.InitCwnd);
            if (winUsed < (uint)_ca.Cwnd)
            {
                _ca.Ssthresh = CurrentSsthresh;
                _ca.Cwnd = (int)(((uint)_ca.Cwnd + winUsed) >> 1);
            }
            _cwnd.Used = 0;
        }
        _cwnd.Stamp = Jiffies32;
    }

    /// <summary>net.ipv4.tcp_slow_start_after_idle.</summary>
    bool SlowStartAfterIdle => Host.Sysctls.TcpSlowStartAfterIdle;

    /// <summary>
    /// Models tcp_slow_start_after_idle_check() — include/net/tcp.h, called by tcp_skb_entail() when a send queues
    /// a new skb, and by tcp_ack_update_window() when the peer's window changes while data waits: with nothing in flight and the last data sent more than an RTO ago (jiffies), tcp_cwnd_restart().
    /// linux-4.4 makes the same check in tcp_event_data_sent(), as each data segment goes out
    /// (<see cref="EventDataSentCongestion"/>).
    /// </summary>
    void SlowStartAfterIdleCheck()
    {
        if (_sim.Profile == KernelProfile.Linux44 || !SlowStartAfterIdle || PacketsOut > 0) return;
        int delta = unchecked((int)(Jiffies32 - Jiffies32At(_snd.Lsndtime)));
        if (delta > Jiffies.FromDuration(_icsk.Rto)) CwndRestart(delta);
    }

    /// <summary>
    /// Models tcp_cwnd_restart() — net/ipv4/tcp_output.c (RFC 2861 "restart window"): ssthresh keeps ¾ of cwnd
    /// (tcp_current_ssthresh()), and cwnd halves once for every RTO of the idle time after the first, not below
    /// the restart window min(tcp_init_cwnd(), cwnd). CA_EVENT_CWND_RESTART means nothing to CUBIC or Reno.
    /// </summary>
    void CwndRestart(int delta)
    {
        uint cwnd = (uint)_ca.Cwnd;
        uint restartCwnd = Math.Min((uint)TcpConstants.InitCwnd, cwnd);
        _ca.Ssthresh = CurrentSsthresh;
        long rto = Jiffies.FromDuration(_icsk.Rto);
        long left = delta;
        while ((left -= rto) > 0 && cwnd > restartCwnd) cwnd >>= 1;
        _ca.Cwnd = (int)Math.Max(cwnd, restartCwnd);
        _cwnd.Stamp = Jiffies32;
        _cwnd.Used = 0;
    }

    /// <summary>
    /// The congestion part of tcp_event_data_sent() — net/ipv4/tcp_output.c — for a data segment about to leave
    /// (before lsndtime moves): with nothing in flight, CA_EVENT_TX_START (cubictcp_cwnd_event() shifts the
    /// epoch by the idle time). linux-4.4 first restarts cwnd after an idle RTO when packets_out is 0
    /// (tcp_cwnd_restart()); <paramref name="inFlightBefore"/> is what was in flight before this segment.
    /// </summary>
    void EventDataSentCongestion(int inFlightBefore, int packetsOutBefore)
    {
        if (_sim.Profile == KernelProfile.Linux44 && SlowStartAfterIdle && packetsOutBefore == 0)
        {
            int delta = unchecked((int)(Jiffies32 - Jiffies32At(_snd.Lsndtime)));
            if (delta > Jiffies.FromDuration(_icsk.Rto)) CwndRestart(delta);
        }
        if (inFlightBefore == 0 && CaOps == CongestionAlgorithm.Cubic)
            _cubic.TxStart(Jiffies32, Jiffies32At(_snd.Lsndtime));
    }
}
