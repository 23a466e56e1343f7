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

    public required string PayloadJson { get; init; }
}
