using System.Text.Json;
using SimService.Domain.Journal;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Serialization;

/// <summary>
/// Turns the engine's events into journal rows (pages, <see cref="JournalPageCodec"/>) as they come, a page of
/// <c>pageEvents</c> at a time; <see cref="Rows"/> seals the last, partial page.
/// </summary>
public sealed class JournalPageBuilder(Guid runId, int pageEvents)
{
    private readonly int _pageEvents = Math.Clamp(pageEvents, 1, JournalPageCodec.MaxEvents);
    private readonly List<EventRecord> _rows = [];

    /// <summary>Taken from the encoders' pool at the first event, given back when <see cref="Rows"/> seals the last page.</summary>
    private JournalPageEncoder? _encoder;

    /// <summary>Events added in all.</summary>
    public int Count { get; private set; }

    public void Add(SimEvent e)
    {
        var encoder = _encoder ??= JournalPageEncoder.Rent();
        encoder.Add(e);
        Count++;
        if (encoder.Count >= _pageEvents) _rows.Add(encoder.Seal(runId));
    }

    /// <summary>Every row so far, the page being built sealed (adding more afterwards starts a new page).</summary>
    public IReadOnlyList<EventRecord> Rows
    {
        get
        {
            if (_encoder is { } encoder)
            {
                if (encoder.Count > 0) _rows.Add(encoder.Seal(runId));
                _encoder = null;
                JournalPageEncoder.Return(encoder);
            }
            return _rows;
        }
    }

    /// <summary>The rows of <paramref name="events"/>.</summary>
    public static IReadOnlyList<EventRecord> Of(Guid runId, IEnumerable<SimEvent> events, int pageEvents)
    {
        var builder = new JournalPageBuilder(runId, pageEvents);
        foreach (var e in events) builder.Add(e);
        return builder.Rows;
    }
}

/// <summary>One event as the journal API shows it: its columns and its fields as JSON (exactly the JSON a one-event row stored).</summary>
public sealed record JournalItem(long Seq, long AtNs, string Type, string? Host, int? SocketId, JsonElement Data);

/// <summary>
/// Expands journal rows — pages (<see cref="JournalPageCodec"/>) and the one-event JSON rows written before pages —
/// back into events. Every reader of the stored journal goes through here.
/// </summary>
public static class JournalRows
{
    /// <summary>The events a row holds, in order, with their times and sequence numbers.</summary>
    public static IReadOnlyList<SimEvent> Events(EventRecord row) => row.Page is { } page
        ? Decode(row, page)
        : [EventTypeMap.FromRecord(row)];

    /// <summary>The events of rows in sequence order.</summary>
    public static IEnumerable<SimEvent> Events(IEnumerable<EventRecord> rows) => rows.SelectMany(Events);

    /// <summary>
    /// The items a row holds with <paramref name="afterSeq"/> &lt; Seq, those that pass <paramref name="keep"/> (given the
    /// item's seq, time, type, host and socket); a JSON row's stored payload as it is, a page's events serialized as a
    /// JSON row would have stored them.
    /// </summary>
    public static IEnumerable<JournalItem> Items(EventRecord row, long afterSeq, Func<long, long, string, string?, int?, bool> keep)
    {
        if (row.Page is not { } page)
        {
            if (row.Seq > afterSeq && keep(row.Seq, row.AtNs, row.Type!, row.Host, row.SocketId))
                yield return new JournalItem(row.Seq, row.AtNs, row.Type!, row.Host, row.SocketId, JsonDocument.Parse(row.PayloadJson!).RootElement.Clone());
            yield break;
        }
        foreach (var e in Decode(row, page))
        {
            if (e.Seq <= afterSeq) continue;
            var (type, host, socket) = (EventTypeMap.DiscriminatorOf(e), EventTypeMap.HostOf(e), EventTypeMap.SocketOf(e));
            if (!keep(e.Seq, e.At.Ns, type, host, socket)) continue;
            yield return new JournalItem(e.Seq, e.At.Ns, type, host, socket, JsonSerializer.SerializeToElement(e, SimJson.TypeInfo(e.GetType())));
        }
    }

    private static List<SimEvent> Decode(EventRecord row, byte[] page)
    {
        try
        {
            return JournalPageCodec.Decode(page, row.Seq, row.Count);
        }
        catch (JournalPageFormatException e)
        {
            throw new JournalPageFormatException($"simulation {row.RunId}, events {row.Seq}..{row.LastSeq}: {e.Problem}");
        }
    }
}
