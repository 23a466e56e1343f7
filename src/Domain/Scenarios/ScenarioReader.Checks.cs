using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;

namespace SimService.Domain.Scenarios;

/// <summary>Checks: expect steps and the final expect.</summary>
internal sealed partial class ScenarioReader
{
    static readonly FrozenSet<string> StepExpectFields = Set("sockets", "sockstat", "counters", "dmesg");
    static readonly FrozenSet<string> FinalExpectFields = Set("sockets", "sockstat", "counters", "dmesg", "packets", "packetsExact", "noPackets", "data");
    static readonly FrozenSet<string> SocketCheckFields = Set("socket", "host", "local", "remote", "state", "count", "timer", "timerLeft");
    static readonly FrozenSet<string> SockstatFields = Set("inuse", "orphan", "tw", "alloc");
    static readonly FrozenSet<string> PacketFields = Set("from", "to", "flags", "at", "len", "seq", "ack", "win", "options");
    static readonly FrozenSet<string> DataFields = Set("sent", "delivered", "lost");

    StateChecks? StepExpect(JsonMember member) =>
        NonEmptyObject(member, StepExpectFields) is { } f ? StateChecksOf(f) : null;

    FinalExpect? FinalExpect(JsonMember member)
    {
        var f = NonEmptyObject(member, FinalExpectFields);
        if (f is null) return null;
        return new FinalExpect(
            StateChecksOf(f),
            Packets(f["packets"]),
            Packets(f["packetsExact"]),
            Packets(f["noPackets"]),
            [.. Map(f["data"], nonEmpty: true)?.Members.Select(m => Data(m.Name, m.Member)).OfType<DataCheck>() ?? []]);
    }

    JsonFields? NonEmptyObject(JsonMember member, FrozenSet<string> allowed)
    {
        var f = Object(member, allowed);
        if (f is { Members.Count: 0 }) Error(f.Path, "must not be empty");
        return f;
    }

    StateChecks StateChecksOf(JsonFields f) => new(
        [.. Items(f["sockets"], nonEmpty: true).Select(SocketCheckOf).OfType<SocketCheck>()],
        PerHost(f["sockstat"], Sockstat),
        PerHost(f["counters"], Counters),
        PerHost(f["dmesg"], Dmesg));

    /// <summary>
    /// A map from host name to one host's checks (sockstat, counters, dmesg): not empty, keys are
    /// hosts of the document, each entry read by <paramref name="read"/>.
    /// </summary>
    ImmutableArray<T> PerHost<T>(JsonMember? member, Func<string, JsonMember, IEnumerable<T>> read)
    {
        var checks = ImmutableArray.CreateBuilder<T>();
        foreach (var (host, entry) in Map(member, nonEmpty: true)?.Members ?? [])
        {
            if (!ScenarioSyntax.HostName().IsMatch(host)) Error(entry.Path, $"\"{host}\" is not a host name ([a-z][a-z0-9-]*)");
            else if (KnownHost(host, entry.Path)) checks.AddRange(read(host, entry));
        }
        return checks.ToImmutable();
    }

    IEnumerable<SockstatCheck> Sockstat(string host, JsonMember entry)
    {
        if (NonEmptyObject(entry, SockstatFields) is not { } f) return [];
        return [new SockstatCheck(host, Count(f["inuse"]), Count(f["orphan"]), Count(f["tw"]), Count(f["alloc"]))];
    }

    IEnumerable<CounterCheck> Counters(string host, JsonMember entry)
    {
        var checks = new List<CounterCheck>();
        var named = new HashSet<CounterName>();
        foreach (var (name, value) in Map(entry, nonEmpty: true)?.Members ?? [])
        {
            var total = Count(value);
            if (!ScenarioSyntax.Counter().IsMatch(name))
                Error(value.Path, $"\"{name}\" is not a counter name (TcpExt.NAME, Tcp.NAME, TcpExtNAME or TcpNAME)");
            else if (CounterNameOf(name) is var counter && !counter.IsLinux)
                Error(value.Path, $"{counter} is not a Linux counter (no field of /proc/net/netstat's TcpExt or /proc/net/snmp's Tcp is named {counter.Name})");
            else if (named.Contains(counter))
                Error(value.Path, $"{counter} is already checked for host {host}");
            else if (total is { } t && named.Add(counter))
                checks.Add(new CounterCheck(host, counter, t));
        }
        return checks;
    }

    /// <summary>nstat's "TcpExtTW" and the dotted "TcpExt.TW" name the same counter, ("TcpExt", "TW").</summary>
    static CounterName CounterNameOf(string text)
    {
        if (text.StartsWith("TcpExt.", StringComparison.Ordinal)) return new("TcpExt", text[7..]);
        if (text.StartsWith("Tcp.", StringComparison.Ordinal)) return new("Tcp", text[4..]);
        // "TcpExt" followed by a name is TcpExt's; "TcpExt" alone is the Tcp counter "Ext".
        if (text.StartsWith("TcpExt", StringComparison.Ordinal) && text.Length > 6) return new("TcpExt", text[6..]);
        return new("Tcp", text[3..]);
    }

    IEnumerable<DmesgCheck> Dmesg(string host, JsonMember entry)
    {
        var lines = Items(entry, nonEmpty: true).Select(line => NonEmptyString(line)).OfType<string>().ToImmutableArray();
        return lines.IsEmpty ? [] : [new DmesgCheck(host, lines)];
    }

    SocketCheck? SocketCheckOf(JsonMember member)
    {
        var f = Object(member, SocketCheckFields);
        if (f is null) return null;
        SocketSelector? selector;
        if (f["socket"] is { } s)
        {
            foreach (var name in (string[])["host", "local", "remote"])
                if (f[name] is { } m) Error(m.Path, $"\"{name}\" cannot be combined with \"socket\"");
            selector = SocketRef(s, host: null) is { } alias ? new AliasSelector(alias) : null;
        }
        else
        {
            var host = Required(f, "host") is { } h ? HostName(h) : null;
            var local = f["local"] is { } l ? SockAddr(l) : null;
            var remote = f["remote"] is { } r ? SockAddr(r) : null;
            selector = host is null ? null : new HostSelector(host, local, remote);
        }
        if (!f.Has("state") && !f.Has("count")) Error(f.Path, "a socket check needs \"state\" or \"count\"");
        var state = f["state"] is { } st ? Enum(st, ScenarioWireNames.States) : null;
        var count = Count(f["count"]);
        var timer = f["timer"] is { } t ? Enum(t, ScenarioWireNames.Timers) : null;
        var timerLeft = f["timerLeft"] is { } tl ? Checked(tl) : null;
        return selector is null ? null : new SocketCheck(selector, state, count, timer, timerLeft);
    }

    /// <summary>"host:port" where either part may be empty; a named host part is a host or a NAT of the document.</summary>
    SockAddrPattern? SockAddr(JsonMember member)
    {
        var text = Matching(member, ScenarioSyntax.SockAddr(), "\"host:port\" (either part may be empty; the host may be an IPv4 address)");
        if (text is null) return null;
        var match = ScenarioSyntax.SockAddr().Match(text);
        int? port = match.Groups["port"].Success ? int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture) : null;
        var host = match.Groups["host"];
        if (!host.Success) return new SockAddrPattern(null, null, port);
        if (Ipv4Text.TryParse(host.Value, out var address)) return new SockAddrPattern(null, address, port);
        if (_natNames.Contains(host.Value) || KnownHost(host.Value, member.Path)) return new SockAddrPattern(host.Value, null, port);
        return null;
    }

    ImmutableArray<PacketCheck> Packets(JsonMember? member) =>
        [.. Items(member, nonEmpty: true).Select(Packet).OfType<PacketCheck>()];

    PacketCheck? Packet(JsonMember member)
    {
        var f = Object(member, PacketFields);
        if (f is null) return null;
        var from = f["from"] is { } fm ? PacketEndpointOf(fm) : null;
        var to = f["to"] is { } tm ? PacketEndpointOf(tm) : null;
        var flags = Flags(Required(f, "flags"));
        var at = f["at"] is { } a ? Checked(a) : null;
        var win = f["win"] is { } w ? Int32(w, 0, ushort.MaxValue) : null;
        var options = f["options"] is { } o ? OptionsCheckOf(o) : null;
        return flags is { } fl ? new PacketCheck(from, to, fl, at, Count(f["len"]), SeqNo(f["seq"]), SeqNo(f["ack"]), win, options) : null;
    }

    PacketEndpoint? PacketEndpointOf(JsonMember member)
    {
        var text = Matching(member, ScenarioSyntax.Endpoint(), "a host name or \"host:port\" (port 1-65535)");
        if (text is null) return null;
        var match = ScenarioSyntax.Endpoint().Match(text);
        var host = match.Groups["host"].Value;
        int? port = match.Groups["port"].Success ? int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture) : null;
        return KnownHost(host, member.Path) ? new PacketEndpoint(host, port) : null;
    }

    DataCheck? Data(string alias, JsonMember entry)
    {
        var known = AliasRef(alias, entry.Path, host: null);
        var f = NonEmptyObject(entry, DataFields);
        return known is not null && f is not null ? new DataCheck(alias, Count(f["sent"]), Count(f["delivered"]), Count(f["lost"])) : null;
    }
}
