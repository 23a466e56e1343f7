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
        for (int attempt = 0; attempt < 20; attempt++)
        {
            string text;
            try
            {
                text = File.ReadAllText("/proc/timer_list");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            var now = NowAt().Match(text);
            var tick = LastTick().Match(text);
            var jiffies = JiffiesLine().Match(text);
            if (!now.Success || !tick.Success || !jiffies.Success) return null;
            long nowNs = long.Parse(now.Groups[1].Value, CultureInfo.InvariantCulture);
            long phase = long.Parse(tick.Groups[1].Value, CultureInfo.InvariantCulture) % TickNs;
            long sinceTick = ((nowNs - phase) % TickNs + TickNs) % TickNs;
            // Too near a tick edge, jiffies may have been read just before or after it moved: read again.
            if (sinceTick < 300_000 || sinceTick > TickNs - 300_000)
            {
                Thread.Sleep(1);
                continue;
            }
            long edge = nowNs - sinceTick; // the tick at which jiffies took the value printed
            long j = long.Parse(jiffies.Groups[1].Value, CultureInfo.InvariantCulture);
            long steps = ((EngineInitialJiffies - j) % Granule + Granule) % Granule;
            long at = edge + steps * TickNs;
            while (at < Libc.MonotonicNs() + aheadNs) at += Granule * TickNs;
            return at;
        }
        return null;
    }

    [GeneratedRegex(@"^now at (\d+) nsecs", RegexOptions.Multiline)]
    private static partial Regex NowAt();

    [GeneratedRegex(@"\.last_tick\s*:\s*(\d+) nsecs")]
    private static partial Regex LastTick();

    [GeneratedRegex(@"^jiffies: (\d+)", RegexOptions.Multiline)]
    private static partial Regex JiffiesLine();
}
