using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

public sealed record DeleteSimulation(Guid Id) : ICommand<Outcome<Unit>>;

public sealed class DeleteSimulationHandler(SimDbContext db, SimulationEngines engines, CommandLogWriter log)
    : ICommandHandler<DeleteSimulation, Outcome<Unit>>
{
    /// <summary>
    /// Marks the simulation deleted, one short statement: from then on every read is a 404 and every append is refused.
    /// Its rows are removed afterwards, a page per short transaction (<see cref="CommandLogWriter.Purge"/>): a million-row
    /// simulation's delete no longer holds SQLite's one write lock while all of them go.
    /// </summary>
    public async ValueTask<Outcome<Unit>> Handle(DeleteSimulation command, CancellationToken cancellationToken)
    {
        var deleted = await db.Simulations.Where(r => r.Id == command.Id)
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.Deleted, true), cancellationToken);
        // Not found (or another tenant's: the query filter hides it) leaves its engine alone.
        if (deleted == 0) return new SimulationNotFound(command.Id);
        var engineBytes = engines.Forget(command.Id);
        log.Purge(command.Id, () => SimulationEngines.Purged(engineBytes));
        return Unit.Value;
    }
}
