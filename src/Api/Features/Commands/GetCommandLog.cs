using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure;
using SimService.Persistence;

namespace SimService.Api.Features.Commands;

/// <param name="Seq">1, 2, 3 ... without gaps: the log's order.</param>
/// <param name="Type">add-host, add-nat, add-link, change-link, set-sysctl, socket-call, kill, inject, advance.</param>
/// <param name="AtNs">Virtual time the command was applied at.</param>
/// <param name="Command">The stored command (durations in …Ns fields).</param>
public sealed record LoggedCommand(long Seq, long AtNs, string Type, JsonElement Command);

/// <param name="NextAfterSeq">Pass as afterSeq for the next page; null on the last page.</param>
public sealed record CommandLogPage(IReadOnlyList<LoggedCommand> Items, long? NextAfterSeq, long Version) : IVersioned;

public sealed record GetCommandLog(Guid SimulationId, long AfterSeq, int Limit) : IQuery<Outcome<CommandLogPage>>;

public sealed class GetCommandLogHandler(SimDbContext db) : IQueryHandler<GetCommandLog, Outcome<CommandLogPage>>
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>Read from the database: the log is the source of truth, and reading it needs no engine.</summary>
    public async ValueTask<Outcome<CommandLogPage>> Handle(GetCommandLog query, CancellationToken cancellationToken)
    {
        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == query.SimulationId, cancellationToken);
        if (run is null) return new SimulationNotFound(query.SimulationId);
        var records = await db.Commands.AsNoTracking()
            .Where(c => c.RunId == query.SimulationId && c.Seq > query.AfterSeq && c.Seq <= run.Version)
            .OrderBy(c => c.Seq).Take(query.Limit + 1).ToListAsync(cancellationToken);
        var page = records.Take(query.Limit)
            .Select(c => new LoggedCommand(c.Seq, c.AtNs, c.Type, JsonDocument.Parse(c.PayloadJson).RootElement.Clone())).ToList();
        return new CommandLogPage(page, records.Count > query.Limit ? page[^1].Seq : null, run.Version);
    }
}
