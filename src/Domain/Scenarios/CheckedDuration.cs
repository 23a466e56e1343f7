using System.Text.RegularExpressions;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>How a checked duration matches: exactly, within a tolerance, or within a range.</summary>
public enum CheckedDurationKind
{
    /// <summary>"2s": exactly 2 s.</summary>
    Exact,
    /// <summary>"~2s": within ±5 % or ±2 ms of 2 s, whichever is larger.</summary>
    Approximately,
    /// <summary>"1.9s..2.3s": inclusive range.</summary>
    Range,
}

/// <summary>
/// A duration written where it is checked, never where it drives a step: "2s", "~2s" or
/// "1.9s..2.3s". <see cref="ToString"/> gives the text it was parsed from.
/// </summary>
public readonly partial record struct CheckedDuration
{
    /// <summary>The ±2 ms floor of "~" tolerances.</summary>
    public static readonly SimDuration ToleranceFloor = SimDuration.FromMilliseconds(2);

    CheckedDuration(CheckedDurationKind kind, SimDuration low, SimDuration high, string text)
    {
        Kind = kind;
        Low = low;
        High = high;
        Text = text;
    }

    /// <summary>Exact, approximate or range.</summary>
    public CheckedDurationKind Kind { get; }

    /// <summary>The nominal value (exact and "~"), or the low end of a range.</summary>
    public SimDuration Low { get; }

    /// <summary>Equal to <see cref="Low"/> except for a range, where it is the high end.</summary>
    public SimDuration High { get; }

    /// <summary>The text as written.</summary>
    public string Text { get; }

    /// <summary>True when <paramref name="actual"/> satisfies the check.</summary>
    public bool Matches(SimDuration actual) => Kind switch
    {
        CheckedDurationKind.Exact => actual == Low,
        CheckedDurationKind.Range => actual >= Low && actual <= High,
        _ => WithinTolerance(actual),
    };

    /// <summary>
    /// True when some duration within <paramref name="slack"/> of <paramref name="actual"/> satisfies the check: a
    /// measurement known only to ±slack (the real kernel's run, whose wake-ups are late by a few ms). A negative slack
    /// asks the opposite: that every duration within |slack| satisfies it.
    /// </summary>
    public bool Matches(SimDuration actual, SimDuration slack) => Kind switch
    {
        CheckedDurationKind.Exact => Int128.Abs((Int128)actual.Ns - Low.Ns) <= slack.Ns,
        CheckedDurationKind.Range => actual.Ns + (Int128)slack.Ns >= Low.Ns && actual.Ns - (Int128)slack.Ns <= High.Ns,
        _ => WithinTolerance(actual, slack),
    };

    bool WithinTolerance(SimDuration actual, SimDuration slack = default)
    {
        // |actual - nominal| - slack <= max(5% of nominal, 2 ms), in exact integer arithmetic.
        Int128 diff = Int128.Max(0, Int128.Abs((Int128)actual.Ns - Low.Ns) - slack.Ns);
        return diff <= ToleranceFloor.Ns || diff * 20 <= Low.Ns;
    }

    /// <summary>Parses the format's checked-duration syntax; false for anything else (including a range whose low end is above its high end).</summary>
    public static bool TryParse(string? text, out CheckedDuration value)
    {
        value = default;
        if (text is null || !Syntax().IsMatch(text)) return false;
        if (text.StartsWith('~'))
        {
            if (!DurationText.TryParse(text[1..], out var nominal)) return false;
            value = new(CheckedDurationKind.Approximately, nominal, nominal, text);
            return true;
        }
        int dots = text.IndexOf("..", StringComparison.Ordinal);
        if (dots < 0)
        {
            if (!DurationText.TryParse(text, out var exact)) return false;
            value = new(CheckedDurationKind.Exact, exact, exact, text);
            return true;
        }
        if (!DurationText.TryParse(text[..dots], out var low) || !DurationText.TryParse(text[(dots + 2)..], out var high)
            || low > high)
            return false;
        value = new(CheckedDurationKind.Range, low, high, text);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => Text ?? "";

    /// <summary>The schema's checkedDuration pattern (\z, not $, so that a trailing newline is refused as ECMA-262 does).</summary>
    [GeneratedRegex(@"^(~?[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)|[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)\.\.[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))\z")]
    private static partial Regex Syntax();
}
