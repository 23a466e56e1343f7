namespace SimService.Persistence.Entities;

/// <summary>
/// One request's journal rows written in pages before its command's transaction, outside it (a big request's rows
/// would otherwise hold every other simulation's commits while they are written). Its <see cref="Id"/> is the writer
/// tag of those <see cref="EventRecord"/>s (<see cref="EventRecord.WriteId"/>): two processes may pre-write the same
/// sequence numbers of one simulation, and only the write whose command's transaction moved the simulation's version
/// from <see cref="FromVersion"/> is <see cref="Committed"/>; readers see the rows of committed writes only.
/// </summary>
public sealed class JournalWrite
{
    /// <summary>The writer tag, unique across processes (the database numbers it).</summary>
    public long Id { get; init; }

    public Guid RunId { get; init; }

    /// <summary>
    /// The simulation's version the request's commands were applied on. Once the stored version is past it and the
    /// write is not committed, it never will be: its rows are orphans (refused, rolled back, or their process died).
    /// </summary>
    public long FromVersion { get; init; }

    /// <summary>The first and last journal sequence number of the write's rows (what a clean-up deletes).</summary>
    public long FirstSeq { get; init; }

    public long LastSeq { get; init; }

    /// <summary>Set by the command's transaction, with the version move: from then on readers see the rows.</summary>
    public bool Committed { get; set; }
}
