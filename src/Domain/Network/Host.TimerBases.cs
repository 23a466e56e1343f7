using SimService.Domain.Engine;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Network;

public sealed partial class Host
{
    /// <summary>The jiffy (since the simulation began) in which the host's BASE_GLOBAL / BASE_LOCAL wheel last ran a timer; −1 before any.</summary>
    long _globalBaseRanAt = -1, _localBaseRanAt = -1;

    /// <summary>
    /// Which timer base a timer of <paramref name="kind"/> sits on: the request socket's rsk_timer is TIMER_PINNED
    /// (reqsk_queue_hash_req(): BASE_LOCAL); the socket's timers (timer_setup(…, 0): tcp_write_timer, tcp_delack_timer,
    /// tcp_keepalive_timer), the timewait socket's tw_timer and schedule_timeout()'s process_timeout are not pinned and
    /// go to the CPU's BASE_GLOBAL (get_timer_this_cpu_base()). Observed on Linux 6.18.44 with the timer_start
    /// tracepoint's flags.
    /// </summary>
    internal static bool OnLocalBase(TcpTimerKind kind) => kind == TcpTimerKind.SynAckRetransmit;

    /// <summary>
    /// The wheel ran a timer of <paramref name="kind"/> now: __run_timers() has set that base's clk to the bucket's
    /// jiffy + 1 before calling the callback (kernel/time/timer.c), and it stays there until jiffies passes it.
    /// </summary>
    internal void WheelRan(TcpTimerKind kind, SimTime now)
    {
        if (kind == TcpTimerKind.CompressedAck) return; // an hrtimer, not on the wheel
        if (OnLocalBase(kind)) _localBaseRanAt = Jiffies.At(now);
        else _globalBaseRanAt = Jiffies.At(now);
    }

    /// <summary>
    /// Whether the base a timer of <paramref name="kind"/> is armed on has its clk one ahead of jiffies now: its wheel
    /// ran timers in this jiffy (<see cref="WheelRan"/>), and __mod_timer()'s forward_timer_base() does not move a
    /// clk back (<see cref="Jiffies.WheelFires"/>). The engine has one CPU per host, so every timer armed on the host
    /// in that jiffy — the callback's own re-arm (observed on Linux 6.18.44: a 504-jiffy RTO re-armed by
    /// tcp_retransmit_timer() runs on the 8-jiffy level), and what the segments it sends over lo arm — sees it.
    /// </summary>
    internal bool WheelClockAhead(TcpTimerKind kind, SimTime now) =>
        (OnLocalBase(kind) ? _localBaseRanAt : _globalBaseRanAt) == Jiffies.At(now);
}
