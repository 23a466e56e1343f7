using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Infrastructure.Hardening;
using SimService.Domain.Engine;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Features.Outputs;

/// <summary>
/// Looks back in a simulation's virtual time: rebuilds it on a throw-away engine from its stored
/// inputs with an observer attached (the live engine only knows the present). Used by the socket
/// table at a time and the time series; costs one replay per request.
/// </summary>
public sealed class History(SimDbContext db, EngineThreads threads)
{
    public async Task<(SimulationRun Run, Simulation Replayed)?> ReplayAsync(Guid simulationId, Action<Simulation> attach,
        CancellationToken cancellationToken)
    {
        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == simulationId, cancellationToken);
        if (run is null) return null;
        var log = await db.ReadLogAsync(run.Id, 0, run.Version, cancellationToken);
        return (run, await threads.RunAsync(RequestWork.Tracked(true, () => SimulationReplay.Rebuild(run, log, cancellationToken, attach)), heavy: true, cancellationToken, run.TenantId));
    }
}
