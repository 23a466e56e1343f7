using Mediator;
using SimService.Api.Features.Hosts;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Observability;
using SimService.Domain.Outputs;
using SimService.Domain.Time;

namespace SimService.Api.Features.Outputs;

public sealed record HostSocketTable(string Host, IReadOnlyList<SocketRowView> Items);

/// <param name="AtNs">The virtual time of the table, at most the simulation's clock (a later one is a 400 naming atNs).</param>
public sealed record SocketTable(long AtNs, IReadOnlyList<HostSocketTable> Hosts, long Version) : IVersioned;

/// <summary>Every host's `ss -tan` rows at a virtual time: the present from the live engine, the past by replaying to that time.</summary>
public sealed record GetSocketTable(Guid SimulationId, long? AtNs) : IQuery<Outcome<SocketTable>>;

public sealed class GetSocketTableHandler(LiveSimulations simulations, History history) : IQueryHandler<GetSocketTable, Outcome<SocketTable>>
{
    public async ValueTask<Outcome<SocketTable>> Handle(GetSocketTable query, CancellationToken cancellationToken)
    {
        if (query.AtNs is < 0) return new RequestInvalid("atNs", "atNs is a virtual time: zero or positive.", query.SimulationId);
        // A time past the clock is a 400 naming atNs: the table of a future the simulation has not run was answered with
        // the present, silently.
        var present = await simulations.ReadAsync<SocketTable?>(query.SimulationId, (engine, run) => query.AtNs switch
        {
            { } at when at > engine.Now.Ns => new RequestInvalid("atNs",
                $"atNs {new SimTime(at)} is after the simulation's current time {engine.Now} ({engine.Now.Ns} ns); advance the clock first.", query.SimulationId),
            { } at when at < engine.Now.Ns => (SocketTable?)null,
            _ => Table(engine, engine.Now, run.Version),
        }, cancellationToken);
        if (!present.TryGet(out var table, out var failure)) return failure;
        if (table is not null) return table;

        var at = new SimTime(query.AtNs!.Value);
        SocketTable? sampled = null;
        var sampler = new TimeSampler([at], (sim, t) => sampled = Table(sim, t, 0));
        var replay = await history.ReplayAsync(query.SimulationId, sampler.Attach, cancellationToken);
        if (!replay.TryGet(out var r, out var stopped)) return stopped;
        sampler.Finish(r.Replayed);
        return (sampled ?? Table(r.Replayed, r.Replayed.Now, 0)) with { Version = r.Run.Version };
    }

    private static SocketTable Table(SimService.Domain.Engine.Simulation sim, SimTime at, long version) => new(at.Ns,
        [.. sim.Hosts.Select(h => new HostSocketTable(h.Name, [.. SocketListing.Rows(h).Select(row => SocketRowView.From(row, at))]))], version);
}
