namespace SimService.Persistence.Entities;

/// <summary>
/// One entry of a simulation's command log, the source of truth that a replay re-runs.
/// (RunId, Seq) is unique: two replicas appending the same sequence number cannot both win.
/// </summary>
public sealed class CommandRecord
{
    public Guid RunId { get; init; }
    public long Seq { get; init; }

    /// <summary>Virtual time, in nanoseconds, at which the command was applied.</summary>
    public long AtNs { get; init; }

    /// <summary>Stable kebab-case discriminator of the command (never a CLR type name).</summary>
    public required string Type { get; init; }

    public required string PayloadJson { get; init; }
}
