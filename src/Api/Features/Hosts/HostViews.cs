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
/// <param name="Memory">For the ss views: add `-m` (skmem, sk_get_meminfo()).</param>
public sealed record GetHostText(Guid SimulationId, string Host, HostTextView View, bool Extended = false, bool Memory = false) : IQuery<Outcome<string>>;

public sealed class GetHostTextHandler(LiveSimulations simulations) : IQueryHandler<GetHostText, Outcome<string>>
{
    public ValueTask<Outcome<string>> Handle(GetHostText query, CancellationToken cancellationToken) =>
        simulations.ReadAsync(query.SimulationId, (engine, _) =>
            HostLookup.Find(engine, query.SimulationId, query.Host).Map(host => Render(host, query)), cancellationToken);

    private static string Render(Host host, GetHostText query) => query.View switch
    {
        HostTextView.Ss => SsFormatter.Format(host, info: true, query.Extended, query.Memory),
        HostTextView.SsNoInfo => SsFormatter.Format(host, info: false, query.Extended, query.Memory),
        HostTextView.Sockstat => ProcNetSockstat.Format(host),
        HostTextView.ProcNetTcp => ProcNetTcp.Format(host),
        HostTextView.Netstat => ProcNetNetstat.Format(host),
        HostTextView.Snmp => ProcNetSnmp.Format(host),
        HostTextView.Dmesg => KernelLog.Dmesg(host),
        _ => throw new ArgumentOutOfRangeException(nameof(query), query.View, null),
    };
}

/// <param name="Name">ss's timer name: "on" (retransmit), "keepalive", "timewait", "persist".</param>
/// <param name="LeftNs">Time left at the simulation's current time, never negative.</param>
/// <param name="Count">Retransmissions or probes so far (ss's third timer field).</param>
public sealed record TimerView(string Name, long ExpiresNs, long LeftNs, int Count);

/// <param name="Kind">"full" (a socket), "timewait" (an inet_timewait_sock) or "request" (a SYN-RECV request socket).</param>
/// <param name="SocketId">The connection's socket id (a timewait row keeps the id of the socket it replaced; a request row has 0).</param>
/// <param name="State">ESTABLISHED, FIN-WAIT-2, TIME-WAIT, LISTEN, CLOSED ... (ss prints ESTAB and UNCONN for two of them).</param>
/// <param name="Skmem">A full socket's memory as `ss -m` and getsockopt(SO_MEMINFO) report it; null for timewait and request rows.</param>
public sealed record SocketRowView(string Kind, int SocketId, string State, string Local, string Remote, long RecvQ, long SendQ,
    TimerView? Timer, bool Orphan, SkmemView? Skmem)
{
    public static SocketRowView From(SocketRow row, SimTime now) => new(
        row.Kind switch { SocketRowKind.TimeWait => "timewait", SocketRowKind.Request => "request", _ => "full" },
        row.SocketId, row.State.ToDisplayName(), row.Local.ToString(), row.Remote.ToString(),
        row.RecvQ, row.SendQ,
        row.TimerName is { } name ? new TimerView(name, row.TimerExpires.Ns, row.TimerLeft(now).Ns, row.TimerCount) : null,
        row.Orphan, row.Memory is { } m ? SkmemView.From(m) : null);
}

/// <summary>
/// sk_get_meminfo() — net/core/sock.c — as `ss -m` prints it, skmem:(r,rb,t,tb,f,w,o,bl,d): sk_rmem_alloc, sk_rcvbuf,
/// sk_wmem_alloc (0: the engine's skbs leave the socket's account at the device), sk_sndbuf, sk_forward_alloc,
/// sk_wmem_queued, sk_omem_alloc (0), sk_backlog.len and sk_drops, in bytes (drops in segments).
/// </summary>
public sealed record SkmemView(uint RmemAlloc, uint Rcvbuf, uint WmemAlloc, uint Sndbuf, uint FwdAlloc, uint WmemQueued, uint Optmem,
    uint Backlog, uint Drops)
{
    public static SkmemView From(SkMeminfo m) =>
        new(m.RmemAlloc, m.Rcvbuf, m.WmemAlloc, m.Sndbuf, m.FwdAlloc, m.WmemQueued, m.Optmem, m.Backlog, m.Drops);
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
