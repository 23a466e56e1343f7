using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

/// <summary>The simulation as a scenario document whose run gives the same journal (see <see cref="ScenarioExport"/>).</summary>
public sealed record ExportSimulation(Guid SimulationId) : IQuery<Outcome<string>>;

public sealed class ExportSimulationHandler(SimDbContext db) : IQueryHandler<ExportSimulation, Outcome<string>>
{
    public async ValueTask<Outcome<string>> Handle(ExportSimulation query, CancellationToken cancellationToken)
    {
        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == query.SimulationId, cancellationToken);
        if (run is null) return new SimulationNotFound(query.SimulationId);
        var log = await db.Commands.AsNoTracking().Where(c => c.RunId == run.Id && c.Seq <= run.Version)
            .OrderBy(c => c.Seq).ToListAsync(cancellationToken);
        return ScenarioExport.ToScenario(run, log);
    }
}
