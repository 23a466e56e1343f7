using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Scenarios;
using SimService.Persistence;
using SimService.Persistence.Serialization;

namespace SimService.Api.Features.Simulations;

/// <summary>The simulation as a scenario document whose run gives the same journal (see <see cref="ScenarioExporter"/>).</summary>
public sealed record ExportSimulation(Guid SimulationId) : IQuery<Outcome<string>>;

public sealed class ExportSimulationHandler(SimDbContext db) : IQueryHandler<ExportSimulation, Outcome<string>>
{
    public async ValueTask<Outcome<string>> Handle(ExportSimulation query, CancellationToken cancellationToken)
    {
        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == query.SimulationId, cancellationToken);
        if (run is null) return new SimulationNotFound(query.SimulationId);
        var log = await db.Commands.AsNoTracking().Where(c => c.RunId == run.Id && c.Seq <= run.Version)
            .OrderBy(c => c.Seq).ToListAsync(cancellationToken);
        var result = ScenarioExporter.Export(new ExportSource(run.Name,
            $"Exported from simulation {run.Id} (\"{run.Name}\") at version {run.Version}.", SimulationReplay.ProfileOf(run), run.Seed,
            run.ScenarioJson, log.ConvertAll(record => CommandTypeMap.FromPayload(record.Type, record.PayloadJson))));
        return result.Refusal is { } refusal
            ? new NotExportable(run.Id, refusal.Reason, refusal.CommandNumber is { } n ? log[(int)n - 1].Seq : null)
            : result.Json!;
    }
}
