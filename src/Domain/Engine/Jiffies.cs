using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// The kernel's timer clock and timer wheel. The reference machine runs CONFIG_HZ=250 (4 ms
/// jiffies). Every simulated host boots at virtual time 0 with jiffies = INITIAL_JIFFIES, as Linux
/// does (so all hosts share one absolute jiffies count); the wheel's bucket boundaries are
/// aligned on that absolute count, which makes when a long timer fires part of the simulation's
/// fixed, deterministic state. Pacing (tcp_pace_kick) would be an hrtimer; the engine does not pace.
/// </summary>
public static class Jiffies
{
    public const int Hz = 250;
    public static readonly SimDuration Tick = SimDuration.FromMilliseconds(1000 / Hz);

    /// <summary>INITIAL_JIFFIES on a 64-bit kernel: (unsigned long)(unsigned int)(-300 * HZ), five minutes before the 32-bit wrap.</summary>
    public const long Initial = 0x1_0000_0000L - 300L * Hz;

    /// <summary>Models usecs_to_jiffies()/msecs_to_jiffies(): rounds a duration up to whole jiffies.</summary>
    public static long FromDuration(SimDuration d) => d.Ns <= 0 ? 0 : (d.Ns + Tick.Ns - 1) / Tick.Ns;

    public static SimDuration ToDuration(long jiffies) => new(jiffies * Tick.Ns);

    /// <summary>Jiffies elapsed since the simulation (every host's boot) began.</summary>
    public static long At(SimTime t) => t.Ns / Tick.Ns;

    /// <summary>The kernel's jiffies value at <paramref name="t"/>: INITIAL_JIFFIES + ticks since boot.</summary>
    public static long Absolute(SimTime t) => Initial + At(t);

    /// <summary>
    /// The timer_list's <c>expires = jiffies + timeout</c> (sk_reset_timer, mod_timer), as the virtual
    /// time of that tick: what ss and /proc/net/tcp count down to. The timer fires later, at
    /// <see cref="WheelFires"/>.
    /// </summary>
    public static SimTime Expiry(SimTime now, SimDuration timeout) => new((At(now) + FromDuration(timeout)) * Tick.Ns);

    // kernel/time/timer.c, HZ > 100: LVL_DEPTH 9 levels of 64 buckets, each 8 (1 << LVL_CLK_SHIFT) times coarser.
    const int LvlClkShift = 3;
    const int LvlDepth = 9;
    static int LvlShift(int lvl) => lvl * LvlClkShift;
    static long LvlStart(int n) => 63L << ((n - 1) * LvlClkShift);
    static readonly long WheelTimeoutCutoff = LvlStart(LvlDepth);
    static readonly long WheelTimeoutMax = WheelTimeoutCutoff - (1L << LvlShift(LvlDepth - 1));

    /// <summary>
    /// Models calc_wheel_index() + calc_index() — kernel/time/timer.c (since 4.8): the level is chosen by
    /// <c>delta = expires − clk</c> (below LVL_START(1) = 63 jiffies level 0, below 504 level 1, below
    /// 4032 level 2, below 32256 level 3, …), and the bucket expires at the next multiple of that
    /// level's granularity (1, 8, 64, 512 … jiffies) strictly after <paramref name="expires"/>:
    /// <c>((expires >> LVL_SHIFT(lvl)) + 1) << LVL_SHIFT(lvl)</c>. A timer never fires early, and long
    /// ones fire up to one granule late. Both arguments are absolute jiffies.
    /// </summary>
    public static long BucketExpiry(long expires, long clk)
    {
        long delta = expires - clk;
        if (delta < 0) return clk;
        int lvl = Level(delta);
        if (lvl == LvlDepth - 1 && delta >= WheelTimeoutCutoff) expires = clk + WheelTimeoutMax;
        int shift = LvlShift(lvl);
        return ((expires >> shift) + 1) << shift;
    }

    /// <summary>
    /// The granularity (jiffies: 1, 8, 64 …) of the wheel level a timer <paramref name="delta"/> jiffies away is queued on:
    /// how far calc_index() may round its expiry up, so how far a start one jiffy later may move it.
    /// </summary>
    public static long Granularity(long delta) => 1L << LvlShift(Level(Math.Max(0, delta)));

    /// <summary>calc_wheel_index()'s level for <c>delta = expires − clk</c> (0 for a timer already due).</summary>
    static int Level(long delta)
    {
        int lvl = 0;
        while (lvl < LvlDepth - 1 && delta >= LvlStart(lvl + 1)) lvl++;
        return lvl;
    }

    /// <summary>
    /// Where a timer armed at <paramref name="now"/> for <paramref name="expires"/> runs among the wheel timers due at
    /// the same jiffy (<see cref="EventQueue"/>; linux-6 only, 0 elsewhere: not ordered). run_timer_softirq() runs the
    /// CPU's bases in order — BASE_LOCAL (TIMER_PINNED timers, <paramref name="pinned"/>), then BASE_GLOBAL — and
    /// __run_timers() runs the buckets it collected for one clk from the highest level down
    /// (<c>while (levels--) expire_timers(base, heads + levels)</c>): a smaller rank runs first.
    /// </summary>
    public static byte WheelRank(SimTime now, SimTime expires, KernelProfile profile, bool pinned, bool baseClockAhead)
    {
        if (profile != KernelProfile.Linux6) return 0;
        long delta = Absolute(expires) - Absolute(now) - (baseClockAhead ? 1 : 0);
        return (byte)(1 + (pinned ? 0 : LvlDepth) + (LvlDepth - 1 - Level(Math.Max(delta, 0))));
    }

    /// <summary>
    /// Models apply_slack() — kernel/timer.c (linux-4.4), which mod_timer() applies before queueing:
    /// a timer at least 256 jiffies away (slack −1, the default of init_timer()) may fire up to
    /// delta/256 jiffies late, and the expiry is moved to the latest value in that range whose
    /// low bits, below the highest bit where <c>expires</c> and <c>expires + delta/256</c> differ,
    /// are zero. Both arguments are absolute jiffies.
    /// </summary>
    public static long ApplySlack(long expires, long jiffies)
    {
        long delta = expires - jiffies;
        if (delta < 256) return expires;
        long limit = expires + delta / 256;
        long mask = expires ^ limit;
        if (mask == 0) return expires;
        int bit = 63 - (int)long.LeadingZeroCount(mask); // find_last_bit(): the highest set bit
        return limit & ~((1L << bit) - 1);
    }

    /// <summary>
    /// When the timer wheel runs a timer armed at <paramref name="now"/> with the timer_list expiry
    /// <paramref name="expires"/> (a tick from <see cref="Expiry"/>) under <paramref name="profile"/>.
    /// linux-6: the hierarchical wheel of 4.8+ (<see cref="BucketExpiry"/>), with the base clock at
    /// the current jiffy (forward_timer_base() in __mod_timer()) — or one ahead of it when
    /// <paramref name="baseClockAhead"/>: __run_timers() sets base->clk one past the bucket it
    /// collects before it calls the callbacks ("While executing timers, base->clk is set 1 offset
    /// ahead of jiffies"), and __forward_timer_base() never moves it back, so a timer armed on that
    /// base in the rest of the jiffy is placed with <c>delta = expires − (jiffies + 1)</c>: a delta of
    /// exactly LVL_START(n) (63, 504, 4032 … jiffies) lands one level finer. __run_timers() runs the
    /// bucket on the tick its expiry comes. linux-4.4: the cascading wheel (tv1–tv5,
    /// internal_add_timer() and cascade()), which runs a timer on the tick of its expiry — and one
    /// already due on the next tick; its level choice does not change when the timer runs.
    /// </summary>
    public static SimTime WheelFires(SimTime now, SimTime expires, KernelProfile profile, bool baseClockAhead = false)
    {
        if (profile == KernelProfile.Linux44)
            return new SimTime(Math.Max(At(expires), At(now) + 1) * Tick.Ns);
        long clk = Absolute(now) + (baseClockAhead ? 1 : 0);
        long bucket = BucketExpiry(Absolute(expires), clk);
        return new SimTime((bucket - Initial) * Tick.Ns);
    }

    /// <summary>
    /// linux-4.4's mod_timer() → apply_slack() on a timer_list expiry tick: what timer->expires
    /// becomes (and so when the cascading wheel runs it).
    /// </summary>
    public static SimTime WithSlack(SimTime now, SimTime expires) =>
        new((ApplySlack(Absolute(expires), Absolute(now)) - Initial) * Tick.Ns);
}

/// <summary>The kernel's seconds clocks, as the TCP code reads them.</summary>
public static class KernelSeconds
{
    /// <summary>
    /// Models ktime_get_seconds() (linux-6: ts_recent_stamp, tw_ts_recent_stamp) and get_seconds()
    /// (linux-4.4): whole seconds, counted from 1 at the simulation's start so that a stamp of 0
    /// keeps its kernel meaning, "no timestamp seen".
    /// </summary>
    public static long At(SimTime t) => t.Ns / 1_000_000_000 + 1;
}

/// <summary>The TCP timestamp clock.</summary>
public static class TcpTimestamp
{
    /// <summary>
    /// The TSval a connection puts on a segment at <paramref name="t"/>: tcp_time_stamp_ts() + tp->tsoffset —
    /// milliseconds (tcp_clock_ms()) on linux-6, jiffies (tcp_time_stamp) on linux-4.4 — wrapping at 2^32.
    /// </summary>
    public static uint At(KernelProfile profile, SimTime t, uint tsOffset) => profile == KernelProfile.Linux6
        ? unchecked((uint)t.Ms + tsOffset)
        : unchecked((uint)Jiffies.At(t) + tsOffset);

    /// <summary>
    /// Models tcp_paws_check() — include/net/tcp.h: the peer's TSval is acceptable when it is no more than
    /// <paramref name="pawsWin"/> behind ts_recent, when ts_recent is older than TCP_PAWS_WRAP (INT_MAX / USEC_PER_SEC
    /// = 2147 s; linux-4.4: TCP_PAWS_24DAYS), or when ts_recent is 0 ("Some OSes send SYN and SYNACK messages with
    /// tsval=0 tsecr=0 ... Ignore 0 value").
    /// </summary>
    public static bool PawsCheck(KernelProfile profile, uint tsRecent, long tsRecentStampSec, uint tsVal, long nowSec, int pawsWin) =>
        unchecked((int)(tsRecent - tsVal)) <= pawsWin
        || nowSec >= tsRecentStampSec + (profile == KernelProfile.Linux6 ? PawsWrapSec : Paws24DaysSec)
        || tsRecent == 0;

    /// <summary>TCP_PAWS_WRAP (seconds), 6.7+.</summary>
    const long PawsWrapSec = int.MaxValue / 1_000_000;
    /// <summary>TCP_PAWS_24DAYS (seconds), before 6.7.</summary>
    const long Paws24DaysSec = 60 * 60 * 24 * 24;
}
