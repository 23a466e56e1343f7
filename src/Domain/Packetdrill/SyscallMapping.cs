using SimService.Domain.Commands;
using SimService.Domain.Tcp;

namespace SimService.Domain.Packetdrill;

/// <summary>
/// Turns a script's system call into the engine's call: descriptors through the script's fd map,
/// "..." addresses as packetdrill fills them (bind: the local address, port 8080; connect: the
/// remote address, port 8080), sockaddr structs by their port.
/// </summary>
public static class SyscallMapping
{
    /// <summary>The calls the simulator makes, with the engine call each becomes.</summary>
    public static readonly IReadOnlyDictionary<string, SocketCallKind> Calls = new Dictionary<string, SocketCallKind>(StringComparer.Ordinal)
    {
        ["socket"] = SocketCallKind.Socket,
        ["bind"] = SocketCallKind.Bind,
        ["listen"] = SocketCallKind.Listen,
        ["accept"] = SocketCallKind.Accept,
        ["accept4"] = SocketCallKind.Accept,
        ["connect"] = SocketCallKind.Connect,
        ["write"] = SocketCallKind.Send,
        ["send"] = SocketCallKind.Send,
        ["sendto"] = SocketCallKind.Send,
        ["read"] = SocketCallKind.Recv,
        ["recv"] = SocketCallKind.Recv,
        ["recvfrom"] = SocketCallKind.Recv,
        ["shutdown"] = SocketCallKind.Shutdown,
        ["close"] = SocketCallKind.Close,
        ["dup"] = SocketCallKind.Dup,
        ["setsockopt"] = SocketCallKind.Setsockopt,
        ["getsockopt"] = SocketCallKind.Getsockopt,
        ["fcntl"] = SocketCallKind.Fcntl,
        ["poll"] = SocketCallKind.Poll,
    };

    /// <summary>O_RDWR and O_NONBLOCK (include/uapi/asm-generic/fcntl.h), what F_GETFL reports for a socket.</summary>
    public const int ORdwr = 0x2, ONonblock = 0x800;

    /// <summary>The words of a flag expression such as SOCK_STREAM|SOCK_NONBLOCK (a number reads as itself).</summary>
    public static IReadOnlyList<string> Flags(ScriptExpr e) => e switch
    {
        BinaryExpr { Op: "|" } b => [.. Flags(b.Left), .. Flags(b.Right)],
        WordExpr w => [w.Word],
        IntExpr i => [i.ToString()],
        _ => [],
    };

    /// <summary>fcntl(F_SETFL)'s flags as a number: O_RDWR, O_NONBLOCK, O_RDONLY, O_WRONLY words or a number; null if unreadable.</summary>
    public static int? FileFlags(ScriptExpr e)
    {
        int flags = 0;
        foreach (var f in Flags(e))
        {
            switch (f)
            {
                case "O_RDONLY": break;
                case "O_WRONLY": flags |= 0x1; break;
                case "O_RDWR": flags |= ORdwr; break;
                case "O_NONBLOCK": flags |= ONonblock; break;
                default:
                    if (!int.TryParse(f, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n)) return null;
                    flags |= n;
                    break;
            }
        }
        return Flags(e).Count == 0 ? null : flags;
    }

    /// <summary>A pollfd struct {fd=N, events=..., revents=...}: the descriptor, the requested events and the expected revents (null when not written).</summary>
    public static (long Fd, int Events, int? Revents)? PollFd(ScriptExpr e)
    {
        if (e is not StructExpr s || s.Field("fd") is not { } fdExpr || IntValue(fdExpr) is not { } fd || s.Field("events") is not { } events) return null;
        if (PollMask(events) is not { } requested) return null;
        var revents = s.Field("revents") is { } r ? PollMask(r) : null;
        return (fd, requested, revents);
    }

    /// <summary>A poll event mask written as POLLIN|POLLOUT or a number.</summary>
    public static int? PollMask(ScriptExpr e)
    {
        int mask = 0;
        var flags = Flags(e);
        foreach (var f in flags)
        {
            int bit = PollEvents.Of(f);
            if (bit != 0) mask |= bit;
            else if (int.TryParse(f, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n)) mask |= n;
            else return null;
        }
        return flags.Count == 0 ? null : mask;
    }

    /// <summary>Whether a socket() type or accept4() flags argument asks for O_NONBLOCK on the new file.</summary>
    public static bool AsksNonBlock(SyscallEvent s) =>
        (s.Name == "socket" && s.Arguments.Length > 1 && Flags(s.Arguments[1]).Contains("SOCK_NONBLOCK")) ||
        (s.Name == "accept4" && s.Arguments.Length > 3 && Flags(s.Arguments[3]).Contains("SOCK_NONBLOCK"));

    /// <summary>
    /// send()/recv()'s flags written MSG_MORE|MSG_NOSIGNAL, a number or "..." (none); null when one is not modelled
    /// for the direction: send takes MSG_MORE, MSG_DONTWAIT and MSG_NOSIGNAL, recv MSG_PEEK and MSG_DONTWAIT.
    /// </summary>
    public static MsgFlags? MsgFlagsOf(ScriptExpr e, bool sending)
    {
        if (e is EllipsisExpr) return MsgFlags.None;
        var allowed = sending ? MsgFlags.MSG_MORE | MsgFlags.MSG_DONTWAIT | MsgFlags.MSG_NOSIGNAL : MsgFlags.MSG_PEEK | MsgFlags.MSG_DONTWAIT;
        var flags = MsgFlags.None;
        foreach (var word in Flags(e))
        {
            if (Enum.TryParse<MsgFlags>(word, out var f) && !int.TryParse(word, System.Globalization.CultureInfo.InvariantCulture, out _)) flags |= f;
            else if (int.TryParse(word, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n)) flags |= (MsgFlags)n;
            else return null;
        }
        return (flags & ~allowed) == 0 ? flags : null;
    }

    /// <summary>The socket options the engine models, by their script names.</summary>
    public static SocketOption? OptionOf(ScriptExpr e) => e is WordExpr { Word: var w } && Enum.TryParse<SocketOption>(w, out var o) && Enum.IsDefined(o) ? o : null;

    public static long? IntValue(ScriptExpr e) => IntOf(e)?.Value;

    /// <summary>An integer as written, <c>N</c> or <c>[N]</c>; null when it is something else.</summary>
    public static IntExpr? IntOf(ScriptExpr e) => e switch
    {
        IntExpr i => i,
        ListExpr { Items: [IntExpr i] } => i,
        _ => null,
    };

    /// <summary>
    /// getsockopt()'s optval written as ints: <c>N</c>, <c>[N]</c>, or <c>[N, N, …]</c> (SO_MEMINFO's u32 meminfo[]),
    /// an errno name standing for its number (<c>[ECONNRESET]</c> for SO_ERROR); null when it is something else.
    /// </summary>
    public static long[]? OptvalInts(ScriptExpr e)
    {
        if (IntOf(e) is { } one) return [one.Value];
        if (e is not ListExpr { Items.Length: > 0 } list) return null;
        var values = new long[list.Items.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (list.Items[i] is IntExpr n) values[i] = n.Value;
            else if (list.Items[i] is WordExpr { Word: var w } && ErrnoTable.IsKnown(w)) values[i] = ErrnoTable.Describe(w).Number;
            else return null;
        }
        return values;
    }

    /// <summary>Ints as a getsockopt check words them: <c>7</c> for one, <c>[1, 2, 3]</c> for an array.</summary>
    public static string IntsText(ReadOnlySpan<long> values) =>
        values.Length == 1 ? values[0].ToString(System.Globalization.CultureInfo.InvariantCulture)
            : "[" + string.Join(", ", values.ToArray()) + "]";

    /// <summary>The most ints a getsockopt() value of <paramref name="option"/> holds: SO_MEMINFO's SK_MEMINFO_VARS (9), else one int.</summary>
    public static int OptvalIntCount(SocketOption option) => option == SocketOption.SO_MEMINFO ? 9 : 1;

    /// <summary>
    /// Why getsockopt()'s written value of <paramref name="option"/> cannot be compared with what the call writes
    /// back, or null when it can: an int (an errno name for SO_ERROR), SO_MEMINFO's array of up to nine u32,
    /// SO_LINGER's struct linger, SO_SNDTIMEO / SO_RCVTIMEO's struct timeval, TCP_CONGESTION's string.
    /// </summary>
    public static string? GetsockoptValueProblem(SocketOption option, ScriptExpr value, ScriptExpr? length)
    {
        if (OptvalInts(value) is { Length: > 1 and <= 9 } fields && option == SocketOption.SO_MEMINFO && IntValue(length ?? value) != 4 * fields.Length)
            return $"SO_MEMINFO's {fields.Length} ints are {4 * fields.Length} bytes: write the optlen [{4 * fields.Length}]";
        if (option == SocketOption.SO_LINGER && Linger(value) is not null) return null;
        if (option is SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO && Timeval(value) is not null) return null;
        if (option == SocketOption.TCP_CONGESTION) return value is StringExpr ? null : $"TCP_CONGESTION's value is a string (\"cubic\"), not {value}";
        int most = OptvalIntCount(option);
        return OptvalInts(value) is { Length: var n } && n <= most ? null
            : most == 1 ? $"cannot compare the value {value} of {option}: write one int ([N]){(option switch
            {
                SocketOption.SO_LINGER => " or a struct linger {onoff=N, linger=N}",
                SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO => " or a struct timeval {tv_sec=N, tv_usec=N}",
                _ => "",
            })}"
            : $"cannot compare the value {value} of {option}: write its u32 fields as ints, [N] to [N, N, N, N, N, N, N, N, N] (sk_get_meminfo()'s order)";
    }

    /// <summary>SO_LINGER's struct linger, <c>{onoff=1, linger=5}</c> (or l_onoff, l_linger; optionally in brackets), as ints; null if it is not one.</summary>
    public static (int OnOff, int Seconds)? Linger(ScriptExpr e) =>
        LingerMembers(e) is { } m && IntValue(m.OnOff) is { } onoff && IntValue(m.Linger) is { } secs ? (unchecked((int)onoff), unchecked((int)secs)) : null;

    /// <summary>The two members of a struct linger as written (onoff and linger, or l_onoff and l_linger); null if it is not one.</summary>
    public static (ScriptExpr OnOff, ScriptExpr Linger)? LingerMembers(ScriptExpr e)
    {
        if (e is ListExpr { Items: [var inner] }) e = inner;
        if (e is not StructExpr s) return null;
        return s.Field("onoff") is { } on && s.Field("l_onoff") is null && s.Field("linger") is { } l ? (on, l)
            : s.Field("l_onoff") is { } on2 && s.Field("l_linger") is { } l2 ? (on2, l2)
            : null;
    }

    /// <summary>
    /// SO_SNDTIMEO / SO_RCVTIMEO's struct timeval written <c>{tv_sec=1, tv_usec=500000}</c> (optionally in
    /// brackets); null if it is not one. tv_usec is passed unchecked: sock_set_timeout() answers EDOM.
    /// </summary>
    public static (long Sec, long Usec)? Timeval(ScriptExpr e)
    {
        if (e is ListExpr { Items: [var inner] }) e = inner;
        return e is StructExpr s && s.Field("tv_sec") is { } sec && IntValue(sec) is { } secs && s.Field("tv_usec") is { } usec && IntValue(usec) is { } usecs
            ? (secs, usecs)
            : null;
    }

    /// <summary>
    /// The option level a script names for an option: SOL_SOCKET for SO_*, IPPROTO_TCP (SOL_TCP) for TCP_*,
    /// IPPROTO_IP (SOL_IP) for IP_*; true when the words agree (a number or "..." is taken as written).
    /// </summary>
    public static bool LevelMatches(ScriptExpr level, SocketOption option)
    {
        if (level is not WordExpr { Word: var w }) return true;
        var name = option.ToString();
        return name.StartsWith("SO_", StringComparison.Ordinal) ? w == "SOL_SOCKET"
            : name.StartsWith("TCP_", StringComparison.Ordinal) ? w is "IPPROTO_TCP" or "SOL_TCP"
            : w is "IPPROTO_IP" or "SOL_IP";
    }

    /// <summary>The port a sockaddr argument names ({sa_family=AF_INET, sin_port=htons(80), …}); "..." is packetdrill's 8080.</summary>
    public static ushort PortOf(ScriptExpr e) =>
        e is StructExpr s && s.Field("sin_port") is { } port
            ? (ushort)(port switch { CallExpr { Arguments: [IntExpr p] } => p.Value, IntExpr p => p.Value, _ => PacketdrillRunner.ScriptPort })
            : PacketdrillRunner.ScriptPort;

    /// <summary>The engine request for a call; null when its descriptor is not one the script opened (EBADF).</summary>
    public static SocketCallRequest? ToRequest(SyscallEvent s, IReadOnlyDictionary<long, int> fds, out long? fd)
    {
        fd = null;
        var kind = Calls[s.Name];
        var args = s.Arguments;
        var request = new SocketCallRequest(PacketdrillRunner.LocalHost, PacketdrillRunner.Process, kind);
        if (kind == SocketCallKind.Socket) return request;
        var pollFd = kind == SocketCallKind.Poll && args[0] is ListExpr { Items: [var item] } ? PollFd(item) : null;
        fd = kind == SocketCallKind.Poll ? pollFd?.Fd : args.Length > 0 ? IntValue(args[0]) : null;
        if (fd is not { } f || !fds.TryGetValue(f, out var socketId)) return null;
        request = request with { SocketId = socketId };
        return kind switch
        {
            SocketCallKind.Bind => request with { Port = args.Length > 1 ? PortOf(args[1]) : PacketdrillRunner.ScriptPort },
            SocketCallKind.Listen => request with { Backlog = (int)(args.Length > 1 ? IntValue(args[1]) ?? 128 : 128) },
            SocketCallKind.Connect => request with
            {
                ToHost = PacketdrillRunner.RemoteHost,
                ToPort = args.Length > 1 ? PortOf(args[1]) : PacketdrillRunner.ScriptPort,
            },
            SocketCallKind.Send or SocketCallKind.Recv => request with
            {
                Bytes = args.Length > 2 ? IntValue(args[2]) ?? 0 : 0,
                Flags = args.Length > 3 ? MsgFlagsOf(args[3], kind == SocketCallKind.Send) ?? MsgFlags.None : MsgFlags.None,
            },
            SocketCallKind.Shutdown => request with
            {
                How = args.Length > 1 && args[1] is WordExpr { Word: var how } && Enum.TryParse<ShutdownHow>(how, out var h) ? h : ShutdownHow.SHUT_RDWR,
            },
            SocketCallKind.Setsockopt => SetOption(request, args),
            SocketCallKind.Getsockopt => request with { Option = OptionOf(args[2]) ?? SocketOption.SO_LINGER },
            SocketCallKind.Fcntl => request with { NonBlock = ((FileFlags(args[2]) ?? 0) & ONonblock) != 0 },
            SocketCallKind.Poll => request with { Events = pollFd!.Value.Events, TimeoutMs = (int)(IntValue(args[2]) ?? 0) },
            _ => request,
        };
    }

    static SocketCallRequest SetOption(SocketCallRequest request, System.Collections.Immutable.ImmutableArray<ScriptExpr> args)
    {
        var option = OptionOf(args[2])!.Value;
        if (option == SocketOption.SO_LINGER && Linger(args[3]) is { } l)
            return request with { Option = option, LingerOnOff = l.OnOff, Value = l.Seconds };
        if (option == SocketOption.TCP_CONGESTION)
            return request with { Option = option, Text = (args[3] as StringExpr)?.Text };
        if (option is SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO && Timeval(args[3]) is { } tv)
            return request with { Option = option, TvSec = tv.Sec, TvUsec = tv.Usec };
        return request with { Option = option, Value = (int)(IntValue(args[3]) ?? 0) };
    }
}
