using Mediator;
using SimService.Api.Features.Hosts;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Outputs;

namespace SimService.Api.Features.Outputs;

/// <summary>The ladder diagram (SVG) of a simulation, optionally narrowed to hosts, sockets and a time range.</summary>
public sealed record GetDiagram(Guid SimulationId, IReadOnlyList<string> Hosts, IReadOnlyList<int> Sockets, long? FromNs, long? ToNs)
    : IQuery<Outcome<string>>;

public sealed class GetDiagramHandler(LiveSimulations simulations) : IQueryHandler<GetDiagram, Outcome<string>>
{
    public async ValueTask<Outcome<string>> Handle(GetDiagram query, CancellationToken cancellationToken)
    {
        if (TimeRange.Validate(query.SimulationId, query.FromNs, query.ToNs) is { } invalid) return invalid;
        var filter = new DiagramFilter(query.Hosts, query.Sockets, TimeRange.Window(query.FromNs, query.ToNs));
        return await simulations.ReadAsync(query.SimulationId, (engine, _) =>
            ((Failure?)HostLookup.Unknown(engine, query.SimulationId, query.Hosts) ?? HostLookup.UnknownSocket(engine, query.SimulationId, query.Sockets, "socket")
                ?? TimeRange.PastClock(query.SimulationId, query.FromNs, engine.Now))
                is { } unknown ? unknown : (Outcome<string>)LadderDiagram.Svg(engine, filter),
            cancellationToken);
    }
}
