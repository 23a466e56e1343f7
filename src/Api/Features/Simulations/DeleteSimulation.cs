using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

public sealed record DeleteSimulation(Guid Id) : ICommand<Outcome<Unit>>;

public sealed class DeleteSimulationHandler(SimDbContext db, SimulationEngines engines) : ICommandHandler<DeleteSimulation, Outcome<Unit>>
{
    /// <summary>One statement; the database cascades the delete to the command log and the journal.</summary>
    public async ValueTask<Outcome<Unit>> Handle(DeleteSimulation command, CancellationToken cancellationToken)
    {
        var deleted = await db.Simulations.Where(r => r.Id == command.Id).ExecuteDeleteAsync(cancellationToken);
        engines.Forget(command.Id);
        return deleted == 0 ? new SimulationNotFound(command.Id) : Unit.Value;
    }
}
