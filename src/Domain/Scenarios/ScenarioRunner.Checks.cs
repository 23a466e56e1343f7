using System.Text;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>State checks (sockets, sockstat, counters, dmesg) and the data ledger.</summary>
public sealed partial class ScenarioRunner
{
    /// <summary>How many rows a socket check's actual text lists before it abbreviates.</summary>
    const int MaxRowsShown = 8;

    void CheckState(StateChecks checks, string path)
    {
        var sockets = JsonPath.Member(path, "sockets");
        for (int i = 0; i < checks.Sockets.Length; i++) CheckSockets(checks.Sockets[i], JsonPath.Item(sockets, i));
        foreach (var c in checks.Sockstat) CheckSockstat(c, JsonPath.Member(JsonPath.Member(path, "sockstat"), c.Host));
        foreach (var c in checks.Counters)
            CheckCounter(c, JsonPath.Member(JsonPath.Member(JsonPath.Member(path, "counters"), c.Host), c.Counter.ToString()));
        foreach (var c in checks.Dmesg)
        {
            var lines = JsonPath.Member(JsonPath.Member(path, "dmesg"), c.Host);
            for (int i = 0; i < c.Substrings.Length; i++) CheckDmesg(c.Host, c.Substrings[i], JsonPath.Item(lines, i));
        }
    }

    void CheckFinal(FinalExpect expect)
    {
        const string path = "$.expect";
        CheckState(expect.State, path);
        CheckPackets(expect, path);
        foreach (var c in expect.Data) CheckData(c, JsonPath.Member(JsonPath.Member(path, "data"), c.Alias));
    }

    // ---- sockets ------------------------------------------------------------------------

    void CheckSockets(SocketCheck check, string path)
    {
        var expected = Describe(check);
        if (!TrySelect(check.Selector, out var rows, out var why))
        {
            AddCheck(CheckKinds.Sockets, path, false, expected, why);
            return;
        }
        var counted = CountedRows(check, rows);
        AddCheck(CheckKinds.Sockets, path, SocketCheckHolds(check, rows, _sim.Now), expected, DescribeRows(check, rows, counted.Count, _sim.Now));
    }

    /// <summary>
    /// The format's socket-check rule. <c>state</c> alone: every row is in the state and one exists
    /// (CLOSED: or none exists). With <c>count</c>, the state only picks the rows counted. Timer and
    /// time left hold for every counted row (the time left within <paramref name="slack"/>: zero for the engine).
    /// </summary>
    internal static bool SocketCheckHolds(SocketCheck check, IReadOnlyList<SocketRow> rows, SimTime now, SimDuration slack = default)
    {
        var counted = CountedRows(check, rows);
        bool state = check.Count is not null || check.State is not { } s
            || (rows.Count == 0 ? s == SocketStateName.Closed : rows.All(r => StateName(r.State) == s));
        bool count = check.Count is not { } n || counted.Count == n;
        bool timers = counted.All(r =>
            (check.Timer is not { } timer || (r.TimerName ?? SsTimer.Off.ToWireName()) == timer.ToWireName())
            && (check.TimerLeft is not { } left || left.Matches(r.TimerLeft(now), slack)));
        return state && count && timers;
    }

    internal static IReadOnlyList<SocketRow> CountedRows(SocketCheck check, IReadOnlyList<SocketRow> rows) =>
        check.Count is not null && check.State is { } s ? rows.Where(r => StateName(r.State) == s).ToList() : rows;

    /// <summary>The rows a selector picks: an alias's connection (its full socket and timewait entry), or a host's rows matching the patterns.</summary>
    bool TrySelect(SocketSelector selector, out IReadOnlyList<SocketRow> rows, out string why)
    {
        rows = [];
        switch (selector)
        {
            case AliasSelector alias:
                if (!TryResolve(alias.Alias, out var id, out why)) return false;
                rows = SocketListing.RowsOf(_sim.HostOfSocket(id)!, id);
                return true;
            case HostSelector h when _sim.FindHost(h.Host) is { } host:
                why = "";
                var local = AddressOf(h.Local);
                var remote = AddressOf(h.Remote);
                rows = SocketListing.Rows(host)
                    .Where(r => EndpointMatches(local, h.Local?.Port, r.Local, host.Address)
                        && EndpointMatches(remote, h.Remote?.Port, r.Remote, wildcardMeans: null))
                    .ToList();
                return true;
            case HostSelector h:
                why = $"host \"{h.Host}\" does not exist";
                return false;
            default:
                throw new InvalidOperationException($"unknown selector {selector.GetType().Name}");
        }
    }

    /// <summary>The address a pattern's host part names (a host, a NAT or a literal address); null for any address.</summary>
    IPv4? AddressOf(SockAddrPattern? pattern)
    {
        if (pattern is null) return null;
        if (pattern.Address is { } literal) return new IPv4(literal);
        if (pattern.Host is not { } name) return null;
        if (_sim.FindHost(name) is { } host) return host.Address;
        return _doc.Nats.FirstOrDefault(n => n.Name == name) is { } nat ? new IPv4(nat.Address) : null;
    }

    /// <summary>
    /// Whether an endpoint matches a pattern's address and port (null = either). A wildcard-bound
    /// endpoint (0.0.0.0, a listener's local address) matches <paramref name="wildcardMeans"/>, the
    /// address of the host the row belongs to.
    /// </summary>
    internal static bool EndpointMatches(IPv4? address, int? port, Endpoint actual, IPv4? wildcardMeans) =>
        (port is not { } p || actual.Port == p)
        && (address is not { } a || actual.Address == a || (actual.Address == IPv4.Any && wildcardMeans == a));

    /// <summary>The format's state name for a kernel state (a request socket's NEW_SYN_RECV shows as SYN-RECV).</summary>
    internal static SocketStateName StateName(TcpState state) => state switch
    {
        TcpState.Established => SocketStateName.Established,
        TcpState.SynSent => SocketStateName.SynSent,
        TcpState.SynRecv or TcpState.NewSynRecv => SocketStateName.SynRecv,
        TcpState.FinWait1 => SocketStateName.FinWait1,
        TcpState.FinWait2 => SocketStateName.FinWait2,
        TcpState.TimeWait => SocketStateName.TimeWait,
        TcpState.Close => SocketStateName.Closed,
        TcpState.CloseWait => SocketStateName.CloseWait,
        TcpState.LastAck => SocketStateName.LastAck,
        TcpState.Listen => SocketStateName.Listen,
        TcpState.Closing => SocketStateName.Closing,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    internal static string Describe(SocketCheck check)
    {
        var parts = new List<string>();
        if (check.State is { } state) parts.Add(state.ToWireName());
        if (check.Count is { } count) parts.Add($"count={count}");
        if (check.Timer is { } timer) parts.Add($"timer={timer.ToWireName()}");
        if (check.TimerLeft is { } left) parts.Add($"left={left}");
        return string.Join(' ', parts);
    }

    internal static string DescribeRows(SocketCheck check, IReadOnlyList<SocketRow> rows, int counted, SimTime now)
    {
        var text = new StringBuilder();
        if (check.Count is not null)
            text.Append(check.State is { } state && counted != rows.Count ? $"count={counted} in {state.ToWireName()} among " : $"count={counted}: ");
        if (rows.Count == 0) return text.Append("no socket (CLOSED)").ToString();
        text.AppendJoin(", ", rows.Take(MaxRowsShown).Select(r => Describe(r, now)));
        if (rows.Count > MaxRowsShown) text.Append($", and {rows.Count - MaxRowsShown} more");
        return text.ToString();
    }

    static string Describe(SocketRow row, SimTime now)
    {
        var timer = row.TimerName is { } name ? $"timer={name} left={row.TimerLeft(now)}" : "timer=off";
        return $"{StateName(row.State).ToWireName()} {row.Local}->{row.Remote} {timer}";
    }

    // ---- sockstat, counters, dmesg, data ------------------------------------------------

    void CheckSockstat(SockstatCheck check, string path)
    {
        var host = _sim.FindHost(check.Host);
        if (host is null)
        {
            AddCheck(CheckKinds.Sockstat, path, false, "a host", $"host \"{check.Host}\" does not exist");
            return;
        }
        CheckFields(CheckKinds.Sockstat, path,
            [("inuse", check.InUse, host.InUse), ("orphan", check.Orphan, host.OrphanCount),
             ("tw", check.Tw, host.TimeWaitCount), ("alloc", check.Alloc, host.Allocated)]);
    }

    void CheckData(DataCheck check, string path)
    {
        if (!TryResolve(check.Alias, out var id, out var why))
        {
            AddCheck(CheckKinds.Data, path, false, "a socket", why);
            return;
        }
        var ledger = _sim.LedgerOf(id)!;
        CheckFields(CheckKinds.Data, path,
            [("sent", check.Sent, ledger.Sent), ("delivered", check.Delivered, ledger.Delivered), ("lost", check.Lost, ledger.Lost)]);
    }

    /// <summary>One check over named numbers; only those with an expected value are compared and shown.</summary>
    void CheckFields(string kind, string path, (string Name, long? Expected, long Actual)[] fields)
    {
        var checkedFields = fields.Where(f => f.Expected is not null).ToList();
        AddCheck(kind, path, checkedFields.All(f => f.Expected == f.Actual),
            string.Join(' ', checkedFields.Select(f => $"{f.Name}={f.Expected}")),
            string.Join(' ', checkedFields.Select(f => $"{f.Name}={f.Actual}")));
    }

    void CheckCounter(CounterCheck check, string path)
    {
        var expected = $"{check.Counter}={check.Value}";
        var host = _sim.FindHost(check.Host);
        if (host is null)
            AddCheck(CheckKinds.Counters, path, false, expected, $"host \"{check.Host}\" does not exist");
        else if (Mib.TryFind(check.Counter.Table, check.Counter.Name, out var kept) && !Mib.ExistsIn(kept, _sim.Profile))
            AddCheck(CheckKinds.Counters, path, false, expected, $"{check.Counter} is not a counter of {_sim.Profile.ToWireName()}");
        else if (CounterValue(host, check.Counter) is not { } actual)
            AddCheck(CheckKinds.Counters, path, false, expected, $"{check.Counter} is not simulated by the engine");
        else
            AddCheck(CheckKinds.Counters, path, actual == check.Value, expected, $"{check.Counter}={actual}");
    }

    /// <summary>A counter the host keeps, or one of the Tcp: values /proc/net/snmp computes (CurrEstab, RtoMin ...).</summary>
    static long? CounterValue(Host host, CounterName name)
    {
        if (Mib.TryFind(name.Table, name.Name, out var counter)) return host.Mib[counter];
        return name.Table == "Tcp" ? ProcNetSnmp.TcpGauge(host, name.Name) : null;
    }

    void CheckDmesg(string hostName, string substring, string path)
    {
        var expected = $"a kernel log line containing \"{substring}\"";
        var log = _sim.FindHost(hostName)?.KernelLog ?? [];
        var line = log.FirstOrDefault(l => l.Contains(substring, StringComparison.Ordinal));
        AddCheck(CheckKinds.Dmesg, path, line is not null, expected,
            line is not null ? $"\"{line}\"" : $"no such line among {log.Count} kernel log lines");
    }
}
