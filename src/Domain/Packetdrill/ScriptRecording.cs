using System.Globalization;
using System.Text;

namespace SimService.Domain.Packetdrill;

/// <summary>What a record-mode run saw: a segment the host under test sent, a system call's result, a tcp_info value.</summary>
public enum RecordedKind
{
    Packet,
    Call,
    Info,
}

/// <summary>
/// One thing a record-mode run saw, in script space: <see cref="Text"/> is what must be equal on the engine and on the
/// kernel (a segment's flags, seq:end(len), ack, win and options with the TS val written <c>*</c>; a call with its
/// result and errno; a tcp_info field's value); the time and the TS val (ms since the connection's first outbound TS
/// val) are compared within the tolerance.
/// </summary>
/// <param name="Line">The script line of a call or tcp_info block; 0 for a segment.</param>
public sealed record RecordedEvent(RecordedKind Kind, long AtNs, int Line, string Text, long? TsVal = null)
{
    /// <summary>"0.010123 > S. 0:0(0) ack 1 win 65535 &lt;mss 1460,sackOK,TS val 0 ecr 700,nop,wscale 8&gt;" or "0.020000 line 9: read(4, ..., 1000) = 10".</summary>
    public override string ToString()
    {
        string at = (AtNs / 1e9).ToString("F6", CultureInfo.InvariantCulture);
        string text = TsVal is { } ts ? Text.Replace("TS val *", $"TS val {ts}", StringComparison.Ordinal) : Text;
        return Kind == RecordedKind.Packet ? $"{at} > {text}" : $"{at} line {Line}: {text}";
    }
}

/// <summary>
/// Record mode's notebook, shared by the engine runner and <c>simservice kernel</c>'s: a script of inbound segments and
/// calls only runs, and every outbound segment is written down (sequence numbers relative to the ISN, as the runners
/// print an actual packet) with each call's result and each %{ }% block's tcp_info values. TS vals are written relative
/// to the first outbound one; script TS val 0 stands for the host's TS clock at script time 0
/// (<see cref="LiveTimestamps.RecordClock"/>): an inbound TS ecr of N (with --tcp_ts_ecr_scaled semantics) is that
/// clock + N, the TS val of a segment sent at N ms, so a generator can write ecrs before either side has run.
/// </summary>
public sealed class ScriptRecorder
{
    readonly List<RecordedEvent> _events = [];
    uint? _firstTsVal;

    public IReadOnlyList<RecordedEvent> Events => _events;

    /// <summary>
    /// An outbound segment: letters as packetdrill prints them, seq relative to the local ISN, the live options. An RST
    /// with sequence number 0 is written "abs 0": tcp_v4_send_reset() leaves seq 0 when it answers a segment without
    /// ACK, which is no point of the connection's sequence space (relative to the ISN it would print a random number).
    /// </summary>
    public void Segment(long atNs, string flags, uint seq, uint isn, uint? ack, int length, uint window, IReadOnlyList<ScriptOption> options, LiveTimestamps timestamps)
    {
        long? tsVal = null;
        var sb = new StringBuilder();
        uint relative = unchecked(seq - isn);
        sb.Append(flags.Length == 0 ? "-" : flags).Append(seq == 0 && flags.Contains('R', StringComparison.Ordinal)
            ? $" abs 0:{length}({length})"
            : string.Create(CultureInfo.InvariantCulture, $" {relative}:{unchecked(relative + (uint)length)}({length})"));
        if (ack is { } a) sb.Append(CultureInfo.InvariantCulture, $" ack {a}");
        sb.Append(CultureInfo.InvariantCulture, $" win {window}");
        var parts = new List<string>();
        foreach (var o in options)
        {
            if (o is TimestampOption ts)
            {
                _firstTsVal ??= ts.Val;
                timestamps.RecordClock(atNs, ts.Val);
                tsVal = unchecked((int)(ts.Val - _firstTsVal.Value));
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"TS val * ecr {ts.Ecr}"));
            }
            else parts.Add(o.ToString()!);
        }
        if (parts.Count > 0) sb.Append(" <").Append(string.Join(",", parts)).Append('>');
        _events.Add(new RecordedEvent(RecordedKind.Packet, atNs, 0, sb.ToString(), tsVal));
    }

    /// <summary>A call as made at its script time: "read(4, ..., 1000) = -1 EAGAIN", with what it wrote back (an optval, revents) after it.</summary>
    public void Call(long atNs, SyscallEvent s, long result, string? errno, string? value = null) =>
        _events.Add(new RecordedEvent(RecordedKind.Call, atNs, s.At.Line,
            $"{s.Name}({string.Join(", ", s.Arguments)}) = {result}{(errno is null ? "" : " " + errno)}{(value is null ? "" : " -> " + value)}"));

    /// <summary>A tcp_info field's value (or "none": the socket is gone) at a %{ }% block's time.</summary>
    public void Info(long atNs, int line, string field, string value) =>
        _events.Add(new RecordedEvent(RecordedKind.Info, atNs, line, $"{field} = {value}"));
}

/// <summary>How two recordings of one script differ: not at all, in times (and TS vals) only, or in what happened.</summary>
public enum RecordingVerdict
{
    Same,
    TimingOnly,
    Different,
}

/// <summary>A pair of events at the same index of one kind that differ (one may be missing); <see cref="TimingOnly"/> when only the time or TS val does.</summary>
public sealed record RecordingDifference(RecordedKind Kind, int Index, RecordedEvent? Engine, RecordedEvent? Kernel, bool TimingOnly)
{
    public override string ToString() =>
        $"{(TimingOnly ? "timing" : "differs")}: {Kind.ToString().ToLowerInvariant()} #{Index + 1}\n  engine: {Engine?.ToString() ?? "(none)"}\n  kernel: {Kernel?.ToString() ?? "(none)"}";
}

/// <summary>The comparison of an engine recording with a kernel one; <see cref="First"/> is the earliest real difference, else the first timing one.</summary>
public sealed record RecordingComparison(RecordingVerdict Verdict, IReadOnlyList<RecordingDifference> Differences)
{
    public RecordingDifference? First =>
        Differences.Where(d => !d.TimingOnly).OrderBy(d => Math.Min(d.Engine?.AtNs ?? long.MaxValue, d.Kernel?.AtNs ?? long.MaxValue)).FirstOrDefault()
        ?? Differences.FirstOrDefault();

    /// <summary>One jiffy at HZ=250: the kernel runs a timer bucket on its tick or, now and then, one tick later.</summary>
    public const long OneTickNs = 4_000_000;

    /// <summary>
    /// Segments, calls and tcp_info values compared kind by kind in order (a call's time is its script time, a segment's
    /// when it was sent): the texts must be equal; times within <paramref name="toleranceNs"/>, TS vals within the
    /// tolerance in ms plus one tick. A time off by more than the tolerance but at most one more tick is a timing
    /// difference (the runner's or the timer wheel's lateness); further off it is a real one (another timer).
    /// Per kind, comparing stops at the first real difference (what follows it follows from it).
    /// </summary>
    public static RecordingComparison Compare(IReadOnlyList<RecordedEvent> engine, IReadOnlyList<RecordedEvent> kernel, long toleranceNs)
    {
        var differences = new List<RecordingDifference>();
        long tsTolerance = toleranceNs / 1_000_000 + 1;
        foreach (var kind in Enum.GetValues<RecordedKind>())
        {
            var e = engine.Where(x => x.Kind == kind).ToList();
            var k = kernel.Where(x => x.Kind == kind).ToList();
            for (int i = 0; i < Math.Max(e.Count, k.Count); i++)
            {
                var (a, b) = (i < e.Count ? e[i] : null, i < k.Count ? k[i] : null);
                if (a is null || b is null || a.Text != b.Text)
                {
                    differences.Add(new RecordingDifference(kind, i, a, b, false));
                    break;
                }
                long off = Math.Abs(a.AtNs - b.AtNs);
                bool late = off > toleranceNs || a.TsVal is { } ta && b.TsVal is { } tb && Math.Abs(ta - tb) > tsTolerance;
                if (!late) continue;
                bool timing = off <= toleranceNs + OneTickNs;
                differences.Add(new RecordingDifference(kind, i, a, b, timing));
                if (!timing) break;
            }
        }
        var verdict = differences.Count == 0 ? RecordingVerdict.Same
            : differences.All(d => d.TimingOnly) ? RecordingVerdict.TimingOnly : RecordingVerdict.Different;
        return new RecordingComparison(verdict, differences);
    }
}
