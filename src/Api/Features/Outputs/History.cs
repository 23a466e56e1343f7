using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
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
public sealed class History(SimDbContext db, SimulationEngines engines, EngineThreads threads)
{
    /// <summary>
    /// The replayed engine, with the observer attached; heavy work in turns (<see cref="EngineThreads"/>), cancelled by a
    /// DELETE of the simulation (a 404) or the service stopping (a 503) as a replay is (<see cref="WorkStop"/>).
    /// </summary>
    public async Task<Outcome<(SimulationRun Run, Simulation Replayed)>> ReplayAsync(Guid simulationId, Action<Simulation> attach,
        CancellationToken cancellationToken)
    {
        using var stop = engines.StopFor(simulationId, cancellationToken);
        try
        {
            var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == simulationId, stop.Token);
            if (run is null) return new SimulationNotFound(simulationId);
            var log = await db.ReadLogAsync(run.Id, 0, run.Version, stop.Token);
            return (run, await threads.RunAsync(RequestWork.Tracked(true, turn => SimulationReplay.Rebuild(run, log, stop.Token, attach, turn)), heavy: true, stop.Token,
                run.TenantId));
        }
        catch (OperationCanceledException) when (stop.Reason(simulationId) is { } reason)
        {
            return reason;
        }
    }
}
