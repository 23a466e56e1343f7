using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

public sealed record GetSimulation(Guid Id) : IQuery<Outcome<SimulationResponse>>;

public sealed class GetSimulationHandler(SimDbContext db) : IQueryHandler<GetSimulation, Outcome<SimulationResponse>>
{
    public async ValueTask<Outcome<SimulationResponse>> Handle(GetSimulation query, CancellationToken cancellationToken)
    {
        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == query.Id, cancellationToken);
        return run is null ? new SimulationNotFound(query.Id) : SimulationResponse.From(run);
    }
}
