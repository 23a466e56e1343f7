using System.Text.Json;
using System.Text.Json.Serialization;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Persistence.Serialization;

/// <summary>A virtual time as its integer nanoseconds.</summary>
public sealed class SimTimeConverter : JsonConverter<SimTime>
{
    public override SimTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetInt64());

    public override void Write(Utf8JsonWriter writer, SimTime value, JsonSerializerOptions options) => writer.WriteNumberValue(value.Ns);
}

/// <summary>A virtual duration as its integer nanoseconds.</summary>
public sealed class SimDurationConverter : JsonConverter<SimDuration>
{
    public override SimDuration Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetInt64());

    public override void Write(Utf8JsonWriter writer, SimDuration value, JsonSerializerOptions options) => writer.WriteNumberValue(value.Ns);
}

/// <summary>An IPv4 address as its dotted quad.</summary>
public sealed class IPv4Converter : JsonConverter<IPv4>
{
    public override IPv4 Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        IPv4.TryParse(reader.GetString(), out var address) ? address : throw new JsonException("not an IPv4 address");

    public override void Write(Utf8JsonWriter writer, IPv4 value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

/// <summary>An endpoint as "10.0.0.1:80", the way ss and tcpdump print it.</summary>
public sealed class EndpointConverter : JsonConverter<Endpoint>
{
    public override Endpoint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString() ?? throw new JsonException("an endpoint is a string");
        var colon = text.LastIndexOf(':');
        return colon > 0 && IPv4.TryParse(text[..colon], out var address) && ushort.TryParse(text[(colon + 1)..], out var port)
            ? new Endpoint(address, port)
            : throw new JsonException("not an endpoint \"a.b.c.d:port\"");
    }

    public override void Write(Utf8JsonWriter writer, Endpoint value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

/// <summary>A connection's 4-tuple as {"local": "a.b.c.d:port", "remote": "a.b.c.d:port"}, from the sender's side.</summary>
public sealed class FourTupleConverter : JsonConverter<FourTuple>
{
    private static readonly EndpointConverter Endpoints = new();

    public override FourTuple Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a 4-tuple is an object");
        Endpoint? local = null, remote = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            var endpoint = Endpoints.Read(ref reader, typeof(Endpoint), options);
            if (name == "local") local = endpoint;
            else if (name == "remote") remote = endpoint;
            else throw new JsonException($"a 4-tuple has no field '{name}'");
        }
        return local is { } l && remote is { } r ? new FourTuple(l, r) : throw new JsonException("a 4-tuple has local and remote");
    }

    public override void Write(Utf8JsonWriter writer, FourTuple value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("local", value.Local.ToString());
        writer.WriteString("remote", value.Remote.ToString());
        writer.WriteEndObject();
    }
}

/// <summary>TCP flags as packetdrill letters ("S.", "F.", "R").</summary>
public sealed class TcpFlagsConverter : JsonConverter<TcpFlags>
{
    public override TcpFlags Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (text == "") return TcpFlags.None;
        return TcpFlagsText.TryParse(text, out var flags) ? flags : throw new JsonException("not TCP flags");
    }

    public override void Write(Utf8JsonWriter writer, TcpFlags value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToLetters());
}

/// <summary>
/// A TCP state by the name ss and the RFC use ("ESTABLISHED", "FIN-WAIT-1", "CLOSED"); the request
/// socket's NEW_SYN_RECV keeps its kernel name so that every state reads back to itself.
/// </summary>
public sealed class TcpStateConverter : JsonConverter<TcpState>
{
    private static readonly Dictionary<string, TcpState> ByName =
        Enum.GetValues<TcpState>().ToDictionary(Name, StringComparer.Ordinal);

    public static string Name(TcpState state) => state.ToJournalName();

    public override TcpState Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ByName.TryGetValue(reader.GetString() ?? "", out var state) ? state : throw new JsonException("not a TCP state");

    public override void Write(Utf8JsonWriter writer, TcpState value, JsonSerializerOptions options) => writer.WriteStringValue(Name(value));
}

/// <summary>An ordered list of name/value pairs (a host's sysctls) as a JSON object, in order.</summary>
public sealed class NameValueListConverter : JsonConverter<IReadOnlyList<KeyValuePair<string, string>>>
{
    public override IReadOnlyList<KeyValuePair<string, string>> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected an object");
        var list = new List<KeyValuePair<string, string>>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            reader.Read();
            list.Add(new(name, reader.GetString() ?? throw new JsonException("expected a string")));
        }
        return list;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<KeyValuePair<string, string>> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (name, text) in value) writer.WriteString(name, text);
        writer.WriteEndObject();
    }
}

/// <summary>An enum by its member name in kebab case ("time-wait", "setsockopt", "until-idle").</summary>
public sealed class KebabEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false)
    where TEnum : struct, Enum;

/// <summary>An enum by its member name as is ("SO_LINGER", "SHUT_WR"): these are the kernel's own spellings.</summary>
public sealed class VerbatimEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(namingPolicy: null, allowIntegerValues: false)
    where TEnum : struct, Enum;
