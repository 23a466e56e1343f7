using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>The format's duration text, parsed by <see cref="SimDuration.TryParse"/> without its overflow.</summary>
internal static class DurationText
{
    /// <summary>
    /// SimDuration.TryParse multiplies a decimal by the unit and throws OverflowException past 7.9e28
    /// ("99999999999999999999h"). Above 16 integer digits any unit but ns is beyond long nanoseconds
    /// anyway, and below it no unit overflows a decimal, so such text is refused here first.
    /// </summary>
    public static bool TryParse(string text, out SimDuration duration)
    {
        duration = SimDuration.Zero;
        int integerDigits = text.TakeWhile(char.IsAsciiDigit).Count();
        if (integerDigits > 16 && !text.EndsWith("ns", StringComparison.Ordinal)) return false;
        return SimDuration.TryParse(text, out duration);
    }
}
