namespace SimService.Domain.Journal;

/// <summary>
/// Where a simulation's events go: the one output seam of the journal. The simulation asks
/// <see cref="Level"/> before it builds an event, so a sink that keeps less costs less; every event
/// it builds is handed to <see cref="Append"/> in sequence order.
/// </summary>
public interface IJournalSink
{
    /// <summary>The finest level of event this sink takes; events below it are never built.</summary>
    JournalLevel Level { get; }

    /// <summary>Takes the next event (its <see cref="SimEvent.Seq"/> is one more than the previous one's).</summary>
    void Append(SimEvent e);

    /// <summary>The events this sink still holds in memory, in order: all of them for an in-memory journal.</summary>
    IReadOnlyList<SimEvent> Held { get; }

    /// <summary>How many events were appended in all.</summary>
    long Appended { get; }
}

/// <summary>Keeps every event of its level in memory (what replay compares and the API persists).</summary>
public abstract class MemoryJournal(JournalLevel level) : IJournalSink
{
    readonly List<SimEvent> _events = [];

    public JournalLevel Level { get; } = level;
    public IReadOnlyList<SimEvent> Held => _events;
    public long Appended => _events.Count;
    public void Append(SimEvent e) => _events.Add(e);
}

/// <summary>The full journal: segments, timers, states, calls, kernel log lines, all in memory.</summary>
public sealed class FullJournal() : MemoryJournal(JournalLevel.Full);

/// <summary>State changes, calls, kernel log lines and configuration changes, in memory; no segments or timers.</summary>
public sealed class StatesJournal() : MemoryJournal(JournalLevel.States);

/// <summary>
/// No events at all: the hosts' MIB counters, sockstat and the kernel log are the only record.
/// What a million-connection workload uses.
/// </summary>
public sealed class CountersJournal : IJournalSink
{
    public JournalLevel Level => JournalLevel.Counters;
    public IReadOnlyList<SimEvent> Held => [];
    public long Appended { get; private set; }
    public void Append(SimEvent e) => Appended++;
}

/// <summary>
/// Hands events on in pages of <paramref name="pageSize"/> (to a database, a file, an HTTP
/// stream) and keeps only the page being filled, so a long run is persisted without holding
/// everything. Call <see cref="Flush"/> at the end for the last, partial page.
/// </summary>
public sealed class StreamingJournal(JournalLevel level, int pageSize, Action<IReadOnlyList<SimEvent>> writePage) : IJournalSink
{
    readonly List<SimEvent> _page = new(pageSize);

    public JournalLevel Level { get; } = level;
    public IReadOnlyList<SimEvent> Held => _page;
    public long Appended { get; private set; }

    public void Append(SimEvent e)
    {
        _page.Add(e);
        Appended++;
        if (_page.Count >= pageSize) Flush();
    }

    /// <summary>Writes what is buffered as one page, if anything (the list is reused afterwards: copy what you keep).</summary>
    public void Flush()
    {
        if (_page.Count == 0) return;
        writePage(_page);
        _page.Clear();
    }
}

/// <summary>The in-memory sink for a level.</summary>
public static class JournalSinks
{
    public static IJournalSink For(JournalLevel level) => level switch
    {
        JournalLevel.Full => new FullJournal(),
        JournalLevel.States => new StatesJournal(),
        _ => new CountersJournal(),
    };
}
