using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Features.Clock;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Persistence;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Features.Simulations;

/// <param name="Seq">The journal position where the stored and replayed journals first differ.</param>
/// <param name="Stored">The stored event there ("type atNs payload"), or null when the stored journal ended.</param>
/// <param name="Replayed">The replayed event there, or null when the replayed journal ended.</param>
public sealed record JournalDifference(long Seq, string? Stored, string? Replayed);

/// <param name="Identical">The replayed journal equals the stored one, event for event.</param>
/// <param name="Commands">Commands in the log that were replayed (the simulation's version).</param>
/// <param name="StoredEvents">Events in the stored journal.</param>
/// <param name="ReplayedEvents">Events the fresh engine produced.</param>
/// <param name="FirstDifference">Where they first differ; null when identical.</param>
/// <param name="RefusedCommandSeq">A logged command the fresh engine refused (then replay stopped there), if any.</param>
/// <param name="NowNs">The replayed engine's virtual time.</param>
public sealed record ReplayReport(bool Identical, long Commands, long StoredEvents, long ReplayedEvents, JournalDifference? FirstDifference,
    long? RefusedCommandSeq, long NowNs, long Version) : LeftModelAnswer, IVersioned;

/// <summary>Re-runs the stored inputs on a fresh engine (never the cached one) and compares the journals (<see cref="Replay"/>).</summary>
public sealed record ReplaySimulation(Guid SimulationId) : IQuery<Outcome<ReplayReport>>;

public sealed class ReplaySimulationHandler(SimDbContext db, HeavyReads heavy)
    : IQueryHandler<ReplaySimulation, Outcome<ReplayReport>>
{
    // Heavy work on an engine thread, in turns with other heavy work, bounded by Limits:HeavySeconds and cancelled by a
    // DELETE of the simulation or the service stopping (HeavyReads).
    public async ValueTask<Outcome<ReplayReport>> Handle(ReplaySimulation query, CancellationToken cancellationToken) =>
        await heavy.RunAsync(query.SimulationId, read => ReplayAsync(query.SimulationId, read), cancellationToken);

    private async Task<Outcome<ReplayReport>> ReplayAsync(Guid simulationId, HeavyRead read)
    {
        SimulationRun? run;
        List<CommandRecord> log;
        List<EventRecord> stored;
        // One snapshot: the log and the journal as one committed version left them (a reader: writers go on meanwhile).
        await using (await db.BeginSnapshotAsync(read.Token))
        {
            run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == simulationId, read.Token);
            if (run is null) return new SimulationNotFound(simulationId);
            log = await db.Commands.AsNoTracking().Where(c => c.RunId == run.Id).OrderBy(c => c.Seq).ToListAsync(read.Token);
            stored = await db.JournalOf(run.Id).OrderBy(e => e.Seq).ToListAsync(read.Token);
        }

        var comparison = await read.OnEngineAsync(run.TenantId, (stop, turn) =>
        {
            var fresh = SimulationReplay.Start(run, stop, turn: turn);
            fresh.Interruption = stop;
            fresh.Turn = turn;
            return Replay.Compare(fresh,
                log.ConvertAll(record => CommandTypeMap.FromPayload(record.Type, record.PayloadJson)), [.. JournalRows.Events(stored)]);
        });
        var difference = comparison.FirstDifference is { } d ? new JournalDifference(d.Index, Describe(d.Expected), Describe(d.Actual)) : null;
        return new ReplayReport(comparison.Identical, log.Count, stored.Sum(r => r.Count), comparison.Engine.Journal.Count, difference,
            comparison.RefusedCommand is { } refused ? log[refused].Seq : null, comparison.Engine.Now.Ns, run.Version)
        {
            LeftModel = LeftModelResponse.Of(comparison.Engine),
        };
    }

    private static string? Describe(SimEvent? e) => e is null ? null : $"{EventTypeMap.DiscriminatorOf(e)} {e.At.Ns} {EventTypeMap.Payload(e)}";
}
