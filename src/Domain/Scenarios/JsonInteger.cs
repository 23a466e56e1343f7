using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SimService.Domain.Scenarios;

/// <summary>
/// The one rule for a JSON number in an integer field, shared by the scenario reader and the API's request bodies. As JSON
/// Schema (draft 6 on, 2020-12 too) defines "integer", any number whose fractional part is zero is one, however it is
/// spelled: 1, 1.0, 1e3, 1.5e1 and -0 are; 1.5 and 1e-400 are not. The value is decided from the text exactly (no
/// rounding through double or decimal), so an integral number past the field's range — 1e400, 9223372036854775808 — is
/// out of range, never "not an integer", and 1.0000000000000000000000000001 is not an integer.
/// </summary>
public static class JsonInteger
{
    /// <summary>The most decimal digits a 64-bit integer has (9223372036854775807).</summary>
    const int MaxDigits = 19;

    /// <summary>
    /// Reads the JSON number <paramref name="utf8"/> (its text as written, valid JSON number syntax) as an integer within
    /// [<paramref name="min"/>, <paramref name="max"/>]: null, or why not (the message both the scenario reader and the
    /// API give, naming the number as it was written).
    /// </summary>
    public static string? Read(ReadOnlySpan<byte> utf8, long min, long max, out long value)
    {
        var kind = Clamped(utf8, out long v);
        value = 0;
        if (kind == Kind.Fractional) return NotAnInteger(utf8);
        if (kind == Kind.Integral && v >= min && v <= max)
        {
            value = v;
            return null;
        }
        return Outside(Encoding.UTF8.GetString(utf8), min, max);
    }

    /// <summary>"70000 is outside 0..65535": an integral number past a range, named as it was written.</summary>
    public static string Outside(string number, IFormattable min, IFormattable max) =>
        $"{number} is outside {min.ToString(null, CultureInfo.InvariantCulture)}..{max.ToString(null, CultureInfo.InvariantCulture)}";

    /// <summary><see cref="Read(ReadOnlySpan{byte}, long, long, out long)"/> of a parsed value (not a number: the kind it is).</summary>
    public static string? Read(JsonElement element, long min, long max, out long value)
    {
        value = 0;
        if (element.ValueKind != JsonValueKind.Number) return Expected(element.ValueKind);
        return Read(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element), min, max, out value);
    }

    /// <summary><see cref="Read(ReadOnlySpan{byte}, long, long, out long)"/> of the reader's current token (not a number: the kind it is).</summary>
    public static string? Read(ref Utf8JsonReader reader, long min, long max, out long value)
    {
        value = 0;
        if (reader.TokenType != JsonTokenType.Number) return Expected(KindOf(reader.TokenType));
        return Read(Raw(ref reader), min, max, out value);
    }

    /// <summary>
    /// The reader's number when it is integral, clamped to the 64-bit range (1e400 as long.MaxValue): for a field whose own
    /// bound lies inside that range and says more than "outside" would (a duration's, the clock's range). False for a fraction.
    /// </summary>
    public static bool TryReadClamped(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && Clamped(Raw(ref reader), out value) != Kind.Fractional;
    }

    /// <summary>The reader's current token as it was written (a number's digits).</summary>
    public static string Text(ref Utf8JsonReader reader) => Encoding.UTF8.GetString(Raw(ref reader));

    /// <summary>The text of the reader's current token, also when it spans buffers.</summary>
    static ReadOnlySpan<byte> Raw(ref Utf8JsonReader reader) =>
        reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan;

    /// <summary>"1.5 is not an integer".</summary>
    public static string NotAnInteger(ReadOnlySpan<byte> utf8) => $"{Encoding.UTF8.GetString(utf8)} is not an integer";

    /// <summary>"expected an integer, found a string": a value that is no number at all.</summary>
    public static string Expected(JsonValueKind found) => $"expected an integer, found {KindName(found)}";

    /// <summary>A JSON value's kind as the messages name it ("a string", "null").</summary>
    public static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>The kind of value a reader's token starts (a string, an array, …).</summary>
    public static JsonValueKind KindOf(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => JsonValueKind.Object,
        JsonTokenType.StartArray => JsonValueKind.Array,
        JsonTokenType.String => JsonValueKind.String,
        JsonTokenType.Number => JsonValueKind.Number,
        JsonTokenType.True => JsonValueKind.True,
        JsonTokenType.False => JsonValueKind.False,
        JsonTokenType.Null => JsonValueKind.Null,
        _ => JsonValueKind.Undefined,
    };

    enum Kind { Integral, Fractional, TooLarge }

    /// <summary>
    /// The number's value: <see cref="Kind.Integral"/> when it is a 64-bit integer, <see cref="Kind.TooLarge"/> when it is
    /// integral past that range (the value clamped to long.MinValue or long.MaxValue), or <see cref="Kind.Fractional"/>.
    /// </summary>
    static Kind Clamped(ReadOnlySpan<byte> text, out long value)
    {
        var kind = Parse(text, out var magnitude, out bool negative);
        if (kind == Kind.Integral && magnitude > (negative ? (ulong)long.MaxValue + 1 : long.MaxValue)) kind = Kind.TooLarge;
        value = kind switch
        {
            Kind.Fractional => 0,
            Kind.TooLarge => negative ? long.MinValue : long.MaxValue,
            _ => negative ? unchecked((long)(0 - magnitude)) : (long)magnitude,
        };
        return kind;
    }

    /// <summary>
    /// The number's magnitude when it is integral and has at most 19 digits: its digits (integer and fraction parts
    /// together, leading and trailing zeros dropped) shifted by the exponent less the fraction's length. A shift below
    /// zero leaves a fraction; one that makes more than 19 digits is past any 64-bit integer.
    /// </summary>
    static Kind Parse(ReadOnlySpan<byte> text, out ulong magnitude, out bool negative)
    {
        magnitude = 0;
        negative = text.Length > 0 && text[0] == '-';
        int i = negative ? 1 : 0;
        int mantissaStart = i;
        while (i < text.Length && text[i] is not ((byte)'e' or (byte)'E')) i++;
        var mantissa = text[mantissaStart..i];
        long exponent = i < text.Length ? Exponent(text[(i + 1)..]) : 0;

        int point = mantissa.IndexOf((byte)'.');
        var integerPart = point < 0 ? mantissa : mantissa[..point];
        var fractionPart = point < 0 ? ReadOnlySpan<byte>.Empty : mantissa[(point + 1)..];
        // The digits as one number d × 10^shift: the fraction's digits follow the integer part's.
        long shift = exponent - fractionPart.Length;
        int first = 0, count = integerPart.Length + fractionPart.Length;
        while (first < count && Digit(integerPart, fractionPart, first) == '0') first++;
        if (first == count) return Kind.Integral; // zero, whatever its exponent (0e999, -0.0)
        int last = count - 1;
        while (Digit(integerPart, fractionPart, last) == '0')
        {
            last--;
            shift++;
        }
        int digits = last - first + 1;
        if (shift < 0) return Kind.Fractional;
        if (digits + shift > MaxDigits + 1) return Kind.TooLarge;
        UInt128 m = 0;
        for (int k = first; k <= last; k++) m = m * 10 + (uint)(Digit(integerPart, fractionPart, k) - '0');
        for (long s = 0; s < shift; s++) m *= 10;
        if (m > ulong.MaxValue) return Kind.TooLarge;
        magnitude = (ulong)m;
        return Kind.Integral;
    }

    /// <summary>The <paramref name="k"/>th digit of the integer part followed by the fraction's.</summary>
    static byte Digit(ReadOnlySpan<byte> integerPart, ReadOnlySpan<byte> fractionPart, int k) =>
        k < integerPart.Length ? integerPart[k] : fractionPart[k - integerPart.Length];

    /// <summary>An exponent's value, saturated far beyond any shift that matters (1e99999999999999999999 is just large).</summary>
    static long Exponent(ReadOnlySpan<byte> text)
    {
        bool minus = text.Length > 0 && text[0] == '-';
        int i = text.Length > 0 && text[0] is (byte)'-' or (byte)'+' ? 1 : 0;
        long e = 0;
        for (; i < text.Length; i++) e = Math.Min(e * 10 + (text[i] - '0'), 1_000_000_000_000);
        return minus ? -e : e;
    }
}
