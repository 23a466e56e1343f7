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

public sealed class ExportSimulationHandler(SimDbContext db, HeavyReads heavy) : IQueryHandler<ExportSimulation, Outcome<string>>
{
    // As heavy as a replay (the exporter replays the log): on an engine thread, in turns with other heavy work, bounded by
    // Limits:HeavySeconds and cancelled by a DELETE of the simulation or the service stopping (HeavyReads).
    public async ValueTask<Outcome<string>> Handle(ExportSimulation query, CancellationToken cancellationToken) =>
        await heavy.RunAsync(query.SimulationId, read => ExportAsync(query.SimulationId, read), cancellationToken);

    private async Task<Outcome<string>> ExportAsync(Guid simulationId, HeavyRead read)
    {
        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == simulationId, read.Token);
        if (run is null) return new SimulationNotFound(simulationId);
        var log = await db.ReadLogAsync(run.Id, 0, run.Version, read.Token);
        var result = await read.OnEngineAsync(run.TenantId, (stop, turn) => ScenarioExporter.Export(new ExportSource(run.Name,
            $"Exported from simulation {run.Id} (\"{run.Name}\") at version {run.Version}.", SimulationReplay.ProfileOf(run), run.Seed,
            run.ScenarioJson, log.ConvertAll(record => CommandTypeMap.FromPayload(record.Type, record.PayloadJson)), run.EngineRules), stop, turn));
        return result.Refusal is { } refusal
            ? new NotExportable(run.Id, refusal.Reason, refusal.CommandNumber is { } n ? log[(int)n - 1].Seq : null)
            : result.Json!;
    }
}
