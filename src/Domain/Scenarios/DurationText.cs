using System.Globalization;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>The format's duration text ("60s", "1.5ms"), parsed by <see cref="SimDuration.TryParse"/> without its overflow.</summary>
public static class DurationText
{
    /// <summary>The syntax of a duration, as docs/scenario.schema.json writes it (ECMA-262).</summary>
    public const string Pattern = "^[0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)$";

    /// <summary>What a duration looks like, for error messages.</summary>
    public const string Syntax = "a decimal number and one of ns, us, ms, s, m, h (\"60s\", \"1.5ms\")";

    /// <summary>
    /// SimDuration.TryParse multiplies a decimal by the unit and throws OverflowException past 7.9e28
    /// ("99999999999999999999h"). Above 16 integer digits any unit but ns is beyond long nanoseconds
    /// anyway, and below it no unit overflows a decimal, so such text is refused here first.
    /// </summary>
    internal static bool TryParse(string text, out SimDuration duration)
    {
        duration = SimDuration.Zero;
        int integerDigits = text.TakeWhile(char.IsAsciiDigit).Count();
        if (integerDigits > 16 && !text.EndsWith("ns", StringComparison.Ordinal)) return false;
        return SimDuration.TryParse(text, out duration);
    }

    /// <summary>
    /// Text of a duration's syntax whose value is past the clock's maximum (<see cref="SimTime.MaxClock"/>, 100 years):
    /// "100000000h" — so that it is refused with that range, as the same size in integer nanoseconds is, and not as
    /// text that is no duration (it may be beyond long nanoseconds too, where <see cref="SimDuration.TryParse"/> fails).
    /// </summary>
    public static bool IsPastClock(string? text)
    {
        if (text is null || !ScenarioSyntax.Duration().IsMatch(text)) return false;
        int unitStart = text.AsSpan().IndexOfAnyInRange('a', 'z');
        var number = text[..unitStart];
        // More than 20 integer digits is past any unit's range; below that a decimal holds the number (28 digits).
        if (number.Split('.')[0].TrimStart('0').Length > 20) return true;
        var value = decimal.Parse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        return value > (decimal)SimTime.MaxClock.Ns / SimDuration.UnitNs(text[unitStart..]);
    }

    /// <summary>The message for a duration past the clock's maximum (<see cref="IsPastClock"/>).</summary>
    public static readonly string PastClock =
        $"at most {SimTime.MaxClock.Ns} ns (3155760000s, 100 years): the simulation's clock may not pass that time";

    /// <summary>
    /// Why <paramref name="text"/> is no duration, for a message after <c>"text" </c>: past the clock (<see cref="PastClock"/>),
    /// a finer step than the clock's 1 ns ("0.0000000001ns", "1.5ns"), or not the syntax — with the plain form of a number
    /// written with an exponent ("1e9s" → "1000000000s"), which the syntax does not take.
    /// </summary>
    public static string Refusal(string text)
    {
        if (IsPastClock(text)) return $"is past the clock's range: a duration is {PastClock}";
        if (ScenarioSyntax.Duration().IsMatch(text)) return "is not a whole number of nanoseconds: the clock's step is 1 ns (1.5ns is none, 1.5us is 1500 ns)";
        int unitStart = text.Length;
        while (unitStart > 0 && char.IsAsciiLetterLower(text[unitStart - 1])) unitStart--;
        if (SimDuration.UnitNs(text[unitStart..]) > 0 && text.AsSpan(0, unitStart).ContainsAny('e', 'E')
            && decimal.TryParse(text[..unitStart], NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var value)
            && value >= 0)
        {
            var plain = value.ToString("0.############################", CultureInfo.InvariantCulture) + text[unitStart..];
            return $"is not a duration: a duration has no exponent (\"{plain}\"{(IsPastClock(plain) ? $", which is past the clock's range: a duration is {PastClock}" : "")})";
        }
        return $"is not a duration: {Syntax}";
    }

    /// <summary>A whole duration as the scenario format writes one: the syntax of <see cref="Pattern"/>, within long nanoseconds.</summary>
    public static bool TryParseFormat(string? text, out SimDuration duration)
    {
        duration = SimDuration.Zero;
        return text is not null && ScenarioSyntax.Duration().IsMatch(text) && TryParse(text, out duration);
    }
}
