using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Workloads;
using SimService.Domain.Time;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// The commands one request applies to a live engine, and the rows they add: each applied command becomes
/// a <see cref="CommandRecord"/> with the next sequence number, and the journal events it produced become
/// journal pages (<see cref="EventRecord"/>s of many events each, <see cref="JournalPageBuilder"/>), encoded as the engine
/// hands them over. <see cref="LiveSimulations"/> saves them all in one transaction, or none.
/// </summary>
public sealed class CommandBatch
{
    private readonly Guid _simulationId;
    private readonly JournalPageBuilder _pages;
    private int _journalMark;

    /// <summary>The most journal events this request may add (<see cref="SimulationEngines.JournalEventsPerRequest"/>); a request that needs more is refused whole.</summary>
    public int MaxJournalEvents { get; }

    internal CommandBatch(Guid simulationId, Simulation engine, long version, int maxJournalEvents, int pageEvents, long maxInstantEvents)
    {
        MaxInstantEvents = maxInstantEvents;
        _pages = new JournalPageBuilder(simulationId, pageEvents);
        MaxJournalEvents = maxJournalEvents;
        _simulationId = simulationId;
        Engine = engine;
        Version = version;
        _journalMark = engine.Journal.Count;
        engine.JournalLimit = engine.Sink.Appended + MaxJournalEvents;
    }

    /// <summary>
    /// The most events a command's own instant may run in this request (<see cref="EngineRules.SameInstant"/>,
    /// <see cref="SimulationEngines.InstantEventsPerRequest"/>); a command whose instant needs more is refused whole.
    /// </summary>
    public long MaxInstantEvents { get; }

    /// <summary>
    /// A command of this batch stopped part-way on a work limit: it filled the journal up to <see cref="MaxJournalEvents"/>,
    /// or its own instant ran <see cref="MaxInstantEvents"/> with events still due. The whole request is refused and
    /// the engine rebuilt (<see cref="LiveSimulations"/>): nothing of it is applied.
    /// </summary>
    public bool WorkLimitReached { get; private set; }

    /// <summary>What the refused request would have gone past, and what would make it fit (set with <see cref="WorkLimitReached"/>).</summary>
    public string LimitMessage { get; private set; } = "";

    /// <summary>Queue items the commands of this batch processed (for the service's metrics).</summary>
    public long EventsProcessed { get; private set; }

    /// <summary>The live engine, to read from; change it only through <see cref="Apply"/>.</summary>
    public Simulation Engine { get; }

    /// <summary>The simulation's version after the commands applied so far.</summary>
    public long Version { get; private set; }

    /// <summary>Whether any command changed the engine (then a failure must drop it).</summary>
    public bool Changed => Commands.Count > 0 || WorkLimitReached;

    internal List<CommandRecord> Commands { get; } = [];
    /// <summary>The journal rows (pages) of the events the commands of this batch produced; read once they are all applied.</summary>
    internal IReadOnlyList<EventRecord> Events => _pages.Rows;

    /// <summary>The journal events the commands of this batch produced so far.</summary>
    public int EventCount => _pages.Count;

    /// <summary>
    /// Applies a command. A refused command (a <see cref="DomainError"/>) has changed nothing and adds no row.
    /// </summary>
    public CommandOutcome Apply(SimCommand command)
    {
        var at = Engine.Now;
        Engine.Interruption.ThrowIfCancellationRequested(); // between commands too: a batch of many small ones
        if (Cut is { } cut) return AfterCut(cut);
        if (CommandApplier.ArrivalProblem(command) is { } problem) return new CommandOutcome(problem);
        long before = Engine.EventsProcessed;
        long journalLimit = Engine.JournalLimit;
        if (command is KillCommand kill) Engine.JournalLimit = KillJournalLimit(kill);
        Engine.JournalStopped = false;
        var outcome = CommandApplier.Apply(Engine, command, MaxInstantEvents);
        // Past the limit: the limit stopped the command with an event still due, or its last event took the journal beyond
        // it. A command that fills the journal exactly, with nothing left due, is within it (fix34g N4: a connect() adding
        // exactly the limit's events was refused as "more than" it, and so was any command after an advance that filled it
        // exactly on its last due event — complete, not cut).
        bool journalFull = Engine.JournalStopped || Engine.JournalOverLimit;
        Engine.JournalLimit = journalLimit; // a later command of the request meets the request's own limit
        EventsProcessed += Engine.EventsProcessed - before;
        if (journalFull && command is AdvanceCommand advance && outcome.Advance is { EventsProcessed: > 0 } ran)
        {
            // An advance stops between events once the journal is full (Simulation.RunUntil() looks before each), as an
            // event budget stops it: it is applied, truncated, and logged with the budget it used, so a rebuild stops at
            // the same event. A kill's closes may leave more due at one instant than a request may journal (30,000 FINs
            // reaching their peers together); the kernel's NET_RX softirq takes them netdev_budget at a time, and the
            // next advance goes on where this one stopped. At most the last event's few entries pass the limit.
            Record(advance with { EventBudget = ran.EventsProcessed }, at);
            if (ran.Truncated) Cut = new JournalCut(advance, ran.Now, ran.EventsProcessed);
            return outcome;
        }
        if (journalFull) return LimitReached(command);
        if (outcome.InstantCut) return InstantLimitReached();
        if (outcome.IsOk) Record(command, at);
        return outcome;
    }

    /// <summary>
    /// A kill is one command that cannot be split, and as many closes as the process holds descriptors (do_exit() →
    /// exit_files(), each last fput() a tcp_close() with its own instant): it may add <see cref="MaxJournalEvents"/> journal
    /// events per descriptor it closes, beyond what the request added so far, as each close() call could in a request of
    /// its own. Its work stays bounded: a close journals a handful of events, and each close's instant at most
    /// <see cref="MaxInstantEvents"/> events (Simulation.Kill()).
    /// </summary>
    private long KillJournalLimit(KillCommand kill)
    {
        int descriptors = Engine.FindHost(kill.Host)?.FindProcess(kill.Process)?.OpenCount ?? 0;
        return Math.Max(Engine.JournalLimit, Engine.Sink.Appended + (long)MaxJournalEvents * (1 + descriptors));
    }

    /// <summary>
    /// The refusal of a command that filled the journal: an advance's event budget is at fault, a workload's count (its
    /// connections at its journal level), else the command.
    /// </summary>
    private CommandOutcome LimitReached(SimCommand command)
    {
        var (field, advice) = command switch
        {
            AdvanceCommand => ("eventBudget", "Use a smaller event budget (eventBudget), or advance in smaller steps."),
            WorkloadCommand workload => WorkloadAdvice(workload.Spec),
            KillCommand => ("process", "A kill cannot be split: it may add that many per descriptor it closes, and this one needs "
                + "more: raise Limits:JournalEventsPerRequest (the number), or close some of the process's sockets first."),
            _ => ((string?)null, "Send fewer commands per request, or advance in smaller steps."),
        };
        return Refuse(field, $"The request would add more than {MaxJournalEvents} journal events; nothing was applied. {advice}");
    }

    /// <summary>
    /// The refusal of a command after an advance the journal limit stopped (<see cref="Cut"/>): the journal is full, and what
    /// the command would run at its instant belongs after the events the advance left due, so no command follows it in the
    /// same request; the request is refused whole, saying so (it was "would add more than N journal events" at the next
    /// command that journaled, and a kill, which has an allowance of its own, ran on).
    /// </summary>
    private CommandOutcome AfterCut(JournalCut cut) => Refuse(null,
        $"An earlier advance of this request was cut at the journal limit ({MaxJournalEvents} events per request): {cut}; "
        + "nothing was applied. Send the commands after that advance in another request (alone, the advance is applied, truncated there).");

    /// <summary>
    /// The refusal of a call, kill or inject whose own instant ran <see cref="MaxInstantEvents"/> events with more due: a
    /// truncated instant logged would rebuild under the rule's bound and run on, so it is not applied at all.
    /// </summary>
    private CommandOutcome InstantLimitReached() => Refuse(null,
        $"The command's own instant would process more than {MaxInstantEvents} events (the most one request may); nothing was applied. "
        + "Send less per call (bytes), or split the work over calls with advances between them.");

    private CommandOutcome Refuse(string? field, string message)
    {
        WorkLimitReached = true;
        LimitMessage = message;
        return new CommandOutcome(new DomainError("limit", message, field));
    }

    /// <summary>
    /// A workload journals per connection at its level: fewer connections, or a coarser level, make it fit — and when it is
    /// one connection already, fewer bytes: the larger of its sizes is then the field that sized the work (each send and
    /// recv a call journaled; tester34: 10 GB at "States" was told to lower a count of 1).
    /// </summary>
    private static (string Field, string Advice) WorkloadAdvice(WorkloadSpec spec)
    {
        var coarser = spec.Level switch
        {
            JournalLevel.Full => " or set a coarser level: \"States\" (state changes only) or \"Counters\" (no journal events)",
            JournalLevel.States => " or set level \"Counters\" (no journal events)",
            _ => "",
        };
        if (spec.Connections > 1)
            return ("count", $"The workload's {spec.Connections} connections at level \"{spec.Level}\" journal more than that: lower count{coarser}.");
        var bytes = spec.RequestBytes >= spec.ResponseBytes ? "requestBytes" : "responseBytes";
        return (bytes, $"The workload's one connection at level \"{spec.Level}\" journals more than that with its {bytes}: send fewer bytes{coarser}.");
    }

    /// <summary>
    /// The advance of this batch that the journal limit stopped between events, with events still due: applied, truncated and
    /// logged with the budget it used (<see cref="LastRecorded"/>), and the batch's last command (<see cref="AfterCut"/>). A
    /// run whose results come from the whole script or document (a packetdrill run) is refused when its log is cut so.
    /// </summary>
    public JournalCut? Cut { get; private set; }

    /// <summary>An advance the journal limit stopped: where it was going, the virtual time it stopped at, the events it processed.</summary>
    public sealed record JournalCut(AdvanceCommand Advance, SimTime StoppedAt, long EventsProcessed)
    {
        /// <summary>"the journal limit stopped the advance to 416ms at 300ms, after 12 events".</summary>
        public override string ToString() => $"the journal limit stopped the advance {Advance.Mode switch
        {
            AdvanceMode.By => $"by {Advance.Amount}",
            AdvanceMode.To => $"to {new SimTime(Advance.Amount.Ns)}",
            _ => "until idle",
        }} at {StoppedAt}, after {EventsProcessed} event{(EventsProcessed == 1 ? "" : "s")}";
    }

    /// <summary>The last command logged, as logged (an advance the journal limit stopped names the budget it used).</summary>
    public SimCommand? LastRecorded { get; private set; }

    private void Record(SimCommand command, SimTime at)
    {
        LastRecorded = command;
        Version++;
        Commands.Add(new CommandRecord
        {
            RunId = _simulationId,
            Seq = Version,
            AtNs = at.Ns,
            Type = CommandTypeMap.DiscriminatorOf(command),
            PayloadJson = CommandTypeMap.Payload(command),
        });
        var journal = Engine.Journal;
        for (; _journalMark < journal.Count; _journalMark++)
            _pages.Add(journal[_journalMark]);
    }
}
