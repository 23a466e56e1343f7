using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

/// <param name="ExpectedVersion">If-Match: delete only while the simulation is at one of these versions (null: any).</param>
public sealed record DeleteSimulation(Guid Id, IfMatch? ExpectedVersion = null) : ICommand<Outcome<Unit>>;

public sealed class DeleteSimulationHandler(SimDbContext db, SimulationEngines engines, CommandLogWriter log)
    : ICommandHandler<DeleteSimulation, Outcome<Unit>>
{
    /// <summary>
    /// Marks the simulation deleted, one short statement: from then on every read is a 404 and every append is refused.
    /// Its rows are removed afterwards, a page per short transaction (<see cref="CommandLogWriter.Purge"/>): a million-row
    /// simulation's delete no longer holds SQLite's one write lock while all of them go. With If-Match the version is
    /// part of that statement's condition, so a command appended just before it makes it a 412 rather than a delete of
    /// a version the client never saw (RFC 9110 §13.1.1).
    /// </summary>
    public async ValueTask<Outcome<Unit>> Handle(DeleteSimulation command, CancellationToken cancellationToken)
    {
        var rows = db.Simulations.Where(r => r.Id == command.Id);
        if (command.ExpectedVersion is { } expected)
        {
            long[] versions = [.. expected.Versions];
            rows = rows.Where(r => versions.Contains(r.Version));
        }
        var deleted = await rows.ExecuteUpdateAsync(set => set.SetProperty(r => r.Deleted, true), cancellationToken);
        // Not found (or another tenant's: the query filter hides it) leaves its engine alone; so does a stale If-Match.
        if (deleted == 0)
            return await db.Simulations.Where(r => r.Id == command.Id).Select(r => (long?)r.Version).SingleOrDefaultAsync(cancellationToken) is { } current
                ? new VersionMismatch(command.Id, current, command.ExpectedVersion!)
                : new SimulationNotFound(command.Id);
        var engineBytes = engines.Forget(command.Id);
        log.Purge(command.Id, () => SimulationEngines.Purged(engineBytes));
        return Unit.Value;
    }
}
