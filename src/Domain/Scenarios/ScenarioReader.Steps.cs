using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using PollEvents = SimService.Domain.Tcp.PollEvents;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>Steps: kinds, times, call arguments and socket aliases.</summary>
internal sealed partial class ScenarioReader
{
    /// <summary>The member that makes a step of each kind other than call.</summary>
    static readonly string[] StepKinds = ["inject", "link", "sysctl", "kill", "workload", "expect"];
    /// <summary>The fields of a step of each of those kinds: "at" and the kind's member.</summary>
    static readonly FrozenDictionary<string, FrozenSet<string>> StepKindFields = StepKinds.ToFrozenDictionary(k => k, k => Set("at", k));
    static readonly FrozenSet<string> CallFields = Set("at", "host", "process", "call", "as", "socket", "port", "backlog", "reuseaddr", "to", "bind", "bytes", "how", "option", "value", "nonblock", "events", "timeout", "newfd", "family", "address", "flags", "resource", "soft", "hard", "expect");
    static readonly FrozenSet<string> CallArguments = Set("as", "socket", "port", "backlog", "reuseaddr", "to", "bind", "bytes", "how", "option", "value", "nonblock", "events", "timeout", "newfd", "family", "address", "flags", "resource", "soft", "hard");
    static readonly FrozenSet<string> InjectFields = Set("from", "to", "flags", "seq", "ack", "win", "len", "options");
    static readonly FrozenSet<string> LinkChangeFields = Set("between", "direction", "delay", "loss", "lossBySegment");
    static readonly FrozenSet<string> SysctlStepFields = Set("host", "values");
    static readonly FrozenSet<string> KillFields = Set("host", "process", "signal");
    static readonly FrozenSet<string> WorkloadFields = Set("clients", "generatedClients", "clientLinkDelay", "server", "port", "rate", "count",
        "duration", "requestBytes", "responseBytes", "thinkTime", "closeFirst", "closeStyle", "lingerSeconds", "reuseaddr", "linger2",
        "keepalive", "userTimeoutMs", "backlog", "resolution", "drainLimit", "level");
    static readonly FrozenSet<string> BindFields = Set("port", "reuseaddr");
    static readonly FrozenSet<string> LingerFields = Set("onoff", "linger");
    static readonly FrozenSet<string> TimevalFields = Set("sec", "usec");
    static readonly FrozenSet<string> PortRangeFields = Set("lo", "hi");

    /// <summary>Per call, the arguments it requires and the ones it allows (the schema's allOf/if/then).</summary>
    static readonly FrozenDictionary<SocketCall, (string[] Required, FrozenSet<string> Allowed)> CallRules =
        new Dictionary<SocketCall, (string[], FrozenSet<string>)>
        {
            [SocketCall.Socket] = (["as"], Set("as")),
            [SocketCall.Bind] = (["socket", "port"], Set("socket", "port", "address")),
            [SocketCall.Listen] = ([], Set("socket", "port", "backlog", "reuseaddr", "as", "address")),
            [SocketCall.Connect] = ([], Set("to", "socket", "bind", "as", "family")),
            [SocketCall.Accept] = (["socket"], Set("socket", "as")),
            [SocketCall.Send] = (["socket", "bytes"], Set("socket", "bytes", "flags")),
            [SocketCall.Recv] = (["socket"], Set("socket", "bytes", "flags")),
            [SocketCall.Shutdown] = (["socket", "how"], Set("socket", "how")),
            [SocketCall.Close] = (["socket"], Set("socket")),
            [SocketCall.Setsockopt] = (["socket", "option", "value"], Set("socket", "option", "value")),
            [SocketCall.Getsockopt] = (["socket", "option"], Set("socket", "option")),
            [SocketCall.Getpeername] = (["socket"], Set("socket")),
            [SocketCall.Fcntl] = (["socket", "nonblock"], Set("socket", "nonblock")),
            [SocketCall.Poll] = (["socket"], Set("socket", "events", "timeout")),
            [SocketCall.Dup] = (["socket"], Set("socket", "as")),
            [SocketCall.Dup2] = (["socket", "newfd"], Set("socket", "newfd", "as")),
            [SocketCall.Setrlimit] = (["resource", "soft"], Set("resource", "soft", "hard")),
        }.ToFrozenDictionary();

    /// <summary>Socket aliases defined so far: the host that holds the socket (null if that host is invalid) and the step that named it.</summary>
    readonly Dictionary<string, (string? Host, string Path)> _aliases = new(StringComparer.Ordinal);

    /// <summary>Every "as" of the document with its first step, to tell "defined later" from "never defined".</summary>
    readonly Dictionary<string, string> _aliasesAnywhere = new(StringComparer.Ordinal);

    ImmutableArray<ScenarioStep> Steps(JsonMember? member)
    {
        if (member is { Value.ValueKind: JsonValueKind.Array } array)
            foreach (var (item, i) in array.Value.EnumerateArray().Select((item, i) => (item, i)))
                if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("as", out var alias) && alias.ValueKind == JsonValueKind.String)
                    _aliasesAnywhere.TryAdd(alias.GetString()!, JsonPath.Item(array.Path, i));

        var steps = ImmutableArray.CreateBuilder<ScenarioStep>();
        var previous = SimTime.Zero;
        foreach (var item in Items(member))
        {
            var fields = Object(item);
            if (fields is null) continue;
            var at = StepTime(fields["at"], previous);
            previous = at ?? previous;
            var step = Step(fields, at ?? previous);
            if (step is not null && at is not null) steps.Add(step);
            // The alias of a step found invalid counts as defined (holder unknown): its error is reported once, at that step,
            // not again at every later step that uses the alias.
            if (fields["as"] is { Value.ValueKind: JsonValueKind.String } alias) _aliases.TryAdd(alias.Value.GetString()!, (null, fields.Path));
        }
        return steps.ToImmutable();
    }

    /// <summary>Resolves "at": absolute ("2s", never before the previous step) or relative ("+200ms"); omitted = "+0ms".</summary>
    SimTime? StepTime(JsonMember? member, SimTime previous)
    {
        if (member is not { } m) return previous;
        var text = Matching(m, ScenarioSyntax.StepTime(), "a step time (\"2s\" or \"+200ms\")");
        if (text is null) return null;
        bool relative = text.StartsWith('+');
        if (DurationValue(relative ? text[1..] : text, m.Path) is not { } d) return null;
        var at = relative ? (d.Ns <= ClockEnd - previous.Ns ? previous.Ns + d.Ns : long.MaxValue) : d.Ns;
        if (at > ClockEnd)
        {
            Error(m.Path, $"{(relative ? $"{previous}{text}" : text)} is past the clock's maximum, {SimTime.MaxClock.Ns} ns (100 years of virtual time)");
            return null;
        }
        if (relative || at >= previous.Ns) return new SimTime(at);
        Error(m.Path, $"{text} is before the previous step's time {previous}: times never go backwards");
        return null;
    }

    ScenarioStep? Step(JsonFields fields, SimTime at)
    {
        if (fields.Has("call")) return Call(fields, at);
        var kinds = StepKinds.Where(fields.Has).ToList();
        if (kinds.Count != 1)
        {
            Error(fields.Path, kinds.Count == 0
                ? "a step needs one of \"call\", \"inject\", \"link\", \"sysctl\", \"kill\", \"workload\", \"expect\""
                : $"a step has exactly one of \"call\", \"inject\", \"link\", \"sysctl\", \"kill\", \"workload\", \"expect\"; found {string.Join(", ", kinds.Select(k => $"\"{k}\""))}");
            return null;
        }
        var kind = kinds[0];
        ReportUnknown(fields, StepKindFields[kind]);
        var body = fields[kind]!.Value;
        return kind switch
        {
            "inject" => Inject(body, at, fields.Path),
            "link" => LinkChange(body, at, fields.Path),
            "sysctl" => SysctlChange(body, at, fields.Path),
            "kill" => Kill(body, at, fields.Path),
            "workload" => Workload(body, at, fields.Path),
            _ => StepExpect(body) is { } checks ? new ExpectStep(at, fields.Path, checks) : null,
        };
    }

    CallStep? Call(JsonFields f, SimTime at)
    {
        ReportUnknown(f, CallFields);
        var call = Enum(f["call"], ScenarioWireNames.Calls);
        var host = LinuxHost(Required(f, "host"));
        var process = f["process"] is { } p ? ProcessName(p) : CallStep.DefaultProcess;
        if (call is not { } c) return null;

        var (required, allowed) = CallRules[c];
        foreach (var name in required) Required(f, name);
        foreach (var (name, member) in f.Members)
            if (CallArguments.Contains(name) && !allowed.Contains(name))
                Error(member.Path, $"\"{name}\" is not an argument of {c.ToWireName()}");
        string wire = c.ToWireName();
        if (c is SocketCall.Listen) ExclusiveForms(f, "socket", ["port", "reuseaddr", "as"], "port", wire);
        if (c is SocketCall.Connect && f.Has("family"))
        {
            // connect(AF_UNSPEC): tcp_disconnect() of an existing socket, no address.
            if (!f.Has("socket")) Error(f.Path, "connect with \"family\": \"AF_UNSPEC\" needs \"socket\"");
            foreach (var name in (string[])["to", "bind", "as"])
                if (f[name] is { } m) Error(m.Path, $"\"{name}\" cannot be combined with \"family\" in connect");
        }
        else if (c is SocketCall.Connect)
        {
            Required(f, "to");
            ExclusiveForms(f, "socket", ["bind", "as"], null, wire);
        }

        // The socket acted on must exist before this step; the alias this step defines exists after it.
        var socket = Arg(f, "socket", allowed) is { } s ? SocketRef(s, host) : null;
        var port = Arg(f, "port", allowed) is { } pm ? Int32(pm, 0, 65535) : null;
        int? backlog = c == SocketCall.Listen ? (Arg(f, "backlog", allowed) is { } b ? Int32(b) : CallStep.DefaultBacklog) : null;
        bool? reuse = Arg(f, "reuseaddr", allowed) is { } r ? Bool(r) : false;
        var to = Arg(f, "to", allowed) is { } t ? ConnectTarget(t) : null;
        var bind = Arg(f, "bind", allowed) is { } bm ? BindValue(bm) : null;
        var bytes = Arg(f, "bytes", allowed) is { } by ? Count(by) : null;
        // A send the scenario's budget cannot deliver ran to the budget or the run's wall-time limit (EventBudgetBound).
        if (!stored && c == SocketCall.Send && bytes is { } sent && ScenarioRunOptions.SendBytesProblem(sent) is { } beyond)
            Error(f!["bytes"]!.Value.Path, beyond);
        var how = Arg(f, "how", allowed) is { } h ? Enum(h, ScenarioWireNames.Hows) : null;
        var option = Arg(f, "option", allowed) is { } o ? Enum(o, ScenarioWireNames.Options) : null;
        var value = option is { } opt && Arg(f, "value", allowed) is { } v ? SockoptValueOf(v, opt) : null;
        var nonblock = Arg(f, "nonblock", allowed) is { } nb ? Bool(nb) : null;
        int? events = c == SocketCall.Poll ? (Arg(f, "events", allowed) is { } ev ? PollEventsOf(ev) : PollEvents.POLLIN | PollEvents.POLLOUT) : null;
        var timeout = Arg(f, "timeout", allowed) is { } tm ? Int32(tm, -1) : null;
        var newfd = Arg(f, "newfd", allowed) is { } nf ? Int32(nf, 0, Engine.Simulation.NrOpen - 1) : null;
        bool? unspec = null;
        if (Arg(f, "family", allowed) is { } fam && String(fam) is { } family)
        {
            if (family == "AF_UNSPEC") unspec = true;
            else Error(fam.Path, "the only family connect takes here is \"AF_UNSPEC\" (an address is given with \"to\")");
        }
        uint? bindAddress = null;
        if (Arg(f, "address", allowed) is { } am && String(am) is { } addressText)
        {
            if (Ipv4Text.TryParse(addressText, out var parsed)) bindAddress = parsed;
            else Error(am.Path, $"\"{addressText}\" is not an IPv4 address (dotted quad, no leading zeros)");
            if (c == SocketCall.Listen && f["socket"] is not null) Error(am.Path, "a listen on an existing socket takes its address from bind");
        }
        var flags = Arg(f, "flags", allowed) is { } fl ? MsgFlagsOf(fl, c == SocketCall.Send) : null;
        if (Arg(f, "resource", allowed) is { } res && String(res) is { } resource && resource != "RLIMIT_NOFILE")
            Error(res.Path, $"\"{resource}\" is not a resource the engine limits; the only one is \"RLIMIT_NOFILE\"");
        // struct rlimit's rlim_cur and rlim_max (rlim_t, unsigned: no negative value); hard defaults to soft, as `ulimit -n N` sets both.
        var soft = Arg(f, "soft", allowed) is { } sm ? Count(sm) : null;
        var hard = Arg(f, "hard", allowed) is { } hm ? Count(hm) : soft;
        var expect = f["expect"] is { } e ? CallExpectation(e) : null;
        var alias = Arg(f, "as", allowed) is { } a ? DefineAlias(a, host, f.Path) : null;

        if (host is null || process is null || reuse is null) return null;
        return new CallStep(at, f.Path, host, process, c, alias, socket, port, backlog, reuse.Value, to, bind, bytes, how, option, value, expect,
            nonblock, events, timeout, newfd, unspec, bindAddress, flags, soft, hard);
    }

    /// <summary>send()/recv()'s flags: an array of names — send MSG_MORE, MSG_DONTWAIT, MSG_NOSIGNAL; recv MSG_PEEK, MSG_DONTWAIT.</summary>
    Tcp.MsgFlags? MsgFlagsOf(JsonMember member, bool sending)
    {
        var allowed = sending ? Tcp.MsgFlags.MSG_MORE | Tcp.MsgFlags.MSG_DONTWAIT | Tcp.MsgFlags.MSG_NOSIGNAL : Tcp.MsgFlags.MSG_PEEK | Tcp.MsgFlags.MSG_DONTWAIT;
        var flags = Tcp.MsgFlags.None;
        foreach (var item in Items(member, nonEmpty: true))
        {
            if (Enum(item, ScenarioWireNames.MsgFlagNames) is not { } flag) continue;
            if ((flag & allowed) == 0) Error(item.Path, $"{flag} is not a flag of {(sending ? "send" : "recv")} (it takes {(sending ? "MSG_MORE, MSG_DONTWAIT, MSG_NOSIGNAL" : "MSG_PEEK, MSG_DONTWAIT")})");
            flags |= flag;
        }
        return flags;
    }

    /// <summary>poll()'s events: a non-empty array of names ("POLLIN", "POLLOUT", ...).</summary>
    int? PollEventsOf(JsonMember member)
    {
        int mask = 0;
        foreach (var item in Items(member, nonEmpty: true))
        {
            var name = String(item);
            if (name is null) continue;
            int bit = PollEvents.Of(name);
            if (bit == 0) Error(item.Path, $"\"{name}\" is not a poll event ({string.Join(", ", PollEvents.Names.Select(n => n.Name))})");
            mask |= bit;
        }
        return mask;
    }

    /// <summary>A call argument this call allows (those it does not were reported once already).</summary>
    static JsonMember? Arg(JsonFields f, string name, FrozenSet<string> allowed) => allowed.Contains(name) ? f[name] : null;

    /// <summary>
    /// The schema's oneOf between acting on an existing socket and the convenience form: with
    /// <paramref name="socket"/>, none of <paramref name="convenienceOnly"/>; without it, <paramref name="convenienceRequires"/>.
    /// </summary>
    void ExclusiveForms(JsonFields f, string socket, string[] convenienceOnly, string? convenienceRequires, string call)
    {
        if (f.Has(socket))
        {
            foreach (var name in convenienceOnly)
                if (f[name] is { } m) Error(m.Path, $"\"{name}\" cannot be combined with \"socket\" in {call}");
        }
        else if (convenienceRequires is not null && !f.Has(convenienceRequires))
            Error(f.Path, $"{call} needs \"socket\" or \"{convenienceRequires}\"");
    }

    string? DefineAlias(JsonMember member, string? host, string stepPath)
    {
        var alias = NonEmptyString(member);
        if (alias is null) return null;
        if (_aliases.TryGetValue(alias, out var first))
        {
            Error(member.Path, $"alias \"{alias}\" is already defined by {first.Path}");
            return null;
        }
        _aliases[alias] = (host, stepPath);
        return alias;
    }

    /// <summary>An alias defined by an earlier step; with <paramref name="host"/>, one whose socket that host holds.</summary>
    string? SocketRef(JsonMember member, string? host) =>
        NonEmptyString(member) is { } alias ? AliasRef(alias, member.Path, host) : null;

    string? AliasRef(string alias, string path, string? host)
    {
        if (!_aliases.TryGetValue(alias, out var definition))
        {
            Error(path, _aliasesAnywhere.TryGetValue(alias, out var later)
                ? $"socket alias \"{alias}\" is used before {later} defines it"
                : $"unknown socket alias \"{alias}\"");
            return null;
        }
        if (host is null || definition.Host is null || definition.Host == host) return alias;
        Error(path, $"socket alias \"{alias}\" is a socket of host \"{definition.Host}\", not of \"{host}\"");
        return null;
    }

    /// <summary>An inject step's end, "host:port" (port 0–65535: see <see cref="ScenarioSyntax.HostPort"/>).</summary>
    HostPort? HostPortValue(JsonMember member) => HostPortValue(member, ScenarioSyntax.HostPort(), "\"host:port\" (port 0-65535)");

    HostPort? HostPortValue(JsonMember member, System.Text.RegularExpressions.Regex syntax, string expected)
    {
        var text = Matching(member, syntax, expected);
        if (text is null) return null;
        var match = syntax.Match(text);
        var host = match.Groups["host"].Value;
        return KnownHost(host, member.Path) ? new HostPort(host, int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture)) : null;
    }

    /// <summary>
    /// connect()'s "to": "host:port", or "address:port" with a dotted quad — 127.0.0.1 (loopback) or an address a host
    /// has besides its first — kept as text for the engine to route. Port 0 included: __inet_stream_connect() and
    /// tcp_v4_connect() check no port, so the SYN goes to port 0 (nothing can listen there: a RST, ECONNREFUSED).
    /// </summary>
    HostPort? ConnectTarget(JsonMember member)
    {
        if (member.Value.ValueKind == System.Text.Json.JsonValueKind.String && member.Value.GetString() is { } text
            && text.LastIndexOf(':') is var colon and > 0 && Ipv4Text.TryParse(text[..colon], out _))
        {
            if (int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535
                && text[(colon + 1)..] == port.ToString(CultureInfo.InvariantCulture))
                return new HostPort(text[..colon], port);
            Error(member.Path, "expected \"host:port\" or \"address:port\" (port 0-65535)");
            return null;
        }
        return HostPortValue(member, ScenarioSyntax.HostPort(), "\"host:port\" or \"address:port\" (port 0-65535)");
    }

    BindOptions? BindValue(JsonMember member)
    {
        var f = Object(member, BindFields);
        var port = Int32(Required(f, "port"), 0, 65535);
        var reuse = f?["reuseaddr"] is { } r ? Bool(r) : false;
        return port is { } p && reuse is { } ra ? new BindOptions(p, ra) : null;
    }

    /// <summary>setsockopt's value as the schema types it per option.</summary>
    SockoptValue? SockoptValueOf(JsonMember member, SocketOption option)
    {
        switch (option)
        {
            case SocketOption.SoLinger:
                var f = Object(member, LingerFields);
                var onoff = Int32(Required(f, "onoff"), 0, 1);
                var linger = Int32(Required(f, "linger"));
                return onoff is { } on && linger is { } secs ? new LingerSockoptValue(on, secs) : null;
            case SocketOption.SoSndTimeo or SocketOption.SoRcvTimeo:
                var tv = Object(member, TimevalFields);
                var sec = Integer(Required(tv, "sec"), long.MinValue, long.MaxValue);
                var usec = Integer(Required(tv, "usec"), long.MinValue, long.MaxValue);
                return sec is { } s && usec is { } us ? new TimevalSockoptValue(s, us) : null;
            case SocketOption.IpLocalPortRange:
                var range = Object(member, PortRangeFields);
                var lo = Int32(Required(range, "lo"), 0, 65535);
                var hi = Int32(Required(range, "hi"), 0, 65535);
                return lo is { } l && hi is { } h ? new PortRangeSockoptValue(l, h) : null;
            case SocketOption.TcpCongestion:
                // tcp_set_congestion_control(): a name no module has is the call's ENOENT, as the engine answers it; only a
                // module the kernel has and the engine does not run (bbr, dctcp, …: a real kernel would load it) is refused.
                if (String(member) is not { } name) return null;
                if (!Tcp.CongestionAlgorithms.Unmodelled.Contains(name)) return new StringSockoptValue(name);
                Error(member.Path, $"\"{name}\" is a congestion control the engine does not run (it runs \"reno\" and \"cubic\"; a name no module has fails ENOENT)");
                return null;
            case SocketOption.SoReuseAddr or SocketOption.SoReusePort or SocketOption.SoKeepAlive or SocketOption.IpBindAddressNoPort:
                return Int32(member, 0, 1) is { } flag ? new IntSockoptValue(flag) : null;
            default:
                return Int32(member) is { } n ? new IntSockoptValue(n) : null;
        }
    }

    CallExpect? CallExpectation(JsonMember member)
    {
        var f = Object(member, Set("result", "returnsAfter", "value"));
        if (f is null) return null;
        if (f.Members.Count == 0) Error(f.Path, "must not be empty");
        var result = f["result"] is { } r ? Result(r) : null;
        var returnsAfter = f["returnsAfter"] is { } ra ? Checked(ra) : null;
        string? value = null;
        if (f["value"] is { } v)
        {
            if (v.Value.ValueKind is JsonValueKind.Number or JsonValueKind.String or JsonValueKind.Object)
                value = System.Text.Json.JsonSerializer.Serialize(v.Value);
            else Error(v.Path, $"expected an integer, a string or an object, found {KindName(v.Value)}");
        }
        return new CallExpect(result, returnsAfter, value);
    }

    CallResult? Result(JsonMember member)
    {
        if (member.Value.ValueKind == JsonValueKind.Number)
            return Integer(member, long.MinValue, long.MaxValue) is { } n ? CallResult.Returns(n) : null;
        if (member.Value.ValueKind != JsonValueKind.String)
        {
            Error(member.Path, $"expected an integer or an errno name, found {KindName(member.Value)}");
            return null;
        }
        var name = member.Value.GetString()!;
        if (ErrnoName.TryParse(name, out var errno)) return CallResult.Fails(errno);
        Error(member.Path, $"\"{name}\" is not an errno name (ECONNRESET, EADDRNOTAVAIL, ...)");
        return null;
    }

    InjectStep? Inject(JsonMember member, SimTime at, string path)
    {
        var f = Object(member, InjectFields);
        var from = Required(f, "from") is { } fm ? HostPortValue(fm) : null;
        if (from is not null && _hostKinds[from.Host] != ScenarioHostKind.Scripted)
        {
            Error(f!["from"]!.Value.Path, $"host \"{from.Host}\" is not scripted: only a scripted host sends injected segments");
            from = null;
        }
        var to = Required(f, "to") is { } tm ? HostPortValue(tm) : null;
        var flags = Flags(Required(f, "flags"));
        if (flags is { } injected && injected.Has(TcpFlags.Ece) && !injected.Has(TcpFlags.Syn))
        {
            // tcp_ecn_rcv_ecn_echo() → tcp_enter_cwr(): the cwnd reduction an ECN echo starts is not modelled.
            Error(f!["flags"]!.Value.Path, "ECE on an injected segment without SYN: the cwnd reduction an ECN echo starts (tcp_ecn_rcv_ecn_echo()) is not modelled");
            flags = null;
        }
        else if (flags is { } synAck && synAck.Has(TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Cwr))
        {
            Error(f!["flags"]!.Value.Path, Tcp.TcpSocket.AccEcnSynAckRefused);
            flags = null;
        }
        var seq = SeqNo(Required(f, "seq"));
        var ack = f?["ack"] is { } a ? SeqNo(a) : null;
        var win = f?["win"] is { } w ? Int32(w, 0, 65535) : null;
        var len = f?["len"] is { } l ? Int32(l, 0, 65495) : null;
        var options = f?["options"] is { } o ? InjectOptionsOf(o) : null;
        return from is not null && to is not null && flags is { } fl && seq is { } s
            ? new InjectStep(at, path, from, to, fl, s, ack, win, len, options)
            : null;
    }

    TcpFlags? Flags(JsonMember? member)
    {
        var text = String(member);
        if (text is null) return null;
        if (TcpFlagsText.TryParse(text, out var flags)) return flags;
        Error(member!.Value.Path, $"\"{text}\" is not a set of packetdrill flags (S, F, R, P, \".\" for ACK, E for ECE and W for CWR, each at most once)");
        return null;
    }

    uint? SeqNo(JsonMember? member) => (uint?)Integer(member, 0, uint.MaxValue);

    LinkStep? LinkChange(JsonMember member, SimTime at, string path)
    {
        var f = Object(member, LinkChangeFields);
        if (f is null) return null;
        var between = Between(Required(f, "between"));
        if (between is var (a, b) && !_joined.Contains(ScenarioLink.Pair(a, b)))
        {
            Error(f["between"]!.Value.Path, $"there is no link between {a} and {b}");
            between = null;
        }
        LinkDirection? direction = null;
        if (f["direction"] is { } dm && Matching(dm, ScenarioSyntax.Direction(), "a direction \"a->b\"") is { } text)
        {
            var match = ScenarioSyntax.Direction().Match(text);
            direction = new LinkDirection(match.Groups["from"].Value, match.Groups["to"].Value);
            if (between is var (x, y) && !((direction.From, direction.To) == (x, y) || (direction.From, direction.To) == (y, x)))
                Error(dm.Path, $"\"{text}\" does not go between {x} and {y}");
        }
        if (!f.Has("delay") && !f.Has("loss") && !f.Has("lossBySegment")) Error(f.Path, "a link change needs \"delay\", \"loss\" or \"lossBySegment\"");
        var delay = f["delay"] is { } d ? Duration(d) : null;
        var loss = f["loss"] is { } l ? Number(l, 0, 1) : null;
        bool? bySegment = f["lossBySegment"] is { } bs ? Bool(bs) : null;
        if (bySegment is not null && f["direction"] is not null)
            Error(f["lossBySegment"]!.Value.Path, "lossBySegment is the whole link's (both directions share one draw): change it without \"direction\"");
        return between is var (la, lb) ? new LinkStep(at, path, la, lb, direction, delay, loss, bySegment) : null;
    }

    SysctlStep? SysctlChange(JsonMember member, SimTime at, string path)
    {
        var f = Object(member, SysctlStepFields);
        var host = LinuxHost(Required(f, "host"));
        var values = Required(f, "values");
        return host is not null && values is { } v ? new SysctlStep(at, path, host, Sysctls(v, host, nonEmpty: true)) : null;
    }

    KillStep? Kill(JsonMember member, SimTime at, string path)
    {
        var f = Object(member, KillFields);
        var host = LinuxHost(Required(f, "host"));
        var process = f?["process"] is { } p ? ProcessName(p) : CallStep.DefaultProcess;
        var signal = Enum(Required(f, "signal"), ScenarioWireNames.Signals);
        return host is not null && process is not null && signal is { } s ? new KillStep(at, path, host, process, s) : null;
    }

    /// <summary>A workload step: the fields of <see cref="Workloads.WorkloadSpec"/>, durations as text, enums in kebab case.</summary>
    WorkloadStep? Workload(JsonMember member, SimTime at, string path)
    {
        var f = Object(member, WorkloadFields);
        if (f is null) return null;
        int errors = ErrorCount;
        var d = new Workloads.WorkloadSpec();
        // The hosts only, not a member and a path per client (review40a S-2): a path is made again for an error.
        var clients = Items(f["clients"], nonEmpty: true).Select(c => LinuxHost(c)).ToList();
        var server = LinuxHost(Required(f, "server"));
        // Workload.Start's rule, at the field the API's request names (tester38 LOW-8: VALID, then a run error at the step).
        for (int j = 0; j < clients.Count; j++)
            if (!stored && server is not null && clients[j] == server) Error(JsonPath.Item(f["clients"]!.Value.Path, j), "a client cannot be the server");
        var spec = d with
        {
            Clients = [.. clients.Where(c => c is not null).Select(c => c!)],
            GeneratedClients = f["generatedClients"] is { } g ? Int32(g, 1, Workloads.WorkloadSpec.MaxGeneratedClients) ?? 0 : 0,
            ClientLinkDelay = f["clientLinkDelay"] is { } cd ? Duration(cd) ?? d.ClientLinkDelay : d.ClientLinkDelay,
            Server = server ?? "",
            Port = f["port"] is { } p ? (ushort)(Integer(p, 1, 65535) ?? d.Port) : d.Port,
            Rate = f["rate"] is { } rt ? Number(rt, 1e-6, 1e9) ?? d.Rate : d.Rate, // 100 when left out, as the API's
            Count = f["count"] is { } n ? Integer(n, 1, Workloads.WorkloadSpec.MaxCount) ?? 0 : 0,
            Duration = f["duration"] is { } du ? Duration(du) ?? default : default,
            RequestBytes = f["requestBytes"] is { } rq ? Count(rq) ?? d.RequestBytes : d.RequestBytes,
            ResponseBytes = f["responseBytes"] is { } rs ? Count(rs) ?? d.ResponseBytes : d.ResponseBytes,
            ThinkTime = f["thinkTime"] is { } tt ? Duration(tt) ?? default : default,
            CloseFirst = f["closeFirst"] is { } cf ? Enum(cf, ScenarioWireNames.CloseFirsts) ?? d.CloseFirst : d.CloseFirst,
            CloseStyle = f["closeStyle"] is { } cs ? Enum(cs, ScenarioWireNames.CloseStyles) ?? d.CloseStyle : d.CloseStyle,
            LingerSeconds = f["lingerSeconds"] is { } ls ? Int32(ls, 0, 3600) ?? 0 : 0,
            ReuseAddr = f["reuseaddr"] is { } ra && (Bool(ra) ?? false),
            Linger2 = f["linger2"] is { } l2 ? Int32(l2) : null,
            KeepAlive = f["keepalive"] is { } ka && (Bool(ka) ?? false),
            UserTimeoutMs = f["userTimeoutMs"] is { } ut ? Int32(ut, 0) ?? 0 : 0,
            Backlog = f["backlog"] is { } bl ? Int32(bl) ?? d.Backlog : d.Backlog,
            Resolution = f["resolution"] is { } re ? Duration(re) ?? d.Resolution : d.Resolution,
            DrainLimit = f["drainLimit"] is { } dl ? Duration(dl) ?? d.DrainLimit : d.DrainLimit,
            Level = f["level"] is { } lv ? Enum(lv, ScenarioWireNames.JournalLevels) ?? d.Level : d.Level,
        };
        // A field refused by its own rule is reported once, there: the spec's checks would see its stand-in (a generatedClients
        // of 200001 read as none was also "give client hosts or a count of generated clients" at the workload, tester35 LOW-3).
        if (server is null || clients.Any(c => c is null) || ErrorCount > errors) return null;
        if (spec.Validate() is { } invalid)
        {
            Error(WorkloadField(JsonPath.Member(path, "workload"), invalid.Field, f), invalid.Message);
            return null;
        }
        if (!stored && spec.RequestRefusal("duration", f["lingerSeconds"] is not null) is { } refused)
        {
            Error(JsonPath.Member(JsonPath.Member(path, "workload"), refused.Field!), refused.Message);
            return null;
        }
        if (f["resolution"] is null) spec = spec.WithDefaultResolution(); // a default that fits the bound, not a refusal
        if (!stored && spec.SeriesTooFine() is { } tooFine)
        {
            Error(JsonPath.Member(JsonPath.Member(path, "workload"), "resolution"), tooFine);
            return null;
        }
        if (!stored && spec.BeyondEventBudget(ScenarioRunOptions.DefaultEventBudget) is { } beyond)
        {
            Error(JsonPath.Member(JsonPath.Member(path, "workload"), beyond.Field!), beyond.Message);
            return null;
        }
        var step = new WorkloadStep(at, path, spec, ResolutionDefaulted: f["resolution"] is null);
        if (!stored && _runningWorkload is { } running && running.StillRunningAt(at))
        {
            // Simulation.StartWorkload's rule where it is sure to hold: before its last arrival (or at its own instant) a workload
            // is never done, so the engine refuses this step when it comes (tester38 LOW-9: VALID, then a run error).
            Error(path, $"the workload of {running.Path} is still running at {at} (its last connection starts at {running.LastArrival}):"
                + " one workload runs at a time; start this one after it ends");
            return null;
        }
        _runningWorkload = step;
        return step;
    }

    /// <summary>The last workload step read: the one a later workload step must not overlap.</summary>
    WorkloadStep? _runningWorkload;

    /// <summary>
    /// The path of the workload's field a spec check named (tester38 LOW-13: a resolution under 1 ms, a duration of 0 were
    /// reported at the step's <c>workload</c>, where every other field is named): the check's field as the document spells
    /// it — "count or a positive duration" at <c>duration</c> when the step gave a duration — or the workload itself.
    /// </summary>
    static string WorkloadField(string workload, string? field, JsonFields given)
    {
        if (field is null) return workload;
        if (field == "count" && given["count"] is null && given["duration"] is not null) field = "duration";
        int bracket = field.IndexOf('[', StringComparison.Ordinal);
        return bracket < 0 ? JsonPath.Member(workload, field) : JsonPath.Member(workload, field[..bracket]) + field[bracket..];
    }
}
