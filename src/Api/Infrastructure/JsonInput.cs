using System.Text.Json;
using System.Text.Json.Serialization;
using SimService.Domain.Scenarios;

namespace SimService.Api.Infrastructure;

/// <summary>
/// A JSON value one of our converters refused. <see cref="Member"/> is the path below the value the
/// serializer reports (<c>JsonException.Path</c>), so that the problem names the exact field; the message
/// is written for the client and passed on as it is.
/// </summary>
public sealed class JsonInputException(string message, string? member = null) : JsonException(message)
{
    public string? Member { get; } = member;
}

/// <summary>
/// A duration in a request body: integer nanoseconds, or the scenario format's text ("60s", "1.5ms"),
/// read with the scenario parser's own rules (<see cref="DurationText"/>). Written back as nanoseconds.
/// </summary>
public sealed class DurationNsConverter : JsonConverter<long?>
{
    public const string Message = "A duration is integer nanoseconds or a string such as \"60s\" or \"1.5ms\" (ns, us, ms, s, m, h).";

    public override long? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number when reader.TryGetInt64(out var ns) => ns,
        JsonTokenType.String when DurationText.TryParseFormat(reader.GetString(), out var duration) => duration.Ns,
        _ => throw new JsonInputException(Message),
    };

    public override void Write(Utf8JsonWriter writer, long? value, JsonSerializerOptions options)
    {
        if (value is { } ns) writer.WriteNumberValue(ns);
        else writer.WriteNullValue();
    }
}
