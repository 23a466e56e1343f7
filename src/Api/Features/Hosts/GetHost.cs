using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using Host = SimService.Domain.Network.Host;

namespace SimService.Api.Features.Hosts;

public sealed record GetHost(Guid SimulationId, string Host) : IQuery<Outcome<HostResponse>>;

public sealed class GetHostHandler(LiveSimulations simulations) : IQueryHandler<GetHost, Outcome<HostResponse>>
{
    public ValueTask<Outcome<HostResponse>> Handle(GetHost query, CancellationToken cancellationToken) =>
        simulations.ReadAsync(query.SimulationId, (engine, run) => HostLookup.Find(engine, query.SimulationId, query.Host)
            .Map(host => HostResponse.From(host, run.Version)), cancellationToken);
}

public sealed record ListHosts(Guid SimulationId) : IQuery<Outcome<HostList>>;

public sealed class ListHostsHandler(LiveSimulations simulations) : IQueryHandler<ListHosts, Outcome<HostList>>
{
    public ValueTask<Outcome<HostList>> Handle(ListHosts query, CancellationToken cancellationToken) =>
        simulations.ReadAsync<HostList>(query.SimulationId,
            (engine, run) => new HostList([.. engine.Hosts.Select(HostSummary.From)], run.Version), cancellationToken);
}

public static class HostLookup
{
    /// <summary>The named host, or a 404 naming the <c>host</c> path segment.</summary>
    public static Outcome<Host> Find(Simulation engine, Guid simulationId, string name) =>
        engine.FindHost(name) is { } host
            ? host
            : new ResourceNotFound(simulationId, "host", $"There is no host '{name}' in the simulation.");

    /// <summary>
    /// The rule of every <c>host</c> filter (journal, capture, diagram): a name that is no host of the simulation — an empty
    /// one too — is a 404 naming <c>host</c>, not an empty result. Null when all are hosts.
    /// </summary>
    public static ResourceNotFound? Unknown(Simulation engine, Guid simulationId, IEnumerable<string> names) =>
        names.FirstOrDefault(name => engine.FindHost(name) is null) is { } unknown
            ? new ResourceNotFound(simulationId, "host", $"There is no host '{unknown}' in the simulation.")
            : null;

    /// <summary>
    /// The rule of every socket filter (the diagram's <c>socket</c>, the journal's <c>socketId</c>), as for hosts: a negative
    /// id is a 400 and an id the simulation never allocated a 404, each naming <paramref name="field"/>, not an empty result.
    /// Null when all were allocated (a closed socket's id stays known: its past is in the journal).
    /// </summary>
    public static Failure? UnknownSocket(Simulation engine, Guid simulationId, IEnumerable<int> ids, string field)
    {
        var list = ids.ToList();
        if (list.FirstOrDefault(id => id < 1, 1) is var invalid && invalid < 1)
            return new RequestInvalid(field, $"{field} is a socket id, 1 or more; {invalid} is not.", simulationId);
        return list.FirstOrDefault(id => !engine.SocketWasAllocated(id), -1) is var unknown && unknown >= 0
            ? new ResourceNotFound(simulationId, field, $"There is no socket {unknown} in the simulation.")
            : null;
    }
}
