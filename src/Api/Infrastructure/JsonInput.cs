using System.Text.Json;
using System.Text.Json.Serialization;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Api.Infrastructure;

/// <summary>
/// A JSON value one of our converters refused. <see cref="Member"/> is the path below the value the
/// serializer reports (<c>JsonException.Path</c>), so that the problem names the exact field; the message
/// is written for the client and passed on as it is.
/// </summary>
public sealed class JsonInputException(string message, string? member = null) : JsonException(message)
{
    public string? Member { get; } = member;

    /// <summary>
    /// An integral number past the field's type, as it was written: the problem names the field's own range
    /// ([Int64Range], [Range]) where it has one — a seed's 0..9223372036854775807, not a long's.
    /// </summary>
    public string? OutOfRange { get; init; }
}

/// <summary>
/// An integer field of a request body (long, int, ushort, and their nullable forms) read by the rule scenario files are
/// read with (<see cref="JsonInteger"/>, JSON Schema's "integer"): a number with a zero fractional part is one however it
/// is written — 1.0 and 1e3 are taken as 1 and 1000 —, 1.5 is refused as not an integer, an integral number past the
/// type's range (1e400, 9223372036854775808 for a long) as outside it, and a string ("1") as not a number; each with the
/// scenario reader's own message, and the problem names the field. The field's own range ([Range], [Int64Range]) is
/// checked after it binds, as before. Query and route values are not JSON: they stay digits (ASP.NET's parsers).
/// </summary>
public sealed class IntegerConverter : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert == typeof(long) || typeToConvert == typeof(int) || typeToConvert == typeof(ushort);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        typeToConvert == typeof(long) ? new Of<long>() : typeToConvert == typeof(int) ? new Of<int>() : new Of<ushort>();

    private sealed class Of<T> : JsonConverter<T> where T : struct, System.Numerics.IBinaryInteger<T>, System.Numerics.IMinMaxValue<T>
    {
        private static readonly long Min = long.CreateTruncating(T.MinValue), Max = long.CreateTruncating(T.MaxValue);

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JsonInteger.Read(ref reader, Min, Max, out long value) is { } problem
                ? throw new JsonInputException(problem) { OutOfRange = JsonInteger.TryReadClamped(ref reader, out _) ? JsonInteger.Text(ref reader) : null }
                : T.CreateTruncating(value);

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteNumberValue(long.CreateTruncating(value));

        /// <summary>
        /// A dictionary key (<c>Dictionary&lt;int, …&gt;</c>): a property name is a string, so digits (an optional '-'),
        /// then the same range as a value's, with its message; anything else ("1.0", "1e3", "x") is not an integer.
        /// </summary>
        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var name = reader.GetString() ?? "";
            var digits = name.StartsWith('-') ? name.AsSpan(1) : name;
            if (digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9')) throw new JsonInputException($"\"{name}\" is not an integer");
            return JsonInteger.Read(System.Text.Encoding.UTF8.GetBytes(name), Min, Max, out long value) is { } problem
                ? throw new JsonInputException(problem) : T.CreateTruncating(value);
        }

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WritePropertyName(long.CreateTruncating(value).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// A floating-point field of a request body (a link's loss, a workload's rate): a JSON number. Anything else is refused
/// with what was found, as an integer field refuses it ("NaN" and "Infinity" are strings: JSON has no such numbers); a
/// number past a double's range (1e400) is refused with that range, and one too small for a double (1e-400), which the
/// serializer read as 0, is refused as underflowing instead of being taken as 0. The field's own range ([Range]) is
/// checked after it binds, as before.
/// </summary>
public sealed class FloatConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            var found = JsonInteger.KindName(JsonInteger.KindOf(reader.TokenType));
            throw new JsonInputException(reader.TokenType == JsonTokenType.String
                ? $"expected a number, found a string (\"{reader.GetString()}\"): write the number without quotes; JSON has no NaN or Infinity"
                : $"expected a number, found {found}");
        }
        var raw = System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
        if (!reader.TryGetDouble(out double value) || !double.IsFinite(value))
            throw new JsonInputException($"{raw} is outside the range of a number here (±{double.MaxValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})");
        // A mantissa with a digit other than 0 read as 0: the number is below the smallest double, 4.9e-324.
        if (value == 0 && raw.Split('e', 'E')[0].AsSpan().IndexOfAnyInRange('1', '9') >= 0)
            throw new JsonInputException($"{raw} is too small to be held (below 4.9E-324, it would be read as 0): write 0 for none");
        return value;
    }

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

/// <summary>
/// A duration (or a virtual time) in a request body: integer nanoseconds, or the scenario format's text ("60s", "1.5ms"),
/// read with the scenario parser's own rules (<see cref="DurationText"/>). Written back as nanoseconds. Every such field
/// schedules events or moves the clock, so none may exceed the clock's maximum (<see cref="SimTime.MaxClock"/>, 100 years):
/// a link delay of long.MaxValue ns was taken and its segments could never arrive.
/// </summary>
public sealed class DurationNsConverter : JsonConverter<long?>
{
    public const string Message = "A duration is integer nanoseconds or a string such as \"60s\" or \"1.5ms\" (ns, us, ms, s, m, h).";

    public static readonly string TooLong = $"A duration is {DurationText.PastClock}.";

    public override long? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        long ns = reader.TokenType switch
        {
            // Integral numbers by the rule of every integer field (IntegerConverter): 1e9 is a second, 1.5 is not nanoseconds,
            // and 1e400 is past the clock as 9223372036854775808 is (clamped to long, then refused below).
            JsonTokenType.Number when JsonInteger.TryReadClamped(ref reader, out var n) => n,
            JsonTokenType.String when DurationText.TryParseFormat(text, out var duration) => duration.Ns,
            // "100000000h" has a duration's syntax but is past long nanoseconds: the range, as for the same number of ns.
            JsonTokenType.String when DurationText.IsPastClock(text) => throw new JsonInputException(TooLong),
            // Text that is no duration: why ("0.0000000001ns" is finer than the clock, "1e9s" has an exponent), then the forms.
            JsonTokenType.String => throw new JsonInputException($"\"{text}\" {DurationText.Refusal(text!)}. {Message}"),
            _ => throw new JsonInputException(Message),
        };
        return ns > SimTime.MaxClock.Ns ? throw new JsonInputException(TooLong) : ns;
    }

    public override void Write(Utf8JsonWriter writer, long? value, JsonSerializerOptions options)
    {
        if (value is { } ns) writer.WriteNumberValue(ns);
        else writer.WriteNullValue();
    }
}

/// <summary>
/// An enum in a request body, read by name as <see cref="JsonStringEnumConverter"/> reads it (which stays registered
/// after this one, for the OpenAPI document's string enums); a name it does not know is refused with the names it does,
/// not the serializer's "The JSON value could not be converted to SimService.Domain…".
/// </summary>
public sealed class EnumNameConverter : JsonConverterFactory
{
    private readonly JsonStringEnumConverter names = new();

    public override bool CanConvert(Type typeToConvert) => names.CanConvert(typeToConvert);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Named<>).MakeGenericType(typeToConvert), names.CreateConverter(typeToConvert, options))!;

    private sealed class Named<TEnum>(JsonConverter inner) : JsonConverter<TEnum> where TEnum : struct, Enum
    {
        private readonly JsonConverter<TEnum> byName = (JsonConverter<TEnum>)inner;

        public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            string? text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            // The scenario format's spelling too (shutdown-then-close for ShutdownThenClose): a member's name with dashes
            // exactly between its words, any case — not c-lient, -client nor a list (client-,server).
            if (text is not null && text.Contains('-'))
                foreach (var name in Enum.GetNames<TEnum>())
                    if (string.Equals(text, Dashed(name), StringComparison.OrdinalIgnoreCase)) return Enum.Parse<TEnum>(name);
            try
            {
                return byName.Read(ref reader, typeToConvert, options);
            }
            catch (JsonException) when (text is not null)
            {
                var names = Enum.GetNames<TEnum>();
                var dashedNames = names.Where(n => n.Skip(1).Any(char.IsUpper)).Select(Dashed).ToList();
                throw new JsonInputException($"'{text}' is not one of {string.Join(", ", names)} (in any case"
                    + (dashedNames.Count > 0 ? $"; or with dashes between the words, as the scenario format writes them: {string.Join(", ", dashedNames)}" : "")
                    + ").");
            }
        }

        public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) => byName.Write(writer, value, options);

        /// <summary>ShutdownThenClose as shutdown-then-close.</summary>
        private static string Dashed(string name) =>
            string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));

        public override TEnum ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            byName.ReadAsPropertyName(ref reader, typeToConvert, options);

        public override void WriteAsPropertyName(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) =>
            byName.WriteAsPropertyName(writer, value, options);
    }
}
