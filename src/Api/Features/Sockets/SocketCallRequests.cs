using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using SimService.Api.Infrastructure;
using SimService.Domain.Commands;
using SimService.Domain.Network;
using ScenarioRunOptions = SimService.Domain.Scenarios.ScenarioRunOptions;
using SimService.Domain.Tcp;

namespace SimService.Api.Features.Sockets;

// The request bodies of the socket system calls. Every call is made by a process: "process" names it
// (default: the process that owns the socket, or "app" for a new socket); a process is created on first use.

/// <summary>Common to every call: the calling process.</summary>
public abstract record CallRequest
{
    /// <summary>The calling process (default: the socket's owner, or "app").</summary>
    [CharacterLength(SimProcess.NameMaxLength, MinimumLength = 1)]
    public string? Process { get; init; }
}

/// <summary>
/// A call on an existing socket: the calling process and the descriptor it goes through. The calls that make a socket
/// on a host (socket() and the listen/connect conveniences) have no descriptor to name: there <c>fd</c> is an unknown
/// field, a 400 like any other.
/// </summary>
public abstract record OnSocketRequest : CallRequest
{
    /// <summary>
    /// The descriptor of the socket the call goes through (after dup or dup2 a socket has several); default the
    /// socket's own (its lowest open one once that was closed). 0 is descriptor 0 (a socket dup2'd onto stdin); under
    /// engine rules 2 and older it is the socket's own, as their logs stored it. A descriptor that does not hold the socket: EBADF.
    /// </summary>
    [Range(0, SimService.Domain.Engine.Simulation.NrOpen - 1)]
    public int? Fd { get; init; }
}

/// <summary>socket(): a new unbound TCP socket, for options that must be set before bind or connect.</summary>
public sealed record OpenSocketRequest : CallRequest;

/// <summary>The convenience listen: socket(), optional SO_REUSEADDR, bind(port), listen(backlog).</summary>
public sealed record ListenOnPortRequest : CallRequest
{
    /// <example>80</example>
    [Required, Range(0, 65535)]
    public int? Port { get; init; }

    /// <summary>listen()'s backlog; default 128. Any int, as Linux takes it: one above net.core.somaxconn, or negative, is somaxconn.</summary>
    public int? Backlog { get; init; }

    /// <summary>Set SO_REUSEADDR before bind (default false).</summary>
    public bool? ReuseAddr { get; init; }

    /// <summary>The address to bind: 127.0.0.1 (any of 127.0.0.0/8) or one of the host's; absent is INADDR_ANY (0.0.0.0).</summary>
    /// <example>127.0.0.1</example>
    [RegularExpression(SocketArguments.Ipv4Pattern, ErrorMessage = "An address is a dotted quad such as 127.0.0.1.")]
    public string? Address { get; init; }
}

/// <summary>connect()'s convenience bind before connecting: a local port (0: ephemeral) and SO_REUSEADDR.</summary>
public sealed record BindOptions
{
    [Required, Range(0, 65535)]
    public int? Port { get; init; }

    public bool? ReuseAddr { get; init; }
}

/// <summary>The convenience connect: socket(), optional bind, connect(to).</summary>
public sealed record ConnectToRequest : CallRequest
{
    /// <summary>The peer: "host:port" or "address:port". An address no linked host has fails with ENETUNREACH.</summary>
    /// <example>server:80</example>
    [Required, RegularExpression(SocketArguments.HostPortPattern, ErrorMessage = SocketArguments.HostPortMessage)]
    public string? To { get; init; }

    public BindOptions? Bind { get; init; }
}

public sealed record BindRequest : OnSocketRequest
{
    /// <summary>The local port; 0 picks an ephemeral one.</summary>
    [Required, Range(0, 65535)]
    public int? Port { get; init; }

    /// <summary>The local address: 127.0.0.1 (any of 127.0.0.0/8) or one of the host's; absent is INADDR_ANY (0.0.0.0). Another host's address is EADDRNOTAVAIL.</summary>
    /// <example>127.0.0.1</example>
    [RegularExpression(SocketArguments.Ipv4Pattern, ErrorMessage = "An address is a dotted quad such as 127.0.0.1.")]
    public string? Address { get; init; }
}

public sealed record ListenRequest : OnSocketRequest
{
    /// <summary>listen()'s backlog; default 128. Any int, as Linux takes it: one above net.core.somaxconn, or negative, is somaxconn.</summary>
    public int? Backlog { get; init; }
}

public sealed record ConnectRequest : OnSocketRequest
{
    /// <summary>
    /// The peer: "host:port" or "address:port". With no link to it, connect fails at once with ENETUNREACH.
    /// Required unless family is AF_UNSPEC.
    /// </summary>
    /// <example>server:80</example>
    [RegularExpression(SocketArguments.HostPortPattern, ErrorMessage = SocketArguments.HostPortMessage)]
    public string? To { get; init; }

    /// <summary>"AF_UNSPEC": connect(AF_UNSPEC), i.e. tcp_disconnect() — the socket goes to CLOSE (a RST if the connection needed one) and can connect again. Not with to.</summary>
    [OneOf("AF_UNSPEC", null)]
    public string? Family { get; init; }
}

/// <summary>accept() and close() take nothing but the calling process.</summary>
public sealed record PlainCallRequest : OnSocketRequest;

public sealed record SendRequest : OnSocketRequest
{
    /// <summary>How many bytes the application writes (payload is counted, not carried); at most what a scenario's send may write, so the simulation stays exportable.</summary>
    /// <example>100</example>
    [Required, Int64Range(0, ScenarioRunOptions.MaxSendBytes)]
    public long? Bytes { get; init; }

    /// <summary>send()'s flags: MSG_MORE (cork this write's tail), MSG_DONTWAIT (this call does not block), MSG_NOSIGNAL.</summary>
    /// <example>["MSG_MORE"]</example>
    public string[]? Flags { get; init; }
}

public sealed record RecvRequest : OnSocketRequest
{
    /// <summary>How many bytes to read at most; default all that are available. 0 is recv(fd, buf, 0, flags) as Linux runs it (tcp_recvmsg_locked(): 0 at once with data or a FIN queued, EAGAIN with MSG_DONTWAIT and nothing queued, else it sleeps until any wakeup or SO_RCVTIMEO and returns 0).</summary>
    [Int64Range(0, long.MaxValue)]
    public long? Bytes { get; init; }

    /// <summary>recv()'s flags: MSG_PEEK (read without consuming), MSG_DONTWAIT (this call does not block).</summary>
    /// <example>["MSG_PEEK"]</example>
    public string[]? Flags { get; init; }
}

public sealed record ShutdownRequest : OnSocketRequest
{
    /// <example>SHUT_WR</example>
    [Required, OneOf("SHUT_RD", "SHUT_WR", "SHUT_RDWR")]
    public string? How { get; init; }
}

public sealed record SetsockoptRequest : OnSocketRequest
{
    /// <example>SO_LINGER</example>
    [Required, SocketOptionName]
    public string? Option { get; init; }

    /// <summary>An integer; for TCP_CONGESTION a module name ("reno", "cubic"; a name no module has fails ENOENT); for SO_LINGER the struct linger {"onoff": 1, "linger": 0} (seconds); for SO_SNDTIMEO and SO_RCVTIMEO the struct timeval {"sec": 1, "usec": 500000}; for IP_LOCAL_PORT_RANGE {"lo": 40000, "hi": 40009}.</summary>
    [Required]
    public JsonElement? Value { get; init; }

    /// <summary>The call's arguments, or why <c>value</c> does not fit the option.</summary>
    public SocketCallRequest? ToCall(out string? error)
    {
        var option = Enum.Parse<SocketOption>(Option!);
        return SocketArguments.WithOptionValue(new SocketCallRequest("", "", SocketCallKind.Setsockopt) { Option = option }, option, Value!.Value, out error);
    }
}

public sealed record GetsockoptRequest : OnSocketRequest
{
    /// <example>SO_LINGER</example>
    [Required, SocketOptionName]
    public string? Option { get; init; }
}

/// <summary>dup2(newfd): the socket's file installed at newfd; a socket newfd held is closed first.</summary>
public sealed record Dup2Request : OnSocketRequest
{
    /// <example>10</example>
    [Required, Range(0, SimService.Domain.Engine.Simulation.NrOpen - 1)]
    public int? NewFd { get; init; }
}

/// <summary>fcntl(F_SETFL): O_NONBLOCK on or off.</summary>
public sealed record FcntlRequest : OnSocketRequest
{
    /// <summary>Whether O_NONBLOCK is set.</summary>
    /// <example>true</example>
    [Required]
    public bool? Nonblock { get; init; }
}

/// <summary>poll() on this socket: at once (timeout 0), or sleeping until an event or the timeout.</summary>
public sealed record PollRequest : OnSocketRequest
{
    /// <summary>The requested events (POLLIN, POLLOUT, POLLRDHUP, ...); default POLLIN and POLLOUT.</summary>
    public string[]? Events { get; init; }

    /// <summary>poll()'s timeout in milliseconds: 0 (the default) returns at once, -1 waits without limit.</summary>
    /// <example>100</example>
    [Range(-1, int.MaxValue)]
    public int? TimeoutMs { get; init; }

    /// <summary>The event mask, or null with the offending name.</summary>
    public int? Mask(out string? unknown)
    {
        unknown = null;
        if (Events is null or { Length: 0 }) return PollEvents.POLLIN | PollEvents.POLLOUT;
        int mask = 0;
        foreach (var name in Events)
        {
            int bit = PollEvents.Of(name);
            if (bit == 0)
            {
                unknown = name;
                return null;
            }
            mask |= bit;
        }
        return mask;
    }
}

/// <summary>The socket options the simulator models, by their kernel names.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SocketOptionNameAttribute : AllowedValuesAttribute
{
    private static readonly object?[] Names = [.. Enum.GetNames<SocketOption>()];

    public SocketOptionNameAttribute() : base(Names) =>
        ErrorMessage = $"Unknown socket option; expected one of {string.Join(", ", Names)}.";

    public override bool IsValid(object? value) => value is null || base.IsValid(value);
}

public static class SocketArguments
{
    /// <summary>send()'s and recv()'s flags from their names; null with the reason for a name the call does not take.</summary>
    public static MsgFlags? MsgFlagsOf(string[]? names, bool sending, out string? error)
    {
        error = null;
        string[] allowed = sending ? ["MSG_MORE", "MSG_DONTWAIT", "MSG_NOSIGNAL"] : ["MSG_PEEK", "MSG_DONTWAIT"];
        var flags = MsgFlags.None;
        foreach (var name in names ?? [])
        {
            if (!allowed.Contains(name))
            {
                error = $"'{name}' is not a flag of {(sending ? "send" : "recv")}; expected {string.Join(", ", allowed)}.";
                return null;
            }
            flags |= Enum.Parse<MsgFlags>(name);
        }
        return flags;
    }

    /// <summary>
    /// connect()'s peer: "host:port" or "address:port" (a dotted quad), with a port from 0 to 65535 — Linux takes port 0
    /// (__inet_stream_connect() and tcp_v4_connect() check none) and sends the SYN there.
    /// </summary>
    public const string HostPortPattern = "^([a-z][a-z0-9-]*|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])):(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$";
    /// <summary>A dotted quad, no leading zeros.</summary>
    public const string Ipv4Pattern = "^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$";
    public const string HostPortMessage = "A peer is \"host:port\" or \"address:port\", with a port from 0 to 65535.";

    public static (string Host, ushort Port) HostPort(string text)
    {
        var colon = text.LastIndexOf(':');
        return (text[..colon], ushort.Parse(text[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// <paramref name="request"/> with setsockopt's value: an integer, SO_LINGER's {onoff, linger}, or SO_SNDTIMEO's and
    /// SO_RCVTIMEO's struct timeval {sec, usec} (any 64-bit integers: the engine answers EDOM for a usec out of range,
    /// as sock_set_timeout() does); null with the reason when the value has the wrong shape.
    /// </summary>
    public static SocketCallRequest? WithOptionValue(SocketCallRequest request, SocketOption option, JsonElement value, out string? error)
    {
        error = null;
        switch (option)
        {
            case SocketOption.SO_LINGER:
                if (Members(value, "onoff", "linger") is [var onoff, var linger] && Int(onoff, int.MinValue, int.MaxValue, out var on) && Int(linger, int.MinValue, int.MaxValue, out var seconds))
                    return request with { Value = (int)seconds, LingerOnOff = (int)on };
                // struct linger's two ints (sock_setsockopt(): l_onoff 0 is off, any other value on): a member out of range is named.
                error = Members(value, "onoff", "linger") is { } members && OutOfRange(members, ["onoff", "linger"], int.MinValue, int.MaxValue) is { } range
                    ? $"SO_LINGER's value: {range} (struct linger holds two ints; onoff 0 is off, any other value on)."
                    : "SO_LINGER's value is {\"onoff\": int, \"linger\": seconds}, struct linger's two ints (onoff 0 is off, any other value on).";
                return null;
            case SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO:
                if (Members(value, "sec", "usec") is [var sec, var usec] && Int(sec, long.MinValue, long.MaxValue, out var s) && Int(usec, long.MinValue, long.MaxValue, out var us))
                    return request with { TvSec = s, TvUsec = us };
                error = $"{option}'s value is a struct timeval: {{\"sec\": seconds, \"usec\": microseconds}}.";
                return null;
            case SocketOption.TCP_CONGESTION:
                // A name no module has is the engine's ENOENT (tcp_set_congestion_control()), a result as in a scenario or a
                // script; a module the kernel has and the engine does not run is refused (a real kernel would load it).
                if (value.ValueKind == JsonValueKind.String && value.GetString() is { } name && !SimService.Domain.Tcp.CongestionAlgorithms.Unmodelled.Contains(name))
                    return request with { Text = name };
                error = value.ValueKind == JsonValueKind.String
                    ? $"TCP_CONGESTION: \"{value.GetString()}\" is a congestion control the engine does not run (it runs \"reno\" and \"cubic\"; a name no module has fails ENOENT)."
                    : "TCP_CONGESTION's value is a congestion control's name (the engine runs \"reno\" and \"cubic\"; a name no module has fails ENOENT).";
                return null;
            case SocketOption.IP_LOCAL_PORT_RANGE:
                if (Members(value, "lo", "hi") is [var lo, var hi] && Int(lo, 0, ushort.MaxValue, out var l) && Int(hi, 0, ushort.MaxValue, out var h))
                    return request with { Value = unchecked((int)((uint)h << 16 | (uint)l)) };
                error = "IP_LOCAL_PORT_RANGE's value is {\"lo\": port, \"hi\": port}, each 0 to 65535 (0: that end of ip_local_port_range).";
                return null;
        }
        if (value.ValueKind == JsonValueKind.Number)
        {
            // The rule's message, after the option's name: "SO_KEEPALIVE's value: 1.5 is not an integer".
            var problem = SimService.Domain.Scenarios.JsonInteger.Read(value, int.MinValue, int.MaxValue, out var number);
            if (problem is null) return request with { Value = (int)number };
            error = $"{option}'s value: {problem}";
            return null;
        }
        error = $"{option}'s value is an integer.";
        return null;
    }

    /// <summary>A member of a struct value as an integer by the rule every integer field follows (1.0 is 1; 1.5 is refused).</summary>
    private static bool Int(JsonElement member, long min, long max, out long value) =>
        SimService.Domain.Scenarios.JsonInteger.Read(member, min, max, out value) is null;

    /// <summary>The first of <paramref name="members"/> that is not an integer in [min, max], "linger: 2147483648 is outside …"; null when none.</summary>
    private static string? OutOfRange(JsonElement[] members, string[] names, long min, long max)
    {
        for (int i = 0; i < members.Length; i++)
            if (SimService.Domain.Scenarios.JsonInteger.Read(members[i], min, max, out _) is { } problem) return $"{names[i]}: {problem}";
        return null;
    }

    /// <summary>The named numeric members of an object that has exactly those members, in the order named; else null.</summary>
    private static JsonElement[]? Members(JsonElement value, params string[] names)
    {
        if (value.ValueKind != JsonValueKind.Object || value.EnumerateObject().Count() != names.Length) return null;
        var members = new JsonElement[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            if (!value.TryGetProperty(names[i], out members[i]) || members[i].ValueKind != JsonValueKind.Number) return null;
        }
        return members;
    }
}
