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
    private sealed record Entry(string Discriminator, Type Type, Func<SimEvent, string?> Host, Func<SimEvent, int?> Socket);

    private static Entry Map<T>(string discriminator, Func<T, string?> host, Func<T, int?>? socket = null) where T : SimEvent =>
        new(discriminator, typeof(T), e => host((T)e), e => socket?.Invoke((T)e));

    private static readonly Entry[] Entries =
    [
        Map<SegmentSent>("segment-sent", e => e.Host),
        Map<SegmentDelivered>("segment-delivered", e => e.Host),
        Map<SegmentDropped>("segment-dropped", e => e.Host),
        Map<SegmentIgnored>("segment-ignored", e => e.Host, e => e.SocketId),
        Map<StateChanged>("state-changed", e => e.Host, e => e.SocketId),
        Map<TimerArmed>("timer-armed", e => e.Host, e => e.SocketId),
        Map<TimerFired>("timer-fired", e => e.Host, e => e.SocketId),
        Map<TimerCancelled>("timer-cancelled", e => e.Host, e => e.SocketId),
        Map<CallIssued>("call-issued", e => e.Host, e => e.SocketId),
        Map<CallReturned>("call-returned", e => e.Host, e => e.SocketId),
        Map<KernelLogged>("kernel-logged", e => e.Host),
        Map<DataDelivered>("data-delivered", e => e.Host, e => e.SocketId),
        Map<DataLost>("data-lost", e => e.Host, e => e.SocketId),
        Map<ProcessExited>("process-exited", e => e.Host),
        Map<SysctlChanged>("sysctl-changed", e => e.Host),
        Map<LinkChanged>("link-changed", e => e.From),
    ];

    private static readonly FrozenDictionary<Type, Entry> ByType = Entries.ToFrozenDictionary(e => e.Type);
    private static readonly FrozenDictionary<string, Entry> ByDiscriminator = Entries.ToFrozenDictionary(e => e.Discriminator, StringComparer.Ordinal);

    /// <summary>Every discriminator, in a fixed order.</summary>
    public static IReadOnlyList<string> Discriminators { get; } = [.. Entries.Select(e => e.Discriminator)];

    public static IReadOnlyCollection<Type> MappedTypes => ByType.Keys;

    public static bool IsKnown(string discriminator) => ByDiscriminator.ContainsKey(discriminator);

    public static string DiscriminatorOf(SimEvent e) => Find(e).Discriminator;

    /// <summary>The event's fields other than its time and sequence number.</summary>
    public static string Payload(SimEvent e) => JsonSerializer.Serialize(e, SimJson.TypeInfo(e.GetType()));

    public static EventRecord ToRecord(Guid runId, SimEvent e)
    {
        var entry = Find(e);
        return new EventRecord
        {
            RunId = runId,
            Seq = e.Seq,
            AtNs = e.At.Ns,
            Type = entry.Discriminator,
            Host = entry.Host(e),
            SocketId = entry.Socket(e),
            PayloadJson = Payload(e),
        };
    }

    /// <summary>The event a record holds (its time and sequence number from the columns).</summary>
    public static SimEvent FromRecord(EventRecord record)
    {
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
