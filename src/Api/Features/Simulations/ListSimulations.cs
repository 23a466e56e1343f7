using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Persistence;

namespace SimService.Api.Features.Simulations;

/// <param name="Next">Pass as <c>after</c> for the next page; null on the last page.</param>
public sealed record SimulationList(IReadOnlyList<SimulationResponse> Items, Guid? Next);

/// <param name="After">
/// The <c>next</c> of the previous page (the id of its last simulation); null for the first page. A simulation id no longer
/// stored continues from its creation millisecond (ids are UUIDv7); one that is no UUIDv7 is a 400 naming <c>after</c>.
/// </param>
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
        if (query.After is { } after)
        {
            if (await runs.Where(r => r.Id == after).Select(r => (DateTimeOffset?)r.CreatedAt).SingleOrDefaultAsync(cancellationToken) is { } createdAt)
                runs = runs.Where(r => r.CreatedAt > createdAt || (r.CreatedAt == createdAt && r.Id.CompareTo(after) > 0));
            else
            {
                // A cursor no longer stored (deleted since its page, or another tenant's) continues from its place, not from the
                // first page: an id is a UUIDv7 of its creation time (Guid.CreateVersion7(now), the CreatedAt), so the page
                // starts at that millisecond — one created in the same millisecond before it may be listed again, none skipped.
                var millisecond = CreatedMillisecond(after);
                runs = runs.Where(r => r.CreatedAt >= millisecond);
            }
        }
        var page = await runs
            .OrderBy(r => r.CreatedAt).ThenBy(r => r.Id)
            .Select(r => new SimulationResponse(r.Id, r.Name, r.Profile, r.Seed, r.CreatedAt, r.Version, r.ScenarioJson != null, r.EngineRules, SimulationResponse.LinksOf(r.Id)))
            .Take(query.Limit + 1)
            .ToListAsync(cancellationToken);
        return page.Count > query.Limit ? new SimulationList(page[..query.Limit], page[query.Limit - 1].Id) : new SimulationList(page, null);
    }

    /// <summary>A UUIDv7's timestamp (RFC 9562 §5.7: its first 48 bits, Unix milliseconds); null when the id is not version 7.</summary>
    public static DateTimeOffset? CreatedAtOf(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        if (bytes[6] >> 4 != 7) return null;
        long ms = 0;
        for (int i = 0; i < 6; i++) ms = ms << 8 | bytes[i];
        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    private static DateTimeOffset CreatedMillisecond(Guid id) => CreatedAtOf(id) ?? DateTimeOffset.MinValue;
}
