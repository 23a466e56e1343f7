using System.Collections.Immutable;
using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>Limits of one scenario run.</summary>
public sealed record ScenarioRunOptions
{
    /// <summary>The default cap on processed events: far above any teardown scenario, low enough to stop a runaway one.</summary>
    public const long DefaultEventBudget = 50_000_000;

    /// <summary>
    /// The hosts one simulation may have unless a bound says otherwise: the API's default <c>Quotas:HostsPerSimulation</c>,
    /// and the command-line tool's in-process bound (<see cref="MaxHosts"/>) unless raised.
    /// </summary>
    public const long DefaultHostsQuota = 64;

    /// <summary>
    /// The sockets (listeners and connections, TIME-WAIT not counted) one simulation may have allocated unless a bound says
    /// otherwise: the API's default <c>Quotas:SocketsPerSimulation</c>, and the tool's in-process bound (<see cref="SocketLimit"/>).
    /// </summary>
    public const long DefaultSocketsQuota = 100_000;

    /// <summary>
    /// The most bytes one send may write: what <see cref="DefaultEventBudget"/> events can deliver (<see cref="EventBudgetBound"/>).
    /// A scenario's send is bounded by it, and so is the API's, so every simulation the API builds exports as a scenario.
    /// </summary>
    public const long MaxSendBytes = DefaultEventBudget * EventBudgetBound.MaxSegmentPayload;

    /// <summary>Why one send of <paramref name="bytes"/> is more than <see cref="MaxSendBytes"/>, naming it; null when it is not.</summary>
    public static string? SendBytesProblem(long bytes) =>
        EventBudgetBound.Bytes(bytes, DefaultEventBudget, "bytes", $"a scenario's event budget of {DefaultEventBudget:N0} events")?.Message;

    /// <summary>The most events the whole run may process; a run that needs more stops with an error.</summary>
    public long EventBudget { get; init; } = DefaultEventBudget;

    /// <summary>
    /// The most journal events the run may write (<see cref="Simulation.JournalLimit"/>): the run stops at the step or
    /// advance that reaches it, with an error and <see cref="ScenarioRunResult.JournalLimitReached"/> (the API then
    /// refuses the whole run, as it refuses a command past its request's limit).
    /// </summary>
    public long JournalLimit { get; init; } = long.MaxValue;

    /// <summary>
    /// The most sockets the run may have allocated (<see cref="Simulation.SocketLimit"/>): a workload step stops at the
    /// first event past it, as the API's workload request does, and the run stops at the step that passed it, with an
    /// error and <see cref="ScenarioRunResult.SocketsStoppedAt"/> (the API then refuses the run under its sockets quota).
    /// </summary>
    public long SocketLimit { get; init; } = long.MaxValue;

    /// <summary>
    /// The most hosts the run may make: the document's, then each workload step's generated clients as the step adds
    /// them. The step that would pass it (or <c>$.hosts</c>) stops the run with an error before it makes one, as the
    /// API's hosts quota refuses a request (<see cref="ScenarioDocument.HostsPast"/>). Unbounded by default: a server
    /// checks its own quota before the run; the command-line tool sets its bound in process.
    /// </summary>
    public long MaxHosts { get; init; } = long.MaxValue;

    /// <summary>Called with the fresh simulation before anything runs (to attach observers such as a time sampler).</summary>
    public Action<Simulation>? Attach { get; init; }

    /// <summary>Stops the run between events with OperationCanceledException (see <see cref="Simulation.Interruption"/>).</summary>
    public CancellationToken Interruption { get; init; }

    /// <summary>The run's turn on a shared processor (see <see cref="Simulation.Turn"/>), passed between events while other work waits.</summary>
    public EngineTurn? Turn { get; init; }

    /// <summary>
    /// The engine rules the run follows (<see cref="Commands.EngineRules"/>) whatever the document says: a stored simulation's
    /// rebuild passes the version its row keeps. Null: the document's <c>engineRules</c>, else the current rules.
    /// </summary>
    public int? EngineRules { get; init; }

    /// <summary>Called at each <c>expect</c> step, after its checks, with the simulation as the step saw it (to take a snapshot of it).</summary>
    public Action<ExpectStep, Simulation>? AtExpect { get; init; }
}

/// <summary>The outcome of one check: what the document expected, what the simulation showed, and when.</summary>
public sealed record CheckResult(bool Passed, string Kind, string Path, string Expected, string Actual, SimTime At)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{(Passed ? "ok" : "FAILED")} {Kind} {Path} at {At}: expected {Expected}; actual {Actual}";
}

/// <summary>The <see cref="CheckResult.Kind"/> of each check a scenario can make.</summary>
public static class CheckKinds
{
    /// <summary>A call's <c>expect.result</c>.</summary>
    public const string CallResult = "call.result";
    /// <summary>A call's <c>expect.returnsAfter</c>.</summary>
    public const string CallReturnsAfter = "call.returnsAfter";
    /// <summary>A call's <c>expect.value</c> (getsockopt's value, getpeername's address).</summary>
    public const string CallValue = "call.value";
    /// <summary>An entry of <c>sockets</c>.</summary>
    public const string Sockets = "sockets";
    /// <summary>One host's <c>sockstat</c>.</summary>
    public const string Sockstat = "sockstat";
    /// <summary>One MIB counter of <c>counters</c>.</summary>
    public const string Counters = "counters";
    /// <summary>One substring of <c>dmesg</c>.</summary>
    public const string Dmesg = "dmesg";
    /// <summary>An entry of <c>packets</c>.</summary>
    public const string Packets = "packets";
    /// <summary>An entry of <c>packetsExact</c>, or the segment count it implies.</summary>
    public const string PacketsExact = "packetsExact";
    /// <summary>An entry of <c>noPackets</c>.</summary>
    public const string NoPackets = "noPackets";
    /// <summary>One alias of <c>data</c>.</summary>
    public const string Data = "data";
}

/// <summary>
/// A finished scenario run: every check's result, the run-time errors (a step the engine refused,
/// the event budget spent, a feature the engine lacks) and the simulation, for the journal and the
/// listings. <see cref="Passed"/> is true when every check passed and there was no error.
/// </summary>
public sealed record ScenarioRunResult(ImmutableArray<CheckResult> Checks, Simulation Simulation, ImmutableArray<ScenarioError> Errors)
{
    /// <summary>
    /// The command log the run applied, in order (hosts, links, calls, injected segments, clock
    /// advances …): replaying it on a fresh engine with the document's profile and seed reproduces
    /// the journal exactly, so a scenario-made simulation is an ordinary command log.
    /// </summary>
    public ImmutableArray<SimService.Domain.Commands.SimCommand> Commands { get; init; } = [];

    /// <summary>The run stopped because it spent <see cref="ScenarioRunOptions.EventBudget"/> (one of <see cref="Errors"/> says where).</summary>
    public bool EventBudgetSpent { get; init; }

    /// <summary>The run stopped because its journal reached <see cref="ScenarioRunOptions.JournalLimit"/> (one of <see cref="Errors"/> says where).</summary>
    public bool JournalLimitReached => JournalStoppedAt is not null;

    /// <summary>Where the journal limit stopped the run (a step's path, <c>$.runUntil</c>); null when it did not.</summary>
    public string? JournalStoppedAt { get; init; }

    /// <summary>Where <see cref="ScenarioRunOptions.SocketLimit"/> stopped the run (a step's path, its workload's for a workload step); null when it did not.</summary>
    public string? SocketsStoppedAt { get; init; }

    /// <summary>Every check passed and nothing went wrong while running.</summary>
    public bool Passed { get; } = Errors.IsEmpty && Checks.All(c => c.Passed);

    /// <summary>The checks that failed, in the order they were made.</summary>
    public IEnumerable<CheckResult> FailedChecks => Checks.Where(c => !c.Passed);
}

/// <summary>A scenario given as JSON text: its parse errors when invalid, otherwise the run's result.</summary>
public sealed record ScenarioRunOutcome(ImmutableArray<ScenarioError> ParseErrors, ScenarioRunResult? Result)
{
    /// <summary>The document was valid and ran.</summary>
    public bool IsValid => Result is not null;
}
