using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

/// <param name="Next">Pass as <c>after</c> for the next page; null on the last page.</param>
public sealed record SimulationList(IReadOnlyList<SimulationResponse> Items, Guid? Next);

/// <param name="After">The <c>next</c> of the previous page (the id of its last simulation); null for the first page.</param>
/// <param name="Limit">Simulations per page, 1 to <see cref="ListSimulationsHandler.MaxLimit"/>.</param>
public sealed record ListSimulations(Guid? After, int Limit) : IQuery<SimulationList>;

public sealed class ListSimulationsHandler(SimDbContext db) : IQueryHandler<ListSimulations, SimulationList>
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>
    /// Oldest first; the id breaks ties between simulations created in the same tick. Keyset paging on
    /// (CreatedAt, Id), and only the listed columns are read: a stored scenario document never leaves the database.
    /// </summary>
    public async ValueTask<SimulationList> Handle(ListSimulations query, CancellationToken cancellationToken)
    {
        var runs = db.Simulations.AsNoTracking();
        if (query.After is { } after
            && await runs.Where(r => r.Id == after).Select(r => (DateTimeOffset?)r.CreatedAt).SingleOrDefaultAsync(cancellationToken) is { } createdAt)
            runs = runs.Where(r => r.CreatedAt > createdAt || (r.CreatedAt == createdAt && r.Id.CompareTo(after) > 0));
        var page = await runs
            .OrderBy(r => r.CreatedAt).ThenBy(r => r.Id)
            .Select(r => new SimulationResponse(r.Id, r.Name, r.Profile, r.Seed, r.CreatedAt, r.Version, r.ScenarioJson != null, r.EngineRules, SimulationResponse.LinksOf(r.Id)))
            .Take(query.Limit + 1)
            .ToListAsync(cancellationToken);
        return page.Count > query.Limit ? new SimulationList(page[..query.Limit], page[query.Limit - 1].Id) : new SimulationList(page, null);
    }
}
