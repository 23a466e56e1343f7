using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Engine;
using SimService.Domain.Outputs;
using SimService.Domain.Time;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Features.Outputs;

/// <summary>
/// Looks back in a simulation's virtual time: rebuilds it on a throw-away engine from its stored
/// inputs with an observer attached (the live engine only knows the present). Used by the socket
/// table at a time and the time series; costs one replay per request.
/// </summary>
public sealed class History(SimDbContext db, HeavyReads heavy)
{
    /// <summary>The replayed engine, with the observer attached; a heavy read (<see cref="HeavyReads"/>).</summary>
    public Task<Outcome<(SimulationRun Run, Simulation Replayed)>> ReplayAsync(Guid simulationId, Action<Simulation> attach,
        CancellationToken cancellationToken) =>
        heavy.RunAsync<(SimulationRun, Simulation)>(simulationId, async read =>
        {
            var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == simulationId, read.Token);
            if (run is null) return new SimulationNotFound(simulationId);
            var log = await db.ReadLogAsync(run.Id, 0, run.Version, read.Token);
            return (run, await read.OnEngineAsync(run.TenantId, (stop, turn) => SimulationReplay.Rebuild(run, log, stop, attach, turn)));
        }, cancellationToken);

    /// <summary>
    /// Per-host counts at <paramref name="points"/> times evenly spread over [<paramref name="from"/>, <paramref name="to"/>],
    /// sampled while the log replays (<see cref="TimeSampler"/>): each time, the state as the clock left it.
    /// </summary>
    public async Task<Outcome<TimeSeriesResponse>> TimeSeriesAsync(Guid simulationId, SimTime from, SimTime to, int points,
        CancellationToken cancellationToken)
    {
        var samples = new Dictionary<string, List<HostSample>>(StringComparer.Ordinal);
        var sampler = TimeSampler.HostCounts(TimeSampler.Evenly(from, to, points), samples);
        var replay = await ReplayAsync(simulationId, sampler.Attach, cancellationToken);
        if (!replay.TryGet(out var r, out var stopped)) return stopped;
        sampler.Finish(r.Replayed);
        return new TimeSeriesResponse(from.Ns, to.Ns, TimeSampler.Series(r.Replayed, samples), r.Run.Version);
    }
}
