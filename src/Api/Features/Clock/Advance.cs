using System.Text.Json.Serialization;
using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Api.Features.Clock;

/// <summary>
/// Moves the virtual clock, processing every event on the way, in exactly one of three ways: by a duration,
/// to an absolute time, or until nothing is pending (at most maxNs from now). It is always bounded by
/// <c>eventBudget</c>; an advance that stops on it says <c>truncated</c>, and the clock stands at the last
/// event it processed.
/// </summary>
public sealed record AdvanceRequest
{
    /// <example>60000000000</example>
    [Int64Range(0, long.MaxValue, ErrorMessage = "byNs is a duration: zero or positive.")]
    [JsonConverter(typeof(DurationNsConverter))]
    public long? ByNs { get; init; }

    [Int64Range(0, long.MaxValue, ErrorMessage = "toNs is a virtual time: zero or positive.")]
    [JsonConverter(typeof(DurationNsConverter))]
    public long? ToNs { get; init; }

    public bool? UntilIdle { get; init; }

    /// <summary>With untilIdle: how far to run at most (default one hour of virtual time).</summary>
    [Int64Range(0, long.MaxValue, ErrorMessage = "maxNs is a duration: zero or positive.")]
    [JsonConverter(typeof(DurationNsConverter))]
    public long? MaxNs { get; init; }

    /// <summary>The most events to process (default 10,000; at most 100,000).</summary>
    [Range(1, MaxEventBudget, ErrorMessage = "eventBudget is between 1 and 100000 (10000 when left out).")]
    public long? EventBudget { get; init; }

    /// <summary>Events an advance processes when it names no budget: a few seconds of work at most.</summary>
    public const long DefaultEventBudget = 10_000;

    /// <summary>The most events one request may process, in one advance or summed over a batch.</summary>
    public const long MaxEventBudget = 100_000;
    public const long DefaultIdleHorizonNs = 3_600_000_000_000;

    /// <summary>The command, or the fields that make it ambiguous.</summary>
    public Outcome<AdvanceCommand> ToCommand(Guid simulationId, string prefix = "")
    {
        int modes = (ByNs is null ? 0 : 1) + (ToNs is null ? 0 : 1) + (UntilIdle == true ? 1 : 0);
        if (modes != 1)
            return new RequestInvalid(prefix == "" ? "$" : prefix.TrimEnd('.'), "Give exactly one of byNs, toNs and untilIdle: true.", simulationId);
        if (MaxNs is not null && UntilIdle != true)
            return new RequestInvalid(prefix + "maxNs", "maxNs bounds untilIdle only.", simulationId);
        var budget = EventBudget ?? DefaultEventBudget;
        if (ByNs is { } by) return new AdvanceCommand(AdvanceMode.By, new SimDuration(by), budget);
        if (ToNs is { } to) return new AdvanceCommand(AdvanceMode.To, new SimDuration(to), budget);
        return new AdvanceCommand(AdvanceMode.UntilIdle, new SimDuration(MaxNs ?? DefaultIdleHorizonNs), budget);
    }

    /// <summary>The engine's field names as this request spells them.</summary>
    public static string FieldName(AdvanceMode mode, string field) => field switch
    {
        "until" => "toNs",
        "amount" => mode switch { AdvanceMode.By => "byNs", AdvanceMode.To => "toNs", _ => "maxNs" },
        _ => field,
    };
}

/// <param name="NowNs">The virtual time after the advance.</param>
/// <param name="EventsProcessed">Queue items processed (segments, timers).</param>
/// <param name="Truncated">The event budget ran out before the advance was done.</param>
/// <param name="Idle">Nothing is pending any more.</param>
/// <param name="JournalEvents">Journal events the advance produced.</param>
/// <param name="StoppedBy">Present only when the advance stopped before its end: "eventBudget" — it processed its event budget
/// (<c>truncated</c>; the request's <c>eventBudget</c>, else the default 10,000) with events still due, and the clock stands
/// at the last event processed: send a larger <c>eventBudget</c> (at most 100,000) or advance again; or, for an untilIdle
/// advance that stopped neither idle nor on its budget, "horizon" — the next pending event lies past now + maxNs (default
/// one hour), so the clock stays at the last event processed.</param>
/// <param name="NextEventNs">With stoppedBy "horizon": the virtual time the next pending event is due.</param>
/// <param name="EventBudget">With stoppedBy "eventBudget": the budget that stopped it, the request's or the default — or,
/// when the request's journal limit (Limits:JournalEventsPerRequest) stopped it first, the events it processed, the budget
/// its logged command keeps.</param>
public sealed record AdvanceResponse(long NowNs, long EventsProcessed, bool Truncated, bool Idle, int JournalEvents, long Version,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StoppedBy = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? NextEventNs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? EventBudget = null) : LeftModelAnswer, IVersioned
{
    /// <summary>The field a truncated advance names: what the request may send to let it go further.</summary>
    public const string StoppedByEventBudget = "eventBudget";

    public static AdvanceResponse From(AdvanceCommand command, AdvanceResult result, int journalEvents, long version) => new(
        result.Now.Ns, result.EventsProcessed, result.Truncated, result.Idle, journalEvents, version,
        StoppedByOf(result), result.PastHorizon?.Ns, result.Truncated ? command.EventBudget : null);

    /// <summary>Why a run stopped short: "eventBudget" (truncated), "horizon" (the next event lies past it), or null.</summary>
    public static string? StoppedByOf(AdvanceResult result) =>
        result.Truncated ? StoppedByEventBudget : result.PastHorizon is null ? null : "horizon";

    /// <summary>
    /// The answer for <paramref name="sent"/>, just applied by <paramref name="batch"/>, as the batch logged it: an advance the
    /// journal limit stopped (<see cref="CommandBatch.Cut"/>) names the budget it used, alone or in a batch of commands.
    /// </summary>
    public static AdvanceResponse Logged(CommandBatch batch, AdvanceCommand sent, AdvanceResult result, int journalEvents) =>
        From(batch.LastRecorded as AdvanceCommand ?? sent, result, journalEvents, batch.Version)
            with { LeftModel = LeftModelResponse.Of(batch.Engine) };
}

public sealed record Advance(Guid SimulationId, IfMatch? ExpectedVersion, AdvanceRequest Request) : ICommand<Outcome<AdvanceResponse>>;

public sealed class AdvanceHandler(LiveSimulations simulations) : ICommandHandler<Advance, Outcome<AdvanceResponse>>
{
    public ValueTask<Outcome<AdvanceResponse>> Handle(Advance command, CancellationToken cancellationToken)
    {
        if (!command.Request.ToCommand(command.SimulationId).TryGet(out var c, out var invalid))
            return ValueTask.FromResult<Outcome<AdvanceResponse>>(invalid);
        return simulations.WriteAsync<AdvanceResponse>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            var outcome = batch.Apply(c);
            if (!outcome.IsOk)
                return CommandRefused.From(command.SimulationId, outcome.Error!, field => AdvanceRequest.FieldName(c.Mode, field));
            return AdvanceResponse.Logged(batch, c, outcome.Advance!, batch.EventCount);
        }, cancellationToken);
    }
}

/// <param name="PendingEvents">Items in the event queue (segments in flight, armed timers).</param>
/// <param name="PendingCalls">Blocked calls that have not returned.</param>
/// <param name="JournalEvents">Events in the journal so far.</param>
/// <param name="LeftModel">Present once the simulation has left what the engine models: where, and the docs/kernel-check.md row.</param>
public sealed record ClockResponse(long NowNs, int PendingEvents, int PendingCalls, int JournalEvents, long Version,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LeftModelResponse? LeftModel = null) : IVersioned;

public sealed record GetClock(Guid SimulationId) : IQuery<Outcome<ClockResponse>>;

public sealed class GetClockHandler(LiveSimulations simulations) : IQueryHandler<GetClock, Outcome<ClockResponse>>
{
    public ValueTask<Outcome<ClockResponse>> Handle(GetClock query, CancellationToken cancellationToken) =>
        simulations.ReadAsync<ClockResponse>(query.SimulationId, (engine, run) =>
            new ClockResponse(engine.Now.Ns, engine.PendingEvents, engine.PendingCalls.Count, engine.Journal.Count, run.Version,
                LeftModelResponse.Of(engine)), cancellationToken);
}
