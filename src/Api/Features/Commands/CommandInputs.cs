using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using SimService.Api.Features.Clock;
using SimService.Api.Features.Hosts;
using SimService.Api.Features.Links;
using SimService.Api.Features.Processes;
using SimService.Api.Features.Sockets;
using SimService.Api.Infrastructure;
using SimService.Domain.Commands;
using SimService.Domain.Network;
using ScenarioRunOptions = SimService.Domain.Scenarios.ScenarioRunOptions;
using SimService.Domain.Tcp;
using SimService.Domain.Text;
using SimService.Domain.Time;

namespace SimService.Api.Features.Commands;

/// <summary>
/// One command of a batch, by its <c>type</c>: the same commands the other endpoints make, with the fields of
/// their requests (a call names its host or socket in the body). Durations are integer nanoseconds or
/// the scenario format's text ("60s", "1.5ms").
/// </summary>
[JsonConverter(typeof(PolymorphicInputConverter<CommandInput>))]
public abstract record CommandInput : IPolymorphicInput
{
    /// <summary>Every <c>type</c> and the record it reads into, in the order the problem lists them.</summary>
    public static IReadOnlyList<(string Type, Type Record)> Types { get; } =
    [
        ("add-host", typeof(AddHostInput)),
        ("add-link", typeof(AddLinkInput)),
        ("change-link", typeof(ChangeLinkInput)),
        ("set-sysctls", typeof(SetSysctlsInput)),
        ("call", typeof(CallInput)),
        ("kill", typeof(KillInput)),
        ("advance", typeof(AdvanceInput)),
    ];

    static IReadOnlyList<(string Type, Type Record)> IPolymorphicInput.Types => Types;
}

/// <summary>Adds a host, as POST /hosts.</summary>
public sealed record AddHostInput(string? Name, string? Address, string? Kind, Dictionary<string, JsonElement>? Sysctls, string[]? Addresses = null) : CommandInput;

/// <summary>Joins two hosts, as POST /links.</summary>
public sealed record AddLinkInput(string[]? Between, [property: JsonConverter(typeof(DurationNsConverter))] long? DelayNs, double? Loss,
    bool? LossBySegment = null) : CommandInput;

/// <summary>Changes a link, as PATCH /links/{from}/{to} with between = [from, to].</summary>
public sealed record ChangeLinkInput(string[]? Between, bool? OneWay, [property: JsonConverter(typeof(DurationNsConverter))] long? DelayNs,
    double? Loss, bool? Blackhole, bool? LossBySegment = null) : CommandInput;

/// <summary>Writes sysctls on a host, in order, as PATCH /hosts/{host}/sysctls.</summary>
public sealed record SetSysctlsInput(string? Host, Dictionary<string, JsonElement>? Values) : CommandInput;

/// <summary>
/// A system call, as the socket endpoints make it. <c>socketId</c> names the socket for calls on one (its host
/// is the socket's); socket, listen with a port and connect without a socket are made on <c>host</c>.
/// </summary>
/// <param name="Call">socket, bind, listen, connect, accept, send, recv, shutdown, close, setsockopt, getsockopt, getpeername, fcntl, poll, dup, dup2, setrlimit.</param>
/// <param name="Value">setsockopt's value: an integer, {"onoff": 1, "linger": 0} for SO_LINGER, {"sec": 1, "usec": 0} for SO_SNDTIMEO and SO_RCVTIMEO, {"lo": 40000, "hi": 40009} for IP_LOCAL_PORT_RANGE.</param>
/// <param name="Nonblock">fcntl's O_NONBLOCK.</param>
/// <param name="Events">poll's requested events (default POLLIN and POLLOUT).</param>
/// <param name="TimeoutMs">poll's timeout in milliseconds (0 at once, -1 without limit).</param>
/// <param name="Fd">The descriptor of the socket the call goes through (default the socket's own; 0 is descriptor 0, under engine rules 2 and older the socket's own).</param>
/// <param name="NewFd">dup2's newfd.</param>
/// <param name="Family">connect's AF_UNSPEC (instead of to): tcp_disconnect().</param>
/// <param name="Flags">send's MSG_MORE, MSG_DONTWAIT, MSG_NOSIGNAL; recv's MSG_PEEK, MSG_DONTWAIT.</param>
/// <param name="Resource">setrlimit's resource: RLIMIT_NOFILE (setrlimit is made on a host, by its process).</param>
/// <param name="Soft">setrlimit's rlim_cur.</param>
/// <param name="Hard">setrlimit's rlim_max (default soft).</param>
public sealed record CallInput(string? Call, string? Host, string? Process, int? SocketId, int? Port, int? Backlog, bool? ReuseAddr,
    string? To, BindOptions? Bind, long? Bytes, string? How, string? Option, JsonElement? Value,
    bool? Nonblock = null, string[]? Events = null, int? TimeoutMs = null, int? Fd = null, int? NewFd = null, string? Family = null,
    string? Address = null, string[]? Flags = null, string? Resource = null, long? Soft = null, long? Hard = null) : CommandInput;

/// <summary>Kills a process, as POST /hosts/{host}/processes/{process}/kill.</summary>
public sealed record KillInput(string? Host, string? Process, string? Signal) : CommandInput;

/// <summary>Advances the clock, as POST /advance.</summary>
public sealed record AdvanceInput([property: JsonConverter(typeof(DurationNsConverter))] long? ByNs,
    [property: JsonConverter(typeof(DurationNsConverter))] long? ToNs, bool? UntilIdle,
    [property: JsonConverter(typeof(DurationNsConverter))] long? MaxNs, long? EventBudget) : CommandInput;

/// <summary>Checks a batch item's shape before anything runs, and builds its commands against the live engine.</summary>
internal sealed partial class CommandInputReader(Dictionary<string, string[]> errors)
{
    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex HostName();

    private void Error(string field, string message) => errors[field] = [message];

    private bool Required(object? value, string field)
    {
        if (value is null or "") Error(field, "This field is required.");
        return value is not (null or "");
    }

    /// <summary>Shape checks that need no engine; errors are keyed by <paramref name="prefix"/> + field.</summary>
    public void Check(CommandInput? input, string prefix)
    {
        switch (input)
        {
            case null:
                Error(prefix.TrimEnd('.'), "A command is an object with a \"type\".");
                break;
            case AddHostInput h:
                if (Required(h.Name, prefix + "name") && (h.Name!.Length > 63 || !HostName().IsMatch(h.Name)))
                    Error(prefix + "name", "A host name is a lower-case letter followed by lower-case letters, digits and '-'.");
                Required(h.Address, prefix + "address");
                if (h.Kind is not (null or "linux" or "scripted")) Error(prefix + "kind", "The kind is \"linux\" or \"scripted\".");
                SysctlValues.ToText(h.Sysctls, prefix + "sysctls.", errors);
                break;
            case AddLinkInput l:
                Between(l.Between, prefix);
                if (l.DelayNs is < 0) Error(prefix + "delayNs", "The delay must be zero or positive.");
                if (l.Loss is < 0 or > 1) Error(prefix + "loss", "The loss is a probability between 0 and 1.");
                break;
            case ChangeLinkInput c:
                Between(c.Between, prefix);
                if (c.DelayNs is < 0) Error(prefix + "delayNs", "The delay must be zero or positive.");
                if (c.Loss is < 0 or > 1) Error(prefix + "loss", "The loss is a probability between 0 and 1.");
                if (c.DelayNs is null && c.Loss is null && c.Blackhole is null && c.LossBySegment is null)
                    Error(prefix.TrimEnd('.'), "Give at least one of delayNs, loss, blackhole and lossBySegment.");
                break;
            case SetSysctlsInput s:
                Required(s.Host, prefix + "host");
                if (s.Values is not { Count: > 0 }) Error(prefix + "values", "Name at least one sysctl to write.");
                SysctlValues.ToText(s.Values, prefix + "values.", errors);
                break;
            case CallInput call:
                CheckCall(call, prefix);
                break;
            case KillInput k:
                Required(k.Host, prefix + "host");
                Required(k.Process, prefix + "process");
                if (k.Signal is not null && !SignalNameAttribute.Names.Contains(k.Signal))
                    Error(prefix + "signal", $"Unknown signal; expected one of {string.Join(", ", SignalNameAttribute.Names)}.");
                break;
            case AdvanceInput a:
                if (a.ByNs is < 0) Error(prefix + "byNs", "byNs is a duration: zero or positive.");
                if (a.ToNs is < 0) Error(prefix + "toNs", "toNs is a virtual time: zero or positive.");
                if (a.MaxNs is < 0) Error(prefix + "maxNs", "maxNs is a duration: zero or positive.");
                if (a.EventBudget is < 1 or > AdvanceRequest.MaxEventBudget) Error(prefix + "eventBudget", $"The event budget is between 1 and {AdvanceRequest.MaxEventBudget}.");
                if (!Advance(a).ToCommand(Guid.Empty, prefix).TryGet(out _, out var invalid))
                    foreach (var (field, messages) in ((Infrastructure.RequestInvalid)invalid).Errors) errors[field] = messages;
                break;
        }
    }

    private void Between(string[]? between, string prefix)
    {
        if (between is not { Length: 2 } || between.Any(string.IsNullOrEmpty)) Error(prefix + "between", "A link joins exactly two hosts.");
    }

    private static readonly string[] Calls = [.. Enum.GetNames<SocketCallKind>().Select(n => n.ToLowerInvariant())];

    private void CheckCall(CallInput c, string prefix)
    {
        if (!Required(c.Call, prefix + "call")) return;
        if (!Calls.Contains(c.Call))
        {
            Error(prefix + "call", $"Unknown call; expected one of {string.Join(", ", Calls)}.");
            return;
        }
        var kind = Kind(c);
        bool onHost = kind is SocketCallKind.Socket or SocketCallKind.Setrlimit || (kind == SocketCallKind.Listen && c.SocketId is null) || (kind == SocketCallKind.Connect && c.SocketId is null);
        if (onHost) Required(c.Host, prefix + "host");
        else Required(c.SocketId, prefix + "socketId");
        // socket() and setrlimit() name their host and process, as their endpoints' paths do (whose bodies take no socketId):
        // a socketId would pick the socket's host instead of the one the item names.
        if (kind is SocketCallKind.Socket or SocketCallKind.Setrlimit && c.SocketId is not null)
            Error(prefix + "socketId", $"{c.Call} takes no socketId: it acts on the process the item's host and process name.");
        // As the call's own endpoint body would (an unknown member is a 400 there): an argument of another call is refused.
        string[] takes = Arguments(kind, onHost);
        foreach (var (member, given) in Given(c))
            if (given && !takes.Contains(member))
                Error(prefix + member, $"{c.Call}{(onHost ? " on a host" : "")} takes no {member}"
                    + (takes.Length == 0 ? "." : $"; its arguments are {string.Join(", ", takes)}."));
        if (c.Process is { } process && TextLength.Characters(process) is 0 or > SimProcess.NameMaxLength)
            Error(prefix + "process", $"A process name has 1 to {SimProcess.NameMaxLength} characters.");
        if (c.Port is < 0 or > 65535) Error(prefix + "port", "A port is between 0 and 65535.");
        // backlog: any int, as __sys_listen_socket() takes it (a negative or too big one is somaxconn).
        if (c.Bind?.Port is < 0 or > 65535) Error(prefix + "bind.port", "A port is between 0 and 65535.");
        if (c.Fd is < 0 or >= Domain.Engine.Simulation.NrOpen) Error(prefix + "fd", $"fd is a descriptor from 0 to {Domain.Engine.Simulation.NrOpen - 1}.");
        switch (kind)
        {
            case SocketCallKind.Bind or SocketCallKind.Listen when kind == SocketCallKind.Bind || c.SocketId is null:
                Required(c.Port, prefix + "port");
                if (c.Address is { } address && !System.Text.RegularExpressions.Regex.IsMatch(address, SocketArguments.Ipv4Pattern))
                    Error(prefix + "address", "An address is a dotted quad such as 127.0.0.1.");
                break;
            case SocketCallKind.Connect when c.Family is not null:
                if (c.Family != "AF_UNSPEC") Error(prefix + "family", "family is AF_UNSPEC (connect(AF_UNSPEC) disconnects the socket).");
                else if (c.To is not null) Error(prefix + "to", "connect takes either to or family AF_UNSPEC, not both.");
                else if (c.SocketId is null) Error(prefix + "socketId", "connect(AF_UNSPEC) acts on an existing socket.");
                break;
            case SocketCallKind.Connect:
                if (Required(c.To, prefix + "to") && !Regex.IsMatch(c.To!, SocketArguments.HostPortPattern))
                    Error(prefix + "to", SocketArguments.HostPortMessage);
                break;
            case SocketCallKind.Send:
                if (Required(c.Bytes, prefix + "bytes") && c.Bytes < 0) Error(prefix + "bytes", "bytes is zero or positive.");
                else if (c.Bytes is { } sent && ScenarioRunOptions.SendBytesProblem(sent) is { } beyond) Error(prefix + "bytes", beyond);
                if (SocketArguments.MsgFlagsOf(c.Flags, sending: true, out var sendFlags) is null) Error(prefix + "flags", sendFlags!);
                break;
            case SocketCallKind.Recv:
                if (c.Bytes is < 0) Error(prefix + "bytes", "bytes is zero or positive (omit it to read all).");
                if (SocketArguments.MsgFlagsOf(c.Flags, sending: false, out var recvFlags) is null) Error(prefix + "flags", recvFlags!);
                break;
            case SocketCallKind.Shutdown:
                if (Required(c.How, prefix + "how") && c.How is not ("SHUT_RD" or "SHUT_WR" or "SHUT_RDWR"))
                    Error(prefix + "how", "how is SHUT_RD, SHUT_WR or SHUT_RDWR.");
                break;
            case SocketCallKind.Setsockopt or SocketCallKind.Getsockopt:
                if (Required(c.Option, prefix + "option") && !Enum.GetNames<SocketOption>().Contains(c.Option))
                    Error(prefix + "option", $"Unknown socket option; expected one of {string.Join(", ", Enum.GetNames<SocketOption>())}.");
                else if (kind == SocketCallKind.Setsockopt && Required(c.Value, prefix + "value")
                    && SocketArguments.WithOptionValue(new SocketCallRequest("", "", kind), Enum.Parse<SocketOption>(c.Option!), c.Value!.Value, out var why) is null)
                    Error(prefix + "value", why!);
                break;
            case SocketCallKind.Fcntl: Required(c.Nonblock, prefix + "nonblock"); break;
            case SocketCallKind.Poll when new PollRequest { Events = c.Events }.Mask(out var unknown) is null:
                Error(prefix + "events", $"'{unknown}' is not a poll event.");
                break;
            case SocketCallKind.Dup2:
                if (Required(c.NewFd, prefix + "newFd") && c.NewFd is < 0 or >= Domain.Engine.Simulation.NrOpen)
                    Error(prefix + "newFd", $"newFd is a descriptor from 0 to {Domain.Engine.Simulation.NrOpen - 1}.");
                break;
            case SocketCallKind.Setrlimit:
                if (Required(c.Resource, prefix + "resource") && c.Resource != "RLIMIT_NOFILE")
                    Error(prefix + "resource", "The only resource the engine limits is RLIMIT_NOFILE.");
                if (Required(c.Soft, prefix + "soft") && c.Soft < 0) Error(prefix + "soft", "soft is an rlim_t: zero or positive.");
                if (c.Hard is < 0) Error(prefix + "hard", "hard is an rlim_t: zero or positive.");
                break;
            case SocketCallKind.Poll when c.TimeoutMs is < -1:
                Error(prefix + "timeoutMs", "timeoutMs is -1 (no limit), 0 (at once) or a number of milliseconds.");
                break;
        }
    }

    /// <summary>
    /// What a call takes besides call, host, process and socketId: the members of its endpoint's body. socket() and the
    /// listen/connect conveniences make a socket on a host, so they name no descriptor (fd).
    /// </summary>
    private static string[] Arguments(SocketCallKind kind, bool onHost) => kind switch
    {
        SocketCallKind.Socket => [],
        SocketCallKind.Setrlimit => ["resource", "soft", "hard"],
        SocketCallKind.Listen when onHost => ["port", "backlog", "reuseAddr", "address"],
        SocketCallKind.Listen => ["fd", "backlog"],
        SocketCallKind.Connect when onHost => ["to", "bind"],
        SocketCallKind.Connect => ["fd", "to", "family"],
        SocketCallKind.Bind => ["fd", "port", "address"],
        SocketCallKind.Send or SocketCallKind.Recv => ["fd", "bytes", "flags"],
        SocketCallKind.Shutdown => ["fd", "how"],
        SocketCallKind.Setsockopt => ["fd", "option", "value"],
        SocketCallKind.Getsockopt => ["fd", "option"],
        SocketCallKind.Fcntl => ["fd", "nonblock"],
        SocketCallKind.Poll => ["fd", "events", "timeoutMs"],
        SocketCallKind.Dup2 => ["fd", "newFd"],
        _ => ["fd"], // accept, close, getpeername, dup
    };

    /// <summary>Each call argument of a batch item by its JSON name, and whether the item gives it.</summary>
    private static IEnumerable<(string Member, bool Given)> Given(CallInput c) =>
    [
        ("port", c.Port is not null), ("backlog", c.Backlog is not null), ("reuseAddr", c.ReuseAddr is not null),
        ("to", c.To is not null), ("bind", c.Bind is not null), ("bytes", c.Bytes is not null), ("how", c.How is not null),
        ("option", c.Option is not null), ("value", c.Value is not null), ("nonblock", c.Nonblock is not null),
        ("events", c.Events is not null), ("timeoutMs", c.TimeoutMs is not null), ("fd", c.Fd is not null),
        ("newFd", c.NewFd is not null), ("family", c.Family is not null), ("address", c.Address is not null),
        ("flags", c.Flags is not null), ("resource", c.Resource is not null), ("soft", c.Soft is not null), ("hard", c.Hard is not null),
    ];

    public static SocketCallKind Kind(CallInput c) => Enum.Parse<SocketCallKind>(c.Call!, ignoreCase: true);

    public static AdvanceRequest Advance(AdvanceInput a) => new()
    {
        ByNs = a.ByNs, ToNs = a.ToNs, UntilIdle = a.UntilIdle, MaxNs = a.MaxNs, EventBudget = a.EventBudget,
    };

    /// <summary>The commands of a checked item (several for set-sysctls).</summary>
    public static IReadOnlyList<SimCommand> Commands(CommandInput input) => input switch
    {
        AddHostInput h => [new AddHostCommand(h.Name!, h.Address!, h.Kind == "scripted" ? HostKind.Scripted : HostKind.Linux,
            SysctlValues.ToText(h.Sysctls, "", []), Addresses: h.Addresses is { Length: > 0 } more ? more : null)],
        AddLinkInput l => [new AddLinkCommand(l.Between![0], l.Between[1], new SimDuration(l.DelayNs ?? AddLinkRequest.DefaultDelayNs), l.Loss ?? 0, l.LossBySegment ?? false)],
        ChangeLinkInput c => [new ChangeLinkCommand(c.Between![0], c.Between[1], c.OneWay ?? false,
            c.DelayNs is { } d ? new SimDuration(d) : null, c.Loss, c.Blackhole, c.LossBySegment)],
        SetSysctlsInput s => [.. SysctlValues.ToText(s.Values, "", []).Select(v => new SetSysctlCommand(s.Host!, v.Key, v.Value))],
        KillInput k => [new KillCommand(k.Host!, k.Process!, k.Signal ?? "SIGKILL")],
        AdvanceInput a => [Advance(a).ToCommand(Guid.Empty).Match(c => c, _ => throw new InvalidOperationException("unchecked advance"))],
        _ => throw new InvalidOperationException($"{input.GetType().Name} is built against the engine"),
    };

    /// <summary>A call's request; the socket's host and owner fill in what the item leaves out.</summary>
    public static SocketCallRequest? Call(CallInput c, Domain.Engine.Simulation engine)
    {
        var kind = Kind(c);
        string host;
        string? owner = null;
        if (c.SocketId is { } socketId)
        {
            if (engine.HostOfSocket(socketId) is not { } socketHost) return null;
            host = socketHost.Name;
            owner = engine.FindSocket(socketId)?.Owner?.Name;
        }
        else host = c.Host!;
        var request = new SocketCallRequest(host, c.Process ?? owner ?? IssueSocketCallHandler.DefaultProcess, kind)
        {
            SocketId = c.SocketId ?? 0,
            Port = (ushort)(c.Port ?? 0),
            Backlog = c.Backlog ?? 128,
            ReuseAddr = c.ReuseAddr ?? false,
            BindPort = (ushort?)c.Bind?.Port,
            BindReuseAddr = c.Bind?.ReuseAddr ?? false,
            Bytes = c.Bytes ?? -1,
            How = c.How is null ? default : Enum.Parse<ShutdownHow>(c.How),
            NonBlock = c.Nonblock ?? false,
            Flags = kind is SocketCallKind.Send or SocketCallKind.Recv ? SocketArguments.MsgFlagsOf(c.Flags, kind == SocketCallKind.Send, out _) ?? MsgFlags.None : MsgFlags.None,
            Events = kind == SocketCallKind.Poll ? new PollRequest { Events = c.Events }.Mask(out _) ?? 0 : 0,
            TimeoutMs = kind == SocketCallKind.Poll ? c.TimeoutMs ?? 0 : 0,
            Fd = c.Fd,
            NewFd = c.NewFd ?? 0,
            Unspec = kind == SocketCallKind.Connect && c.Family == "AF_UNSPEC",
            Address = kind is SocketCallKind.Bind or SocketCallKind.Listen ? c.Address : null,
            RlimCur = c.Soft ?? 0,
            RlimMax = c.Hard ?? c.Soft ?? 0,
        };
        if (c.To is not null)
        {
            var (toHost, toPort) = SocketArguments.HostPort(c.To);
            request = request with { ToHost = toHost, ToPort = toPort };
        }
        if (c.Option is not null)
        {
            var option = Enum.Parse<SocketOption>(c.Option);
            request = request with { Option = option };
            if (c.Value is { } value) request = SocketArguments.WithOptionValue(request, option, value, out _) ?? request;
        }
        return request;
    }
}
