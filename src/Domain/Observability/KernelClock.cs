using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Domain.Observability;

/// <summary>
/// The time conversions the kernel's reporting code applies to jiffies (HZ = 250 on the
/// reference machine, USER_HZ = 100): kernel/time/time.c and include/linux/jiffies.h.
/// </summary>
internal static class KernelClock
{
    /// <summary>USER_HZ: the unit of /proc's clock_t fields.</summary>
    public const long UserHz = 100;

    /// <summary>A timer's `expires − jiffies`, clamped at zero as the *_delta_to_* helpers do.</summary>
    public static long JiffiesLeft(SimTime expires, SimTime now) => Math.Max(0, Jiffies.At(expires) - Jiffies.At(now));

    /// <summary>
    /// Models jiffies_to_clock_t(): HZ = 250's 4 ms tick is not a whole number of 10 ms USER_HZ
    /// ticks, so the kernel computes x · TICK_NSEC / (NSEC_PER_SEC / USER_HZ), rounding down.
    /// </summary>
    public static long ToClockTicks(long jiffies) => jiffies * Jiffies.Tick.Ns / (1_000_000_000L / UserHz);

    /// <summary>jiffies_to_clock_t() of a duration the kernel keeps in jiffies (icsk_rto, icsk_ack.ato).</summary>
    public static long ToClockTicks(SimDuration d) => ToClockTicks(Jiffies.FromDuration(d));

    /// <summary>Models jiffies_to_msecs(): (MSEC_PER_SEC / HZ) · j.</summary>
    public static long ToMilliseconds(long jiffies) => Jiffies.ToDuration(jiffies).TotalMilliseconds;
}
