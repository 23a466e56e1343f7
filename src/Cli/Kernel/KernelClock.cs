using System.Globalization;
using System.Text.RegularExpressions;

namespace SimService.Cli.Kernel;

/// <summary>
/// Lines the script's clock up with the kernel's jiffies as the engine's is: the engine boots every host at virtual
/// time 0 with jiffies = INITIAL_JIFFIES, so its ticks fall on whole 4 ms of script time and its timer wheel's
/// buckets (granules of 1, 8, 64, 512 jiffies on levels 0–3, rounded on the absolute jiffies count) start where
/// the real kernel's would if jiffies read INITIAL_JIFFIES modulo 512 at that instant. A run starts its script on
/// such a tick, so a timer due at jiffy n of the script fires on the same tick on both (up to 2.048 s of waiting).
/// </summary>
internal static partial class KernelClock
{
    /// <summary>
    /// How far the count the timer wheel runs on is ahead of the jiffies /proc/timer_list prints: 0, measured on 6.18.44
    /// with the timer_start / timer_expire_entry tracepoints (their <c>now</c> is jiffies, their timestamps the monotonic
    /// clock: the same C as /proc/timer_list's jiffies − now / 4 ms). It was 1 here while a reading late in its period
    /// could print the next period's jiffies; that shifted every level-1 bucket of the kernel one jiffy after the
    /// engine's (the SYN RTO at 5.028 s for 5.024 s, SO_RCVTIMEO 500 ms at 516 ms for 512 ms).
    /// </summary>
    const long WheelLead = 0;

    /// <summary>One jiffy at CONFIG_HZ=250, the judged kernel's.</summary>
    public const long TickNs = 4_000_000;

    /// <summary>INITIAL_JIFFIES of a 64-bit kernel, where the engine's jiffies start.</summary>
    const long EngineInitialJiffies = 0x1_0000_0000L - 300L * 250;

    /// <summary>The coarsest wheel granule lined up: level 3, 512 jiffies (timers of 16 s to 129 s).</summary>
    const long Granule = 512;

    /// <summary>
    /// The monotonic time of the first tick at least <paramref name="aheadNs"/> from now at which jiffies ≡
    /// INITIAL_JIFFIES (mod 512); null when /proc/timer_list cannot be read (the script then starts unaligned).
    /// </summary>
    public static long? NextAlignedTick(long aheadNs)
    {
        // jiffies = C + monotonic / 4 ms, ticks on the 4 ms grid (.last_tick); C from readings made inside one period.
        if (LateReading() is not { } c) return null;
        long nowTicks = Libc.MonotonicNs() / TickNs;
        long steps = ((EngineInitialJiffies - WheelLead - (c + nowTicks)) % Granule + Granule) % Granule;
        long at = (nowTicks + steps) * TickNs;
        while (at < Libc.MonotonicNs() + aheadNs) at += Granule * TickNs;
        return at;
    }

    /// <summary>
    /// jiffies − monotonic ticks, from two readings of /proc/timer_list that agree, each read whole within one tick period
    /// and begun at least 1 ms into it (null if none come or the tick grid is not 4 ms). The file prints "now at" first
    /// and each CPU's "jiffies:" 6 KB later, in a later read(): a reading that crosses into the next period prints that
    /// period's count; one begun right at the tick may still show the previous count (the tick handler runs a little
    /// after its grid instant).
    /// </summary>
    static long? LateReading()
    {
        long? agreed = null;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            string text;
            long before = Libc.MonotonicNs();
            try
            {
                text = File.ReadAllText("/proc/timer_list");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            long after = Libc.MonotonicNs();
            var now = NowAt().Match(text);
            var tick = LastTick().Match(text);
            var jiffies = JiffiesLine().Match(text);
            if (!now.Success || !tick.Success || !jiffies.Success) return null;
            if (long.Parse(tick.Groups[1].Value, CultureInfo.InvariantCulture) % TickNs != 0) return null;
            long nowNs = long.Parse(now.Groups[1].Value, CultureInfo.InvariantCulture);
            if (before / TickNs == after / TickNs && before % TickNs >= 1_000_000)
            {
                long c = long.Parse(jiffies.Groups[1].Value, CultureInfo.InvariantCulture) - nowNs / TickNs;
                if (agreed == c) return c;
                agreed = c;
            }
            Thread.Sleep(1);
        }
        return null;
    }

    /// <summary>
    /// How many jiffies the kernel's count is ahead of the engine's for a script that started at
    /// <paramref name="startNs"/> (0 when lined up): jiffies now − INITIAL_JIFFIES − whole ticks since the start,
    /// modulo the granule; null when it cannot be read.
    /// </summary>
    public static long? Offset(long startNs) =>
        LateReading() is { } c ? ((c + WheelLead + startNs / TickNs - EngineInitialJiffies) % Granule + Granule) % Granule : null;

    [GeneratedRegex(@"^now at (\d+) nsecs", RegexOptions.Multiline)]
    private static partial Regex NowAt();

    [GeneratedRegex(@"\.last_tick\s*:\s*(\d+) nsecs")]
    private static partial Regex LastTick();

    [GeneratedRegex(@"^jiffies: (\d+)", RegexOptions.Multiline)]
    private static partial Regex JiffiesLine();
}
