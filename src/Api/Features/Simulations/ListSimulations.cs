using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

public sealed record SimulationList(IReadOnlyList<SimulationResponse> Items);

public sealed record ListSimulations : IQuery<SimulationList>;

public sealed class ListSimulationsHandler(SimDbContext db) : IQueryHandler<ListSimulations, SimulationList>
{
    /// <summary>Oldest first; the id breaks ties between simulations created in the same tick.</summary>
    public async ValueTask<SimulationList> Handle(ListSimulations query, CancellationToken cancellationToken)
    {
        var runs = await db.Simulations.AsNoTracking()
            .OrderBy(r => r.CreatedAt).ThenBy(r => r.Id)
            .ToListAsync(cancellationToken);
        return new SimulationList(runs.ConvertAll(SimulationResponse.From));
    }
}
