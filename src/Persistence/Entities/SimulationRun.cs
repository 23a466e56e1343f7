namespace SimService.Persistence.Entities;

/// <summary>
/// A simulation's identity and inputs that never change: its kernel profile and seed. With the ordered
/// <see cref="CommandRecord"/> log they determine everything the simulation does.
/// </summary>
public sealed class SimulationRun
{
    public const int NameMaxLength = 200;

    public Guid Id { get; init; }
    public required string Name { get; init; }

    /// <summary>Wire name of the kernel profile ("linux-6", "linux-4.4").</summary>
    public required string Profile { get; init; }

    public long Seed { get; init; }

    /// <summary>
    /// The version of the rules by which its commands meet the engine (Domain.Commands.EngineRules), fixed at creation: every
    /// rebuild, replay and export applies the log under it. A row stored before versions existed reads 0 (migration
    /// <c>EngineRules</c>), the rules its log was recorded under; a new simulation takes the current version.
    /// </summary>
    public int EngineRules { get; init; }

    /// <summary>Wall-clock creation time (metadata only; the simulation's own clock is virtual).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// The number of commands in the log (0 for a new simulation); bumped with every appended command.
    /// It is the resource's version (ETag, If-Match) and the optimistic-concurrency token between replicas.
    /// </summary>
    public long Version { get; set; }

    /// <summary>
    /// For a simulation made by running a scenario: the document as posted. It is the simulation's first
    /// input; rebuilding runs it on a fresh engine before applying the command log. Null otherwise.
    /// </summary>
    public string? ScenarioJson { get; init; }

    /// <summary>
    /// UTF-8 bytes of the stored journal's event payloads, kept with every append so that a tenant's journal quota
    /// is a sum over its simulations rather than over their events.
    /// </summary>
    public long JournalBytes { get; set; }

    /// <summary>Owner when API keys are enabled; null for the single-tenant default.</summary>
    public string? TenantId { get; init; }

    /// <summary>
    /// Deleted: invisible to every query at once (the global query filter), refused by every append, while its log and
    /// journal rows are removed a page per short transaction (<see cref="CommandLogWriter.Purge"/>); the row itself goes last.
    /// </summary>
    public bool Deleted { get; set; }
}
