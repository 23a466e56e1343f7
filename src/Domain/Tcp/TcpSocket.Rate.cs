using System.Runtime.InteropServices;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// The delivery-rate estimator's connection state in struct tcp_sock (include/linux/tcp.h), as net/ipv4/tcp_rate.c
/// keeps it: the send time of the most recently (S)ACKed segment, when the last delivery happened, the "bubble"
/// marking the flow application-limited, and the last recorded sample (what tcp_get_info() reports). Time stamps are
/// tp->tcp_mstamp microseconds (tcp_clock_us()); 0 means "none", as in the kernel.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct RateEstimator
{
    /// <summary>tp->first_tx_mstamp: the send time of the packet that starts the current sampling window.</summary>
    public long FirstTxUs;
    /// <summary>tp->delivered_mstamp: when tp->delivered last grew (tcp_rate_gen()), or the send time of the first packet
    /// sent into an empty pipe (tcp_rate_skb_sent()).</summary>
    public long DeliveredUs;
    /// <summary>tp->app_limited: tp->delivered + in flight when the flow ran out of data (0: not limited); ~0U from
    /// tcp_init_sock() ("There's a bubble in the pipe until at least the first ACK").</summary>
    public uint AppLimited;
    /// <summary>tp->rate_delivered and tp->rate_interval_us: the last non-app-limited (or highest app-limited) sample.</summary>
    public uint RateDelivered;
    public uint RateIntervalUs;
    /// <summary>tp->rate_app_limited: that sample was app-limited (1 from tcp_init_sock() until one is recorded).</summary>
    public bool RateAppLimited;

    /// <summary>tcp_init_sock() and tcp_disconnect(): app_limited = ~0U, rate_app_limited = 1.</summary>
    public static RateEstimator Initial => new() { AppLimited = uint.MaxValue, RateAppLimited = true };
}

/// <summary>enum tcp_chrono — include/net/tcp.h: the ordered conditions tcp_chrono_start() tracks, the higher one winning.</summary>
internal enum TcpChrono : byte { Unspec, Busy, RwndLimited, SndbufLimited }

/// <summary>tp->chrono_start (tcp_jiffies32) and tp->chrono_stat[] (jiffies spent in each condition); tp->chrono_type:2 is a byte of
/// the socket's (<see cref="TcpSocket.ChronoType"/>), so the struct is 16 bytes, not 17 padded to 24.</summary>
// Sequential, in this order: no field is wider than 4 bytes, so no padding, where LayoutKind.Auto rounds a struct's size up to 8.
[StructLayout(LayoutKind.Sequential)]
internal struct Chronograph
{
    public uint Start;
    public uint Busy, RwndLimited, SndbufLimited;
}

public sealed partial class TcpSocket
{
    /// <summary>tp->first_tx_mstamp … rate_app_limited.</summary>
    RateEstimator _rate;
    /// <summary>tp->chrono_*.</summary>
    Chronograph _chrono;
    /// <summary>tp->chrono_type: the condition the chronograph is timing (a byte beside the socket's other small fields).</summary>
    TcpChrono ChronoType;

    /// <summary>tcp_clock_us() of a virtual time: the microsecond clock of tp->tcp_mstamp and tcp_skb_timestamp_us().</summary>
    static long ClockUs(SimTime t) => t.Ns / 1000;

    /// <summary>
    /// Models tcp_rate_skb_sent() — net/ipv4/tcp_rate.c, called by __tcp_transmit_skb() for every (re)transmission of
    /// a queued skb: an skb sent into an empty pipe (<paramref name="packetsOut"/> = tp->packets_out before it counts,
    /// 0) starts the sampling window at its send time; the skb records tp->first_tx_mstamp, delivered_mstamp, delivered
    /// and whether the flow is app-limited. The SYN is counted in packets_out before it is sent (tcp_connect_queue_skb()),
    /// so it carries delivered_mstamp 0 and never gives a sample. Just before it, __tcp_transmit_skb()'s
    /// tcp_update_skb_after_send() moves the skb to the tail of tp->tsorted_sent_queue (list_move_tail()), the order
    /// RACK walks (<see cref="RackDetectLoss"/>).
    /// </summary>
    InFlight RateSkbSent(InFlight skb, int packetsOut)
    {
        if (packetsOut == 0) _rate.FirstTxUs = _rate.DeliveredUs = ClockUs(skb.SentAt);
        return skb with
        {
            TsortedPos = ++_rack.TsortedTail,
            SentEpoch = _mstampEpoch,
            TxFirstTxUs = _rate.FirstTxUs,
            TxDeliveredUs = _rate.DeliveredUs,
            TxDelivered = _delivered,
            TxAppLimited = _rate.AppLimited != 0,
        };
    }

    /// <summary>
    /// Models tcp_rate_skb_delivered() — net/ipv4/tcp_rate.c, for a segment this ACK (S)ACKs that still has its
    /// tx.delivered_mstamp (one SACKed before was marked off: the callers skip it; the SYN has none): the rate sample keeps
    /// the delivery state of the most recently sent one (tcp_skb_sent_after(), ties by end_seq), tp->first_tx_mstamp
    /// becomes its send time, and the sample's send phase (interval_us) runs from the tx.first_tx_mstamp it recorded.
    /// </summary>
    void RateSkbDelivered(InFlight r, ref SacktagState rs)
    {
        if (r.TxDeliveredUs == 0) return;
        if (rs.PriorDelivered != 0 && !RackSentAfter(r.SentAt, r.SentEpoch, rs.PriorSentAt, rs.PriorEpoch, r.End, rs.PriorEnd)) return;
        rs.PriorDelivered = r.TxDelivered;
        rs.PriorMstampUs = r.TxDeliveredUs;
        rs.IsAppLimited = r.TxAppLimited;
        rs.PriorSentAt = r.SentAt;
        rs.PriorEpoch = r.SentEpoch;
        rs.PriorEnd = r.End;
        _rate.FirstTxUs = ClockUs(r.SentAt);
        rs.IntervalUs = Math.Max(_rate.FirstTxUs - r.TxFirstTxUs, 0); // tcp_stamp_us_delta()
    }

    /// <summary>
    /// Models tcp_rate_gen() — net/ipv4/tcp_rate.c, called by tcp_ack() after tcp_newly_delivered() on an ACK with data
    /// in flight: the app-limited bubble ends once tp->delivered passes it; a delivery stamps delivered_mstamp; a sample
    /// without timing (nothing delivered with a stamp) is invalid. Otherwise its interval is the longer of the send phase
    /// and the ACK phase (now − prior_mstamp), invalid below min_rtt; it is recorded (rate_delivered, rate_interval_us,
    /// rate_app_limited) unless app-limited with a lower rate than the one recorded. SACK reneging (is_sack_reneg) is not
    /// modelled, so never invalidates a sample.
    /// </summary>
    void RateGen(int delivered, ref SacktagState rs)
    {
        uint tpDelivered = unchecked((uint)_delivered);
        if (_rate.AppLimited != 0 && SeqMath.After(tpDelivered, _rate.AppLimited)) _rate.AppLimited = 0;
        long nowUs = ClockUs(_mstamp);
        if (delivered != 0) _rate.DeliveredUs = nowUs;
        if (rs.PriorMstampUs == 0) return;
        int rsDelivered = unchecked((int)(tpDelivered - (uint)rs.PriorDelivered));
        uint sndUs = unchecked((uint)rs.IntervalUs);
        uint ackUs = unchecked((uint)Math.Max(nowUs - rs.PriorMstampUs, 0));
        long intervalUs = Math.Max(sndUs, ackUs);
        if (intervalUs < _rtt.RttMin.Get) return; // tcp_min_rtt(): "Normally we expect interval_us >= min-rtt."
        // "Record the last non-app-limited or the highest app-limited bw"
        if (!rs.IsAppLimited || unchecked((ulong)rsDelivered * _rate.RateIntervalUs >= (ulong)_rate.RateDelivered * (ulong)intervalUs))
        {
            _rate.RateDelivered = unchecked((uint)rsDelivered);
            _rate.RateIntervalUs = (uint)intervalUs;
            _rate.RateAppLimited = rs.IsAppLimited;
        }
    }

    /// <summary>
    /// Models tcp_rate_check_app_limited() — net/ipv4/tcp_rate.c, run by every tcp_sendmsg_locked(): with less than an
    /// MSS unsent, cwnd not filled and every lost packet retransmitted, the flow is application-limited until
    /// tp->delivered passes delivered + in flight (at least 1). The send host's qdisc and NIC are not modelled, so
    /// sk_wmem_alloc_get() &lt; SKB_TRUESIZE(1) always holds (a transmitted clone is freed at once).
    /// </summary>
    void RateCheckAppLimited()
    {
        if (_snd.WriteSeq - _snd.Nxt < (uint)MssCache && PacketsInFlight < _ca.Cwnd && _ca.LostOut <= _ca.RetransOut)
        {
            uint limit = unchecked((uint)_delivered + (uint)PacketsInFlight);
            _rate.AppLimited = limit != 0 ? limit : 1;
        }
    }

    /// <summary>
    /// Models tcp_compute_delivery_rate() — net/ipv4/tcp.c: rate_delivered · mss_cache · USEC_PER_SEC / rate_interval_us
    /// in bytes per second (u64 division), 0 without a recorded sample.
    /// </summary>
    ulong DeliveryRate => _rate.RateDelivered != 0 && _rate.RateIntervalUs != 0
        ? (ulong)_rate.RateDelivered * (ulong)MssCache * 1_000_000UL / _rate.RateIntervalUs
        : 0;

    /// <summary>
    /// Models tcp_chrono_set() — include/net/tcp.h: the time since chrono_start (tcp_jiffies32, u32) is added to the
    /// condition being timed, and <paramref name="next"/> is timed from now.
    /// </summary>
    void ChronoSet(TcpChrono next)
    {
        uint now = Jiffies32;
        uint elapsed = unchecked(now - _chrono.Start);
        switch (ChronoType)
        {
            case TcpChrono.Busy: _chrono.Busy = unchecked(_chrono.Busy + elapsed); break;
            case TcpChrono.RwndLimited: _chrono.RwndLimited = unchecked(_chrono.RwndLimited + elapsed); break;
            case TcpChrono.SndbufLimited: _chrono.SndbufLimited = unchecked(_chrono.SndbufLimited + elapsed); break;
        }
        _chrono.Start = now;
        ChronoType = next;
    }

    /// <summary>Models tcp_chrono_start() — include/net/tcp.h: "the highest priority enum takes precedence".</summary>
    void ChronoStart(TcpChrono type)
    {
        if (type > ChronoType) ChronoSet(type);
    }

    /// <summary>
    /// Models tcp_chrono_stop() — net/ipv4/tcp_output.c: with the write and retransmission queues empty nothing is timed;
    /// else, if <paramref name="type"/> is the condition being timed, the socket is back to plain busy.
    /// </summary>
    void ChronoStop(TcpChrono type)
    {
        if (RtxAndWriteQueuesEmpty) ChronoSet(TcpChrono.Unspec);
        else if (type == ChronoType) ChronoSet(TcpChrono.Busy);
    }

    /// <summary>tcp_rtx_and_write_queues_empty(): nothing unacknowledged and nothing unsent (a queued FIN counts).</summary>
    bool RtxAndWriteQueuesEmpty => _rtx.Count == 0 && _snd.Nxt == _snd.WriteSeq;

    /// <summary>
    /// Models tcp_get_info_chrono_stats() — net/ipv4/tcp.c: each condition's jiffies, the running one's plus the time since
    /// chrono_start (u32), in microseconds (USEC_PER_SEC / HZ each); busy_time is their sum.
    /// </summary>
    (long BusyUs, long RwndLimitedUs, long SndbufLimitedUs) ChronoStatsUs()
    {
        uint running = unchecked(Jiffies32 - _chrono.Start);
        long busy = _chrono.Busy + (ChronoType == TcpChrono.Busy ? (long)running : 0);
        long rwnd = _chrono.RwndLimited + (ChronoType == TcpChrono.RwndLimited ? (long)running : 0);
        long sndbuf = _chrono.SndbufLimited + (ChronoType == TcpChrono.SndbufLimited ? (long)running : 0);
        long usPerJiffy = Jiffies.Tick.Ns / 1000;
        return ((busy + rwnd + sndbuf) * usPerJiffy, rwnd * usPerJiffy, sndbuf * usPerJiffy);
    }
}
