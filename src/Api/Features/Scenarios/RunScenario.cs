using System.Text.Json;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Scenarios;
using SimService.Persistence;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Scenarios;

/// <param name="Passed">The check held.</param>
/// <param name="Kind">call.result, call.returnsAfter, sockets, sockstat, counters, dmesg, packets, packetsExact, noPackets, data.</param>
/// <param name="Path">JSON path of the expectation in the document.</param>
/// <param name="At">Virtual time the check was made, as a scenario duration ("200ms").</param>
/// <param name="AtNs">The same time in nanoseconds.</param>
public sealed record CheckView(bool Passed, string Kind, string Path, string Expected, string Actual, string At, long AtNs);

/// <summary>Something that went wrong while running (a step the engine refused, the event budget spent): the run fails.</summary>
public sealed record RunErrorView(string Path, string Message);

/// <param name="Passed">Every check passed and the run had no error.</param>
/// <param name="SimulationId">The simulation the run made: fetch its journal, ss listings and /proc files, replay it.</param>
/// <param name="Journal">Where the run's journal is.</param>
/// <param name="JournalEvents">Events in the journal.</param>
/// <param name="NowNs">Virtual time at the end of the run.</param>
public sealed record ScenarioRunResponse(bool Passed, Guid SimulationId, IReadOnlyList<CheckView> Checks, IReadOnlyList<RunErrorView> Errors,
    string Journal, long JournalEvents, long NowNs) : LeftModelAnswer;

/// <summary>
/// Runs a scenario document and keeps the run as a simulation: the document is stored as its first input
/// (rebuilding and replay run it again), the journal as its events, all in one transaction.
/// </summary>
public sealed record RunScenario(JsonElement Document) : ICommand<Outcome<ScenarioRunResponse>>;

public sealed class RunScenarioHandler(SimDbContext db, SimulationEngines engines, EngineThreads threads, TenantQuotas quotas, TimeProvider clock)
    : ICommandHandler<RunScenario, Outcome<ScenarioRunResponse>>
{
    public async ValueTask<Outcome<ScenarioRunResponse>> Handle(RunScenario command, CancellationToken cancellationToken)
    {
        var parsed = ScenarioParser.Parse(command.Document);
        if (parsed.Document is not { } document) return new ScenarioInvalid([.. parsed.Errors.Select(e => (e.Path, e.Message))]);
        if (HostsPastQuota(document) is { } quota) return quota;

        // Heavy work in turns (EngineThreads); the service stopping cancels it (WorkStop): a 503, nothing stored.
        ScenarioRunResult result;
        using (var stop = engines.StopFor(null, cancellationToken))
            try
            {
                // The request's journal limit, as for packetdrill/run and every command: the run stops at the step that
                // reaches it and is refused whole (it ran on, and was stored, past a million events).
                // The sockets quota too, as for a workload request: a workload step stops at the first event past it, and the
                // run at that step (it ran whole and was refused after, its sockets built).
                var options = SimulationReplay.ScenarioRunOptionsFor(stop.Token, turn: null, EngineRulesOf(document))
                    with { JournalLimit = engines.JournalEventsPerRequest, SocketLimit = quotas.Sockets };
                result = await threads.RunAsync(RequestWork.Tracked(true, turn => ScenarioRunner.Run(document, options with { Turn = turn })),
                    heavy: true, stop.Token, db.TenantId);
            }
            catch (OperationCanceledException) when (stop.Reason(null) is { } reason)
            {
                return reason;
            }
        if (result.JournalStoppedAt is { } step) // the step or the advance ($.runUntil) it stopped at
            return WorkLimitExceeded.RunJournalFull("scenario", engines.JournalEventsPerRequest,
                $"the journal limit stopped the run at {result.Simulation.Now} ({step})");
        if (result.SocketsStoppedAt is { } passed) return quotas.SocketsPassed(null, result.Simulation, passed);
        var now = clock.GetUtcNow();
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        var run = new SimulationRun
        {
            TenantId = db.TenantId,
            Id = Guid.CreateVersion7(now),
            Name = document.Name, // at most ScenarioSyntax.MaxNameLength (SimulationRun.NameMaxLength) characters: the parser says so
            Profile = document.Kernel.ToWireName(),
            Seed = document.Seed,
            EngineRules = EngineRulesOf(document),
            CreatedAt = now,
            ScenarioJson = command.Document.GetRawText(),
        };
        var engine = result.Simulation;
        (engine.Interruption, engine.Turn) = (default, null); // kept as the simulation's live engine
        var events = JournalPageBuilder.Of(run.Id, engine.Journal, engines.JournalPageEvents);
        if (await quotas.SaveNewAsync(db, engine, events, () =>
            {
                run.JournalBytes = TenantQuotas.Bytes(events);
                db.Simulations.Add(run);
                db.Events.AddRange(events);
                return db.SaveChangesAsync(CancellationToken.None);
            }, cancellationToken) is { } exceeded) return exceeded;
        using (var lease = await engines.AcquireAsync(run.Id, cancellationToken)) lease.Keep(engine, 0, run);

        return new ScenarioRunResponse(result.Passed, run.Id,
            [.. result.Checks.Select(c => new CheckView(c.Passed, c.Kind, c.Path, c.Expected, c.Actual, c.At.ToString(), c.At.Ns))],
            [.. result.Errors.Select(e => new RunErrorView(e.Path, e.Message))],
            $"/api/v1/simulations/{run.Id}/journal", engine.Journal.Count, engine.Now.Ns) { LeftModel = LeftModelResponse.Of(engine) };
    }

    /// <summary>The rules the document's simulation follows: those it carries (an export's), else the current ones.</summary>
    private static int EngineRulesOf(ScenarioDocument document) => document.EngineRules ?? EngineRules.Current;

    /// <summary>
    /// The hosts quota, before the run: the document's hosts and its workloads' generated clients (a 3 MB document of 50,000
    /// hosts, or one step of 200,000 generated clients, was built — gigabytes — before the quota refused it), naming the part:
    /// <c>$.hosts</c> or the step's <c>$.steps[i].workload.generatedClients</c> (until session 35 <c>$.steps[i].generatedClients</c>, no path of the document).
    /// </summary>
    private QuotaExceeded? HostsPastQuota(ScenarioDocument document) =>
        document.HostsPast(quotas.Hosts) is { } past ? quotas.CheckHostsToAdd(null, 0, past.Hosts, past.Path) : null;
}
