using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Network;
using Host = SimService.Domain.Network.Host;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Api.Features.Hosts;

/// <summary>The kernel-format text views of a host, as the tools people already use print them.</summary>
public enum HostTextView
{
    /// <summary>`ss -tanoi`.</summary>
    Ss,
    /// <summary>`ss -tano` (no tcp_info line).</summary>
    SsNoInfo,
    Sockstat,
    ProcNetTcp,
    Netstat,
    Snmp,
    Dmesg,
}

/// <param name="Extended">For the ss views: add `-e` (ino, sk cookie, shutdown mask).</param>
public sealed record GetHostText(Guid SimulationId, string Host, HostTextView View, bool Extended = false) : IQuery<Outcome<string>>;

public sealed class GetHostTextHandler(LiveSimulations simulations) : IQueryHandler<GetHostText, Outcome<string>>
{
    public ValueTask<Outcome<string>> Handle(GetHostText query, CancellationToken cancellationToken) =>
        simulations.ReadAsync(query.SimulationId, (engine, _) =>
            HostLookup.Find(engine, query.SimulationId, query.Host).Map(host => Render(host, query.View, query.Extended)), cancellationToken);

    private static string Render(Host host, HostTextView view, bool extended) => view switch
    {
        HostTextView.Ss => SsFormatter.Format(host, info: true, extended),
        HostTextView.SsNoInfo => SsFormatter.Format(host, info: false, extended),
        HostTextView.Sockstat => ProcNetSockstat.Format(host),
        HostTextView.ProcNetTcp => ProcNetTcp.Format(host),
        HostTextView.Netstat => ProcNetNetstat.Format(host),
        HostTextView.Snmp => ProcNetSnmp.Format(host),
        HostTextView.Dmesg => KernelLog.Dmesg(host),
        _ => throw new ArgumentOutOfRangeException(nameof(view), view, null),
    };
}

/// <param name="Name">ss's timer name: "on" (retransmit), "keepalive", "timewait", "persist".</param>
/// <param name="LeftNs">Time left at the simulation's current time, never negative.</param>
/// <param name="Count">Retransmissions or probes so far (ss's third timer field).</param>
public sealed record TimerView(string Name, long ExpiresNs, long LeftNs, int Count);

/// <param name="Kind">"full" (a socket), "timewait" (an inet_timewait_sock) or "request" (a SYN-RECV request socket).</param>
/// <param name="SocketId">The connection's socket id (a timewait row keeps the id of the socket it replaced; a request row has 0).</param>
/// <param name="State">ESTABLISHED, FIN-WAIT-2, TIME-WAIT, LISTEN, CLOSED ... (ss prints ESTAB and UNCONN for two of them).</param>
public sealed record SocketRowView(string Kind, int SocketId, string State, string Local, string Remote, long RecvQ, long SendQ,
    TimerView? Timer, bool Orphan)
{
    public static SocketRowView From(SocketRow row, SimTime now) => new(
        row.Kind switch { SocketRowKind.TimeWait => "timewait", SocketRowKind.Request => "request", _ => "full" },
        row.SocketId, row.State.ToDisplayName(), row.Local.ToString(), row.Remote.ToString(),
        row.RecvQ, row.SendQ,
        row.TimerName is { } name ? new TimerView(name, row.TimerExpires.Ns, row.TimerLeft(now).Ns, row.TimerCount) : null,
        row.Orphan);
}

public sealed record HostSockets(string Host, long NowNs, IReadOnlyList<SocketRowView> Items, long Version) : IVersioned;

/// <summary>The rows `ss -tan` would list for the host, as JSON.</summary>
public sealed record ListHostSockets(Guid SimulationId, string Host) : IQuery<Outcome<HostSockets>>;

public sealed class ListHostSocketsHandler(LiveSimulations simulations) : IQueryHandler<ListHostSockets, Outcome<HostSockets>>
{
    public ValueTask<Outcome<HostSockets>> Handle(ListHostSockets query, CancellationToken cancellationToken) =>
        simulations.ReadAsync(query.SimulationId, (engine, run) => HostLookup.Find(engine, query.SimulationId, query.Host)
            .Map(host => new HostSockets(host.Name, engine.Now.Ns,
                [.. SocketListing.Rows(host).Select(row => SocketRowView.From(row, engine.Now))], run.Version)), cancellationToken);
}

/// <param name="Counters">Every MIB counter the simulator keeps, "Tcp.NAME" or "TcpExt.NAME", totals since the host was created.</param>
/// <param name="Sockstat">/proc/net/sockstat's TCP line: inuse, orphan, tw, alloc, mem (pages).</param>
public sealed record HostCounters(string Host, long NowNs, IReadOnlyDictionary<string, long> Counters, IReadOnlyDictionary<string, long> Sockstat,
    long Version) : IVersioned;

public sealed record GetHostCounters(Guid SimulationId, string Host) : IQuery<Outcome<HostCounters>>;

public sealed class GetHostCountersHandler(LiveSimulations simulations) : IQueryHandler<GetHostCounters, Outcome<HostCounters>>
{
    public ValueTask<Outcome<HostCounters>> Handle(GetHostCounters query, CancellationToken cancellationToken) =>
        simulations.ReadAsync(query.SimulationId, (engine, run) => HostLookup.Find(engine, query.SimulationId, query.Host)
            .Map(host => new HostCounters(host.Name, engine.Now.Ns,
                Mib.In(engine.Profile).ToDictionary(c => $"{Mib.Group(c)}.{Mib.Name(c)}", c => host.Mib[c]),
                new Dictionary<string, long>
                {
                    ["inuse"] = host.InUse, ["orphan"] = host.OrphanCount, ["tw"] = host.TimeWaitCount,
                    ["alloc"] = host.Allocated, ["mem"] = host.TcpMemPages,
                },
                run.Version)), cancellationToken);
}
