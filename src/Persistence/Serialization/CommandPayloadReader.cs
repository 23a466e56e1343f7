using System.Buffers;
using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Persistence.Serialization;

/// <summary>
/// A direct reader of the two commands that fill long logs — socket calls and advances — for rebuilds (W5): one pass of a
/// <see cref="Utf8JsonReader"/> over the stored payload instead of the serializer's metadata-driven path. It reads exactly
/// what <see cref="CommandTypeMap.Payload"/> writes; anything else (an unknown or repeated field, a missing constructor
/// field, a value of another type or out of range, an enum name it does not know) makes it give up, and the caller uses the
/// serializer, which then decides as it always did. So it can only be faster, never different: a payload is read either
/// here, into a value equal to the serializer's, or by the serializer (<c>SerializationTests</c> check both).
/// Enum names come from the serializer itself (each value written with <see cref="SimJson"/>), not from a copy of its rules.
/// </summary>
public static class CommandPayloadReader
{
    private static readonly SocketCallRequest Defaults = new("", "", default);

    private static FrozenDictionary<string, T> NamesOf<T>() where T : struct, Enum
    {
        var names = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var value in Enum.GetValues<T>())
            names.TryAdd(JsonSerializer.Deserialize<string>(JsonSerializer.Serialize(value, SimJson.TypeInfo(typeof(T))))!, value);
        return names.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static readonly FrozenDictionary<string, SocketCallKind> CallKinds = NamesOf<SocketCallKind>();
    private static readonly FrozenDictionary<string, ShutdownHow> Hows = NamesOf<ShutdownHow>();
    private static readonly FrozenDictionary<string, SocketOption> Options = NamesOf<SocketOption>();
    private static readonly FrozenDictionary<string, AdvanceMode> Modes = NamesOf<AdvanceMode>();

    /// <summary>The command of a stored payload, or null when this reader leaves it to the serializer.</summary>
    public static SimCommand? TryRead(string discriminator, string payloadJson)
    {
        if (discriminator is not ("socket-call" or "advance")) return null;
        int max = Encoding.UTF8.GetMaxByteCount(payloadJson.Length);
        byte[]? rented = max > 1024 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented is null ? stackalloc byte[1024] : rented;
        try
        {
            int length = Encoding.UTF8.GetBytes(payloadJson, buffer);
            var reader = new Utf8JsonReader(buffer[..length]);
            return discriminator == "advance" ? ReadAdvance(ref reader) : ReadSocketCall(ref reader) is { } request ? new SocketCallCommand(request) : null;
        }
        catch (JsonException)
        {
            return null; // malformed: the serializer says how
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static AdvanceCommand? ReadAdvance(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        AdvanceMode mode = default;
        long amount = 0, budget = 0;
        int seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int bit;
            if (reader.ValueTextEquals("mode"u8))
            {
                bit = 1;
                if (!reader.Read() || !ReadEnum(ref reader, Modes, out mode)) return null;
            }
            else if (reader.ValueTextEquals("amountNs"u8))
            {
                bit = 2;
                if (!reader.Read() || !ReadInt64(ref reader, out amount)) return null;
            }
            else if (reader.ValueTextEquals("eventBudget"u8))
            {
                bit = 4;
                if (!reader.Read() || !ReadInt64(ref reader, out budget)) return null;
            }
            else return null;
            if ((seen & bit) != 0) return null;
            seen |= bit;
        }
        return seen == 7 && End(ref reader) ? new AdvanceCommand(mode, new SimDuration(amount), budget) : null;
    }

    private static SocketCallRequest? ReadSocketCall(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        var d = Defaults;
        string? host = null, process = null, address = d.Address, toHost = d.ToHost, text = d.Text;
        SocketCallKind call = default;
        int socketId = d.SocketId, backlog = d.Backlog, value = d.Value, lingerOnOff = d.LingerOnOff, events = d.Events,
            timeoutMs = d.TimeoutMs, newFd = d.NewFd, flags = (int)d.Flags;
        ushort port = d.Port, toPort = d.ToPort;
        ushort? bindPort = d.BindPort;
        int? fd = d.Fd;
        bool reuseAddr = d.ReuseAddr, bindReuseAddr = d.BindReuseAddr, nonBlock = d.NonBlock, unspec = d.Unspec;
        long bytes = d.Bytes, tvSec = d.TvSec, tvUsec = d.TvUsec, rlimCur = d.RlimCur, rlimMax = d.RlimMax;
        ShutdownHow how = d.How;
        SocketOption option = d.Option;
        long seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int field = Field(ref reader);
            if (field < 0 || (seen & (1L << field)) != 0 || !reader.Read()) return null;
            seen |= 1L << field;
            bool ok = field switch
            {
                0 => ReadString(ref reader, out host) && host is not null,
                1 => ReadString(ref reader, out process) && process is not null,
                2 => ReadEnum(ref reader, CallKinds, out call),
                3 => ReadInt32(ref reader, out socketId),
                4 => ReadUInt16(ref reader, out port),
                5 => ReadString(ref reader, out address),
                6 => ReadInt32(ref reader, out backlog),
                7 => ReadBool(ref reader, out reuseAddr),
                8 => ReadString(ref reader, out toHost),
                9 => ReadUInt16(ref reader, out toPort),
                10 => ReadNullable(ref reader, ReadUInt16, out bindPort),
                11 => ReadBool(ref reader, out bindReuseAddr),
                12 => ReadInt64(ref reader, out bytes),
                13 => ReadEnum(ref reader, Hows, out how),
                14 => ReadEnum(ref reader, Options, out option),
                15 => ReadInt32(ref reader, out value),
                16 => ReadInt32(ref reader, out lingerOnOff),
                17 => ReadInt64(ref reader, out tvSec),
                18 => ReadInt64(ref reader, out tvUsec),
                19 => ReadBool(ref reader, out nonBlock),
                20 => ReadInt32(ref reader, out events),
                21 => ReadInt32(ref reader, out timeoutMs),
                22 => ReadNullable(ref reader, ReadInt32, out fd),
                23 => ReadInt32(ref reader, out newFd),
                24 => ReadBool(ref reader, out unspec),
                25 => ReadInt32(ref reader, out flags),
                26 => ReadString(ref reader, out text),
                27 => ReadInt64(ref reader, out rlimCur),
                28 => ReadInt64(ref reader, out rlimMax),
                _ => false,
            };
            if (!ok) return null;
        }
        if ((seen & 7) != 7 || !End(ref reader)) return null; // the constructor's three fields: the serializer decides without them
        return new SocketCallRequest(host!, process!, call)
        {
            SocketId = socketId, Port = port, Address = address, Backlog = backlog, ReuseAddr = reuseAddr, ToHost = toHost,
            ToPort = toPort, BindPort = bindPort, BindReuseAddr = bindReuseAddr, Bytes = bytes, How = how, Option = option,
            Value = value, LingerOnOff = lingerOnOff, TvSec = tvSec, TvUsec = tvUsec, NonBlock = nonBlock, Events = events,
            TimeoutMs = timeoutMs, Fd = fd, NewFd = newFd, Unspec = unspec, Flags = (MsgFlags)flags, Text = text,
            RlimCur = rlimCur, RlimMax = rlimMax,
        };
    }

    /// <summary>The field's index in <see cref="ReadSocketCall"/>, in the order the serializer writes them; -1 when unknown.</summary>
    private static int Field(ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> name = reader.HasValueSequence || reader.ValueIsEscaped ? [] : reader.ValueSpan;
        return name switch
        {
            _ when name.SequenceEqual("host"u8) => 0,
            _ when name.SequenceEqual("process"u8) => 1,
            _ when name.SequenceEqual("call"u8) => 2,
            _ when name.SequenceEqual("socketId"u8) => 3,
            _ when name.SequenceEqual("port"u8) => 4,
            _ when name.SequenceEqual("address"u8) => 5,
            _ when name.SequenceEqual("backlog"u8) => 6,
            _ when name.SequenceEqual("reuseAddr"u8) => 7,
            _ when name.SequenceEqual("toHost"u8) => 8,
            _ when name.SequenceEqual("toPort"u8) => 9,
            _ when name.SequenceEqual("bindPort"u8) => 10,
            _ when name.SequenceEqual("bindReuseAddr"u8) => 11,
            _ when name.SequenceEqual("bytes"u8) => 12,
            _ when name.SequenceEqual("how"u8) => 13,
            _ when name.SequenceEqual("option"u8) => 14,
            _ when name.SequenceEqual("value"u8) => 15,
            _ when name.SequenceEqual("lingerOnOff"u8) => 16,
            _ when name.SequenceEqual("tvSec"u8) => 17,
            _ when name.SequenceEqual("tvUsec"u8) => 18,
            _ when name.SequenceEqual("nonBlock"u8) => 19,
            _ when name.SequenceEqual("events"u8) => 20,
            _ when name.SequenceEqual("timeoutMs"u8) => 21,
            _ when name.SequenceEqual("fd"u8) => 22,
            _ when name.SequenceEqual("newFd"u8) => 23,
            _ when name.SequenceEqual("unspec"u8) => 24,
            _ when name.SequenceEqual("flags"u8) => 25,
            _ when name.SequenceEqual("text"u8) => 26,
            _ when name.SequenceEqual("rlimCur"u8) => 27,
            _ when name.SequenceEqual("rlimMax"u8) => 28,
            _ => -1,
        };
    }

    /// <summary>The object closed and nothing after it.</summary>
    private static bool End(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.EndObject && !reader.Read();

    private static bool ReadString(ref Utf8JsonReader reader, out string? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.String) return false;
        value = reader.GetString();
        return true;
    }

    private static bool ReadEnum<T>(ref Utf8JsonReader reader, FrozenDictionary<string, T> names, out T value) where T : struct
    {
        value = default;
        return reader.TokenType == JsonTokenType.String && names.TryGetValue(reader.GetString()!, out value);
    }

    private static bool ReadInt32(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    private static bool ReadInt64(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    private static bool ReadUInt16(ref Utf8JsonReader reader, out ushort value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetUInt16(out value);
    }

    private delegate bool ValueReader<T>(ref Utf8JsonReader reader, out T value);

    /// <summary>null, or a value <paramref name="read"/> reads (bindPort, fd).</summary>
    private static bool ReadNullable<T>(ref Utf8JsonReader reader, ValueReader<T> read, out T? value) where T : struct
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (!read(ref reader, out var number)) return false;
        value = number;
        return true;
    }

    private static bool ReadBool(ref Utf8JsonReader reader, out bool value)
    {
        value = reader.TokenType == JsonTokenType.True;
        return reader.TokenType is JsonTokenType.True or JsonTokenType.False;
    }
}
