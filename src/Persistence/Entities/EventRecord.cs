namespace SimService.Persistence.Entities;

/// <summary>One entry of a simulation's journal: the append-only output the engine produced.</summary>
public sealed class EventRecord
{
    public Guid RunId { get; init; }
    public long Seq { get; init; }

    /// <summary>Virtual time, in nanoseconds, at which the event happened.</summary>
    public long AtNs { get; init; }

    /// <summary>Stable kebab-case discriminator of the event (never a CLR type name).</summary>
    public required string Type { get; init; }

    /// <summary>The host the event happened on (a link change: the sending side), for filtering.</summary>
    public string? Host { get; init; }

    /// <summary>The socket the event concerns, when it concerns one, for filtering.</summary>
    public int? SocketId { get; init; }

    /// <summary>
    /// The <see cref="JournalWrite"/> that wrote the row before its command's transaction, or 0 for a row written in
    /// that transaction (committed with it). Part of the key: two writers may pre-write the same <see cref="Seq"/>.
    /// </summary>
    public long WriteId { get; init; }

    /// <summary>The event's fields other than its time and sequence number, which are the columns above.</summary>
    public required string PayloadJson { get; init; }
}
