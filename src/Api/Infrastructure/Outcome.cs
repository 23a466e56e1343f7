using SimService.Domain.Engine;

namespace SimService.Api.Infrastructure;

/// <summary>
/// An expected way for a use case to fail. Handlers return it as a value; <see cref="ErrorMapping"/>
/// is the one place that turns it into an HTTP problem.
/// </summary>
public abstract record Failure;

/// <summary>404: no simulation with this id.</summary>
public sealed record SimulationNotFound(Guid SimulationId) : Failure;

/// <summary>412: the request's If-Match names another version than the stored one.</summary>
public sealed record VersionMismatch(Guid SimulationId, long CurrentVersion, IfMatch Given) : Failure
{
    /// <summary>
    /// What the header named and what the version is: <c>If-Match names version "2", not the simulation's current version,
    /// "3"</c>; a list names each (<c>versions "1", "2", none of them …</c>); members that are no version of ours name none,
    /// and are quoted as sent (<c>If-Match names no version of this simulation ("04")</c>).
    /// </summary>
    public string Detail => (Given.Versions.Count switch
    {
        0 => $"If-Match names no version of this simulation{(Given.Others.Count > 0 ? $" ({string.Join(", ", Given.Others)})" : "")}; its current version is \"{CurrentVersion}\"",
        1 => $"If-Match names version \"{Given.Versions[0]}\", not the simulation's current version, \"{CurrentVersion}\"",
        _ => $"If-Match names versions {string.Join(", ", Given.Versions.Select(v => $"\"{v}\""))}, none of them the simulation's current version, \"{CurrentVersion}\"",
    }) + "; nothing was applied.";
}

/// <summary>422: the request needs more work than one request may do; nothing was applied. <see cref="Field"/>: the field at
/// fault as the request spells it, or null for the endpoint's <see cref="WorkField"/>.</summary>
public sealed record WorkLimitExceeded(Guid? SimulationId, string? Field, string Message) : Failure
{
    /// <summary>
    /// A run (a scenario, a packetdrill script) whose journal would pass the request's limit
    /// (<c>Limits:JournalEventsPerRequest</c>): refused whole, as any command is, counted as a work-limit hit. The detail says
    /// where the limit stopped the run (<paramref name="stopped"/>: the advance it cut, or the time and the step) and where it
    /// runs all the same: the CLI in process (an export of a simulation built by many requests runs back there).
    /// </summary>
    public static WorkLimitExceeded RunJournalFull(string what, long limit, string stopped)
    {
        Observability.ServiceMetrics.WorkLimitHits.Add(1);
        return new(null, "$", $"The {what} would add more than {limit} journal events; nothing was stored: {stopped}. Run a shorter {what}, "
            + "or run it in process with the command-line tool (simservice run FILE), which stores no journal (an export of a "
            + "simulation built by many requests can be this large).");
    }
}

/// <summary>
/// 503: the service is stopping (SIGTERM): heavy work (a workload, replay, scenario or packetdrill run) is not started,
/// and heavy work that was running is cancelled; nothing was applied. <c>Retry-After</c> says when to send it again (to
/// this service once it is back, or to another process).
/// </summary>
public sealed record ServiceStopping(Guid? SimulationId) : Failure
{
    /// <summary>The <c>Retry-After</c> of the answer: about what a restart takes to be ready (3–5 s in the crash tests).</summary>
    public const int RetryAfterSeconds = 5;
}

/// <summary>409: another API process kept appending to this simulation's log while this one retried.</summary>
public sealed record WriteConflict(Guid SimulationId) : Failure;

/// <summary>
/// The engine refused a command (<see cref="DomainError"/>): 404 for a reference to something that does not
/// exist, 409 for a conflict with the simulation's state, 400 for a value it refuses. <see cref="Field"/> is
/// the offending field as the request spells it.
/// </summary>
public sealed record CommandRefused(Guid SimulationId, DomainError Error, string Field, int? SocketId = null) : Failure
{
    /// <summary>The refusal, with the engine's field name translated to the request's.</summary>
    public static CommandRefused From(Guid simulationId, DomainError error, Func<string, string>? fieldName = null, int? socketId = null)
    {
        var field = error.Field ?? "$";
        return new(simulationId, error, fieldName?.Invoke(field) ?? field, socketId);
    }
}

/// <summary>400: request fields the handler found invalid before touching the engine, by JSON field name.</summary>
public sealed record RequestInvalid(IReadOnlyDictionary<string, string[]> Errors, Guid? SimulationId = null) : Failure
{
    public RequestInvalid(string field, string message, Guid? simulationId = null)
        : this(new Dictionary<string, string[]> { [field] = [message] }, simulationId) { }
}

/// <summary>404: something inside the simulation (a host, socket, call, link) does not exist.</summary>
public sealed record ResourceNotFound(Guid SimulationId, string Field, string Message) : Failure;

/// <summary>409: the simulation's log cannot be written as a scenario that reproduces its journal.</summary>
public sealed record NotExportable(Guid SimulationId, string Reason, long? CommandSeq) : Failure;

/// <summary>400: a scenario document that is not valid; each error names its JSON path.</summary>
public sealed record ScenarioInvalid(IReadOnlyList<(string Path, string Message)> Errors) : Failure;

/// <summary>400: a packetdrill script that does not parse or uses what the simulator does not run; keyed "line L, column C".</summary>
public sealed record ScriptRefused(IReadOnlyList<(string Position, string Message)> Errors) : Failure;

/// <summary>The result of a use case that can fail in an expected way: a value or a <see cref="Failure"/>.</summary>
public readonly struct Outcome<T>
{
    private readonly T? _value;
    private readonly Failure? _failure;

    private Outcome(T? value, Failure? failure) => (_value, _failure) = (value, failure);

    public static implicit operator Outcome<T>(T value) => new(value, null);
    public static implicit operator Outcome<T>(Failure failure) => new(default, failure);

    public bool IsFailure => _failure is not null;

    /// <summary>The value, or (false) the failure.</summary>
    public bool TryGet(out T value, out Failure failure)
    {
        value = _value!;
        failure = _failure!;
        return _failure is null;
    }

    public Outcome<TResult> Map<TResult>(Func<T, TResult> map) =>
        _failure is null ? map(_value!) : (Outcome<TResult>)_failure;

    public Outcome<TResult> Then<TResult>(Func<T, Outcome<TResult>> next) =>
        _failure is null ? next(_value!) : (Outcome<TResult>)_failure;

    public TResult Match<TResult>(Func<T, TResult> success, Func<Failure, TResult> failure) =>
        _failure is null ? success(_value!) : failure(_failure);
}
