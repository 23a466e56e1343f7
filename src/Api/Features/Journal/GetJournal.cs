using System.Text.Json;
using Mediator;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Features.Hosts;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Persistence;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Features.Journal;

/// <param name="Seq">Position in the journal, from 0, without gaps.</param>
/// <param name="AtNs">Virtual time of the event.</param>
/// <param name="Type">segment-sent, segment-delivered, segment-dropped, segment-ignored, state-changed, timer-armed, timer-fired,
/// timer-cancelled, call-issued, call-returned, kernel-logged, data-delivered, data-lost, process-exited, sysctl-changed, link-changed.</param>
/// <param name="Host">The host it happened on (a link change: the sending side).</param>
/// <param name="SocketId">The socket it concerns, if any.</param>
/// <param name="Data">The event's fields (times in …Ns fields; a state change names the kernel function in "cause").</param>
public sealed record JournalEntry(long Seq, long AtNs, string Type, string? Host, int? SocketId, JsonElement Data);

/// <param name="NextAfterSeq">Pass as afterSeq for the next page; null on the last page.</param>
/// <param name="Total">Events in the whole journal (unfiltered).</param>
public sealed record JournalPage(IReadOnlyList<JournalEntry> Items, long? NextAfterSeq, long Total, long Version) : IVersioned;

/// <param name="Hosts">Events of any of these hosts (none: every host's); each must be a host of the simulation.</param>
/// <param name="SocketIds">Events of any of these sockets (none: every event).</param>
/// <param name="Types">Events of any of these types (none: every type).</param>
public sealed record JournalFilter(IReadOnlyList<string> Hosts, IReadOnlyList<int> SocketIds, IReadOnlyList<string> Types, long? FromNs, long? ToNs,
    long? AfterSeq, int Limit);

public sealed record GetJournal(Guid SimulationId, JournalFilter Filter) : IQuery<Outcome<JournalPage>>;

public sealed class GetJournalHandler(SimDbContext db, LiveSimulations simulations, HeavyReads heavy) : IQueryHandler<GetJournal, Outcome<JournalPage>>
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 5000;

    /// <summary>Journal rows read per query while a page of the response fills (a stored page holds up to a thousand events or so).</summary>
    private const int RowsPerQuery = 8;

    /// <summary>Read from the database, where every event was stored with the command that produced it (committed rows only: <see cref="SimDbContext.JournalOf"/>).</summary>
    public async ValueTask<Outcome<JournalPage>> Handle(GetJournal query, CancellationToken cancellationToken)
    {
        var f = query.Filter;
        var errors = new Dictionary<string, string[]>();
        var unknown = f.Types.Where(t => !EventTypeMap.IsKnown(t)).ToList();
        if (unknown.Count > 0)
            errors["type"] = [$"Unknown event type {string.Join(", ", unknown)}; expected any of {string.Join(", ", EventTypeMap.Discriminators)}."];
        if (f.FromNs is < 0) errors["fromNs"] = ["fromNs is a virtual time: zero or positive."];
        if (f.ToNs is < 0) errors["toNs"] = ["toNs is a virtual time: zero or positive."];
        if (f.FromNs is { } from && f.ToNs is { } to && to < from) errors["toNs"] = ["toNs is before fromNs."];
        // In the words and by the rule of the command log's paging (Int64Range, Range on GetCommandLog's parameters).
        if (f.AfterSeq is < -1) errors["afterSeq"] = ["The field afterSeq must be -1 or more."];
        if (f.Limit is < 1 or > MaxLimit) errors["limit"] = [$"The field limit must be between 1 and {MaxLimit}."];
        if (errors.Count > 0) return new RequestInvalid(errors, query.SimulationId);

        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == query.SimulationId, cancellationToken);
        if (run is null) return new SimulationNotFound(query.SimulationId);
        if (f.Hosts.Count > 0 || f.SocketIds.Count > 0)
        {
            // The hosts and sockets are the live engine's (HostLookup's rules, as for the capture and the diagram); the journal itself is the database's.
            var hosts = await simulations.ReadAsync(query.SimulationId, (engine, _) =>
                ((Failure?)HostLookup.Unknown(engine, query.SimulationId, f.Hosts) ?? HostLookup.UnknownSocket(engine, query.SimulationId, f.SocketIds, "socketId"))
                    is { } unknown ? unknown : (Outcome<bool>)true, cancellationToken);
            if (!hosts.TryGet(out _, out var failure)) return failure;
        }

        var rows = db.JournalOf(query.SimulationId);
        var total = await rows.SumAsync(e => e.LastSeq - e.Seq + 1, cancellationToken);
        var afterSeq = f.AfterSeq ?? -1;
        // A row is a page of events Seq..LastSeq (or one event, as stored before pages): the page holding afterSeq + 1 starts
        // at most MaxEvents earlier, so the key's range starts there — O(page), not O(journal). Each filter skips the rows
        // that cannot hold a match by their columns; the events of the others are matched one by one.
        var candidates = rows.Where(e => e.LastSeq > afterSeq);
        if (f.Types.Count > 0)
        {
            int bits = EventTypeMap.TypeBits(f.Types);
            candidates = candidates.Where(e => (e.Types & bits) != 0);
        }
        if (f.FromNs is { } fromNs) candidates = candidates.Where(e => e.LastAtNs >= fromNs);
        if (f.ToNs is { } toNs) candidates = candidates.Where(e => e.AtNs <= toNs);
        var hostNames = f.Hosts.Distinct(StringComparer.Ordinal).ToList();
        var socketIds = f.SocketIds.Distinct().ToList();
        if (hostNames.Count > 0) candidates = candidates.Where(e => e.Page != null || hostNames.Contains(e.Host!));
        if (socketIds.Count > 0) candidates = candidates.Where(e => e.Page != null || (e.SocketId != null && socketIds.Contains(e.SocketId.Value)));
        var types = f.Types.ToHashSet(StringComparer.Ordinal);
        bool Keep(long seq, long atNs, string type, string? host, int? socket) =>
            (hostNames.Count == 0 || (host is not null && hostNames.Contains(host))) && (socketIds.Count == 0 || (socket is { } s && socketIds.Contains(s)))
            && (types.Count == 0 || types.Contains(type))
            && (f.FromNs is null || atNs >= f.FromNs) && (f.ToNs is null || atNs <= f.ToNs);

        // A host or socket filter decodes every stored page after afterSeq until its page fills (a rare match: the whole
        // journal, 1–2 s for 310,000 events): a whole-log read, it runs as the others do (HeavyReads: one of the tenant's heavy
        // slots, demoted, under Limits:HeavySeconds). It ran as light work: 30 at once ran past the 10 s limit (422s after
        // 18.5 s, "ask for a page") and slowed every other simulation's commands (tester36 MEDIUM-2).
        List<JournalItem> records;
        if (hostNames.Count > 0 || socketIds.Count > 0)
        {
            var scan = await heavy.RunAsync<List<JournalItem>>(query.SimulationId, async read => await read.OnEngineAsync(run.TenantId,
                (stop, _) => ScanAsync(candidates, afterSeq, f.Limit, Keep, stop).GetAwaiter().GetResult()), cancellationToken);
            if (!scan.TryGet(out records, out var stopped)) return stopped;
        }
        else records = await ScanAsync(candidates, afterSeq, f.Limit, Keep, cancellationToken);
        var page = records.Take(f.Limit).Select(e => new JournalEntry(e.Seq, e.AtNs, e.Type, e.Host, e.SocketId, e.Data)).ToList();
        return new JournalPage(page, records.Count > f.Limit ? page[^1].Seq : null, total, run.Version);
    }

    /// <summary>The first <paramref name="limit"/> + 1 events after <paramref name="afterSeq"/> that <paramref name="keep"/> takes, from the candidate rows, a few rows per query.</summary>
    private static async Task<List<JournalItem>> ScanAsync(IQueryable<EventRecord> candidates, long afterSeq, int limit,
        Func<long, long, string, string?, int?, bool> keep, CancellationToken cancellationToken)
    {
        var records = new List<JournalItem>(Math.Min(limit + 1, 1024));
        for (long rowCursor = afterSeq - JournalPageCodec.MaxEvents; records.Count <= limit;)
        {
            var chunk = await candidates.Where(e => e.Seq > rowCursor).OrderBy(e => e.Seq).Take(RowsPerQuery).ToListAsync(cancellationToken);
            foreach (var row in chunk)
            {
                foreach (var item in JournalRows.Items(row, afterSeq, keep))
                {
                    records.Add(item);
                    if (records.Count > limit) break;
                }
                if (records.Count > limit) break;
            }
            if (chunk.Count < RowsPerQuery) break;
            rowCursor = chunk[^1].Seq;
        }
        return records;
    }
}
