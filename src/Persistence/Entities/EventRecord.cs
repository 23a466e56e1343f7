namespace SimService.Persistence.Entities;

/// <summary>
/// A row of a simulation's journal (the append-only output the engine produced): a <em>page</em> of events
/// <see cref="Seq"/>..<see cref="LastSeq"/> in the binary encoding of <see cref="Serialization.JournalPageCodec"/>
/// (<see cref="Page"/>), or — as rows were written before journal pages — one event as JSON (<see cref="PayloadJson"/>,
/// with <see cref="Type"/>, <see cref="Host"/> and <see cref="SocketId"/>). Readers expand both through
/// <see cref="Serialization.JournalRows"/>.
/// </summary>
public sealed class EventRecord
{
    public Guid RunId { get; init; }

    /// <summary>The (first) event's sequence number.</summary>
    public long Seq { get; init; }

    /// <summary>Virtual time, in nanoseconds, of the (first) event.</summary>
    public long AtNs { get; init; }

    /// <summary>The last event's sequence number (<see cref="Seq"/> for a one-event row): a page holds every number between.</summary>
    public long LastSeq { get; init; }

    /// <summary>Virtual time of the last event (the journal is in time order: every event of the row is within <see cref="AtNs"/>..this).</summary>
    public long LastAtNs { get; init; }

    /// <summary>The event types the row holds, a bit each: 1 &lt;&lt; (code − 1) (<see cref="Serialization.EventTypeMap.CodeOf"/>).</summary>
    public int Types { get; init; }

    /// <summary>Stable kebab-case discriminator of a one-event JSON row (never a CLR type name); null for a page.</summary>
    public string? Type { get; init; }

    /// <summary>The host a one-event row's event happened on (a link change: the sending side), for filtering; null for a page.</summary>
    public string? Host { get; init; }

    /// <summary>The socket a one-event row's event concerns, when it concerns one, for filtering; null for a page.</summary>
    public int? SocketId { get; init; }

    /// <summary>
    /// The <see cref="JournalWrite"/> that wrote the row before its command's transaction, or 0 for a row written in
    /// that transaction (committed with it). Part of the key: two writers may pre-write the same <see cref="Seq"/>.
    /// </summary>
    public long WriteId { get; init; }

    /// <summary>A one-event row's fields other than its time and sequence number, which are the columns above; null for a page.</summary>
    public string? PayloadJson { get; init; }

    /// <summary>A page's events, encoded (<see cref="Serialization.JournalPageCodec"/>); null for a one-event JSON row.</summary>
    public byte[]? Page { get; init; }

    /// <summary>Events the row holds.</summary>
    public long Count => LastSeq - Seq + 1;

    /// <summary>Bytes of the stored events (a page's encoding, or a JSON row's UTF-8 payload): what the journal quota counts.</summary>
    public long StoredBytes => Page?.Length ?? System.Text.Encoding.UTF8.GetByteCount(PayloadJson ?? "");
}
