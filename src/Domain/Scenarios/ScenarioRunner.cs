using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>
/// Runs a scenario document (docs/scenario-format.md) on a fresh <see cref="Simulation"/>: builds
/// the hosts and links, executes the steps in virtual time (every event at or before a step's time
/// first), then runs on after the last step and makes the final checks. One instance per run.
/// </summary>
public sealed partial class ScenarioRunner
{
    readonly ScenarioDocument _doc;
    readonly Simulation _sim;
    readonly long _eventBudget;
    readonly long _maxHosts;
    readonly Action<ExpectStep, Simulation>? _atExpect;
    long _eventsProcessed;
    bool _budgetSpent;
    string? _journalStoppedAt;
    string? _socketsStoppedAt;
    int _journalCursor;
    /// <summary>The path of what the run is doing: the step (the advance to its time, then the step itself), "$.runUntil" or "$".</summary>
    string _runningAt = "$";
    /// <summary>Where the run was when it left what the engine models (<see cref="Simulation.LeftModel"/>): its run error's path.</summary>
    string? _leftModelAt;
    readonly List<CheckResult> _checks = [];
    readonly List<ScenarioError> _errors = [];
    readonly List<SimCommand> _commands = [];

    ScenarioRunner(ScenarioDocument doc, ScenarioRunOptions options)
    {
        _doc = doc;
        _eventBudget = options.EventBudget;
        _maxHosts = options.MaxHosts;
        _atExpect = options.AtExpect;
        _sim = new Simulation(doc.Kernel, doc.Seed)
        {
            JournalLevel = JournalLevel.Full, Interruption = options.Interruption, Turn = options.Turn,
            EngineRules = options.EngineRules ?? doc.EngineRules ?? EngineRules.Current,
            JournalLimit = options.JournalLimit, SocketLimit = options.SocketLimit,
        };
        options.Attach?.Invoke(_sim);
    }

    /// <summary>Runs a parsed document; a failed check is a result, never an exception.</summary>
    public static ScenarioRunResult Run(ScenarioDocument doc, ScenarioRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(doc);
        return new ScenarioRunner(doc, options ?? new ScenarioRunOptions()).Execute();
    }

    /// <summary>Parses JSON text and runs it when it is valid.</summary>
    public static ScenarioRunOutcome Run(string json, ScenarioRunOptions? options = null)
    {
        var parsed = ScenarioParser.Parse(json);
        return parsed.Document is { } doc ? new ScenarioRunOutcome([], Run(doc, options)) : new ScenarioRunOutcome(parsed.Errors, null);
    }

    ScenarioRunResult Execute()
    {
        if (SetUp() && RunSteps() && RunAfterLastStep())
        {
            FailUnreturnedCalls();
            if (_doc.Expect is { } final) CheckFinal(final);
        }
        // A run that took a kernel path the engine does not follow says so: its checks past there prove nothing.
        if (_sim.LeftModel is { } departure) Error(_leftModelAt ?? "$", departure.ToString());
        return new ScenarioRunResult([.. _checks], _sim, [.. _errors]) { Commands = [.. _commands], EventBudgetSpent = _budgetSpent, JournalStoppedAt = _journalStoppedAt, SocketsStoppedAt = _socketsStoppedAt };
    }

    /// <summary>
    /// After the last step: for <c>runUntil</c> after it, or until no event is pending, capped at
    /// <see cref="ScenarioDocument.IdleCap"/> after it (the clock then stands at the cap).
    /// </summary>
    bool RunAfterLastStep()
    {
        var last = _doc.Steps.IsEmpty ? SimTime.Zero : _doc.Steps[^1].At;
        if (_doc.RunUntil is { } runFor) return Advance(Later(last, runFor), _runningAt = "$.runUntil");
        _runningAt = "$";
        var horizon = Later(last, ScenarioDocument.IdleCap);
        var result = RunClock(AdvanceMode.UntilIdle, horizon - _sim.Now);
        if (result.Truncated) return BudgetSpent("$", horizon);
        return result.Idle || Advance(horizon, "$");
    }

    /// <summary>Processes every event due at or before <paramref name="until"/> within the event budget.</summary>
    bool Advance(SimTime until, string path) =>
        !RunClock(AdvanceMode.To, new SimDuration(until.Ns)).Truncated || BudgetSpent(path, until);

    /// <summary>
    /// Moves the clock through a logged <see cref="AdvanceCommand"/> with what is left of the budget. With none left it
    /// processes nothing: an event due by the target truncates the run there; otherwise the clock moves (an advance's
    /// budget is at least 1, and no event is due for it to spend). Until session 26 the advance was given
    /// max(1, what is left), so a spent budget still ran one more event at each step.
    /// </summary>
    AdvanceResult RunClock(AdvanceMode mode, SimDuration amount)
    {
        long left = _eventBudget - _eventsProcessed;
        var target = mode == AdvanceMode.To ? new SimTime(amount.Ns) : Later(_sim.Now, amount);
        if (left <= 0 && _sim.NextEventTime is { } due && due <= target) return new AdvanceResult(_sim.Now, 0, Truncated: true, Idle: false);
        var outcome = Apply(new AdvanceCommand(mode, amount, Math.Max(1, left)));
        ObserveJournal();
        return outcome.Advance ?? new AdvanceResult(_sim.Now, 0, false, false);
    }

    /// <summary>
    /// Applies one command to the engine through the one applier, and logs it; every event it ran counts against the
    /// budget — an advance's, and those a call, kill or inject ran at its own instant (<see cref="EngineRules.SameInstant"/>).
    /// </summary>
    CommandOutcome Apply(SimCommand command)
    {
        long before = _sim.EventsProcessed;
        var outcome = CommandApplier.Apply(_sim, command);
        _eventsProcessed += _sim.EventsProcessed - before;
        if (outcome.IsOk) _commands.Add(command);
        if (_sim.LeftModel is not null) _leftModelAt ??= _runningAt;
        return outcome;
    }

    bool BudgetSpent(string path, SimTime target)
    {
        if (_sim.JournalFull) return JournalFilled(path);
        if (_sim.SocketsFull) return SocketsPassed(path);
        _budgetSpent = true;
        Error(path, $"the event budget of {_eventBudget} events was spent at {_sim.Now}, before {target}: the run stopped there");
        return false;
    }

    /// <summary>The journal reached <see cref="ScenarioRunOptions.JournalLimit"/>: the run stops at <paramref name="path"/>.</summary>
    bool JournalFilled(string path)
    {
        _journalStoppedAt = path;
        Error(path, $"the journal limit of {_sim.JournalLimit} events was reached at {_sim.Now}: the run stopped there");
        return false;
    }

    /// <summary>More sockets than <see cref="ScenarioRunOptions.SocketLimit"/> are allocated: the run stops at <paramref name="path"/>.</summary>
    bool SocketsPassed(string path)
    {
        _socketsStoppedAt = path;
        Error(path, $"more than {_sim.SocketLimit} sockets were allocated at {_sim.Now}: the run stopped there");
        return false;
    }

    /// <summary>Reads the journal written since the last look (call returns bind aliases and settle call checks).</summary>
    void ObserveJournal()
    {
        var journal = _sim.Journal;
        for (; _journalCursor < journal.Count; _journalCursor++)
            if (journal[_journalCursor] is CallReturned returned) OnCallReturned(returned);
    }

    /// <summary>t + d, saturating instead of overflowing for durations as long as the format allows.</summary>
    static SimTime Later(SimTime t, SimDuration d) => new(t.Ns > long.MaxValue - d.Ns ? long.MaxValue : t.Ns + d.Ns);

    void Error(string path, string message) => _errors.Add(new ScenarioError(path, message));

    void Report(string path, DomainError? error)
    {
        if (error is not null) Error(path, error.Message);
    }

    void AddCheck(string kind, string path, bool passed, string expected, string actual, SimTime? at = null) =>
        _checks.Add(new CheckResult(passed, kind, path, expected, actual, at ?? _sim.Now));
}
