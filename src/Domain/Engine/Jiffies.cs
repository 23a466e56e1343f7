using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// The kernel's timer granularity. The reference machine runs CONFIG_HZ=250 (4 ms jiffies);
/// timers armed with sk_reset_timer() fire on a jiffy tick at least one tick after arming.
/// </summary>
public static class Jiffies
{
    public const int Hz = 250;
    public static readonly SimDuration Tick = SimDuration.FromMilliseconds(1000 / Hz);

    /// <summary>Models usecs_to_jiffies()/msecs_to_jiffies(): rounds a duration up to whole jiffies.</summary>
    public static long FromDuration(SimDuration d) => d.Ns <= 0 ? 0 : (d.Ns + Tick.Ns - 1) / Tick.Ns;

    public static SimDuration ToDuration(long jiffies) => new(jiffies * Tick.Ns);

    /// <summary>The current jiffies value (jiffies start at 0 with the simulation).</summary>
    public static long At(SimTime t) => t.Ns / Tick.Ns;

    /// <summary>
    /// When a timer armed now with <c>expires = jiffies + timeout</c> fires: on the tick of
    /// <c>expires</c>, never earlier than the next tick (the timer wheel runs on tick boundaries).
    /// </summary>
    public static SimTime Expiry(SimTime now, SimDuration timeout)
    {
        long ticks = Math.Max(1, FromDuration(timeout));
        return new SimTime((At(now) + ticks) * Tick.Ns);
    }
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
