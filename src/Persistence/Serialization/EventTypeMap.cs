using System.Collections.Frozen;
using System.Text.Json;
using SimService.Domain.Journal;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Serialization;

/// <summary>
/// The stable kebab-case discriminator of every journal event type, and which host and socket an event
/// concerns (the filterable columns of <see cref="EventRecord"/>). A test fails when a <see cref="SimEvent"/>
/// subtype is missing here: add it with a new discriminator, and to <see cref="SimJsonContext"/>.
/// Discriminators are stored: never rename one.
/// </summary>
public static class EventTypeMap
{
    private sealed record Entry(string Discriminator, byte Code, Type Type, Func<SimEvent, string?> Host, Func<SimEvent, int?> Socket);

    private static Entry Map<T>(string discriminator, byte code, Func<T, string?> host, Func<T, int?>? socket = null) where T : SimEvent =>
        new(discriminator, code, typeof(T), e => host((T)e), e => socket?.Invoke((T)e));

    private static readonly Entry[] Entries =
    [
        Map<SegmentSent>("segment-sent", 1, e => e.Host),
        Map<SegmentDelivered>("segment-delivered", 2, e => e.Host),
        Map<SegmentDropped>("segment-dropped", 3, e => e.Host),
        Map<SegmentIgnored>("segment-ignored", 4, e => e.Host, e => e.SocketId),
        Map<StateChanged>("state-changed", 5, e => e.Host, e => e.SocketId),
        Map<TimerArmed>("timer-armed", 6, e => e.Host, e => e.SocketId),
        Map<TimerFired>("timer-fired", 7, e => e.Host, e => e.SocketId),
        Map<TimerCancelled>("timer-cancelled", 8, e => e.Host, e => e.SocketId),
        Map<CallIssued>("call-issued", 9, e => e.Host, e => e.SocketId),
        Map<CallReturned>("call-returned", 10, e => e.Host, e => e.SocketId),
        Map<KernelLogged>("kernel-logged", 11, e => e.Host),
        Map<DataDelivered>("data-delivered", 12, e => e.Host, e => e.SocketId),
        Map<DataLost>("data-lost", 13, e => e.Host, e => e.SocketId),
        Map<ProcessExited>("process-exited", 14, e => e.Host),
        Map<SysctlChanged>("sysctl-changed", 15, e => e.Host),
        Map<LinkChanged>("link-changed", 16, e => e.From),
    ];

    // The codes (1–16) are the journal pages' event tags and the bits of EventRecord.Types (JournalPageCodec):
    // stored, like the discriminators — never renumber one.

    private static readonly FrozenDictionary<Type, Entry> ByType = Entries.ToFrozenDictionary(e => e.Type);
    private static readonly FrozenDictionary<string, Entry> ByDiscriminator = Entries.ToFrozenDictionary(e => e.Discriminator, StringComparer.Ordinal);

    /// <summary>Every discriminator, in a fixed order.</summary>
    public static IReadOnlyList<string> Discriminators { get; } = [.. Entries.Select(e => e.Discriminator)];

    private static readonly Entry[] ByCode = [.. Entries.OrderBy(e => e.Code)];

    public static IReadOnlyCollection<Type> MappedTypes => ByType.Keys;

    public static bool IsKnown(string discriminator) => ByDiscriminator.ContainsKey(discriminator);

    /// <summary>The stored code of a discriminator (a journal page's event tag; its bit in <see cref="EventRecord.Types"/> is 1 &lt;&lt; (code − 1)).</summary>
    public static byte CodeOf(string discriminator) => ByDiscriminator.TryGetValue(discriminator, out var entry)
        ? entry.Code
        : throw new InvalidOperationException($"Unknown journal event type '{discriminator}'.");

    /// <summary>The bits of <see cref="EventRecord.Types"/> that stand for <paramref name="discriminators"/>.</summary>
    public static int TypeBits(IEnumerable<string> discriminators) => discriminators.Aggregate(0, (bits, d) => bits | 1 << (CodeOf(d) - 1));

    /// <summary>The discriminator of a stored code, or null for an unknown one.</summary>
    public static string? DiscriminatorOfCode(byte code) => code >= 1 && code <= Entries.Length ? ByCode[code - 1].Discriminator : null;

    /// <summary>The host an event happened on (a link change: its sending side), as the filterable column holds it.</summary>
    public static string? HostOf(SimEvent e) => Find(e).Host(e);

    /// <summary>The socket an event concerns, if any, as the filterable column holds it.</summary>
    public static int? SocketOf(SimEvent e) => Find(e).Socket(e);

    public static string DiscriminatorOf(SimEvent e) => Find(e).Discriminator;

    /// <summary>The event's fields other than its time and sequence number.</summary>
    public static string Payload(SimEvent e) => JsonSerializer.Serialize(e, SimJson.TypeInfo(e.GetType()));

    /// <summary>One event as a one-event JSON row, as journals were stored before pages (<see cref="JournalPageBuilder"/> writes pages).</summary>
    public static EventRecord ToRecord(Guid runId, SimEvent e)
    {
        var entry = Find(e);
        return new EventRecord
        {
            RunId = runId,
            Seq = e.Seq,
            AtNs = e.At.Ns,
            LastSeq = e.Seq,
            LastAtNs = e.At.Ns,
            Types = 1 << (entry.Code - 1),
            Type = entry.Discriminator,
            Host = entry.Host(e),
            SocketId = entry.Socket(e),
            PayloadJson = Payload(e),
        };
    }

    /// <summary>The event a record holds (its time and sequence number from the columns).</summary>
    public static SimEvent FromRecord(EventRecord record)
    {
        if (record.Type is null || record.PayloadJson is null)
            throw new InvalidOperationException($"Journal row {record.Seq} is a page, not one event: read it through JournalRows.");
        if (!ByDiscriminator.TryGetValue(record.Type, out var entry))
            throw new InvalidOperationException($"Unknown journal event type '{record.Type}'.");
        var e = (SimEvent)(JsonSerializer.Deserialize(record.PayloadJson, SimJson.TypeInfo(entry.Type))
            ?? throw new InvalidOperationException($"Journal event {record.Seq} has no payload."));
        return e with { At = new(record.AtNs), Seq = record.Seq };
    }

    private static Entry Find(SimEvent e) => ByType.TryGetValue(e.GetType(), out var entry)
        ? entry
        : throw new InvalidOperationException($"Journal event type {e.GetType().Name} has no discriminator in EventTypeMap.");
}
