using System.Globalization;

namespace SimService.Cli.Kernel;

/// <summary>
/// How late a scenario run on the kernel carried out its steps: when each step began and, for a call, when its worker
/// began the call and when the step was done (the call returned or slept in the kernel), against the step's time; and
/// how late each link emulator wrote a packet after its delay. For <c>kernel --verbose</c>: one line per step, then a summary.
/// </summary>
internal sealed class RunTiming
{
    readonly List<(long At, string Label, long Began, long? CallBegan, long Done)> _steps = [];

    /// <summary>A step at <paramref name="at"/> that began at <paramref name="began"/>, its call at <paramref name="callBegan"/>, done at <paramref name="done"/> (ns since time 0).</summary>
    public void Step(long at, string label, long began, long? callBegan, long done) => _steps.Add((at, label, began, callBegan, done));

    /// <summary>How many garbage collections ran while the steps ran (each stops every thread of the run).</summary>
    public int Collections { get; set; }

    /// <summary>
    /// How many methods the JIT compiled while the steps ran: each on the thread that first called it (a worker's call
    /// waits for it), or, with tiered compilation on, again optimized on a background thread (see KernelCommand.ChildStart).
    /// </summary>
    public long Compiled { get; set; }

    /// <summary>The latest step's lateness and its time.</summary>
    public (long Late, long At) Latest => _steps.Count == 0 ? (0, 0) : _steps.Select(s => (s.Began - s.At, s.At)).Max();

    /// <summary>
    /// How late the run was by <paramref name="at"/> (ns since time 0): the latest lateness of a step (or reading) due by
    /// then, 0 if none was late. What those steps did happened that much later on the machine than on the engine.
    /// </summary>
    public long LateBy(long at)
    {
        long late = 0;
        foreach (var s in _steps)
            if (s.At <= at) late = Math.Max(late, s.Began - s.At);
        return late;
    }

    /// <summary>The lines: each step, then a summary of the steps', the calls' and the links' lateness.</summary>
    public List<string> Lines(IEnumerable<(string Link, IReadOnlyList<long> Late)> links)
    {
        var lines = _steps.Select(s => $"{Secs(s.At)} {s.Label}: began {Us(s.Began - s.At)}"
            + (s.CallBegan is { } c ? $", call began {Us(c - s.At)}" : "") + $", done {Us(s.Done - s.At)}").ToList();
        lines.Add($"steps began {Spread(_steps.Select(s => s.Began - s.At))} after their times");
        lines.Add($"calls began {Spread(_steps.Where(s => s.CallBegan is not null).Select(s => s.CallBegan!.Value - s.At))} after their times");
        lines.Add($"{Collections} garbage collections while the steps ran");
        lines.Add($"{Compiled} methods compiled while the steps ran");
        foreach (var (link, late) in links) lines.Add($"link {link} wrote packets {Spread(late)} after their delay");
        return lines;
    }

    /// <summary>"12: median 40 µs, 90 % 120 µs, max 300 µs".</summary>
    internal static string Spread(IEnumerable<long> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0) return "0";
        long At(double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];
        return $"{sorted.Count}: median {Us(At(0.5))}, 90 % {Us(At(0.9))}, max {Us(sorted[^1])}";
    }

    static string Us(long ns) => $"{(ns / 1000).ToString(CultureInfo.InvariantCulture)} µs";

    static string Secs(long ns) => (ns / 1e9).ToString("0.000000", CultureInfo.InvariantCulture);
}
