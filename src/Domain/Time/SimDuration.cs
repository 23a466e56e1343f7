using System.Globalization;

namespace SimService.Domain.Time;

/// <summary>A span of virtual time in integer nanoseconds.</summary>
public readonly record struct SimDuration(long Ns) : IComparable<SimDuration>
{
    public static readonly SimDuration Zero = new(0);

    public static SimDuration FromNanoseconds(long ns) => new(ns);
    public static SimDuration FromMicroseconds(long us) => new(SaturatingMultiply(us, 1_000));
    public static SimDuration FromMilliseconds(long ms) => new(SaturatingMultiply(ms, 1_000_000));
    public static SimDuration FromSeconds(long s) => new(SaturatingMultiply(s, 1_000_000_000));

    public long TotalMilliseconds => Ns / 1_000_000;
    public double TotalSecondsDouble => Ns / 1e9;

    // Arithmetic saturates at long.MaxValue/MinValue instead of overflowing: no input can make time wrap or throw.
    public static SimDuration operator +(SimDuration a, SimDuration b) => new(SaturatingAdd(a.Ns, b.Ns));
    public static SimDuration operator -(SimDuration a, SimDuration b) => new(SaturatingAdd(a.Ns, SaturatingNegate(b.Ns)));
    public static SimDuration operator *(SimDuration a, long k) => new(SaturatingMultiply(a.Ns, k));

    /// <summary>a + b, clamped to the range of <see cref="long"/>.</summary>
    public static long SaturatingAdd(long a, long b)
    {
        long sum = unchecked(a + b);
        // Overflow happened when both operands have the sign the sum lacks.
        return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? long.MinValue : long.MaxValue) : sum;
    }

    /// <summary>-a, with -MinValue clamped to MaxValue.</summary>
    public static long SaturatingNegate(long a) => a == long.MinValue ? long.MaxValue : -a;

    /// <summary>a * k, clamped to the range of <see cref="long"/>.</summary>
    public static long SaturatingMultiply(long a, long k) => long.CreateSaturating((Int128)a * k);
    public static bool operator <(SimDuration a, SimDuration b) => a.Ns < b.Ns;
    public static bool operator >(SimDuration a, SimDuration b) => a.Ns > b.Ns;
    public static bool operator <=(SimDuration a, SimDuration b) => a.Ns <= b.Ns;
    public static bool operator >=(SimDuration a, SimDuration b) => a.Ns >= b.Ns;
    public static SimDuration Min(SimDuration a, SimDuration b) => a.Ns <= b.Ns ? a : b;
    public static SimDuration Max(SimDuration a, SimDuration b) => a.Ns >= b.Ns ? a : b;

    public int CompareTo(SimDuration other) => Ns.CompareTo(other.Ns);

    /// <summary>
    /// Parses the scenario format's duration: a decimal number followed by ns, us, ms, s, m or h
    /// ("60s", "1.5s", "200ms"). Fractions below a nanosecond are rejected, never rounded.
    /// </summary>
    public static bool TryParse(string? text, out SimDuration duration)
    {
        duration = Zero;
        if (string.IsNullOrEmpty(text)) return false;
        int unitStart = text.Length;
        while (unitStart > 0 && char.IsAsciiLetterLower(text[unitStart - 1])) unitStart--;
        var number = text[..unitStart];
        long scale = UnitNs(text[unitStart..]);
        if (scale == 0 || number.Length == 0) return false;
        foreach (var c in number)
            if (!char.IsAsciiDigit(c) && c != '.') return false;
        if (number[0] == '.' || number[^1] == '.' || number.Count(c => c == '.') > 1) return false;
        if (number.Length > 28
            || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || value > long.MaxValue / (decimal)scale + 1)
            return false;
        decimal ns = value * scale;
        if (ns != decimal.Truncate(ns) || ns > long.MaxValue) return false;
        duration = new SimDuration((long)ns);
        return true;
    }

    /// <summary>Nanoseconds in one of the format's units (ns, us, ms, s, m, h); 0 for any other text.</summary>
    internal static long UnitNs(string unit) => unit switch
    {
        "ns" => 1L,
        "us" => 1_000L,
        "ms" => 1_000_000L,
        "s" => 1_000_000_000L,
        "m" => 60_000_000_000L,
        "h" => 3_600_000_000_000L,
        _ => 0L,
    };

    /// <summary>Shortest exact text for a nanosecond count, e.g. 1500000000 → "1.5s", 200000000 → "200ms".</summary>
    public static string Format(long ns)
    {
        if (ns == 0) return "0s";
        string sign = ns < 0 ? "-" : "";
        decimal v = Math.Abs((decimal)ns);
        (decimal div, string unit)[] units = [(1_000_000_000m, "s"), (1_000_000m, "ms"), (1_000m, "us"), (1m, "ns")];
        foreach (var (div, unit) in units)
        {
            if (v >= div || unit == "ns")
                return sign + (v / div).ToString("0.#########", CultureInfo.InvariantCulture) + unit;
        }
        return sign + v.ToString(CultureInfo.InvariantCulture) + "ns";
    }

    public override string ToString() => Format(Ns);
}
