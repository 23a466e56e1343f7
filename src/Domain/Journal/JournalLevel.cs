namespace SimService.Domain.Journal;

/// <summary>How much a simulation records: everything, state changes and calls only, or counters only.</summary>
public enum JournalLevel
{
    Full,
    States,
    Counters,
}
