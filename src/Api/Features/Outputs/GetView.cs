using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Outputs;

namespace SimService.Api.Features.Outputs;

/// <summary>The simulation's page (HTML): diagram, sockets at a chosen time, charts, counters, journal.</summary>
public sealed record GetView(Guid SimulationId) : IQuery<Outcome<string>>;

public sealed class GetViewHandler(LiveSimulations simulations) : IQueryHandler<GetView, Outcome<string>>
{
    public ValueTask<Outcome<string>> Handle(GetView query, CancellationToken cancellationToken) =>
        simulations.ReadAsync(query.SimulationId, (engine, _) =>
            (Outcome<string>)ViewPage.Render(query.SimulationId, engine, LadderDiagram.Svg(engine, DiagramFilter.All)), cancellationToken);
}
