namespace SimService.Domain.Engine;

/// <summary>
/// The engine's turn on a processor that it shares with other work (other simulations' replays and workloads). Whoever
/// runs the engine may give it a turn (<see cref="Simulation.Turn"/>); between two events, and between two commands of a
/// replay, the engine asks the turn to <see cref="Pass"/> while someone else waits for it (<see cref="Wanted"/>). The
/// engine itself stays synchronous and knows no clock, thread or lock: when to give the processor up, and how to wait
/// for it again, is the scheduler's (the API's engine threads). Nothing of the simulation changes while it waits — the
/// next event is the one it would have processed anyway — so a run that passed its turn is the run that did not.
/// </summary>
public abstract class EngineTurn
{
    private volatile bool _wanted;

    /// <summary>Someone waits for this turn's processor: the engine calls <see cref="Pass"/> at its next boundary. One read per event while it is false.</summary>
    public bool Wanted => _wanted;

    /// <summary>Set by the scheduler when work starts or stops waiting for this turn's processor.</summary>
    protected void SetWanted(bool wanted) => _wanted = wanted;

    /// <summary>
    /// Called between events while <see cref="Wanted"/>: gives the processor up if this turn has had its share, and returns
    /// once it is this work's again. May throw <see cref="OperationCanceledException"/> (the work was cancelled while it
    /// waited), as <see cref="Simulation.Interruption"/> does.
    /// </summary>
    public abstract void Pass();
}
